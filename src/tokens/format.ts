/**
 * The two OpenPAYGO Token layouts (standard 9-digit, extended 12-digit) and the arithmetic they
 * share: the SipHash code chain, the value "base" hidden in the low digits, and the restricted
 * digit set (each 2 bits of the code written as a digit 1–4).
 *
 * Codes are plain numbers: the largest (just under 2^40) is far inside the 2^53 exact range.
 */
import { sipHash24 } from './siphash.ts';

export interface TokenFormat {
  readonly name: 'standard' | 'extended';
  /** Low digits carrying the value: 10^3 or 10^6. */
  readonly valueOffset: number;
  readonly maxActivationValue: number;
  /** Token length with digits 0–9. */
  readonly digits: number;
  /** Token length with digits 1–4 (two bits per digit). */
  readonly restrictedDigits: number;
  /** The next code of the chain after `code`. */
  nextCode(code: number, key: Uint8Array): number;
}

const TWO_POW_32 = 2 ** 32;

function be32(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, false);
}

export const STANDARD: TokenFormat = {
  name: 'standard',
  valueOffset: 1000,
  maxActivationValue: 995,
  digits: 9,
  restrictedDigits: 15,
  nextCode(code, key) {
    // The reference packs the 32-bit code big-endian twice to reach SipHash's 8-byte block.
    const message = new Uint8Array(8);
    const view = new DataView(message.buffer);
    be32(view, 0, code);
    be32(view, 4, code);
    return hashToStandardCode(sipHash24(key, message));
  },
};

export const EXTENDED: TokenFormat = {
  name: 'extended',
  valueOffset: 1_000_000,
  maxActivationValue: 999_999,
  digits: 12,
  restrictedDigits: 20,
  nextCode(code, key) {
    const message = new Uint8Array(8);
    const view = new DataView(message.buffer);
    be32(view, 0, Math.floor(code / TWO_POW_32));
    be32(view, 4, code % TWO_POW_32);
    return hashToExtendedCode(sipHash24(key, message));
  },
};

export function formatOf(extended: boolean | undefined): TokenFormat {
  return extended ? EXTENDED : STANDARD;
}

/** Folds a 64-bit hash to 32 bits, keeps 30 of them and pulls the rare >9-digit values back under 10^9. */
export function hashToStandardCode([hi, lo]: readonly [number, number]): number {
  const thirtyBits = ((hi ^ lo) >>> 0) >>> 2;
  return thirtyBits > 999_999_999 ? thirtyBits - 73_741_825 : thirtyBits;
}

/** Keeps the top 40 bits of the hash and pulls values above 12 digits back under 10^12. */
export function hashToExtendedCode([hi, lo]: readonly [number, number]): number {
  const fortyBits = hi * 256 + (lo >>> 24);
  return fortyBits > 999_999_999_999 ? fortyBits - 99_511_627_777 : fortyBits;
}

export function baseOf(code: number, format: TokenFormat): number {
  return code % format.valueOffset;
}

export function withBase(code: number, base: number, format: TokenFormat): number {
  return code - baseOf(code, format) + base;
}

/** Writes the code as `restrictedDigits` base-4 digits shifted to 1–4 (most significant first). */
export function toRestrictedDigits(code: number, format: TokenFormat): string {
  let out = '';
  let rest = code;
  for (let i = 0; i < format.restrictedDigits; i += 1) {
    out = String((rest % 4) + 1) + out;
    rest = Math.floor(rest / 4);
  }
  return out;
}

/** Inverse of toRestrictedDigits; the caller has checked the text holds only digits 1–4. */
export function fromRestrictedDigits(text: string): number {
  let code = 0;
  for (const ch of text) code = code * 4 + (ch.charCodeAt(0) - 49);
  return code;
}
