import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DERIVATION_LABELS, deriveDeviceKeys } from '../../src/protocol/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** RFC 5869 written out with HMAC, independent of node's hkdfSync: empty salt = 32 zero bytes. */
function hkdfByHand(ikm: Uint8Array, info: string, length: number): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest();
  let block = Buffer.alloc(0);
  let out = Buffer.alloc(0);
  for (let i = 1; out.length < length; i++) {
    block = createHmac('sha256', prk).update(Buffer.concat([block, Buffer.from(info, 'utf8'), Buffer.from([i])])).digest();
    out = Buffer.concat([out, block]);
  }
  return out.subarray(0, length);
}

describe('deriveDeviceKeys', () => {
  it('matches fixed vectors (a change here would orphan every device in the field)', () => {
    const sevens = deriveDeviceKeys(Buffer.alloc(32, 7));
    expect(hex(sevens.authKey)).toBe('105c3300f7fdd85b78bb4337b1cce49a6553d2a972b6630ffbbad533207dfcbf');
    expect(hex(sevens.tokenKey)).toBe('0731c8d70ac53dec48ea86ffe59e6050');
    // HKDF output e8f28477109a6cef as a big-endian integer, mod 10^9.
    expect(sevens.startingCode).toBe(77_790_447);

    const counting = deriveDeviceKeys(Uint8Array.from({ length: 32 }, (_, i) => i));
    expect(hex(counting.authKey)).toBe('64316f2891703d20c8cd38603645213181b3069fa7afaecc093c176a2666eadd');
    expect(hex(counting.tokenKey)).toBe('7dfa82f0ca85907dc0b6065033aa85e7');
    expect(counting.startingCode).toBe(449_737_866);
  });

  it('is HKDF-SHA256 with one label per key, for any secret', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        const keys = deriveDeviceKeys(secret);
        expect(hex(keys.authKey)).toBe(hex(hkdfByHand(secret, DERIVATION_LABELS.authKey, 32)));
        expect(hex(keys.tokenKey)).toBe(hex(hkdfByHand(secret, DERIVATION_LABELS.tokenKey, 16)));
        expect(keys.startingCode).toBe(Number(hkdfByHand(secret, DERIVATION_LABELS.startingCode, 8).readBigUInt64BE(0) % 1_000_000_000n));
        expect(Number.isInteger(keys.startingCode) && keys.startingCode >= 0 && keys.startingCode <= 999_999_999).toBe(true);
        // Distinct labels give unrelated bytes: the token key is not a slice of the auth key.
        expect(hex(keys.authKey).includes(hex(keys.tokenKey))).toBe(false);
        // Deterministic: the server and the phone derive the same keys from the same secret.
        expect(deriveDeviceKeys(Uint8Array.from(secret))).toEqual(keys);
      }),
      { numRuns: 30 },
    );
  });

  it('gives different devices different keys', () => {
    const a = deriveDeviceKeys(Buffer.alloc(32, 1));
    const b = deriveDeviceKeys(Buffer.alloc(32, 2));
    expect(hex(a.authKey)).not.toBe(hex(b.authKey));
    expect(hex(a.tokenKey)).not.toBe(hex(b.tokenKey));
    expect(a.startingCode).not.toBe(b.startingCode);
  });

  it('insists on a 32-byte secret', () => {
    expect(() => deriveDeviceKeys(Buffer.alloc(16))).toThrow(/32 bytes \(got 16 bytes\)/);
    expect(() => deriveDeviceKeys(Buffer.alloc(33))).toThrow(/got 33 bytes/);
    expect(() => deriveDeviceKeys('secret' as unknown as Uint8Array)).toThrow(/got string/);
  });
});
