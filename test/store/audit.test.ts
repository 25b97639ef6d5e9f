import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/connection.ts';
import { newId } from '../../src/store/ids.ts';
import { appendAudit, listAudit, verifyAudit, type AuditEntry } from '../../src/store/repos/audit.ts';
import { openTestDb } from './helpers.ts';

function entry(lenderId: string | null, n: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n, 123)),
    actor: 'user:usr_1',
    action: 'payment.posted',
    subject_type: 'payment',
    subject_id: `pay_${n}`,
    lender_id: lenderId,
    reason: `payment ${n}`,
    data: { amount: n * 100, ref: `R${n}` },
    ...over,
  };
}

describe('audit log', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
  });
  afterAll(() => d.close());

  /** Edits history the way only someone with owner rights on the database could. */
  async function tamper(...statements: ReturnType<typeof sql>[]): Promise<void> {
    await d.db.transaction().execute(async (tx) => {
      await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(tx);
      for (const s of statements) await s.execute(tx);
      await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(tx);
    });
  }

  it('chains entries per lender and for the platform, and verifies them all', async () => {
    const [a, b] = [newId('lnd'), newId('lnd')];
    const seqs: number[] = [];
    for (let i = 1; i <= 3; i++) seqs.push(await appendAudit(d.db, entry(a, i)));
    seqs.push(await appendAudit(d.db, entry(b, 4)));
    seqs.push(await appendAudit(d.db, entry(null, 5, { action: 'manifest.imported', subject_type: 'manifest' })));
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    const rows = await d.db.selectFrom('audit_log').selectAll().where('seq', 'in', seqs).orderBy('seq').execute();
    expect(rows[0]!.prev_hash).toBe('');
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    // Another lender's chain starts on its own.
    expect(rows[3]!.prev_hash).toBe('');
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash ?? ''))).toBe(true);
    expect(await verifyAudit(d.db)).toEqual({ ok: true, checked: 5 });
    expect(await verifyAudit(d.db, { lenderId: a })).toEqual({ ok: true, checked: 3 });
    expect(await verifyAudit(d.db, { lenderId: b, pageSize: 1 })).toEqual({ ok: true, checked: 1 });
  });

  it('data survives the jsonb round trip: key order, nesting, dates and undefined do not break the hash', async () => {
    const lender = newId('lnd');
    await appendAudit(d.db, entry(lender, 1, { data: { z: 1, a: { y: [3, { b: null, a: 'é' }], x: 0.1 + 0.2 }, when: new Date('2026-01-02T03:04:05Z'), gone: undefined } as never }));
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 1 });
    const [row] = (await listAudit(d.db, { lenderId: lender })).items;
    expect(row!.data).toEqual({ z: 1, a: { y: [3, { b: null, a: 'é' }], x: 0.30000000000000004 }, when: '2026-01-02T03:04:05.000Z' });
  });

  it('concurrent appends from many transactions form one unbroken chain', async () => {
    const lender = newId('lnd');
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        d.db.transaction().execute(async (tx) => {
          await appendAudit(tx, entry(lender, i));
          await new Promise((r) => setTimeout(r, i % 3));
          if (i % 5 === 0) await appendAudit(tx, entry(lender, 100 + i));
        }),
      ),
    );
    // And a rolled-back append leaves no trace in the chain.
    await expect(
      d.db.transaction().execute(async (tx) => {
        await appendAudit(tx, entry(lender, 999));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 36 });
    expect(await verifyAudit(d.db)).toMatchObject({ ok: true });
  });

  it('entries are chained at commit: unchained inside their transaction, chained after', async () => {
    const lender = newId('lnd');
    const inside = await d.db.transaction().execute(async (tx) => {
      const seq = await appendAudit(tx, entry(lender, 1));
      await appendAudit(tx, entry(null, 2));
      await appendAudit(tx, entry(lender, 3));
      return tx.selectFrom('audit_log').select(['seq', 'hash', 'chain_pos']).where('seq', '=', seq).executeTakeFirstOrThrow();
    });
    expect(inside).toMatchObject({ hash: null, chain_pos: null });
    const after = await d.db.selectFrom('audit_log').select(['chain_pos', 'hash', 'prev_hash']).where('lender_id', '=', lender).orderBy('seq').execute();
    expect(after.map((r) => r.chain_pos)).toEqual([1, 2]);
    expect(after[1]!.prev_hash).toBe(after[0]!.hash);
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 2 });
  });

  it('entries of a rolled-back savepoint are not chained; entries after an early check are chained at commit', async () => {
    const lender = newId('lnd');
    await d.db.transaction().execute(async (tx) => {
      // The entry and its queued chaining go with the savepoint; the next entry must queue it again.
      await sql`SAVEPOINT s1`.execute(tx);
      await appendAudit(tx, entry(lender, 1));
      await sql`ROLLBACK TO SAVEPOINT s1`.execute(tx);
      await appendAudit(tx, entry(lender, 2));
      // Chained now, mid-transaction; what follows must be chained at commit all the same.
      await sql`SET CONSTRAINTS audit_log_chain IMMEDIATE`.execute(tx);
      await sql`SET CONSTRAINTS audit_log_chain DEFERRED`.execute(tx);
      await appendAudit(tx, entry(lender, 3));
      await appendAudit(tx, entry(lender, 4));
    });
    const rows = await d.db.selectFrom('audit_log').select(['subject_id', 'chain_pos', 'hash']).where('lender_id', '=', lender).orderBy('seq').execute();
    expect(rows.map((r) => [r.subject_id, r.chain_pos])).toEqual([['pay_2', 1], ['pay_3', 2], ['pay_4', 3]]);
    expect(rows.every((r) => r.hash !== null)).toBe(true);
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 3 });
  });

  it.runIf(!!process.env.LIEN_TEST_DATABASE_URL)('an open transaction that appended does not hold up other appends to its chain', async () => {
    const lender = newId('lnd');
    const done: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = d.db.transaction().execute(async (tx) => {
      await appendAudit(tx, entry(lender, 1));
      await Promise.race([gate, new Promise((r) => setTimeout(r, 5000))]);
      done.push('slow');
    });
    await new Promise((r) => setTimeout(r, 50));
    await appendAudit(d.db, entry(lender, 2));
    done.push('fast');
    release();
    await slow;
    expect(done).toEqual(['fast', 'slow']);
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 2 });
  });

  it('transactions appending to the same chains in opposite orders both commit', async () => {
    const [a, b] = [newId('lnd'), newId('lnd')];
    await Promise.all(
      [
        [a, b],
        [b, a],
        [a, b],
        [b, a],
      ].map(([x, y], i) =>
        d.db.transaction().execute(async (tx) => {
          await appendAudit(tx, entry(x!, i));
          await new Promise((r) => setTimeout(r, 10));
          await appendAudit(tx, entry(y!, i));
        }),
      ),
    );
    expect(await verifyAudit(d.db, { lenderId: a })).toEqual({ ok: true, checked: 4 });
    expect(await verifyAudit(d.db, { lenderId: b })).toEqual({ ok: true, checked: 4 });
  });

  it('the application cannot edit or delete entries', async () => {
    const seq = await appendAudit(d.db, entry(newId('lnd'), 1));
    await expect(d.db.updateTable('audit_log').set({ reason: 'nothing happened' }).where('seq', '=', seq).execute()).rejects.toThrow(/append-only/);
    await expect(d.db.deleteFrom('audit_log').where('seq', '=', seq).execute()).rejects.toThrow(/append-only/);
    await expect(sql`TRUNCATE audit_log`.execute(d.db)).rejects.toThrow(/append-only/);
  });

  it('an entry edited behind its back is reported by seq', async () => {
    const lender = newId('lnd');
    const seqs: number[] = [];
    for (let i = 1; i <= 4; i++) seqs.push(await appendAudit(d.db, entry(lender, i)));
    await tamper(sql`UPDATE audit_log SET reason = 'nothing to see' WHERE seq = ${seqs[2]!}`);
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: false, checked: 2, firstBadSeq: seqs[2] });
    const all = await verifyAudit(d.db);
    expect(all.ok).toBe(false);
    expect(all.firstBadSeq).toBe(seqs[2]);
  });

  it('an edit that also recomputes the entry hash is caught at the next link', async () => {
    const lender = newId('lnd');
    const seqs: number[] = [];
    for (let i = 1; i <= 3; i++) seqs.push(await appendAudit(d.db, entry(lender, i)));
    // The forger recomputes the edited row's own hash, but the next entry still links to the old one.
    await tamper(
      sql`UPDATE audit_log SET data = '{"amount": 1}' WHERE seq = ${seqs[0]!}`,
      sql`UPDATE audit_log a SET hash = audit_hash(a.prev_hash, a, a.chain_pos) WHERE seq = ${seqs[0]!}`,
    );
    expect((await d.db.selectFrom('audit_log').select('data').where('seq', '=', seqs[0]!).executeTakeFirstOrThrow()).data).toEqual({ amount: 1 });
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: false, checked: 1, firstBadSeq: seqs[1] });
  });

  it('a deleted entry is reported where the chain breaks; a deleted tail against the head', async () => {
    const lender = newId('lnd');
    const seqs: number[] = [];
    for (let i = 1; i <= 4; i++) seqs.push(await appendAudit(d.db, entry(lender, i)));
    await tamper(sql`DELETE FROM audit_log WHERE seq = ${seqs[1]!}`);
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: false, checked: 1, firstBadSeq: seqs[2] });

    const other = newId('lnd');
    const tail: number[] = [];
    for (let i = 1; i <= 3; i++) tail.push(await appendAudit(d.db, entry(other, i)));
    await tamper(sql`DELETE FROM audit_log WHERE seq = ${tail[2]!}`);
    expect(await verifyAudit(d.db, { lenderId: other })).toEqual({ ok: false, checked: 2, firstBadSeq: tail[2] });
  });

  it('lists newest first a page at a time, each entry once, scoped to the lender', async () => {
    const lender = newId('lnd');
    const seqs: number[] = [];
    for (let i = 1; i <= 11; i++) seqs.push(await appendAudit(d.db, entry(lender, i, i % 2 ? {} : { subject_id: 'dev_x', subject_type: 'device', action: 'device.locked' })));
    await appendAudit(d.db, entry(newId('lnd'), 1));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await listAudit(d.db, { lenderId: lender, limit: 4, cursor });
      seen.push(...page.items.map((r) => r.seq));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seqs].reverse());
    const device = await listAudit(d.db, { lenderId: lender, subjectType: 'device', subjectId: 'dev_x' });
    expect(device.items.map((r) => r.seq)).toEqual(seqs.filter((_, i) => i % 2 === 1).reverse());
    expect(device.nextCursor).toBeNull();
    const everyone = await listAudit(d.db, { lenderId: null, limit: 500 });
    expect(everyone.items.length).toBeGreaterThan(seqs.length);
  });
});
