import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { type JobParams, tenantOf } from "../events/job.ts";
import type { ConfigError } from "../settings/config-error.ts";
import { numberVar } from "../settings/vars.ts";
import { SIGNATURE_HEADER, sign } from "../signing.ts";
import { countFailedCall } from "../store/backend-calls.ts";
import { LIMITS, VARS } from "../topology.ts";
import { encodeHeaderValue } from "./header-value.ts";
import { idempotencyKeyOf } from "./key.ts";
import { classify, type Outcome } from "./outcome.ts";

/**
 * Backend paths are catalog step names; this shape cannot leave `/workflows/execute/` (no dots,
 * percent signs, query strings, backslashes or empty segments), whatever a future entry says.
 */
const STEP_PATH = /^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:\/[a-z0-9]+(?:[-_][a-z0-9]+)*)*$/;

export class UnsafeStepError extends Error {
  override readonly name = "UnsafeStepError";
}

/** The contract's callback: the same ids on every attempt, so the backend can deduplicate. */
export async function backendRequest(
  env: Env,
  job: JobParams,
  step: string,
  now = Date.now(),
): Promise<Request> {
  if (!STEP_PATH.test(step))
    throw new UnsafeStepError(`Refusing to call an unsafe backend path: ${JSON.stringify(step)}`);
  const base = (env.BACKEND_URL ?? VARS.BACKEND_URL).replace(/\/+$/, "");
  const headers = new Headers({
    "content-type": "application/json",
    authorization: `Bearer ${env.BACKEND_TOKEN || env.AUTH_TOKEN || ""}`,
    "x-trace-id": encodeHeaderValue(job.traceId),
    "x-workflow-event-id": job.id,
    "idempotency-key": idempotencyKeyOf(job.id, step),
  });
  const tenant = tenantHeader(job);
  if (tenant !== undefined) headers.set("x-tenant-id", tenant);
  const url = `${base}/workflows/execute/${step}`;
  const body = JSON.stringify(job.payload);
  if (env.SIGNING_SECRET) {
    const request = {
      method: "POST",
      path: new URL(url).pathname,
      eventId: job.id,
      idempotencyKey: headers.get("idempotency-key") ?? "",
      tenantId: headers.get("x-tenant-id"),
      body,
    };
    headers.set(SIGNATURE_HEADER, await sign(env.SIGNING_SECRET, Math.floor(now / 1000), request));
  }
  return new Request(url, { method: "POST", headers, body });
}

/** The event's tenant as x-tenant-id, when it fits in a header (a longer one travels in the payload only). */
function tenantHeader(job: JobParams): string | undefined {
  const tenant = tenantOf(job);
  if (tenant === null || tenant.length > LIMITS.tenantHeaderLength) return undefined;
  return encodeHeaderValue(tenant);
}

/**
 * Calls one backend step and classifies the answer; never throws. Every call that did not
 * perform the step is counted here, whoever made it; successful calls are counted by the write
 * that records them (see `Changes.calls`), so they cost no D1 round trip of their own.
 */
export async function callBackend(env: Env, job: JobParams, step: string): Promise<Outcome> {
  const outcome = await attempt(env, job, step);
  if (outcome.kind !== "done") await countFailedCall(env.DB);
  return outcome;
}

async function attempt(env: Env, job: JobParams, step: string): Promise<Outcome> {
  if (!(env.BACKEND_URL ?? VARS.BACKEND_URL))
    return { kind: "retry", reason: "BACKEND_URL is not configured" };
  let timeoutMs: number;
  let request: Request;
  try {
    timeoutMs = numberVar(env, "backendTimeoutMs");
  } catch (error) {
    return { kind: "retry", reason: (error as ConfigError).message };
  }
  try {
    request = await backendRequest(env, job, step);
  } catch (error) {
    // A request that must not be sent will not become sendable by retrying.
    return { kind: "dead", reason: bounded(error instanceof Error ? error.message : String(error)) };
  }
  let response: Response;
  try {
    // Redirects are not followed: a 301/302 would turn the POST into a GET to wherever it points
    // (with the token), and a catch-all page's 200 would read as performed.
    response = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return {
      kind: "retry",
      reason: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${bounded(String(error))}`,
    };
  }
  const location = response.headers.get("location");
  const detail = response.ok
    ? ""
    : response.status >= 300 && response.status < 400
      ? `redirect${location ? ` to ${location}` : ""} not followed`
      : await textPrefix(response, 2048);
  await response.body?.cancel().catch(() => {});
  return classify(response.status, response.headers.get("retry-after"), detail, Date.now());
}

/** The start of an error body: enough to explain, never enough to exhaust memory. */
async function textPrefix(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let read = 0; read < maxBytes; ) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut off mid-way still explains what it managed to say.
  } finally {
    reader.releaseLock();
  }
  return text;
}
