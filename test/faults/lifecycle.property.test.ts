import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, expect, it } from "vitest";
import type { Call } from "../../worker/local/backend-api.ts";
import { PLATFORM_FAULTS_PATH, type PlatformFaults } from "../../worker/local/faults/config.ts";
import { stepsOf } from "../../worker/src/events/catalog.ts";
import { CREATION, RECONCILER } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { backend, envelope, operator, request, testEnv, uid } from "../worker/helpers.ts";

/**
 * The lifecycle's promises under random interleavings of dispatch, cancel, replay, reconciler
 * runs and platform faults (before and after their effect), in workerd behind the fault layer:
 * - every accepted event ends delivered, dead or cancelled;
 * - no backend step starts after a cancel was acknowledged (one whose look at the row came just
 *   before the cancel may still reach the backend a moment later: the step was under way);
 * - every call carries its event's own key, `<id>:<step>`, for one of its steps;
 * - /status never contradicts the row.
 */
const RUNS = Number(process.env.LIFECYCLE_RUNS ?? 12);
/** How long after a cancel's answer a step that was already under way may still arrive. */
const UNDER_WAY_MS = 250;

type Kind = "one-step" | "payout" | "delayed";
const NAMES = {
  "one-step": "email/reset-password",
  payout: "payment/process-payout",
  delayed: "email/cart-recovery",
} as const;
type Backend = "ok" | "503" | "422";

interface Planned {
  kind: Kind;
  backend: Backend;
}
type Action =
  | { type: "dispatch"; events: number[] }
  | { type: "cancel"; event: number }
  /** A producer that cancels as soon as it dispatched: the cancel meets the instance's creation. */
  | { type: "dispatch-and-cancel"; event: number }
  | { type: "replay"; event: number }
  | { type: "reconcile" }
  | { type: "faults"; faults: PlatformFaults }
  | { type: "wait"; ms: number };

const rate = fc.constantFrom(0, 0, 0.1, 0.3);
const faultsArb: fc.Arbitrary<PlatformFaults> = fc.record({
  createFailRate: rate,
  createLostAnswerRate: rate,
  d1FailRate: fc.constantFrom(0, 0, 0.05),
  d1LostAnswerRate: fc.constantFrom(0, 0, 0.05),
  queueSendFailRate: rate,
  queueSendLostAnswerRate: rate,
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const scenario = fc
  .array(
    fc.record({
      kind: fc.constantFrom<Kind>("one-step", "payout", "delayed"),
      backend: fc.constantFrom<Backend>("ok", "ok", "503", "422"),
    }),
    { minLength: 2, maxLength: 5 },
  )
  .chain((events) => {
    const index = fc.integer({ min: 0, max: events.length - 1 });
    const action: fc.Arbitrary<Action> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .uniqueArray(index, { minLength: 1, maxLength: events.length })
          .map((e) => ({ type: "dispatch" as const, events: e })),
      },
      { weight: 3, arbitrary: index.map((event) => ({ type: "cancel" as const, event })) },
      { weight: 2, arbitrary: index.map((event) => ({ type: "dispatch-and-cancel" as const, event })) },
      { weight: 1, arbitrary: index.map((event) => ({ type: "replay" as const, event })) },
      { weight: 2, arbitrary: fc.constant({ type: "reconcile" as const }) },
      { weight: 2, arbitrary: faultsArb.map((faults) => ({ type: "faults" as const, faults })) },
      {
        weight: 2,
        arbitrary: fc.integer({ min: 10, max: 400 }).map((ms) => ({ type: "wait" as const, ms })),
      },
    );
    return fc.record({
      events: fc.constant(events as Planned[]),
      actions: fc.array(action, { minLength: 3, maxLength: 12 }),
    });
  });

async function setFaults(faults: PlatformFaults) {
  const response = await exports.default.fetch(
    new Request(`https://jobs.test${PLATFORM_FAULTS_PATH}`, { method: "POST", body: JSON.stringify(faults) }),
  );
  expect(response.status).toBe(200);
}

async function reconcile() {
  const worker = exports.default as unknown as {
    scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
  };
  await worker.scheduled({ cron: RECONCILER.cron, scheduledTime: new Date() }).catch(() => undefined);
}

const rowOf = (id: string) =>
  testEnv.DB.prepare("SELECT state FROM events WHERE id = ?1").bind(id).first<{ state: string }>();

const FINAL = new Set(["delivered", "dead", "cancelled"]);
const SAYS: Record<string, string> = { delivered: "complete", dead: "dead", cancelled: "cancelled" };

afterEach(() => setFaults({}));

it("keeps the lifecycle's promises under random interleavings and faults", { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ events: planned, actions }) => {
      await setFaults({});
      const events = planned.map((p) => {
        const item = envelope(
          NAMES[p.kind],
          VALID_PAYLOADS[NAMES[p.kind]].payload,
          uid(`prop_${p.kind.replace("-", "_")}`),
        );
        return {
          ...p,
          item:
            p.kind === "delayed" ? { ...item, scheduledAt: new Date(Date.now() + 600).toISOString() } : item,
        };
      });
      for (const e of events) {
        if (e.backend === "503") await backend.fault({ eventId: e.item.id, status: 503, count: 2 });
        if (e.backend === "422") await backend.fault({ eventId: e.item.id, status: 422, count: 1 });
      }
      const accepted = new Set<string>();
      const cancelAcked = new Map<string, number>();
      const cancel = async (id: string) => {
        const response = await request(`/events/${id}/cancel`, { method: "POST" });
        const body = response.ok ? ((await response.json()) as { status?: string }) : undefined;
        if (body?.status === "cancelled" && !cancelAcked.has(id)) cancelAcked.set(id, Date.now());
      };

      for (const action of actions) {
        switch (action.type) {
          case "dispatch": {
            const response = await request("/dispatch", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ events: action.events.map((i) => events[i]?.item) }),
            });
            if (response.ok)
              for (const id of ((await response.json()) as { ids: string[] }).ids) accepted.add(id);
            else await response.body?.cancel();
            break;
          }
          case "cancel":
            await cancel(events[action.event]?.item.id as string);
            break;
          case "dispatch-and-cancel": {
            // The cancel races the creation the dispatch started: sent as soon as it is accepted.
            const item = events[action.event]?.item;
            const response = await request("/dispatch", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ events: [item] }),
            });
            if (response.ok)
              for (const id of ((await response.json()) as { ids: string[] }).ids) accepted.add(id);
            else await response.body?.cancel();
            await cancel(item?.id as string);
            break;
          }
          case "replay": {
            const id = events[action.event]?.item.id as string;
            await (await operator(`/failed-events/${id}/replay`, { method: "POST" })).body?.cancel();
            break;
          }
          case "reconcile":
            await reconcile();
            break;
          case "faults":
            await setFaults(action.faults);
            break;
          case "wait":
            await new Promise((r) => setTimeout(r, action.ms));
            break;
        }
      }

      // Faults end; time passes (whatever is scheduled to be looked at comes due: a row nothing
      // is scheduled for stays as it is); every recorded event settles, those whose dispatch was
      // answered with an error but recorded all the same included.
      await setFaults({});
      const recorded = new Set(accepted);
      for (const e of events) if (await rowOf(e.item.id)) recorded.add(e.item.id);
      const ids = [...recorded];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const states = await Promise.all(ids.map(async (id) => (await rowOf(id))?.state));
        if (states.every((s) => s !== undefined && FINAL.has(s))) break;
        await testEnv.DB.batch([
          testEnv.DB.prepare(
            "UPDATE events SET due_at = 0 WHERE due_at IS NOT NULL AND id IN (SELECT value FROM json_each(?1))",
          ).bind(JSON.stringify(ids)),
          // Every row a creation claim older: the creation tail passes what it would by then.
          testEnv.DB.prepare("UPDATE events SET created_at = created_at - ?1").bind(CREATION.claimMs),
        ]);
        await reconcile();
        await new Promise((r) => setTimeout(r, 200));
      }

      for (const e of events) {
        const id = e.item.id;
        const calls: Call[] = await backend.calls(id);
        // Every call under the event's own key, for one of its steps.
        const steps = stepsOf(e.item.name as (typeof NAMES)[Kind]) as readonly string[];
        for (const call of calls) {
          expect(steps).toContain(call.path);
          expect(call.idempotencyKey).toBe(`${id}:${call.path}`);
        }
        if (!recorded.has(id)) {
          // Never recorded (every dispatch of it failed whole): nothing of it may run.
          expect(calls).toEqual([]);
          continue;
        }
        const row = await rowOf(id);
        expect(FINAL, `${id} ended ${row?.state}`).toContain(row?.state);
        const acked = cancelAcked.get(id);
        if (acked !== undefined) {
          expect(row?.state).toBe("cancelled");
          const late = calls.filter((c) => c.at > acked + UNDER_WAY_MS);
          expect(late, `${id}: steps started after its cancel was acknowledged`).toEqual([]);
        }
        const status = (await (await request(`/status/${id}`)).json()) as {
          status: string;
          output?: { status?: string };
        };
        expect(status.status).toBe(SAYS[row?.state as string]);
        if (status.status !== "complete") expect(status.output?.status).not.toBe("delivered");
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
});
