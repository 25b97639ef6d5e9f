/**
 * The numbers on the console's dashboard, for one lender. Everything is derived from what is
 * already recorded: contracts for stages and arrears, the audit log for locks and unlocks, and
 * the device's own `unlocked` event (which names the policy version it unlocked on) for how long
 * a paying borrower waited.
 */
import { openSuspenseCount } from '../rails/suspense.ts';
import { sql, type Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import { addDays, businessDateIn } from '../../domain/dates.ts';
import { HELD_REASONS } from '../../domain/stage.ts';
import type { DB } from '../../store/schema.ts';
import { isStale } from '../settings.ts';

export interface DayCount {
  day: string;
  locks: number;
  unlocks: number;
}

export interface HeldLock {
  contractId: string;
  deviceId: string;
  serial: string;
  reason: string;
  amountOverdue: number;
  since: Date | null;
}

/** Portfolio at risk: contracts whose oldest unpaid installment is at least `days` past due. */
export interface ParBucket {
  days: 1 | 30 | 60 | 90;
  contracts: number;
  /** Outstanding balance of those contracts (minor units): the money at risk. */
  outstanding: number;
  /** What of it is overdue. */
  overdue: number;
}

export interface Dashboard {
  currency: string;
  par: ParBucket[];
  /** Outstanding balance of the whole active book (minor units), to read PAR as a share. */
  bookOutstanding: number;
  timeZone: string;
  stages: Record<string, number>;
  statuses: Record<string, number>;
  overdue: { amount: number; contracts: number };
  perDay: DayCount[];
  held: HeldLock[];
  staleChannels: { channel: string; lastReportedAt: Date | null; freshnessMinutes: number }[];
  /** Rail payments that matched no open contract, waiting to be assigned or refunded. */
  suspenseOpen: number;
  /** Seconds from a payment being posted to the device reporting the unlock it caused. */
  unlockLatency: { samples: number; p50: number | null; p95: number | null };
}

const DAYS = 30;
/** A payment counts as the cause of an unlock evaluated within this long after it was posted. */
const CAUSE_WINDOW_MS = 60_000;

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function localDay(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

export async function dashboard(db: Kysely<DB>, lenderId: string, now: Date): Promise<Dashboard> {
  const lender = await db.selectFrom('lenders').select(['currency', 'time_zone']).where('id', '=', lenderId).executeTakeFirst();
  if (!lender) throw new LienError('not_found', `No lender ${lenderId}`);
  const since = new Date(now.getTime() - DAYS * 86_400_000);

  const byStage = await db
    .selectFrom('contracts')
    .select(['status', 'stage', sql<string>`count(*)::text`.as('n')])
    .where('lender_id', '=', lenderId)
    .groupBy(['status', 'stage'])
    .execute();
  const stages: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  for (const r of byStage) {
    statuses[r.status] = (statuses[r.status] ?? 0) + Number(r.n);
    if (r.status === 'active') stages[r.stage] = (stages[r.stage] ?? 0) + Number(r.n);
  }

  const overdueRow = await db
    .selectFrom('contracts')
    .select([sql<string>`coalesce(sum(amount_overdue), 0)::text`.as('amount'), sql<string>`count(*)::text`.as('n')])
    .where('lender_id', '=', lenderId)
    .where('status', '=', 'active')
    .where('amount_overdue', '>', 0)
    .executeTakeFirstOrThrow();

  const transitions = await db
    .selectFrom('audit_log')
    .select(['at', 'action', 'subject_id', 'data'])
    .where('lender_id', '=', lenderId)
    .where('action', 'in', ['device.locked', 'device.unlocked'])
    .where('at', '>=', since)
    .where('at', '<=', now)
    .orderBy('seq')
    .execute();
  const perDay = new Map<string, DayCount>();
  for (let i = DAYS - 1; i >= 0; i--) {
    const day = localDay(new Date(now.getTime() - i * 86_400_000), lender.time_zone);
    perDay.set(day, { day, locks: 0, unlocks: 0 });
  }
  for (const t of transitions) {
    const d = perDay.get(localDay(t.at, lender.time_zone));
    if (!d) continue;
    if (t.action === 'device.locked') d.locks++;
    else d.unlocks++;
  }

  const today = businessDateIn(lender.time_zone, now);
  const parRows = await db
    .selectFrom('contracts')
    .select([
      ...([1, 30, 60, 90] as const).flatMap((days) => {
        const cutoff = addDays(today, -days);
        return [
          sql<string>`count(*) FILTER (WHERE oldest_unpaid_due_date <= ${cutoff})::text`.as(`n${days}`),
          sql<string>`coalesce(sum(outstanding) FILTER (WHERE oldest_unpaid_due_date <= ${cutoff}), 0)::text`.as(`o${days}`),
          sql<string>`coalesce(sum(amount_overdue) FILTER (WHERE oldest_unpaid_due_date <= ${cutoff}), 0)::text`.as(`d${days}`),
        ];
      }),
      sql<string>`coalesce(sum(outstanding), 0)::text`.as('book'),
    ])
    .where('lender_id', '=', lenderId)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  const parOf = (r: Record<string, string>) =>
    ([1, 30, 60, 90] as const).map((days) => ({ days, contracts: Number(r[`n${days}`]), outstanding: Number(r[`o${days}`]), overdue: Number(r[`d${days}`]) }));

  const heldRows = await db
    .selectFrom('contracts')
    .innerJoin('devices', 'devices.id', 'contracts.device_id')
    .select(['contracts.id', 'contracts.device_id', 'devices.serial', 'contracts.stage_reason', 'contracts.amount_overdue', 'contracts.stage_changed_at'])
    .where('contracts.lender_id', '=', lenderId)
    .where('contracts.status', '=', 'active')
    .where('contracts.stage_reason', 'in', HELD_REASONS)
    .orderBy('contracts.amount_overdue', 'desc')
    .limit(50)
    .execute();

  const channels = await db.selectFrom('payment_channels').selectAll().where('lender_id', '=', lenderId).orderBy('channel').execute();

  return {
    currency: lender.currency,
    par: parOf(parRows as unknown as Record<string, string>),
    bookOutstanding: Number(parRows.book),
    timeZone: lender.time_zone,
    stages,
    statuses,
    overdue: { amount: Number(overdueRow.amount), contracts: Number(overdueRow.n) },
    perDay: [...perDay.values()],
    held: heldRows.map((r) => ({ contractId: r.id, deviceId: r.device_id, serial: r.serial, reason: r.stage_reason ?? '', amountOverdue: r.amount_overdue, since: r.stage_changed_at })),
    suspenseOpen: await openSuspenseCount(db, lenderId),
    staleChannels: channels
      .filter((c) => isStale(c.last_reported_at, c.freshness_minutes, now))
      .map((c) => ({ channel: c.channel, lastReportedAt: c.last_reported_at, freshnessMinutes: c.freshness_minutes })),
    unlockLatency: await unlockLatency(db, transitions.filter((t) => t.action === 'device.unlocked')),
  };
}

/**
 * For each unlock in the window that a payment caused: posted_at of that payment → when the
 * server received the device's `unlocked` event for the policy version of the unlock.
 */
async function unlockLatency(db: Kysely<DB>, unlocks: { at: Date; subject_id: string; data: unknown }[]): Promise<Dashboard['unlockLatency']> {
  const wanted = unlocks
    .map((u) => {
      const d = (u.data ?? {}) as { contractId?: unknown; policyVersion?: unknown };
      return typeof d.contractId === 'string' && typeof d.policyVersion === 'number' ? { at: u.at, deviceId: u.subject_id, contractId: d.contractId, policyVersion: d.policyVersion } : null;
    })
    .filter((u) => u !== null)
    .slice(-2000);
  if (wanted.length === 0) return { samples: 0, p50: null, p95: null };
  const contractIds = [...new Set(wanted.map((w) => w.contractId))];
  const deviceIds = [...new Set(wanted.map((w) => w.deviceId))];
  const earliest = new Date(Math.min(...wanted.map((w) => w.at.getTime())) - CAUSE_WINDOW_MS);
  const payments = await db
    .selectFrom('payments')
    .select(['contract_id', 'posted_at'])
    .where('contract_id', 'in', contractIds)
    .where('posted_at', '>=', earliest)
    .orderBy('posted_at')
    .execute();
  const events = await db
    .selectFrom('device_events')
    .select(['device_id', 'detail', 'received_at'])
    .where('device_id', 'in', deviceIds)
    .where('kind', '=', 'unlocked')
    .where('received_at', '>=', earliest)
    .orderBy('id')
    .execute();
  const samples: number[] = [];
  for (const w of wanted) {
    const cause = payments.filter((p) => p.contract_id === w.contractId && p.posted_at <= w.at && w.at.getTime() - p.posted_at.getTime() <= CAUSE_WINDOW_MS).at(-1);
    if (!cause) continue;
    const shown = events.find((e) => e.device_id === w.deviceId && (e.detail as { policyVersion?: unknown } | null)?.policyVersion === w.policyVersion && e.received_at >= cause.posted_at);
    if (!shown) continue;
    samples.push((shown.received_at.getTime() - cause.posted_at.getTime()) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { samples: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95) };
}
