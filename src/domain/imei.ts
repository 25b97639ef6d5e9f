/**
 * An IMEI is 14 digits (TAC + serial) followed by a Luhn check digit (3GPP TS 23.003). Checking
 * the digit catches most typos at the counter, before a lien lands on the wrong phone.
 */
import { LienError } from './errors.ts';

/** The Luhn check digit for the first 14 digits of an IMEI. */
export function imeiCheckDigit(body: string): number {
  if (!/^\d{14}$/.test(body)) {
    throw new LienError('invalid_imei', `The check digit is computed from the first 14 digits of an IMEI; got ${JSON.stringify(body)}.`, { value: body });
  }
  let sum = 0;
  for (let i = 0; i < 14; i++) {
    let d = body.charCodeAt(i) - 48;
    // Counting from the left (0-based), odd positions are doubled: they sit next to the check digit's side.
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Spaces and dashes are how IMEIs are printed on boxes and in *#06#; nothing else is stripped. */
export function normaliseImei(value: string): string {
  return value.replace(/[\s-]/g, '');
}

/** Returns the IMEI as 15 digits (spaces and dashes removed), or throws invalid_imei saying what is wrong. */
export function validateImei(value: unknown): string {
  if (typeof value !== 'string') {
    throw new LienError('invalid_imei', `An IMEI must be text of 15 digits; got ${value === null ? 'null' : typeof value}.`, { value });
  }
  const imei = normaliseImei(value);
  const bad = imei.search(/\D/);
  if (bad !== -1) {
    throw new LienError('invalid_imei', `An IMEI contains only digits; ${JSON.stringify(value)} has ${JSON.stringify(imei[bad])} at position ${bad + 1}.`, { value, position: bad + 1 });
  }
  if (imei.length !== 15) {
    const hint = imei.length === 14 ? ' (the 15th, check digit may be missing)' : imei.length === 16 ? ' (16 digits is an IMEISV, which has no check digit; use the IMEI)' : '';
    throw new LienError('invalid_imei', `An IMEI has 15 digits; ${JSON.stringify(value)} has ${imei.length}${hint}.`, { value, length: imei.length });
  }
  const expected = imeiCheckDigit(imei.slice(0, 14));
  const got = imei.charCodeAt(14) - 48;
  if (got !== expected) {
    throw new LienError('invalid_imei', `IMEI ${imei} fails its check digit: the last digit should be ${expected}, not ${got}. Check for a typo.`, { value, expected, got });
  }
  return imei;
}

export function isValidImei(value: unknown): boolean {
  try {
    validateImei(value);
    return true;
  } catch {
    return false;
  }
}
