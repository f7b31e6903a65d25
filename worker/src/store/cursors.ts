/**
 * Walks over `events` in the order rows were written (rowid), each remembering how far it got in
 * the `cursors` table: how the worker finds rows that no index holds. An index entry is a row
 * written on every insert and every update that moves it; a walk reads each row once, at the
 * time it is due, and writes nothing for a row it has no work for.
 *
 * - `creation`: rows whose dispatch's own creation claim has ended (store/claims.ts): an event
 *   still accepted then gets a claim, a delivered one has its calls counted.
 * - `retention`: settled rows old enough to forget their payload (store/retention.ts).
 * - `tombstones`: compacted rows old enough to delete.
 *
 * Row ids only grow (retention never deletes the newest row, so SQLite never reuses an id), so
 * a row written after a walk passed is always ahead of it.
 */
export const CURSORS = ["creation", "retention", "tombstones"] as const;
export type CursorName = (typeof CURSORS)[number];

/** A row as a walk reads it: its rowid as `seq`, and the columns the walk decides on. */
export interface WalkedRow {
  seq: number;
  created_at: number;
}

/** The rows a move covers (`from` < rowid ≤ `to`), and the run's token for its statements. */
export interface Span {
  from: number;
  to: number;
  token: number;
}

/** `cursor` is where the named walk stands now: true only inside the batch of the move that holds `token`. */
export const holds = (name: CursorName, token: number) =>
  `EXISTS (SELECT 1 FROM cursors WHERE name = '${name}' AND token = ${Math.trunc(token)})`;

/** `rowid` has been passed by the named walk: a row its walk can no longer come to. */
export const passedBy = (name: CursorName, rowid = "rowid") =>
  `${rowid} <= (SELECT position FROM cursors WHERE name = '${name}')`;

/** A random token per move: two overlapping runs never share one. */
const newToken = () => {
  const [high = 0, low = 0] = crypto.getRandomValues(new Uint32Array(2));
  return (high & 0x1fffff) * 2 ** 32 + low;
};

/**
 * One step of a walk: reads up to `chunk` rows after the cursor, passes the leading ones `ready`
 * accepts (stopping at the first it does not: rows are in the order they were written, so what
 * follows is no older), and runs `act`'s statements for them in one batch with the cursor's move.
 * The move is a compare-and-set on the position read: if another run moved it first, the batch's
 * statements (each guarded by `holds`) do nothing. Returns the results of `act`'s statements,
 * how many rows were passed, and whether the walk stopped short (nothing more is ready now).
 */
export async function walkStep<R extends WalkedRow>(
  db: D1Database,
  name: CursorName,
  columns: string,
  chunk: number,
  ready: (row: R) => boolean,
  act: (span: Span) => D1PreparedStatement[],
  now: number,
): Promise<{ results: D1Result[]; passed: number; done: boolean }> {
  const cursor = await db
    .prepare("SELECT position FROM cursors WHERE name = ?1")
    .bind(name)
    .first<{ position: number }>();
  const from = cursor?.position ?? 0;
  const read = (limit: number) =>
    db
      .prepare(
        `SELECT rowid AS seq, created_at, ${columns} FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`,
      )
      .bind(from, limit)
      .all<R>();
  // The next row first: most runs find it not ready yet, and then read one row, not a chunk.
  const { results: next } = await read(1);
  if (next[0] === undefined || !ready(next[0])) return { results: [], passed: 0, done: true };
  const { results: rows } = chunk === 1 ? { results: next } : await read(chunk);
  const stop = rows.findIndex((row) => !ready(row));
  const passed = stop === -1 ? rows : rows.slice(0, stop);
  const done = stop !== -1 || rows.length < chunk;
  const last = passed.at(-1);
  if (last === undefined) return { results: [], passed: 0, done: true };
  const span = { from, to: last.seq, token: newToken() };
  const [, ...results] = await db.batch([
    db
      .prepare(
        "UPDATE cursors SET position = ?2, token = ?3, updated_at = ?4 WHERE name = ?1 AND position = ?5",
      )
      .bind(name, span.to, span.token, now, from),
    ...act(span),
  ]);
  return { results, passed: passed.length, done };
}

/**
 * Walks on until nothing more is ready, or `maxRows` rows have been passed: `walkStep` over
 * and over. Returns each step's results, in order.
 */
export async function walk<R extends WalkedRow>(
  db: D1Database,
  name: CursorName,
  how: {
    columns: string;
    chunk: number;
    maxRows: number;
    ready: (row: R) => boolean;
    act: (span: Span) => D1PreparedStatement[];
  },
  now: number,
): Promise<D1Result[][]> {
  const steps: D1Result[][] = [];
  for (let passed = 0; passed < how.maxRows; ) {
    const step = await walkStep(
      db,
      name,
      how.columns,
      Math.min(how.chunk, how.maxRows - passed),
      how.ready,
      how.act,
      now,
    );
    if (step.passed > 0) steps.push(step.results);
    passed += step.passed;
    if (step.done) break;
  }
  return steps;
}

/** `rowid` within the span. */
export const within = (span: Span) => `rowid > ${Math.trunc(span.from)} AND rowid <= ${Math.trunc(span.to)}`;
