/**
 * The wrapper worker that `npm run dev` (with PLATFORM_FAULTS), the drill and the fault tests run
 * as the main module in front of the real, unchanged bundle (`./worker.js`, a second module):
 * every handler and every Workflow class gets the env with its bindings wrapped by the fault
 * layer. The shipped bundle does not contain this file and nothing in it reads PLATFORM_FAULTS.
 */
import type { Env } from "../../src/env.ts";
import { WORKFLOWS } from "../../src/topology.ts";
import {
  PLATFORM_FAULTS_BINDING,
  PLATFORM_FAULTS_PATH,
  PlatformFaultsError,
  parsePlatformFaults,
} from "./config.ts";
import { PlatformFaultInjector, wrapEnv } from "./inject.ts";
import * as real from "./worker.js";

type WrapperEnv = Env & { [PLATFORM_FAULTS_BINDING]?: string };

/** The real handlers, typed as the platform calls them (with ctx, which the worker may ignore). */
const worker: Required<Pick<ExportedHandler<Env, unknown>, "fetch" | "queue" | "scheduled">> = real.default;

/** One per isolate: the fetch handler, the queue consumer and every Workflow instance share it. */
let injector: PlatformFaultInjector | undefined;

/** Faults come from the binding on first use, until the control route replaces them. */
const current = (env: WrapperEnv) =>
  (injector ??= new PlatformFaultInjector(parsePlatformFaults(env[PLATFORM_FAULTS_BINDING])));
const faulty = (env: WrapperEnv): Env => wrapEnv(env, current(env));

async function control(request: Request, env: WrapperEnv): Promise<Response> {
  if (request.method === "POST") {
    try {
      const faults = parsePlatformFaults(await request.text());
      if (injector) injector.configure(faults);
      else injector = new PlatformFaultInjector(faults);
    } catch (error) {
      if (error instanceof PlatformFaultsError)
        return Response.json({ error: error.message }, { status: 400 });
      throw error;
    }
  } else if (request.method !== "GET") {
    return Response.json({ error: "Method not allowed" }, { status: 405, headers: { allow: "GET, POST" } });
  }
  return Response.json(current(env).snapshot());
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === PLATFORM_FAULTS_PATH) return control(request, env);
    return worker.fetch(request, faulty(env), ctx);
  },
  queue: (batch, env, ctx) => worker.queue(batch, faulty(env), ctx),
  scheduled: (controller, env, ctx) => worker.scheduled(controller, faulty(env), ctx),
} satisfies ExportedHandler<WrapperEnv, unknown>;

type JobWorkflowClass = typeof real.EmailWorkflow;
type ClassName = (typeof WORKFLOWS)[keyof typeof WORKFLOWS]["className"];

/** The real classes by name: a class WORKFLOWS names and the bundle lacks fails to compile. */
const REAL_CLASSES: Record<ClassName, JobWorkflowClass> = {
  EmailWorkflow: real.EmailWorkflow,
  NotificationWorkflow: real.NotificationWorkflow,
  PaymentWorkflow: real.PaymentWorkflow,
  WhatsappWorkflow: real.WhatsappWorkflow,
};

/** The real class under the same export name, constructed with the wrapped env. */
function withFaults(className: ClassName): JobWorkflowClass {
  const Real = REAL_CLASSES[className];
  const Faulty = class extends Real {
    constructor(ctx: ExecutionContext, env: WrapperEnv) {
      super(ctx, faulty(env));
    }
  };
  Object.defineProperty(Faulty, "name", { value: className });
  return Faulty;
}

// Export names must be static; the build checks them against WORKFLOWS.
export const EmailWorkflow = withFaults(WORKFLOWS.email.className);
export const NotificationWorkflow = withFaults(WORKFLOWS.notification.className);
export const PaymentWorkflow = withFaults(WORKFLOWS.payment.className);
export const WhatsappWorkflow = withFaults(WORKFLOWS.whatsapp.className);
