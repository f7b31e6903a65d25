import { env, exports } from "cloudflare:workers";
import type { Alert, Call, Fault } from "../../worker/local/backend-api.ts";
import type { JobParams } from "../../worker/src/events/job.ts";
import { TEST_AUTH_TOKEN, TEST_BACKEND_TOKEN, TEST_OPERATOR_TOKEN } from "../support/settings.ts";

export const testEnv = env as unknown as import("../../worker/src/env.ts").Env;

let counter = 0;
/** A fresh instance id per test, so tests sharing the backend never see each other's calls. */
export function uid(prefix = "evt"): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}_${counter}_${crypto.randomUUID().slice(0, 8)}`;
}

export function request(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TEST_AUTH_TOKEN : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`https://jobs.test${path}`, { ...init, headers }));
}

/** A request with operator credentials: the operator API and the console. */
export function operator(
  path: string,
  init: RequestInit & { token?: string | null } = {},
): Promise<Response> {
  return request(path, { token: TEST_OPERATOR_TOKEN, ...init });
}

export interface DispatchResponse {
  ids: string[];
  instances: { id: string; name: string; status: string }[];
  errors?: { id: string; error: string }[];
}

export async function dispatch(events: unknown[], token?: string): Promise<DispatchResponse> {
  const response = await request("/dispatch", {
    method: "POST",
    body: JSON.stringify({ events }),
    headers: { "content-type": "application/json" },
    ...(token === undefined ? {} : { token }),
  });
  if (response.status !== 200)
    throw new Error(`dispatch answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** A valid envelope item (SDK 0.1.4+). */
export function envelope(name: string, payload: Record<string, unknown>, id = uid()) {
  return {
    id,
    name,
    payload,
    traceId: `trace-${id}`,
    idempotencyKey: `key-${id}`,
    createdAt: new Date().toISOString(),
  };
}

/** A valid legacy item (SDK 0.1.x). */
export function legacy(name: string, data: Record<string, unknown>, id = uid()) {
  return { id, idempotencyKey: `key-${id}`, event: { name, data } };
}

export const resetPassword = { email: "ann@example.com", userName: "Ann", otpCode: "123456" };

/** A one-step event's instance params, its id its trace id and key: what a dispatch would have stored. */
export const resetPasswordJob = (id: string): JobParams => ({
  id,
  name: "email/reset-password",
  payload: resetPassword,
  traceId: id,
  idempotencyKey: id,
  createdAt: new Date().toISOString(),
});

async function control(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${testEnv.BACKEND_URL}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_BACKEND_TOKEN}`, "content-type": "application/json" },
  });
  if (!response.ok) throw new Error(`backend control ${path}: ${response.status}`);
  return response;
}

export const backend = {
  fault: (fault: Fault) => control("/control/faults", { method: "POST", body: JSON.stringify(fault) }),
  calls: async (eventId: string): Promise<Call[]> =>
    ((await (await control(`/control/calls?eventId=${eventId}`)).json()) as { calls: Call[] }).calls,
  /** Every alert the sink received (from every test file of the project), oldest first. */
  alerts: async (): Promise<Alert[]> =>
    ((await (await control("/control/alerts")).json()) as { alerts: Alert[] }).alerts,
  /** Waits until the backend has answered `count` calls for the event. */
  async waitForCalls(eventId: string, count: number, timeoutMs = 15_000): Promise<Call[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const calls = (await this.calls(eventId)).filter((c) => c.status !== 0);
      if (calls.length >= count || Date.now() > deadline) return calls;
      await new Promise((r) => setTimeout(r, 25));
    }
  },
};

export interface Status {
  id: string;
  name: string;
  status: string;
  output?: unknown;
  error?: { name: string; message: string };
  recovery?: { status: string; failedStep: string | null; lastError: string; attempts: number };
}

/** Statuses that end a wait: a settled event, or an instance that stopped without a recorded ending. */
const TERMINAL = new Set(["complete", "errored", "terminated", "dead", "cancelled"]);

/** Polls `/status/:id` until the instance finishes. */
export async function settled(id: string, timeoutMs = 20_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request(`/status/${id}`);
    const status = response.status === 200 ? ((await response.json()) as Status) : undefined;
    if ((status && TERMINAL.has(status.status)) || Date.now() > deadline) {
      if (!status) throw new Error(`no status for ${id}`);
      return status;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Writes an event row as the store would have, for tests that start from a given state. */
export async function storeEvent(row: {
  id: string;
  job: Record<string, unknown> | null;
  state: string;
  at?: number;
  runAt?: number;
  dueAt?: number;
  failedAt?: number;
  createAttempts?: number;
  remainingSteps?: string[];
  digest?: string;
  /** The stored name; defaults to the job's. */
  name?: string;
}) {
  const at = row.at ?? Date.now();
  await testEnv.DB.prepare(
    `INSERT INTO events (id, name, digest, tenant_id, trace_id, job, state, run_at, due_at, create_attempts,
       remaining_steps, last_error, failed_at, created_at, updated_at)
     VALUES (?1, ?2, ?3, NULL, 't', ?4, ?5, ?6, ?7, ?8, ?9, 'x', ?10, ?11, ?11)`,
  )
    .bind(
      row.id,
      row.name ?? String(row.job?.name ?? "email/verification"),
      row.digest ?? "d",
      row.job === null ? null : JSON.stringify(row.job),
      row.state,
      row.runAt ?? null,
      row.dueAt ?? null,
      row.createAttempts ?? 1,
      JSON.stringify(row.remainingSteps ?? []),
      row.failedAt ?? null,
      at,
    )
    .run();
}

/** Polls `/status/:id` until it says `status`. */
export async function statusIs(id: string, status: string, timeoutMs = 20_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request(`/status/${id}`);
    const body = response.status === 200 ? ((await response.json()) as Status) : undefined;
    if (body?.status === status) return body;
    if (Date.now() > deadline) throw new Error(`${id} is ${body?.status ?? "unknown"}, not ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A D1 database that counts the rows written (from each result's meta) through it. */
export function countingWrites(): { db: D1Database; written: () => number } {
  let written = 0;
  const count = (result: unknown) => {
    written += (result as { meta?: { rows_written?: number } }).meta?.rows_written ?? 0;
  };
  const real = new WeakMap<object, D1PreparedStatement>();
  const statement = (s: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(s, {
      get(target, key) {
        if (key === "bind") return (...values: unknown[]) => statement(target.bind(...values));
        if (key === "run" || key === "all")
          return async () => {
            const result = await target[key]();
            count(result);
            return result;
          };
        // `first` answers no meta: run as `all`, answered as `first` would.
        if (key === "first")
          return async (column?: string) => {
            const result = await target.all<Record<string, unknown>>();
            count(result);
            const row = result.results[0] ?? null;
            return column === undefined ? row : (row?.[column] ?? null);
          };
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(proxy, s);
    return proxy;
  };
  const db = new Proxy(testEnv.DB, {
    get(target, key) {
      if (key === "prepare") return (sql: string) => statement(target.prepare(sql));
      if (key === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => real.get(s) ?? s));
          results.forEach(count);
          return results;
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, written: () => written };
}
