/**
 * The server side of test/fixtures/protocol-vectors.json (docs/protocol.md §13): the project's
 * code reproduces every worked example byte for byte, and accepts what it should.
 */
import { describe, expect, it } from 'vitest';
import { acceptKeyRotations, canonicalJson, deriveDeviceKeys, verifyEnrollProof, verifyRequest, verifySignedPolicy } from '../../src/protocol/index.ts';
import { decodeToken } from '../../src/tokens/index.ts';
import { buildVectors } from '../fixtures/protocol-vectors.gen.ts';
import { VECTORS } from '../fixtures/vectors.ts';

describe('protocol vectors, server side', () => {
  it('are exactly what the code produces from the same inputs (regenerate with npm run vectors)', () => {
    expect(JSON.parse(JSON.stringify(buildVectors()))).toEqual(VECTORS);
  });

  it('key derivation, enrollment proof and request signing check out', () => {
    const keys = deriveDeviceKeys(Buffer.from(VECTORS.keyDerivation.factorySecretHex, 'hex'));
    expect(Buffer.from(keys.authKey).toString('hex')).toBe(VECTORS.keyDerivation.authKeyHex);
    expect(keys.startingCode).toBe(Number(BigInt(`0x${VECTORS.keyDerivation.startingCodeHkdfOutputHex}`) % 1_000_000_000n));
    const e = VECTORS.enrollProof;
    expect(verifyEnrollProof(keys.authKey, e.nonce, e.imei, e.serial, e.proof)).toBe(true);
    for (const r of [VECTORS.checkin, VECTORS.streamHandshake]) {
      const ok = verifyRequest({ headers: r.headers, method: r.method, path: r.path, body: r.body, authKey: Buffer.from(r.credential, 'base64url'), now: new Date(r.timestamp + 1000), lastCounter: r.counter - 1 });
      expect(ok).toEqual({ ok: true, counter: r.counter });
    }
  });

  it('the signed policy verifies once its key is pinned through the rotation statement', () => {
    const { policy, keyRotation } = VECTORS;
    expect(canonicalJson(policy.policy)).toBe(policy.canonicalJson);
    const pinned = [{ kid: keyRotation.pinnedKey.kid, publicKey: keyRotation.pinnedKey.publicKey }];
    expect(verifySignedPolicy(policy.signed, pinned, { deviceId: policy.policy.deviceId, minVersionExclusive: 0 })).toEqual({ ok: false, reason: 'unknown_key' });
    const rotated = acceptKeyRotations(pinned, [keyRotation.statement]);
    expect(rotated.added).toEqual([keyRotation.newKey]);
    expect(verifySignedPolicy(policy.signed, rotated.pinned, { deviceId: policy.policy.deviceId, minVersionExclusive: 0 })).toEqual({ ok: true, policy: policy.policy });
  });

  it('the OpenPAYGO codes decode in the order they were issued', () => {
    const o = VECTORS.openPaygo;
    const key = Buffer.from(o.tokenKeyHex, 'hex');
    let lastCount = 0;
    let usedCounts: number[] = [];
    for (const t of o.issued) {
      const r = decodeToken({ token: t.token, key, startingCode: o.startingCode, lastCount, usedCounts });
      expect(r).toMatchObject({ ok: true, type: t.type, value: t.value, count: t.count });
      if (!r.ok) throw new Error('unreachable');
      ({ lastCount, usedCounts } = r);
    }
    expect(decodeToken({ token: o.restrictedDigitSet.token, key, startingCode: o.startingCode, lastCount: 0, usedCounts: [], restrictedDigitSet: true })).toMatchObject({ ok: true, type: 'ADD_TIME', value: 7 });
  });
});
