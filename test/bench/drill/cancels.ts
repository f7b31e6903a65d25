import { BENCH_TOKEN } from "../runtimes.ts";

/** The producer's cancels: each acknowledged cancel's time, and every answer, counted. */
export interface Cancels {
  acked: Map<string, number>;
  answers: Record<string, number>;
}

/** The producer cancels its delayed events: each acknowledged cancel's time is kept. */
export async function cancelDelayed(url: string, list: readonly { id: string }[], cancels: Cancels) {
  const { acked, answers } = cancels;
  for (const { id } of list)
    for (let attempt = 0; attempt < 8 && !acked.has(id); attempt++) {
      const response = await fetch(`${url}/events/${id}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
        signal: AbortSignal.timeout(10_000),
      }).catch((error: Error) => error);
      const body =
        response instanceof Response
          ? ((await response.json().catch(() => ({}))) as { status?: string; error?: string })
          : undefined;
      const answer =
        response instanceof Response
          ? `${response.status}${body?.error ? ` ${body.error}` : ""}`
          : response.name;
      answers[answer] = (answers[answer] ?? 0) + 1;
      if (body?.status === "cancelled") acked.set(id, Date.now());
      // Refused (the event is delivered, say): final. An answer not read in time is asked again.
      else if (response instanceof Response && response.status < 500 && body?.error !== undefined) break;
      else await new Promise((r) => setTimeout(r, 500));
    }
}
