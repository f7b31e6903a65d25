import { ensureSchema } from "./schema.ts";

/**
 * Dispatch receipts make re-sends idempotent across isolates and in local dev, where the
 * Workflows engine accepts duplicate instance ids. A receipt is claimed before the instance
 * is created and marked `created` after; a claim left `pending` past the lease (a crash
 * between the two) can be taken over by the next re-send, so no event is stranded.
 */
export const CLAIM_LEASE_MS = 60_000;

export interface ReceiptRequest {
  id: string;
  digest: string;
  name: string;
  scheduled: boolean;
}

export type Claim =
  /** This request owns creation of the instance. */
  | { kind: "owned" }
  /** Same id, same content: already dispatched. */
  | { kind: "duplicate"; scheduled: boolean }
  /**
   * Same id, same content, but another request is creating it right now. Not a success yet:
   * that request may still fail, so this re-send is told to retry rather than told "queued".
   */
  | { kind: "in-flight" }
  | { kind: "conflict" };

interface ReceiptRow {
  id: string;
  digest: string;
  status: "pending" | "created";
  scheduled: number;
}

/** Claims every receipt in one round trip and says, per id, who creates the instance. */
export async function claimReceipts(
  db: D1Database,
  requests: readonly ReceiptRequest[],
  now: number,
): Promise<Map<string, Claim>> {
  if (requests.length === 0) return new Map();
  await ensureSchema(db);
  const claim = db.prepare(
    `INSERT INTO dispatch_receipts (id, digest, name, status, scheduled, claimed_at, created_at)
     VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?5)
     ON CONFLICT (id) DO UPDATE SET claimed_at = excluded.claimed_at
       WHERE dispatch_receipts.status = 'pending'
         AND dispatch_receipts.digest = excluded.digest
         AND dispatch_receipts.claimed_at < ?6
     RETURNING id`,
  );
  const existing = db.prepare(
    "SELECT id, digest, status, scheduled FROM dispatch_receipts WHERE id IN (SELECT value FROM json_each(?1))",
  );
  const results = await db.batch<{ id: string } | ReceiptRow>([
    ...requests.map((r) =>
      claim.bind(r.id, r.digest, r.name, r.scheduled ? 1 : 0, now, now - CLAIM_LEASE_MS),
    ),
    existing.bind(JSON.stringify(requests.map((r) => r.id))),
  ]);

  const rows = new Map(((results.at(-1)?.results ?? []) as ReceiptRow[]).map((row) => [row.id, row]));
  const claims = new Map<string, Claim>();
  requests.forEach((request, index) => {
    const row = rows.get(request.id);
    if ((results[index]?.results.length ?? 0) > 0) claims.set(request.id, { kind: "owned" });
    else if (row?.digest !== request.digest) claims.set(request.id, { kind: "conflict" });
    else if (row.status === "pending") claims.set(request.id, { kind: "in-flight" });
    else claims.set(request.id, { kind: "duplicate", scheduled: row.scheduled === 1 });
  });
  return claims;
}

/** Settles owned claims: created instances keep their receipt, failed ones free it for a retry. */
export async function settleReceipts(
  db: D1Database,
  created: readonly string[],
  failed: readonly string[],
): Promise<void> {
  const statements = [];
  if (created.length > 0) {
    statements.push(
      db
        .prepare(
          "UPDATE dispatch_receipts SET status = 'created' WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(JSON.stringify(created)),
    );
  }
  if (failed.length > 0) {
    statements.push(
      db
        .prepare(
          "DELETE FROM dispatch_receipts WHERE status = 'pending' AND id IN (SELECT value FROM json_each(?1))",
        )
        .bind(JSON.stringify(failed)),
    );
  }
  if (statements.length > 0) await db.batch(statements);
}

/** The event name a receipt recorded, for status look-ups that do not say it. */
export async function receiptName(db: D1Database, id: string): Promise<string | undefined> {
  await ensureSchema(db);
  const row = await db
    .prepare("SELECT name FROM dispatch_receipts WHERE id = ?1")
    .bind(id)
    .first<{ name: string }>();
  return row?.name;
}
