import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sipHash24 } from '../../src/tokens/siphash.ts';

const asBigInt = ([hi, lo]: readonly [number, number]): bigint => (BigInt(hi) << 32n) | BigInt(lo);
const sequence = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

/** A second, deliberately naive SipHash-2-4 straight from the paper, on 64-bit BigInts. */
function referenceSipHash(key: Uint8Array, message: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const le64 = (b: Uint8Array, at: number) => {
    let x = 0n;
    for (let i = 7; i >= 0; i -= 1) x = (x << 8n) | BigInt(b[at + i] ?? 0);
    return x;
  };
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
  const k0 = le64(key, 0);
  const k1 = le64(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const padded = new Uint8Array(Math.floor(message.length / 8) * 8 + 8);
  padded.set(message);
  padded[padded.length - 1] = message.length & 0xff;
  for (let at = 0; at < padded.length; at += 8) {
    const m = le64(padded, at);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i += 1) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

describe('sipHash24', () => {
  it('matches the test vectors of the SipHash paper (key 00..0f, message 00..n-1)', () => {
    expect(asBigInt(sipHash24(sequence(16), sequence(0)))).toBe(0x726fdb47dd0e0e31n);
    expect(asBigInt(sipHash24(sequence(16), sequence(1)))).toBe(0x74f839c593dc67fdn);
    expect(asBigInt(sipHash24(sequence(16), sequence(15)))).toBe(0xa129ca6149be45e5n);
  });

  it('matches the value OpenPAYGO-go asserts for an ASCII key and empty message', () => {
    const key = new TextEncoder().encode('0123456789ABCDEF');
    expect(asBigInt(sipHash24(key, new Uint8Array(0)))).toBe(3627314469837380007n);
  });

  it('agrees with a straightforward BigInt implementation on random keys and messages', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        (key, message) => {
          expect(asBigInt(sipHash24(key, message))).toBe(referenceSipHash(key, message));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => sipHash24(new Uint8Array(15), new Uint8Array(8))).toThrow(RangeError);
  });
});
