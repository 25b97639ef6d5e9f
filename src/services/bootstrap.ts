import { DEFAULT_PROVISIONING_WINDOW_DAYS } from '../domain/provisioning.ts';
import type { Clock } from '../domain/clock.ts';
import type { Database } from '../store/connection.ts';
import { auditKeyFor, rekeyPendingAudit, useAuditKey } from '../store/repos/audit.ts';
import { loadMasterKey } from '../store/secrets.ts';
import type { Services } from './context.ts';
import { loadKeyring } from './keyring.ts';

export interface ServiceOptions {
  clock: Clock;
  /** Where the embedded mode keeps its generated master key. */
  dataDir: string;
  /** LIEN_MASTER_KEY, when the deployment provides one (required on PostgreSQL). */
  masterKey: string | undefined;
  checkinIntervalSec: number;
  publicUrl: string;
  /** Days an unsold phone keeps asking to enroll (docs/protocol.md §5.3); one-off commands take the default. */
  provisioningWindowDays?: number;
  /** Host names (or addresses) of on-premises webhook receivers that may be private (LIEN_WEBHOOK_ALLOW_HOSTS). */
  webhookAllowHosts?: readonly string[];
}

/**
 * The use cases' dependencies over a migrated database: the server and one-off commands share it.
 * Every session of the database gets the audit chain's key, derived from the master key (the
 * database never stores it); a log from before the chain was keyed is re-chained once here.
 */
export async function startServices(database: Database, o: ServiceOptions): Promise<Services> {
  const masterKey = await loadMasterKey({ env: o.masterKey, dataDir: o.dataDir, required: database.kind === 'postgres' });
  await useAuditKey(database, auditKeyFor(masterKey));
  const rekeyed = await rekeyPendingAudit(database.db);
  if (rekeyed && 'broken' in rekeyed) {
    process.emitWarning(`the audit log was already broken at entry ${rekeyed.broken.firstBadSeq} before it was keyed; it was left as it is (lien audit verify reports it)`);
  }
  const keyring = await loadKeyring(database.db, masterKey, o.clock.now());
  return {
    database,
    db: database.db,
    clock: o.clock,
    masterKey,
    keyring,
    checkinIntervalSec: o.checkinIntervalSec,
    publicUrl: o.publicUrl,
    provisioningWindowDays: o.provisioningWindowDays ?? DEFAULT_PROVISIONING_WINDOW_DAYS,
    outbound: { allowHosts: o.webhookAllowHosts ?? [] },
  };
}
