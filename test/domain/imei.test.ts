import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LienError } from '../../src/domain/errors.ts';
import { imeiCheckDigit, isValidImei, validateImei } from '../../src/domain/imei.ts';

function lienError(fn: () => unknown): LienError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LienError) return e;
    throw e;
  }
  throw new Error('expected a LienError');
}

describe('IMEI', () => {
  // 4 9 0 1 5 4 2 0 3 2 3 7 5 1: every second digit (9,1,4,0,2,7,1) doubled, digits summed:
  // 9+2+8+0+4+5+2 = 30; the others 4+0+5+2+3+3+5 = 22; 52 → 10 − 2 = 8.
  // 3 5 2 0 9 9 0 0 1 7 6 1 4 8: doubled (5,0,9,0,7,1,8) → 1+0+9+0+5+2+7 = 24; others 3+2+9+0+1+6+4 = 25; 49 → 1.
  it('computes the Luhn check digit by hand', () => {
    expect(imeiCheckDigit('49015420323751')).toBe(8);
    expect(imeiCheckDigit('35209900176148')).toBe(1);
  });

  it('accepts a valid IMEI and normalises spaces and dashes', () => {
    expect(validateImei('490154203237518')).toBe('490154203237518');
    expect(validateImei('49-015420-323751-8')).toBe('490154203237518');
    expect(validateImei(' 35 209900 176148 1 ')).toBe('352099001761481');
    expect(isValidImei('490154203237518')).toBe(true);
  });

  it('says what is wrong with an invalid IMEI', () => {
    const wrongDigit = lienError(() => validateImei('490154203237519'));
    expect(wrongDigit.code).toBe('invalid_imei');
    expect(wrongDigit.message).toBe('IMEI 490154203237519 fails its check digit: the last digit should be 8, not 9. Check for a typo.');
    expect(wrongDigit.details).toMatchObject({ expected: 8, got: 9 });

    const short = lienError(() => validateImei('49015420323751'));
    expect(short.code).toBe('invalid_imei');
    expect(short.message).toBe('An IMEI has 15 digits; "49015420323751" has 14 (the 15th, check digit may be missing).');

    const letters = lienError(() => validateImei('49015420323751O'));
    expect(letters.message).toBe('An IMEI contains only digits; "49015420323751O" has "O" at position 15.');

    expect(lienError(() => validateImei('4901542032375180')).message).toContain('has 16 (16 digits is an IMEISV');
    expect(lienError(() => validateImei(490154203237518)).message).toBe('An IMEI must be text of 15 digits; got number.');
    expect(isValidImei('')).toBe(false);
  });

  it('catches every single-digit typo and every swap of unequal neighbours in the body', () => {
    const body = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }).map((d) => d.join(''));
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 14 }), fc.integer({ min: 1, max: 9 }), (b, pos, delta) => {
        const imei = b + imeiCheckDigit(b);
        if (validateImei(imei) !== imei) return false;
        const typo = imei.slice(0, pos) + ((Number(imei[pos]) + delta) % 10) + imei.slice(pos + 1);
        return !isValidImei(typo);
      }),
    );
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 12 }), (b, pos) => {
        const imei = b + imeiCheckDigit(b);
        const x = imei[pos]!;
        const y = imei[pos + 1]!;
        // Luhn's one blind spot: 09 ↔ 90.
        fc.pre(x !== y && !((x === '0' && y === '9') || (x === '9' && y === '0')));
        return !isValidImei(imei.slice(0, pos) + y + x + imei.slice(pos + 2));
      }),
    );
  });
});
