import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/connection.ts';
import { migrate } from '../../src/store/migrations/index.ts';
import { openTestDb } from './helpers.ts';

describe('connection', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
    await sql`CREATE TABLE t_kv (k text PRIMARY KEY, v int8 NOT NULL)`.execute(d.db);
  });
  afterAll(() => d.close());

  it('overlapping transactions, one rolling back, lose no committed write', async () => {
    const db = d.db as any;
    let releaseA!: () => void;
    const aMayFinish = new Promise<void>((r) => (releaseA = r));
    const a = db.transaction().execute(async (tx: any) => {
      await tx.insertInto('t_kv').values({ k: 'a', v: 1 }).execute();
      await aMayFinish;
      await tx.insertInto('t_kv').values({ k: 'a2', v: 2 }).execute();
    });
    const b = db.transaction().execute(async (tx: any) => {
      await tx.insertInto('t_kv').values({ k: 'b', v: 3 }).execute();
      throw new Error('roll b back');
    });
    // A statement outside any transaction, issued while A is open, must not join A.
    const c = db.insertInto('t_kv').values({ k: 'c', v: 4 }).execute();
    setTimeout(releaseA, 20);
    await a;
    await expect(b).rejects.toThrow('roll b back');
    await c;
    const rows = await db.selectFrom('t_kv').select(['k', 'v']).orderBy('k').execute();
    expect(rows).toEqual([
      { k: 'a', v: 1 },
      { k: 'a2', v: 2 },
      { k: 'c', v: 4 },
    ]);
  });

  it('returns the same types on both drivers', async () => {
    const r = await sql<{ i: number; d: string; b: Buffer; j: { x: number[] }; t: Date; n: string }>`
      SELECT 9007199254740991::int8 AS i, '2026-02-28'::date AS d, '\\x00ff10'::bytea AS b,
             '{"x":[1,2]}'::jsonb AS j, '2026-03-01T10:00:00Z'::timestamptz AS t, 12.50::numeric AS n`.execute(d.db);
    const row = r.rows[0]!;
    expect(row.i).toBe(9007199254740991);
    expect(row.d).toBe('2026-02-28');
    expect(Buffer.isBuffer(row.b)).toBe(true);
    expect([...row.b]).toEqual([0, 255, 16]);
    expect(row.j).toEqual({ x: [1, 2] });
    expect(row.t).toBeInstanceOf(Date);
    expect(row.t.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(row.n).toBe('12.50');
  });

  it('applies migrations once', async () => {
    expect(await migrate(d.db, d.schema)).toEqual([]);
  });

  it('delivers NOTIFY to listeners', async () => {
    const got: string[] = [];
    const stop = await d.listen('lien_test', (p) => got.push(p));
    await d.notify('lien_test', 'hello');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await stop();
    expect(got).toEqual(['hello']);
  });
});

describe('embedded data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lien-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second open, takes over a stale pid file, and releases on close', async () => {
    const first = await openDatabase({ dataDir: dir });
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/already open/);
    await first.close();
    // A pid that cannot be running (beyond pid_max) is stale.
    writeFileSync(join(dir, 'lien.pid'), '999999999');
    const second = await openDatabase({ dataDir: dir });
    await second.close();
  });

  it('refuses while another live process holds it', async () => {
    writeFileSync(join(dir, 'lien.pid'), String(process.ppid));
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
    rmSync(join(dir, 'lien.pid'));
  });
});
