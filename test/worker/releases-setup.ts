import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import worker from "../../worker/src/index.ts";
import { TEST_OPERATOR_TOKEN } from "../support/settings.ts";
import { request, testEnv, uid } from "./helpers.ts";

/**
 * What a release meets that another release wrote: events whose name left the catalog (or that
 * a newer release admitted), rows in states it does not know, messages in formats it does not
 * read. None of them may throw, loop for ever, or be acted on as something it is not.
 */

export const RETIRED = "email/retired-welcome";

export const DAY = 24 * 60 * 60 * 1000;

export const jobOf = (id: string, name: string) => ({
  id,
  name,
  payload: { email: "ann@example.com", otpCode: "123456" },
  traceId: `trace-${id}`,
  idempotencyKey: `key-${id}`,
  createdAt: new Date().toISOString(),
});

export const row = async (id: string) =>
  (await testEnv.DB.prepare(
    "SELECT state, last_error, create_attempts, remaining_steps FROM events WHERE id = ?1",
  )
    .bind(id)
    .first()) as { state: string; last_error: string; create_attempts: number; remaining_steps: string };

export const consoleSession = async () => {
  const response = await request("/console/sign-in", {
    method: "POST",
    token: null,
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://jobs.test" },
    body: new URLSearchParams({ token: TEST_OPERATOR_TOKEN }).toString(),
  });
  return (response.headers.get("set-cookie") ?? "").split(";")[0] as string;
};

export const consume = async (queue: string, body: unknown, attempts = 1) => {
  const batch = createMessageBatch(queue, [{ id: uid("msg"), timestamp: new Date(), attempts, body }]);
  await worker.queue(batch, testEnv);
  return getQueueResult(batch, createExecutionContext());
};
