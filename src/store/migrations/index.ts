import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DB } from '../schema.ts';
import { initial } from './0001_initial.ts';
import { auditChainBatch } from './0002_audit_chain_batch.ts';
import { claimNumbers } from './0003_claim_numbers.ts';
import { policyOfflineRenewal } from './0004_policy_offline_renewal.ts';
import { dropCredentialHash } from './0005_drop_credential_hash.ts';
import { enrollmentProvisioning } from './0010_enrollment_provisioning.ts';
import { signingKeyEndorsements } from './0011_signing_key_endorsements.ts';
import { androidDeviceLock } from './0012_android_device_lock.ts';
import { signinThrottle } from './0020_signin_throttle.ts';
import { auditKeyedChain } from './0021_audit_keyed_chain.ts';
import { claimLiftsLock } from './0022_claim_lifts_lock.ts';
import { importJobs } from './0023_import_jobs.ts';
import { operations } from './0030_operations.ts';
import { paymentRails } from './0040_payment_rails.ts';
import { consoleLists } from './0050_console_lists.ts';
import { lockScreenTexts } from './0055_lock_screen_texts.ts';

/**
 * Every migration, in order, defined in code (no files read from disk, so the CLI and tests run
 * from any directory). Names sort in the order they must run. Never edit one that has shipped:
 * add the next.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_audit_chain_batch': auditChainBatch,
  '0003_claim_numbers': claimNumbers,
  '0004_policy_offline_renewal': policyOfflineRenewal,
  '0005_drop_credential_hash': dropCredentialHash,
  '0010_enrollment_provisioning': enrollmentProvisioning,
  '0011_signing_key_endorsements': signingKeyEndorsements,
  '0012_android_device_lock': androidDeviceLock,
  '0020_signin_throttle': signinThrottle,
  '0021_audit_keyed_chain': auditKeyedChain,
  '0022_claim_lifts_lock': claimLiftsLock,
  '0023_import_jobs': importJobs,
  '0030_operations': operations,
  '0040_payment_rails': paymentRails,
  '0050_console_lists': consoleLists,
  '0055_lock_screen_texts': lockScreenTexts,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date and returns the names of the migrations it applied (none when
 * it was current). Safe on every start and from several processes at once: Kysely's Migrator
 * holds an advisory lock while it runs.
 *
 * `schema` is where the tables live (Database.schema; default: the connection's current
 * schema). Kysely's bookkeeping tables are kept there too: it looks for them across all
 * schemas, and finding another schema's would make it think this one is migrated.
 */
export async function migrate(db: Kysely<DB>, schema?: string): Promise<string[]> {
  if (!schema) {
    const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
    schema = rows[0]?.schema ?? undefined;
    if (!schema) throw new Error('no current schema: the search_path names no existing schema');
  }
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error && attempt < 5 && !results?.length && otherSchemaChanged(error, schema)) continue;
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      const cause = error instanceof Error ? error.message : String(error);
      throw new Error(`database migration ${failed ?? ''} failed: ${cause}`.replace('  ', ' '), { cause: error });
    }
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
}

/**
 * Kysely looks for its bookkeeping tables by listing the tables and columns of every schema; a
 * schema another connection drops or migrates meanwhile (tenants or test runs sharing the
 * database) fails that listing before anything is applied: invalid_schema_name for a dropped
 * schema, undefined_table or undefined_column for a table or column removed between the two reads
 * (seen as `column "created_at" of relation "webhook_deliveries" does not exist`). Nothing of ours
 * is wrong then, so the migration is simply run again.
 */
const LISTING_RACES = new Set(['3F000', '42P01', '42703']);

function otherSchemaChanged(error: unknown, schema: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' && LISTING_RACES.has(e.code) && typeof e.message === 'string' && !e.message.includes(`"${schema}"`);
}
