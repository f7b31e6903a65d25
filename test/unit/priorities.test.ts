import { describe, expect, it } from "vitest";
import { CATALOG, EVENT_NAMES } from "../../worker/src/events/catalog.ts";
import { ConfigError } from "../../worker/src/settings/config-error.ts";
import { PRIORITIES_PATTERN, parsePriorities } from "../../worker/src/settings/priorities.ts";

describe("event classes", () => {
  it("puts the codes a person waits for in the interactive class, the rest in bulk", () => {
    const interactive = EVENT_NAMES.filter((name) => CATALOG[name].priority === "interactive");
    expect(interactive).toEqual([
      "email/reset-password",
      "email/new-account-credentials",
      "email/change-email-verification",
      "email/verification",
    ]);
  });

  it("reads a stack's overrides, and refuses what it cannot mean", () => {
    expect(parsePriorities("{}")).toEqual({});
    expect(parsePriorities('{"whatsapp/send-template":"interactive"}')).toEqual({
      "whatsapp/send-template": "interactive",
    });
    for (const [text, why] of [
      ["not json", /JSON object/],
      ["[]", /JSON object/],
      ['{"email/nope":"bulk"}', /unknown event: email\/nope/],
      ['{"email/verification":"urgent"}', /must be one of interactive, bulk/],
    ] as const) {
      expect(() => parsePriorities(text)).toThrow(ConfigError);
      expect(() => parsePriorities(text)).toThrow(why);
      expect(PRIORITIES_PATTERN.test(text)).toBe(false);
    }
    expect(PRIORITIES_PATTERN.test('{"email/cart-recovery":"bulk"}')).toBe(true);
  });
});
