import fc from 'fast-check';
import { minorToDecimal as minorUnitsToDecimal } from '../../src/domain/money.ts';
import { describe, expect, it } from 'vitest';
import { LienError } from '../../src/domain/errors.ts';
import {
  LANGUAGES,
  formatDate,
  formatDateTime,
  formatDuration,
  formatDurationWords,
  formatMoney,
  localeFor,
} from '../../src/i18n/index.ts';

const NBSP = '\u00a0';

function lienCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LienError) return e.code;
    throw e;
  }
  return undefined;
}

describe('minorUnitsToDecimal', () => {
  it.each([
    [226942n, 2, '2269.42'],
    [5n, 2, '0.05'],
    [-5n, 2, '-0.05'],
    [100n, 2, '1.00'],
    [7n, 0, '7'],
    [1n, 3, '0.001'],
    [0n, 2, '0.00'],
    [123456789012345678901234567n, 2, '1234567890123456789012345.67'],
  ])('%s with exponent %s → %s', (minor, exp, expected) => {
    expect(minorUnitsToDecimal(minor, exp)).toBe(expected);
  });
});

describe('formatMoney', () => {
  // Outputs as Node 20's ICU (CLDR 44+) writes them; the separators were checked code point by code point.
  it('INR 226942 minor: ₹2,269.42 in English and Hindi', () => {
    expect(formatMoney('en', 226942, 'INR')).toBe('₹2,269.42');
    expect(formatMoney('hi', 226942, 'INR')).toBe('₹2,269.42');
  });

  it('groups rupees in lakhs for Hindi and for English readers of rupees', () => {
    expect(formatMoney('hi', 12_345_678, 'INR')).toBe('₹1,23,456.78');
    expect(formatMoney('en', 12_345_678, 'INR')).toBe('₹1,23,456.78');
    expect(localeFor('en', 'INR')).toBe('en-IN');
    expect(formatMoney('en', 12_345_678, 'USD')).toBe('US$123,456.78'); // en-GB: no lakhs outside rupees
  });

  it('KES: Ksh with a no-break space, Western grouping', () => {
    expect(formatMoney('sw', 226942, 'KES')).toBe(`Ksh${NBSP}2,269.42`);
    expect(formatMoney('en', 123_456_789, 'KES')).toBe(`Ksh${NBSP}1,234,567.89`);
  });

  it('IDR: Intl shows no decimals, the ISO exponent is 2, and no sen are ever rounded away', () => {
    expect(new Intl.NumberFormat('id-ID', { style: 'currency', currency: 'IDR' }).resolvedOptions().maximumFractionDigits).toBe(0);
    // 1,500,000.00 rupiah stored with the domain's ISO exponent of 2
    expect(formatMoney('id', 150_000_000, 'IDR', 2)).toBe(`Rp${NBSP}1.500.000`);
    // stored sen are shown, not rounded to 2.269
    expect(formatMoney('id', 226942, 'IDR', 2)).toBe(`Rp${NBSP}2.269,42`);
    expect(formatMoney('id', 226940, 'IDR', 2)).toBe(`Rp${NBSP}2.269,40`);
    // without an exponent Intl's 0 digits apply: the integer is whole rupiah
    expect(formatMoney('id', 1_500_000, 'IDR')).toBe(`Rp${NBSP}1.500.000`);
  });

  it('MXN: $ in Mexican Spanish, MX$ in English', () => {
    expect(formatMoney('es', 226942, 'MXN')).toBe('$2,269.42');
    expect(formatMoney('en', 226942, 'MXN')).toBe('MX$2,269.42');
  });

  it('honours other exponents and signs', () => {
    expect(formatMoney('en', 1_234_567, 'KWD', 3)).toBe(`KWD${NBSP}1,234.567`);
    expect(formatMoney('en', 2269, 'INR', 0)).toBe('₹2,269.00');
    expect(formatMoney('en', -5, 'USD')).toBe('-US$0.05');
    expect(formatMoney('en', 226942n, 'INR')).toBe('₹2,269.42');
  });

  it('keeps every digit of any amount, however large (no float on the way)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.constantFrom(...LANGUAGES.map((l) => l.code)), (minor, lang) => {
        const shown = formatMoney(lang, minor, 'INR', 2);
        const abs = minor < 0n ? -minor : minor;
        expect(shown.replace(/\D/g, '')).toBe(abs.toString().padStart(3, '0'));
        expect(shown.startsWith('-')).toBe(minor < 0n);
      }),
    );
  });

  it('refuses what is not money, with LienErrors', () => {
    expect(lienCode(() => formatMoney('en', 12.5, 'INR'))).toBe('invalid_amount');
    expect(lienCode(() => formatMoney('en', Number.NaN, 'INR'))).toBe('invalid_amount');
    expect(lienCode(() => formatMoney('en', 2 ** 60, 'INR'))).toBe('invalid_amount');
    expect(lienCode(() => formatMoney('en', 100, 'rupees'))).toBe('unknown_currency');
    expect(lienCode(() => formatMoney('en', 100, 'inr'))).toBe('unknown_currency');
    expect(lienCode(() => formatMoney('en', 100, 'INR', -1))).toBe('invalid_input');
    expect(lienCode(() => formatMoney('en', 100, 'INR', 2.5))).toBe('invalid_input');
  });
});

describe('formatDate', () => {
  it.each([
    ['en', '15 March 2026'],
    ['hi', '15 मार्च 2026'],
    ['sw', '15 Machi 2026'],
    ['id', '15 Maret 2026'],
    ['es', '15 de marzo de 2026'],
  ] as const)('%s: 2026-03-15 → %s', (lang, expected) => {
    expect(formatDate(lang, '2026-03-15')).toBe(expected);
  });

  it('shows an instant on the calendar of the given zone', () => {
    const evening = new Date(Date.UTC(2026, 2, 15, 20, 0)); // 01:30 on the 16th in India
    expect(formatDate('en', evening)).toBe('15 March 2026');
    expect(formatDate('en', evening, 'Asia/Kolkata')).toBe('16 March 2026');
  });

  it('never moves a calendar date, whatever the zone', () => {
    expect(formatDate('en', '2026-03-15', 'Pacific/Kiritimati')).toBe('15 March 2026');
    expect(formatDate('en', '2026-03-15', 'Pacific/Pago_Pago')).toBe('15 March 2026');
    expect(formatDate('sw', '2024-02-29')).toBe('29 Februari 2024');
  });

  it('rejects impossible dates and unknown zones', () => {
    expect(lienCode(() => formatDate('en', '2026-02-30'))).toBe('invalid_input');
    expect(lienCode(() => formatDate('en', '15/03/2026'))).toBe('invalid_input');
    expect(lienCode(() => formatDate('en', new Date(Number.NaN)))).toBe('invalid_input');
    expect(lienCode(() => formatDate('en', new Date(0), 'Mars/Olympus'))).toBe('invalid_input');
  });

  it('formatDateTime adds the local time', () => {
    const at = new Date(Date.UTC(2026, 2, 15, 12, 30));
    expect(formatDateTime('en', at, 'Asia/Kolkata')).toBe('15 March 2026 at 18:00');
    expect(formatDateTime('sw', at, 'Africa/Nairobi')).toBe('15 Machi 2026 saa 15:30');
  });
});

describe('formatDuration', () => {
  it.each([
    ['en', 90, '1 minute and 30 seconds'],
    ['en', 1, '1 second'],
    ['en', 0, '0 seconds'],
    ['en', 7200, '2 hours'],
    ['en', 3725, '1 hour and 3 minutes'], // 1 h 2 min 5 s, rounded up
    ['en', 86_399, '1 day'], // 23 h 59 min 59 s rounds up to a whole day
    ['en', 90_000, '1 day and 1 hour'],
    ['hi', 7200, '2 घंटे'],
    ['hi', 3600, '1 घंटा'],
    ['sw', 300, 'dakika 5'],
    ['sw', 3660, 'saa 1 na dakika 1'],
    ['id', 90, '1 menit dan 30 detik'],
    ['es', 90, '1 minuto y 30 segundos'],
    ['es', 86_400, '1 día'],
  ] as const)('%s %s s → %s', (lang, seconds, expected) => {
    expect(formatDuration(lang, seconds)).toBe(expected);
  });

  it('treats a negative remainder as no wait and rounds fractions up', () => {
    expect(formatDuration('en', -3)).toBe('0 seconds');
    expect(formatDuration('en', 0.2)).toBe('1 second');
  });

  it('rejects non-numbers', () => {
    expect(lienCode(() => formatDuration('en', Number.NaN))).toBe('invalid_input');
    expect(lienCode(() => formatDuration('en', Number.POSITIVE_INFINITY))).toBe('invalid_input');
  });

  it('the catalog words say what Intl says, in every language', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * 86_400 }), fc.constantFrom(...LANGUAGES.map((l) => l.code)), (s, lang) => {
        expect(formatDurationWords(lang, s)).toBe(formatDuration(lang, s));
      }),
    );
  });

  it('never understates a wait, and overstates it by less than the smaller unit shown', () => {
    const size: Record<string, number> = { day: 86_400, hour: 3_600, minute: 60, second: 1 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400 }), (s) => {
        const parts = [...formatDurationWords('en', s).matchAll(/(\d+) (day|hour|minute|second)s?/g)];
        expect(parts.length).toBeGreaterThanOrEqual(1);
        expect(parts.length).toBeLessThanOrEqual(2);
        const shown = parts.reduce((sum, m) => sum + Number(m[1]) * (size[m[2] as string] as number), 0);
        const smallest = size[parts.at(-1)?.[2] as string] as number;
        expect(shown).toBeGreaterThanOrEqual(s);
        expect(shown - s).toBeLessThan(Math.max(smallest, 1));
      }),
    );
  });
});
