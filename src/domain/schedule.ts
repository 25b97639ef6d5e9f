/**
 * Repayment schedules after Apache Fineract: flat or declining-balance (equal installments, EMI)
 * amortization on a periodic rate of annual/12, /26 or /52. Arithmetic is exact: the rate becomes
 * a fraction of BigInts and every rounding is an explicit half-up to the minor unit, so the same
 * terms give the same schedule on every machine. The last installment takes the rounding
 * leftovers; principal always sums to the financed amount exactly.
 */
import { assertPlainDate, addDays, addMonthsClamped, type PlainDate } from './dates.ts';
import { LienError } from './errors.ts';
import { assertCurrency, assertMinor, assertPositiveMinor, sumMinor } from './money.ts';

export type Frequency = 'weekly' | 'biweekly' | 'monthly';
export type AmortizationMethod = 'flat' | 'declining';

export const PERIODS_PER_YEAR: Readonly<Record<Frequency, number>> = Object.freeze({ weekly: 52, biweekly: 26, monthly: 12 });

/** The most installments a schedule may have: ten years of weekly payments, and then some. */
export const MAX_TERM_COUNT = 1000;
/** Annual rates above this are almost surely a typo (2400 for 24). */
export const MAX_ANNUAL_RATE_PCT = 1000;

/** All amounts in minor units. */
export interface Installment {
  n: number;
  dueDate: PlainDate;
  principal: number;
  interest: number;
  fee: number;
  penalty: number;
}

export interface ScheduleInput {
  /** Cash price of the device, minor units; the down payment comes off it. */
  principal: number;
  currency: string;
  /** Nominal annual rate in percent: 24 means 24 % a year, 2 % a month. */
  annualRatePct: number;
  termCount: number;
  frequency: Frequency;
  method: AmortizationMethod;
  firstDueDate: PlainDate;
  downPayment?: number;
  /** Fee charged with every installment, minor units. */
  fee?: number;
}

export interface Schedule {
  currency: string;
  downPayment: number;
  /** principal − downPayment: what the installments repay. */
  financed: number;
  /** The regular installment (principal + interest, fees excluded); the last one may differ by rounding. */
  installmentAmount: number;
  totalInterest: number;
  totalFees: number;
  installments: Installment[];
}

export function installmentTotal(i: Pick<Installment, 'principal' | 'interest' | 'fee' | 'penalty'>): number {
  return i.principal + i.interest + i.fee + i.penalty;
}

export function buildSchedule(input: ScheduleInput): Schedule {
  const terms = validate(input);
  const { financed, n, frequency } = terms;
  const rate = periodicRate(terms.annualRatePct, PERIODS_PER_YEAR[frequency]);
  const split = terms.method === 'flat' ? flat(financed, n, rate) : declining(financed, n, rate);

  const installments: Installment[] = split.parts.map((p, i) => ({
    n: i + 1,
    dueDate: dueDate(terms.firstDueDate, frequency, i),
    principal: p.principal,
    interest: p.interest,
    fee: terms.fee,
    penalty: 0,
  }));
  const totalInterest = sumMinor(installments.map((i) => i.interest), 'totalInterest');
  const totalFees = sumMinor(installments.map((i) => i.fee), 'totalFees');
  sumMinor([financed, totalInterest, totalFees], 'total repayable');
  return { currency: terms.currency, downPayment: terms.downPayment, financed, installmentAmount: split.regular, totalInterest, totalFees, installments };
}

/** Due date of the installment at `index` (0-based), always counted from the first due date. */
export function dueDate(first: PlainDate, frequency: Frequency, index: number): PlainDate {
  switch (frequency) {
    case 'monthly':
      return addMonthsClamped(first, index);
    case 'biweekly':
      return addDays(first, 14 * index);
    case 'weekly':
      return addDays(first, 7 * index);
  }
}

/** A rate as an exact fraction num/den. */
interface Fraction {
  num: bigint;
  den: bigint;
}

interface Split {
  regular: number;
  parts: { principal: number; interest: number }[];
}

/** Periodic rate = annual % / 100 / periods per year, exactly. */
export function periodicRate(annualRatePct: number, periodsPerYear: number): Fraction {
  const pct = decimalFraction(annualRatePct);
  return { num: pct.num, den: pct.den * 100n * BigInt(periodsPerYear) };
}

/** The exact value of a finite non-negative number's shortest decimal form (24.5 → 245/10). */
function decimalFraction(x: number): Fraction {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new LienError('invalid_input', `Cannot read ${x} as a rate.`, { value: x });
  const fraction = m[2] ?? '';
  const exponent = Number(m[3] ?? 0) - fraction.length;
  const digits = BigInt(m[1]! + fraction);
  return exponent >= 0 ? { num: digits * 10n ** BigInt(exponent), den: 1n } : { num: digits, den: 10n ** BigInt(-exponent) };
}

/** Half-up rounding of num/den (both ≥ 0) to an integer. */
function roundHalfUp(num: bigint, den: bigint): bigint {
  return (2n * num + den) / (2n * den);
}

/** Flat: interest on the original amount for every period; both parts spread evenly, leftovers last. */
function flat(financed: number, n: number, r: Fraction): Split {
  const totalInterest = roundHalfUp(BigInt(financed) * r.num * BigInt(n), r.den);
  const interestEach = totalInterest / BigInt(n);
  const principalEach = Math.floor(financed / n);
  const parts = Array.from({ length: n }, (_, i) => {
    const last = i === n - 1;
    return {
      principal: last ? financed - principalEach * (n - 1) : principalEach,
      interest: Number(last ? totalInterest - interestEach * BigInt(n - 1) : interestEach),
    };
  });
  return { regular: principalEach + Number(interestEach), parts };
}

/**
 * Declining balance: EMI = P·r·(1+r)^n / ((1+r)^n − 1), rounded half-up; each period's interest is
 * the rounded balance × r, principal is the rest of the EMI, and the last installment repays what
 * is left, absorbing every rounding difference (Fineract's convention). Those differences compound
 * at (1 + r) a period, so on absurd terms (15 % a month for ten years) the last installment can
 * differ a lot from the others; principal still sums to the financed amount and no part is negative.
 */
function declining(financed: number, n: number, r: Fraction): Split {
  const P = BigInt(financed);
  let emi: bigint;
  if (r.num === 0n) {
    emi = roundHalfUp(P, BigInt(n));
  } else {
    const grown = (r.den + r.num) ** BigInt(n);
    emi = roundHalfUp(P * r.num * grown, r.den * (grown - r.den ** BigInt(n)));
  }
  let balance = P;
  const parts: Split['parts'] = [];
  for (let k = 1; k <= n; k++) {
    const interest = roundHalfUp(balance * r.num, r.den);
    let principal: bigint;
    if (k === n) principal = balance;
    else {
      principal = emi - interest;
      // Tiny amounts over many terms: rounding the EMI up can repay early; never overshoot.
      if (principal > balance) principal = balance;
      if (principal < 0n) principal = 0n;
    }
    balance -= principal;
    parts.push({ principal: Number(principal), interest: Number(interest) });
  }
  return { regular: Number(emi), parts };
}

interface Terms {
  currency: string;
  financed: number;
  downPayment: number;
  fee: number;
  n: number;
  annualRatePct: number;
  frequency: Frequency;
  method: AmortizationMethod;
  firstDueDate: PlainDate;
}

function validate(input: ScheduleInput): Terms {
  if (typeof input !== 'object' || input === null) throw new LienError('invalid_input', 'Schedule terms are required.');
  const currency = assertCurrency(input.currency);
  const principal = assertPositiveMinor(input.principal, 'principal');
  const downPayment = assertMinor(input.downPayment ?? 0, { field: 'downPayment' });
  const fee = assertMinor(input.fee ?? 0, { field: 'fee' });
  if (downPayment >= principal) {
    throw new LienError('invalid_amount', `The down payment (${downPayment}) must be less than the principal (${principal}); otherwise there is nothing to finance.`, {
      field: 'downPayment',
      value: downPayment,
    });
  }
  const rate = input.annualRatePct;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > MAX_ANNUAL_RATE_PCT) {
    throw new LienError('invalid_input', `annualRatePct must be a percentage between 0 and ${MAX_ANNUAL_RATE_PCT} (24 for 24 % a year); got ${String(rate)}.`, {
      field: 'annualRatePct',
      value: rate,
    });
  }
  const n = input.termCount;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_TERM_COUNT) {
    throw new LienError('invalid_input', `termCount must be a whole number of installments from 1 to ${MAX_TERM_COUNT}; got ${String(n)}.`, { field: 'termCount', value: n });
  }
  if (!Object.hasOwn(PERIODS_PER_YEAR, input.frequency)) {
    throw new LienError('invalid_input', `frequency must be weekly, biweekly or monthly; got ${JSON.stringify(input.frequency)}.`, { field: 'frequency', value: input.frequency });
  }
  if (input.method !== 'flat' && input.method !== 'declining') {
    throw new LienError('invalid_input', `method must be flat or declining; got ${JSON.stringify(input.method)}.`, { field: 'method', value: input.method });
  }
  const firstDueDate = assertPlainDate(input.firstDueDate, 'firstDueDate');
  return { currency, financed: principal - downPayment, downPayment, fee, n, annualRatePct: rate, frequency: input.frequency, method: input.method, firstDueDate };
}
