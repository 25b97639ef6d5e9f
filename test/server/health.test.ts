import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLien, type Lien } from '../../src/server/app.ts';
import type { Database } from '../../src/store/connection.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { loadConfig } from '../../src/server/config.ts';
import { openTestDb } from '../store/helpers.ts';

const LATEST = Object.keys(migrations).sort().at(-1)!;

describe('health endpoints', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lien-health-'));
  let database: Database;
  let lien: Lien;

  beforeAll(async () => {
    process.env.LIEN_MASTER_KEY ??= randomBytes(32).toString('hex');
    database = await openTestDb();
    lien = await buildLien(loadConfig({ LIEN_DATA_DIR: dataDir } as NodeJS.ProcessEnv, { port: 0 }), { database, logger: false, jobs: false });
  });
  afterAll(async () => {
    await lien?.close().catch(() => undefined);
    await database?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('/readyz checks the database, its migrations and the jobs, and fails when the database is gone; /healthz stays up', async () => {
    const ready = await lien.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, checks: { database: { ok: true, kind: database.kind }, migrations: { ok: true, latest: LATEST }, jobs: { ok: true, state: 'off' } } });

    // A schema behind this build (an older server migrated it): not ready, and it says what to do.
    const table = sql.table(`${database.schema}.kysely_migration`);
    await sql`DELETE FROM ${table} WHERE name = ${LATEST}`.execute(database.db);
    const behind = await lien.app.inject('/readyz');
    expect(behind.statusCode).toBe(503);
    expect(behind.json().checks.migrations).toMatchObject({ ok: false, expected: LATEST });
    await sql`INSERT INTO ${table} (name, timestamp) VALUES (${LATEST}, ${new Date().toISOString()})`.execute(database.db);
    expect((await lien.app.inject('/readyz')).statusCode).toBe(200);

    await database.close();
    const gone = await lien.app.inject('/readyz');
    expect(gone.statusCode).toBe(503);
    expect(gone.json()).toMatchObject({ ready: false, checks: { database: { ok: false }, migrations: { ok: false } } });
    expect(gone.headers['cache-control']).toBe('no-store');

    const alive = await lien.app.inject('/healthz');
    expect(alive.statusCode).toBe(200);
    expect(alive.json()).toMatchObject({ ok: true, database: database.kind });
  });
});
