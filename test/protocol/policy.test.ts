import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPolicy, LOCK_REFERENCE_PATTERN, newLockReference } from '../../src/protocol/index.ts';
import { arbitraryPolicy, policy } from './fixtures.ts';

describe('lock references', () => {
  it('encodes 40 bits as 8 Crockford base32 characters, most significant first', () => {
    expect(newLockReference(new Uint8Array(5))).toBe('00000000');
    expect(newLockReference(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('ZZZZZZZZ');
    // 0x0842108421 = 00001 00001 00001 ... in 5-bit groups.
    expect(newLockReference(new Uint8Array([0x08, 0x42, 0x10, 0x84, 0x21]))).toBe('11111111');
    // The last group is 0x12 = 18, which skips I and L: 'J'.
    expect(newLockReference(new Uint8Array([0, 0, 0, 0, 0x12]))).toBe('0000000J');
    expect(newLockReference(new Uint8Array([1, 2, 3, 4, 5, 6, 7]))).toBe(newLockReference(new Uint8Array([1, 2, 3, 4, 5])));
  });

  it('never uses I, L, O or U, and distinct bytes give distinct references', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.uint8Array({ minLength: 5, maxLength: 5 }), (a, b) => {
        const ra = newLockReference(a);
        expect(ra).toMatch(LOCK_REFERENCE_PATTERN);
        expect(ra).not.toMatch(/[ILOU]/);
        expect(ra === newLockReference(b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
  });

  it('needs five random bytes', () => {
    expect(() => newLockReference(new Uint8Array(4))).toThrow(/at least 5 random bytes \(got 4\)/);
  });
});

describe('policy schema', () => {
  it('accepts the generated policies and the optional fields', () => {
    expect(isPolicy(policy())).toBe(true);
    expect(isPolicy(policy({ noticeUntil: null, noticeIndex: 1, nextCheckinAt: '2026-03-02T00:00:00+03:00' }))).toBe(true);
    fc.assert(fc.property(arbitraryPolicy('dev_9'), isPolicy), { numRuns: 50 });
  });

  it('keeps the guardrail fields: a lender name and number to call', () => {
    expect(isPolicy(policy({ lender: { ...policy().lender, name: '' } }))).toBe(false);
    expect(isPolicy(policy({ lender: { ...policy().lender, phone: '' } }))).toBe(false);
  });

  it('refuses versions below 1, fractional or negative amounts and lowercase currencies', () => {
    expect(isPolicy(policy({ version: 0 }))).toBe(false);
    expect(isPolicy(policy({ amountDue: 10.5 }))).toBe(false);
    expect(isPolicy(policy({ amountDue: -1 }))).toBe(false);
    expect(isPolicy(policy({ currency: 'kes' }))).toBe(false);
  });
});
