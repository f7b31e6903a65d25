import { expect, it } from "vitest";
import { overview } from "../../worker/src/console/overview-data.ts";
import { dispatch } from "../../worker/src/dispatch/dispatch.ts";
import type { Env } from "../../worker/src/env.ts";
import { eventStatus } from "../../worker/src/operations/status.ts";
import { loadEvents } from "../../worker/src/store/events.ts";
import { CREATION, WORKFLOW_KINDS, WORKFLOWS } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { envelope, resetPassword, resetPasswordJob, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * Flow control where creations wait: the real dispatch path in workerd, real D1 (the shared
 * creation budget) and the real Workflows, with every createBatch call recorded in the order it
 * was made. The pacer lets this isolate create CREATION.perSecond a second, so a few hundred
 * bulk events make a queue of seconds that later work must pass or share.
 */
interface Created {
  ids: string[];
  at: number;
}

function recording(overrides: Partial<Env> = {}): { env: Env; created: Created[] } {
  const created: Created[] = [];
  const env = { ...testEnv, ...overrides } as Env;
  for (const kind of WORKFLOW_KINDS) {
    const binding = testEnv[WORKFLOWS[kind].binding];
    Object.assign(env, {
      [WORKFLOWS[kind].binding]: {
        get: (id: string) => binding.get(id),
        createBatch: (batch: { instances: { id: string }[] }) => {
          // When the call was made (its turn came), not when the local engine answered it.
          created.push({ ids: batch.instances.map((i) => i.id), at: Date.now() });
          return (binding.createBatch as unknown as (b: typeof batch) => Promise<unknown>)(batch);
        },
      } as unknown as Workflow,
    });
  }
  return { env, created };
}

const notification = (tenantId: string) => ({ ...VALID_PAYLOADS["notification/create"].payload, tenantId });

/** Dispatches a batch as a producer's request does, its creation left running in the background. */
async function send(env: Env, events: unknown[], background: Promise<unknown>[]) {
  const result = await dispatch(env, events, Date.now(), (work) => background.push(work));
  expect(result.ids).toHaveLength(events.length);
  return result.ids;
}

/**
 * Events scheduled a month ahead: their instances are created now and sleep, rather than a
 * thousand of them calling the shared test backend at once. Creation is what these tests watch.
 */
const later = () => new Date(Date.now() + 30 * 86_400_000).toISOString();
const batchOf = (n: number, name: string, payload: Record<string, unknown>, prefix: string) =>
  Array.from({ length: n }, () => ({ ...envelope(name, payload, uid(prefix)), scheduledAt: later() }));

/** When each id's instance was created, by the order of the createBatch calls. */
const createdAt = (created: Created[]) =>
  new Map(created.flatMap((c) => c.ids.map((id) => [id, c.at] as const)));

it("creates a one-time code before the campaign that was dispatched ahead of it", {
  timeout: 60_000,
}, async () => {
  const { env, created } = recording();
  const background: Promise<unknown>[] = [];
  const campaign: string[] = [];
  for (let i = 0; i < 4; i++)
    campaign.push(
      ...(await send(env, batchOf(100, "notification/create", notification("big"), "camp"), background)),
    );
  const sent = Date.now();
  const [otp] = await send(
    env,
    [{ ...envelope("email/reset-password", { ...resetPassword, tenantId: "small" }), scheduledAt: later() }],
    background,
  );
  await Promise.all(background);

  const at = createdAt(created);
  // Every event was created, the code within a pacer window of its dispatch.
  expect(campaign.every((id) => at.has(id))).toBe(true);
  const otpAt = at.get(otp as string) as number;
  expect(otpAt - sent).toBeLessThan(1_500);
  // The campaign's 400 need 400 / perSecond seconds: most of it was created after the code.
  const after = campaign.filter((id) => (at.get(id) as number) > otpAt).length;
  expect(after).toBeGreaterThanOrEqual(400 - 2 * CREATION.perSecond);
  // Nothing was released for the reconciler: every one was created (and may have run since).
  const rows = await loadEvents(testEnv.DB, [otp as string, ...campaign]);
  expect(rows.size).toBe(401);
  const states = new Set([...rows.values()].map((r) => `${r.state} ${r.dueAt}`));
  expect([...states].filter((s) => s !== "accepted null" && s !== "delivered null")).toEqual([]);
});

it("lets a small tenant's bulk events take turns with a big tenant's, whoever came first", {
  timeout: 60_000,
}, async () => {
  const { env, created } = recording();
  const background: Promise<unknown>[] = [];
  const big: string[] = [];
  for (let i = 0; i < 4; i++)
    big.push(
      ...(await send(env, batchOf(100, "notification/create", notification("big"), "big"), background)),
    );
  const smallSent = Date.now();
  const small = await send(
    env,
    batchOf(60, "notification/create", notification("small"), "small"),
    background,
  );
  await Promise.all(background);

  const at = createdAt(created);
  expect([...big, ...small].every((id) => at.has(id))).toBe(true);
  const smallDone = Math.max(...small.map((id) => at.get(id) as number));
  // Round robin: once the small tenant's request came, the big one had one turn at most before
  // the small one's 60 (one chunk) were created, however many of its 400 still waited.
  const bigMeanwhile = big.filter((id) => {
    const t = at.get(id) as number;
    return t > smallSent && t < smallDone;
  }).length;
  expect(bigMeanwhile).toBeLessThanOrEqual(CREATION.perSecond);
  expect(big.filter((id) => (at.get(id) as number) > smallDone).length).toBeGreaterThan(100);
});

it("runs an event the stack moved to the interactive class first", { timeout: 60_000 }, async () => {
  const { env, created } = recording({
    EVENT_PRIORITIES: JSON.stringify({ "notification/create": "interactive" }),
  });
  const background: Promise<unknown>[] = [];
  const cart = VALID_PAYLOADS["email/cart-recovery"].payload;
  const campaign: string[] = [];
  for (let i = 0; i < 3; i++)
    campaign.push(...(await send(env, batchOf(100, "email/cart-recovery", cart, "cart"), background)));
  const [moved] = await send(env, batchOf(1, "notification/create", notification("t"), "moved"), background);
  await Promise.all(background);
  const at = createdAt(created);
  const movedAt = at.get(moved as string) as number;
  expect(campaign.filter((id) => (at.get(id) as number) > movedAt).length).toBeGreaterThanOrEqual(
    300 - 2 * CREATION.perSecond,
  );
});

it("shows the backlog per class and for the busiest tenants", { timeout: 60_000 }, async () => {
  const { env } = recording();
  const before = await overview(env, Date.now());
  const background: Promise<unknown>[] = [];
  const tenant = uid("busy");
  await send(env, batchOf(30, "notification/create", notification(tenant), "busy"), background);
  await send(
    env,
    batchOf(3, "email/verification", { ...resetPassword, tenantId: tenant }, "code"),
    background,
  );
  await Promise.all(background);
  const after = await overview(env, Date.now());
  expect(after.backlog.byPriority.bulk - before.backlog.byPriority.bulk).toBe(30);
  expect(after.backlog.byPriority.interactive - before.backlog.byPriority.interactive).toBe(3);
  // Earlier tests of this file left bigger tenants; this one is among the ten, with its 33.
  expect(after.backlog.tenants).toContainEqual({ tenant, n: 33 });
  expect(after.backlog.tenants.length).toBeLessThanOrEqual(10);
});

it("says of an event waiting to be created that it is queued, and behind what", async () => {
  const otp = uid("queued_otp");
  const campaign = uid("queued_bulk");
  await storeEvent({ id: otp, job: resetPasswordJob(otp), state: "accepted" });
  await storeEvent({
    id: campaign,
    job: { ...resetPasswordJob(campaign), name: "email/cart-recovery" },
    state: "accepted",
  });
  const [interactive, bulk] = await Promise.all([eventStatus(testEnv, otp), eventStatus(testEnv, campaign)]);
  expect(interactive).toMatchObject({
    status: "queued",
    waiting: { reason: "queued", priority: "interactive" },
  });
  expect(interactive?.waiting?.detail).toMatch(/only other interactive work goes first/);
  expect(bulk).toMatchObject({ status: "queued", waiting: { reason: "queued", priority: "bulk" } });
  expect(bulk?.waiting?.detail).toMatch(/interactive work goes first, then tenants take turns/);
  // Once its instance exists it is no longer queued for creation.
  await testEnv.EMAIL_WORKFLOW.create({ id: otp, params: resetPasswordJob(otp) });
  expect((await eventStatus(testEnv, otp))?.waiting).toBeUndefined();
});
