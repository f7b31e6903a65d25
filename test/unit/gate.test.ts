import { describe, expect, it } from "vitest";
import { Gate, type Grant, type Want } from "../../worker/src/limiter/gate.ts";
import { limitsFor, parseBackendLimits } from "../../worker/src/settings/backend-limits.ts";

const limits = parseBackendLimits(
  JSON.stringify({
    "whatsapp/send-template": { perSecond: 10 },
    "*": { inFlight: 3 },
    perTenant: { perSecond: 50 },
  }),
);
const want = (eventId: string, over: Partial<Want> = {}): Want => ({
  eventId,
  priority: "bulk",
  tenant: "a",
  keys: limitsFor(limits, "whatsapp/send-template", "a"),
  leaseMs: 10_000,
  ...over,
});
const granted = (asked: ReturnType<Gate["ask"]>): Grant | undefined =>
  "grant" in asked ? asked.grant : undefined;

describe("backend limits", () => {
  it("reads a stack's limits and names the ones a call must fit", () => {
    expect(limitsFor(limits, "whatsapp/send-template", "t1").map((k) => k.key)).toEqual([
      "path whatsapp/send-template",
      "all calls",
      "tenant t1",
    ]);
    expect(limitsFor(limits, "email/verification", null).map((k) => k.key)).toEqual(["all calls", "tenant "]);
    expect(limitsFor(parseBackendLimits("{}"), "email/verification", null)).toEqual([]);
    for (const bad of [
      "[]",
      '{"x":{}}',
      '{"x":{"perSecond":0}}',
      '{"x":{"perSecond":1.5}}',
      '{"x":{"rate":1}}',
    ])
      expect(() => parseBackendLimits(bad)).toThrow(/BACKEND_LIMITS/);
  });

  it("holds calls in flight to the limit, and lets the next start when one ends", async () => {
    const gate = new Gate();
    const now = 1_000_000;
    // Bulk calls leave a tenth of every limit (at least one place) to interactive ones: 2 of 3.
    const leases = ["e1", "e2"].map((id) => granted(gate.ask(want(id), now)));
    expect(leases.every((g) => g?.granted)).toBe(true);
    const third = gate.ask(want("e3"), now);
    expect("waiter" in third).toBe(true);
    expect(gate.waitingOn("e3")).toBe("all calls: 3 calls in flight");
    // The interactive one takes the place bulk calls leave free, at once (ahead of the bulk waiter).
    const otp = gate.ask(want("otp", { priority: "interactive", tenant: "b" }), now);
    expect(gate.waitingOn("otp")).toBeUndefined();
    expect(await ("grant" in otp ? otp.grant : otp.waiter)).toMatchObject({ granted: true });
    expect(gate.waitingOn("e3")).toBe("all calls: 3 calls in flight");
    // One ends: 2 in flight still fill what bulk may use, so the bulk waiter waits on.
    const [first, second] = leases as (Grant & { granted: true })[];
    gate.release(first?.lease as string, now + 5);
    gate.release(first?.lease as string, now + 6); // A second release of the same lease frees nothing.
    expect(gate.waitingOn("e3")).toBe("all calls: 3 calls in flight");
    gate.release(second?.lease as string, now + 7);
    if ("waiter" in third) expect((await third.waiter).granted).toBe(true);
    expect("waiter" in gate.ask(want("e4"), now + 8)).toBe(true);
  });

  it("starts no more calls in any second than the limit, and counts a lease whose caller died as ended", () => {
    const gate = new Gate();
    const keys = limitsFor(parseBackendLimits('{"p":{"perSecond":5}}'), "p", "a");
    let started = 0;
    for (let i = 0; i < 20; i++)
      if (granted(gate.ask(want(`p${i}`, { keys, priority: "interactive" }), 0))) started++;
    expect(started).toBe(5);
    // A second as the limiter counts it is 1,150 ms, jitter on the way to the backend included.
    expect(gate.pump(1149)).toBe(1150);
    gate.pump(1150);
    expect(gate.usage(1000)["path p"]?.at(-1)).toMatchObject({ calls: 10, waited: 15 });

    const flight = new Gate();
    const one = limitsFor(parseBackendLimits('{"q":{"inFlight":1}}'), "q", "a");
    expect(
      granted(flight.ask(want("q1", { keys: one, leaseMs: 100, priority: "interactive" }), 0))?.granted,
    ).toBe(true);
    const next = flight.ask(want("q2", { keys: one, priority: "interactive" }), 50);
    expect("waiter" in next).toBe(true);
    flight.pump(100);
    expect(flight.waitingOn("q2")).toBeUndefined();
  });

  it("serves interactive calls first and tenants in turn within a class", async () => {
    const gate = new Gate();
    const keys = limitsFor(parseBackendLimits('{"p":{"inFlight":1}}'), "p", "x");
    const first = granted(gate.ask(want("busy", { keys, priority: "interactive" }), 0)) as Grant & {
      granted: true;
    };
    const order: string[] = [];
    const queue = (id: string, tenant: string, priority: "interactive" | "bulk" = "bulk") => {
      const asked = gate.ask(want(id, { keys, tenant, priority }), 0);
      if ("waiter" in asked)
        void asked.waiter.then((g) => {
          order.push(id);
          if (g.granted) setTimeout(() => gate.release(g.lease, 0), 0);
        });
    };
    for (const id of ["a1", "a2", "a3"]) queue(id, "a");
    queue("b1", "b");
    queue("otp", "c", "interactive");
    gate.release(first.lease, 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(["otp", "a1", "b1", "a2", "a3"]);
  });

  it("says which limit a refused call waited for", async () => {
    const gate = new Gate();
    const keys = limitsFor(parseBackendLimits('{"p":{"inFlight":1}}'), "p", "a");
    gate.ask(want("holder", { keys, priority: "interactive" }), 0);
    const asked = gate.ask(want("late", { keys }), 0);
    if (!("waiter" in asked)) throw new Error("expected to wait");
    asked.cancel();
    expect(await asked.waiter).toEqual({ granted: false, limit: "path p: 1 calls in flight" });
    expect(gate.waitingOn("late")).toBeUndefined();
  });
});
