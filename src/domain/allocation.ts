/**
 * Payment allocation (DESIGN.md §3): a pure function of the schedule and the standing payments.
 * Payments are applied in the order they were received (ties broken by id), each to the oldest
 * installment that still owes something, and within an installment by component order (default
 * penalty → fee → interest → principal, Fineract's usual strategy). Money left when the whole
 * schedule is paid is credit. A payment received early simply pays ahead.
 *
 * A reversal is not an undo step: the caller drops the payment (or marks it `reversed`) and the
 * whole list is re-played, so the result never depends on when the reversal happened.
 */
import { assertPlainDate, compareDates, isPlainDate, type PlainDate } from './dates.ts';
import { LienError } from './errors.ts';
import { assertMinor, assertPositiveMinor, sumMinor } from './money.ts';
import type { Installment } from './schedule.ts';

export type Component = 'penalty' | 'fee' | 'interest' | 'principal';
export type Components = Record<Component, number>;

export const COMPONENTS: readonly Component[] = Object.freeze(['penalty', 'fee', 'interest', 'principal']);
export const DEFAULT_ALLOCATION_ORDER: readonly Component[] = COMPONENTS;

export interface PaymentInput {
  id: string;
  /** Minor units, > 0. */
  amount: number;
  /** ISO instant ('2026-03-01T10:15:00Z') or a plain date ('2026-03-01', read as UTC midnight). */
  receivedAt: string;
  reversed?: boolean;
}

export interface AllocationInput {
  installments: readonly Installment[];
  payments: readonly PaymentInput[];
  order?: readonly Component[];
}

export interface InstallmentAllocation {
  n: number;
  dueDate: PlainDate;
  due: Components;
  paid: Components;
  /** due − paid, summed over components. */
  outstanding: number;
  /** receivedAt of the payment that completed it; null while anything is owed, or when it never owed anything. */
  paidOffAt: string | null;
}

export interface PaymentSplit {
  n: number;
  amounts: Components;
}

export interface PaymentAllocation {
  id: string;
  amount: number;
  receivedAt: string;
  reversed: boolean;
  /** Where the money went, installment by installment; empty for a reversed payment. */
  splits: PaymentSplit[];
  /** The part of this payment that found nothing left to pay. */
  toCredit: number;
}

export interface Allocation {
  installments: InstallmentAllocation[];
  /** In application order (receivedAt, then id); reversed payments last, in the same order. */
  payments: PaymentAllocation[];
  totalPaid: number;
  credit: number;
  outstanding: number;
}

export function zeroComponents(): Components {
  return { penalty: 0, fee: 0, interest: 0, principal: 0 };
}

export function componentsTotal(c: Components): number {
  return c.penalty + c.fee + c.interest + c.principal;
}

export function allocate(input: AllocationInput): Allocation {
  const order = validateOrder(input.order ?? DEFAULT_ALLOCATION_ORDER);
  const installments = validateInstallments(input.installments);
  const payments = validatePayments(input.payments);

  const rows: InstallmentAllocation[] = installments.map((i) => {
    const due: Components = { penalty: i.penalty, fee: i.fee, interest: i.interest, principal: i.principal };
    return { n: i.n, dueDate: i.dueDate, due, paid: zeroComponents(), outstanding: componentsTotal(due), paidOffAt: null };
  });
  // Oldest due first; same due date by installment number.
  const queue = [...rows].sort((a, b) => compareDates(a.dueDate, b.dueDate) || a.n - b.n);

  const sorted = [...payments].sort((a, b) => a.at - b.at || compareIds(a.id, b.id));
  const standing = sorted.filter((p) => !p.reversed);
  const results: PaymentAllocation[] = [];
  let credit = 0;
  let cursor = 0;
  for (const p of standing) {
    let left = p.amount;
    const splits: PaymentSplit[] = [];
    while (left > 0 && cursor < queue.length) {
      const row = queue[cursor]!;
      const amounts = zeroComponents();
      for (const c of order) {
        const take = Math.min(left, row.due[c] - row.paid[c]);
        if (take <= 0) continue;
        row.paid[c] += take;
        amounts[c] += take;
        left -= take;
      }
      const applied = componentsTotal(amounts);
      if (applied > 0) {
        row.outstanding -= applied;
        splits.push({ n: row.n, amounts });
      }
      if (row.outstanding === 0) {
        if (applied > 0) row.paidOffAt = p.receivedAt;
        cursor++;
      }
    }
    credit += left;
    results.push({ id: p.id, amount: p.amount, receivedAt: p.receivedAt, reversed: false, splits, toCredit: left });
  }
  for (const p of sorted.filter((x) => x.reversed)) {
    results.push({ id: p.id, amount: p.amount, receivedAt: p.receivedAt, reversed: true, splits: [], toCredit: 0 });
  }

  const totalPaid = sumMinor(standing.map((p) => p.amount), 'totalPaid');
  const outstanding = sumMinor(rows.map((r) => r.outstanding), 'outstanding');
  return { installments: rows, payments: results, totalPaid, credit, outstanding };
}

/** Code-unit comparison: locale-independent, so every process orders ties the same way. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validateOrder(order: readonly unknown[]): readonly Component[] {
  const ok = Array.isArray(order) && order.length === COMPONENTS.length && COMPONENTS.every((c) => order.includes(c));
  if (!ok) {
    throw new LienError('invalid_input', `The allocation order must list penalty, fee, interest and principal, each once; got ${JSON.stringify(order)}.`, {
      field: 'order',
      value: order,
    });
  }
  return order as readonly Component[];
}

function validateInstallments(list: readonly Installment[]): readonly Installment[] {
  if (!Array.isArray(list)) throw new LienError('invalid_input', 'installments must be a list.', { field: 'installments' });
  const seen = new Set<number>();
  for (const i of list) {
    if (!Number.isInteger(i?.n) || seen.has(i.n)) {
      throw new LienError('invalid_input', `Each installment needs its own whole number n; got ${JSON.stringify(i?.n)}.`, { field: 'n', value: i?.n });
    }
    seen.add(i.n);
    assertPlainDate(i.dueDate, `installment ${i.n} dueDate`);
    for (const c of COMPONENTS) assertMinor(i[c], { field: `installment ${i.n} ${c}` });
  }
  return list;
}

interface ParsedPayment {
  id: string;
  amount: number;
  receivedAt: string;
  at: number;
  reversed: boolean;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function validatePayments(list: readonly PaymentInput[]): ParsedPayment[] {
  if (!Array.isArray(list)) throw new LienError('invalid_input', 'payments must be a list.', { field: 'payments' });
  const seen = new Set<string>();
  return list.map((p) => {
    if (typeof p?.id !== 'string' || p.id === '' || seen.has(p.id)) {
      throw new LienError('invalid_input', `Each payment needs its own non-empty id; got ${JSON.stringify(p?.id)}.`, { field: 'id', value: p?.id });
    }
    seen.add(p.id);
    const amount = assertPositiveMinor(p.amount, `payment ${p.id} amount`);
    // A local time without an offset would be read in the process's zone: refuse it.
    const at = typeof p.receivedAt === 'string' && INSTANT.test(p.receivedAt) && isPlainDate(p.receivedAt.slice(0, 10)) ? Date.parse(p.receivedAt) : NaN;
    if (Number.isNaN(at)) {
      throw new LienError('invalid_input', `Payment ${p.id}: receivedAt must be an ISO instant with Z or an offset (2026-03-01T10:15:00Z) or a date (2026-03-01); got ${JSON.stringify(p.receivedAt)}.`, {
        field: 'receivedAt',
        value: p.receivedAt,
      });
    }
    return { id: p.id, amount, receivedAt: p.receivedAt, at, reversed: p.reversed === true };
  });
}
