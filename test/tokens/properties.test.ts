import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeToken,
  encodeToken,
  MAX_ACTIVATION_VALUE,
  type DecodeSuccess,
  type TokenType,
} from '../../src/tokens/index.ts';

const keyArb = fc.uint8Array({ minLength: 16, maxLength: 16 });
const startingCodeArb = fc.integer({ min: 0, max: 999_999_999 });

/** Type and a value it can carry, for either layout. */
const typedValueArb = (extended: boolean) =>
  fc.oneof(
    fc.record({
      type: fc.constantFrom<TokenType>('ADD_TIME', 'SET_TIME'),
      value: extended
        ? fc.integer({ min: 0, max: 999_999 }).filter((d) => d !== 998 && d !== 999)
        : fc.integer({ min: 0, max: MAX_ACTIVATION_VALUE }),
    }),
    fc.record({ type: fc.constantFrom<TokenType>('DISABLE_PAYG', 'COUNTER_SYNC'), value: fc.constant(undefined) }),
  );

const caseArb = fc
  .record({
    key: keyArb,
    startingCode: startingCodeArb,
    count: fc.integer({ min: 0, max: 120 }),
    restrictedDigitSet: fc.boolean(),
    extended: fc.boolean(),
  })
  .chain((base) => typedValueArb(base.extended).map((tv) => ({ ...base, ...tv })));

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Two chain positions can yield the same token text by chance (about one in a million per
 * position). When the decoder stops at an earlier position than expected, it must be exactly
 * such a collision: the server would have issued the same text at that position.
 */
function isCollision(c: Case, token: string, found: DecodeSuccess): boolean {
  const again = encodeToken({
    key: c.key,
    startingCode: c.startingCode,
    count: found.count - 1,
    type: found.type,
    value: found.value ?? undefined,
    restrictedDigitSet: c.restrictedDigitSet,
    extended: c.extended,
  });
  return again.token === token && again.newCount === found.count;
}

describe('encode → decode', () => {
  it('recovers type, value and count for random keys, counters and values', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { token, newCount } = encodeToken(c);
        expect(token).toHaveLength(
          c.restrictedDigitSet ? (c.extended ? 20 : 15) : c.extended ? 12 : 9,
        );
        const out = decodeToken({ ...c, token, lastCount: c.count, usedCounts: [] });
        expect(out.ok).toBe(true);
        if (!out.ok) return;
        if (out.count !== newCount) {
          expect(out.count).toBeLessThan(newCount);
          expect(isCollision(c, token, out)).toBe(true);
          return;
        }
        expect(out.type).toBe(c.type);
        expect(out.value).toBe(c.value ?? null);
        expect(out.lastCount).toBe(newCount);
        expect(out.usedCounts).toContain(newCount);
      }),
      { numRuns: 150 },
    );
  });
});

describe('reuse', () => {
  it('refuses a token entered a second time (all types but COUNTER_SYNC)', () => {
    fc.assert(
      fc.property(
        caseArb.filter((c) => c.type !== 'COUNTER_SYNC'),
        fc.integer({ min: 0, max: 10 }),
        (c, laterTokens) => {
          const { token } = encodeToken(c);
          const first = decodeToken({ ...c, token, lastCount: c.count, usedCounts: [] });
          expect(first.ok).toBe(true);
          if (!first.ok) return;
          // The device may have taken a few more ADD_TIME tokens in between.
          let state = { lastCount: first.lastCount, usedCounts: first.usedCounts };
          let serverCount = first.lastCount;
          for (let i = 0; i < laterTokens; i += 1) {
            const next = encodeToken({ ...c, count: serverCount, type: 'ADD_TIME', value: 1 });
            serverCount = next.newCount;
            const r = decodeToken({ ...c, token: next.token, ...state });
            if (r.ok) state = { lastCount: r.lastCount, usedCounts: r.usedCounts };
          }
          const second = decodeToken({ ...c, token, ...state });
          if (second.ok) {
            // Only a chance collision further down the chain may accept the same text again.
            expect(second.count).toBeGreaterThan(first.count);
            expect(isCollision(c, token, second)).toBe(true);
          } else {
            expect(second.reason).toBe('already_used');
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('wrong tokens', () => {
  it('almost always refuses a random token', () => {
    const samples = fc.sample(
      fc.record({
        key: keyArb,
        startingCode: startingCodeArb,
        lastCount: fc.integer({ min: 0, max: 40 }),
        extended: fc.boolean(),
        digits: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 }),
      }),
      400,
    );
    let accepted = 0;
    for (const s of samples) {
      const token = s.digits.slice(0, s.extended ? 12 : 9).join('');
      const out = decodeToken({ ...s, token, usedCounts: [] });
      if (out.ok) accepted += 1;
      else expect(['invalid', 'already_used']).toContain(out.reason);
    }
    // Each guess has roughly (lastCount + 65) / 10^6 chance; 400 guesses should all fail.
    expect(accepted).toBeLessThanOrEqual(1);
  });

  it('refuses a genuine token with one digit changed', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (c, position, shift) => {
          const { token } = encodeToken({ ...c, restrictedDigitSet: false });
          const at = position % token.length;
          const typo = token.slice(0, at) + String((Number(token[at]) + shift) % 10) + token.slice(at + 1);
          const out = decodeToken({ ...c, restrictedDigitSet: false, token: typo, lastCount: c.count, usedCounts: [] });
          if (out.ok) {
            // Accepting a typo is only allowed as a genuine token of this key at another position.
            expect(isCollision({ ...c, restrictedDigitSet: false }, typo, out)).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('malformed input', () => {
  const deviceArb = fc.record({
    key: keyArb,
    startingCode: startingCodeArb,
    lastCount: fc.integer({ min: 0, max: 50 }),
    restrictedDigitSet: fc.boolean(),
    extended: fc.option(fc.boolean(), { nil: undefined }),
  });

  it('answers "malformed" (never throws) for text with letters or symbols', () => {
    fc.assert(
      fc.property(
        deviceArb,
        fc.string({ maxLength: 25 }).filter((s) => /[^0-9\s-]/.test(s)),
        (device, token) => {
          expect(decodeToken({ ...device, token, usedCounts: [] })).toEqual({ ok: false, reason: 'malformed' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers "malformed" for digit strings of a length no layout has', () => {
    fc.assert(
      fc.property(
        deviceArb,
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 30 }).filter(
          (d) => ![9, 12, 15, 20].includes(d.length),
        ),
        (device, digits) => {
          expect(decodeToken({ ...device, token: digits.join(''), usedCounts: [] })).toEqual({
            ok: false,
            reason: 'malformed',
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers "malformed" for digits outside 1-4 in restricted mode', () => {
    fc.assert(
      fc.property(
        deviceArb,
        fc.boolean(),
        fc.nat(),
        fc.constantFrom('0', '5', '6', '7', '8', '9'),
        (device, extended, position, bad) => {
          const length = extended ? 20 : 15;
          const digits = Array.from({ length }, (_, i) => String((i % 4) + 1));
          digits[position % length] = bad;
          const out = decodeToken({ ...device, restrictedDigitSet: true, extended, token: digits.join(''), usedCounts: [] });
          expect(out).toEqual({ ok: false, reason: 'malformed' });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('answers "malformed" for a value that is not text', () => {
    const device = { key: new Uint8Array(16), startingCode: 1, lastCount: 0, usedCounts: [] };
    for (const token of [undefined, null, 123456789, {}]) {
      expect(decodeToken({ ...device, token: token as unknown as string })).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
