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
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"perSecond":5}}'),
      "email/invitation",
      "a",
    );
    let started = 0;
    for (let i = 0; i < 20; i++)
      if (granted(gate.ask(want(`p${i}`, { keys, priority: "interactive" }), 0))) started++;
    expect(started).toBe(5);
    // A second as the limiter counts it is 1,150 ms, jitter on the way to the backend included.
    expect(gate.pump(1149)).toBe(1150);
    gate.pump(1150);
    expect(gate.usage(1000)["path email/invitation"]?.at(-1)).toMatchObject({ calls: 10, waited: 15 });

    const flight = new Gate();
    const one = limitsFor(
      parseBackendLimits('{"email/verification":{"inFlight":1}}'),
      "email/verification",
      "a",
    );
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
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"inFlight":1}}'),
      "email/invitation",
      "x",
    );
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

  it("lets calls on other paths go while one path's calls wait for their limit", () => {
    const gate = new Gate();
    const both = parseBackendLimits('{"whatsapp/send-template":{"perSecond":1},"*":{"inFlight":100}}');
    const whatsapp = limitsFor(both, "whatsapp/send-template", "a");
    const email = limitsFor(both, "email/verification", "a");
    expect(granted(gate.ask(want("w1", { keys: whatsapp }), 0))?.granted).toBe(true);
    expect("waiter" in gate.ask(want("w2", { keys: whatsapp }), 0)).toBe(true);
    // The waiting one holds its path, not "all calls", which still has room.
    const asked = gate.ask(want("e1", { keys: email }), 0);
    expect(gate.waitingOn("e1")).toBeUndefined();
    expect(gate.waitingOn("w2")).toBe("path whatsapp/send-template: 1 calls per second");
    expect("waiter" in asked || asked.grant.granted).toBe(true);
  });

  it("gives tenants one call each in turn when a second's window opens", () => {
    const gate = new Gate();
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"perSecond":4}}'),
      "email/invitation",
      "x",
    );
    const order: string[] = [];
    const queue = (id: string, tenant: string) => {
      const asked = gate.ask(want(id, { keys, tenant, priority: "interactive" }), 0);
      if ("waiter" in asked) void asked.waiter.then(() => order.push(id));
      else order.push(id);
    };
    for (const id of ["a1", "a2", "a3", "a4"]) queue(id, "a");
    for (const id of ["a5", "a6", "a7"]) queue(id, "a");
    for (const id of ["b1", "b2"]) queue(id, "b");
    gate.pump(1150);
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(order).toEqual(["a1", "a2", "a3", "a4", "a5", "b1", "a6", "b2"]);
        resolve();
      }, 0),
    );
  });

  it("counts, after a restart, the calls started before it, and writes each call through", () => {
    const written: string[] = [];
    const journal = {
      started: (c: { lease: string }) => written.push(`started ${c.lease}`),
      released: (lease: string) => written.push(`released ${lease}`),
    };
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"inFlight":2,"perSecond":3}}'),
      "email/invitation",
      "a",
    );
    const first = new Gate(journal);
    const a = granted(first.ask(want("a", { keys, priority: "interactive" }), 0)) as Grant & {
      granted: true;
    };
    const b = granted(first.ask(want("b", { keys, priority: "interactive" }), 0)) as Grant & {
      granted: true;
    };
    first.release(a.lease, 10);
    expect(written).toEqual([`started ${a.lease}`, `started ${b.lease}`, `released ${a.lease}`]);
    // The limiter restarts: b is still in flight, and both started in this second.
    const earlier = [
      { lease: a.lease, keys: ["path email/invitation", "tenant a"], at: 0, until: 10_000, released: true },
      { lease: b.lease, keys: ["path email/invitation", "tenant a"], at: 0, until: 10_000, released: false },
    ];
    const second = new Gate(journal, earlier);
    expect(granted(second.ask(want("c", { keys, priority: "interactive" }), 20))?.granted).toBe(true);
    expect(second.waitingOn("c")).toBeUndefined();
    second.ask(want("d", { keys, priority: "interactive" }), 30);
    expect(second.waitingOn("d")).toBe("path email/invitation: 3 calls per second");
  });

  it("says which limit a refused call waited for", async () => {
    const gate = new Gate();
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"inFlight":1}}'),
      "email/invitation",
      "a",
    );
    gate.ask(want("holder", { keys, priority: "interactive" }), 0);
    const asked = gate.ask(want("late", { keys }), 0);
    if (!("waiter" in asked)) throw new Error("expected to wait");
    asked.cancel();
    expect(await asked.waiter).toEqual({ granted: false, limit: "path email/invitation: 1 calls in flight" });
    expect(gate.waitingOn("late")).toBeUndefined();
  });
});
