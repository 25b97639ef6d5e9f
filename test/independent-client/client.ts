/**
 * A second, minimal Lien device client, written only from docs/protocol.md (sections in the
 * comments). It imports nothing of the project — only Node's crypto — so it shows the published
 * page is enough to build a phone: it enrolls, checks in, verifies policies, accepts a rotated key
 * and redeems an OpenPAYGO code. It enforces nothing and keeps its state in memory.
 */
import { createHash, createHmac, createPublicKey, hkdfSync, verify } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// §2 encodings, §3.2 derived keys

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const utf8 = (s: string) => Buffer.from(s, 'utf8');

export interface DerivedKeys {
  authKey: Buffer;
  tokenKey: Buffer;
  startingCode: number;
}

export function derive(factorySecret: Buffer): DerivedKeys {
  const hkdf = (info: string, length: number) => Buffer.from(hkdfSync('sha256', factorySecret, Buffer.alloc(0), info, length));
  return {
    authKey: hkdf('lien/device-auth/v1', 32),
    tokenKey: hkdf('lien/openpaygo-key/v1', 16),
    startingCode: Number(hkdf('lien/openpaygo-starting-code/v1', 8).readBigUInt64BE(0) % 1_000_000_000n),
  };
}

// §5.2
export function proof(authKey: Buffer, nonce: string, imei: string, serial: string): string {
  return createHmac('sha256', authKey).update(utf8(`lien-enroll/v1\n${nonce}\n${imei}\n${serial}`)).digest('base64url');
}

// §4.1, §4.2
export function signedHeaders(credential: Buffer, deviceId: string, method: string, path: string, body: string, timestamp: number, counter: number): Record<string, string> {
  const bodyHash = createHash('sha256').update(utf8(body)).digest('hex');
  const text = ['lien-request/v1', method.toUpperCase(), path, deviceId, String(timestamp), String(counter), bodyHash].join('\n');
  return {
    'x-lien-device': deviceId,
    'x-lien-timestamp': String(timestamp),
    'x-lien-counter': String(counter),
    'x-lien-signature': createHmac('sha256', credential).update(utf8(text)).digest('base64url'),
  };
}

// ---------------------------------------------------------------------------------------------
// §7.2 canonical JSON (RFC 8785) for the values a policy holds: strings, integers, booleans,
// null, arrays and objects. Members sorted by UTF-16 code units; JSON.stringify escapes strings
// as RFC 8785 asks (minimal escapes, \u00XX for other controls) and writes integers plainly.

export function canonical(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('not a JSON number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value as object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new Error(`cannot canonicalise a ${typeof value}`);
}

// ---------------------------------------------------------------------------------------------
// §6 pinned keys and rotation statements

export interface Key {
  kid: string;
  publicKey: string;
}

function ed25519Verify(publicKey: string, message: string, sig: string): boolean {
  const raw = Buffer.from(publicKey, 'base64url');
  const signature = Buffer.from(sig, 'base64url');
  if (raw.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return verify(null, utf8(message), key, signature);
}

interface Statement {
  statement: { type: string; kid: string; publicKey: string; issuedAt: string };
  signedBy: string;
  sig: string;
}

function isStatement(s: unknown): s is Statement {
  const x = s as Statement;
  const st = x?.statement as Record<string, unknown> | undefined;
  return (
    typeof x?.signedBy === 'string' &&
    typeof x.sig === 'string' &&
    !!st &&
    Object.keys(st).sort().join(',') === 'issuedAt,kid,publicKey,type' &&
    st.type === 'lien-key-rotation/v1' &&
    typeof st.kid === 'string' &&
    typeof st.publicKey === 'string' &&
    typeof st.issuedAt === 'string'
  );
}

/** Pins the keys the statements chain to; returns the refusals (kid, reason). */
export function acceptRotations(pinned: Key[], statements: unknown[]): { kid: string | null; reason: string }[] {
  const refused: { kid: string | null; reason: string }[] = [];
  let pending = statements.filter((s) => {
    if (isStatement(s)) return true;
    refused.push({ kid: null, reason: 'malformed' });
    return false;
  }) as Statement[];
  for (let progress = true; progress; ) {
    progress = false;
    const later: Statement[] = [];
    for (const s of pending) {
      const held = pinned.find((k) => k.kid === s.statement.kid);
      if (held) {
        if (held.publicKey !== s.statement.publicKey) refused.push({ kid: s.statement.kid, reason: 'kid_conflict' });
        continue;
      }
      const signer = pinned.find((k) => k.kid === s.signedBy);
      if (!signer) {
        later.push(s);
        continue;
      }
      if (!ed25519Verify(signer.publicKey, canonical(s.statement), s.sig)) {
        refused.push({ kid: s.statement.kid, reason: 'bad_signature' });
        continue;
      }
      pinned.push({ kid: s.statement.kid, publicKey: s.statement.publicKey });
      progress = true;
    }
    pending = later;
  }
  for (const s of pending) refused.push({ kid: s.statement.kid, reason: 'unknown_signer' });
  return refused;
}

// ---------------------------------------------------------------------------------------------
// §7.2 accepting a policy

const KNOWN = new Set([
  'deviceId', 'version', 'issuedAt', 'stage', 'lockAt', 'offlineLockAt', 'offlineNotice', 'lender', 'amountDue', 'currency', 'message',
  'allowedNumbers', 'lockReference', 'noticeUntil', 'noticeIndex', 'nextCheckinAt', 'critical',
]);
const STAGES = new Set(['current', 'reminder', 'notice', 'restricted', 'locked', 'released', 'written_off', 'returned']);

export type Verdict = { ok: true; policy: Record<string, any> } | { ok: false; reason: string };

export function checkPolicy(signed: any, pinned: Key[], deviceId: string, heldVersion: number): Verdict {
  const p = signed?.policy;
  const wellFormed =
    p && typeof p === 'object' && typeof signed.kid === 'string' && typeof signed.sig === 'string' &&
    typeof p.deviceId === 'string' && Number.isSafeInteger(p.version) && p.version >= 1 && STAGES.has(p.stage) &&
    typeof p.lender?.name === 'string' && p.lender.name.length > 0 && typeof p.lender?.phone === 'string' &&
    Number.isSafeInteger(p.amountDue) && /^[A-Z]{3}$/.test(p.currency) && Array.isArray(p.allowedNumbers) && typeof p.lockReference === 'string';
  if (!wellFormed) return { ok: false, reason: 'malformed' };
  const key = pinned.find((k) => k.kid === signed.kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  if (!ed25519Verify(key.publicKey, canonical(p), signed.sig)) return { ok: false, reason: 'bad_signature' };
  if (p.deviceId !== deviceId) return { ok: false, reason: 'wrong_device' };
  if (p.version <= heldVersion) return { ok: false, reason: 'rollback' };
  if ((p.critical ?? []).some((f: string) => !KNOWN.has(f))) return { ok: false, reason: 'unsupported' };
  return { ok: true, policy: p };
}

// ---------------------------------------------------------------------------------------------
// §11 OpenPAYGO Token (standard 9-digit codes)

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & MASK;

/** SipHash-2-4 of an 8-byte message; the 64-bit result as a bigint. */
function sipHash(key: Buffer, message: Buffer): bigint {
  const k0 = key.readBigUInt64LE(0);
  const k1 = key.readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const blocks = [message.readBigUInt64LE(0), BigInt(message.length) << 56n];
  for (const m of blocks) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & MASK;
}

function next(code: number, key: Buffer): number {
  const m = Buffer.alloc(8);
  m.writeUInt32BE(code >>> 0, 0);
  m.writeUInt32BE(code >>> 0, 4);
  const h = sipHash(key, m);
  const folded = Number(((h >> 32n) ^ (h & 0xffffffffn)) >> 2n);
  return folded > 999_999_999 ? folded - 73_741_825 : folded;
}

const base = (c: number) => c % 1000;
const withBase = (c: number, b: number) => c - base(c) + b;

export interface CodeState {
  lastCount: number;
  usedCounts: number[];
}

export type Redeemed = { ok: true; type: 'ADD_TIME' | 'SET_TIME' | 'DISABLE_PAYG' | 'COUNTER_SYNC'; value: number | null; count: number } | { ok: false; reason: 'invalid' | 'already_used' | 'malformed' };

export function redeem(input: string, keys: DerivedKeys, state: CodeState): Redeemed {
  const text = input.replace(/[\s-]/g, '');
  let token: number;
  if (/^[0-9]{9}$/.test(text)) token = Number(text);
  else if (/^[1-4]{15}$/.test(text)) token = [...text].reduce((n, d) => n * 4 + Number(d) - 1, 0);
  else return { ok: false, reason: 'malformed' };
  const value = (base(token) - base(keys.startingCode) + 1000) % 1000;
  const lastTry = state.lastCount + (value === 999 ? 100 : 64);
  let c = withBase(keys.startingCode, base(token));
  let foundUsed = false;
  for (let count = 0; count <= lastTry; count++) {
    if (withBase(c, base(token)) === token) {
      const type = count % 2 === 0 ? (value <= 995 ? 'ADD_TIME' : null) : value === 999 ? 'COUNTER_SYNC' : value === 998 ? 'DISABLE_PAYG' : value <= 995 ? 'SET_TIME' : null;
      if (type) {
        const fresh =
          type === 'COUNTER_SYNC' ? count > state.lastCount - 64 : count > state.lastCount || (type === 'ADD_TIME' && count > state.lastCount - 16 && !state.usedCounts.includes(count));
        if (fresh) {
          const highest = Math.max(count, ...state.usedCounts);
          const kept: number[] = [];
          for (let n = Math.max(0, highest - 16); n <= highest; n++) if (type !== 'ADD_TIME' || n === count || state.usedCounts.includes(n)) kept.push(n);
          state.lastCount = Math.max(state.lastCount, count);
          state.usedCounts = kept;
          return { ok: true, type, value: type === 'ADD_TIME' || type === 'SET_TIME' ? value : null, count };
        }
        foundUsed = true;
      }
    }
    c = next(c, keys.tokenKey);
  }
  return { ok: false, reason: foundUsed ? 'already_used' : 'invalid' };
}

// ---------------------------------------------------------------------------------------------
// The client: §5 enrollment, §9 check-in

export interface Phone {
  factorySecret: Buffer;
  imeis: string[];
  serial: string;
}

export class IndependentClient {
  readonly keys: DerivedKeys;
  pinned: Key[] = [];
  deviceId: string | null = null;
  credential: Buffer | null = null;
  policy: Record<string, any> | null = null;
  codes: CodeState = { lastCount: 0, usedCounts: [] };
  readonly events: { kind: string; at: string; detail?: Record<string, unknown> }[] = [];
  readonly rejected: { kind: string; detail: Record<string, unknown> }[] = [];
  private counter = 0;
  private offsetMs = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly phone: Phone,
    private readonly now: () => number,
  ) {
    this.keys = derive(phone.factorySecret);
  }

  private async json(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const r = await fetch(this.baseUrl + path, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  async enroll(): Promise<string> {
    const n = await this.json('GET', '/v1/device/nonce');
    if (n.status !== 200) throw new Error(`nonce: ${n.status}`);
    const { imeis, serial } = this.phone;
    const r = await this.json('POST', '/v1/device/enroll', JSON.stringify({ imeis, serial, nonce: n.body.nonce, proof: proof(this.keys.authKey, n.body.nonce, imeis[0]!, serial), agentVersion: 'independent/1.0' }));
    if (r.status !== 200) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.status !== 'enrolled') return r.body.status;
    this.deviceId = r.body.deviceId;
    this.credential = Buffer.from(r.body.credential, 'base64url');
    this.counter = 0;
    this.offsetMs = Date.parse(r.body.serverTime) - this.now();
    if (this.pinned.length === 0) this.pinned = r.body.signingKeys.map((k: Key) => ({ kid: k.kid, publicKey: k.publicKey })); // §6.1 first use
    this.consider(r.body);
    return 'enrolled';
  }

  async checkin(): Promise<{ status: number; policyApplied: boolean }> {
    if (!this.deviceId || !this.credential) throw new Error('not enrolled');
    const body = JSON.stringify({ agentVersion: 'independent/1.0', policyVersion: this.policy?.version ?? 0, tokenCounter: this.codes.lastCount, events: this.events.slice(0, 100) });
    this.counter += 1;
    const headers = signedHeaders(this.credential, this.deviceId, 'POST', '/v1/device/checkin', body, this.now() + this.offsetMs, this.counter);
    const r = await this.json('POST', '/v1/device/checkin', body, headers);
    if (r.status !== 200) return { status: r.status, policyApplied: false };
    this.events.splice(0, Math.min(100, this.events.length));
    this.offsetMs = Date.parse(r.body.serverTime) - this.now();
    return { status: 200, policyApplied: this.consider(r.body) };
  }

  /** Stream handshake headers for the next counter (§10). */
  streamHeaders(): Record<string, string> {
    this.counter += 1;
    return signedHeaders(this.credential!, this.deviceId!, 'GET', '/v1/device/stream', '', this.now() + this.offsetMs, this.counter);
  }

  private consider(answer: any): boolean {
    for (const r of acceptRotations(this.pinned, answer.keyRotations ?? [])) this.reject('key_rejected', r);
    for (const k of answer.signingKeys ?? []) if (!this.pinned.some((p) => p.kid === k.kid)) this.reject('key_rejected', { kid: k.kid, reason: 'unsigned' });
    if (!answer.policy) return false;
    const v = checkPolicy(answer.policy, this.pinned, this.deviceId!, this.policy?.version ?? 0);
    if (!v.ok) {
      this.reject('policy_rejected', { reason: v.reason });
      return false;
    }
    this.policy = v.policy;
    return true;
  }

  enterCode(code: string): Redeemed {
    const r = redeem(code, this.keys, this.codes);
    const at = new Date(this.now()).toISOString();
    this.events.push(r.ok ? { kind: 'token_accepted', at, detail: { type: r.type, value: r.value, count: r.count } } : { kind: 'token_rejected', at, detail: { reason: r.reason, failures: 1 } });
    return r;
  }

  private reject(kind: string, detail: Record<string, unknown>) {
    this.rejected.push({ kind, detail });
    this.events.push({ kind, at: new Date(this.now()).toISOString(), detail });
  }
}

export { b64u };
