import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { canonicalJson } from '../../protocol/canonical.ts';
import type { DB } from '../schema.ts';

type Tx = Kysely<DB> | Transaction<DB>;

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  lender_id: string | null;
  reason: string;
  data: Record<string, unknown>;
}

function hashOf(prev: string, seq: number, e: AuditEntry): string {
  const row = canonicalJson({
    seq,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    subject_type: e.subject_type,
    subject_id: e.subject_id,
    lender_id: e.lender_id,
    reason: e.reason,
    data: e.data,
  });
  return createHash('sha256').update(prev).update('\n').update(row).digest('hex');
}

/**
 * Appends one entry chained to the previous one. The head row is locked for the rest of the
 * caller's transaction, so appends from several processes form one chain in commit order.
 */
export async function appendAudit(tx: Tx, e: AuditEntry): Promise<number> {
  const head = await tx.selectFrom('audit_head').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
  const seq = head.last_seq + 1;
  // JSON round trip: what jsonb gives back is what the verifier will hash.
  const data = JSON.parse(JSON.stringify(e.data ?? {})) as Record<string, unknown>;
  const entry = { ...e, at: new Date(e.at.getTime()), data };
  const hash = hashOf(head.last_hash, seq, entry);
  await tx
    .insertInto('audit_log')
    .values({ seq, at: entry.at, actor: e.actor, action: e.action, subject_type: e.subject_type, subject_id: e.subject_id, lender_id: e.lender_id, reason: e.reason, data: JSON.stringify(data), prev_hash: head.last_hash, hash } as never)
    .execute();
  await tx.updateTable('audit_head').set({ last_seq: seq, last_hash: hash }).where('id', '=', 1).execute();
  return seq;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  firstBadSeq?: number;
}

/**
 * Re-computes the chain. For one lender it checks each of its entries against its stored
 * predecessor hash (the chain is global; other lenders' rows are not disclosed).
 */
export async function verifyAudit(db: Tx, opts: { lenderId?: string; batch?: number }): Promise<AuditVerification> {
  const batch = opts.batch ?? 2000;
  let after = 0;
  let prevHash = '';
  let prevSeq = 0;
  let checked = 0;
  for (;;) {
    let q = db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(batch);
    if (opts.lenderId) q = q.where('lender_id', '=', opts.lenderId);
    const rows = await q.execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      const linked = opts.lenderId ? true : r.prev_hash === prevHash && r.seq === prevSeq + 1;
      const expected = hashOf(r.prev_hash, r.seq, {
        at: r.at,
        actor: r.actor,
        action: r.action,
        subject_type: r.subject_type,
        subject_id: r.subject_id,
        lender_id: r.lender_id,
        reason: r.reason,
        data: r.data as Record<string, unknown>,
      });
      if (!linked || expected !== r.hash) return { ok: false, checked, firstBadSeq: r.seq };
      prevHash = r.hash;
      prevSeq = r.seq;
      checked++;
    }
    after = rows[rows.length - 1]!.seq;
  }
  if (!opts.lenderId) {
    const head = await db.selectFrom('audit_head').selectAll().executeTakeFirst();
    if (head && head.last_seq !== prevSeq) return { ok: false, checked, firstBadSeq: prevSeq + 1 };
  }
  return { ok: true, checked };
}

export async function listAudit(db: Tx, opts: { lenderId: string | null; after?: number; limit?: number; subjectId?: string }) {
  const limit = Math.min(opts.limit ?? 50, 500);
  let q = db.selectFrom('audit_log').select(['seq', 'at', 'actor', 'action', 'subject_type', 'subject_id', 'reason', 'data']).orderBy('seq', 'desc').limit(limit + 1);
  if (opts.lenderId) q = q.where('lender_id', '=', opts.lenderId);
  if (opts.after) q = q.where('seq', '<', opts.after);
  if (opts.subjectId) q = q.where('subject_id', '=', opts.subjectId);
  const rows = await q.execute();
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]!.seq) : null };
}

