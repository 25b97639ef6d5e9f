import { sql, type Kysely } from 'kysely';
import type { Database } from '../connection.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.ts';
import type { AuditRow, DB } from '../schema.ts';
import { deriveKey } from '../secrets.ts';

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
 *
 * Since migration 0021 the hash is keyed: HMAC-SHA256 under a key derived from the master key,
 * which each Lien session holds in memory (useAuditKey) and the database never stores. Someone
 * who can write the tables but lacks the key can no longer rewrite an entry and recompute the
 * chain so that it verifies. A signed head (signedAuditHead in services/audit.ts), kept outside
 * the database, also catches a rewrite by someone who has the key.
 */
export const GENESIS = '';

/** The session setting audit_hash() reads its key from. */
export const AUDIT_KEY_SETTING = 'lien.audit_key';
const HMAC_BLOCK = 64;

/** The audit chain's key: derived from the master key, for this purpose only. */
export function auditKeyFor(masterKey: Buffer): Buffer {
  return deriveKey(masterKey, 'audit chain v1');
}

/**
 * The setting's value: HMAC's inner and outer padded keys (key ⊕ 0x36…, key ⊕ 0x5c…), hex, so
 * SQL computes HMAC-SHA256 as sha256(outer ‖ sha256(inner ‖ message)) with no extension.
 */
export function auditKeySetting(key: Buffer): string {
  if (key.length === 0 || key.length > HMAC_BLOCK) throw new Error('the audit key must be 1 to 64 bytes');
  const padded = Buffer.concat([key, Buffer.alloc(HMAC_BLOCK - key.length)]);
  const inner = Buffer.from(padded.map((b) => b ^ 0x36));
  const outer = Buffer.from(padded.map((b) => b ^ 0x5c));
  return inner.toString('hex') + outer.toString('hex');
}

/** Gives every session of `database` the audit key, so entries chain and verify under it. */
export async function useAuditKey(database: Pick<Database, 'setSessionSetting'>, key: Buffer): Promise<void> {
  await database.setSessionSetting(AUDIT_KEY_SETTING, auditKeySetting(key));
}

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
export async function verifyAudit(db: Db, opts: { lenderId?: string; pageSize?: number; unkeyed?: boolean } = {}): Promise<AuditVerification> {
  const recompute = opts.unkeyed ? sql<string | null>`audit_hash_unkeyed(a.prev_hash, a, a.chain_pos)` : sql<string | null>`audit_hash(a.prev_hash, a, a.chain_pos)`;
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
      .select(['a.seq', 'a.chain', 'a.chain_pos', 'a.prev_hash', 'a.hash', recompute.as('recomputed')])
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

/**
 * Re-chains entries written before the chain was keyed (migration 0021), once, under the key the
 * session holds. The old chain must verify first: a log already broken is left as it is (and
 * reported), never laundered into a valid keyed chain. Returns what happened; null when nothing
 * was pending.
 */
export async function rekeyPendingAudit(db: Kysely<DB>): Promise<{ rekeyed: number } | { broken: AuditVerification } | null> {
  const pending = await db.selectFrom('audit_rekey').select('pending').executeTakeFirst();
  if (!pending?.pending) return null;
  const before = await verifyAudit(db, { unkeyed: true });
  if (!before.ok) return { broken: before };
  return db.transaction().execute(async (tx) => {
    const still = await tx.selectFrom('audit_rekey').select('pending').forUpdate().executeTakeFirst();
    if (!still?.pending) return null; // another process did it meanwhile
    // No appends while the chains are rewritten (they lock audit_head rows at commit).
    await sql`LOCK TABLE audit_head IN EXCLUSIVE MODE`.execute(tx);
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(tx);
    await sql`DO $$
      DECLARE r audit_log%ROWTYPE; cur text := NULL; prev text := ''; h text;
      BEGIN
        FOR r IN SELECT * FROM audit_log WHERE chain_pos IS NOT NULL ORDER BY chain, chain_pos LOOP
          IF cur IS DISTINCT FROM r.chain THEN
            IF cur IS NOT NULL THEN UPDATE audit_head SET last_hash = prev WHERE chain = cur; END IF;
            cur := r.chain;
            prev := '';
          END IF;
          h := audit_hash(prev, r, r.chain_pos);
          UPDATE audit_log SET prev_hash = prev, hash = h WHERE seq = r.seq;
          prev := h;
        END LOOP;
        IF cur IS NOT NULL THEN UPDATE audit_head SET last_hash = prev WHERE chain = cur; END IF;
      END $$`.execute(tx);
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(tx);
    await tx.updateTable('audit_rekey').set({ pending: false }).execute();
    return { rekeyed: before.checked };
  });
}

/** Where each chain ends now: what a signed head vouches for. */
export interface AuditChainEnd {
  chain: string;
  pos: number;
  seq: number;
  hash: string;
}

export async function auditChainEnds(db: Db, lenderId?: string): Promise<AuditChainEnd[]> {
  let q = db.selectFrom('audit_head').selectAll().where('last_pos', '>', 0).orderBy('chain');
  if (lenderId !== undefined) q = q.where('chain', '=', lenderId);
  return (await q.execute()).map((h) => ({ chain: h.chain, pos: Number(h.last_pos), seq: Number(h.last_seq), hash: h.last_hash }));
}

/** The stored hash of each chain at the positions given, to compare with a kept head. */
export async function hashesAt(db: Db, ends: readonly Pick<AuditChainEnd, 'chain' | 'pos'>[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const e of ends) {
    const row = await db.selectFrom('audit_log').select('hash').where('chain', '=', e.chain).where('chain_pos', '=', e.pos).executeTakeFirst();
    out.set(e.chain, row?.hash ?? null);
  }
  return out;
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
