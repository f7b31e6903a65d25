import type { Env } from "../env.ts";

/** How long a console sign-in lasts. */
export const SESSION_MS = 8 * 60 * 60 * 1000;

const encoder = new TextEncoder();
const base64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/**
 * Sessions are signed with a key derived from the operator token (the current one; the next
 * during a rotation): nothing to store, and removing a token ends every session it signed.
 */
async function keyOf(token: string): Promise<CryptoKey> {
  const material = await crypto.subtle.digest("SHA-256", encoder.encode(`console-session\n${token}`));
  return crypto.subtle.importKey("raw", material, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function mac(token: string, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", await keyOf(token), encoder.encode(text)));
}

const operatorTokens = (env: Env) =>
  [env.OPERATOR_TOKEN, env.OPERATOR_TOKEN_NEXT].filter((t): t is string => Boolean(t));

export interface Session {
  /** Random per sign-in: what the CSRF token is bound to. */
  nonce: string;
  expiresAt: number;
  /** The form token every state-changing request must carry. */
  csrf: string;
}

/** A new session's cookie value, signed with the current operator token. */
export async function openSession(env: Env, now: number): Promise<string> {
  const [token] = operatorTokens(env);
  if (!token) throw new Error("No operator token is configured");
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(18)));
  const body = `${now + SESSION_MS}.${nonce}`;
  return `${body}.${await mac(token, body)}`;
}

/** The session a cookie value proves, or undefined (unsigned, forged, expired, or its token gone). */
export async function readSession(
  env: Env,
  value: string | undefined,
  now: number,
): Promise<Session | undefined> {
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/.exec(value ?? "");
  if (!match) return undefined;
  const [, expires, nonce, signature] = match as unknown as [string, string, string, string];
  if (Number(expires) <= now) return undefined;
  for (const token of operatorTokens(env)) {
    const expected = await mac(token, `${expires}.${nonce}`);
    if (constantTimeEqual(expected, signature)) {
      return { nonce, expiresAt: Number(expires), csrf: await mac(token, `csrf.${nonce}`) };
    }
  }
  return undefined;
}

/** Equal strings, compared without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}
