import { describe, expect, it } from "vitest";
import { chunk } from "../../worker/src/dispatch/lanes.ts";
import { chunks, inSlices } from "../../worker/src/events/chunks.ts";
import type { JobParams } from "../../worker/src/events/job.ts";
import { CREATION, LIMITS } from "../../worker/src/topology.ts";

const job = (id: string, bytes = 10): JobParams => ({
  id,
  name: "email/verification",
  payload: { email: "a@b.c", otpCode: "x".repeat(bytes) },
  traceId: id,
  idempotencyKey: id,
  createdAt: "2026-01-01T00:00:00Z",
});

describe("chunk", () => {
  it("splits at the createBatch ceiling or the creation pace, whichever is lower", () => {
    const sizes = chunk(Array.from({ length: 250 }, (_, i) => job(`e${i}`))).map((c) => c.length);
    const most = Math.min(LIMITS.createBatchInstances, CREATION.perSecond);
    expect(sizes).toEqual([most, most, most, 250 - 3 * most]);
  });
  it("splits before a chunk would pass the byte ceiling, keeping order", () => {
    const big = Array.from({ length: 5 }, (_, i) => job(`e${i}`, 300 * 1024));
    const chunks = chunk(big);
    expect(chunks.map((c) => c.length)).toEqual([3, 2]);
    expect(chunks.flat().map((j) => j.id)).toEqual(big.map((j) => j.id));
    for (const c of chunks) expect(JSON.stringify(c).length).toBeLessThanOrEqual(LIMITS.createBatchBytes);
  });
});

describe("chunks", () => {
  it("slices in order, the last slice shorter, none for none", () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
    expect(() => chunks([1], 0)).toThrow(RangeError);
  });
  it("runs at most `parallel` at once, results in the items' order", async () => {
    let running = 0;
    let most = 0;
    const results = await inSlices([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });
});
