import type { PlatformFaults } from "./config.ts";
import { type Usage, UsageMeter } from "./meter.ts";

/**
 * The fault layer: wraps the bindings the worker receives (every Workflow, D1, the recovery
 * queue producer) so calls fail as the platform's can. Runs inside workerd, in the wrapper
 * worker only: the shipped bundle never imports it.
 */
import {
  CreationWindow,
  type DatabaseLike,
  emptyStats,
  InjectedFaultError,
  instancesAsked,
  intercept,
  type LostStream,
  mulberry32,
  original,
  type PlatformFaultStats,
  type QueueLike,
  RATE_KEY,
  randomSeed,
  STREAMS,
  type StatementLike,
  type Stream,
  type WorkflowLike,
} from "./parts.ts";

export type { PlatformFaultStats } from "./parts.ts";

/**
 * The faults in force and everything they need between calls: one random stream per kind (so
 * D1 traffic cannot shift which creations fail), the sliding window of creations, the counters.
 * One per isolate; `configure` swaps the faults in place, so bindings wrapped earlier (a running
 * Workflow instance's env) follow the change.
 */
export class PlatformFaultInjector {
  #faults: PlatformFaults = {};
  #seed = 0;
  #streams = {} as Record<Stream, () => number>;
  #window = new CreationWindow();
  #stats!: PlatformFaultStats;
  #wrapped = new WeakMap<object, object>();
  /** What the worker asked of its bindings since the last `configure`: what `npm run cost` bills. */
  readonly meter = new UsageMeter();

  constructor(faults: PlatformFaults = {}) {
    this.configure(faults);
  }

  /** Replaces the faults and starts over: new draws from the seed, an empty window, zeroed stats. */
  configure(faults: PlatformFaults): void {
    this.#faults = { ...faults };
    this.#seed = faults.seed ?? randomSeed();
    this.#streams = Object.fromEntries(
      STREAMS.map((stream, i) => [stream, mulberry32(this.#seed ^ Math.imul(i + 1, 0x9e3779b9))]),
    ) as Record<Stream, () => number>;
    this.#window = new CreationWindow();
    this.meter.reset();
    this.#stats = emptyStats(this.#seed);
  }

  get faults(): PlatformFaults {
    return { ...this.#faults };
  }

  get stats(): PlatformFaultStats {
    return structuredClone(this.#stats);
  }

  /** What the control route answers. */
  snapshot(): { faults: PlatformFaults; stats: PlatformFaultStats; usage: Usage } {
    return { faults: this.faults, stats: this.stats, usage: this.meter.usage };
  }

  /** Counts one call and draws for it; draws only when its rate is set, so a seed's sequence is per kind. */
  #fails(stream: "create" | "d1" | "queueSend"): boolean {
    this.#stats.calls[stream] += 1;
    return this.#draw(stream);
  }

  #draw(stream: Stream): boolean {
    const rate = this.#faults[RATE_KEY[stream]] ?? 0;
    return rate > 0 && this.#streams[stream]() < rate;
  }

  /** Runs the real call; then, at the stream's rate, throws as if its answer were lost. */
  async #afterEffect<T>(stream: LostStream, what: string, call: () => Promise<T>): Promise<T> {
    const result = await call();
    if (!this.#draw(stream)) return result;
    this.#stats.injected[stream] += 1;
    throw new InjectedFaultError(
      stream,
      `${what}: network connection lost after the call took effect; injected platform fault (${RATE_KEY[stream]})`,
    );
  }

  #d1(): void {
    if (!this.#fails("d1")) return;
    this.#stats.injected.d1 += 1;
    throw new InjectedFaultError("d1", "D1_ERROR: injected platform fault (d1FailRate)");
  }

  #queueSend(method: string): void {
    if (!this.#fails("queueSend")) return;
    this.#stats.injected.queueSend += 1;
    throw new InjectedFaultError(
      "queueSend",
      `Queue ${method} failed: injected platform fault (queueSendFailRate)`,
    );
  }

  /** Before a creation reaches the binding: fails the call, or rejects it whole past the rate. */
  #admit(method: "create" | "createBatch", instances: number): void {
    if (this.#fails("create")) {
      this.#stats.injected.createFail += 1;
      throw new InjectedFaultError(
        "createFail",
        `Workflow ${method} failed: injected platform fault (createFailRate)`,
      );
    }
    const now = Date.now();
    const inWindow = this.#window.count(now);
    const limit = this.#faults.createRatePerSecond;
    if (limit !== undefined && inWindow + instances > limit) {
      this.#stats.injected.createRate += 1;
      throw new InjectedFaultError(
        "createRate",
        `429 Too many requests: more than ${limit} instance creations per second; ` +
          "injected platform fault (createRatePerSecond)",
      );
    }
    this.#window.add(now, instances);
    this.#stats.instances += instances;
    this.meter.instances(instances);
    this.#stats.peakCreationsPerSecond = Math.max(this.#stats.peakCreationsPerSecond, inWindow + instances);
  }

  /** The same proxy for the same binding, so identity-keyed caches (the schema's) keep working. */
  #once<T extends object>(target: T, wrap: (target: T) => T): T {
    let proxy = this.#wrapped.get(target) as T | undefined;
    if (!proxy) {
      proxy = wrap(target);
      this.#wrapped.set(target, proxy);
    }
    return proxy;
  }

  workflow<T extends object>(binding: T): T {
    return this.#once(binding, (target) => {
      const workflow = target as unknown as WorkflowLike;
      return intercept(target, {
        create: async (...args) => {
          this.#admit("create", instancesAsked("create", args[0]));
          return this.#afterEffect("createLost", "Workflow create", () => workflow.create(...args));
        },
        createBatch: async (...args) => {
          this.#admit("createBatch", instancesAsked("createBatch", args[0]));
          return this.#afterEffect("createLost", "Workflow createBatch", () => workflow.createBatch(...args));
        },
      });
    });
  }

  database<T extends object>(binding: T): T {
    return this.#once(binding, (target) => this.#database(target));
  }

  #database<T extends object>(target: T): T {
    const db = target as unknown as DatabaseLike;
    return intercept(target, {
      prepare: (query) => this.#statement(db.prepare(query as string)),
      batch: async (statements) => {
        this.#d1();
        return this.#afterEffect("d1Lost", "D1_ERROR", async () => {
          const results = await db.batch((statements as unknown[]).map(original));
          this.meter.d1(results, true);
          return results;
        });
      },
      // A session prepares and batches like the database, so it gets the same faults.
      ...(typeof db.withSession === "function"
        ? { withSession: (...args: unknown[]) => this.#database(db.withSession?.(...args) as object) }
        : {}),
    });
  }

  #statement(statement: StatementLike): StatementLike {
    const call =
      (method: "first" | "all" | "run" | "raw") =>
      async (...args: unknown[]) => {
        this.#d1();
        return this.#afterEffect("d1Lost", "D1_ERROR", () => this.#metered(statement, method, args));
      };
    return intercept(statement, {
      bind: (...values) => this.#statement(statement.bind(...values)),
      first: call("first"),
      all: call("all"),
      run: call("run"),
      raw: call("raw"),
    });
  }

  /**
   * Runs one statement and meters it. `first` answers no `meta`, so it runs as `all` (D1 runs the
   * whole query for `first` too) and answers as `first` would; `raw` has no meta and counts as a
   * statement only.
   */
  async #metered(statement: StatementLike, method: "first" | "all" | "run" | "raw", args: unknown[]) {
    if (method === "raw") {
      this.meter.d1({}, false);
      return statement.raw(...args);
    }
    const result = (await statement[method === "first" ? "all" : method]()) as { results?: unknown[] };
    this.meter.d1(result, false);
    if (method !== "first") return result;
    const row = (result.results?.[0] ?? null) as Record<string, unknown> | null;
    const column = args[0];
    return typeof column === "string" ? (row?.[column] ?? null) : row;
  }

  queue<T extends object>(binding: T): T {
    return this.#once(binding, (target) => {
      const queue = target as unknown as QueueLike;
      return intercept(target, {
        send: async (...args) => {
          this.#queueSend("send");
          return this.#afterEffect("queueSendLost", "Queue send", async () => {
            const result = await queue.send(...args);
            this.meter.sent(1);
            return result;
          });
        },
        sendBatch: async (...args) => {
          this.#queueSend("sendBatch");
          return this.#afterEffect("queueSendLost", "Queue sendBatch", async () => {
            const result = await queue.sendBatch(...args);
            this.meter.sent(Array.isArray(args[0]) ? args[0].length : 0);
            return result;
          });
        },
      });
    });
  }
}
