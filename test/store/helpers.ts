import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/connection.ts';
import { migrate } from '../../src/store/migrations/index.ts';

/**
 * A migrated database for one test file: in-memory PGlite, or — when LIEN_TEST_DATABASE_URL is
 * set (CI runs the suite both ways) — a fresh PostgreSQL schema, dropped on close.
 */
export async function openTestDb(): Promise<Database> {
  const url = process.env.LIEN_TEST_DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ memory: true });
    await migrate(db.db, db.schema);
    return db;
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({ databaseUrl: url, schema, poolSize: 4 });
  await migrate(db.db, db.schema);
  return {
    ...db,
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
