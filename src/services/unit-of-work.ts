/**
 * The unit of work: every state change of Lien runs in one transaction that also records what
 * the change causes — its audit entry, webhook-event and SMS outbox rows, and the "sync now"
 * nudges for the devices whose policy changed. Nothing is written, audited or nudged outside
 * one, so no entry point (API, console, import, payment rail, sweep) can forget to tell a phone
 * that it was unlocked (guardrail 5).
 *
 * Nudges are sent with pg_notify inside the transaction: PostgreSQL (and PGlite, the same
 * engine) delivers a NOTIFY at commit and never after a rollback, and folds identical payloads
 * of one transaction into one. Every server process LISTENs, the one that made the change
 * included, and pushes the nudge to the device streams it holds (src/server/nudges.ts).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { SignedPolicy } from '../protocol/index.ts';
import type { DB } from '../store/schema.ts';
import { insertMany } from './bulk/sql.ts';
import { audit, auditMany, type AuditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';
import { enqueueNotification, type NotificationKind, type NotificationParams } from './notifications.ts';
import { enqueueWebhookEvent, type WebhookEventType } from './webhooks.ts';

/** What a use case may do to the database: a transaction is a Kysely<DB> too. */
export type Executor = Kysely<DB>;

export interface Effects {
  /** Who made the change (the audit entry's actor). */
  readonly actor: Actor;
  /** The instant of the change: the clock read once when the unit (or its retry) began. */
  readonly now: Date;
  audit(e: AuditEvent): Promise<void>;
  /** Many audit rows at once (imports); the same rows as one audit() each. */
  auditMany(events: readonly AuditEvent[]): Promise<void>;
  webhook(e: { lenderId: string; type: WebhookEventType; data: Record<string, unknown> }): Promise<void>;
  notify(n: { contractId: string; kind: NotificationKind; params?: NotificationParams }): Promise<void>;
  /**
   * Writes new signed policies. Their devices are nudged ("sync now") when the unit commits —
   * once per device, never on rollback — so no change that a phone must enforce can be
   * committed without the phone being told.
   */
  issuePolicies(rows: readonly PolicyRow[]): Promise<void>;
  /** A device's credential was replaced: every process drops the old one (the device is nudged too). */
  credentialReplaced(deviceId: string): void;
}

/** A policies row as the use cases produce it (the body not yet serialised). */
export interface PolicyRow {
  device_id: string;
  version: number;
  stage: string;
  body: SignedPolicy;
  issued_at: Date;
  offline_renew_at: Date | null;
}

const POLICY_COLUMNS = { device_id: 'text', version: 'int4', stage: 'text', body: 'jsonb', issued_at: 'timestamptz', offline_renew_at: 'timestamptz' };

/** The NOTIFY channel nudges travel on (namespaced per schema by the database layer). */
export const NUDGE_CHANNEL = 'lien_nudge';
// A NOTIFY payload must stay under 8000 bytes; device ids are about 30 characters.
const NUDGE_PAYLOAD_BYTES = 7900;

/** The device ids of one nudge notification. */
export function nudgedDevices(payload: string): string[] {
  return payload ? payload.split(',') : [];
}

/** Device ids packed into as few notification payloads as fit. */
export function nudgePayloads(deviceIds: Iterable<string>): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const id of deviceIds) {
    if (current && Buffer.byteLength(current) + 1 + Buffer.byteLength(id) > NUDGE_PAYLOAD_BYTES) {
      payloads.push(current);
      current = '';
    }
    current = current ? `${current},${id}` : id;
  }
  if (current) payloads.push(current);
  return payloads;
}

class UnitEffects implements Effects {
  readonly nudged = new Set<string>();

  constructor(
    private readonly tx: Executor,
    readonly actor: Actor,
    readonly now: Date,
  ) {}

  audit(e: AuditEvent): Promise<void> {
    return audit(this.tx, this.actor, this.now, e);
  }

  auditMany(events: readonly AuditEvent[]): Promise<void> {
    return auditMany(this.tx, this.actor, this.now, events);
  }

  async webhook(e: { lenderId: string; type: WebhookEventType; data: Record<string, unknown> }): Promise<void> {
    await enqueueWebhookEvent(this.tx, { ...e, at: this.now });
  }

  async notify(n: { contractId: string; kind: NotificationKind; params?: NotificationParams }): Promise<void> {
    await enqueueNotification(this.tx, { ...n, at: this.now });
  }

  async issuePolicies(rows: readonly PolicyRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One row (a payment, a claim) is the unlock latency path: a plain INSERT; many go set-based.
    if (rows.length === 1) await this.tx.insertInto('policies').values({ ...rows[0]!, body: JSON.stringify(rows[0]!.body) }).execute();
    else await insertMany(this.tx, 'policies', POLICY_COLUMNS, rows);
    for (const r of rows) this.nudge(r.device_id);
  }

  credentialReplaced(deviceId: string): void {
    this.nudge(deviceId);
  }

  private nudge(deviceId: string): void {
    this.nudged.add(deviceId);
  }

  /** Queues the nudges on the transaction: the database sends them if, and when, it commits. */
  async queueNudges(channel: string): Promise<void> {
    for (const payload of nudgePayloads(this.nudged)) await sql`SELECT pg_notify(${channel}, ${payload})`.execute(this.tx);
  }
}

/** Deadlock and serialization failure: PostgreSQL rolled the unit back and a retry can succeed. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 4;

function retryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && RETRYABLE.has(String((e as { code?: unknown }).code));
}

/**
 * Runs `work` as one unit of work. A deadlock or serialization failure rolls everything back,
 * effects included, so the unit is simply run again (a few times, after a short random pause
 * that keeps the contenders from colliding again in step); `work` must therefore not act
 * outside the database before it returns.
 */
export async function commit<T>(s: Services, actor: Actor, work: (tx: Executor, fx: Effects) => Promise<T>): Promise<T> {
  const channel = s.database.channelName(NUDGE_CHANNEL);
  for (let attempt = 1; ; attempt++) {
    try {
      let fx: UnitEffects | undefined;
      const result = await s.db.transaction().execute(async (tx) => {
        fx = new UnitEffects(tx, actor, s.clock.now());
        const out = await work(tx, fx);
        await fx.queueNudges(channel);
        return out;
      });
      // This process learns at once what the unit outdated; the nudges themselves travel
      // through the database, to this process as to every other.
      if (fx?.nudged.size) s.committed?.([...fx.nudged]);
      return result;
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !retryable(e)) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

/** A unit of work whose only change is its audit entry: a lookup or refusal that is recorded. */
export function recordAudit(s: Services, actor: Actor, e: AuditEvent): Promise<void> {
  return commit(s, actor, (_tx, fx) => fx.audit(e));
}
