/**
 * Checking tokens on the device: OpenPAYGO-python `token_decode.py`.
 *
 * The device walks its hash chain from count 0 up to lastCount + MAX_TOKEN_JUMP (or
 * + MAX_TOKEN_JUMP_COUNTER_SYNC) looking for the entered code; the count where it matches says
 * which token it is, the count's parity says its type, the low digits say its value.
 */
import {
  MAX_TOKEN_JUMP,
  MAX_TOKEN_JUMP_COUNTER_SYNC,
  MAX_UNUSED_OLDER_TOKENS,
  COUNTER_SYNC_VALUE,
  type TokenType,
} from './constants.ts';
import { baseOf, EXTENDED, fromRestrictedDigits, STANDARD, withBase, type TokenFormat } from './format.ts';
import { checkCount, checkKey, checkStartingCode, checkUsedCounts } from './inputs.ts';
import { typeAt } from './values.ts';

export interface DecodeOptions {
  /** What the person typed; spaces and dashes between digit groups are ignored. */
  token: string;
  key: Uint8Array;
  startingCode: number;
  /** The highest count the device has accepted so far. */
  lastCount: number;
  /** Counts already used, as returned by the previous successful decode. */
  usedCounts: number[];
  restrictedDigitSet?: boolean;
  /** true: only 12/20-digit tokens; false: only 9/15-digit; absent: either, told apart by length. */
  extended?: boolean;
}

interface Accepted {
  ok: true;
  /** The chain position the token was issued at. */
  count: number;
  /** What the device stores as its new last count. */
  lastCount: number;
  /** What the device stores as its new used-count window. */
  usedCounts: number[];
}

export type DecodeSuccess =
  | (Accepted & { type: 'ADD_TIME' | 'SET_TIME'; value: number })
  | (Accepted & { type: 'DISABLE_PAYG' | 'COUNTER_SYNC'; value: null });

export type DecodeFailure = { ok: false; reason: 'invalid' | 'already_used' | 'malformed' };

export type DecodeResult = DecodeSuccess | DecodeFailure;

export function decodeToken(opts: DecodeOptions): DecodeResult {
  checkKey(opts.key);
  checkStartingCode(opts.startingCode);
  checkCount(opts.lastCount, 'lastCount');
  checkUsedCounts(opts.usedCounts);

  const parsed = parseToken(opts.token, opts.restrictedDigitSet === true, opts.extended);
  if (parsed === null) return { ok: false, reason: 'malformed' };
  const { format, code } = parsed;
  const extended = format === EXTENDED;

  const tokenBase = baseOf(code, format);
  const value = (tokenBase - baseOf(opts.startingCode, format) + format.valueOffset) % format.valueOffset;
  const jump = value === COUNTER_SYNC_VALUE ? MAX_TOKEN_JUMP_COUNTER_SYNC : MAX_TOKEN_JUMP;
  const lastTry = opts.lastCount + jump;

  let foundUsed = false;
  let chain = withBase(opts.startingCode, tokenBase, format);
  for (let count = 0; count <= lastTry; count += 1) {
    if (withBase(chain, tokenBase, format) === code) {
      const type = typeAt(count, value, extended);
      if (type !== null) {
        if (countIsValid(count, type, opts.lastCount, opts.usedCounts)) {
          return accepted(type, value, count, opts.lastCount, opts.usedCounts);
        }
        foundUsed = true;
      }
    }
    if (count < lastTry) chain = format.nextCode(chain, opts.key);
  }
  return { ok: false, reason: foundUsed ? 'already_used' : 'invalid' };
}

function countIsValid(count: number, type: TokenType, lastCount: number, usedCounts: readonly number[]): boolean {
  // Resynchronising is harmless to repeat, so COUNTER_SYNC only has to be fairly recent.
  if (type === 'COUNTER_SYNC') return count > lastCount - MAX_TOKEN_JUMP;
  if (count > lastCount) return true;
  // Credit bought earlier but typed late still counts, once.
  return type === 'ADD_TIME' && count > lastCount - MAX_UNUSED_OLDER_TOKENS && !usedCounts.includes(count);
}

function accepted(
  type: TokenType,
  value: number,
  count: number,
  lastCount: number,
  pastUsed: readonly number[],
): DecodeSuccess {
  const common = {
    ok: true as const,
    count,
    lastCount: Math.max(lastCount, count),
    usedCounts: updateUsedCounts(pastUsed, count, type),
  };
  if (type === 'ADD_TIME' || type === 'SET_TIME') return { ...common, type, value };
  return { ...common, type, value: null };
}

/**
 * The window of the last MAX_UNUSED_OLDER_TOKENS counts below the highest one seen. Anything
 * but ADD_TIME closes the whole window (older credit must not stack on a SET_TIME or disable);
 * ADD_TIME marks only its own count.
 */
function updateUsedCounts(pastUsed: readonly number[], count: number, type: TokenType): number[] {
  let highest = count;
  for (const c of pastUsed) if (c > highest) highest = c;
  const bottom = Math.max(0, highest - MAX_UNUSED_OLDER_TOKENS);
  const used: number[] = [];
  for (let c = bottom; c <= highest; c += 1) {
    if (type !== 'ADD_TIME' || c === count || pastUsed.includes(c)) used.push(c);
  }
  return used;
}

function parseToken(
  raw: unknown,
  restricted: boolean,
  extended: boolean | undefined,
): { format: TokenFormat; code: number } | null {
  if (typeof raw !== 'string') return null;
  const text = raw.replace(/[\s-]/g, '');
  if (!(restricted ? /^[1-4]+$/ : /^[0-9]+$/).test(text)) return null;
  const candidates = extended === undefined ? [STANDARD, EXTENDED] : [extended ? EXTENDED : STANDARD];
  const format = candidates.find((f) => text.length === (restricted ? f.restrictedDigits : f.digits));
  if (format === undefined) return null;
  return { format, code: restricted ? fromRestrictedDigits(text) : Number(text) };
}
