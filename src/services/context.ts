import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.ts';
import type { Database } from '../store/connection.ts';
import type { DB } from '../store/schema.ts';
import type { Keyring } from './keyring.ts';
import type { OutboundPolicy } from './outbound.ts';
import type { Telemetry } from './telemetry.ts';

/** Who did something, for the audit log: a user, an API key, a device, or the system itself. */
export interface Actor {
  kind: 'user' | 'api_key' | 'device' | 'system' | 'portal' | 'operator';
  id: string;
  lenderId: string | null;
}

export const SYSTEM: Actor = { kind: 'system', id: 'system', lenderId: null };

export function actorName(a: Actor): string {
  return `${a.kind}:${a.id}`;
}

/** Everything a use case needs; built once by the server (or a test) and passed down. */
export interface Services {
  database: Database;
  db: Kysely<DB>;
  clock: Clock;
  masterKey: Buffer;
  keyring: Keyring;
  checkinIntervalSec: number;
  publicUrl: string;
  /** Days a registered, unsold phone keeps asking to enroll after its first contact (docs/protocol.md §5.3). */
  provisioningWindowDays: number;
  /** Where lender-chosen URLs (webhooks) may point: public addresses, plus what the operator allows. */
  outbound: OutboundPolicy;
  /**
   * Called in this process when a unit of work that nudged devices has committed, before the
   * database delivers the nudges: the device gateway drops its cached credentials and policies
   * there, so a phone that checks in right after a payment is answered with the new policy.
   */
  committed?: (nudgedDeviceIds: readonly string[]) => void;
  /** The operator's metrics (the server's Prometheus registry); absent in tests and tools. */
  telemetry?: Telemetry;
}
