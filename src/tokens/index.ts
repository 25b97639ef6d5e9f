/**
 * OpenPAYGO Token codec, shared by the server (issues codes) and the device agent (checks them).
 * Pure: no I/O, no clock, no Node APIs.
 */
import { TokenInputError } from './errors.ts';
import { hashToStandardCode } from './format.ts';
import { checkKey } from './inputs.ts';
import { sipHash24 } from './siphash.ts';

export * from './constants.ts';
export { TokenInputError } from './errors.ts';
export { encodeToken, type EncodeOptions, type EncodedToken } from './encode.ts';
export {
  decodeToken,
  type DecodeOptions,
  type DecodeResult,
  type DecodeSuccess,
  type DecodeFailure,
} from './decode.ts';
export { isEncodableDays, nextTokenCount } from './values.ts';
export { MAX_STARTING_CODE } from './inputs.ts';

/** The starting code the reference derives from a key: SipHash of the key under itself. */
export function deriveStartingCode(key: Uint8Array): number {
  checkKey(key);
  return hashToStandardCode(sipHash24(key, key));
}

/** Parses a key written as 32 hex digits (how OpenPAYGO tools exchange keys). */
export function keyFromHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new TokenInputError('An OpenPAYGO token key is written as exactly 32 hexadecimal digits.', {
      field: 'key',
    });
  }
  const key = new Uint8Array(16);
  for (let i = 0; i < 16; i += 1) key[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return key;
}

export function keyToHex(key: Uint8Array): string {
  checkKey(key);
  return Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('');
}
