import type { Call } from "../../../worker/local/backend.ts";
import { VALID_PAYLOADS } from "../../support/payloads.ts";
import type { BackendHandle } from "../backend-process.ts";
import { percentile } from "../load.ts";
import { BENCH_TOKEN } from "../runtimes.ts";

/** The scenario's sizes: what the issue of flow control names, smaller with FLOW_SCALE < 1. */
export interface FlowSizes {
  bigBulk: number;
  smallBulk: number;
  interactive: number;
  /** Events per request of the bulk tenants. */
  batch: number;
}

export interface Latency {
  p50: number;
  p99: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const envelope = (id: string, name: string, payload: Record<string, unknown>) => ({
  id,
  name,
  payload,
  traceId: `trace-${id}`,
  idempotencyKey: id,
  createdAt: new Date().toISOString(),
});

const bulk = (id: string, tenantId: string) =>
  envelope(id, "notification/create", { ...VALID_PAYLOADS["notification/create"].payload, tenantId });
const interactive = (id: string, tenantId: string) =>
  envelope(id, "email/reset-password", { ...VALID_PAYLOADS["email/reset-password"].payload, tenantId });

/** Posts one request, as a producer does; answers when it was sent. */
async function post(url: string, events: ReturnType<typeof envelope>[]): Promise<number> {
  const at = Date.now();
  const response = await fetch(`${url}/dispatch`, {
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  const body = (await response.json()) as { ids?: string[] };
  if (response.status !== 200 || body.ids?.length !== events.length)
    throw new Error(`dispatch answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return at;
}

/** Each event's first call at the backend, waiting until all of `ids` have one (or the deadline). */
async function firstCalls(backend: BackendHandle, ids: ReadonlySet<string>, ms: number) {
  const first = new Map<string, Call>();
  const deadline = Date.now() + ms;
  while (first.size < ids.size && Date.now() < deadline) {
    for (const call of await backend.calls())
      if (ids.has(call.eventId) && !first.has(call.eventId)) first.set(call.eventId, call);
    if (first.size < ids.size) await sleep(250);
  }
  return first;
}

const latencyOf = (sent: ReadonlyMap<string, number>, first: ReadonlyMap<string, Call>): Latency => {
  const ms = [...sent]
    .map(([id, at]) => (first.get(id)?.at ?? Number.POSITIVE_INFINITY) - at)
    .sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
};

/** Interactive events, each its own request from its own tenant, all at once. */
async function sendInteractive(url: string, prefix: string, n: number, sent: Map<string, number>) {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = `${prefix}_${i}`;
      sent.set(id, await post(url, [interactive(id, `person_${i}`)]));
    }),
  );
}

/** On a quiet system: how fast an interactive event reaches the backend alone. */
export async function idle(url: string, backend: BackendHandle, sizes: FlowSizes): Promise<Latency> {
  const sent = new Map<string, number>();
  await sendInteractive(url, "flow_idle", sizes.interactive, sent);
  return latencyOf(sent, await firstCalls(backend, new Set(sent.keys()), 120_000));
}

export interface Loaded {
  interactive: Latency;
  /** From the big tenant's first request to its last event's first call. */
  drainMs: number;
  /** When the small tenant's last event was first called, from the big tenant's first request. */
  smallDoneMs: number;
  /** The share of the big tenant's events first called by then. */
  bigShareWhenSmallDone: number;
  /** Events with no call at the backend by the deadline. */
  missing: number;
  calls: Call[];
}

/**
 * One tenant dispatches its bulk events in requests of `batch`, four at a time; a second later
 * other tenants dispatch their interactive events and a second tenant its bulk ones.
 */
export async function loaded(url: string, backend: BackendHandle, sizes: FlowSizes): Promise<Loaded> {
  const big = Array.from({ length: sizes.bigBulk }, (_, i) => bulk(`flow_big_${i}`, "tenant_big"));
  const small = Array.from({ length: sizes.smallBulk }, (_, i) => bulk(`flow_small_${i}`, "tenant_small"));
  const requests = Array.from({ length: Math.ceil(big.length / sizes.batch) }, (_, r) =>
    big.slice(r * sizes.batch, (r + 1) * sizes.batch),
  );
  const started = Date.now();
  let next = 0;
  const sendingBig = Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let r = next++; r < requests.length; r = next++) await post(url, requests[r] ?? []);
    }),
  );
  await sleep(1000);
  const sent = new Map<string, number>();
  await Promise.all([
    sendInteractive(url, "flow_otp", sizes.interactive, sent),
    ...Array.from({ length: Math.ceil(small.length / sizes.batch) }, (_, r) =>
      post(url, small.slice(r * sizes.batch, (r + 1) * sizes.batch)),
    ),
    sendingBig,
  ]);
  const ids = new Set([...big, ...small].map((e) => e.id).concat([...sent.keys()]));
  const first = await firstCalls(backend, ids, 20 * 60_000);
  const at = (id: string) => first.get(id)?.at ?? Number.POSITIVE_INFINITY;
  const smallDone = Math.max(...small.map((e) => at(e.id)));
  return {
    interactive: latencyOf(sent, first),
    drainMs: Math.max(...big.map((e) => at(e.id))) - started,
    smallDoneMs: smallDone - started,
    bigShareWhenSmallDone: big.filter((e) => at(e.id) <= smallDone).length / big.length,
    missing: ids.size - first.size,
    calls: [...first.values()],
  };
}
