/**
 * Delinquency after Apache Fineract: a contract is overdue since the due date of its oldest
 * installment that is not fully paid and fell due before the business date; days past due count
 * from there in the lender's calendar, less grace days and days paused by an open dispute.
 * A due date is the last day to pay: an installment due today is not overdue yet.
 */
import { COMPONENTS, zeroComponents, type Allocation, type Components } from './allocation.ts';
import { assertPlainDate, compareDates, diffDays, type PlainDate } from './dates.ts';
import { LienError } from './errors.ts';
import { assertMinor } from './money.ts';
import type { Installment } from './schedule.ts';

export interface Bucket {
  name: string;
  minDays: number;
  /** null: no upper bound. */
  maxDays: number | null;
}

/** Fineract-style delinquency ranges; a contract at 0 DPD is in no bucket. */
export const DEFAULT_BUCKETS: readonly Bucket[] = Object.freeze([
  { name: '1-30', minDays: 1, maxDays: 30 },
  { name: '31-60', minDays: 31, maxDays: 60 },
  { name: '61-90', minDays: 61, maxDays: 90 },
  { name: '91-180', minDays: 91, maxDays: 180 },
  { name: '181+', minDays: 181, maxDays: null },
]);

export interface DelinquencyInstallment extends Installment {
  /** What has been paid of each component; ignored when `allocation` is given. */
  paid?: Partial<Components>;
}

export interface DelinquencyInput {
  installments: readonly DelinquencyInstallment[];
  /** The result of `allocate` over the same installments; takes precedence over inline `paid`. */
  allocation?: Pick<Allocation, 'installments'>;
  businessDate: PlainDate;
  graceDays: number;
  /** Days within the overdue period during which an open dispute paused the count. */
  pausedDays?: number;
  buckets?: readonly Bucket[];
}

export interface Delinquency {
  overdueSince: PlainDate | null;
  /** After grace and paused days; never negative. */
  daysPastDue: number;
  /** businessDate − overdueSince, before grace and pauses. */
  daysPastDueRaw: number;
  /** Unpaid amounts of installments due before the business date. */
  amountOverdue: number;
  /** Due date of the oldest installment not fully paid, due or not. */
  oldestUnpaidDueDate: PlainDate | null;
  /** Due date of the first unpaid installment due on or after the business date. */
  nextDueDate: PlainDate | null;
  /** What is still owed on that installment. */
  nextDueAmount: number;
  bucket: string | null;
  /** Every installment fully paid (false for an empty schedule: no schedule is not a paid loan). */
  paidOff: boolean;
  /** Everything still owed on the schedule. */
  outstanding: number;
}

export function delinquency(input: DelinquencyInput): Delinquency {
  const businessDate = assertPlainDate(input.businessDate, 'businessDate');
  const graceDays = wholeDays(input.graceDays, 'graceDays');
  const pausedDays = wholeDays(input.pausedDays ?? 0, 'pausedDays');
  const buckets = validateBuckets(input.buckets ?? DEFAULT_BUCKETS);
  const paidByN = input.allocation ? new Map(input.allocation.installments.map((a) => [a.n, a.paid])) : null;

  const owed = input.installments
    .map((i) => {
      assertPlainDate(i.dueDate, `installment ${i.n} dueDate`);
      const paid = paidByN ? (paidByN.get(i.n) ?? zeroComponents()) : { ...zeroComponents(), ...i.paid };
      let left = 0;
      for (const c of COMPONENTS) {
        const due = assertMinor(i[c], { field: `installment ${i.n} ${c}` });
        const got = assertMinor(paid[c], { field: `installment ${i.n} paid ${c}` });
        if (got > due) {
          throw new LienError('invalid_input', `Installment ${i.n} shows ${got} paid of ${c} but only ${due} is due; re-run the allocation.`, { n: i.n, component: c });
        }
        left += due - got;
      }
      return { n: i.n, dueDate: i.dueDate, left };
    })
    .sort((a, b) => compareDates(a.dueDate, b.dueDate) || a.n - b.n);

  const unpaid = owed.filter((i) => i.left > 0);
  const overdue = unpaid.filter((i) => compareDates(i.dueDate, businessDate) < 0);
  const next = unpaid.find((i) => compareDates(i.dueDate, businessDate) >= 0) ?? null;

  const overdueSince = overdue[0]?.dueDate ?? null;
  const daysPastDueRaw = overdueSince === null ? 0 : diffDays(businessDate, overdueSince);
  const daysPastDue = Math.max(0, daysPastDueRaw - graceDays - pausedDays);
  return {
    overdueSince,
    daysPastDue,
    daysPastDueRaw,
    amountOverdue: overdue.reduce((a, i) => a + i.left, 0),
    oldestUnpaidDueDate: unpaid[0]?.dueDate ?? null,
    nextDueDate: next?.dueDate ?? null,
    nextDueAmount: next?.left ?? 0,
    bucket: bucketFor(daysPastDue, buckets),
    paidOff: owed.length > 0 && unpaid.length === 0,
    outstanding: unpaid.reduce((a, i) => a + i.left, 0),
  };
}

export function bucketFor(daysPastDue: number, buckets: readonly Bucket[] = DEFAULT_BUCKETS): string | null {
  const hit = buckets.find((b) => daysPastDue >= b.minDays && (b.maxDays === null || daysPastDue <= b.maxDays));
  return hit?.name ?? null;
}

function wholeDays(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new LienError('invalid_input', `${field} must be a whole number of days, 0 or more; got ${String(value)}.`, { field, value });
  }
  return value;
}

/** Buckets must be named and must not overlap, or a contract could be in two at once. */
export function validateBuckets(buckets: readonly Bucket[]): readonly Bucket[] {
  if (!Array.isArray(buckets)) throw new LienError('invalid_input', 'buckets must be a list.', { field: 'buckets' });
  const sorted = [...buckets].sort((a, b) => a.minDays - b.minDays);
  sorted.forEach((b, i) => {
    const bad = (why: string): never => {
      throw new LienError('invalid_input', `Delinquency bucket ${JSON.stringify(b?.name)}: ${why}.`, { field: 'buckets', bucket: b });
    };
    if (typeof b?.name !== 'string' || b.name.trim() === '') bad('needs a name');
    if (!Number.isInteger(b.minDays) || b.minDays < 0) bad('minDays must be a whole number, 0 or more');
    if (b.maxDays !== null && (!Number.isInteger(b.maxDays) || b.maxDays < b.minDays)) bad('maxDays must be null or a whole number not below minDays');
    const prev = sorted[i - 1];
    if (prev && (prev.maxDays === null || prev.maxDays >= b.minDays)) bad(`overlaps bucket ${JSON.stringify(prev.name)}`);
  });
  return buckets;
}
