import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/connection.ts';
import { migrate, migrations } from '../../src/store/migrations/index.ts';
import { openPgliteTestDb, openTestDb } from './helpers.ts';

// Scratch tables outside the app schema: these tests are about the connection, not the schema.
type T = { t_kv: { k: string; v: number }; t_counter: { id: number; n: number } };

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('connection', () => {
  let d: Database;
  let db: Kysely<T>;
  beforeAll(async () => {
    d = await openTestDb();
    db = d.db as unknown as Kysely<T>;
    await sql`CREATE TABLE t_kv (k text PRIMARY KEY, v int8 NOT NULL)`.execute(db);
    await sql`CREATE TABLE t_counter (id int PRIMARY KEY, n int NOT NULL)`.execute(db);
  });
  afterAll(() => d.close());

  describe('transactions own the session', () => {
    it('a rolled-back transaction takes nothing else with it, and others do not see its writes', async () => {
      await db.deleteFrom('t_kv').execute();
      let releaseA!: () => void;
      const gate = new Promise<void>((r) => (releaseA = r));
      let aWrote!: () => void;
      const aHasWritten = new Promise<void>((r) => (aWrote = r));
      const a = db.transaction().execute(async (tx) => {
        await tx.insertInto('t_kv').values({ k: 'a1', v: 1 }).execute();
        aWrote();
        await gate;
        await tx.insertInto('t_kv').values({ k: 'a2', v: 2 }).execute();
        throw new Error('roll A back');
      });
      await aHasWritten;
      // Issued while A is open with an uncommitted row: a committing transaction, and plain statements.
      const b = db.transaction().execute(async (tx) => {
        await tx.insertInto('t_kv').values({ k: 'b', v: 3 }).execute();
        await tick();
        await tx.insertInto('t_kv').values({ k: 'b2', v: 4 }).execute();
      });
      const c = db.insertInto('t_kv').values({ k: 'c', v: 5 }).execute();
      const peek = db.selectFrom('t_kv').select('k').where('k', '=', 'a1').execute();
      const outcomes = Promise.allSettled([b, c, peek]);
      setTimeout(releaseA, 30);
      await expect(a).rejects.toThrow('roll A back');
      await outcomes;
      await b;
      await c;
      // Had the peek run inside A (kysely-pglite's failure), it would have seen A's uncommitted row.
      expect(await peek).toEqual([]);
      const rows = await db.selectFrom('t_kv').select(['k', 'v']).orderBy('k').execute();
      expect(rows).toEqual([
        { k: 'b', v: 3 },
        { k: 'b2', v: 4 },
        { k: 'c', v: 5 },
      ]);
    });

    it("a transaction that rolls back does not undo another's committed writes", async () => {
      await db.deleteFrom('t_kv').execute();
      let releaseA!: () => void;
      const gate = new Promise<void>((r) => (releaseA = r));
      const a = db.transaction().execute(async (tx) => {
        await tx.insertInto('t_kv').values({ k: 'a1', v: 1 }).execute();
        await gate;
        await tx.insertInto('t_kv').values({ k: 'a2', v: 2 }).execute();
      });
      await tick();
      const b = db.transaction().execute(async (tx) => {
        await tx.insertInto('t_kv').values({ k: 'b', v: 3 }).execute();
        throw new Error('roll B back');
      });
      // On PostgreSQL B finishes first, on PGlite after A: attach the expectation before waiting.
      const bRolledBack = expect(b).rejects.toThrow('roll B back');
      setTimeout(releaseA, 30);
      await a;
      await bRolledBack;
      expect(await db.selectFrom('t_kv').select('k').orderBy('k').execute()).toEqual([{ k: 'a1' }, { k: 'a2' }]);
    });

    it('concurrent read-modify-write transactions lose no update', async () => {
      await db.insertInto('t_counter').values({ id: 1, n: 0 }).execute();
      const N = 25;
      await Promise.all(
        Array.from({ length: N }, () =>
          db.transaction().execute(async (tx) => {
            const { n } = await tx.selectFrom('t_counter').select('n').where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
            await tick(1);
            await tx.updateTable('t_counter').set({ n: n + 1 }).where('id', '=', 1).execute();
          }),
        ),
      );
      expect((await db.selectFrom('t_counter').select('n').where('id', '=', 1).executeTakeFirstOrThrow()).n).toBe(N);
    });

    it('a transaction left aborted by a failed statement does not commit, and the session recovers', async () => {
      await db.deleteFrom('t_kv').execute();
      const t = db.transaction().execute(async (tx) => {
        await tx.insertInto('t_kv').values({ k: 'x', v: 1 }).execute();
        await tx.insertInto('t_kv').values({ k: 'x', v: 2 }).execute().catch(() => undefined);
      });
      await expect(t).rejects.toThrow();
      expect(await db.selectFrom('t_kv').selectAll().execute()).toEqual([]);
      await db.insertInto('t_kv').values({ k: 'y', v: 1 }).execute();
      expect(await db.selectFrom('t_kv').select('k').execute()).toEqual([{ k: 'y' }]);
    });

    it('savepoints roll back part of a transaction', async () => {
      await db.deleteFrom('t_kv').execute();
      const trx = await db.startTransaction().execute();
      await trx.insertInto('t_kv').values({ k: 'kept', v: 1 }).execute();
      const sp = await trx.savepoint('sp1').execute();
      await sp.insertInto('t_kv').values({ k: 'undone', v: 2 }).execute();
      await sp.rollbackToSavepoint('sp1').execute();
      await trx.commit().execute();
      expect(await db.selectFrom('t_kv').select('k').execute()).toEqual([{ k: 'kept' }]);
    });
  });

  it('migrations are idempotent', async () => {
    expect(await migrate(d.db, d.schema)).toEqual([]);
    expect(await migrate(d.db)).toEqual([]);
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM kysely_migration`.execute(d.db);
    expect(Number(rows[0]!.n)).toBe(Object.keys(migrations).length);
  });

  describe('LISTEN/NOTIFY', () => {
    async function until(cond: () => boolean): Promise<void> {
      for (let i = 0; i < 200 && !cond(); i++) await tick(10);
    }

    it('delivers to listeners until they unlisten', async () => {
      const got: string[] = [];
      const stop = await d.listen('lien_test', (p) => got.push(p));
      await d.notify('lien_test', 'hello');
      await until(() => got.length > 0);
      expect(got).toEqual(['hello']);
      await stop();
      await d.notify('lien_test', 'after');
      await d.notify('lien_other', 'x');
      await tick(100);
      expect(got).toEqual(['hello']);
    });

    it('a NOTIFY in a rolled-back transaction is never delivered; a committed one is', async () => {
      const got: string[] = [];
      const stop = await d.listen('lien_tx', (p) => got.push(p));
      await expect(
        d.db.transaction().execute(async (tx) => {
          await sql`SELECT pg_notify(${d.channelName('lien_tx')}, 'rolled back')`.execute(tx);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      await d.notify('lien_tx', 'committed');
      await until(() => got.length > 0);
      await tick(50);
      await stop();
      expect(got).toEqual(['committed']);
    });

    it('LISTEN issued during a transaction is not rolled back with it', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const t = d.db.transaction().execute(async (tx) => {
        await sql`SELECT 1`.execute(tx);
        await gate;
        throw new Error('rollback');
      });
      await tick();
      const got: string[] = [];
      const listening = d.listen('lien_during', (p) => got.push(p));
      setTimeout(release, 20);
      await expect(t).rejects.toThrow('rollback');
      const stop = await listening;
      await d.notify('lien_during', 'still listening');
      await until(() => got.length > 0);
      await stop();
      expect(got).toEqual(['still listening']);
    });

    it.runIf(!!process.env.LIEN_TEST_DATABASE_URL)('on PostgreSQL, listening resumes after the listening connection is lost', async () => {
      const url = process.env.LIEN_TEST_DATABASE_URL!;
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const errors: Error[] = [];
      const own = await openDatabase({ databaseUrl: url, schema, poolSize: 2, onError: (e) => errors.push(e) });
      try {
        const got: string[] = [];
        const stop = await own.listen('lien_resume', (p) => got.push(p));
        const channel = own.channelName('lien_resume');
        await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = ${`LISTEN "${channel}"`}`.execute(d.db);
        for (let i = 0; i < 300 && !got.includes('back'); i++) {
          await own.notify('lien_resume', 'back');
          await tick(20);
        }
        expect(got).toContain('back');
        expect(errors.length).toBeGreaterThan(0);
        await stop();
      } finally {
        await own.close();
        await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(d.db);
      }
    });

    it('refuses channel names that are not plain identifiers', async () => {
      await expect(d.listen('bad channel; drop', () => undefined)).rejects.toThrow(/channel/);
      await expect(d.notify('Bad', 'x')).rejects.toThrow(/channel/);
    });
  });
});

it('an unreachable PostgreSQL is reported plainly, without the password', async () => {
  await expect(openDatabase({ databaseUrl: 'postgres://lien:hunter2@127.0.0.1:1/lien' })).rejects.toMatchObject({
    code: 'unavailable',
    message: expect.stringMatching(/^cannot use PostgreSQL at postgres:\/\/lien:\*\*\*@127\.0\.0\.1:1\/lien: .*ECONNREFUSED/),
  });
});

describe('type normalisation', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
    await createTypesTable(d);
  });
  afterAll(() => d.close());

  it('int8, numeric, date, timestamptz, bytea and jsonb come back as number, string, string, Date, Buffer, object', async () => {
    const row = await readTypes(d);
    expect(row).toEqual(EXPECTED);
    expect(typeof row.i).toBe('number');
    expect(typeof row.d).toBe('string');
    expect(row.t).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(row.b)).toBe(true);
    expect(typeof row.n).toBe('string');
  });

  it('aggregates: count is a number, sum of int8 is exact decimal text', async () => {
    const { rows } = await sql<{ c: number; s: string }>`SELECT count(*) AS c, sum(i) AS s FROM t_types`.execute(d.db);
    expect(rows[0]).toEqual({ c: 1, s: '9007199254740991' });
  });

  it('refuses an int8 beyond the safe integer range instead of rounding it', async () => {
    await expect(sql`SELECT 9007199254740993::int8 AS x`.execute(d.db)).rejects.toThrow(/safe integer/);
    // The connection is still usable afterwards.
    expect((await sql<{ x: number }>`SELECT 1::int8 AS x`.execute(d.db)).rows).toEqual([{ x: 1 }]);
  });

  it.runIf(!!process.env.LIEN_TEST_DATABASE_URL)('PGlite and PostgreSQL return identical values', async () => {
    const lite = await openPgliteTestDb();
    try {
      await createTypesTable(lite);
      const [a, b] = [await readTypes(lite), await readTypes(d)];
      expect(a).toEqual(b);
      expect(Buffer.isBuffer(a.b) && Buffer.isBuffer(b.b)).toBe(true);
    } finally {
      await lite.close();
    }
  }, 120_000);
});

const EXPECTED = {
  i: 9007199254740991,
  neg: -42,
  n: '12.50',
  d: '2026-02-28',
  t: new Date('2026-03-01T10:00:00.123Z'),
  b: Buffer.from([0, 255, 16, 92, 120]),
  j: { x: [1, 2], s: 'é', nested: { ok: true, none: null } },
  lit_d: '1999-12-31',
  lit_b: Buffer.from([0xde, 0xad]),
  null_d: null,
};

async function createTypesTable(d: Database): Promise<void> {
  await sql`CREATE TABLE t_types (i int8, neg int8, n numeric(10,2), d date, t timestamptz, b bytea, j jsonb, null_d date)`.execute(d.db);
  // Written through parameters, the way repositories write.
  await sql`INSERT INTO t_types VALUES (${EXPECTED.i}, ${EXPECTED.neg}, ${EXPECTED.n}, ${EXPECTED.d}, ${EXPECTED.t}, ${EXPECTED.b}, ${JSON.stringify(EXPECTED.j)}, ${null})`.execute(d.db);
}

async function readTypes(d: Database) {
  const { rows } = await sql<typeof EXPECTED>`
    SELECT i, neg, n, d, t, b, j, '1999-12-31'::date AS lit_d, '\\xdead'::bytea AS lit_b, null_d FROM t_types`.execute(d.db);
  return rows[0]!;
}
