import { sql, type Kysely } from 'kysely';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.ts';
import type { AuditRow, DB } from '../schema.ts';

type Db = Kysely<DB>;

/**
 * The audit log is a set of hash chains, one per lender plus one for the platform (chain ''):
 * each entry's hash covers its predecessor's hash, its position and its content, so editing,
 * removing or reordering an entry breaks the chain from there on. One chain per lender lets a
 * lender verify its whole history without seeing anyone else's.
 *
 * Entries are chained by the database when their transaction commits (a deferred trigger, see
 * the migration): the chain head is locked under the commit only, so appends from any number
 * of processes chain correctly in commit order without holding a lock while the transaction
 * does other work. The hash is sha256(prev_hash ‖ "\n" ‖ canonical entry), the canonical entry
 * being the database's jsonb text of {seq, pos, at, actor, action, subject_type, subject_id,
 * lender_id, reason, data} — one spelling on PGlite and PostgreSQL.
 */
export const GENESIS = '';

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  lender_id: string | null;
  reason: string;
  data?: Record<string, unknown>;
}

/**
 * Appends one entry in the caller's transaction (or on its own), so a change and its record
 * commit or vanish together. Returns the entry's seq.
 */
export async function appendAudit(db: Db, e: AuditEntry): Promise<number> {
  const row = await db
    .insertInto('audit_log')
    .values({
      at: e.at,
      actor: e.actor,
      action: e.action,
      subject_type: e.subject_type,
      subject_id: e.subject_id,
      lender_id: e.lender_id,
      reason: e.reason,
      // Dates become ISO text and undefined members vanish, as in any JSON.
      data: JSON.stringify(e.data ?? {}),
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  return row.seq;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries verified intact (when not ok: before the first bad one, in chain order). */
  checked: number;
  /** The first entry that does not verify, or the entry missing from a chain's end. */
  firstBadSeq?: number;
}

interface CheckedRow {
  seq: number;
  chain: string;
  chain_pos: number | null;
  prev_hash: string | null;
  hash: string | null;
  recomputed: string | null;
}

/**
 * Recomputes the chains — every one, or one lender's — a page at a time. Catches an edited
 * entry (its hash), a removed or reordered one (positions and links), and a removed tail (the
 * chain's head row).
 */
export async function verifyAudit(db: Db, opts: { lenderId?: string; pageSize?: number } = {}): Promise<AuditVerification> {
  const batch = opts.pageSize ?? 2000;
  const only = opts.lenderId !== undefined ? opts.lenderId : null;
  let heads = db.selectFrom('audit_head').selectAll();
  if (only !== null) heads = heads.where('chain', '=', only);
  const headByChain = new Map((await heads.execute()).map((h) => [h.chain, h]));
  const ends = new Map<string, { pos: number; hash: string; seq: number }>();
  let checked = 0;
  let after: { chain: string; pos: number } | null = null;
  for (;;) {
    let q = db
      .selectFrom('audit_log as a')
      .select(['a.seq', 'a.chain', 'a.chain_pos', 'a.prev_hash', 'a.hash', sql<string | null>`audit_hash(a.prev_hash, a, a.chain_pos)`.as('recomputed')])
      .orderBy('a.chain')
      .orderBy('a.chain_pos')
      .limit(batch);
    if (only !== null) q = q.where('a.chain', '=', only);
    if (after) {
      const { chain, pos } = after;
      q = q.where((eb) => eb.or([eb('a.chain', '>', chain), eb.and([eb('a.chain', '=', chain), eb('a.chain_pos', '>', pos)])]));
    }
    const rows: CheckedRow[] = await q.execute();
    for (const r of rows) {
      const end = ends.get(r.chain);
      const intact = r.hash !== null && r.chain_pos === (end?.pos ?? 0) + 1 && r.prev_hash === (end?.hash ?? GENESIS) && r.recomputed === r.hash;
      if (!intact) return { ok: false, checked, firstBadSeq: r.seq };
      ends.set(r.chain, { pos: r.chain_pos!, hash: r.hash!, seq: r.seq });
      checked++;
    }
    if (rows.length < batch) break;
    const last = rows[rows.length - 1]!;
    after = { chain: last.chain, pos: last.chain_pos! };
  }
  for (const [chain, head] of headByChain) {
    const end = ends.get(chain);
    if ((end?.pos ?? 0) !== head.last_pos || (end?.hash ?? GENESIS) !== head.last_hash) return { ok: false, checked, firstBadSeq: head.last_seq };
  }
  for (const [chain, end] of ends) {
    if (!headByChain.has(chain)) return { ok: false, checked, firstBadSeq: end.seq };
  }
  return { ok: true, checked };
}

export interface AuditListing {
  /** A lender sees its own chain; null lists every entry (platform operator). */
  lenderId: string | null;
  subjectType?: string;
  subjectId?: string;
  action?: string;
  limit?: number;
  cursor?: string | null;
}

/** Audit entries, newest first, one page at a time. */
export async function listAudit(db: Db, q: AuditListing): Promise<Page<AuditRow>> {
  const limit = pageSize(q.limit);
  let query = db.selectFrom('audit_log').selectAll();
  if (q.lenderId !== null) query = query.where('lender_id', '=', q.lenderId);
  if (q.subjectType) query = query.where('subject_type', '=', q.subjectType);
  if (q.subjectId) query = query.where('subject_id', '=', q.subjectId);
  if (q.action) query = query.where('action', '=', q.action);
  if (q.cursor) {
    const [seq] = decodeCursor(q.cursor, ['number']);
    query = query.where('seq', '<', seq);
  }
  const rows = await query.orderBy('seq', 'desc').limit(limit + 1).execute();
  return toPage(rows, limit, (r) => [r.seq]);
}
