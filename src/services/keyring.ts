import type { Kysely } from 'kysely';
import {
  generateSigningKey,
  signKeyRotation,
  signPolicies,
  signPolicy,
  type KeyRotation,
  type Policy,
  type PrivateSigningKey,
  type SignedPolicy,
} from '../protocol/index.ts';
import { signDocument } from '../protocol/signing.ts';
import { open, seal } from '../store/secrets.ts';
import type { DB } from '../store/schema.ts';

export interface PublicKey {
  kid: string;
  publicKey: string;
}

/**
 * The platform's policy-signing keys. The active key signs; every key stays published so devices
 * that pinned an older one keep verifying. Every key after the first is vouched for by the key
 * that was active before it (a key-rotation statement, docs/protocol.md §6): devices pin a new
 * key only through that chain. Private keys are sealed with the master key in the database so
 * every server process signs with the same key.
 */
export interface Keyring {
  sign(policy: Policy): SignedPolicy;
  /** Many at once; large batches are signed on another thread (protocol/signing-thread.ts). */
  signMany(policies: Policy[]): Promise<SignedPolicy[]>;
  publicKeys(): PublicKey[];
  /** The statements chaining every key after the first to the first, oldest first. */
  rotations(): KeyRotation[];
  activeKid(): string;
  /** Reads the keys again (after a rotation in this process). */
  reload(): Promise<void>;
  /** Signs another document (an audit head) with the active key; see protocol/signing.ts signDocument. */
  signDocument(doc: unknown): { kid: string; sig: string };
}

interface KeyRow {
  kid: string;
  public_key: string;
  private_key_enc: Buffer;
  active: boolean;
  endorsement: unknown;
}

const sealedAs = (kid: string) => `signing-key:${kid}`;

function privateKey(masterKey: Buffer, row: KeyRow): PrivateSigningKey {
  return { kid: row.kid, publicKey: row.public_key, privateKeyPem: open(masterKey, row.private_key_enc, sealedAs(row.kid)).toString('utf8') };
}

async function readKeys(db: Kysely<DB>): Promise<KeyRow[]> {
  return db.selectFrom('signing_keys').select(['kid', 'public_key', 'private_key_enc', 'active', 'endorsement']).orderBy('position').execute();
}

/**
 * Keys made before statements existed (migration 0011) are vouched for now, each by the key
 * before it, so the chain from the first key is whole.
 */
async function endorseOrphans(db: Kysely<DB>, masterKey: Buffer, rows: KeyRow[], now: Date): Promise<KeyRow[]> {
  let changed = false;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i]!.endorsement) continue;
    const statement = signKeyRotation({ kid: rows[i]!.kid, publicKey: rows[i]!.public_key }, privateKey(masterKey, rows[i - 1]!), now);
    await db.updateTable('signing_keys').set({ endorsement: JSON.stringify(statement) }).where('kid', '=', rows[i]!.kid).where('endorsement', 'is', null).execute();
    changed = true;
  }
  return changed ? readKeys(db) : rows;
}

export async function loadKeyring(db: Kysely<DB>, masterKey: Buffer, now: Date): Promise<Keyring> {
  let state = await readState(db, masterKey, now);
  return {
    sign: (policy) => signPolicy(policy, state.key),
    signMany: (policies) => signPolicies(policies, state.key),
    publicKeys: () => state.published,
    rotations: () => state.rotations,
    activeKid: () => state.key.kid,
    async reload() {
      state = await readState(db, masterKey, now);
    },
    signDocument: (doc) => signDocument(doc, state.key),
  };
}

async function readState(db: Kysely<DB>, masterKey: Buffer, now: Date) {
  let rows = await readKeys(db);
  if (!rows.some((r) => r.active)) {
    await createSigningKey(db, masterKey, now);
    rows = await readKeys(db);
  }
  rows = await endorseOrphans(db, masterKey, rows, now);
  const active = rows.filter((r) => r.active).at(-1)!;
  return {
    key: privateKey(masterKey, active),
    published: rows.map((r) => ({ kid: r.kid, publicKey: r.public_key })),
    rotations: rows.flatMap((r) => (r.endorsement ? [r.endorsement as KeyRotation] : [])),
  };
}

/**
 * Adds a key and makes it the active one, vouched for by the key active until now; the old keys
 * stay published. Returns the new key id.
 */
export async function createSigningKey(db: Kysely<DB>, masterKey: Buffer, now: Date): Promise<string> {
  return db.transaction().execute((tx) => insertNextKey(tx, masterKey, now));
}

/** createSigningKey inside the caller's transaction. */
export async function insertNextKey(tx: Kysely<DB>, masterKey: Buffer, now: Date): Promise<string> {
  const key = generateSigningKey();
  {
    const previous = await tx.selectFrom('signing_keys').select(['kid', 'public_key', 'private_key_enc', 'active', 'endorsement']).where('active', '=', true).forUpdate().executeTakeFirst();
    await tx.updateTable('signing_keys').set({ active: false }).where('active', '=', true).execute();
    const endorsement = previous ? signKeyRotation(key, privateKey(masterKey, previous), now) : null;
    await tx
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        public_key: key.publicKey,
        private_key_enc: seal(masterKey, Buffer.from(key.privateKeyPem, 'utf8'), sealedAs(key.kid)),
        active: true,
        created_at: now,
        endorsement: endorsement ? JSON.stringify(endorsement) : null,
      })
      // ON CONFLICT: two processes starting at once on an empty database may both try.
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }
  return key.kid;
}
