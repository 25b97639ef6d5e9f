/**
 * docs/protocol.md and the code must not drift apart: the values the page quotes are the
 * vectors', and every event kind, rejection reason and derivation label the code knows is named
 * on the page.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DERIVATION_LABELS, EVENT_KINDS, KEY_ROTATION_TYPE, KNOWN_POLICY_FIELDS, type PolicyRejection, type RotationRefusal } from '../../src/protocol/index.ts';
import { VECTORS } from '../fixtures/vectors.ts';

const SPEC = readFileSync(join(import.meta.dirname, '../../docs/protocol.md'), 'utf8');

describe('docs/protocol.md', () => {
  it('quotes the vectors as they are', () => {
    const quoted = [
      VECTORS.keyDerivation.authKeyHex,
      VECTORS.keyDerivation.tokenKeyHex,
      VECTORS.keyDerivation.startingCodeHkdfOutputHex,
      String(VECTORS.keyDerivation.startingCode),
      VECTORS.enrollProof.proof,
      VECTORS.checkin.headers['x-lien-signature'],
      VECTORS.checkin.bodySha256,
      VECTORS.checkin.credential,
      VECTORS.streamHandshake.headers['x-lien-signature'],
      VECTORS.keyRotation.pinnedKey.publicKey,
      VECTORS.keyRotation.newKey.publicKey,
      VECTORS.keyRotation.canonicalJson,
    ];
    for (const q of quoted) expect(SPEC, q).toContain(q);
  });

  it('names every derivation label, event kind, policy member and refusal reason', () => {
    const names = [
      ...Object.values(DERIVATION_LABELS),
      ...EVENT_KINDS,
      ...KNOWN_POLICY_FIELDS,
      KEY_ROTATION_TYPE,
      ...(['unknown_key', 'bad_signature', 'wrong_device', 'rollback', 'malformed', 'unsupported'] satisfies PolicyRejection[]),
      ...(['malformed', 'unknown_signer', 'bad_signature', 'kid_conflict'] satisfies RotationRefusal[]),
      ...['missing_headers', 'revoked', 'stale_timestamp', 'replayed_counter', 'nonce_malformed', 'nonce_forged', 'nonce_expired', 'nonce_used'],
      ...Object.values({ device: 'x-lien-device', timestamp: 'x-lien-timestamp', counter: 'x-lien-counter', signature: 'x-lien-signature' }),
    ];
    for (const n of names) expect(SPEC, n).toContain(`\`${n}`);
  });
});
