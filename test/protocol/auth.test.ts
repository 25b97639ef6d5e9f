import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrollProof, signRequest, verifyEnrollProof, verifyRequest, type VerifyRequestInput } from '../../src/protocol/index.ts';

const credential = Buffer.alloc(32, 9);
const T0 = Date.parse('2026-03-01T08:00:00Z');
const req = { deviceId: 'dev_1', authKey: credential, method: 'POST', path: '/v1/device/checkin', body: '{"agentVersion":"1.0"}', timestamp: T0, counter: 5 };

function check(over: Partial<VerifyRequestInput> = {}) {
  return verifyRequest({ headers: signRequest(req), method: 'POST', path: req.path, body: req.body, authKey: credential, now: new Date(T0 + 60_000), lastCounter: 4, ...over });
}

describe('signRequest', () => {
  it('sends the device id, timestamp, counter and an HMAC-SHA256 over all of them and the body hash', () => {
    const headers = signRequest(req);
    const bodyHash = createHash('sha256').update(req.body).digest('hex');
    const text = `lien-request/v1\nPOST\n/v1/device/checkin\ndev_1\n${T0}\n5\n${bodyHash}`;
    expect(headers).toEqual({
      'x-lien-device': 'dev_1',
      'x-lien-timestamp': String(T0),
      'x-lien-counter': '5',
      'x-lien-signature': createHmac('sha256', credential).update(text).digest('base64url'),
    });
  });

  it('refuses numbers the verifier could not read back', () => {
    expect(() => signRequest({ ...req, counter: -1 })).toThrow(/counter/);
    expect(() => signRequest({ ...req, counter: 1.5 })).toThrow(/counter/);
    expect(() => signRequest({ ...req, timestamp: Number.NaN })).toThrow(/timestamp/);
    expect(() => signRequest({ ...req, deviceId: 'a\nb' })).toThrow(/deviceId/);
  });
});

describe('verifyRequest', () => {
  it('accepts a fresh, correctly signed request and returns its counter', () => {
    expect(check()).toEqual({ ok: true, counter: 5 });
    expect(check({ method: 'post' })).toEqual({ ok: true, counter: 5 }); // method case does not matter
  });

  it('refuses a tampered body, path, method or device id, and the wrong key', () => {
    expect(check({ body: '{"agentVersion":"1.1"}' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ body: '' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ path: '/v1/device/enroll' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ method: 'GET' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ headers: { ...signRequest(req), 'x-lien-device': 'dev_2' } })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ authKey: randomBytes(32) })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a counter or timestamp changed in transit (they are under the MAC)', () => {
    expect(check({ headers: { ...signRequest(req), 'x-lien-counter': '6' } })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ headers: { ...signRequest(req), 'x-lien-timestamp': String(T0 + 1) } })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a body with any one character changed', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (body, at, replacement) => {
        const i = at % body.length;
        fc.pre(body[i] !== replacement);
        const altered = body.slice(0, i) + replacement + body.slice(i + 1);
        const headers = signRequest({ ...req, body });
        expect(check({ headers, body })).toEqual({ ok: true, counter: 5 });
        expect(check({ headers, body: altered })).toEqual({ ok: false, reason: 'bad_signature' });
      }),
      { numRuns: 50 },
    );
  });

  it('refuses stale timestamps on both sides of the window, and takes the window edge', () => {
    expect(check({ now: new Date(T0 + 300_000) })).toEqual({ ok: true, counter: 5 });
    expect(check({ now: new Date(T0 - 300_000) })).toEqual({ ok: true, counter: 5 });
    expect(check({ now: new Date(T0 + 300_001) })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check({ now: new Date(T0 - 300_001) })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check({ now: new Date(T0 + 30_001), windowMs: 30_000 })).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a replayed or reused counter, accepts any higher one', () => {
    expect(check({ lastCounter: 5 })).toEqual({ ok: false, reason: 'replayed_counter' });
    expect(check({ lastCounter: 6 })).toEqual({ ok: false, reason: 'replayed_counter' });
    expect(check({ lastCounter: 0 })).toEqual({ ok: true, counter: 5 });
    // Replaying the very same request after the server recorded its counter.
    const first = check();
    expect(first.ok && check({ lastCounter: first.counter })).toEqual({ ok: false, reason: 'replayed_counter' });
  });

  it('calls missing or unreadable headers missing_headers', () => {
    const h = signRequest(req);
    expect(check({ headers: {} })).toEqual({ ok: false, reason: 'missing_headers' });
    for (const name of Object.keys(h)) {
      const { [name as keyof typeof h]: _, ...without } = h;
      expect(check({ headers: without }), name).toEqual({ ok: false, reason: 'missing_headers' });
    }
    expect(check({ headers: { ...h, 'x-lien-counter': '05' } })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(check({ headers: { ...h, 'x-lien-counter': '-5' } })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(check({ headers: { ...h, 'x-lien-timestamp': '1e12' } })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(check({ headers: { ...h, 'x-lien-signature': [h['x-lien-signature'], h['x-lien-signature']] } })).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it('fails closed when the caller passes no usable clock or counter', () => {
    expect(() => check({ now: new Date(Number.NaN) })).toThrow(TypeError);
    expect(() => check({ lastCounter: Number.NaN })).toThrow(TypeError);
  });
});

describe('enrollment proof', () => {
  const authKey = Buffer.alloc(32, 3);
  const proof = enrollProof(authKey, 'nonce-1', '353456789012348', 'SN1');

  it('is a base64url HMAC-SHA256 over the nonce, IMEI and serial', () => {
    expect(proof).toBe(createHmac('sha256', authKey).update('lien-enroll/v1\nnonce-1\n353456789012348\nSN1').digest('base64url'));
    expect(verifyEnrollProof(authKey, 'nonce-1', '353456789012348', 'SN1', proof)).toBe(true);
  });

  it('fails for another nonce, IMEI, serial or key, and for a truncated proof', () => {
    expect(verifyEnrollProof(authKey, 'nonce-2', '353456789012348', 'SN1', proof)).toBe(false);
    expect(verifyEnrollProof(authKey, 'nonce-1', '353456789012355', 'SN1', proof)).toBe(false);
    expect(verifyEnrollProof(authKey, 'nonce-1', '353456789012348', 'SN2', proof)).toBe(false);
    expect(verifyEnrollProof(Buffer.alloc(32, 4), 'nonce-1', '353456789012348', 'SN1', proof)).toBe(false);
    expect(verifyEnrollProof(authKey, 'nonce-1', '353456789012348', 'SN1', proof.slice(0, 20))).toBe(false);
    expect(verifyEnrollProof(authKey, 'nonce-1', '353456789012348', 'SN1', '')).toBe(false);
  });
});
