import { describe, expect, it } from "vitest";
import { lanes } from "../../worker/src/dispatch/lanes.ts";
import { type Lane, Pacer } from "../../worker/src/dispatch/pacer.ts";
import { CATALOG } from "../../worker/src/events/catalog.ts";
import type { JobParams } from "../../worker/src/events/job.ts";

const bulk = (tenant: string): Lane => ({ priority: "bulk", tenant });
const interactive = (tenant: string): Lane => ({ priority: "interactive", tenant });
const later = (ms: number) => Date.now() + ms;

/** Runs takes in the order given (each asked once the previous one waits), recording grants. */
async function served(pacer: Pacer, asks: { label: string; n: number; lane: Lane }[], until = later(10_000)) {
  const order: string[] = [];
  const all = asks.map(async ({ label, n, lane }) => {
    const granted = await pacer.take(n, lane, until);
    order.push(`${label}:${granted}@${Date.now()}`);
  });
  await Promise.all(all);
  return order;
}

// Its window is a second: each turn past the first costs one.
describe("the creation pacer", { timeout: 15_000 }, () => {
  it("serves interactive work before bulk work that came first, at once", async () => {
    // A window of 10 per second, of which bulk work fills 9: the rest wait for the next second,
    // and the code finds the tenth free.
    const pacer = new Pacer(10);
    const started = Date.now();
    const order = await served(pacer, [
      { label: "bulk-a1", n: 10, lane: bulk("a") },
      { label: "bulk-a2", n: 10, lane: bulk("a") },
      { label: "bulk-a3", n: 10, lane: bulk("a") },
      { label: "otp", n: 1, lane: interactive("b") },
    ]);
    expect(order.map((o) => o.split("@")[0])).toEqual(["bulk-a1:9", "otp:1", "bulk-a2:9", "bulk-a3:9"]);
    const otpAt = Number(order[1]?.split("@")[1]) - started;
    expect(otpAt).toBeLessThan(100);
  });

  it("gives tenants turns within a class, whoever asked first", async () => {
    const pacer = new Pacer(10);
    const order = await served(pacer, [
      { label: "a1", n: 10, lane: bulk("a") },
      { label: "a2", n: 10, lane: bulk("a") },
      { label: "a3", n: 10, lane: bulk("a") },
      { label: "b1", n: 10, lane: bulk("b") },
      { label: "b2", n: 10, lane: bulk("b") },
      { label: "none", n: 10, lane: bulk("") },
    ]);
    expect(order.map((o) => o.split("@")[0])).toEqual(["a1:9", "a2:9", "b1:9", "none:9", "a3:9", "b2:9"]);
  });

  it("never grants more than its rate in a second, bulk work less", async () => {
    const pacer = new Pacer(10);
    const started = Date.now();
    const stamps: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        await pacer.take(1, bulk(`t${i % 3}`), later(10_000));
        stamps.push(Date.now() - started);
      }),
    );
    for (const at of stamps)
      expect(stamps.filter((s) => s > at - 1000 && s <= at).length).toBeLessThanOrEqual(10);
    expect(Math.max(...stamps)).toBeGreaterThanOrEqual(2000);
  });

  it("answers 0 once its time passes, and a waiter past its time leaves the line to the next", async () => {
    const pacer = new Pacer(1);
    expect(await pacer.take(1, bulk("a"), later(5_000))).toBe(1);
    // Waits past its time: the window is full for a second.
    expect(await pacer.take(1, bulk("a"), later(100))).toBe(0);
    const gone = pacer.take(1, bulk("gone"), later(50));
    const next = pacer.take(1, bulk("b"), later(5_000));
    expect(pacer.waiting()).toEqual({ interactive: 0, bulk: 2 });
    expect(await Promise.all([gone, next])).toEqual([0, 1]);
    expect(pacer.waiting()).toEqual({ interactive: 0, bulk: 0 });
  });

  it("keeps serving bulk work while a trickle of interactive work never lets the window empty", async () => {
    const pacer = new Pacer(80);
    let trickling = true;
    const trickle = (async () => {
      while (trickling) {
        await pacer.take(1, interactive("codes"), later(5_000));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    await pacer.take(80, bulk("a"), later(5_000));
    // The window is never empty again, yet the next chunk gets what is free within a second or so.
    const started = Date.now();
    const granted = await pacer.take(80, bulk("a"), later(5_000));
    trickling = false;
    await trickle;
    expect(granted).toBeGreaterThanOrEqual(18);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("gives back what the shared budget did not grant", async () => {
    const pacer = new Pacer(10);
    expect(await pacer.take(9, bulk("a"), later(1_000))).toBe(9);
    pacer.refund(9);
    expect(await pacer.take(9, bulk("a"), later(100))).toBe(9);
  });

  it("grants at most its rate at once, at most what was asked, and interactive work what is free", async () => {
    const pacer = new Pacer(5);
    expect(await pacer.take(50, bulk("a"), later(1_000))).toBe(4);
    expect(await pacer.take(50, interactive("a"), later(1_000))).toBe(1);
    pacer.slowDown();
    expect(pacer.rate).toBe(2);
  });
});

describe("creation lanes", () => {
  const job = (id: string, name: keyof typeof CATALOG, tenantId?: string): JobParams => ({
    id,
    name,
    payload: tenantId === undefined ? {} : { tenantId },
    traceId: id,
    idempotencyKey: id,
    createdAt: "2026-01-01T00:00:00Z",
  });

  it("splits by workflow, class and tenant, interactive first, then the shortest, keeping order within a lane", () => {
    const jobs = [
      job("n1", "notification/create", "a"),
      job("c1", "email/cart-recovery", "a"),
      job("r1", "email/reset-password", "a"),
      job("n2", "notification/create", "b"),
      job("c2", "email/cart-recovery", "a"),
      job("r2", "email/reset-password"),
    ];
    const split = lanes(jobs, (name) => CATALOG[name].priority).map(
      (l) => `${l.kind}/${l.lane.priority}/${l.lane.tenant}:${l.jobs.map((j) => j.id).join(",")}`,
    );
    expect(split).toEqual([
      "email/interactive/a:r1",
      "email/interactive/:r2",
      "notification/bulk/a:n1",
      "notification/bulk/b:n2",
      "email/bulk/a:c1,c2",
    ]);
  });

  it("follows the stack's override of an event's class", () => {
    const split = lanes(
      [job("w1", "whatsapp/send-template", "a"), job("c1", "email/cart-recovery", "a")],
      (name) => (name === "whatsapp/send-template" ? "interactive" : CATALOG[name].priority),
    );
    expect(split.map((l) => l.lane.priority)).toEqual(["interactive", "bulk"]);
  });
});
