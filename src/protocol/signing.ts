import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { isPolicy, type Policy } from './policy.ts';

export interface SigningKey {
  kid: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKey: string;
}

export interface PrivateSigningKey extends SigningKey {
  privateKeyPem: string;
}

export interface SignedPolicy {
  policy: Policy;
  kid: string;
  /** Ed25519 over canonicalJson(policy), base64url. */
  sig: string;
}

export type VerifyFailure = 'unknown_key' | 'bad_signature' | 'wrong_device' | 'rollback' | 'malformed';

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateSigningKey(kid = `k${randomBytes(6).toString('hex')}`): PrivateSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
  return { kid, publicKey: Buffer.from(raw).toString('base64url'), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

const privateKeys = new Map<string, KeyObject>();

/** A signer: the key id with the private key as PEM text or a KeyObject. */
export type Signer = { kid: string } & ({ privateKeyPem: string } | { privateKey: KeyObject | string });

export function signPolicy(policy: Policy, key: Signer): SignedPolicy {
  let pk: KeyObject | undefined;
  const pem = 'privateKeyPem' in key ? key.privateKeyPem : typeof key.privateKey === 'string' ? key.privateKey : undefined;
  if (pem !== undefined) {
    pk = privateKeys.get(pem);
    if (!pk) privateKeys.set(pem, (pk = createPrivateKey(pem)));
  } else {
    pk = (key as { privateKey: KeyObject }).privateKey;
  }
  const sig = sign(null, Buffer.from(canonicalJson(policy)), pk).toString('base64url');
  return { policy, kid: key.kid, sig };
}

const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(b64: string) {
  let k = publicKeys.get(b64);
  if (!k) {
    // Raw 32-byte keys, or the same key wrapped as SPKI DER (what KeyObject.export gives).
    let der = Buffer.from(b64, 'base64url');
    if (der.length === 32) der = Buffer.concat([SPKI_ED25519_PREFIX, der]);
    if (der.length !== 44 || !der.subarray(0, 12).equals(SPKI_ED25519_PREFIX)) throw new Error('not an Ed25519 public key');
    k = createPublicKey({ key: der, format: 'der', type: 'spki' });
    publicKeys.set(b64, k);
  }
  return k;
}

/**
 * What the agent runs before applying a policy: a pinned key, a valid signature, this device,
 * and a version strictly above the one it holds.
 */
export function verifySignedPolicy(
  signed: unknown,
  pinnedKeys: readonly SigningKey[],
  expect: { deviceId: string; minVersionExclusive: number },
): { ok: true; policy: Policy } | { ok: false; reason: VerifyFailure } {
  const s = signed as Partial<SignedPolicy> | null;
  if (!s || typeof s !== 'object' || typeof s.kid !== 'string' || typeof s.sig !== 'string' || !isPolicy(s.policy)) return { ok: false, reason: 'malformed' };
  const key = pinnedKeys.find((k) => k.kid === s.kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  let good = false;
  try {
    good = verify(null, Buffer.from(canonicalJson(s.policy)), publicKeyObject(key.publicKey), Buffer.from(s.sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad_signature' };
  if (s.policy.deviceId !== expect.deviceId) return { ok: false, reason: 'wrong_device' };
  if (s.policy.version <= expect.minVersionExclusive) return { ok: false, reason: 'rollback' };
  return { ok: true, policy: s.policy };
}
