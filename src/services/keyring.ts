import type { Kysely } from 'kysely';
import { generateSigningKey, signPolicies, signPolicy, type Policy, type SignedPolicy } from '../protocol/index.ts';
import { signDocument } from '../protocol/signing.ts';
import { open, seal } from '../store/secrets.ts';
import type { DB } from '../store/schema.ts';

export interface PublicKey {
  kid: string;
  publicKey: string;
}

/**
 * The platform's policy-signing keys. The active key signs; every key stays published so devices
 * that pinned an older one keep verifying until they re-enroll. Private keys are sealed with the
 * master key in the database so every server process signs with the same key.
 */
export interface Keyring {
  sign(policy: Policy): SignedPolicy;
  /** Many at once; large batches are signed on another thread (protocol/signing-thread.ts). */
  signMany(policies: Policy[]): Promise<SignedPolicy[]>;
  publicKeys(): PublicKey[];
  activeKid(): string;
  /** Signs another document (an audit head) with the active key; see protocol/signing.ts signDocument. */
  signDocument(doc: unknown): { kid: string; sig: string };
}

export async function loadKeyring(db: Kysely<DB>, masterKey: Buffer, now: Date): Promise<Keyring> {
  let rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
  if (!rows.some((r) => r.active)) {
    await createSigningKey(db, masterKey, now);
    rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
  }
  const active = rows.filter((r) => r.active).at(-1)!;
  const key = {
    kid: active.kid,
    publicKey: active.public_key,
    privateKeyPem: open(masterKey, active.private_key_enc, `signing-key:${active.kid}`).toString('utf8'),
  };
  const published = rows.map((r) => ({ kid: r.kid, publicKey: r.public_key }));
  return {
    sign: (policy) => signPolicy(policy, key),
    signMany: (policies) => signPolicies(policies, key),
    publicKeys: () => published,
    activeKid: () => key.kid,
    signDocument: (doc) => signDocument(doc, key),
  };
}

/** Adds a key and makes it the active one; the old keys stay published. */
export async function createSigningKey(db: Kysely<DB>, masterKey: Buffer, now: Date): Promise<string> {
  const key = generateSigningKey();
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('signing_keys').set({ active: false }).where('active', '=', true).execute();
    // ON CONFLICT: two processes starting at once on an empty database may both try.
    await tx
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        public_key: key.publicKey,
        private_key_enc: seal(masterKey, Buffer.from(key.privateKeyPem, 'utf8'), `signing-key:${key.kid}`),
        active: true,
        created_at: now,
      })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  });
  return key.kid;
}
