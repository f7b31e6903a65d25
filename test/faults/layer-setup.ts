import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { PLATFORM_FAULTS_PATH, type PlatformFaults } from "../../worker/local/faults/config.ts";
import type { PlatformFaultsState } from "../../worker/local/faults/control.ts";
import type { Env } from "../../worker/src/env.ts";
import { TEST_AUTH_TOKEN } from "../support/settings.ts";

/**
 * The fault layer in workerd, on the real local bindings: through the wrapper worker this
 * project runs as main (its control route, routes that do or do not read D1), and directly on
 * `env`, the unwrapped bindings. Nothing here depends on what /dispatch does.
 */
export const raw = env as unknown as Env & { PLATFORM_FAULTS?: string };

export const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`https://jobs.test${path}`, init));

export const authed = (path: string) =>
  call(path, { headers: { authorization: `Bearer ${TEST_AUTH_TOKEN}` } });

export async function control(faults?: PlatformFaults | string): Promise<PlatformFaultsState> {
  const response =
    faults === undefined
      ? await call(PLATFORM_FAULTS_PATH)
      : await call(PLATFORM_FAULTS_PATH, {
          method: "POST",
          body: typeof faults === "string" ? faults : JSON.stringify(faults),
        });
  expect(response.status).toBe(200);
  return response.json();
}

/** A fresh id per call: instances persist for the whole run. */
export let counter = 0;

export const id = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${++counter}`;

/** Instance params of a valid event: with the backend answering 200, the instance just completes. */
export const job = (eventId = id("job")) => ({
  id: eventId,
  params: {
    id: eventId,
    name: "email/verification" as const,
    payload: { email: "ann@example.com", otpCode: "1" },
    traceId: eventId,
    idempotencyKey: eventId,
    createdAt: new Date().toISOString(),
  },
});

/** Settles a promise into "ok" or "fail", for comparing sequences of outcomes. */
export const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    () => "fail",
  );
