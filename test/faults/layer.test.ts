import { describe, expect, it } from "vitest";
import type { PlatformFaults } from "../../worker/local/faults/config.ts";
import { PlatformFaultInjector } from "../../worker/local/faults/inject.ts";
import { InjectedFaultError } from "../../worker/local/faults/parts.ts";
import { wrapEnv } from "../../worker/local/faults/wrap-env.ts";
import { WORKFLOWS } from "../../worker/src/topology.ts";
import { id, job, outcome, raw } from "./layer-setup.ts";

describe("the layer on the real bindings", () => {
  const wrapped = (faults: PlatformFaults) => {
    const injector = new PlatformFaultInjector(faults);
    return { injector, env: wrapEnv(raw, injector) };
  };

  it("wraps the Workflows, D1 and the queue producer, passes the rest through, and hides PLATFORM_FAULTS", () => {
    const { injector, env } = wrapped({});
    for (const { binding } of Object.values(WORKFLOWS)) expect(env[binding]).not.toBe(raw[binding]);
    expect(env.DB).not.toBe(raw.DB);
    expect(env.RECOVERY_QUEUE).not.toBe(raw.RECOVERY_QUEUE);
    expect(env.DISPATCH_RATE_LIMIT).toBe(raw.DISPATCH_RATE_LIMIT);
    expect(env.AUTH_TOKEN).toBe(raw.AUTH_TOKEN);
    expect("PLATFORM_FAULTS" in env).toBe(false);
    // The same env and bindings every time: D1 schema caches are keyed by the database object.
    expect(wrapEnv(raw, injector)).toBe(env);
    expect(wrapEnv({ ...raw }, injector).DB).toBe(env.DB);
  });

  it("fails every D1 statement and batch at rate 1, before anything runs; exec passes through", async () => {
    const { injector, env } = wrapped({ d1FailRate: 1 });
    const table = `faults_${Date.now().toString(36)}`;
    await env.DB.exec(`CREATE TABLE ${table} (v INTEGER)`);
    const insert = env.DB.prepare(`INSERT INTO ${table} (v) VALUES (?1)`).bind(1);
    for (const attempt of [
      () => insert.run(),
      () => env.DB.prepare("SELECT 1 AS one").first(),
      () => env.DB.prepare("SELECT 1 AS one").all(),
      () => env.DB.prepare("SELECT 1 AS one").raw(),
      () => env.DB.batch([insert, insert]),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InjectedFaultError);
      expect((error as Error).message).toBe("D1_ERROR: injected platform fault (d1FailRate)");
    }
    expect(await raw.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first("n")).toBe(0);
    expect(injector.stats.injected.d1).toBe(5);

    injector.configure({});
    // A batch of wrapped statements reaches D1 as the real ones.
    await env.DB.batch([insert, env.DB.prepare(`INSERT INTO ${table} (v) VALUES (?1)`).bind(2)]);
    expect(await env.DB.prepare(`SELECT sum(v) AS s FROM ${table}`).first("s")).toBe(3);
    expect(await env.DB.prepare("SELECT ?1 AS v").bind(7).raw()).toEqual([[7]]);
  });

  it("fails a D1 session's statements like the database's", async () => {
    const { env } = wrapped({ d1FailRate: 1 });
    const session = env.DB.withSession();
    await expect(session.prepare("SELECT 1").first()).rejects.toThrow(InjectedFaultError);
    await expect(session.batch([session.prepare("SELECT 1")])).rejects.toThrow(InjectedFaultError);
  });

  it("draws the same failures from the same seed, other failures from another", async () => {
    const sequence = async (seed: number) => {
      const { injector, env } = wrapped({ d1FailRate: 0.5, seed });
      const outcomes: string[] = [];
      for (let i = 0; i < 24; i++) outcomes.push(await outcome(env.DB.prepare("SELECT 1").first()));
      expect(injector.stats.injected.d1).toBe(outcomes.filter((o) => o === "fail").length);
      return outcomes.join(" ");
    };
    const seven = await sequence(7);
    expect(seven).toContain("ok");
    expect(seven).toContain("fail");
    expect(await sequence(7)).toBe(seven);
    expect(await sequence(8)).not.toBe(seven);
  });

  it("rejects creations past createRatePerSecond with a 429, creating nothing; every batch item counts", async () => {
    const { injector, env } = wrapped({ createRatePerSecond: 5 });
    const workflow = env.EMAIL_WORKFLOW;
    const instance = () => job();
    const first = instance();
    await workflow.createBatch({ instances: [first, instance(), instance()] });
    const refused = [instance(), instance(), instance()];
    const error = await workflow.createBatch({ instances: refused }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("429");
    expect((error as Error).message).toContain("Too many requests");
    // The call was refused whole (each probe of a missing instance logs a local engine error).
    await expect(raw.EMAIL_WORKFLOW.get(refused[0]?.id ?? "")).rejects.toThrow();

    await workflow.create(instance());
    await workflow.create(instance());
    await expect(workflow.create(instance())).rejects.toThrow(/429 Too many requests/);
    // `get` is never limited nor faulted.
    expect((await workflow.get(first.id)).id).toBe(first.id);
    expect(injector.stats).toMatchObject({
      instances: 5,
      peakCreationsPerSecond: 5,
      injected: { createRate: 2, createFail: 0 },
      calls: { create: 5 },
    });

    // The window slides: a second later there is room again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await workflow.create(instance());
    expect(injector.stats.instances).toBe(6);
  });

  it("fails create and createBatch at createFailRate 1 before anything is created", async () => {
    const { injector, env } = wrapped({ createFailRate: 1 });
    const one = job();
    await expect(env.PAYMENT_WORKFLOW.create(one)).rejects.toThrow(
      "Workflow create failed: injected platform fault (createFailRate)",
    );
    await expect(env.PAYMENT_WORKFLOW.createBatch({ instances: [one] })).rejects.toThrow(InjectedFaultError);
    await expect(raw.PAYMENT_WORKFLOW.get(one.id)).rejects.toThrow();
    expect(injector.stats).toMatchObject({ instances: 0, injected: { createFail: 2 } });
  });

  it("fails queue send and sendBatch at queueSendFailRate 1", async () => {
    const { injector, env } = wrapped({ queueSendFailRate: 1 });
    const body = { eventId: id("queue") };
    await expect(env.RECOVERY_QUEUE.send(body)).rejects.toThrow(
      "Queue send failed: injected platform fault (queueSendFailRate)",
    );
    await expect(env.RECOVERY_QUEUE.sendBatch([{ body }])).rejects.toThrow(InjectedFaultError);
    expect(injector.stats).toMatchObject({ calls: { queueSend: 2 }, injected: { queueSend: 2 } });
  });

  it("commits every D1 statement and batch at d1LostAnswerRate 1, then throws as if the answer were lost", async () => {
    const { injector, env } = wrapped({ d1LostAnswerRate: 1 });
    const table = `lost_${Date.now().toString(36)}`;
    await env.DB.exec(`CREATE TABLE ${table} (v INTEGER)`);
    const insert = (v: number) => env.DB.prepare(`INSERT INTO ${table} (v) VALUES (?1)`).bind(v);
    await expect(insert(1).run()).rejects.toThrow(
      "D1_ERROR: network connection lost after the call took effect; injected platform fault (d1LostAnswerRate)",
    );
    await expect(env.DB.batch([insert(2), insert(4)])).rejects.toThrow(InjectedFaultError);
    // Every write took effect although each caller was told it failed.
    expect(await raw.DB.prepare(`SELECT sum(v) AS s FROM ${table}`).first("s")).toBe(7);
    expect(injector.stats.injected).toMatchObject({ d1: 0, d1Lost: 2 });
  });

  it("creates the instances at createLostAnswerRate 1, then throws", async () => {
    const { injector, env } = wrapped({ createLostAnswerRate: 1 });
    const one = job();
    const two = job();
    await expect(env.EMAIL_WORKFLOW.createBatch({ instances: [one] })).rejects.toThrow(
      /^Workflow createBatch: network connection lost after the call took effect/,
    );
    await expect(env.EMAIL_WORKFLOW.create(two)).rejects.toThrow(InjectedFaultError);
    expect((await raw.EMAIL_WORKFLOW.get(one.id)).id).toBe(one.id);
    expect((await raw.EMAIL_WORKFLOW.get(two.id)).id).toBe(two.id);
    expect(injector.stats).toMatchObject({ instances: 2, injected: { createFail: 0, createLost: 2 } });
  });

  it("sends at queueSendLostAnswerRate 1, then throws; a before-effect failure draws no after-effect one", async () => {
    const { injector, env } = wrapped({ queueSendLostAnswerRate: 1 });
    await expect(env.RECOVERY_QUEUE.send({ eventId: id("lost") })).rejects.toThrow(
      /^Queue send: network connection lost after the call took effect/,
    );
    expect(injector.stats.injected).toMatchObject({ queueSend: 0, queueSendLost: 1 });
    injector.configure({ queueSendFailRate: 1, queueSendLostAnswerRate: 1 });
    await expect(env.RECOVERY_QUEUE.sendBatch([{ body: { eventId: id("lost") } }])).rejects.toThrow(
      "Queue sendBatch failed: injected platform fault (queueSendFailRate)",
    );
    expect(injector.stats.injected).toMatchObject({ queueSend: 1, queueSendLost: 0 });
  });
});
