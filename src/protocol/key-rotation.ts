/**
 * Signed key rotation (docs/protocol.md §6). A device pins policy-signing keys; a new key is
 * pinned only when it comes in a statement signed by a key the device already pins. The
 * responses that carry statements are not signed themselves, so nothing else in them may add a
 * key: a man in the middle could otherwise add his own and sign a "released" policy with it.
 */
import { sign, verify } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { canonicalJson } from './canonical.ts';
import { Base64Url32, IsoDateTime, KeyId } from './primitives.ts';
import { privateKeyOf, publicKeyObject, type SigningKey, type Signer } from './signing.ts';

export const KEY_ROTATION_TYPE = 'lien-key-rotation/v1';

/** What the signer vouches for: "key `kid` with this public key signs policies too". */
export const KeyRotationBodySchema = Type.Object(
  { type: Type.Literal(KEY_ROTATION_TYPE), kid: KeyId, publicKey: Base64Url32, issuedAt: IsoDateTime },
  { additionalProperties: false },
);
export type KeyRotationBody = Static<typeof KeyRotationBodySchema>;

export const KeyRotationSchema = Type.Object(
  {
    statement: KeyRotationBodySchema,
    /** Key id of the key that signed the statement. */
    signedBy: KeyId,
    /** Ed25519 over the UTF-8 bytes of canonicalJson(statement), base64url. */
    sig: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type KeyRotation = Static<typeof KeyRotationSchema>;

export const KeyRotationsSchema = Type.Array(KeyRotationSchema, { maxItems: 64 });

/** Vouches for `next` with `signer` (in practice: the key that was active before `next`). */
export function signKeyRotation(next: SigningKey, signer: Signer, issuedAt: Date): KeyRotation {
  const statement: KeyRotationBody = { type: KEY_ROTATION_TYPE, kid: next.kid, publicKey: next.publicKey, issuedAt: issuedAt.toISOString() };
  const sig = sign(null, Buffer.from(canonicalJson(statement), 'utf8'), privateKeyOf(signer)).toString('base64url');
  return { statement, signedBy: signer.kid, sig };
}

export type RotationRefusal = 'malformed' | 'unknown_signer' | 'bad_signature' | 'kid_conflict';

export interface RotationOutcome {
  /** The pinned keys after the statements were considered (the input keys first, unchanged). */
  pinned: SigningKey[];
  /** Keys newly pinned, in the order they were accepted. */
  added: SigningKey[];
  /** Statements refused, with why (a statement whose key was already pinned as is is neither). */
  refused: { kid: string | null; reason: RotationRefusal }[];
}

/**
 * Pins the keys that the statements chain to from the keys already pinned. Statements may come in
 * any order; one signed by a key that another statement adds is accepted once that key is in.
 * A key id already pinned never changes its key. Never throws.
 */
export function acceptKeyRotations(pinned: readonly SigningKey[], statements: unknown): RotationOutcome {
  const keys = new Map(pinned.map((k) => [k.kid, k.publicKey]));
  const added: SigningKey[] = [];
  const refused: RotationOutcome['refused'] = [];
  const list = Array.isArray(statements) ? statements.slice(0, 64) : [];
  let pending: KeyRotation[] = [];
  for (const s of list) {
    if (Value.Check(KeyRotationSchema, s)) pending.push(s);
    else refused.push({ kid: kidOf(s), reason: 'malformed' });
  }
  for (let progress = true; progress && pending.length; ) {
    progress = false;
    const next: KeyRotation[] = [];
    for (const s of pending) {
      const { kid, publicKey } = s.statement;
      const held = keys.get(kid);
      if (held !== undefined) {
        if (held !== publicKey) refused.push({ kid, reason: 'kid_conflict' });
        continue;
      }
      const signerKey = keys.get(s.signedBy);
      if (signerKey === undefined) {
        next.push(s);
        continue;
      }
      const key = publicKeyObject(signerKey);
      const sig = Buffer.from(s.sig, 'base64url');
      if (!key || sig.length !== 64 || !verify(null, Buffer.from(canonicalJson(s.statement), 'utf8'), key, sig)) {
        refused.push({ kid, reason: 'bad_signature' });
        continue;
      }
      keys.set(kid, publicKey);
      added.push({ kid, publicKey });
      progress = true;
    }
    pending = next;
  }
  for (const s of pending) refused.push({ kid: s.statement.kid, reason: 'unknown_signer' });
  return { pinned: [...pinned.map((k) => ({ kid: k.kid, publicKey: k.publicKey })), ...added], added, refused };
}

function kidOf(s: unknown): string | null {
  const kid = (s as { statement?: { kid?: unknown } } | null)?.statement?.kid;
  return typeof kid === 'string' ? kid.slice(0, 64) : null;
}
