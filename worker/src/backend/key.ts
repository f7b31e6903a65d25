/**
 * The Idempotency-Key of one backend step: the same on every attempt, on every release and in
 * the recovery tier, so the backend can match a retry to the call it already performed. Part of
 * the release contract: changing it makes every retry of work in flight look new.
 */
export const idempotencyKeyOf = (eventId: string, step: string) => `${eventId}:${step}`;
