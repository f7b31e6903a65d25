import type { Env } from "../env.ts";
import type { JobParams } from "../events/job.ts";
import { VARS } from "../topology.ts";
import { bounded, classify, type Outcome } from "./outcome.ts";

/** The contract's callback: the same ids on every attempt, so the backend can deduplicate. */
export function backendRequest(env: Env, job: JobParams, step: string): Request {
  const base = (env.BACKEND_URL ?? VARS.BACKEND_URL).replace(/\/+$/, "");
  const headers = new Headers({
    "content-type": "application/json",
    authorization: `Bearer ${env.BACKEND_TOKEN || env.AUTH_TOKEN || ""}`,
    "x-trace-id": job.traceId,
    "x-workflow-event-id": job.id,
    "idempotency-key": `${job.id}:${step}`,
  });
  const tenant = job.payload.tenantId;
  if (typeof tenant === "string" && tenant.trim() !== "") headers.set("x-tenant-id", tenant.trim());
  return new Request(`${base}/workflows/execute/${step}`, {
    method: "POST",
    headers,
    body: JSON.stringify(job.payload),
  });
}

/** Calls one backend step and classifies the answer; never throws. */
export async function callBackend(env: Env, job: JobParams, step: string): Promise<Outcome> {
  if (!(env.BACKEND_URL ?? VARS.BACKEND_URL))
    return { kind: "retry", reason: "BACKEND_URL is not configured" };
  const timeoutMs = Number(env.BACKEND_TIMEOUT_MS ?? VARS.BACKEND_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(backendRequest(env, job, step), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return {
      kind: "retry",
      reason: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${bounded(String(error))}`,
    };
  }
  const detail = response.ok ? "" : await textPrefix(response, 2048);
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
