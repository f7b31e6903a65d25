export type FaultKind =
  | "createFail"
  | "createRate"
  | "d1"
  | "queueSend"
  /** After the effect: it happened, and the caller was told it failed. */
  | "createLost"
  | "d1Lost"
  | "queueSendLost";

/** Every fault this layer throws; the message says it was injected and by which setting. */
export class InjectedFaultError extends Error {
  override readonly name = "InjectedFaultError";
  readonly fault: FaultKind;

  constructor(fault: FaultKind, message: string) {
    super(message);
    this.fault = fault;
  }
}

export interface PlatformFaultStats {
  /** The seed of the draws: the configured one, or the one picked at random, to replay a run. */
  seed: number;
  /** Calls that reached the layer: create/createBatch calls, D1 calls, queue send/sendBatch calls. */
  calls: { create: number; d1: number; queueSend: number };
  /** Faults thrown, by kind; `createRate` counts the 429s. */
  injected: Record<FaultKind, number>;
  /** Instances let through to the real binding (each item of a createBatch counts). */
  instances: number;
  /** Most instances let through within one sliding second. */
  peakCreationsPerSecond: number;
}

/** Small, fast and seedable: a seed gives the same draws in Node and in workerd. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type Stream = "create" | "d1" | "queueSend" | "createLost" | "d1Lost" | "queueSendLost";
export const STREAMS: readonly Stream[] = [
  "create",
  "d1",
  "queueSend",
  "createLost",
  "d1Lost",
  "queueSendLost",
];
export const RATE_KEY = {
  create: "createFailRate",
  d1: "d1FailRate",
  queueSend: "queueSendFailRate",
  createLost: "createLostAnswerRate",
  d1Lost: "d1LostAnswerRate",
  queueSendLost: "queueSendLostAnswerRate",
} as const;
/** Which calls each after-effect stream draws for. */
export type LostStream = "createLost" | "d1Lost" | "queueSendLost";

export const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;

/** Proxies this layer made, to the objects they wrap: a batch must get the real statements. */
export const originals = new WeakMap<object, object>();
export const original = <T>(value: T): T =>
  typeof value === "object" && value !== null ? ((originals.get(value) as T | undefined) ?? value) : value;

export type Overrides = Record<string, (...args: unknown[]) => unknown>;

/** The target, with some methods replaced; every other member reads through, bound to the target. */
export function intercept<T extends object>(target: T, overrides: Overrides): T {
  const proxy = new Proxy(target, {
    get(object, key) {
      if (typeof key === "string" && Object.hasOwn(overrides, key)) return overrides[key];
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
  originals.set(proxy, target);
  return proxy;
}

/** Structural views of the bindings: the layer only forwards, so it needs no more than this. */
export type Call = (...args: unknown[]) => Promise<unknown>;
export interface StatementLike {
  bind(...values: unknown[]): StatementLike;
  first: Call;
  all: Call;
  run: Call;
  raw: Call;
}
export interface DatabaseLike {
  prepare(query: string): StatementLike;
  batch(statements: unknown[]): Promise<unknown>;
  withSession?(constraintOrBookmark?: unknown): DatabaseLike;
}
export interface WorkflowLike {
  create: Call;
  createBatch: Call;
}
export interface QueueLike {
  send: Call;
  sendBatch: Call;
}

/** Instances one create/createBatch call asks for, in every form the binding accepts. */
export function instancesAsked(method: "create" | "createBatch", options: unknown): number {
  if (method === "create") return 1;
  if (Array.isArray(options)) return options.length;
  const batch = (options ?? {}) as { instances?: unknown[]; count?: number };
  return batch.instances?.length ?? batch.count ?? 0;
}

/** Instances created over the last second: the platform's per-second creation limit counts them. */
export class CreationWindow {
  #entries: [at: number, instances: number][] = [];
  count(now: number): number {
    this.#entries = this.#entries.filter(([at]) => now - at < 1000);
    return this.#entries.reduce((sum, [, n]) => sum + n, 0);
  }
  add(now: number, instances: number): void {
    this.#entries.push([now, instances]);
  }
}

/** Counters of a fresh start: nothing called, nothing injected. */
export const emptyStats = (seed: number): PlatformFaultStats => ({
  seed,
  calls: { create: 0, d1: 0, queueSend: 0 },
  injected: {
    createFail: 0,
    createRate: 0,
    d1: 0,
    queueSend: 0,
    createLost: 0,
    d1Lost: 0,
    queueSendLost: 0,
  },
  instances: 0,
  peakCreationsPerSecond: 0,
});
