import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryReplayGuard, type SignedRequest, sign, verify } from "../../worker/src/signing.ts";

interface Vector extends SignedRequest {
  name: string;
  secret: string;
  timestamp: number;
  nonce: string;
  body: string;
  header: string;
}
const { vectors } = JSON.parse(
  await readFile(join(import.meta.dirname, "..", "vectors", "signatures.json"), "utf8"),
) as { vectors: Vector[] };

/** The verifier as a backend on Node runs it. The signer runs in workerd too (test/worker/security.test.ts). */
describe.each(vectors)("vector: $name", (vector) => {
  const at = { now: vector.timestamp };

  it("is what the signer produces", async () => {
    expect(await sign(vector.secret, vector.timestamp, vector, vector.nonce)).toBe(vector.header);
  });

  it("verifies with the secret, alone or beside another", async () => {
    expect(await verify(vector.header, vector, { secrets: [vector.secret], ...at })).toEqual({
      ok: true,
      timestamp: vector.timestamp,
    });
    expect(
      await verify(vector.header, vector, { secrets: ["other-secret", vector.secret], ...at }),
    ).toMatchObject({ ok: true });
  });

  it.each([
    ["body", { body: `${vector.body} ` }],
    ["path", { path: vector.path.replace("execute", "execute/..") }],
    ["event id", { eventId: `${vector.eventId}x` }],
    ["method", { method: "PUT" }],
    ["idempotency key", { idempotencyKey: `${vector.idempotencyKey}-2` }],
    ["tenant", { tenantId: vector.tenantId ? null : "t_other" }],
  ])("rejects a tampered %s", async (_, change) => {
    expect(
      await verify(vector.header, { ...vector, ...change }, { secrets: [vector.secret], ...at }),
    ).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("rejects a tampered timestamp", async () => {
    const header = vector.header.replace(`t=${vector.timestamp}`, `t=${vector.timestamp + 1}`);
    expect(await verify(header, vector, { secrets: [vector.secret], ...at })).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("rejects a stale or future timestamp outside the window", async () => {
    const options = { secrets: [vector.secret], toleranceSeconds: 300 };
    expect(await verify(vector.header, vector, { ...options, now: vector.timestamp + 301 })).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await verify(vector.header, vector, { ...options, now: vector.timestamp - 301 })).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await verify(vector.header, vector, { ...options, now: vector.timestamp + 300 })).toMatchObject({
      ok: true,
    });
  });

  it("rejects a replay inside the window", async () => {
    const replayGuard = memoryReplayGuard();
    const options = { secrets: [vector.secret], replayGuard, ...at };
    expect(await verify(vector.header, vector, options)).toMatchObject({ ok: true });
    expect(await verify(vector.header, vector, options)).toEqual({ ok: false, reason: "replayed" });
  });

  it("rejects a retired secret", async () => {
    expect(await verify(vector.header, vector, { secrets: ["retired"], ...at })).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });
});

describe("malformed headers", () => {
  const [vector] = vectors as [Vector];
  it.each([
    [undefined, "missing"],
    ["", "missing"],
    ["v1=abc", "malformed"],
    [`t=${vector.timestamp},v1=${"a".repeat(64)}`, "malformed"],
    [`t=${vector.timestamp},n=${vector.nonce},v1=${"g".repeat(64)}`, "malformed"],
    [`t=${vector.timestamp},n=${vector.nonce},v1=${"a".repeat(63)}`, "malformed"],
    [`${vector.header},v1=${"a".repeat(64)}`, "malformed"],
  ])("%s → %s", async (header, reason) => {
    expect(await verify(header, vector, { secrets: [vector.secret], now: vector.timestamp })).toEqual({
      ok: false,
      reason,
    });
  });
});
