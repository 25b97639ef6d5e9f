import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import * as m001 from './001_initial.ts';

// Migrations live in code (not read from disk) so they ship inside any bundle unchanged.
const MIGRATIONS: Record<string, Migration> = {
  '001_initial': m001,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/**
 * Applies pending migrations. `schema` names where the migration bookkeeping lives: Kysely looks
 * for its tables across all schemas, so without it a database shared by several schemas
 * (tests, tenants) would find another schema's bookkeeping.
 */
export async function migrate(db: Kysely<any>, schema = 'public'): Promise<string[]> {
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new LienError('unavailable', `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
