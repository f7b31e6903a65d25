import { describe, expect, it } from "vitest";
import { compareContracts } from "../../worker/release/compare.ts";
import type { ReleaseContract } from "../../worker/release/contract.ts";
import { definitionOf, retiredMessage } from "../../worker/src/events/catalog.ts";
import { envelopeSdk } from "../support/sdk-behaviour.ts";

describe("compareContracts", () => {
  const contract = (steps: string[], workflow = "payment"): ReleaseContract => ({
    events: { "payment/process-payout": { workflow, steps, payload: "p" } },
    workflows: { payment: { name: "jobs-payment", className: "PaymentWorkflow" } },
    queues: { recovery: "jobs-recovery" },
    recoveryMessage: { version: 1, formats: { 1: "f" } },
    migrations: [{ name: "0001_initial.sql", sha256: "a" }],
  });
  it("flags a step appended to a released event and an event moved to another workflow", () => {
    const base = contract(["a", "b"]);
    expect(compareContracts(base, contract(["a", "b", "c"])).map((f) => [f.kind, f.subject])).toEqual([
      ["breaking", "payment/process-payout step c"],
    ]);
    expect(compareContracts(base, contract(["a", "b"], "email"))[0]?.message).toMatch(
      /^moved from workflow payment to email/,
    );
    expect(compareContracts(base, base)).toEqual([]);
  });
  it("flags a new migration numbered before a released one", () => {
    const base = { ...contract(["a"]), migrations: [{ name: "0002_b.sql", sha256: "b" }] };
    const head = {
      ...base,
      migrations: [
        { name: "0001_a.sql", sha256: "a" },
        { name: "0002_b.sql", sha256: "b" },
      ],
    };
    expect(compareContracts(base, head).map((f) => f.subject)).toEqual(["migration 0001_a.sql"]);
  });
});

describe("a retired event", () => {
  it("is refused at /dispatch with a message both SDKs treat as final, naming its replacement", () => {
    const definition = {
      ...definitionOf("payment/process-payout"),
      retired: { use: "payment/process-payout-v2" },
    };
    const message = retiredMessage("payment/process-payout", definition);
    expect(message).toBe("Unknown event: payment/process-payout is retired; send payment/process-payout-v2");
    expect(envelopeSdk.item(message ?? "")).toBe("permanent");
    expect(retiredMessage("payment/process-payout")).toBeUndefined();
  });
});
