/**
 * Money is an integer count of minor units (paise, cents, fils) plus an ISO 4217 code. Amounts
 * stay JavaScript numbers for cheap arithmetic, but only safe integers are accepted, so every sum
 * of them is exact or rejected; decimal text is parsed digit by digit, never through a float.
 */
import { currency } from './currency.ts';
import { LienError } from './errors.ts';

export { assertCurrency, currency, findCurrency, CURRENCIES, type Currency } from './currency.ts';

export interface Money {
  /** Minor units: 240000 is 2,400.00 INR. */
  amount: number;
  currency: string;
}

export interface AmountRules {
  allowNegative?: boolean;
  allowZero?: boolean;
  /** Field name for the error's details and message. */
  field?: string;
}

const EXAMPLE = 'e.g. 250000 for 2,500.00';

/** Returns `value` when it is a safe integer count of minor units within the rules; throws invalid_amount otherwise. */
export function assertMinor(value: unknown, rules: AmountRules = {}): number {
  const field = rules.field ?? 'amount';
  const label = field === 'amount' ? 'Amount' : `Amount "${field}"`;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new LienError('invalid_amount', `${label} must be a whole number of minor units (${EXAMPLE}); got ${show(value)}.`, { field, value });
  }
  if (!Number.isSafeInteger(value)) {
    throw new LienError('invalid_amount', `${label} must be at most ${Number.MAX_SAFE_INTEGER} minor units in size; got ${value}.`, { field, value });
  }
  if (value < 0 && !rules.allowNegative) {
    throw new LienError('invalid_amount', `${label} must not be negative; got ${value}.`, { field, value });
  }
  if (value === 0 && rules.allowZero === false) {
    throw new LienError('invalid_amount', `${label} must be greater than zero.`, { field, value });
  }
  return value;
}

/** A positive amount: payments, principal. */
export function assertPositiveMinor(value: unknown, field = 'amount'): number {
  return assertMinor(value, { field, allowZero: false });
}

export function money(amount: unknown, currencyCode: unknown, rules: AmountRules = {}): Money {
  const c = currency(currencyCode);
  return { amount: assertMinor(amount, rules), currency: c.code };
}

/** Exact sum; throws invalid_amount rather than silently losing precision past 2^53. */
export function sumMinor(values: Iterable<number>, field = 'total'): number {
  let total = 0;
  for (const v of values) total += v;
  if (!Number.isSafeInteger(total)) {
    throw new LienError('invalid_amount', `Amount "${field}" exceeds ${Number.MAX_SAFE_INTEGER} minor units and cannot be represented exactly.`, { field });
  }
  return total;
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) {
    throw new LienError('currency_mismatch', `Cannot add ${b.currency} to ${a.currency}.`, { expected: a.currency, got: b.currency });
  }
  return { amount: sumMinor([a.amount, b.amount]), currency: a.currency };
}

const WESTERN_GROUPS = /^\d{1,3}(?:,\d{3})+$/;
// Indian digit grouping (lakh, crore): 2,40,000.00 is how rupee amounts are commonly written.
const INDIAN_GROUPS = /^\d{1,2}(?:,\d{2})*,\d{3}$/;

/**
 * Parses a decimal amount ("24,000.00", "24000.5", "2,40,000") into minor units of `currencyCode`.
 * Exact: more decimals than the currency has are rejected unless they are zeros, never rounded.
 */
export function parseAmount(text: unknown, currencyCode: string, rules: AmountRules = {}): number {
  const c = currency(currencyCode);
  const field = rules.field ?? 'amount';
  const fail = (why: string): never => {
    throw new LienError('invalid_amount', `Amount must be ${why}; got ${show(text)}.`, { field, value: text });
  };
  if (typeof text !== 'string') return fail('written as text such as "2,500.00"');
  let s = text.trim();
  let negative = false;
  if (s.startsWith('-')) {
    negative = true;
    s = s.slice(1);
  }
  const point = s.indexOf('.');
  const whole = point === -1 ? s : s.slice(0, point);
  const fraction = point === -1 ? '' : s.slice(point + 1);
  if (whole === '' || (point !== -1 && fraction === '')) return fail('a number with digits on both sides of any decimal point, such as "2500.00"');
  if (whole.includes(',') ? !(WESTERN_GROUPS.test(whole) || INDIAN_GROUPS.test(whole)) : !/^\d+$/.test(whole)) {
    return fail('digits with an optional decimal point and thousands separators (commas) in the right places, such as "24,000.00"');
  }
  if (!/^\d*$/.test(fraction)) return fail('digits after the decimal point');
  const kept = fraction.slice(0, c.exponent);
  if (!/^0*$/.test(fraction.slice(c.exponent))) {
    const places = c.exponent === 0 ? 'no decimal places' : `at most ${c.exponent} decimal place${c.exponent === 1 ? '' : 's'}`;
    return fail(`in ${c.code}, which has ${places}`);
  }
  const digits = whole.replaceAll(',', '') + kept.padEnd(c.exponent, '0');
  const minor = BigInt(digits);
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`at most ${formatAmount(Number.MAX_SAFE_INTEGER, c.code)} ${c.code}`);
  const value = negative ? -Number(minor) : Number(minor);
  return assertMinor(value === 0 ? 0 : value, { ...rules, field });
}

export type Grouping = 'western' | 'indian' | 'none';

/**
 * The exact decimal text of an integer of minor units: (226942, 2) → "2269.42", (-5, 2) →
 * "-0.05"; grouped on request ("2,269.42", Indian "2,26,942.00"). String arithmetic only, so no
 * amount is ever rounded through a float. The one conversion of minor units to text: machine
 * text (CSV, messages) uses it as is, src/i18n/format.ts localises it for people.
 */
export function minorToDecimal(minor: number | bigint, exponent: number, grouping: Grouping = 'none'): string {
  const n = BigInt(minor);
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${group(whole, grouping)}${exponent > 0 ? `.${fraction}` : ''}`;
}

/** Formats minor units as a decimal string in the currency's precision: 2400000 INR → "24,000.00". */
export function formatAmount(minor: number | bigint, currencyCode: string, grouping: Grouping = 'western'): string {
  const c = currency(currencyCode);
  if (typeof minor === 'number') assertMinor(minor, { allowNegative: true });
  return minorToDecimal(minor, c.exponent, grouping);
}

/** "INR 24,000.00": the code rather than a symbol, which is ambiguous ($, kr) across lenders. */
export function formatMoney(m: Money, grouping: Grouping = 'western'): string {
  return `${m.currency} ${formatAmount(m.amount, m.currency, grouping)}`;
}

function group(whole: string, grouping: Grouping): string {
  if (grouping === 'none' || whole.length <= 3) return whole;
  const last3 = whole.slice(-3);
  const rest = whole.slice(0, -3);
  const size = grouping === 'indian' ? 2 : 3;
  const parts: string[] = [];
  for (let end = rest.length; end > 0; end -= size) parts.unshift(rest.slice(Math.max(0, end - size), end));
  return `${parts.join(',')},${last3}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}
