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
const wantOf = (eventId: string, over: Partial<Want> = {}): Want => ({
  eventId,
  priority: "bulk",
  tenant: "a",
  keys: limitsFor(limits, "whatsapp/send-template", "a"),
  leaseMs: 10_000,
  ...over,
});
const want = wantOf;
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
    const inFlight = limitsFor(parseBackendLimits('{"*":{"inFlight":3}}'), "whatsapp/send-template", "a");
    const want = (id: string, over: Partial<Want> = {}) => wantOf(id, { keys: inFlight, ...over });
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

  it("starts no more calls in any second than the limit, spread over it, and counts a lease whose caller died as ended", () => {
    const gate = new Gate();
    const keys = limitsFor(
      parseBackendLimits('{"email/invitation":{"perSecond":5}}'),
      "email/invitation",
      "a",
    );
    const starts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const asked = gate.ask(want(`p${i}`, { keys, priority: "interactive" }), 0);
      if ("grant" in asked) starts.push(0);
      else void asked.waiter.then(() => starts.push(-1));
    }
    // Waiters are let start as the clock moves on: five a (1,150 ms) second, 230 ms apart.
    const at: number[] = [0];
    for (let now = 10; now <= 2300; now += 10) {
      const before = gate.usage(now)["path email/invitation"]?.at(-1)?.calls ?? 0;
      gate.pump(now);
      const after = gate.usage(now)["path email/invitation"]?.at(-1)?.calls ?? 0;
      for (let n = before; n < after; n++) at.push(now);
    }
    expect(at.filter((t) => t < 1150)).toEqual([0, 230, 460, 690, 920]);
    for (const t of at) expect(at.filter((u) => u >= t && u < t + 1150).length).toBeLessThanOrEqual(5);
    expect(gate.pump(2300)).toBeGreaterThan(2300);

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

  it("gives tenants one call each in turn as a limit lets calls start", () => {
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
    for (const id of ["a1", "a2", "a3", "a4", "a5"]) queue(id, "a");
    for (const id of ["b1", "b2"]) queue(id, "b");
    for (let now = 10; now <= 3000; now += 10) gate.pump(now);
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(order).toEqual(["a1", "a2", "b1", "a3", "b2", "a4", "a5"]);
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
    const b = granted(first.ask(want("b", { keys, priority: "interactive" }), 400)) as Grant & {
      granted: true;
    };
    first.release(a.lease, 410);
    expect(written).toEqual([`started ${a.lease}`, `started ${b.lease}`, `released ${a.lease}`]);
    // The limiter restarts: b is still in flight, and both started in this second.
    const earlier = [
      { lease: a.lease, keys: ["path email/invitation", "tenant a"], at: 0, until: 10_000, released: true },
      {
        lease: b.lease,
        keys: ["path email/invitation", "tenant a"],
        at: 400,
        until: 10_000,
        released: false,
      },
    ];
    const second = new Gate(journal, earlier);
    expect(granted(second.ask(want("c", { keys, priority: "interactive" }), 800))?.granted).toBe(true);
    // Three started in this second, two of them before the restart, and two are in flight.
    second.ask(want("d", { keys, priority: "interactive" }), 850);
    expect(second.waitingOn("d")).toBe("path email/invitation: 3 calls per second");
    second.pump(1200);
    expect(second.waitingOn("d")).toBe("path email/invitation: 2 calls in flight");
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
