/**
 * The borrower's side of a payment claim: "I have paid, but the phone is still locked". A claim
 * holds escalation (the stage engine reads open claims), so submitting one re-evaluates the
 * contract at once, and the lender is told (webhook) and the borrower gets an SMS receipt. The
 * lender decides it in src/services/claim-review.ts.
 *
 * A claim lifts a lock already in place only when it covers the whole overdue amount, and at most
 * once per contract in the profile's claimLiftWindowDays: anyone holding a lock reference can
 * file one, and a claim of 1 shilling must not be a free unlock (issue #12 M4). Whether it did is
 * stored on the claim (lifts_lock), shown in the lender's queue, and undone by a rejection.
 */
import { randomBytes } from 'node:crypto';
import { addDays, businessDateIn, compareDates, isPlainDate } from '../domain/dates.ts';
import { LienError } from '../domain/errors.ts';
import { parseAmount } from '../domain/money.ts';
import { newLockReference } from '../protocol/policy.ts';
import { newId } from '../store/ids.ts';
import type { Actor, Services } from './context.ts';
import { isLocking, type Stage } from '../domain/stage.ts';
import { decide } from '../domain/evaluation.ts';
import { evaluateContractTx, loadFacts } from './evaluate.ts';
import { normaliseLockReference, portalActor } from './portal.ts';
import { commit, type Executor } from './unit-of-work.ts';

export const MAX_RECEIPT_BYTES = 5 * 1024 * 1024;
export const CLAIM_CHANNELS = ['mobile_money', 'bank', 'agent', 'other'] as const;
export type ClaimChannel = (typeof CLAIM_CHANNELS)[number];
/** A claim about a payment older than this is a matter for the lender's support line. */
export const MAX_CLAIM_AGE_DAYS = 90;

/** Which rule a claim broke; the portal turns it into a sentence in the borrower's language. */
export type ClaimProblem = 'reference' | 'transactionId' | 'amount' | 'date' | 'channel' | 'receiptTooLarge' | 'receiptType' | 'duplicate';

function invalid(problem: ClaimProblem, message: string, field: string): LienError {
  return new LienError('invalid_input', message, { field, problem });
}

export type ReceiptType = 'image/jpeg' | 'image/png' | 'image/webp' | 'application/pdf';

/** The receipt's real type from its first bytes; whatever the upload claimed is ignored. */
export function sniffReceiptType(b: Uint8Array): ReceiptType | null {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  if (b.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (b.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (b.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  if (b.length >= 5 && at(0, 0x25, 0x50, 0x44, 0x46, 0x2d)) return 'application/pdf';
  return null;
}

export interface ClaimInput {
  lockReference: string;
  transactionRef: string;
  /** As the borrower typed it, in the contract's currency: "1500" or "1,500.50". */
  amount: string;
  /** YYYY-MM-DD, the lender's calendar. */
  paidOn: string;
  channel: string;
  receipt?: Uint8Array | null | undefined;
  /** Who is asking (the portal passes the client address); defaults to an anonymous portal actor. */
  actor?: Actor;
}

export interface SubmittedClaim {
  claimId: string;
  claimNumber: string;
  contractId: string;
  lenderId: string;
  amount: number;
  currency: string;
  stage: string;
  /** The claim lifted the lock that was on the phone (it covers the overdue amount, first in its window). */
  liftsLock: boolean;
}

const TRANSACTION_REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{2,63}$/;

/** A claim number: "C-" and 8 Crockford characters, read aloud without ambiguity. */
function newClaimNumber(): string {
  return `C-${newLockReference(randomBytes(5))}`;
}

export function normaliseClaimNumber(raw: string): string | null {
  const body = normaliseLockReference(raw.trim().replace(/^C[\s-]?/i, ''));
  return body ? `C-${body}` : null;
}

export async function submitClaim(s: Services, input: ClaimInput): Promise<SubmittedClaim> {
  const actor = input.actor ?? portalActor('unknown');
  const reference = normaliseLockReference(String(input.lockReference ?? ''));
  if (!reference) throw invalid('reference', 'A lock reference has 8 letters and digits, as shown on the lock screen.', 'lockReference');
  const transactionRef = String(input.transactionRef ?? '').trim();
  if (!TRANSACTION_REF.test(transactionRef)) {
    throw invalid('transactionId', 'The transaction id has 3 to 64 letters, digits, dots, dashes or slashes.', 'transactionRef');
  }
  if (!(CLAIM_CHANNELS as readonly string[]).includes(input.channel)) {
    throw invalid('channel', `The payment channel must be one of ${CLAIM_CHANNELS.join(', ')}.`, 'channel');
  }
  if (!isPlainDate(input.paidOn)) throw invalid('date', 'The payment date must be a date such as 2026-03-01.', 'paidOn');
  const receipt = input.receipt && input.receipt.length > 0 ? input.receipt : null;
  if (receipt && receipt.length > MAX_RECEIPT_BYTES) throw invalid('receiptTooLarge', 'The receipt is larger than 5 MB.', 'receipt');
  const receiptType = receipt ? sniffReceiptType(receipt) : null;
  if (receipt && !receiptType) throw invalid('receiptType', 'The receipt must be a JPEG, PNG or WebP image or a PDF.', 'receipt');

  const claimNumber = newClaimNumber();
  const out = await commit(s, actor, async (tx, fx) => {
    const now = fx.now;
    const c = await tx
      .selectFrom('contracts as c')
      .innerJoin('lenders as l', 'l.id', 'c.lender_id')
      .select(['c.id', 'c.device_id', 'c.lender_id', 'c.currency', 'c.status', 'c.outstanding', 'l.time_zone'])
      .where('c.lock_reference', '=', reference)
      .forUpdate('c')
      .executeTakeFirst();
    if (!c || c.status !== 'active') {
      await fx.audit({
        action: 'portal.claim_refused',
        subjectType: 'portal',
        subjectId: 'claim',
        lenderId: c?.lender_id ?? null,
        reason: c ? `contract is ${c.status}` : 'no contract has this lock reference',
        data: { reference },
      });
      return { refused: true as const };
    }
    let amount: number;
    try {
      amount = parseAmount(String(input.amount ?? '').trim(), c.currency.trim(), { field: 'amount' });
    } catch {
      throw invalid('amount', `The amount must be a number in ${c.currency.trim()}, such as 1500 or 1500.50.`, 'amount');
    }
    if (amount <= 0) throw invalid('amount', 'The amount must be more than zero.', 'amount');
    if (amount > Number(c.outstanding)) throw invalid('amount', 'The amount is more than everything still owed on this phone.', 'amount');
    const today = businessDateIn(c.time_zone, now);
    if (compareDates(input.paidOn, today) > 0 || compareDates(input.paidOn, addDays(today, -MAX_CLAIM_AGE_DAYS)) < 0) {
      throw invalid('date', `The payment date cannot be in the future or more than ${MAX_CLAIM_AGE_DAYS} days ago.`, 'paidOn');
    }
    const dupe = await tx
      .selectFrom('claims')
      .select('number')
      .where('lender_id', '=', c.lender_id)
      .where('transaction_ref', '=', transactionRef)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (dupe) throw new LienError('conflict', `A claim for transaction ${transactionRef} is already being checked.`, { field: 'transactionRef', problem: 'duplicate', claimNumber: dupe.number });

    const liftsLock = await mayLiftLock(tx, c.id, amount, now);
    const claimId = newId('clm');
    await tx
      .insertInto('claims')
      .values({
        id: claimId,
        number: claimNumber,
        contract_id: c.id,
        device_id: c.device_id,
        lender_id: c.lender_id,
        transaction_ref: transactionRef,
        amount,
        currency: c.currency.trim(),
        paid_on: input.paidOn,
        channel: input.channel,
        receipt: receipt ? Buffer.from(receipt) : null,
        receipt_type: receiptType,
        created_at: now,
        lifts_lock: liftsLock,
      })
      .execute();
    const data = { claimId, claimNumber, contractId: c.id, transactionRef, amount, currency: c.currency.trim(), paidOn: input.paidOn, channel: input.channel, hasReceipt: receipt !== null, liftsLock };
    await fx.audit({ action: 'claim.submitted', subjectType: 'claim', subjectId: claimId, lenderId: c.lender_id, reason: `borrower says ${transactionRef} was paid`, data });
    await fx.webhook({ lenderId: c.lender_id, type: 'claim.submitted', data });
    await fx.notify({ contractId: c.id, kind: 'claim_received', params: { reference: claimNumber } });
    const ev = await evaluateContractTx(s, tx, fx, c.id, `claim ${claimNumber} submitted`);
    return { refused: false as const, claimId, contractId: c.id, lenderId: c.lender_id, amount, currency: c.currency.trim(), ev, liftsLock };
  });
  if (out.refused) throw new LienError('not_found', 'No phone on credit has this lock reference.', { field: 'lockReference', problem: 'reference' });
  return { claimId: out.claimId, claimNumber, contractId: out.contractId, lenderId: out.lenderId, amount: out.amount, currency: out.currency, stage: out.ev.decision.stage, liftsLock: out.liftsLock };
}

/**
 * Whether a new claim of `amount` may lift the lock on the (locked-for-update) contract: there is
 * a lock in place, the claim covers what is overdue now, and no claim of this contract lifted a
 * lock within the profile's window.
 */
async function mayLiftLock(tx: Executor, contractId: string, amount: number, now: Date): Promise<boolean> {
  const row = await tx.selectFrom('contracts').selectAll().where('id', '=', contractId).executeTakeFirstOrThrow();
  if (!isLocking(row.stage as Stage)) return false;
  const [facts] = await loadFacts(tx, [row], now);
  const windowDays = facts!.profile.claimLiftWindowDays;
  if (windowDays === 0 || amount < decide(facts!, now).delinquency.amountOverdue) return false;
  const recent = await tx
    .selectFrom('claims')
    .select('id')
    .where('contract_id', '=', contractId)
    .where('lifts_lock', '=', true)
    .where('created_at', '>', new Date(now.getTime() - windowDays * 86_400_000))
    .executeTakeFirst();
  return !recent;
}

export interface PublicClaimStatus {
  number: string;
  status: 'open' | 'approved' | 'rejected';
  /** The lender's message on a rejection, as written. */
  message: string | null;
  lender: { name: string; supportPhone: string };
}

/** What anyone holding a claim number may see: its status and the lender's message, no personal data. */
export async function claimStatus(s: Services, rawNumber: string, ip: string): Promise<PublicClaimStatus | null> {
  const number = normaliseClaimNumber(rawNumber);
  if (!number) throw new LienError('invalid_input', 'A claim number looks like C-7K3M9Q2X.', { field: 'number' });
  const row = await s.db
    .selectFrom('claims as c')
    .innerJoin('lenders as l', 'l.id', 'c.lender_id')
    .select(['c.id', 'c.number', 'c.status', 'c.message', 'c.lender_id', 'l.name', 'l.support_phone'])
    .where('c.number', '=', number)
    .executeTakeFirst();
  // Every lookup is audited, found or not: a stream of misses is how guessing shows.
  await commit(s, portalActor(ip), (_tx, fx) =>
    fx.audit({
      action: row ? 'portal.claim_status' : 'portal.claim_status_failed',
      subjectType: row ? 'claim' : 'portal',
      subjectId: row ? row.id : 'claim_status',
      lenderId: row?.lender_id ?? null,
      reason: row ? `claim status ${row.status} shown` : 'no claim has this number',
      data: { number },
    }),
  );
  if (!row) return null;
  return { number, status: row.status, message: row.status === 'rejected' ? row.message : null, lender: { name: row.name, supportPhone: row.support_phone } };
}
