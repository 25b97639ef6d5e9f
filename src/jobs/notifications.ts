/**
 * The borrower notification outbox. A notification is rendered when it is enqueued — in the
 * borrower's language, with the amounts and dates of that moment — and stored as final text, so
 * what was sent is exactly what the log shows, whatever changes later. An adapter delivers it
 * (SMS through an HTTP gateway, or the console in development); failures are retried on the
 * shared schedule.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.ts';
import { findCurrency } from '../domain/currency.ts';
import { LienError } from '../domain/errors.ts';
import { DEFAULT_LANG, formatDate, formatDateTime, formatMoney, matchLanguage, placeholdersOf, t, type Lang, type MessageKey } from '../i18n/index.ts';
import { newId } from '../store/ids.ts';
import type { DB } from '../store/schema.ts';
import {
  DEFAULT_RETRY_POLICY,
  PermanentDeliveryError,
  afterFailure,
  claimDue,
  describeError,
  readSnippet,
  recordAttempt,
  truncate,
  type RetryPolicy,
} from './delivery.ts';

export const NOTIFICATION_KINDS = [
  'reminder',
  'notice',
  'lock',
  'unlock',
  'release',
  'claim_received',
  'claim_approved',
  'claim_rejected',
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
  }));
}

// ---------------------------------------------------------------------------------------------
// Adapters

export interface OutgoingMessage {
  /** The notification id: a gateway that dedupes on it sends a retried message once. */
  id: string;
  to: string;
  text: string;
}

/**
 * Delivers one message. Resolves when the channel accepted it; throws when it did not — a
 * PermanentDeliveryError when retrying cannot help.
 */
export interface NotificationAdapter {
  send(message: OutgoingMessage): Promise<void>;
}

/** Development: writes each message to the log instead of sending it. */
export class ConsoleAdapter implements NotificationAdapter {
  private readonly log: (line: string) => void;
  constructor(opts: { log?: (line: string) => void } = {}) {
    this.log = opts.log ?? ((line) => console.log(line));
  }
  async send(m: OutgoingMessage): Promise<void> {
    this.log(`[sms ${m.id}] to ${m.to}: ${m.text}`);
  }
}

export const SMS_TIMEOUT_MS = 10_000;

/**
 * Any SMS gateway that takes a JSON POST `{ to, text, reference }` with a bearer token (most
 * aggregators do, or a small relay in front of one). 2xx means accepted. A 4xx other than 408
 * and 429 means the gateway refuses this message as it is, so it is not retried.
 */
export class HttpSmsGatewayAdapter implements NotificationAdapter {
  private readonly url: string;
  private readonly token: string;
  private readonly doFetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: { url: string; token: string; fetch?: typeof fetch; timeoutMs?: number }) {
    let parsed: URL;
    try {
      parsed = new URL(opts.url);
    } catch {
      throw new LienError('invalid_input', `The SMS gateway URL "${opts.url}" is not an absolute http(s) address.`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new LienError('invalid_input', `The SMS gateway URL must start with https:// (or http://), not ${parsed.protocol}`);
    }
    if (!opts.token) throw new LienError('invalid_input', 'The SMS gateway needs an API token.');
    this.url = parsed.toString();
    this.token = opts.token;
    this.doFetch = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? SMS_TIMEOUT_MS;
  }

  async send(m: OutgoingMessage): Promise<void> {
    let res: Response;
    try {
      res = await this.doFetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}`, 'user-agent': 'Lien-Notifications/1' },
        body: JSON.stringify({ to: m.to, text: m.text, reference: m.id }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new Error(timedOut ? `SMS gateway gave no answer within ${this.timeoutMs / 1000} s` : `SMS gateway unreachable: ${describeError(e)}`);
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {});
      return;
    }
    const snippet = await readSnippet(res);
    const message = truncate(`SMS gateway answered HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, 500);
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    throw permanent ? new PermanentDeliveryError(message) : new Error(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Worker

export interface NotificationRunOptions {
  adapter: NotificationAdapter;
  clock: Clock;
  batchSize?: number;
  policy?: RetryPolicy;
  random?: () => number;
}

export interface NotificationRunStats {
  claimed: number;
  sent: number;
  retrying: number;
  failed: number;
  stale: number;
}

/**
 * Sends one batch of due notifications: claimed in a short transaction (FOR UPDATE SKIP LOCKED),
 * sent with no transaction open, each result recorded on its own; safe with several processes.
 */
export async function runNotificationDeliveries(db: Kysely<DB>, opts: NotificationRunOptions): Promise<NotificationRunStats> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const random = opts.random ?? Math.random;
  const stats: NotificationRunStats = { claimed: 0, sent: 0, retrying: 0, failed: 0, stale: 0 };
  const claimed = await claimDue(db, 'notifications', { now: opts.clock.now(), limit: opts.batchSize ?? 50, policy });
  stats.claimed = claimed.length;
  await Promise.all(
    claimed.map(async (n) => {
      let error: unknown = null;
      try {
        await opts.adapter.send({ id: n.id, to: n.recipient, text: n.body });
      } catch (e) {
        error = e;
      }
      const now = opts.clock.now();
      let recorded: boolean;
      if (error === null) {
        recorded = await recordAttempt(db, 'notifications', n, { status: 'sent', sent_at: now, next_attempt_at: null, last_error: null });
        if (recorded) stats.sent++;
      } else {
        const next = error instanceof PermanentDeliveryError ? ({ status: 'failed', nextAttemptAt: null } as const) : afterFailure(policy, n.attempts, now, random);
        recorded = await recordAttempt(db, 'notifications', n, { status: next.status, next_attempt_at: next.nextAttemptAt, last_error: describeError(error) });
        if (recorded) stats[next.status === 'failed' ? 'failed' : 'retrying']++;
      }
      if (!recorded) stats.stale++;
    }),
  );
  return stats;
}
