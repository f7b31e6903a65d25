import { describe, expect, it } from "vitest";
import { emptyUsage } from "../../worker/local/faults/meter.ts";
import { capacity, dollarsPerMillion, perJob } from "../bench/cost/model.ts";
import { PRICES } from "../bench/cost/prices.ts";

describe("the cost model", () => {
  it("bills each message written, read and deleted, a retry as another read, a move to dead letters as a write", () => {
    const usage = emptyUsage();
    usage.queue.sent = 10;
    usage.queue.received = { "jobs-recovery": 12, "jobs-dead-letter": 2 };
    usage.queue.retried = 4;
    usage.d1 = { statements: 40, batches: 5, rowsRead: 200, rowsWritten: 30, durationMs: 8 };
    usage.requests = { fetch: 3, queue: 5, scheduled: 9 };
    const job = perJob(usage, 10, 50);
    // 10 written + 2 moved + 14 read + (14 - 4) deleted = 36 operations over 10 jobs.
    expect(job.queueOps).toBe(3.6);
    expect(job).toMatchObject({ d1RowsWritten: 3, d1RowsRead: 20, d1Statements: 4, cpuMs: 5, d1Ms: 0.8 });
    // Scheduled runs are the fixed monthly cost, not a job's.
    expect(job.requests).toBe(0.8);
  });

  it("prices n per job at $p per million as $n·p per million jobs", () => {
    const job = {
      ...perJob(emptyUsage(), 1, 0),
      d1RowsWritten: 3,
      d1RowsRead: 20,
      requests: 0.1,
      workflowRuns: 1,
    };
    const { total, by } = dollarsPerMillion(job);
    expect(by.d1RowsWritten).toBe(3);
    expect(by.d1RowsRead).toBeCloseTo(0.02, 10);
    expect(by.requests).toBeCloseTo(0.03, 10);
    expect(by.workflowRequests).toBeCloseTo(0.3, 10);
    expect(total).toBeCloseTo(3.35, 10);
    expect(PRICES.every((p) => p.source.startsWith("https://") && /^\d{4}-\d{2}-\d{2}$/.test(p.read))).toBe(
      true,
    );
  });

  it("takes the lowest of the creation limits and one database's serial throughput", () => {
    // 5 statements of 1 ms each: one database runs 200 jobs a second, below 300 creations.
    expect(capacity({ d1Statements: 5, d1Ms: 2 })).toMatchObject({
      d1Production: 200,
      d1Local: 500,
      ceiling: 200,
      bound: "D1 (one database)",
    });
    // 2 statements: 500 a second; the account's 300 creations bind first.
    expect(capacity({ d1Statements: 2, d1Ms: 0.5 })).toMatchObject({
      ceiling: 300,
      bound: "creations (account)",
    });
    // One Workflow alone: 100 creations a second.
    expect(capacity({ d1Statements: 2, d1Ms: 0.5 }, 1)).toMatchObject({
      ceiling: 100,
      bound: "creations (per workflow)",
    });
  });
});
