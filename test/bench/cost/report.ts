import type { BackendMode } from "../backend-process.ts";
import { machine } from "../machine.ts";
import type { Row } from "./measure.ts";
import { capacity } from "./model.ts";
import { PEERS, PRICES } from "./prices.ts";
import type { Fixed, Tail } from "./scheduled.ts";

/** test/bench/results/cost.json: each scenario's figures, the scheduled handler's, capacity and prices. */
export function costReport(backend: BackendMode, rows: readonly Row[], tail: Tail, fixed: Fixed) {
  const oneStep = rows.find((r) => r.name === "one-step") as Row;
  const model = capacity(oneStep.perJob);
  return {
    machine: machine(),
    backend,
    scenarios: rows.map(({ name, what, jobs, perJob: p, dollarsPerMillion: d, dollarsBy, statuses }) => ({
      name,
      what,
      jobs,
      perJob: p,
      dollarsPerMillion: Number(d.toFixed(4)),
      dollarsBy,
      statuses,
    })),
    tail,
    fixed,
    capacity: model,
    prices: PRICES,
    peers: PEERS,
  };
}
