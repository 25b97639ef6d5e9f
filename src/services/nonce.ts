import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const TTL_MS = 5 * 60_000;

/**
 * Enrollment nonces that need no shared state between server processes: a timestamp and random
 * bytes, MACed with a key derived from the master key. Any process can check one it did not issue.
 */
export class NonceIssuer {
  private readonly key: Buffer;
  constructor(masterKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'lien/enroll-nonce/v1', 32));
  }

  issue(now: Date): { nonce: string; expiresAt: string } {
    const body = Buffer.alloc(24);
    body.writeBigUInt64BE(BigInt(now.getTime()));
    randomBytes(16).copy(body, 8);
    const mac = createHmac('sha256', this.key).update(body).digest().subarray(0, 16);
    return { nonce: Buffer.concat([body, mac]).toString('base64url'), expiresAt: new Date(now.getTime() + TTL_MS).toISOString() };
  }

  /** 'ok', or why the nonce is refused. */
  check(nonce: string, now: Date): 'ok' | 'malformed' | 'forged' | 'expired' {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 40) return 'malformed';
    const body = raw.subarray(0, 24);
    const mac = createHmac('sha256', this.key).update(body).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(24))) return 'forged';
    const at = Number(body.readBigUInt64BE());
    if (now.getTime() - at > TTL_MS || at - now.getTime() > 60_000) return 'expired';
    return 'ok';
  }
}
