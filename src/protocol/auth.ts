import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADERS = {
  device: 'x-lien-device',
  timestamp: 'x-lien-timestamp',
  counter: 'x-lien-counter',
  signature: 'x-lien-signature',
} as const;

export interface SignRequestInput {
  deviceId: string;
  authKey: Uint8Array;
  method: string;
  path: string;
  body: string;
  timestamp: number;
  counter: number;
}

function mac(key: Uint8Array, r: Omit<SignRequestInput, 'authKey'>): Buffer {
  const bodyHash = createHash('sha256').update(r.body).digest('hex');
  return createHmac('sha256', key).update(`${r.method.toUpperCase()}\n${r.path}\n${r.deviceId}\n${r.timestamp}\n${r.counter}\n${bodyHash}`).digest();
}

export function signRequest(r: SignRequestInput): Record<string, string> {
  return {
    [AUTH_HEADERS.device]: r.deviceId,
    [AUTH_HEADERS.timestamp]: String(r.timestamp),
    [AUTH_HEADERS.counter]: String(r.counter),
    [AUTH_HEADERS.signature]: mac(r.authKey, r).toString('base64url'),
  };
}

export type RequestFailure = 'missing_headers' | 'bad_signature' | 'stale_timestamp' | 'replayed_counter';

/**
 * Checks a device request: the MAC (constant time), the timestamp within ±windowMs of the
 * server clock, and a counter strictly above the last one accepted.
 */
export function verifyRequest(v: {
  headers: Record<string, string | undefined>;
  method: string;
  path: string;
  body: string;
  authKey: Uint8Array;
  now: Date;
  lastCounter: number;
  windowMs?: number;
}): { ok: true; counter: number } | { ok: false; reason: RequestFailure } {
  const deviceId = v.headers[AUTH_HEADERS.device];
  const ts = v.headers[AUTH_HEADERS.timestamp];
  const ctr = v.headers[AUTH_HEADERS.counter];
  const sig = v.headers[AUTH_HEADERS.signature];
  if (!deviceId || !ts || !ctr || !sig || !/^\d{1,16}$/.test(ts) || !/^\d{1,15}$/.test(ctr)) return { ok: false, reason: 'missing_headers' };
  const timestamp = Number(ts);
  const counter = Number(ctr);
  const expected = mac(v.authKey, { deviceId, method: v.method, path: v.path, body: v.body, timestamp, counter });
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  if (Math.abs(v.now.getTime() - timestamp) > (v.windowMs ?? 300_000)) return { ok: false, reason: 'stale_timestamp' };
  if (counter <= v.lastCounter) return { ok: false, reason: 'replayed_counter' };
  return { ok: true, counter };
}

/** Proof of the factory secret at enrollment: HMAC over the server's nonce and the identity. */
export function enrollProof(authKey: Uint8Array, nonce: string, imei: string, serial: string): string {
  return createHmac('sha256', authKey).update(`lien-enroll\n${nonce}\n${imei}\n${serial}`).digest('base64url');
}

export function verifyEnrollProof(authKey: Uint8Array, nonce: string, imei: string, serial: string, proof: string): boolean {
  const expected = Buffer.from(enrollProof(authKey, nonce, imei, serial), 'base64url');
  const given = Buffer.from(proof, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
