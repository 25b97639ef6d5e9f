/** Checks on the device secrets and counters handed to the codec (not on the token text). */
import { TokenInputError } from './errors.ts';

export const MAX_STARTING_CODE = 999_999_999;

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 16) {
    throw new TokenInputError('The OpenPAYGO token key must be exactly 16 bytes.', {
      field: 'key',
    });
  }
}

export function checkStartingCode(startingCode: unknown): asserts startingCode is number {
  if (!Number.isInteger(startingCode) || (startingCode as number) < 0 || (startingCode as number) > MAX_STARTING_CODE) {
    throw new TokenInputError('The OpenPAYGO starting code must be a whole number of at most 9 digits.', {
      field: 'startingCode',
      value: startingCode,
    });
  }
}

export function checkCount(count: unknown, field: string): asserts count is number {
  if (!Number.isSafeInteger(count) || (count as number) < 0) {
    throw new TokenInputError(`The token counter (${field}) must be a whole number, zero or more.`, {
      field,
      value: count,
    });
  }
}

export function checkUsedCounts(usedCounts: unknown): asserts usedCounts is number[] {
  if (!Array.isArray(usedCounts) || !usedCounts.every((c) => Number.isSafeInteger(c) && c >= 0)) {
    throw new TokenInputError('The list of used token counts must hold whole numbers, zero or more.', {
      field: 'usedCounts',
    });
  }
}
