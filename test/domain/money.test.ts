import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CURRENCIES, assertCurrency, currency } from '../../src/domain/currency.ts';
import { LienError } from '../../src/domain/errors.ts';
import { addMoney, assertMinor, formatAmount, formatMoney, money, parseAmount, sumMinor } from '../../src/domain/money.ts';

function lienError(fn: () => unknown): LienError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LienError) return e;
    throw e;
  }
  throw new Error('expected a LienError');
}

describe('currencies', () => {
  it('knows at least 25 real ISO 4217 currencies with their minor-unit exponents', () => {
    expect(CURRENCIES.length).toBeGreaterThanOrEqual(25);
    for (const code of ['INR', 'KES', 'IDR', 'USD', 'EUR', 'MXN', 'NGN', 'TZS', 'UGX', 'BRL', 'PHP']) expect(currency(code).code).toBe(code);
    expect(currency('JPY').exponent).toBe(0);
    expect(currency('KWD').exponent).toBe(3);
    expect(currency('INR').exponent).toBe(2);
    expect(currency('UGX').exponent).toBe(0);
    for (const c of CURRENCIES) expect(c.code).toMatch(/^[A-Z]{3}$/);
  });

  it('rejects unknown codes with unknown_currency and suggests the upper-case code', () => {
    const e = lienError(() => assertCurrency('XYZ'));
    expect(e.code).toBe('unknown_currency');
    expect(e.message).toBe('Unknown currency "XYZ". Use a three-letter ISO 4217 code such as INR, KES or USD.');
    expect(lienError(() => assertCurrency('inr')).message).toBe('Unknown currency "inr". Did you mean "INR"?');
    expect(lienError(() => assertCurrency(undefined)).code).toBe('unknown_currency');
  });
});

describe('amounts', () => {
  it('parses decimal text into minor units exactly', () => {
    expect(parseAmount('24,000.00', 'INR')).toBe(2_400_000);
    expect(parseAmount('24000.5', 'INR')).toBe(2_400_050);
    expect(parseAmount(' 24000 ', 'INR')).toBe(2_400_000);
    expect(parseAmount('2,40,000.00', 'INR')).toBe(24_000_000); // lakh grouping
    expect(parseAmount('0.07', 'USD')).toBe(7);
    expect(parseAmount('1,234.567', 'KWD')).toBe(1_234_567);
    expect(parseAmount('5,000', 'UGX')).toBe(5000);
    expect(parseAmount('5000.00', 'JPY')).toBe(5000); // trailing zeros are exact
    // Through a float, 0.29 * 100 is 28.999999999999996 and 1.13 * 100 is 112.99999999999999.
    expect(parseAmount('0.29', 'USD')).toBe(29);
    expect(parseAmount('1.13', 'USD')).toBe(113);
    expect(parseAmount('90071992547409.91', 'USD')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseAmount('-2.50', 'EUR', { allowNegative: true })).toBe(-250);
  });

  it('rejects text that is not an exact amount, saying why', () => {
    const cases: [string, string, string][] = [
      ['1.005', 'USD', 'Amount must be in USD, which has at most 2 decimal places; got "1.005".'],
      ['10.5', 'JPY', 'Amount must be in JPY, which has no decimal places; got "10.5".'],
      ['1,00', 'USD', 'Amount must be digits with an optional decimal point and thousands separators (commas) in the right places, such as "24,000.00"; got "1,00".'],
      ['12.', 'USD', 'Amount must be a number with digits on both sides of any decimal point, such as "2500.00"; got "12.".'],
      ['1e3', 'USD', 'Amount must be digits with an optional decimal point and thousands separators (commas) in the right places, such as "24,000.00"; got "1e3".'],
      ['-5.00', 'USD', 'Amount must not be negative; got -500.'],
      ['90071992547409.92', 'USD', 'Amount must be at most 90,071,992,547,409.91 USD; got "90071992547409.92".'],
    ];
    for (const [text, code, message] of cases) {
      const e = lienError(() => parseAmount(text, code));
      expect(e.code, text).toBe('invalid_amount');
      expect(e.message, text).toBe(message);
    }
    expect(lienError(() => parseAmount('1.00', 'ABC')).code).toBe('unknown_currency');
  });

  it('formats minor units back in the currency precision', () => {
    expect(formatAmount(2_400_000, 'INR')).toBe('24,000.00');
    expect(formatAmount(24_000_000, 'INR', 'indian')).toBe('2,40,000.00');
    expect(formatAmount(7, 'USD')).toBe('0.07');
    expect(formatAmount(-250, 'EUR')).toBe('-2.50');
    expect(formatAmount(1_234_567, 'KWD')).toBe('1,234.567');
    expect(formatAmount(5000, 'JPY')).toBe('5,000');
    expect(formatAmount(999, 'USD', 'none')).toBe('9.99');
    expect(formatMoney(money(226_943, 'INR'))).toBe('INR 2,269.43');
  });

  it('round-trips every safe amount in every currency and grouping', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom(...CURRENCIES.map((c) => c.code)),
        fc.constantFrom('western' as const, 'indian' as const, 'none' as const),
        (minor, code, grouping) => parseAmount(formatAmount(minor, code, grouping), code) === minor,
      ),
    );
  });

  it('accepts only safe integer minor units', () => {
    expect(assertMinor(0)).toBe(0);
    const negative = lienError(() => money(-1, 'INR'));
    expect(negative.code).toBe('invalid_amount');
    expect(negative.message).toBe('Amount must not be negative; got -1.');
    expect(lienError(() => assertMinor(12.5)).message).toBe('Amount must be a whole number of minor units (e.g. 250000 for 2,500.00); got 12.5.');
    expect(lienError(() => assertMinor('100')).message).toBe('Amount must be a whole number of minor units (e.g. 250000 for 2,500.00); got "100".');
    expect(lienError(() => assertMinor(2 ** 53)).message).toBe('Amount must be at most 9007199254740991 minor units in size; got 9007199254740992.');
    expect(lienError(() => assertMinor(0, { allowZero: false, field: 'principal' })).message).toBe('Amount "principal" must be greater than zero.');
    expect(lienError(() => money(100, 'XXX')).code).toBe('unknown_currency');
  });

  it('sums exactly or refuses', () => {
    expect(sumMinor([1, 2, 3])).toBe(6);
    expect(lienError(() => sumMinor([Number.MAX_SAFE_INTEGER, 1])).code).toBe('invalid_amount');
    expect(addMoney(money(100, 'KES'), money(250, 'KES'))).toEqual({ amount: 350, currency: 'KES' });
    expect(lienError(() => addMoney(money(100, 'KES'), money(1, 'UGX'))).code).toBe('currency_mismatch');
  });
});
