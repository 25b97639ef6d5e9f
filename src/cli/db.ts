import { systemClock } from '../domain/clock.ts';
import { startServices } from '../services/bootstrap.ts';
import type { Services } from '../services/context.ts';
import { openDatabase, type Database } from '../store/connection.ts';
import { migrate } from '../store/migrations/index.ts';
import { connectionOptions, loadConfig } from '../server/config.ts';

/**
 * Opens the configured database for a one-off command. On embedded PGlite the pid lock refuses
 * while a server runs on the same data directory, with a message that says so.
 */
export async function withDatabase<T>(values: Record<string, unknown>, fn: (db: Database, dataDir: string) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {});
  const db = await openDatabase(connectionOptions(config));
  try {
    await migrate(db.db, db.schema);
    return await fn(db, config.dataDir);
  } finally {
    await db.close();
  }
}

/** withDatabase, with the use cases' dependencies for a command that changes state through them. */
export function withServices<T>(values: Record<string, unknown>, fn: (s: Services) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {});
  return withDatabase(values, async (db) =>
    fn(await startServices(db, { clock: systemClock, dataDir: config.dataDir, masterKey: process.env.LIEN_MASTER_KEY, checkinIntervalSec: config.checkinIntervalSec, publicUrl: config.publicUrl, provisioningWindowDays: config.provisioningWindowDays, webhookAllowHosts: config.webhookAllowHosts ?? [] })),
  );
}

export const dataDirOption = { type: 'string', description: 'embedded database directory (default ./data)' } as const;
