import { readPlatformFaults } from "../../../worker/local/faults/control.ts";
import type { Usage } from "../../../worker/local/faults/meter.ts";
import { type EventName, stepsOf } from "../../../worker/src/events/catalog.ts";
import type { BackendHandle } from "../backend-process.ts";

/** Waits until every step of these events has been answered with `status` by the backend. */
export async function answered(
  backend: BackendHandle,
  events: readonly { id: string; name: EventName }[],
  status: (s: number) => boolean,
) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const seen = new Set(
      (await backend.calls()).filter((c) => status(c.status)).map((c) => c.idempotencyKey),
    );
    if (events.every((e) => stepsOf(e.name).every((step) => seen.has(`${e.id}:${step}`)))) return;
    if (Date.now() > deadline)
      throw new Error(`the backend did not answer every step in time: ${seen.size} of the keys seen`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the worker at `url` has stopped asking anything of its bindings for `quietMs`. */
export async function quiet(url: string, quietMs = 2_000): Promise<Usage> {
  let last = "";
  let since = Date.now();
  for (;;) {
    const { usage } = await readPlatformFaults(url);
    const now = JSON.stringify(usage);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return usage;
    await new Promise((r) => setTimeout(r, 200));
  }
}
