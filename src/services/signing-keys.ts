/**
 * Rotating the platform's policy-signing key (docs/protocol.md §6). The new key is vouched for by
 * the key active until now, so every phone that pins the old key can pin the new one from the
 * statement that comes with its next policy; the old key stays published and pinned.
 *
 * The keyring of this process is reloaded at once. Other server processes keep signing with the
 * key they loaded until they restart; phones accept both, since the old key stays pinned.
 */
import type { KeyRotation } from '../protocol/index.ts';
import type { Actor, Services } from './context.ts';
import { insertNextKey } from './keyring.ts';
import { commit } from './unit-of-work.ts';

export interface SigningKeyInfo {
  kid: string;
  publicKey: string;
  active: boolean;
  createdAt: string;
  /** The statement vouching for this key; null for the first key. */
  endorsement: KeyRotation | null;
}

export async function listSigningKeys(s: Services): Promise<SigningKeyInfo[]> {
  const rows = await s.db.selectFrom('signing_keys').select(['kid', 'public_key', 'active', 'created_at', 'endorsement']).orderBy('position').execute();
  return rows.map((r) => ({ kid: r.kid, publicKey: r.public_key, active: r.active, createdAt: r.created_at.toISOString(), endorsement: (r.endorsement as KeyRotation | null) ?? null }));
}

export async function rotateSigningKey(s: Services, actor: Actor): Promise<SigningKeyInfo> {
  const previous = s.keyring.activeKid();
  const kid = await commit(s, actor, async (tx, fx) => {
    const kid = await insertNextKey(tx, s.masterKey, fx.now);
    await fx.audit({
      action: 'signing_key.rotated',
      subjectType: 'signing_key',
      subjectId: kid,
      lenderId: null,
      reason: `policy-signing key rotated from ${previous}`,
      data: { previous },
    });
    return kid;
  });
  await s.keyring.reload();
  const info = (await listSigningKeys(s)).find((k) => k.kid === kid);
  if (!info) throw new Error(`the new signing key ${kid} is missing after its rotation`);
  return info;
}
