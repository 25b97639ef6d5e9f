/**
 * Delivers the borrower notification outbox: an adapter sends each due message (SMS through an
 * HTTP gateway, or the console in development); failures are retried on the shared schedule.
 * Messages are rendered and queued by the use cases (src/services/notifications.ts).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.ts';
import { LienError } from '../domain/errors.ts';
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
import { maskLongNumbers } from '../store/loggable.ts';

export interface OutgoingMessage {
  /** The notification id: a gateway that dedupes on it sends a retried message once. */
  id: string;
  to: string;
  text: string;
}

/** Which provider took a message and its id there, matched later against delivery reports. */
export interface SentReceipt {
  provider: string;
  messageId: string;
}

/**
 * Delivers one message. Resolves when the channel accepted it (with the provider's message id
 * when it gives one); throws when it did not — a PermanentDeliveryError when retrying cannot help.
 */
export interface NotificationAdapter {
  send(message: OutgoingMessage): Promise<void | SentReceipt>;
}

/** Development: writes each message to the log instead of sending it. */
export class ConsoleAdapter implements NotificationAdapter {
  private readonly log: (line: string) => void;
  constructor(opts: { log?: (line: string) => void } = {}) {
    this.log = opts.log ?? ((line) => console.log(line));
  }
  async send(m: OutgoingMessage): Promise<void> {
    // A log is no place for a borrower's phone number: the last digits tell messages apart.
    this.log(`[sms ${m.id}] to ${maskLongNumbers(m.to)}: ${m.text}`);
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
  /** The server's default: for lenders without a provider of their own. */
  adapter: NotificationAdapter;
  /** The lender's own provider (src/jobs/sms-providers.ts), when it has one. */
  adapterFor?: (lenderId: string) => Promise<NotificationAdapter | null>;
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
  const adapters = await adaptersFor(db, claimed.map((n) => n.contract_id), opts);
  await Promise.all(
    claimed.map(async (n) => {
      let error: unknown = null;
      let receipt: void | SentReceipt = undefined;
      try {
        receipt = await (adapters.get(n.contract_id) ?? opts.adapter).send({ id: n.id, to: n.recipient, text: n.body });
      } catch (e) {
        error = e;
      }
      const now = opts.clock.now();
      let recorded: boolean;
      if (error === null) {
        const sentBy = receipt ? { provider: receipt.provider, provider_message_id: receipt.messageId } : {};
        recorded = await recordAttempt(db, 'notifications', n, { status: 'sent', sent_at: now, next_attempt_at: null, last_error: null, ...sentBy });
        if (recorded) stats.sent++;
      } else {
        const next = error instanceof PermanentDeliveryError ? ({ status: 'failed', nextAttemptAt: null } as const) : afterFailure(policy, n.attempts, now, random);
        // Providers quote the number they refused; the log keeps its last digits only.
        recorded = await recordAttempt(db, 'notifications', n, { status: next.status, next_attempt_at: next.nextAttemptAt, last_error: maskLongNumbers(describeError(error)) });
        if (recorded) stats[next.status === 'failed' ? 'failed' : 'retrying']++;
      }
      if (!recorded) stats.stale++;
    }),
  );
  return stats;
}

/** Each claimed message's adapter: its lender's provider, once per lender per run. */
async function adaptersFor(db: Kysely<DB>, contractIds: string[], opts: NotificationRunOptions): Promise<Map<string, NotificationAdapter>> {
  const out = new Map<string, NotificationAdapter>();
  if (!opts.adapterFor || contractIds.length === 0) return out;
  const rows = await db.selectFrom('contracts').select(['id', 'lender_id']).where('id', 'in', [...new Set(contractIds)]).execute();
  const byLender = new Map<string, Promise<NotificationAdapter | null>>();
  for (const r of rows) {
    // A provider that cannot be set up (its secret does not open) fails its messages, to be
    // retried, rather than sending them through the server's default behind the lender's back.
    if (!byLender.has(r.lender_id)) byLender.set(r.lender_id, opts.adapterFor(r.lender_id).catch((e: unknown) => ({ send: () => Promise.reject(e) })));
    const a = await byLender.get(r.lender_id)!;
    if (a) out.set(r.id, a);
  }
  return out;
}
