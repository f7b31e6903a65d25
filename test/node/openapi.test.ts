import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../worker/src/events/catalog.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";

// biome-ignore lint/suspicious/noExplicitAny: walks a JSON document by known paths.
type Json = Record<string, any>;
/**
 * Imported by a computed path: this Node project's typecheck then stays out of the worker's
 * Workers-typed sources (the workerd tests type them), while vitest loads the module as usual.
 */
const generator = "../../worker/src/http/openapi.ts";
const { openApiDocument } = (await import(generator)) as { openApiDocument: () => Json };
const document = openApiDocument();

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("carries every catalog event's payload in both producer shapes", () => {
    const names = Object.keys(CATALOG);
    const schemas = document.components.schemas as Json;
    const constNames = (variants: Json[], pick: (v: Json) => Json) =>
      variants.map((v) => pick(v.allOf[1]).const);
    expect(constNames(schemas.EnvelopeEvent.oneOf, (s) => s.properties.name)).toEqual(names);
    expect(constNames(schemas.LegacyEvent.oneOf, (s) => s.properties.event.properties.name)).toEqual(names);
    for (const name of names) {
      const payload = schemas[name.replace(/\//g, ".")];
      expect(payload?.type, name).toBe("object");
      // Every required field is one a valid sample has, and the field a test removes is among them.
      const sample = VALID_PAYLOADS[name as keyof typeof VALID_PAYLOADS];
      for (const field of payload.required ?? []) expect(sample.payload).toHaveProperty(field);
      expect(payload.required).toContain(sample.required);
    }
    expect(schemas["email.reset-password"].required).toEqual(["email", "userName", "otpCode"]);
  });

  it("states the status vocabulary, error bodies and each route's security", () => {
    const schemas = document.components.schemas as Json;
    expect(schemas.StatusResponse.properties.status.enum).toEqual(
      expect.arrayContaining(["queued", "scheduled", "complete", "dead", "cancelled"]),
    );
    expect(schemas.StatusResponse.properties.error.required).toEqual(["name", "message"]);
    expect(schemas.Error.required).toEqual(["error"]);
    expect(document.paths["/dispatch"].post.responses[503].headers["Retry-After"]).toBeDefined();
    expect(document.paths["/dispatch"].post.security).toEqual([{ producerToken: [] }]);
    expect(document.paths["/failed-events"].get.security).toEqual([{ operatorToken: [] }]);
    expect(document.paths["/health"].get.security).toEqual([]);
  });
});
