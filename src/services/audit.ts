import type { Kysely, Transaction } from 'kysely';
import { appendAudit } from '../store/repos/audit.ts';
import type { DB } from '../store/schema.ts';
import { actorName, type Actor } from './context.ts';

export interface AuditEvent {
  action: string;
  subjectType: 'device' | 'contract' | 'payment' | 'token' | 'claim' | 'lender' | 'user' | 'api_key' | 'webhook' | 'manifest' | 'portal' | 'signing_key' | 'dlc_api_key';
  subjectId: string;
  lenderId: string | null;
  reason: string;
  data?: Record<string, unknown>;
}

/** Writes one audit row in the caller's transaction, so the change and its record commit together. */
export async function audit(tx: Kysely<DB> | Transaction<DB>, actor: Actor, at: Date, e: AuditEvent): Promise<void> {
  await appendAudit(tx, {
    at,
    actor: actorName(actor),
    action: e.action,
    subject_type: e.subjectType,
    subject_id: e.subjectId,
    lender_id: e.lenderId,
    reason: e.reason,
    data: e.data ?? {},
  });
}
