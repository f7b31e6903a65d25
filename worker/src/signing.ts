/**
 * Signed backend callbacks. Import-free and WebCrypto-only, so the same file signs in the worker
 * and verifies in a backend on Node, Bun or Workers.
 *
 * Header:  X-Jobs-Signature: t=<unix seconds>,n=<nonce>,v1=<hex HMAC-SHA256>
 * Signed:  "v1", t, n, METHOD, path, event id, Idempotency-Key, x-tenant-id (or empty), and the
 *          hex SHA-256 of the body, joined by "\n"
 *
 * The path is the request's URL path as sent (no query). Binding the method, path, the ids the
 * backend deduplicates on, the tenant and the body's digest means a captured signature cannot be
 * moved to another request, key or tenant. The nonce is new for every attempt, so a legitimate
 * retry is never mistaken for a replay.
 */
export const SIGNATURE_HEADER = "x-jobs-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface SignedRequest {
  method: string;
  path: string;
  eventId: string;
  idempotencyKey: string;
  /** The x-tenant-id header as sent; absent when the request has none. */
  tenantId?: string | null;
  body: string | Uint8Array;
}

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

async function signedText(timestamp: number, nonce: string, request: SignedRequest): Promise<string> {
  const digest = hex(await crypto.subtle.digest("SHA-256", bytes(request.body) as Uint8Array<ArrayBuffer>));
  const fields = [
    String(timestamp),
    nonce,
    request.method.toUpperCase(),
    request.path,
    request.eventId,
    request.idempotencyKey,
    request.tenantId ?? "",
    digest,
  ];
  return ["v1", ...fields].join("\n");
}

function hmacKey(secret: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}

/** The header value for a request signed with `secret` at `timestamp` (unix seconds). */
export async function sign(
  secret: string,
  timestamp: number,
  request: SignedRequest,
  nonce: string = hex(crypto.getRandomValues(new Uint8Array(16)).buffer),
): Promise<string> {
  const key = await hmacKey(secret, "sign");
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(await signedText(timestamp, nonce, request)),
  );
  return `t=${timestamp},n=${nonce},v1=${hex(mac)}`;
}

/** Remembers signatures seen inside the tolerance window, so a captured request cannot be replayed. */
export interface ReplayGuard {
  /** True the first time a signature is offered, false on every repeat. */
  firstSeen(signature: string, timestamp: number, now: number): boolean;
}

/** An in-memory guard for one process; a fleet of verifiers needs a shared store with the same contract. */
export function memoryReplayGuard(toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): ReplayGuard {
  const seen = new Map<string, number>();
  return {
    firstSeen(signature, timestamp, now) {
      for (const [key, at] of seen) if (at < now - toleranceSeconds) seen.delete(key);
      if (seen.has(signature)) return false;
      seen.set(signature, timestamp);
      return true;
    },
  };
}

export type Verification =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" | "replayed" };

export interface VerifyOptions {
  /** Current and next secrets: during a rotation both are accepted. */
  secrets: readonly string[];
  /** Unix seconds; defaults to now. */
  now?: number;
  toleranceSeconds?: number;
  replayGuard?: ReplayGuard;
}

/** Checks a signature header against the request it came with. Comparison is constant-time (HMAC verify). */
export async function verify(
  header: string | null | undefined,
  request: SignedRequest,
  options: VerifyOptions,
): Promise<Verification> {
  if (!header) return { ok: false, reason: "missing" };
  const match = /^t=(\d{1,12}),n=([0-9a-f]{16,64}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!match) return { ok: false, reason: "malformed" };
  const [, t, nonce, signature] = match as unknown as [string, string, string, string];
  const timestamp = Number(t);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: "expired" };

  const mac = new Uint8Array(signature.match(/../g)?.map((pair) => Number.parseInt(pair, 16)) ?? []);
  const text = encoder.encode(await signedText(timestamp, nonce, request));
  let valid = false;
  for (const secret of options.secrets.filter(Boolean)) {
    // Every configured key is tried, so timing does not tell which one matched.
    const matched = await crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), mac, text);
    valid ||= matched;
  }
  if (!valid) return { ok: false, reason: "mismatch" };
  if (options.replayGuard && !options.replayGuard.firstSeen(signature, timestamp, now)) {
    return { ok: false, reason: "replayed" };
  }
  return { ok: true, timestamp };
}
