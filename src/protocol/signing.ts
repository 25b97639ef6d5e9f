import { Compile } from 'typebox/compile';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { LienError } from '../domain/errors.ts';
import { canonicalJson } from './canonical.ts';
import { signOnThread } from './signing-thread.ts';
import { isPolicy, PolicySchema, unsupportedCriticalFields, type Policy } from './policy.ts';
import { validate } from './validate.ts';

/** A published policy-signing key: what devices pin. */
export interface SigningKey {
  kid: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKey: string;
}

export interface PrivateSigningKey extends SigningKey {
  /** PKCS#8 PEM; stays on the server. */
  privateKeyPem: string;
}

export interface SignedPolicy {
  policy: Policy;
  kid: string;
  /** Ed25519 over the UTF-8 bytes of canonicalJson(policy), base64url. */
  sig: string;
}

export type PolicyRejection = 'unknown_key' | 'bad_signature' | 'wrong_device' | 'rollback' | 'malformed' | 'unsupported';
export type PolicyVerdict = { ok: true; policy: Policy } | { ok: false; reason: PolicyRejection };

// DER header of an Ed25519 SubjectPublicKeyInfo; the raw key follows it.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function rawPublicKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length).toString('base64url');
}

export function generateSigningKey(kid = `k${randomBytes(6).toString('hex')}`): PrivateSigningKey {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) throw new LienError('invalid_input', `A key id is 1–64 letters, digits, '.', '_' or '-' (got ${JSON.stringify(kid)}).`);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { kid, publicKey: rawPublicKey(publicKey), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** A signer: the key id with the private key as PEM text or a KeyObject. */
export type Signer = { kid: string } & ({ privateKeyPem: string } | { privateKey: KeyObject | string });

// Parsing PEM costs more than signing; the server signs with the same few keys all day.
const privateKeyCache = new Map<string, KeyObject>();
export function privateKeyOf(key: Signer): KeyObject {
  const pem = 'privateKeyPem' in key ? key.privateKeyPem : typeof key.privateKey === 'string' ? key.privateKey : undefined;
  if (pem === undefined) return (key as { privateKey: KeyObject }).privateKey;
  let k = privateKeyCache.get(pem);
  if (!k) {
    k = createPrivateKey(pem);
    if (k.asymmetricKeyType !== 'ed25519') throw new LienError('invalid_input', `Signing key ${key.kid} is not an Ed25519 key.`);
    privateKeyCache.set(pem, k);
  }
  return k;
}

/**
 * Signs a policy. The policy is checked against the schema first: the server must never sign a
 * document every agent would refuse as malformed.
 */
// The compiled check accepts exactly what Value.Check accepts and is several times faster; a
// policy that fails it goes through validate() for the same error message as before.
const policyCheck = Compile(PolicySchema);

export function signPolicy(policy: Policy, key: Signer): SignedPolicy {
  const { checked, message } = signingInput(policy);
  const sig = sign(null, Buffer.from(message, 'utf8'), privateKeyOf(key)).toString('base64url');
  return { policy: checked, kid: key.kid, sig };
}

/** What signPolicy signs: the policy, checked, and its canonical JSON. */
export function signingInput(policy: Policy): { checked: Policy; message: string } {
  const checked = policyCheck.Check(policy) ? policy : validate(PolicySchema, policy);
  return { checked, message: canonicalJson(checked) };
}

/** Below this many policies a batch is signed in place: handing it to the thread costs more. */
const THREAD_BATCH = 256;

/** signPolicy for many policies at once, large batches on the signing thread. */
export async function signPolicies(policies: Policy[], key: Signer): Promise<SignedPolicy[]> {
  if (policies.length < THREAD_BATCH) return policies.map((p) => signPolicy(p, key));
  const inputs = policies.map(signingInput);
  const sigs = await signOnThread(privateKeyOf(key), inputs.map((i) => i.message));
  return inputs.map((i, n) => ({ policy: i.checked, kid: key.kid, sig: sigs[n]! }));
}

const publicKeyCache = new Map<string, KeyObject>();
/** A raw 32-byte Ed25519 public key (base64url) as a KeyObject; null when it is not one. */
export function publicKeyObject(raw: string): KeyObject | null {
  let k = publicKeyCache.get(raw);
  if (!k) {
    const bytes = Buffer.from(raw, 'base64url');
    if (bytes.length !== 32) return null;
    try {
      k = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, bytes]), format: 'der', type: 'spki' });
    } catch {
      return null;
    }
    publicKeyCache.set(raw, k);
  }
  return k;
}

/**
 * Signs any JSON document (an audit head, say) the way policies are signed: Ed25519 over its
 * canonical JSON (RFC 8785), base64url. Whoever holds the published public key can check it.
 */
export function signDocument(doc: unknown, key: Signer): { kid: string; sig: string } {
  return { kid: key.kid, sig: sign(null, Buffer.from(canonicalJson(doc), 'utf8'), privateKeyOf(key)).toString('base64url') };
}

/** Checks a signDocument signature with a raw public key (base64url, as published). */
export function verifyDocument(doc: unknown, sig: string, publicKey: string): boolean {
  const k = publicKeyObject(publicKey);
  const signature = Buffer.from(sig, 'base64url');
  if (!k || signature.length !== 64) return false;
  try {
    return verify(null, Buffer.from(canonicalJson(doc), 'utf8'), k, signature);
  } catch {
    return false;
  }
}

/**
 * What the agent runs before applying a policy: well-formed, signed by a pinned key, for this
 * device, strictly newer than the one it holds, and naming no critical field this implementation
 * does not know. The signature covers the document exactly as received, unknown fields included.
 * Never throws: every refusal has a reason the agent reports back.
 */
export function verifySignedPolicy(
  signed: unknown,
  pinnedKeys: readonly SigningKey[],
  expect: { deviceId: string; minVersionExclusive: number },
): PolicyVerdict {
  const s = signed as Partial<SignedPolicy> | null;
  if (!s || typeof s !== 'object' || typeof s.kid !== 'string' || typeof s.sig !== 'string' || !isPolicy(s.policy)) return { ok: false, reason: 'malformed' };
  const pinned = pinnedKeys.find((k) => k.kid === s.kid);
  if (!pinned) return { ok: false, reason: 'unknown_key' };
  let message: Buffer;
  try {
    message = Buffer.from(canonicalJson(s.policy), 'utf8');
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const publicKey = publicKeyObject(pinned.publicKey);
  const signature = Buffer.from(s.sig, 'base64url');
  if (!publicKey || signature.length !== 64 || !verify(null, message, publicKey, signature)) return { ok: false, reason: 'bad_signature' };
  if (s.policy.deviceId !== expect.deviceId) return { ok: false, reason: 'wrong_device' };
  if (s.policy.version <= expect.minVersionExclusive) return { ok: false, reason: 'rollback' };
  if (unsupportedCriticalFields(s.policy).length > 0) return { ok: false, reason: 'unsupported' };
  return { ok: true, policy: s.policy };
}

/**
 * The server's signing keys. The active key signs; every key in the ring is published so devices
 * that pinned an older key keep verifying until they pick up the new one at their next check-in.
 */
export interface SigningKeyring {
  active: string;
  keys: PrivateSigningKey[];
}

export function activeSigningKey(ring: SigningKeyring): PrivateSigningKey {
  const key = ring.keys.find((k) => k.kid === ring.active);
  if (!key) throw new LienError('invalid_input', `The keyring's active key ${ring.active} is not in the ring.`);
  return key;
}

export function signWithKeyring(policy: Policy, ring: SigningKeyring): SignedPolicy {
  return signPolicy(policy, activeSigningKey(ring));
}

/** The public half of every key in the ring, active key first: what devices are given to pin. */
export function publishedKeys(ring: SigningKeyring): SigningKey[] {
  const active = activeSigningKey(ring);
  return [active, ...ring.keys.filter((k) => k !== active)].map(({ kid, publicKey }) => ({ kid, publicKey }));
}

/** Adds a key and makes it the active one; the previous keys stay in the ring and stay published. */
export function rotateKeyring(ring: SigningKeyring, next: PrivateSigningKey): SigningKeyring {
  if (ring.keys.some((k) => k.kid === next.kid)) throw new LienError('conflict', `The keyring already has a key ${next.kid}.`);
  return { active: next.kid, keys: [...ring.keys, next] };
}

/** Drops an old key once no device still depends on it. The active key cannot be retired. */
export function retireSigningKey(ring: SigningKeyring, kid: string): SigningKeyring {
  if (kid === ring.active) throw new LienError('conflict', `Key ${kid} is the active signing key; rotate to a new key before retiring it.`);
  if (!ring.keys.some((k) => k.kid === kid)) throw new LienError('not_found', `The keyring has no key ${kid}.`);
  return { active: ring.active, keys: ring.keys.filter((k) => k.kid !== kid) };
}
