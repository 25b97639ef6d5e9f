import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';

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

/**
 * Marks a nonce as used by a proof that held, in the caller's transaction. The primary key decides
 * between two requests carrying the same nonce, in one process or in several: exactly one gets
 * `true`. Rows live until the nonce would have expired anyway (plus the clock slack check()
 * allows), and expired ones are cleared on the way.
 */
export async function consumeNonce(db: Kysely<DB>, nonce: string, deviceId: string, now: Date): Promise<boolean> {
  await db.deleteFrom('enroll_nonces').where('expires_at', '<', now).execute();
  const inserted = await db
    .insertInto('enroll_nonces')
    .values({ nonce_hash: createHash('sha256').update(nonce, 'utf8').digest(), device_id: deviceId, expires_at: new Date(now.getTime() + TTL_MS + 60_000) })
    .onConflict((oc) => oc.column('nonce_hash').doNothing())
    .returning(sql<number>`1`.as('ok'))
    .executeTakeFirst();
  return inserted !== undefined;
}
