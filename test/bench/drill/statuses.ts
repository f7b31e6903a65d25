import { BENCH_TOKEN } from "../runtimes.ts";

/** What /status says, as a producer polls it: a 5xx (the store failing under faults) is asked again. */
async function statusOf(url: string, id: string): Promise<string> {
  let status = "no answer";
  for (let attempt = 0; attempt < 10; attempt++) {
    const response = await fetch(`${url}/status/${id}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as
      | { status?: string; error?: string }
      | undefined;
    status = response?.ok && body?.status ? body.status : `HTTP ${response?.status}: ${body?.error}`;
    if (response !== undefined && response.status < 500 && body !== undefined) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return status;
}

/**
 * What /status says of each accepted event, against what happened (`expected`: undefined when
 * it may end either way), 20 at a time; then of each event whose cancel went unacknowledged.
 * The false ones, as readable lines.
 */
export async function falseStatuses(
  url: string,
  accepted: readonly string[],
  expected: (id: string) => string | undefined,
  unacknowledged: readonly { id: string }[],
): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < accepted.length; i += 20)
    await Promise.all(
      accepted.slice(i, i + 20).map(async (id) => {
        const wanted = expected(id);
        if (wanted === undefined) return;
        const status = await statusOf(url, id);
        if (status !== wanted) found.push(`${id}: ${status}, not ${wanted}`);
      }),
    );
  // An event whose cancel went unacknowledged ends delivered or cancelled, and says which.
  for (const { id } of unacknowledged) {
    const status = await statusOf(url, id);
    if (status !== "complete" && status !== "cancelled")
      found.push(`${id} (cancel unacknowledged): ${status}, not complete or cancelled`);
  }
  return found;
}
