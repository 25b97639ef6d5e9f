/**
 * Business dates are plain calendar dates ('YYYY-MM-DD') with no time zone: a due date is a day
 * in the lender's calendar, not an instant. Arithmetic goes through a day count (days since
 * 1970-01-01), which has no daylight-saving or offset surprises. The only place an instant turns
 * into a date is `businessDateIn`, which needs the lender's time zone.
 */
import { LienError } from './errors.ts';

/** 'YYYY-MM-DD' */
export type PlainDate = string;

const SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1–12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

interface Parts {
  year: number;
  month: number;
  day: number;
}

function parts(value: string): Parts | null {
  const m = SHAPE.exec(value);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

export function isPlainDate(value: unknown): value is PlainDate {
  return typeof value === 'string' && parts(value) !== null;
}

/** Returns the date unchanged, or throws invalid_input naming the field. */
export function assertPlainDate(value: unknown, field = 'date'): PlainDate {
  if (isPlainDate(value)) return value;
  throw new LienError('invalid_input', `${field} must be a calendar date written YYYY-MM-DD (e.g. 2026-03-31); got ${JSON.stringify(value) ?? String(value)}.`, { field, value });
}

function mustParse(value: string, field: string): Parts {
  const p = parts(value);
  if (!p) assertPlainDate(value, field);
  return p!;
}

function toDayNumber({ year, month, day }: Parts): number {
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

function fromDayNumber(n: number): PlainDate {
  const d = new Date(n * MS_PER_DAY);
  return format(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

function format(year: number, month: number, day: number): PlainDate {
  if (year < 0 || year > 9999) throw new LienError('invalid_input', `Date out of range: year ${year}.`, { year });
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export function addDays(date: PlainDate, days: number): PlainDate {
  if (!Number.isInteger(days)) throw new LienError('invalid_input', `A number of days must be a whole number; got ${days}.`, { days });
  return fromDayNumber(toDayNumber(mustParse(date, 'date')) + days);
}

/** `a − b` in calendar days: diffDays('2026-03-02', '2026-01-31') = 30. */
export function diffDays(a: PlainDate, b: PlainDate): number {
  return toDayNumber(mustParse(a, 'date')) - toDayNumber(mustParse(b, 'date'));
}

/**
 * Adds whole months, clamping to the month's last day: Jan 31 + 1 month = Feb 28 (29 in a leap
 * year). Monthly schedules call this from the first due date each time (not from the previous
 * due date) so that the anchor day comes back: Jan 31 → Feb 28 → Mar 31.
 */
export function addMonthsClamped(date: PlainDate, months: number): PlainDate {
  if (!Number.isInteger(months)) throw new LienError('invalid_input', `A number of months must be a whole number; got ${months}.`, { months });
  const p = mustParse(date, 'date');
  const index = p.year * 12 + (p.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  return format(year, month, Math.min(p.day, daysInMonth(year, month)));
}

export function compareDates(a: PlainDate, b: PlainDate): number {
  // Fixed-width ISO dates sort as strings.
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Business dates are local dates in the lender's time zone.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        calendar: 'gregory',
        numberingSystem: 'latn',
      });
    } catch {
      throw new LienError('invalid_input', `Unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as Asia/Kolkata or Africa/Nairobi.`, { field: 'timeZone', value: timeZone });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local date at an instant, and the instant its wall-clock reading would be in UTC. */
function wallClock(ms: number, timeZone: string): { date: PlainDate; utcOfWall: number } {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const y = Number(parts.year);
  const mo = Number(parts.month);
  const d = Number(parts.day);
  const utcOfWall = Date.UTC(y, mo - 1, d, Number(parts.hour), Number(parts.minute), Number(parts.second));
  return { date: format(y, mo, d), utcOfWall };
}

function offsetAt(ms: number, timeZone: string): number {
  return wallClock(ms, timeZone).utcOfWall - Math.floor(ms / 1000) * 1000;
}

// startOfLocalDay is pure (zone rules are fixed for the process) and costs several Intl calls;
// decisions ask for the same few (zone, date) pairs over and over (a sweep or an import decides
// thousands of contracts on the same dates). Bounded: cleared when it grows past CACHE_MAX.
const startOfDayCache = new Map<string, number>();
const CACHE_MAX = 50_000;

/** The first instant (epoch ms) of a local date in a zone, also when DST skips midnight. */
export function startOfLocalDay(date: PlainDate, timeZone: string): number {
  const key = `${timeZone}|${date}`;
  const hit = startOfDayCache.get(key);
  if (hit !== undefined) return hit;
  const start = computeStartOfLocalDay(date, timeZone);
  if (startOfDayCache.size >= CACHE_MAX) startOfDayCache.clear();
  startOfDayCache.set(key, start);
  return start;
}

function computeStartOfLocalDay(date: PlainDate, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const guess = wall - offsetAt(wall, timeZone);
  const start = wall - offsetAt(guess, timeZone);
  const at = wallClock(start, timeZone);
  if (at.date === date && at.utcOfWall === wall) return start;
  // Midnight does not exist that day (DST jump at 00:00): find the first instant of the date.
  let lo = wall - 15 * 3_600_000;
  let hi = wall + 15 * 3_600_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(mid, timeZone).date >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Throws invalid_input unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new LienError('invalid_input', 'A time zone is required, as an IANA name such as Asia/Kolkata.', { field: 'timeZone', value: timeZone });
  }
  formatterFor(timeZone);
  return timeZone;
}

/**
 * The lender's calendar date at `instant`: 2026-03-01T20:00Z is 2026-03-02 in Asia/Kolkata but
 * 2026-03-01 in America/Mexico_City. The instant is passed in; this never reads the clock.
 */
export function businessDateIn(timeZone: string, instant: Date): PlainDate {
  assertTimeZone(timeZone);
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) {
    throw new LienError('invalid_input', `A business date needs a valid instant; got ${String(instant)}.`, { field: 'instant' });
  }
  // Many decisions share one instant (a sweep's or an import's `now`): remember the last one per zone.
  const ms = instant.getTime();
  const last = lastDates.get(timeZone);
  if (last && last.ms === ms) return last.date;
  const date = wallClock(ms, timeZone).date;
  lastDates.set(timeZone, { ms, date });
  return date;
}

const lastDates = new Map<string, { ms: number; date: PlainDate }>();
