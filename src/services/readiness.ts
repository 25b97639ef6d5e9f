/**
 * The database half of readiness: it answers within a few seconds and its schema holds every
 * migration this build ships. Cheap enough for a probe every few seconds (one indexed max()).
 */
import { sql } from 'kysely';
import type { Database } from '../store/connection.ts';
import { migrations } from '../store/migrations/index.ts';

const DATABASE_TIMEOUT_MS = 3_000;
const LATEST_MIGRATION = Object.keys(migrations).sort().at(-1)!;

export type Check = { ok: boolean; [k: string]: unknown };

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The database answers and holds every migration this build ships. */
export async function checkDatabase(database: Database): Promise<{ database: Check; migrations: Check }> {
  try {
    const { rows } = await withTimeout(
      sql<{ name: string | null }>`SELECT max(name) AS name FROM ${sql.table(`${database.schema}.kysely_migration`)}`.execute(database.db),
      DATABASE_TIMEOUT_MS,
      'the database',
    );
    const applied = rows[0]?.name ?? null;
    const current = applied !== null && applied >= LATEST_MIGRATION;
    return {
      database: { ok: true, kind: database.kind },
      migrations: current ? { ok: true, latest: applied } : { ok: false, latest: applied, expected: LATEST_MIGRATION, message: 'run `lien migrate` (or restart one server, which migrates on start)' },
    };
  } catch (e) {
    return {
      database: { ok: false, kind: database.kind, message: e instanceof Error ? e.message : String(e) },
      migrations: { ok: false, message: 'unknown while the database does not answer' },
    };
  }
}

