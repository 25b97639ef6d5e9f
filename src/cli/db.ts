import { openDatabase, type Database } from '../store/connection.ts';
import { migrate } from '../store/migrations/index.ts';
import { auditKeyFor, useAuditKey } from '../store/repos/audit.ts';
import { loadMasterKey } from '../store/secrets.ts';
import { connectionOptions, loadConfig } from '../server/config.ts';

/**
 * Opens the configured database for a one-off command. On embedded PGlite the pid lock refuses
 * while a server runs on the same data directory, with a message that says so. Commands that
 * touch secrets or the audit chain ask for the master key: it is loaded as the server loads it,
 * and the audit key derived from it is given to the session.
 */
export async function withDatabase<T>(
  values: Record<string, unknown>,
  fn: (db: Database, dataDir: string, masterKey: Buffer | null) => Promise<T>,
  opts: { masterKey?: boolean } = {},
): Promise<T> {
  const config = loadConfig(process.env, typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {});
  const db = await openDatabase(connectionOptions(config));
  try {
    await migrate(db.db, db.schema);
    let masterKey: Buffer | null = null;
    if (opts.masterKey) {
      masterKey = await loadMasterKey({ env: process.env.LIEN_MASTER_KEY, dataDir: config.dataDir, required: db.kind === 'postgres' });
      await useAuditKey(db, auditKeyFor(masterKey));
    }
    return await fn(db, config.dataDir, masterKey);
  } finally {
    await db.close();
  }
}

export const dataDirOption = { type: 'string', description: 'embedded database directory (default ./data)' } as const;
