import type { Kysely } from 'kysely';
import { appendAudit } from '../store/repos/audit.ts';
import type { DB } from '../store/schema.ts';
import { insertMany } from './bulk/sql.ts';
import { actorName, type Actor } from './context.ts';

export interface AuditEvent {
  action: string;
  subjectType: 'device' | 'contract' | 'payment' | 'token' | 'claim' | 'lender' | 'user' | 'api_key' | 'webhook' | 'manifest' | 'portal' | 'signing_key' | 'dlc_api_key' | 'payment_channel' | 'suspense_payment' | 'bulk_job';
  subjectId: string;
  lenderId: string | null;
  reason: string;
  data?: Record<string, unknown>;
}

/** Writes one audit row in the caller's transaction, so the change and its record commit together. */
export async function audit(tx: Kysely<DB>, actor: Actor, at: Date, e: AuditEvent): Promise<void> {
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

const AUDIT_COLUMNS = {
  at: 'timestamptz', actor: 'text', action: 'text', subject_type: 'text', subject_id: 'text', lender_id: 'text', reason: 'text', data: 'jsonb',
};

/** Writes many audit rows of one actor set-based (imports): the same rows, a statement per few thousand. */
export async function auditMany(tx: Kysely<DB>, actor: Actor, at: Date, events: readonly AuditEvent[]): Promise<void> {
  const name = actorName(actor);
  await insertMany(tx, 'audit_log', AUDIT_COLUMNS, events.map((e) => ({
    at,
    actor: name,
    action: e.action,
    subject_type: e.subjectType,
    subject_id: e.subjectId,
    lender_id: e.lenderId,
    reason: e.reason,
    data: e.data ?? {},
  })));
}
