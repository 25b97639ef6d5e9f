/**
 * The server side of test/fixtures/protocol-vectors.json (docs/protocol.md §13): the project's
 * code reproduces every worked example byte for byte, and accepts what it should.
 */
import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { acceptKeyRotations, canonicalJson, deriveDeviceKeys, isPolicy, PolicySchema, verifyEnrollProof, verifyRequest, verifySignedPolicy } from '../../src/protocol/index.ts';
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

  it('the 1.1 policy verifies like a 1.0 one, and a 1.0 reader of it finds every 1.0 member unchanged (#15)', () => {
    const { policy11, keyRotation } = VECTORS;
    expect(canonicalJson(policy11.policy)).toBe(policy11.canonicalJson);
    const rotated = acceptKeyRotations([keyRotation.pinnedKey], [keyRotation.statement]);
    expect(verifySignedPolicy(policy11.signed, rotated.pinned, { deviceId: policy11.policy.deviceId, minVersionExclusive: 4 })).toEqual({ ok: true, policy: policy11.policy });
    // Display-only: nothing new is critical, so a 1.0 agent enforces it.
    expect(policy11.policy.critical).toBeUndefined();
    for (const member of ['stage', 'lockAt', 'amountDue', 'currency', 'message', 'allowedNumbers', 'lockReference']) expect(policy11.policy[member]).toBeDefined();
  });

  it('an agent accepts reason codes and note templates of later minor versions; a server signs only its own', () => {
    const later = { ...VECTORS.policy11.policy, facts: { ...VECTORS.policy11.policy.facts, reason: 'hardship_plan' }, note: { ...VECTORS.policy11.policy.note, template: 'holiday_hours' } };
    expect(isPolicy(later)).toBe(true);
    expect(Value.Check(PolicySchema, later)).toBe(false);
    expect(Value.Check(PolicySchema, VECTORS.policy11.policy)).toBe(true);
  });
});
