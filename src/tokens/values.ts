/**
 * Which (token type, value) pairs a token can carry, and the count parity that tells the types
 * apart: ADD_TIME lives on even counts, every other type on odd counts.
 */
import {
  COUNTER_SYNC_VALUE,
  MAX_ACTIVATION_VALUE,
  MAX_ACTIVATION_VALUE_EXTENDED,
  PAYG_DISABLE_VALUE,
  type TokenType,
} from './constants.ts';

/**
 * Days an ADD_TIME / SET_TIME token can carry. Standard tokens stop at 995, below the two
 * command values. Extended tokens have room up to 999 999, but 998 and 999 would read back as
 * DISABLE_PAYG / COUNTER_SYNC on odd counts (and make an ADD_TIME reusable under the
 * COUNTER_SYNC window rule), so they are refused too.
 */
export function isEncodableDays(days: number, extended = false): boolean {
  if (!Number.isInteger(days) || days < 0) return false;
  if (days === PAYG_DISABLE_VALUE || days === COUNTER_SYNC_VALUE) return false;
  return days <= (extended ? MAX_ACTIVATION_VALUE_EXTENDED : MAX_ACTIVATION_VALUE);
}

/** The counter after issuing a token of `type` from counter `count` (the reference's parity rule). */
export function nextTokenCount(count: number, type: TokenType): number {
  const wantOdd = type !== 'ADD_TIME';
  const odd = count % 2 === 1;
  // Skip to the next count of the right parity, always moving forward.
  return odd === wantOdd ? count + 2 : count + 1;
}

/** The type a token found at `count` with decoded `value` has; null if no encoder makes that pair. */
export function typeAt(count: number, value: number, extended: boolean): TokenType | null {
  if (count % 2 === 0) return isEncodableDays(value, extended) ? 'ADD_TIME' : null;
  if (value === COUNTER_SYNC_VALUE) return 'COUNTER_SYNC';
  if (value === PAYG_DISABLE_VALUE) return 'DISABLE_PAYG';
  return isEncodableDays(value, extended) ? 'SET_TIME' : null;
}
