import { describe, expect, it } from 'vitest';
import { TokenInputError } from '../../src/tokens/errors.ts';
import {
  decodeToken,
  deriveStartingCode,
  encodeToken,
  isEncodableDays,
  keyFromHex,
  keyToHex,
  MAX_TOKEN_JUMP,
  MAX_TOKEN_JUMP_COUNTER_SYNC,
  MAX_UNUSED_OLDER_TOKENS,
  nextTokenCount,
  type DecodeResult,
  type TokenType,
} from '../../src/tokens/index.ts';
import { hashToStandardCode } from '../../src/tokens/format.ts';
import { sipHash24 } from '../../src/tokens/siphash.ts';

const key = keyFromHex('bc41ec9530f6dac86b1a29ab82edc5fb');
const startingCode = 516959010;

/** The token the server issues so that it lands exactly on chain position `at`. */
function tokenAt(at: number, type: TokenType, value?: number, extended = false): string {
  const out = encodeToken({ key, startingCode, count: at - 1, type, value, extended });
  expect(out.newCount).toBe(at);
  return out.token;
}

interface DeviceState {
  lastCount: number;
  usedCounts: number[];
}

function enter(state: DeviceState, token: string, extended?: boolean): DecodeResult {
  const result = decodeToken({ token, key, startingCode, ...state, extended });
  if (result.ok) {
    state.lastCount = result.lastCount;
    state.usedCounts = result.usedCounts;
  }
  return result;
}

describe('count parity', () => {
  it('puts ADD_TIME on even counts and the other types on odd counts, always moving forward', () => {
    expect(nextTokenCount(1, 'ADD_TIME')).toBe(2);
    expect(nextTokenCount(2, 'ADD_TIME')).toBe(4);
    expect(nextTokenCount(1, 'SET_TIME')).toBe(3);
    expect(nextTokenCount(2, 'SET_TIME')).toBe(3);
    expect(nextTokenCount(0, 'DISABLE_PAYG')).toBe(1);
    expect(nextTokenCount(11, 'COUNTER_SYNC')).toBe(13);
  });

  it('reads the type back from the parity and the value digits', () => {
    const state = { lastCount: 1, usedCounts: [] };
    expect(enter(state, tokenAt(3, 'SET_TIME', 30))).toMatchObject({ ok: true, type: 'SET_TIME', value: 30, count: 3 });
    expect(enter(state, tokenAt(4, 'ADD_TIME', 7))).toMatchObject({ ok: true, type: 'ADD_TIME', value: 7, count: 4 });
    expect(enter(state, tokenAt(5, 'DISABLE_PAYG'))).toMatchObject({ ok: true, type: 'DISABLE_PAYG', value: null });
    expect(enter(state, tokenAt(7, 'COUNTER_SYNC'))).toMatchObject({ ok: true, type: 'COUNTER_SYNC', value: null });
  });
});

describe('look-ahead', () => {
  it(`accepts a token up to ${MAX_TOKEN_JUMP} counts ahead and not beyond`, () => {
    const ahead = 10 + MAX_TOKEN_JUMP;
    expect(enter({ lastCount: 10, usedCounts: [] }, tokenAt(ahead, 'ADD_TIME', 1))).toMatchObject({
      ok: true,
      count: ahead,
    });
    expect(enter({ lastCount: 10, usedCounts: [] }, tokenAt(ahead + 2, 'ADD_TIME', 1))).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // The same token becomes valid once the device has caught up a little.
    expect(enter({ lastCount: 12, usedCounts: [] }, tokenAt(ahead + 2, 'ADD_TIME', 1))).toMatchObject({ ok: true });
  });

  it(`lets COUNTER_SYNC reach ${MAX_TOKEN_JUMP_COUNTER_SYNC} counts ahead`, () => {
    const far = 11 + MAX_TOKEN_JUMP_COUNTER_SYNC; // odd, as COUNTER_SYNC needs
    const sync = tokenAt(far, 'COUNTER_SYNC');
    expect(enter({ lastCount: 11, usedCounts: [] }, sync)).toMatchObject({ ok: true, count: far, lastCount: far });
    expect(enter({ lastCount: 9, usedCounts: [] }, sync)).toEqual({ ok: false, reason: 'invalid' });
    // SET_TIME at the same distance is out of reach.
    expect(enter({ lastCount: 11, usedCounts: [] }, tokenAt(far, 'SET_TIME', 3))).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('works the same for extended tokens', () => {
    const token = tokenAt(40, 'ADD_TIME', 123_456, true);
    expect(token).toHaveLength(12);
    expect(enter({ lastCount: 1, usedCounts: [] }, token)).toMatchObject({ ok: true, value: 123_456, count: 40 });
  });
});

describe('used counts', () => {
  it('accepts older ADD_TIME tokens typed out of order, each once', () => {
    const [t2, t4, t6] = [2, 4, 6].map((at) => tokenAt(at, 'ADD_TIME', at));
    const state: DeviceState = { lastCount: 1, usedCounts: [] };
    expect(enter(state, t6!)).toMatchObject({ ok: true, value: 6, count: 6, usedCounts: [6] });
    expect(enter(state, t2!)).toMatchObject({ ok: true, value: 2, lastCount: 6, usedCounts: [2, 6] });
    expect(enter(state, t4!)).toMatchObject({ ok: true, value: 4, usedCounts: [2, 4, 6] });
    expect(enter(state, t2!)).toEqual({ ok: false, reason: 'already_used' });
    expect(enter(state, t6!)).toEqual({ ok: false, reason: 'already_used' });
  });

  it(`forgets ADD_TIME tokens more than ${MAX_UNUSED_OLDER_TOKENS} counts old`, () => {
    const old = tokenAt(2, 'ADD_TIME', 1);
    const recent = tokenAt(20, 'ADD_TIME', 1);
    const state: DeviceState = { lastCount: 1, usedCounts: [] };
    expect(enter(state, tokenAt(18, 'ADD_TIME', 1))).toMatchObject({ ok: true });
    expect(enter(state, old)).toEqual({ ok: false, reason: 'already_used' });
    expect(enter(state, recent)).toMatchObject({ ok: true });
  });

  it('closes the whole window after a SET_TIME, so older credit cannot stack on it', () => {
    const olderCredit = tokenAt(4, 'ADD_TIME', 10);
    const state: DeviceState = { lastCount: 1, usedCounts: [] };
    expect(enter(state, tokenAt(7, 'SET_TIME', 30))).toMatchObject({
      ok: true,
      usedCounts: [0, 1, 2, 3, 4, 5, 6, 7],
    });
    expect(enter(state, olderCredit)).toEqual({ ok: false, reason: 'already_used' });
  });

  it('never accepts an older SET_TIME or DISABLE_PAYG', () => {
    const set = tokenAt(3, 'SET_TIME', 5);
    const disable = tokenAt(5, 'DISABLE_PAYG');
    const state: DeviceState = { lastCount: 1, usedCounts: [] };
    expect(enter(state, tokenAt(8, 'ADD_TIME', 1))).toMatchObject({ ok: true });
    expect(enter(state, set)).toEqual({ ok: false, reason: 'already_used' });
    expect(enter(state, disable)).toEqual({ ok: false, reason: 'already_used' });
  });

  it('accepts a recent COUNTER_SYNC again (as the reference does) without moving the counter back', () => {
    const sync = tokenAt(5, 'COUNTER_SYNC');
    const state: DeviceState = { lastCount: 1, usedCounts: [] };
    expect(enter(state, sync)).toMatchObject({ ok: true, lastCount: 5 });
    expect(enter(state, tokenAt(10, 'ADD_TIME', 1))).toMatchObject({ ok: true, lastCount: 10 });
    expect(enter(state, sync)).toMatchObject({ ok: true, count: 5, lastCount: 10 });
  });
});

describe('token text', () => {
  it('ignores spaces and dashes between digit groups', () => {
    const token = tokenAt(2, 'ADD_TIME', 3);
    const grouped = `${token.slice(0, 3)} ${token.slice(3, 6)}-${token.slice(6)}`;
    expect(enter({ lastCount: 1, usedCounts: [] }, grouped)).toMatchObject({ ok: true, value: 3 });
  });

  it('holds to the layout the caller asked for', () => {
    const standard = tokenAt(2, 'ADD_TIME', 3);
    expect(enter({ lastCount: 1, usedCounts: [] }, standard, true)).toEqual({ ok: false, reason: 'malformed' });
    expect(enter({ lastCount: 1, usedCounts: [] }, standard, false)).toMatchObject({ ok: true });
  });

  it('writes restricted tokens with digits 1-4 only', () => {
    for (const extended of [false, true]) {
      const { token } = encodeToken({ key, startingCode, count: 1, type: 'ADD_TIME', value: 9, restrictedDigitSet: true, extended });
      expect(token).toMatch(extended ? /^[1-4]{20}$/ : /^[1-4]{15}$/);
    }
  });
});

describe('starting code', () => {
  it('is the 9-digit fold of SipHash(key, key)', () => {
    const code = deriveStartingCode(key);
    expect(code).toBe(hashToStandardCode(sipHash24(key, key)));
    expect(code).toBeGreaterThanOrEqual(0);
    expect(code).toBeLessThanOrEqual(999_999_999);
  });

  it('differs between keys and works as a starting code', () => {
    const other = keyFromHex('dac86b1a29ab82edc5fbbc41ec9530f6');
    expect(deriveStartingCode(other)).not.toBe(deriveStartingCode(key));
    const derived = deriveStartingCode(other);
    const { token } = encodeToken({ key: other, startingCode: derived, count: 0, type: 'SET_TIME', value: 12 });
    expect(decodeToken({ token, key: other, startingCode: derived, lastCount: 0, usedCounts: [] })).toMatchObject({
      ok: true,
      value: 12,
    });
  });
});

describe('refusals', () => {
  const expectInvalidInput = (fn: () => unknown, pattern: RegExp) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(TokenInputError);
      expect((e as TokenInputError).code).toBe('invalid_input');
      expect((e as TokenInputError).message).toMatch(pattern);
      return;
    }
    throw new Error('expected a TokenInputError');
  };

  it('refuses values a token cannot carry', () => {
    const base = { key, startingCode, count: 1 };
    expectInvalidInput(() => encodeToken({ ...base, type: 'ADD_TIME', value: 996 }), /0 to 995/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'SET_TIME' }), /whole number of days/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'ADD_TIME', value: 1.5 }), /whole number/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'ADD_TIME', value: -1 }), /whole number/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'SET_TIME', value: 998, extended: true }), /except 998/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'DISABLE_PAYG', value: 5 }), /no number of days/);
    expectInvalidInput(() => encodeToken({ ...base, type: 'NOPE' as TokenType, value: 5 }), /Unknown token type/);
    expect(isEncodableDays(1000, true)).toBe(true);
    expect(isEncodableDays(999, true)).toBe(false);
    expect(isEncodableDays(995)).toBe(true);
  });

  it('refuses bad keys, starting codes and counters with a clear error', () => {
    expectInvalidInput(() => encodeToken({ key: new Uint8Array(8), startingCode, count: 1, type: 'ADD_TIME', value: 1 }), /16 bytes/);
    expectInvalidInput(() => encodeToken({ key, startingCode: 1e9, count: 1, type: 'ADD_TIME', value: 1 }), /9 digits/);
    expectInvalidInput(() => encodeToken({ key, startingCode, count: -1, type: 'ADD_TIME', value: 1 }), /counter/);
    expectInvalidInput(
      () => decodeToken({ token: '123456789', key, startingCode, lastCount: 1, usedCounts: [-3] }),
      /used token counts/,
    );
    expectInvalidInput(() => keyFromHex('abc'), /32 hexadecimal/);
  });

  it('round-trips keys through hex', () => {
    expect(keyToHex(key)).toBe('bc41ec9530f6dac86b1a29ab82edc5fb');
  });
});
