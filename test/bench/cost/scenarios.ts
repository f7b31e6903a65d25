import type { Fault } from "../../../worker/local/backend-api.ts";
import type { EventName } from "../../../worker/src/events/catalog.ts";
import { STEP_RETRY } from "../../../worker/src/topology.ts";
import { BENCH_OPERATOR_TOKEN } from "../runtimes.ts";
import { type CostContext, headers } from "./context.ts";
import { answered, quiet } from "./settle.ts";

/** Names `jobs` events of one name for a scenario, and remembers them for its final statuses. */
export type Ids = (name: EventName) => { id: string; name: EventName }[];

export interface Scenario {
  name: string;
  what: string;
  jobs: number;
  run(ctx: CostContext, ids: Ids): Promise<void>;
}

const ONE_STEP: EventName = "email/verification";
const PAYOUT: EventName = "payment/process-payout";
const okStatus = (s: number) => s >= 200 && s < 300;

/** Dispatches `name` events `perRequest` at a time, each with `fault` at the backend, and waits for every step's 2xx. */
const delivered =
  (name: EventName, perRequest: number, fault?: Omit<Fault, "eventId">) =>
  async ({ backend, producer }: CostContext, ids: Ids) => {
    const events = ids(name);
    if (fault) for (const e of events) await backend.addFault({ ...fault, eventId: e.id });
    await producer.dispatchAll(events, perRequest);
    await answered(backend, events, okStatus);
  };

export const SCENARIOS: Scenario[] = [
  {
    name: "one-step",
    what: "a one-step event delivered at the first call (batches of 10)",
    jobs: 20,
    run: delivered(ONE_STEP, 10),
  },
  {
    name: "three-step-payout",
    what: "a payout: validate, process, notify, each delivered at the first call",
    jobs: 20,
    run: delivered(PAYOUT, 10),
  },
  {
    name: "transient-retry",
    what: "a one-step event whose first call answers 503, delivered by the workflow's retry",
    jobs: 20,
    run: delivered(ONE_STEP, 10, { status: 503, count: 1 }),
  },
  {
    name: "recovery-ladder",
    what: "fails every workflow attempt and the first recovery delivery, delivered by the second",
    jobs: 10,
    run: delivered(ONE_STEP, 10, { status: 500, count: STEP_RETRY.limit + 2 }),
  },
  {
    name: "dead-replayed",
    what: "answered 422 (dead), then replayed by an operator and delivered",
    jobs: 10,
    async run({ backend, url, producer }, ids) {
      const events = ids(ONE_STEP);
      for (const e of events) await backend.addFault({ eventId: e.id, status: 422, count: 1 });
      await producer.dispatchAll(events, 10);
      await answered(backend, events, (s) => s === 422);
      await quiet(url);
      const response = await fetch(`${url}/failed-events/replay`, {
        method: "POST",
        headers: headers(BENCH_OPERATOR_TOKEN),
        body: JSON.stringify({ status: "dead", limit: 500 }),
      });
      if (!response.ok) throw new Error(`replay answered ${response.status}: ${await response.text()}`);
      await answered(backend, events, okStatus);
    },
  },
  {
    name: "batch-100",
    what: "one-step events, 100 in one /dispatch request",
    jobs: 100,
    run: delivered(ONE_STEP, 100),
  },
  {
    name: "batch-1",
    what: "one-step events, one per /dispatch request",
    jobs: 20,
    run: delivered(ONE_STEP, 1),
  },
];
