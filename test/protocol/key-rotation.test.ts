import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptKeyRotations, generateSigningKey, signKeyRotation, type SigningKey } from '../../src/protocol/index.ts';

const pub = (k: SigningKey): SigningKey => ({ kid: k.kid, publicKey: k.publicKey });
const t = new Date('2026-04-01T00:00:00Z');
const k1 = generateSigningKey('k1');
const k2 = generateSigningKey('k2');
const k3 = generateSigningKey('k3');
const k4 = generateSigningKey('k4');
const chain = [signKeyRotation(k2, k1, t), signKeyRotation(k3, k2, t), signKeyRotation(k4, k3, t)];

describe('acceptKeyRotations', () => {
  it('pins a whole chain from a pinned key, in whatever order the statements come', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(chain, { minLength: 3, maxLength: 3 }), (shuffled) => {
        const out = acceptKeyRotations([pub(k1)], shuffled);
        expect(out.pinned.map((k) => k.kid)).toEqual(['k1', ...out.added.map((k) => k.kid)]);
        expect(new Set(out.added.map((k) => k.kid))).toEqual(new Set(['k2', 'k3', 'k4']));
        expect(out.refused).toEqual([]);
      }),
    );
  });

  it('from a later key pins only what follows it; statements for keys already held are no news', () => {
    const out = acceptKeyRotations([pub(k1), pub(k2), pub(k3)], chain);
    expect(out.added).toEqual([pub(k4)]);
    expect(out.refused).toEqual([]);
  });

  it('refuses a statement from a key it does not pin, a bad signature, a swapped key under a held kid, and junk', () => {
    const rogue = generateSigningKey('rogue');
    const evil = generateSigningKey('k2');
    const tampered = { ...chain[0]!, statement: { ...chain[0]!.statement, publicKey: rogue.publicKey } };
    const out = acceptKeyRotations([pub(k1)], [signKeyRotation(generateSigningKey('k9'), rogue, t), tampered, 'junk', { statement: { kid: 'x' } }]);
    expect(out.added).toEqual([]);
    expect(out.refused).toEqual([
      { kid: null, reason: 'malformed' },
      { kid: 'x', reason: 'malformed' },
      { kid: 'k2', reason: 'bad_signature' },
      { kid: 'k9', reason: 'unknown_signer' },
    ]);
    const swapped = acceptKeyRotations([pub(k1), pub(k2)], [signKeyRotation(evil, k1, t)]);
    expect(swapped).toEqual({ pinned: [pub(k1), pub(k2)], added: [], refused: [{ kid: 'k2', reason: 'kid_conflict' }] });
  });

  it('never throws, whatever it is given', () => {
    fc.assert(fc.property(fc.anything(), (junk) => void acceptKeyRotations([pub(k1)], junk)));
  });
});
