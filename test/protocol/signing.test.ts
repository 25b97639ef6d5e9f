import { createPrivateKey, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activeSigningKey,
  canonicalJson,
  generateSigningKey,
  publishedKeys,
  retireSigningKey,
  rotateKeyring,
  signPolicies,
  signPolicy,
  signWithKeyring,
  verifySignedPolicy,
  type Policy,
  type SignedPolicy,
  type SigningKeyring,
} from '../../src/protocol/index.ts';
import { arbitraryPolicy, policy, reverseKeys } from './fixtures.ts';

const key = generateSigningKey('k1');
const pinned = [{ kid: key.kid, publicKey: key.publicKey }];
const holding = { deviceId: 'dev_1', minVersionExclusive: 2 };
const overTheWire = (s: SignedPolicy): unknown => JSON.parse(JSON.stringify(s));

describe('generateSigningKey', () => {
  it('makes an Ed25519 key with a raw 32-byte public key and the given or a random kid', () => {
    expect(Buffer.from(key.publicKey, 'base64url')).toHaveLength(32);
    expect(key.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createPrivateKey(key.privateKeyPem).asymmetricKeyType).toBe('ed25519');
    const a = generateSigningKey();
    const b = generateSigningKey();
    expect(a.kid).toMatch(/^k[0-9a-f]{12}$/);
    expect(a.kid).not.toBe(b.kid);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(() => generateSigningKey('has space')).toThrow(/key id/);
  });
});

describe('signPolicy / verifySignedPolicy', () => {
  it('signs exactly the canonical JSON of the policy', () => {
    const p = policy();
    const signed = signPolicy(p, key);
    expect(signed.kid).toBe('k1');
    expect(signed.policy).toEqual(p);
    // An Ed25519 signature is deterministic, so an independent signature over the same bytes matches.
    const expected = sign(null, Buffer.from(canonicalJson(p), 'utf8'), createPrivateKey(key.privateKeyPem)).toString('base64url');
    expect(signed.sig).toBe(expected);
  });

  it('signs a batch on the signing thread exactly as one by one, small and large, and refuses a malformed policy', async () => {
    for (const count of [3, 600]) {
      const batch = Array.from({ length: count }, (_, i) => policy({ deviceId: `dev_${i}`, version: i + 1 }));
      expect(await signPolicies(batch, key)).toEqual(batch.map((p) => signPolicy(p, key)));
    }
    const bad = Array.from({ length: 300 }, (_, i) => policy({ version: i + 1 }));
    bad[299] = { ...bad[299]!, currency: 'kes' };
    await expect(signPolicies(bad, key)).rejects.toThrow(/currency/);
  });

  it('accepts a policy signed by a pinned key, for this device, newer than the one held — whatever the key order', () => {
    const signed = signPolicy(policy(), key);
    expect(verifySignedPolicy(overTheWire(signed), pinned, holding)).toEqual({ ok: true, policy: policy() });
    expect(verifySignedPolicy(reverseKeys(overTheWire(signed)), pinned, holding)).toMatchObject({ ok: true });
  });

  it('refuses a signature by a key that is not the pinned one, even under the pinned kid', () => {
    const impostor = generateSigningKey('k1');
    expect(verifySignedPolicy(overTheWire(signPolicy(policy(), impostor)), pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a forged or truncated signature', () => {
    const signed = signPolicy(policy(), key);
    const flipped = Buffer.from(signed.sig, 'base64url');
    flipped[10] = flipped[10]! ^ 1;
    expect(verifySignedPolicy({ ...signed, sig: flipped.toString('base64url') }, pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignedPolicy({ ...signed, sig: signed.sig.slice(0, 40) }, pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignedPolicy({ ...signed, sig: '' }, pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses any tampered field, nested ones included', () => {
    const signed = signPolicy(policy(), key);
    const tampered: Partial<Policy>[] = [
      { stage: 'released' },
      { amountDue: 0 },
      { version: 99 },
      { lockAt: null, offlineLockAt: null },
      { lender: { ...signed.policy.lender, phone: '+254799999999' } },
      { allowedNumbers: [] },
      { noticeUntil: null }, // adding an optional field changes the signed bytes too
    ];
    for (const change of tampered) {
      expect(verifySignedPolicy({ ...signed, policy: { ...signed.policy, ...change } }, pinned, holding), JSON.stringify(change)).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });

  it('refuses an unknown key id', () => {
    const signed = signPolicy(policy(), key);
    expect(verifySignedPolicy({ ...signed, kid: 'k9' }, pinned, holding)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(verifySignedPolicy(signed, [], holding)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it("refuses another device's policy, validly signed", () => {
    expect(verifySignedPolicy(signPolicy(policy({ deviceId: 'dev_2' }), key), pinned, holding)).toEqual({ ok: false, reason: 'wrong_device' });
  });

  it('refuses an older or equal version (rollback / replay of the held policy), accepts the next', () => {
    expect(verifySignedPolicy(signPolicy(policy({ version: 1 }), key), pinned, holding)).toEqual({ ok: false, reason: 'rollback' });
    expect(verifySignedPolicy(signPolicy(policy({ version: 2 }), key), pinned, holding)).toEqual({ ok: false, reason: 'rollback' });
    expect(verifySignedPolicy(signPolicy(policy({ version: 3 }), key), pinned, holding)).toMatchObject({ ok: true });
  });

  it('calls malformed what is not a signed policy, without throwing', () => {
    const signed = signPolicy(policy(), key);
    const broken: unknown[] = [
      null,
      'text',
      { policy: { deviceId: 'dev_1' }, kid: 'k1', sig: signed.sig },
      { ...signed, kid: 7 },
      { policy: signed.policy, kid: 'k1' },
      { ...signed, policy: { ...signed.policy, stage: 'frozen' } },
      { ...signed, policy: { ...signed.policy, issuedAt: 'yesterday' } },
      { ...signed, policy: { ...signed.policy, version: 3.5 } },
      { ...signed, policy: { ...signed.policy, message: 'x\ud800' } },
    ];
    for (const b of broken) expect(verifySignedPolicy(b, pinned, holding), JSON.stringify(b)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts fields a newer server signed and ignores them, refuses one it did not sign, and refuses unknown critical fields', () => {
    // signPolicy only signs what protocol 1.0 defines, so a future server's document is signed by hand.
    const signRaw = (doc: object) => ({ policy: doc, kid: 'k1', sig: sign(null, Buffer.from(canonicalJson(doc), 'utf8'), createPrivateKey(key.privateKeyPem)).toString('base64url') });
    const future = { ...policy(), lenderNote: { en: 'Visit us' }, lender: { ...policy().lender, logo: 'x' } };
    expect(verifySignedPolicy(signRaw(future), pinned, holding)).toMatchObject({ ok: true });
    const smuggled = signPolicy(policy(), key);
    expect(verifySignedPolicy({ ...smuggled, policy: { ...smuggled.policy, extra: 1 } }, pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignedPolicy(signRaw({ ...future, critical: ['lenderNote'] }), pinned, holding)).toEqual({ ok: false, reason: 'unsupported' });
    // Naming a field protocol 1.0 defines as critical is no obstacle.
    expect(verifySignedPolicy(signRaw({ ...future, critical: ['offlineLockAt'] }), pinned, holding)).toMatchObject({ ok: true });
  });

  it('treats a pinned key that is not 32 bytes as a failed signature', () => {
    const signed = signPolicy(policy(), key);
    expect(verifySignedPolicy(signed, [{ kid: 'k1', publicKey: 'AAAA' }], holding)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('will not sign a policy that agents would refuse, and says which field is wrong', () => {
    expect(() => signPolicy(policy({ currency: 'kes' }), key)).toThrow(/currency/);
    expect(() => signPolicy(policy({ lender: { ...policy().lender, name: '' } }), key)).toThrow(/lender\.name/);
    const { amountDue: _, ...withoutAmount } = policy();
    expect(() => signPolicy(withoutAmount as Policy, key)).toThrow(/amountDue is required/);
  });

  it('round-trips random policies, and refuses each one when its device id or version is wrong', () => {
    fc.assert(
      fc.property(arbitraryPolicy('dev_1', 3), (p) => {
        const signed = overTheWire(signPolicy(p, key));
        expect(verifySignedPolicy(reverseKeys(signed), pinned, holding)).toEqual({ ok: true, policy: p });
        expect(verifySignedPolicy(signed, pinned, { deviceId: 'dev_2', minVersionExclusive: 2 })).toEqual({ ok: false, reason: 'wrong_device' });
        expect(verifySignedPolicy(signed, pinned, { deviceId: 'dev_1', minVersionExclusive: p.version })).toEqual({ ok: false, reason: 'rollback' });
      }),
      { numRuns: 60 },
    );
  });

  it('refuses random policies with a message changed by one character', () => {
    fc.assert(
      fc.property(arbitraryPolicy('dev_1', 3), fc.constantFrom('a', 'é', '😀', ' '), (p, extra) => {
        const signed = signPolicy(p, key);
        const altered = { ...signed, policy: { ...signed.policy, message: signed.policy.message + extra } };
        expect(verifySignedPolicy(altered, pinned, holding)).toEqual({ ok: false, reason: 'bad_signature' });
      }),
      { numRuns: 30 },
    );
  });
});

describe('key rotation', () => {
  const k1 = generateSigningKey('2026-01');
  const k2 = generateSigningKey('2026-07');
  const ring1: SigningKeyring = { active: '2026-01', keys: [k1] };
  const ring2 = rotateKeyring(ring1, k2);

  it('signs with the new active key and publishes both, active first', () => {
    expect(ring2.active).toBe('2026-07');
    expect(activeSigningKey(ring2)).toBe(k2);
    expect(signWithKeyring(policy(), ring2).kid).toBe('2026-07');
    expect(publishedKeys(ring2)).toEqual([
      { kid: '2026-07', publicKey: k2.publicKey },
      { kid: '2026-01', publicKey: k1.publicKey },
    ]);
    expect(JSON.stringify(publishedKeys(ring2))).not.toContain('PRIVATE');
    expect(ring1).toEqual({ active: '2026-01', keys: [k1] }); // the old ring is not mutated
  });

  it('keeps devices working through the change', () => {
    const beforeRotation = signWithKeyring(policy({ version: 3 }), ring1);
    const afterRotation = signWithKeyring(policy({ version: 4 }), ring2);
    const oldPins = publishedKeys(ring1);
    const newPins = publishedKeys(ring2);
    // A device that pinned both keys verifies policies from before and after.
    expect(verifySignedPolicy(beforeRotation, newPins, holding)).toMatchObject({ ok: true });
    expect(verifySignedPolicy(afterRotation, newPins, holding)).toMatchObject({ ok: true });
    // One still holding only the old pin refuses the new key until its next check-in brings it.
    expect(verifySignedPolicy(afterRotation, oldPins, holding)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('retires old keys but never the active one, and refuses duplicate kids', () => {
    const ring3 = retireSigningKey(ring2, '2026-01');
    expect(publishedKeys(ring3)).toEqual([{ kid: '2026-07', publicKey: k2.publicKey }]);
    expect(verifySignedPolicy(signPolicy(policy(), k1), publishedKeys(ring3), holding)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(() => retireSigningKey(ring2, '2026-07')).toThrow(/active signing key/);
    expect(() => retireSigningKey(ring2, 'nope')).toThrow(/no key nope/);
    expect(() => rotateKeyring(ring2, generateSigningKey('2026-01'))).toThrow(/already has a key 2026-01/);
    expect(() => activeSigningKey({ active: 'gone', keys: [k1] })).toThrow(/gone/);
  });
});
