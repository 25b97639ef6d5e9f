/**
 * Early payoff (DESIGN.md §3): what a borrower pays on a given business date to settle a contract
 * for good, and the schedule that payment settles. Pure: plain values in, a quote out.
 *
 * - Installments due on or before the payoff date are owed in full (whatever is unpaid of their
 *   principal, interest, fees and penalties).
 * - Of the installments not yet due, the principal is owed; their fees are not (a fee is charged
 *   with an installment; a contract settled early has no more installments).
 * - Their interest depends on the method (Apache Fineract's foreclosure for declining balance):
 *   - declining: interest accrued to the payoff date on the current period only — the current
 *     installment's interest in proportion to the days of its period that have passed;
 *   - flat, by the lender's rebate rule (compliance profile `earlyPayoffRebate`):
 *     - `none`: all scheduled interest, no rebate;
 *     - `actuarial`: the remaining payments discounted to the payoff date at the contract's
 *       effective periodic rate (the rate at which the scheduled payments repay the financed
 *       amount): interest earned to the date, no more;
 *     - `rule_of_78`: the sum-of-digits rebate F·m(m+1)/(n(n+1)) of the total interest F, n the
 *       number of installments and m the full periods left after the current one (the period the
 *       payoff falls in counts as earned).
 * - Amounts already paid towards installments not yet due count against what is owed.
 *
 * Money is integer minor units; every division rounds half up, once, at the end of its term.
 */
import { addMonthsClamped, addDays, compareDates, diffDays, type PlainDate } from './dates.ts';
import { LienError } from './errors.ts';
import type { RebateRule } from './compliance.ts';
import type { AmortizationMethod, Frequency } from './schedule.ts';

export interface PayoffComponents {
  principal: number;
  interest: number;
  fee: number;
  penalty: number;
}

export interface PayoffInstallment extends PayoffComponents {
  n: number;
  dueDate: PlainDate;
  paid: PayoffComponents;
}

export interface PayoffInput {
  method: AmortizationMethod;
  frequency: Frequency;
  installments: readonly PayoffInstallment[];
  /** The business date the borrower pays on (the lender's calendar). */
  payoffDate: PlainDate;
  /** Flat contracts only; declining ones always pay interest accrued to the date. */
  rebate: RebateRule;
}

export type PayoffRule = 'accrued_to_date' | RebateRule;

export interface PayoffQuote {
  asOf: PlainDate;
  rule: PayoffRule;
  /** What settles the contract on `asOf`. */
  amount: number;
  /** Everything the schedule still asks for (what paying installment by installment would cost). */
  outstanding: number;
  /** outstanding − amount: interest not yet earned and fees of installments not yet due. */
  saving: number;
  /** How `amount` is made up (before amounts paid ahead are taken off, shown as `paidAhead`). */
  breakdown: {
    /** Unpaid amounts of installments already due. */
    due: number;
    /** Principal of installments not yet due. */
    principal: number;
    /** Interest earned to the date on installments not yet due. */
    interest: number;
    /** Already paid towards installments not yet due. */
    paidAhead: number;
  };
  /** The schedule as settled by paying `amount` on `asOf`: future installments carry their principal and the earned interest only. */
  settled: (PayoffComponents & { n: number })[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const total = (c: PayoffComponents) => c.principal + c.interest + c.fee + c.penalty;

/** Half-up rounding of num/den, both ≥ 0, exactly. */
function roundHalfUp(num: bigint, den: bigint): number {
  return Number((2n * num + den) / (2n * den));
}

/** The due date one period before `date` (where installment 1's period starts). */
function periodBefore(date: PlainDate, frequency: Frequency): PlainDate {
  if (frequency === 'monthly') return addMonthsClamped(date, -1);
  return addDays(date, frequency === 'weekly' ? -7 : -14);
}

function check(input: PayoffInput): PayoffInstallment[] {
  const list = [...input.installments].sort((a, b) => a.n - b.n);
  if (list.length === 0) throw new LienError('invalid_input', 'A payoff needs the schedule of the contract.');
  for (const i of list) {
    for (const v of [i.principal, i.interest, i.fee, i.penalty, i.paid.principal, i.paid.interest, i.paid.fee, i.paid.penalty]) {
      if (!Number.isSafeInteger(v) || v < 0) throw new LienError('invalid_input', `Installment ${i.n} has an amount that is not a whole number of minor units ≥ 0.`, { n: i.n });
    }
  }
  return list;
}

/**
 * The effective periodic rate r at which payments pay_1..pay_n, one a period, repay `financed`:
 * Σ pay_k / (1+r)^k = financed. Bisection in floating point: only the discount factors use it,
 * and the result is rounded to minor units once.
 */
export function effectiveRate(payments: readonly number[], financed: number): number {
  const pv = (r: number) => payments.reduce((acc, p, k) => acc + p / (1 + r) ** (k + 1), 0);
  if (financed <= 0 || sum(payments) <= financed) return 0;
  let lo = 0;
  let hi = 1;
  while (pv(hi) > financed) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (pv(mid) > financed) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function payoffQuote(input: PayoffInput): PayoffQuote {
  const list = check(input);
  const date = input.payoffDate;
  const due = list.filter((i) => compareDates(i.dueDate, date) <= 0);
  const future = list.filter((i) => compareDates(i.dueDate, date) > 0);
  const unpaid = (i: PayoffInstallment) => total(i) - total(i.paid);
  const outstanding = sum(list.map((i) => Math.max(0, unpaid(i))));
  const dueAmount = sum(due.map((i) => Math.max(0, unpaid(i))));
  const futurePrincipal = sum(future.map((i) => i.principal));
  const futureInterest = sum(future.map((i) => i.interest));
  const paidAhead = sum(future.map((i) => total(i.paid)));

  let rule: PayoffRule;
  let earned: number;
  const current = future[0];
  if (!current) {
    rule = input.method === 'declining' ? 'accrued_to_date' : input.rebate;
    earned = 0;
  } else {
    const previous = list[list.indexOf(current) - 1];
    const start = previous ? previous.dueDate : periodBefore(current.dueDate, input.frequency);
    const periodDays = Math.max(1, diffDays(current.dueDate, start));
    const elapsed = Math.min(periodDays, Math.max(0, diffDays(date, start)));
    if (input.method === 'declining') {
      rule = 'accrued_to_date';
      earned = roundHalfUp(BigInt(current.interest) * BigInt(elapsed), BigInt(periodDays));
    } else if (input.rebate === 'none') {
      rule = 'none';
      earned = futureInterest;
    } else if (input.rebate === 'rule_of_78') {
      rule = 'rule_of_78';
      const n = BigInt(list.length);
      const m = BigInt(future.length - 1);
      const rebate = roundHalfUp(BigInt(sum(list.map((i) => i.interest))) * m * (m + 1n), n * (n + 1n));
      earned = Math.max(0, futureInterest - rebate);
    } else {
      rule = 'actuarial';
      const payments = list.map((i) => i.principal + i.interest);
      const r = effectiveRate(payments, sum(list.map((i) => i.principal)));
      // Periods are counted by installment: the payoff sits `elapsed/periodDays` into the current one.
      const t = list.indexOf(current) + elapsed / periodDays;
      const balance = future.reduce((acc, i) => acc + (i.principal + i.interest) / (1 + r) ** (list.indexOf(i) + 1 - t), 0);
      earned = Math.min(futureInterest, Math.max(0, Math.round(balance) - futurePrincipal));
    }
  }
  const amount = Math.max(0, dueAmount + futurePrincipal + earned - paidAhead);
  const settled = list.map((i) => {
    if (compareDates(i.dueDate, date) <= 0) return { n: i.n, principal: i.principal, interest: i.interest, fee: i.fee, penalty: i.penalty };
    return { n: i.n, principal: i.principal, interest: i === current ? earned : 0, fee: 0, penalty: 0 };
  });
  return {
    asOf: date,
    rule,
    amount,
    outstanding,
    saving: outstanding - amount,
    breakdown: { due: dueAmount, principal: futurePrincipal, interest: earned, paidAhead },
    settled,
  };
}
