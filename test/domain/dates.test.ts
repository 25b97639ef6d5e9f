import { describe, expect, it } from 'vitest';
import { addDays, addMonthsClamped, businessDateIn, daysInMonth, diffDays, isPlainDate } from '../../src/domain/dates.ts';
import { LienError } from '../../src/domain/errors.ts';

describe('plain dates', () => {
  it('adds days across month, year and leap-day boundaries', () => {
    expect(addDays('2026-01-31', 1)).toBe('2026-02-01');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    // 2026-03-29 is the EU DST switch; plain dates must not care.
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30');
  });

  it('counts days between dates', () => {
    expect(diffDays('2026-03-02', '2026-01-31')).toBe(30); // 28 days of February 2026 + 2
    expect(diffDays('2024-03-02', '2024-01-31')).toBe(31); // 29 in 2024
    expect(diffDays('2026-01-31', '2026-03-02')).toBe(-30);
    expect(diffDays('2027-01-01', '2026-01-01')).toBe(365);
    expect(diffDays('2025-01-01', '2024-01-01')).toBe(366);
  });

  it('adds months clamped to the month end, keeping the anchor day when counted from the anchor', () => {
    expect(addMonthsClamped('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonthsClamped('2024-01-31', 1)).toBe('2024-02-29');
    expect(addMonthsClamped('2026-01-31', 2)).toBe('2026-03-31');
    expect(addMonthsClamped('2026-01-31', 3)).toBe('2026-04-30');
    expect(addMonthsClamped('2026-11-30', 3)).toBe('2027-02-28');
    expect(addMonthsClamped('2026-03-31', -1)).toBe('2026-02-28');
    expect(addMonthsClamped('2026-01-15', -13)).toBe('2024-12-15');
  });

  it('knows the calendar', () => {
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2100, 2)).toBe(28);
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(isPlainDate('2026-02-29')).toBe(false);
    expect(isPlainDate('2024-02-29')).toBe(true);
    expect(isPlainDate('2026-4-1')).toBe(false);
    const e = (() => {
      try {
        addDays('2026-02-30', 1);
      } catch (err) {
        return err as LienError;
      }
    })();
    expect(e?.code).toBe('invalid_input');
    expect(e?.message).toBe('date must be a calendar date written YYYY-MM-DD (e.g. 2026-03-31); got "2026-02-30".');
  });
});

describe('business dates in the lender time zone', () => {
  it('gives the local calendar date where the UTC date differs', () => {
    const instant = new Date('2026-03-01T20:00:00Z');
    expect(businessDateIn('Asia/Kolkata', instant)).toBe('2026-03-02'); // 01:30 on Mar 2 (UTC+5:30)
    expect(businessDateIn('America/Mexico_City', instant)).toBe('2026-03-01'); // 14:00 (UTC−6)
    expect(businessDateIn('UTC', instant)).toBe('2026-03-01');
    expect(businessDateIn('Africa/Nairobi', new Date('2026-12-31T21:00:00Z'))).toBe('2027-01-01'); // midnight, UTC+3
    expect(businessDateIn('Africa/Nairobi', new Date('2026-12-31T20:59:59.999Z'))).toBe('2026-12-31');
  });

  it('rejects an unknown time zone and an invalid instant', () => {
    const catchIt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err as LienError;
      }
      throw new Error('expected an error');
    };
    const tz = catchIt(() => businessDateIn('Mars/Olympus_Mons', new Date('2026-03-01T00:00:00Z')));
    expect(tz).toBeInstanceOf(LienError);
    expect(tz.code).toBe('invalid_input');
    expect(tz.message).toBe('Unknown time zone "Mars/Olympus_Mons"; use an IANA name such as Asia/Kolkata or Africa/Nairobi.');
    expect(catchIt(() => businessDateIn('UTC', new Date('nope'))).code).toBe('invalid_input');
  });
});
