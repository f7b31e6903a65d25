/**
 * The check that fails a deploy when the new worker does not answer: `/health`, then an
 * authenticated request that only the stack's own token can pass. A fresh workers.dev route or
 * custom domain takes a little while to answer, so unreachable and 5xx answers are retried until
 * the deadline; a rejected token is final at once.
 */
export type SmokeResult =
  | { ok: true; attempts: number; elapsedMs: number }
  | { ok: false; reason: string; attempts: number };

export class SmokeTestError extends Error {
  override readonly name = "SmokeTestError";
}

type Probe = { kind: "pass" } | { kind: "retry"; why: string } | { kind: "fail"; why: string };

export async function smokeTest(
  baseUrl: string,
  token: string,
  { timeoutMs = 120_000, intervalMs = 3_000 } = {},
): Promise<SmokeResult> {
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol))
    return { ok: false, reason: `not a URL the worker can be reached at: ${baseUrl}`, attempts: 0 };
  const started = Date.now();
  let attempts = 0;
  let last = "no answer yet";
  while (Date.now() - started <= timeoutMs) {
    attempts += 1;
    const probe = await probeOnce(baseUrl.replace(/\/+$/, ""), token);
    if (probe.kind === "pass") return { ok: true, attempts, elapsedMs: Date.now() - started };
    if (probe.kind === "fail") return { ok: false, reason: probe.why, attempts };
    last = probe.why;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return { ok: false, reason: `gave up after ${timeoutMs} ms: ${last}`, attempts };
}

async function probeOnce(base: string, token: string): Promise<Probe> {
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers, redirect: "manual", signal: AbortSignal.timeout(10_000) });
  try {
    const health = await get("/health");
    const body = await health.text();
    if (health.status >= 500 || health.status === 404)
      return { kind: "retry", why: `/health answered ${health.status}` };
    if (health.status !== 200 || !body.includes('"ok"'))
      return { kind: "fail", why: `/health answered ${health.status} ${body.slice(0, 200)}` };
    // An id no producer can have sent: a 404 proves the token was accepted and D1 answered.
    const probeId = `smoke-${crypto.randomUUID()}`;
    const status = await get(`/status/${probeId}`, { authorization: `Bearer ${token}` });
    await status.body?.cancel();
    if (status.status === 404) return { kind: "pass" };
    if (status.status === 401 || status.status === 403)
      return { kind: "fail", why: `the worker rejected the stack's authToken (HTTP ${status.status})` };
    return { kind: "retry", why: `/status answered ${status.status}` };
  } catch (error) {
    return { kind: "retry", why: error instanceof Error ? error.message : String(error) };
  }
}
