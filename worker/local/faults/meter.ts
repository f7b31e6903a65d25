/**
 * What the worker asked of each binding, counted in the wrapper worker (so in workerd, with the
 * real bindings' own answers): the billable quantities of `npm run cost`. D1 rows come from each
 * result's `meta`, as Cloudflare bills them (an index entry written is a row written).
 */
export interface Usage {
  d1: {
    /** Statements run, alone or inside a batch. */
    statements: number;
    batches: number;
    rowsRead: number;
    rowsWritten: number;
    /** What each result's `meta.duration` says D1 spent executing. */
    durationMs: number;
  };
  queue: {
    /** Messages the worker sent (each item of a sendBatch counts). */
    sent: number;
    /** Messages delivered to a consumer, per queue; a retried message is received again. */
    received: Record<string, number>;
    /** Messages a consumer asked to be delivered again. */
    retried: number;
  };
  workflows: {
    /** Instances let through to the binding. */
    instances: number;
    /** `step.do` callbacks that ran: every attempt counts; a step replayed from its record does not. */
    steps: number;
    /** Times the engine ran an instance's `run()` (a start, a wake after a sleep or a retry). */
    runs: number;
  };
  /** Handler invocations the platform bills as requests. */
  requests: { fetch: number; queue: number; scheduled: number };
}

export const emptyUsage = (): Usage => ({
  d1: { statements: 0, batches: 0, rowsRead: 0, rowsWritten: 0, durationMs: 0 },
  queue: { sent: 0, received: {}, retried: 0 },
  workflows: { instances: 0, steps: 0, runs: 0 },
  requests: { fetch: 0, queue: 0, scheduled: 0 },
});

interface Meta {
  rows_read?: number;
  rows_written?: number;
  duration?: number;
}
const metaOf = (result: unknown): Meta => (result as { meta?: Meta } | null)?.meta ?? {};

export class UsageMeter {
  #usage = emptyUsage();

  get usage(): Usage {
    return structuredClone(this.#usage);
  }

  reset(): void {
    this.#usage = emptyUsage();
  }

  /** One statement's result (all/run), or every result of a batch. */
  d1(results: unknown, batch: boolean): void {
    const list = batch && Array.isArray(results) ? results : [results];
    const d1 = this.#usage.d1;
    if (batch) d1.batches += 1;
    d1.statements += list.length;
    for (const result of list) {
      const meta = metaOf(result);
      d1.rowsRead += meta.rows_read ?? 0;
      d1.rowsWritten += meta.rows_written ?? 0;
      d1.durationMs += meta.duration ?? 0;
    }
  }

  sent(messages: number): void {
    this.#usage.queue.sent += messages;
  }

  received(queue: string, messages: number): void {
    const received = this.#usage.queue.received;
    received[queue] = (received[queue] ?? 0) + messages;
  }

  retried(messages: number): void {
    this.#usage.queue.retried += messages;
  }

  instances(count: number): void {
    this.#usage.workflows.instances += count;
  }

  step(): void {
    this.#usage.workflows.steps += 1;
  }

  run(): void {
    this.#usage.workflows.runs += 1;
  }

  request(kind: keyof Usage["requests"]): void {
    this.#usage.requests[kind] += 1;
  }
}
