import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { LienError } from '../domain/errors.ts';

export const AUTH_HEADERS = {
  device: 'x-lien-device',
  timestamp: 'x-lien-timestamp',
  counter: 'x-lien-counter',
  signature: 'x-lien-signature',
} as const;

export type DeviceAuthHeaders = { [K in (typeof AUTH_HEADERS)[keyof typeof AUTH_HEADERS]]: string };

export const DEFAULT_REQUEST_WINDOW_MS = 300_000;

export interface SignRequestInput {
  deviceId: string;
  /** After enrollment: the session credential (32 bytes), not the factory-derived authKey. */
  authKey: Uint8Array;
  method: string;
  /** Path as sent, query string included. */
  path: string;
  body: string;
  /** Milliseconds since the epoch, from the device's clock. */
  timestamp: number;
  /** Strictly increasing per credential; the server refuses anything not above the last one seen. */
  counter: number;
}

// Decimal without sign or leading zeros, so each number has exactly one spelling on the wire.
const CANONICAL_UINT = /^(0|[1-9]\d{0,15})$/;

function requestMac(key: Uint8Array, r: Omit<SignRequestInput, 'authKey'>): Buffer {
  const bodyHash = createHash('sha256').update(r.body, 'utf8').digest('hex');
  // Newline-separated: none of the fields can contain one (HTTP header values and paths cannot).
  const text = ['lien-request/v1', r.method.toUpperCase(), r.path, r.deviceId, String(r.timestamp), String(r.counter), bodyHash].join('\n');
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function requireUint(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new LienError('invalid_input', `${name} must be a non-negative whole number (got ${value}).`);
}

/** The four headers that authenticate a device request. */
export function signRequest(r: SignRequestInput): DeviceAuthHeaders {
  requireUint('timestamp', r.timestamp);
  requireUint('counter', r.counter);
  if (r.deviceId === '' || /[\r\n]/.test(r.deviceId)) throw new LienError('invalid_input', 'deviceId must be a non-empty single line.');
  if (r.authKey.length < 16) throw new LienError('invalid_input', 'The request key is too short; use the 32-byte session credential.');
  return {
    [AUTH_HEADERS.device]: r.deviceId,
    [AUTH_HEADERS.timestamp]: String(r.timestamp),
    [AUTH_HEADERS.counter]: String(r.counter),
    [AUTH_HEADERS.signature]: requestMac(r.authKey, r).toString('base64url'),
  };
}

export type RequestRejection = 'missing_headers' | 'bad_signature' | 'stale_timestamp' | 'replayed_counter';

export interface VerifyRequestInput {
  /** Lower-case names, as Node delivers them; a repeated header counts as missing. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  method: string;
  path: string;
  body: string;
  authKey: Uint8Array;
  now: Date;
  /** The highest counter already accepted for this credential. */
  lastCounter: number;
  /** Allowed clock difference either way. */
  windowMs?: number;
}

function single(headers: VerifyRequestInput['headers'], name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Checks a device request: the MAC first (constant time, so unauthenticated callers learn
 * nothing else), then the timestamp within ±windowMs of the server clock, then a counter
 * strictly above the last one accepted.
 */
export function verifyRequest(v: VerifyRequestInput): { ok: true; counter: number } | { ok: false; reason: RequestRejection } {
  const nowMs = v.now.getTime();
  // Fail closed on a broken caller rather than let NaN comparisons wave a request through.
  if (!Number.isFinite(nowMs) || typeof v.lastCounter !== 'number' || Number.isNaN(v.lastCounter)) {
    throw new TypeError('verifyRequest needs a valid `now` and a numeric `lastCounter`');
  }
  const deviceId = single(v.headers, AUTH_HEADERS.device);
  const ts = single(v.headers, AUTH_HEADERS.timestamp);
  const ctr = single(v.headers, AUTH_HEADERS.counter);
  const sig = single(v.headers, AUTH_HEADERS.signature);
  if (!deviceId || !ts || !ctr || !sig || !CANONICAL_UINT.test(ts) || !CANONICAL_UINT.test(ctr)) return { ok: false, reason: 'missing_headers' };
  const timestamp = Number(ts);
  const counter = Number(ctr);
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(counter)) return { ok: false, reason: 'missing_headers' };

  const expected = requestMac(v.authKey, { deviceId, method: v.method, path: v.path, body: v.body, timestamp, counter });
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  if (Math.abs(nowMs - timestamp) > (v.windowMs ?? DEFAULT_REQUEST_WINDOW_MS)) return { ok: false, reason: 'stale_timestamp' };
  if (counter <= v.lastCounter) return { ok: false, reason: 'replayed_counter' };
  return { ok: true, counter };
}

function enrollMac(authKey: Uint8Array, nonce: string, imei: string, serial: string): Buffer {
  return createHmac('sha256', authKey).update(['lien-enroll/v1', nonce, imei, serial].join('\n'), 'utf8').digest();
}

/**
 * Proof of the factory secret at enrollment: HMAC-SHA256 with the factory-derived authKey over
 * the server's nonce and the device's identity (its first IMEI and serial), base64url.
 */
export function enrollProof(authKey: Uint8Array, nonce: string, imei: string, serial: string): string {
  return enrollMac(authKey, nonce, imei, serial).toString('base64url');
}

export function verifyEnrollProof(authKey: Uint8Array, nonce: string, imei: string, serial: string, proof: string): boolean {
  const expected = enrollMac(authKey, nonce, imei, serial);
  const given = Buffer.from(proof, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
