/**
 * Money, dates and durations for borrowers, through Intl with each language's locale (see
 * `LANGUAGES`). Pure and runtime-neutral: Intl only, no Node APIs, no clock reads.
 */
import { LienError } from '../domain/errors.ts';
import { minorToDecimal } from '../domain/money.ts';
import { languageInfo, type Lang } from './languages.ts';
import { t } from './messages.ts';

// English readers see money the way their own market writes it: lakh grouping for rupees
// (₹12,34,567.89), "Ksh" rather than "KES". Other languages already carry their market.
const ENGLISH_REGION_BY_CURRENCY: Readonly<Record<string, string>> = {
  INR: 'IN',
  KES: 'KE',
  TZS: 'TZ',
  UGX: 'UG',
  RWF: 'RW',
  NGN: 'NG',
  GHS: 'GH',
  ZMW: 'ZM',
  MWK: 'MW',
  ZAR: 'ZA',
  PKR: 'PK',
  PHP: 'PH',
};

/** The Intl locale for `lang`; for English money, refined by the currency's market. */
export function localeFor(lang: Lang, currency?: string): string {
  const base = languageInfo(lang).locale;
  if (lang !== 'en' || currency === undefined) return base;
  const region = Object.hasOwn(ENGLISH_REGION_BY_CURRENCY, currency) ? ENGLISH_REGION_BY_CURRENCY[currency] : undefined;
  return region ? `en-${region}` : base;
}

// Building an Intl formatter costs far more than using one; the lock screen and the SMS outbox
// format the same few combinations over and over. Bounded because currency codes come from input.
const MAX_CACHED = 256;
const numberFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(locale: string, currency: string, fractionDigits?: number): Intl.NumberFormat {
  const cacheKey = `${locale}|${currency}|${fractionDigits ?? ''}`;
  let nf = numberFormats.get(cacheKey);
  if (!nf) {
    nf = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      ...(fractionDigits === undefined ? {} : { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits }),
    });
    if (numberFormats.size >= MAX_CACHED) numberFormats.clear();
    numberFormats.set(cacheKey, nf);
  }
  return nf;
}

const CURRENCY_CODE = /^[A-Z]{3}$/;
const MAX_EXPONENT = 20;

function checkedCurrency(currency: unknown): string {
  if (typeof currency === 'string' && CURRENCY_CODE.test(currency)) return currency;
  throw new LienError('unknown_currency', `Cannot format money in ${JSON.stringify(currency)}: use a three-letter ISO 4217 code such as INR or KES.`, {
    currency,
  });
}

function checkedMinorUnits(minorUnits: unknown): bigint {
  if (typeof minorUnits === 'bigint') return minorUnits;
  if (typeof minorUnits === 'number' && Number.isSafeInteger(minorUnits)) return BigInt(minorUnits);
  throw new LienError('invalid_amount', `Cannot format ${String(minorUnits)}: amounts are whole numbers of minor units (paise, cents).`, {
    amount: String(minorUnits),
  });
}

/**
 * An amount for a borrower, e.g. formatMoney('hi', 226942, 'INR') → "₹2,269.42".
 *
 * `exponent` is how many of the minor units make one major unit. Pass it from the domain's
 * currency table (src/domain/currency.ts) whenever the amount came from there: that table keeps
 * ISO 4217 exponents, and Intl's display digits differ for some currencies (IDR, COP, PKR: 0 in
 * Intl, 2 in ISO; IQD: 0 vs 3), so the default (Intl's digits) would misread such amounts by 100×.
 *
 * Shown with the currency's customary digits (Intl's), never fewer than needed: "Rp 15.000" for
 * a whole amount, "Rp 2.269,42" if the stored amount has sen. Nothing is rounded away.
 */
export function formatMoney(lang: Lang, minorUnits: number | bigint, currency: string, exponent?: number): string {
  const code = checkedCurrency(currency);
  const amount = checkedMinorUnits(minorUnits);
  const locale = localeFor(lang, code);
  const displayDigits = currencyFormat(locale, code).resolvedOptions().maximumFractionDigits ?? 2;
  const exp = exponent ?? displayDigits;
  if (!Number.isInteger(exp) || exp < 0 || exp > MAX_EXPONENT) {
    throw new LienError('invalid_input', `A currency exponent is a whole number from 0 to ${MAX_EXPONENT}, not ${String(exponent)}.`, {
      exponent,
    });
  }
  const decimal = minorToDecimal(amount, exp);
  const fraction = decimal.split('.')[1] ?? '';
  const hidesNonZero = /[1-9]/.test(fraction.slice(displayDigits));
  const shownDigits = hidesNonZero ? exp : displayDigits;
  // Intl.NumberFormat formats a decimal string exactly (ES2023), whatever its size.
  return currencyFormat(locale, code, shownDigits).format(decimal as Intl.StringNumericLiteral);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function calendarDate(date: string): Date {
  const m = ISO_DATE.exec(date);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const utc = new Date(Date.UTC(year, month - 1, day));
    // Date.UTC rolls 2026-02-30 over to March; a real date survives the round trip.
    if (utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day) return utc;
  }
  throw new LienError('invalid_input', `"${date}" is not a calendar date in the form YYYY-MM-DD.`, { date });
}

function formatWith(lang: Lang, date: string | Date, timeZone: string, options: Intl.DateTimeFormatOptions): string {
  // A 'YYYY-MM-DD' due date is a day in the lender's calendar, not an instant: shown in UTC,
  // where it was built, so no zone can move it to the day before.
  const instant = typeof date === 'string' ? calendarDate(date) : date;
  const zone = typeof date === 'string' ? 'UTC' : timeZone;
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) {
    throw new LienError('invalid_input', 'Cannot format an invalid date.', { date: String(date) });
  }
  let dtf: Intl.DateTimeFormat;
  try {
    dtf = new Intl.DateTimeFormat(languageInfo(lang).locale, { ...options, timeZone: zone });
  } catch {
    throw new LienError('invalid_input', `"${zone}" is not a known time zone. Use an IANA name such as Africa/Nairobi.`, {
      timeZone: zone,
    });
  }
  return dtf.format(instant);
}

/**
 * A date in words, day first: "15 March 2026", "15 मार्च 2026", "15 Machi 2026", "15 Maret 2026",
 * "15 de marzo de 2026". A Date is shown in `timeZone` (default UTC; pass the lender's zone);
 * a 'YYYY-MM-DD' string is a calendar day and ignores it.
 */
export function formatDate(lang: Lang, date: string | Date, timeZone = 'UTC'): string {
  return formatWith(lang, date, timeZone, { dateStyle: 'long' });
}

/** Date and time of an instant, for deadlines such as a lock notice's: "15 March 2026 at 18:00". */
export function formatDateTime(lang: Lang, date: Date, timeZone = 'UTC'): string {
  return formatWith(lang, date, timeZone, { dateStyle: 'long', timeStyle: 'short' });
}

type DurationUnit = 'day' | 'hour' | 'minute' | 'second';

const UNIT_SECONDS: readonly (readonly [DurationUnit, number])[] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

interface DurationPart {
  unit: DurationUnit;
  value: number;
}

/**
 * At most the two largest units ("1 hour and 5 minutes"): enough for a person, short on a lock
 * screen. The smaller unit is rounded up, so a wait is never understated: told "2 minutes", the
 * borrower who waits 2 minutes is not refused again.
 */
function durationParts(seconds: number): DurationPart[] {
  if (!Number.isFinite(seconds)) {
    throw new LienError('invalid_input', `Cannot show ${String(seconds)} as a duration.`, { seconds });
  }
  // Clock skew can make a remaining wait slightly negative; that is no wait at all.
  let total = Math.max(0, Math.ceil(seconds));
  for (;;) {
    const i = UNIT_SECONDS.findIndex(([, size]) => total >= size);
    if (i < 0) return [{ unit: 'second', value: 0 }];
    const [unit, size] = UNIT_SECONDS[i] as readonly [DurationUnit, number];
    const next = UNIT_SECONDS[i + 1];
    if (!next) return [{ unit, value: total }];
    const [smallUnit, smallSize] = next;
    const rounded = Math.ceil(total / smallSize) * smallSize;
    // Rounding up can only reach the next larger unit exactly (23 h 59 min 30 s → 1 day): redo it.
    if (rounded !== total && UNIT_SECONDS.slice(0, i).some(([, s]) => rounded >= s)) {
      total = rounded;
      continue;
    }
    const big = Math.floor(rounded / size);
    const small = (rounded - big * size) / smallSize;
    return small > 0 ? [{ unit, value: big }, { unit: smallUnit, value: small }] : [{ unit, value: big }];
  }
}

function joinWords(lang: Lang, words: string[]): string {
  const [first = '', second] = words;
  return second === undefined ? first : t(lang, 'duration.join', { first, second });
}

/** A duration from the catalog's own words, for runtimes without Intl unit formatting. */
export function formatDurationWords(lang: Lang, seconds: number): string {
  const words = durationParts(seconds).map(({ unit, value }) =>
    t(lang, `duration.${unit}.${value === 1 ? 'one' : 'other'}`, { n: value }),
  );
  return joinWords(lang, words);
}

/**
 * A wait in words: formatDuration('en', 90) → "1 minute and 30 seconds", ('sw', 3600) → "saa 1".
 * Intl's unit names where the runtime has them (Intl.DurationFormat is not in Node 20, so unit
 * formatting plus ListFormat), otherwise the catalog's words.
 */
export function formatDuration(lang: Lang, seconds: number): string {
  const parts = durationParts(seconds);
  const locale = languageInfo(lang).locale;
  try {
    const words = parts.map(({ unit, value }) =>
      new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value),
    );
    if (words.length === 1) return words[0] as string;
    if (typeof Intl.ListFormat !== 'function') return joinWords(lang, words);
    return new Intl.ListFormat(locale, { type: 'conjunction', style: 'long' }).format(words);
  } catch {
    return formatDurationWords(lang, seconds);
  }
}
