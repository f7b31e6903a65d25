import fc from "fast-check";
import { expect, it } from "vitest";
import { LIMITS } from "../../worker/src/topology.ts";
import { request, testEnv } from "../worker/helpers.ts";

/**
 * Throws generated malformed `/dispatch` bodies at the worker: random JSON, wrong types, huge
 * strings, deep nesting, invalid UTF-8 and oversized chunked bodies. Whatever arrives, the
 * worker answers with a JSON error or per-item errors, never a 5xx, and starts nothing.
 */
const RUNS = 10_000;
const encoder = new TextEncoder();

type Body = { kind: string; body: BodyInit };
const text =
  (kind: string) =>
  (body: string): Body => ({ kind, body });

const bigString = fc.integer({ min: 1_000, max: 200_000 }).map((n) => "x".repeat(n));
const id = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant("ok_id"), bigString);
const wrongTypes = fc.record(
  {
    id,
    name: fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constant("email/reset-password"),
      fc.constant("../etc/passwd"),
    ),
    payload: fc.oneof(fc.jsonValue(), fc.constant({ email: 1 }), fc.array(fc.integer())),
    traceId: fc.oneof(fc.string(), fc.integer(), fc.constant("a\r\nb")),
    idempotencyKey: fc.oneof(fc.string(), fc.constant(null)),
    createdAt: fc.oneof(fc.string(), fc.integer()),
    event: fc.oneof(fc.jsonValue(), fc.record({ name: fc.jsonValue(), data: fc.jsonValue() })),
    delayMs: fc.oneof(fc.double(), fc.string(), fc.constant(-1)),
  },
  { requiredKeys: [] },
);
/** An item that is one field away from valid: the reset-password schema without its OTP code. */
const nearMiss = fc.record({ id: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/) }).map(({ id }) => ({
  id: `fz_${id}`,
  name: "email/reset-password",
  payload: { email: "a@b.c", userName: "Ann" },
  traceId: "t",
  idempotencyKey: "k",
  createdAt: "2026-11-21T00:00:00Z",
}));
const nested = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

const bodies: fc.Arbitrary<Body> = fc.oneof(
  { weight: 20, arbitrary: fc.jsonValue().map((v) => text("random json")(JSON.stringify(v) ?? "null")) },
  {
    weight: 30,
    arbitrary: fc
      .array(wrongTypes, { maxLength: 20 })
      .map((events) => text("wrong types")(JSON.stringify({ events }))),
  },
  {
    weight: 15,
    arbitrary: fc
      .array(nearMiss, { minLength: 1, maxLength: 5 })
      .map((events) => text("near miss")(JSON.stringify({ events }))),
  },
  {
    weight: 10,
    arbitrary: fc
      .array(fc.jsonValue(), { maxLength: 30 })
      .map((events) => text("random items")(JSON.stringify({ events }))),
  },
  {
    weight: 5,
    arbitrary: bigString.map((s) =>
      text("huge string")(JSON.stringify({ events: [{ id: s, name: s, payload: { s } }] })),
    ),
  },
  {
    weight: 8,
    arbitrary: fc
      .integer({ min: 30, max: 5_000 })
      .chain((depth) =>
        fc.constantFrom(
          text("deep array")(`{"events":[${nested(depth, "[", "]")}]}`),
          text("deep object")(
            `{"events":[{"id":"deep","name":"email/verification","payload":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}]}`,
          ),
        ),
      ),
  },
  { weight: 5, arbitrary: fc.string().map((s) => text("truncated json")(`{"events":[${JSON.stringify(s)}`)) },
  {
    weight: 5,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((noise) => {
      const prefix = encoder.encode('{"events":[{"id":"utf8","name":"');
      const bytes = new Uint8Array([...prefix, 0xff, 0xfe, ...noise, ...encoder.encode('"}]}')]);
      return { kind: "invalid utf-8", body: bytes };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 256 * 1024 }).map((extra) => {
      const chunk = encoder.encode(`${" ".repeat(16 * 1024)}`);
      let sent = 0;
      const total = LIMITS.bodyBytes + extra;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= total) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      return { kind: "chunked oversize", body: stream };
    }),
  },
);

it(`answers ${RUNS} malformed /dispatch bodies with JSON errors, no 5xx, no instance`, {
  timeout: 600_000,
}, async () => {
  const rejectedIds = new Set<string>();
  const kinds = new Map<string, number>();
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(bodies, async ({ kind, body }) => {
      const response = await request("/dispatch", { method: "POST", body });
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect(response.status, kind).toBeLessThan(500);
      expect(response.headers.get("content-type"), kind).toMatch(/^application\/json/);
      const json = (await response.json()) as {
        error?: string;
        ids?: string[];
        errors?: { id: string; error: string }[];
      };
      if (response.status === 200) {
        expect(json.ids, kind).toEqual([]);
        for (const e of json.errors ?? []) {
          expect(typeof e.error).toBe("string");
          if (e.id !== "unknown") rejectedIds.add(e.id);
        }
      } else {
        expect(typeof json.error, kind).toBe("string");
      }
    }),
    { numRuns: RUNS },
  );

  // Nothing was started for any rejected item: no receipt, no instance.
  const ids = [...rejectedIds];
  const { results } = await testEnv.DB.prepare(
    "SELECT count(*) AS n FROM events WHERE id IN (SELECT value FROM json_each(?1))",
  )
    .bind(JSON.stringify(ids))
    .all<{ n: number }>();
  expect(results[0]?.n ?? 0).toBe(0);
  for (const rejected of ids.slice(0, 25)) {
    await expect(testEnv.EMAIL_WORKFLOW.get(rejected)).rejects.toThrow();
  }
  console.warn(
    `fuzz: ${RUNS} bodies; by kind ${JSON.stringify(Object.fromEntries(kinds))}; by status ${JSON.stringify(Object.fromEntries(statuses))}; ${ids.length} distinct rejected ids checked`,
  );
});
