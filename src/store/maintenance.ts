import { sql } from 'kysely';
import type { Database } from './connection.ts';
import { loggableError } from './loggable.ts';

/**
 * PGlite runs no autovacuum. After a bulk write the versions it replaced stay behind — every
 * audit entry is inserted and then chained by an UPDATE at commit — and later writes step over
 * them: 60,000 audit entries written after 60,000 others took 13.7 s, against 2.1 s after a
 * VACUUM of 76 ms. Its planner statistics are never refreshed either. So after large writes the
 * embedded database vacuums the tables whose rows they replaced and analyzes those they only
 * added to, one statement per table (each holds the single session only briefly). PostgreSQL's
 * autovacuum does both on its own. Housekeeping only: the write has committed, so a failure
 * here is logged, never thrown.
 */
export async function tidyAfterBulkWrite(database: Database, tables: { updated: readonly string[]; inserted: readonly string[] }): Promise<void> {
  if (database.kind !== 'pglite') return;
  const statements = [
    ...tables.updated.map((t) => sql`VACUUM (ANALYZE) ${sql.id(t)}`),
    ...tables.inserted.map((t) => sql`ANALYZE ${sql.id(t)}`),
  ];
  for (const statement of statements) {
    try {
      await statement.execute(database.db);
    } catch (e) {
      console.error('housekeeping after a bulk write failed', loggableError(e));
    }
  }
}
