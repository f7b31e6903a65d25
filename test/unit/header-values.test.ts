import { describe, expect, it } from "vitest";
import { decodeHeaderValue, encodeHeaderValue } from "../../worker/src/backend/header-value.ts";

describe("header values", () => {
  it.each([
    ["tenant-7", "tenant-7"],
    ["inner space", "inner space"],
    ["شركة", "UTF-8''%D8%B4%D8%B1%D9%83%D8%A9"],
    ["utf-8''x", "UTF-8''utf-8''x"],
    ["line\nbreak", "UTF-8''line%0Abreak"],
  ])("%j travels as %j and decodes back", (value, sent) => {
    expect(encodeHeaderValue(value)).toBe(sent);
    expect(decodeHeaderValue(sent)).toBe(value);
  });
});
