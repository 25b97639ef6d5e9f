/**
 * The borrower notification outbox. A notification is rendered when it is enqueued — in the
 * borrower's language, with the amounts and dates of that moment — and stored as final text, so
 * what was sent is exactly what the log shows, whatever changes later. The use cases enqueue
 * through their unit of work (fx.notify); src/jobs/notifications.ts delivers.
 */
import type { Kysely } from 'kysely';
import { findCurrency } from '../domain/currency.ts';
import { LienError } from '../domain/errors.ts';
import { DEFAULT_LANG, formatDate, formatDateTime, formatMoney, matchLanguage, placeholdersOf, t, type Lang, type MessageKey } from '../i18n/index.ts';
import { newId } from '../store/ids.ts';
import type { DB } from '../store/schema.ts';

export const NOTIFICATION_KINDS = [
  'reminder',
  'notice',
  'lock',
  'unlock',
  'release',
  'claim_received',
  'claim_approved',
  'claim_rejected',
  'claim_rejected_locked',
  'unlock_claim',
  'unlock_dispute',
  'unlock_manual',
  'unlock_code',
  'unlock_other',
  'lender_message',
] as const;

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'failed';

const MESSAGE_KEY: Record<NotificationKind, MessageKey> = {
  reminder: 'notify.reminder',
  notice: 'notify.notice',
  lock: 'notify.lock',
  unlock: 'notify.unlock',
  release: 'notify.release',
  claim_received: 'notify.claimReceived',
  claim_approved: 'notify.claimApproved',
  claim_rejected: 'notify.claimRejected',
  claim_rejected_locked: 'notify.claimRejectedLocked',
  unlock_claim: 'notify.unlockClaim',
  unlock_dispute: 'notify.unlockDispute',
  unlock_manual: 'notify.unlockManual',
  unlock_code: 'notify.unlockCode',
  unlock_other: 'notify.unlockOther',
  lender_message: 'notify.lenderMessage',
};

/**
 * What a message needs beyond the contract. Amounts are minor units in the contract's currency;
 * a date is a calendar day ('YYYY-MM-DD', e.g. a due date) or an instant (a lock deadline, shown
 * with its time in the lender's zone).
 */
export interface NotificationParams {
  /** Default for notice and lock: the contract's amount overdue. */
  amount?: number;
  date?: string | Date;
  /** Default: the contract's lock reference. For claim messages, the claim number (required). */
  reference?: string;
  /** claim_rejected: the lender's reason, shown to the borrower as written. */
  message?: string;
}

type ParamName = keyof NotificationParams;

/** Params the caller must give because the contract does not hold them. */
const REQUIRED: Record<NotificationKind, readonly ParamName[]> = {
  reminder: ['amount', 'date'],
  notice: ['date'],
  lock: [],
  unlock: ['amount'],
  release: [],
  claim_received: ['reference'],
  claim_approved: ['reference', 'amount'],
  claim_rejected: ['reference', 'message'],
  claim_rejected_locked: ['reference', 'message', 'amount'],
  unlock_claim: [],
  unlock_dispute: [],
  unlock_manual: [],
  unlock_code: [],
  unlock_other: [],
  /** A lender's own short message (bulk actions): their words, in the borrower's SMS. */
  lender_message: ['message'],
};

export function isNotificationKind(s: unknown): s is NotificationKind {
  return typeof s === 'string' && (NOTIFICATION_KINDS as readonly string[]).includes(s);
}

interface RenderContext {
  lang: Lang;
  lenderName: string;
  timeZone: string;
  currency: string;
  amountOverdue: number;
  lockReference: string;
}

function renderText(kind: NotificationKind, ctx: RenderContext, params: NotificationParams): string {
  const missing = REQUIRED[kind].filter((p) => params[p] === undefined || params[p] === null || params[p] === '');
  if (missing.length) {
    throw new LienError('invalid_input', `A ${kind} notification needs ${missing.join(' and ')}.`, { kind, missing });
  }
  const key = MESSAGE_KEY[kind];
  const exponent = findCurrency(ctx.currency)?.exponent;
  const amount = params.amount ?? ctx.amountOverdue;
  const values: Record<string, string> = {
    lender: ctx.lenderName,
    reference: params.reference ?? ctx.lockReference,
    amount: formatMoney(ctx.lang, amount, ctx.currency, exponent),
  };
  if (params.date !== undefined) {
    values.date = typeof params.date === 'string' ? formatDate(ctx.lang, params.date) : formatDateTime(ctx.lang, params.date, ctx.timeZone);
  }
  if (params.message !== undefined) values.message = params.message;
  // A placeholder left unfilled would reach the borrower as "{date}": refuse instead. Checked on
  // the template, so braces inside a lender's own words are not mistaken for one.
  const unfilled = placeholdersOf(t(ctx.lang, key)).filter((p) => values[p] === undefined);
  if (unfilled.length) {
    throw new LienError('invalid_input', `A ${kind} notification needs ${unfilled.join(' and ')}.`, { kind, missing: unfilled });
  }
  return t(ctx.lang, key, values as never);
}

/**
 * Renders a notification for the contract's borrower in their language and queues it, due at
 * `at`. Call it inside the transaction that makes the change it announces, so the message exists
 * exactly when the change was committed.
 */
export async function enqueueNotification(
  tx: Kysely<DB>,
  input: { contractId: string; kind: NotificationKind; at: Date; params?: NotificationParams },
): Promise<{ id: string; language: Lang; body: string }> {
  if (!isNotificationKind(input.kind)) {
    throw new LienError('invalid_input', `Unknown notification kind "${String(input.kind)}"; the kinds are ${NOTIFICATION_KINDS.join(', ')}.`);
  }
  const row = await tx
    .selectFrom('contracts as c')
    .innerJoin('lenders as l', 'l.id', 'c.lender_id')
    .select(['c.borrower_phone', 'c.borrower_language', 'c.currency', 'c.amount_overdue', 'c.lock_reference', 'l.name', 'l.time_zone'])
    .where('c.id', '=', input.contractId)
    .executeTakeFirst();
  if (!row) throw new LienError('not_found', `Contract ${input.contractId} does not exist.`, { contractId: input.contractId });
  const lang = matchLanguage(row.borrower_language) ?? DEFAULT_LANG;
  const body = renderText(
    input.kind,
    {
      lang,
      lenderName: row.name,
      timeZone: row.time_zone,
      currency: row.currency.trim(),
      amountOverdue: Number(row.amount_overdue),
      lockReference: row.lock_reference,
    },
    input.params ?? {},
  );
  const id = newId('ntf');
  await tx
    .insertInto('notifications')
    .values({
      id,
      contract_id: input.contractId,
      kind: input.kind,
      language: lang,
      channel: 'sms',
      recipient: row.borrower_phone,
      body,
      status: 'pending' satisfies NotificationStatus,
      attempts: 0,
      next_attempt_at: input.at,
      created_at: input.at,
    })
    .execute();
  return { id, language: lang, body };
}

export interface NotificationLogEntry {
  id: string;
  contractId: string;
  kind: string;
  language: string;
  channel: string;
  recipient: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
  /** Where it stands as the lender sees it, the provider's delivery reports included. */
  delivery: DeliveryState;
  provider: string | null;
  deliveredAt: Date | null;
}

export type DeliveryState = { state: 'queued' | 'sent' | 'delivered'; reason: string | null } | { state: 'failed'; reason: string };

/**
 * queued until a provider took it (retries included), sent once one did, then delivered or
 * failed as its delivery report says; failed too when no provider would take it.
 */
export function deliveryState(n: { status: string; last_error: string | null; delivery_status: 'delivered' | 'failed' | null; delivery_detail: string | null }): DeliveryState {
  if (n.delivery_status === 'delivered') return { state: 'delivered', reason: null };
  if (n.delivery_status === 'failed') return { state: 'failed', reason: n.delivery_detail ?? 'the provider reported a failure' };
  if (n.status === 'failed') return { state: 'failed', reason: n.last_error ?? 'not sent' };
  if (n.status === 'sent') return { state: 'sent', reason: n.delivery_detail };
  return { state: 'queued', reason: n.last_error };
}

/** A contract's notifications, newest first: what the borrower was told, and whether it went out. */
export async function listNotifications(db: Kysely<DB>, contractId: string, limit = 100): Promise<NotificationLogEntry[]> {
  const rows = await db
    .selectFrom('notifications')
    .selectAll()
    .where('contract_id', '=', contractId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(Math.trunc(limit), 1), 1000))
    .execute();
  return rows.map((r) => ({
    id: r.id,
    contractId: r.contract_id,
    kind: r.kind,
    language: r.language,
    channel: r.channel,
    recipient: r.recipient,
    body: r.body,
    status: r.status as NotificationStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    delivery: deliveryState(r),
    provider: r.provider,
    deliveredAt: r.delivered_at,
  }));
}
