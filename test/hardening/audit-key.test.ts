/**
 * Issue #12 L6: the audit chain is keyed (key derived from the master key, never stored in the
 * database), so rows rewritten with hashes recomputed by the database's own audit_hash() fail
 * verification; `lien audit head` prints a signed head an auditor keeps, and `lien audit verify
 * --head` later catches a rewrite even by someone holding the key.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/connection.ts';
import { newId } from '../../src/store/ids.ts';
import { migrate, migrations } from '../../src/store/migrations/index.ts';
import { appendAudit, auditKeyFor, auditKeySetting, rekeyPendingAudit, useAuditKey, verifyAudit, type AuditEntry } from '../../src/store/repos/audit.ts';
import type { DB } from '../../src/store/schema.ts';
import { loadMasterKey } from '../../src/store/secrets.ts';
import { openTestDb } from '../store/helpers.ts';

const BIN = new URL('../../bin/lien.js', import.meta.url).pathname;

function entry(lenderId: string, n: number): AuditEntry {
  return { at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)), actor: 'user:usr_1', action: 'payment.posted', subject_type: 'payment', subject_id: `pay_${n}`, lender_id: lenderId, reason: `payment ${n}`, data: { amount: n * 100 } };
}

/**
 * What someone with owner rights on the database can do: change an entry, then recompute the
 * chain with audit_hash() — under `guessedKey` when given (a local setting in that transaction),
 * or under whatever key the session holds.
 */
async function rewriteAndRechain(db: Kysely<DB>, lenderId: string, guessedKey: Buffer | null): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (guessedKey) await sql`SELECT set_config('lien.audit_key', ${auditKeySetting(guessedKey)}, true)`.execute(tx);
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(tx);
    await sql`UPDATE audit_log SET reason = 'nothing happened here' WHERE chain = ${lenderId} AND chain_pos = 2`.execute(tx);
    await sql
      .raw(
        `DO $$ DECLARE r audit_log%ROWTYPE; prev text := ''; h text; BEGIN
          FOR r IN SELECT * FROM audit_log WHERE chain = '${lenderId}' ORDER BY chain_pos LOOP
            h := audit_hash(prev, r, r.chain_pos);
            UPDATE audit_log SET prev_hash = prev, hash = h WHERE seq = r.seq;
            prev := h;
          END LOOP;
          UPDATE audit_head SET last_hash = prev WHERE chain = '${lenderId}';
        END $$`,
      )
      .execute(tx);
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(tx);
  });
}

describe('issue #12 L6: keyed audit chain', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
  });
  afterAll(() => d.close());

  it('L6: rows rewritten with hashes recomputed by audit_hash() fail verification without the key', async () => {
    const lender = newId('lnd');
    for (let i = 1; i <= 4; i++) await appendAudit(d.db, entry(lender, i));
    expect(await verifyAudit(d.db, { lenderId: lender })).toEqual({ ok: true, checked: 4 });
    await rewriteAndRechain(d.db, lender, Buffer.from('an attacker guess of the key....'));
    const after = await verifyAudit(d.db, { lenderId: lender });
    expect(after.ok).toBe(false);
  });

  it('L6: without the key, the database cannot compute a chain hash at all', async () => {
    await expect(
      d.db.transaction().execute(async (tx) => {
        await sql`SELECT set_config('lien.audit_key', '', true)`.execute(tx);
        await sql`SELECT audit_hash('', a, 1) FROM audit_log a LIMIT 1`.execute(tx);
      }),
    ).rejects.toThrow(/audit key is not set/);
  });
});

describe('issue #12 L6: a log written before the chain was keyed', () => {
  it('L6: is re-chained under the key once, after its old chain is checked; a log broken before is left broken', async () => {
    const db = await openDatabase({ memory: true });
    try {
      const migrator = new Migrator({ db: db.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('0020_signin_throttle')).error).toBeUndefined();
      const [good, bad] = [newId('lnd'), newId('lnd')];
      for (let i = 1; i <= 3; i++) await appendAudit(db.db, entry(good, i));
      await migrate(db.db, db.schema);
      await useAuditKey(db, Buffer.alloc(32, 9));
      expect(await rekeyPendingAudit(db.db)).toEqual({ rekeyed: 3 });
      expect(await verifyAudit(db.db)).toEqual({ ok: true, checked: 3 });
      expect(await rekeyPendingAudit(db.db)).toBeNull();

      // A log tampered with before the upgrade is not laundered into a valid keyed chain.
      await db.db.updateTable('audit_rekey').set({ pending: true }).execute();
      await appendAudit(db.db, entry(bad, 1));
      await db.db.transaction().execute(async (tx) => {
        await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(tx);
        await sql`UPDATE audit_log SET reason = 'edited' WHERE chain = ${bad}`.execute(tx);
        await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(tx);
      });
      expect(await rekeyPendingAudit(db.db)).toMatchObject({ broken: { ok: false } });
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('issue #12 L6: lien audit verify and lien audit head on a data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lien-audit-'));
  const lender = newId('lnd');
  let auditKey: Buffer;
  const lien = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LIEN_DATA_DIR: dir };
    for (const k of ['DATABASE_URL', 'LIEN_MASTER_KEY']) delete env[k];
    return spawnSync(process.execPath, [BIN, 'audit', ...args], { env, encoding: 'utf8', timeout: 90_000 });
  };
  const withDir = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    const db = await openDatabase({ dataDir: dir });
    try {
      await migrate(db.db, db.schema);
      await useAuditKey(db, auditKey);
      return await fn(db);
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    auditKey = auditKeyFor(await loadMasterKey({ dataDir: dir }));
    await withDir(async (db) => {
      for (let i = 1; i <= 5; i++) await appendAudit(db.db, entry(lender, i));
    });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('L6: the key is in no file of the data directory but master.key is the only secret it comes from', () => {
    const files = (p: string): string[] => readdirSync(p).flatMap((f) => (statSync(join(p, f)).isDirectory() ? files(join(p, f)) : [join(p, f)]));
    const needles = [auditKey, Buffer.from(auditKey.toString('hex')), Buffer.from(auditKeySetting(auditKey))];
    for (const f of files(dir).filter((f) => !f.endsWith('master.key'))) {
      const bytes = readFileSync(f);
      for (const n of needles) expect(bytes.includes(n), f).toBe(false);
    }
  });

  it('L6: a signed head kept outside catches a rewrite that even the key holder recomputed', async () => {
    const head = lien('head', '--lender', lender);
    expect(head.status, head.stderr).toBe(0);
    const kept = JSON.parse(head.stdout);
    expect(kept).toMatchObject({ head: { format: 'lien-audit-head/1', lenderId: lender, chains: [{ chain: lender, pos: 5 }] }, kid: expect.any(String), sig: expect.any(String) });
    const file = join(dir, '..', `${lender}-head.json`);
    writeFileSync(file, head.stdout);
    try {
      const clean = lien('verify', '--head', file);
      expect(clean.status, clean.stderr).toBe(0);
      expect(clean.stdout).toContain('still holds');

      // Someone holding the key rewrites entry 2 and recomputes: the chain verifies, the kept head does not.
      await withDir((db) => rewriteAndRechain(db.db, lender, null));
      expect(lien('verify').status).toBe(0);
      const caught = lien('verify', '--head', file);
      expect(caught.status).toBe(1);
      expect(caught.stderr).toMatch(/no longer has the kept hash/);

      // Someone without it: the chain itself breaks.
      await withDir((db) => rewriteAndRechain(db.db, lender, Buffer.alloc(32, 1)));
      const broken = lien('verify');
      expect(broken.status).toBe(1);
      expect(broken.stderr).toMatch(/BROKEN/);
    } finally {
      rmSync(file, { force: true });
    }
  }, 120_000);
});
