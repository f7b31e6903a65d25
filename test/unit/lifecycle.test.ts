import { describe, expect, it } from "vitest";
import {
  FINAL_STATES,
  leaves,
  TRANSITIONS,
  tierOf,
  transitionsFrom,
} from "../../worker/src/lifecycle/machine.ts";

describe("lifecycle", () => {
  it("derives the final states (retention may forget them) from the transitions", () => {
    expect(FINAL_STATES).toEqual(["delivered", "discarded", "cancelled"]);
  });
  it("says which transitions leave a state, and none leave a state it does not know", () => {
    expect(leaves("cancel", "accepted")).toBe(true);
    expect(leaves("cancel", "delivered")).toBe(false);
    expect(transitionsFrom("delivered")).toEqual([]);
    expect(transitionsFrom("archived-by-a-newer-release")).toEqual([]);
    for (const name of transitionsFrom("dead")) expect(TRANSITIONS[name].from).toContain("dead");
  });
  it("words the recovery consumer's history rows as stored rows always said", () => {
    expect(tierOf("recovery")).toBe("queue");
    expect(tierOf("operator")).toBe("operator");
  });
});
