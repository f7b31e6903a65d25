import { LIMITS } from "../topology.ts";

/**
 * How deeply a parsed JSON value nests, counted without recursion (a hostile body must not be
 * able to exhaust the stack) and giving up as soon as it passes `limit`.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A payload an event may carry: bounded in depth and in size, or the reason it is not. */
export function payloadProblem(payload: unknown): string | undefined {
  if (nestsDeeperThan(payload, LIMITS.payloadDepth)) return `nests deeper than ${LIMITS.payloadDepth} levels`;
  const size = new TextEncoder().encode(JSON.stringify(payload)).byteLength;
  if (size > LIMITS.payloadBytes) return `is ${size} bytes, more than ${LIMITS.payloadBytes}`;
  return undefined;
}

/** Text from elsewhere (a backend, the platform) is kept short and on one line: it ends up in errors, statuses and logs. */
export function bounded(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > LIMITS.errorTextLength ? `${flat.slice(0, LIMITS.errorTextLength)}…` : flat;
}
