/**
 * Signed audit heads: where each audit chain ends (position, entry, hash) at a moment, signed
 * with the platform's Ed25519 key. An auditor keeps one outside the database; checked later, it
 * proves the history it covers is unchanged — even against someone holding the chain's key,
 * since rewriting any covered entry changes the hash at the kept position.
 */
import type { Kysely } from 'kysely';
import { verifyDocument } from '../protocol/signing.ts';
import { auditChainEnds, hashesAt, verifyAudit, type AuditChainEnd } from '../store/repos/audit.ts';
import type { DB } from '../store/schema.ts';
import type { Keyring, PublicKey } from './keyring.ts';

export const AUDIT_HEAD_FORMAT = 'lien-audit-head/1';

export interface AuditHead {
  format: typeof AUDIT_HEAD_FORMAT;
  /** When the head was taken (ISO). */
  at: string;
  /** A lender's own chain only, or null for every chain (the operator's view). */
  lenderId: string | null;
  chains: AuditChainEnd[];
}

export interface SignedAuditHead {
  head: AuditHead;
  kid: string;
  /** The public key that verifies `sig` (Ed25519, raw, base64url); an auditor pins it. */
  publicKey: string;
  sig: string;
}

export async function signedAuditHead(db: Kysely<DB>, keyring: Keyring, at: Date, lenderId: string | null = null): Promise<SignedAuditHead> {
  const head: AuditHead = { format: AUDIT_HEAD_FORMAT, at: at.toISOString(), lenderId, chains: await auditChainEnds(db, lenderId ?? undefined) };
  const { kid, sig } = keyring.signDocument(head);
  const publicKey = keyring.publicKeys().find((k) => k.kid === kid)!.publicKey;
  return { head, kid, publicKey, sig };
}

export interface HeadCheck {
  ok: boolean;
  /** What does not hold, one sentence each. */
  problems: string[];
}

/**
 * Checks a kept head against the database now: its signature (with the public key it carries,
 * which must be one the platform publishes, unless the auditor pins another), every chain it
 * names still verifying under the key, and the entry at each kept position still having the kept
 * hash.
 */
export async function checkAuditHead(db: Kysely<DB>, signed: SignedAuditHead, published: readonly PublicKey[], pinnedPublicKey?: string): Promise<HeadCheck> {
  const problems: string[] = [];
  const head = signed?.head;
  if (!head || head.format !== AUDIT_HEAD_FORMAT || !Array.isArray(head.chains) || typeof signed.sig !== 'string' || typeof signed.publicKey !== 'string') {
    return { ok: false, problems: [`not a ${AUDIT_HEAD_FORMAT} document`] };
  }
  const key = pinnedPublicKey ?? signed.publicKey;
  if (!verifyDocument(head, signed.sig, key)) problems.push('the signature does not verify: the head was altered or signed by another key');
  if (!pinnedPublicKey && !published.some((k) => k.publicKey === signed.publicKey)) problems.push(`key ${signed.kid} is not one the platform publishes`);
  const stored = await hashesAt(db, head.chains);
  for (const c of head.chains) {
    const now = stored.get(c.chain);
    const name = c.chain === '' ? 'the platform chain' : `chain ${c.chain}`;
    if (now === null || now === undefined) problems.push(`${name}: entry ${c.pos} is gone`);
    else if (now !== c.hash) problems.push(`${name}: entry ${c.pos} (seq ${c.seq}) no longer has the kept hash: history up to it was rewritten`);
    const chain = await verifyAudit(db, { lenderId: c.chain });
    if (!chain.ok) problems.push(`${name}: the chain is broken at entry seq ${chain.firstBadSeq}`);
  }
  return { ok: problems.length === 0, problems };
}
