/**
 * The wrapper worker that `npm run dev` (with PLATFORM_FAULTS), the drill and the fault tests run
 * as the main module in front of the real, unchanged bundle (`./worker.js`, a second module):
 * every handler and every Workflow class gets the env with its bindings wrapped by the fault
 * layer. The shipped bundle does not contain this file and nothing in it reads PLATFORM_FAULTS.
 */
import type { WorkflowEvent, WorkflowStep } from "cloudflare:workers";
import type { Env } from "../../src/env.ts";
import type { JobParams } from "../../src/events/job.ts";
import { WORKFLOWS } from "../../src/topology.ts";
import {
  PLATFORM_FAULTS_BINDING,
  PLATFORM_FAULTS_PATH,
  PlatformFaultsError,
  parsePlatformFaults,
} from "./config.ts";
import { PlatformFaultInjector } from "./inject.ts";
import type { UsageMeter } from "./meter.ts";
import * as real from "./worker.js";
import { wrapEnv } from "./wrap-env.ts";

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
    const wrapped = faulty(env);
    current(env).meter.request("fetch");
    return worker.fetch(request, wrapped, ctx);
  },
  queue(batch, env, ctx) {
    const wrapped = faulty(env);
    return worker.queue(metered(batch, current(env).meter), wrapped, ctx);
  },
  scheduled(controller, env, ctx) {
    const wrapped = faulty(env);
    current(env).meter.request("scheduled");
    return worker.scheduled(controller, wrapped, ctx);
  },
} satisfies ExportedHandler<WrapperEnv, unknown>;

/** The batch as delivered, counted: its messages received, and each retry asked for. */
function metered(batch: MessageBatch<unknown>, meter: UsageMeter): MessageBatch<unknown> {
  meter.request("queue");
  meter.received(batch.queue, batch.messages.length);
  const retry = <T extends { retry: (...args: never[]) => void }>(target: T, count: number): T =>
    new Proxy(target, {
      get(object, key) {
        const value: unknown = Reflect.get(object, key, object);
        if (key === "retry" || key === "retryAll")
          return (...args: unknown[]) => {
            meter.retried(count);
            return Reflect.apply(value as (...a: unknown[]) => void, object, args);
          };
        return typeof value === "function"
          ? (...args: unknown[]) => Reflect.apply(value as (...a: unknown[]) => unknown, object, args)
          : value;
      },
    });
  const messages = batch.messages.map((message) => retry(message, 1));
  return new Proxy(retry(batch as MessageBatch<unknown> & { retry: () => void }, batch.messages.length), {
    get: (object, key) => (key === "messages" ? messages : Reflect.get(object, key)),
  });
}

/** The engine's step, counted: each `do` callback that runs, whatever the step's outcome. */
function meteredStep(step: WorkflowStep, meter: UsageMeter): WorkflowStep {
  return new Proxy(step, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      // Never `value.bind`: on an RPC stub that names a remote method.
      if (key !== "do")
        return typeof value === "function"
          ? (...args: unknown[]) => Reflect.apply(value as (...a: unknown[]) => unknown, object, args)
          : value;
      return (...args: unknown[]) => {
        const callback = args.at(-1) as (...a: unknown[]) => unknown;
        args[args.length - 1] = (...a: unknown[]) => {
          meter.step();
          return callback(...a);
        };
        // Called on the step itself: it may be an RPC stub, whose `apply` would be a remote call.
        return (object.do as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
}

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
    readonly #meter: UsageMeter;
    constructor(ctx: ExecutionContext, env: WrapperEnv) {
      super(ctx, faulty(env));
      this.#meter = current(env).meter;
    }
    override run(event: WorkflowEvent<JobParams>, step: WorkflowStep) {
      this.#meter.run();
      return super.run(event, meteredStep(step, this.#meter));
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
/** The backend limiter, as it is: it holds no binding the faults wrap (it calls nothing). */
export const BackendLimiter = real.BackendLimiter;
