import { DATABASE, QUEUES, WORKFLOWS } from "../../src/topology.ts";
import { PLATFORM_FAULTS_BINDING } from "./config.ts";
import type { PlatformFaultInjector } from "./inject.ts";

const WORKFLOW_BINDINGS = Object.values(WORKFLOWS).map((w) => w.binding);
const envs = new WeakMap<object, { injector: PlatformFaultInjector; env: object }>();

/**
 * The env the worker sees under faults: its Workflow bindings, `DB` and `RECOVERY_QUEUE`
 * wrapped, everything else as given, and without `PLATFORM_FAULTS` (the worker never reads it).
 * The same env gives the same object back.
 */
export function wrapEnv<E extends object>(env: E, injector: PlatformFaultInjector): E {
  let wrapped = envs.get(env);
  if (wrapped?.injector === injector) return wrapped.env as E;
  const bindings = { ...(env as unknown as Record<string, unknown>) };
  delete bindings[PLATFORM_FAULTS_BINDING];
  const wrap = (name: string, how: (binding: object) => object) => {
    const binding = bindings[name];
    if (typeof binding === "object" && binding !== null) bindings[name] = how(binding);
  };
  for (const name of WORKFLOW_BINDINGS) wrap(name, (b) => injector.workflow(b));
  wrap(DATABASE.binding, (b) => injector.database(b));
  wrap(QUEUES.recovery.binding, (b) => injector.queue(b));
  wrapped = { injector, env: bindings };
  envs.set(env, wrapped);
  return bindings as E;
}
