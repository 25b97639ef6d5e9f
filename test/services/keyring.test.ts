import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptKeyRotations, generateSigningKey, verifySignedPolicy } from '../../src/protocol/index.ts';
import { loadKeyring } from '../../src/services/keyring.ts';
import type { Database } from '../../src/store/connection.ts';
import { seal } from '../../src/store/secrets.ts';
import { openTestDb, TEST_KEY } from '../store/helpers.ts';
import { policy } from '../protocol/fixtures.ts';

describe('keyring: the chain of key-rotation statements', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDb();
  }, 60_000);
  afterAll(() => db.close());

  it('vouches at load for keys made before statements existed, each by the key before it, so a phone pinning the first reaches the last', async () => {
    const t = new Date('2025-06-01T00:00:00Z');
    // Three keys as an older server left them: no statements, the last one active.
    const keys = ['old-1', 'old-2', 'old-3'].map((kid) => generateSigningKey(kid));
    for (const [i, k] of keys.entries()) {
      await db.db
        .insertInto('signing_keys')
        .values({ kid: k.kid, public_key: k.publicKey, private_key_enc: seal(TEST_KEY, Buffer.from(k.privateKeyPem), `signing-key:${k.kid}`), active: i === 2, created_at: t })
        .execute();
    }
    const ring = await loadKeyring(db.db, TEST_KEY, t);
    expect(ring.activeKid()).toBe('old-3');
    expect(ring.rotations().map((r) => [r.signedBy, r.statement.kid])).toEqual([
      ['old-1', 'old-2'],
      ['old-2', 'old-3'],
    ]);
    const pinned = acceptKeyRotations([{ kid: 'old-1', publicKey: keys[0]!.publicKey }], [...ring.rotations()].reverse()).pinned;
    expect(pinned.map((k) => k.kid)).toEqual(['old-1', 'old-2', 'old-3']);
    expect(verifySignedPolicy(ring.sign(policy({ version: 9 })), pinned, { deviceId: 'dev_1', minVersionExclusive: 0 })).toMatchObject({ ok: true });
    // A second load writes nothing new.
    expect((await loadKeyring(db.db, TEST_KEY, t)).rotations()).toEqual(ring.rotations());
  });
});
