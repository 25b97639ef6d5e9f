/**
 * Where every rail's money enters Lien: one provider event becomes, in one unit of work, either a
 * payment posted through recordPayment (the use case behind POST /v1/payments, so the contract is
 * re-evaluated and a phone whose arrears are cleared is nudged at commit) or a suspense entry
 * kept with its raw payload. The provider's own id is recorded first, so a callback delivered
 * twice, or by two servers at once, is answered with the first outcome and posts once.
 */
import type { Selectable } from 'kysely';
import { normalizeReference } from '../../domain/rails.ts';
import { newId } from '../../store/ids.ts';
import type { ContractsTable, SuspenseReason } from '../../store/schema.ts';
import type { Actor, Services } from '../context.ts';
import { markChannelReported, recordPayment } from '../payments.ts';
import { commit, type Executor } from '../unit-of-work.ts';
import type { ChannelRow } from './channels.ts';

export interface RailPayment {
  /** The provider's id of this event, unique within the channel (TransID, Razorpay event id, …). */
  providerRef: string;
  /** What kind of event, for the record: 'mpesa.confirmation', 'razorpay.payment.captured', … */
  kind: string;
  /** The payment's receipt number as it will be stored (unique per lender). */
  externalRef: string;
  /** The account reference the payer gave. */
  reference: string;
  /** Minor units; zero or less goes to suspense. */
  amount: number;
  currency: string;
  receivedAt: Date;
  payload: unknown;
}

export type RailOutcome =
  | { outcome: 'posted'; paymentId: string; contractId: string; duplicate: boolean }
  | { outcome: 'suspense'; suspenseId: string; reason: SuspenseReason; duplicate: boolean }
  | { outcome: 'recorded'; duplicate: boolean };

/** Who a rail acts as in the audit log: the system, on behalf of the channel's lender. */
export function railActor(channel: Pick<ChannelRow, 'id' | 'lender_id'>): Actor {
  return { kind: 'system', id: `channel:${channel.id}`, lenderId: channel.lender_id };
}

type Contract = Selectable<ContractsTable>;

/**
 * The lender's contract an account reference names: its lock reference, its IMEI, or the
 * lender's own reference for it (borrower_ref, when exactly one contract has it); case and
 * spaces ignored. Active contracts are preferred over closed ones with the same IMEI.
 */
export async function contractByReference(db: Executor, lenderId: string, reference: string): Promise<Contract | null> {
  const ref = normalizeReference(reference);
  if (ref === '' || ref.length > 64) return null;
  const byLock = await db.selectFrom('contracts').selectAll().where('lock_reference', '=', ref).where('lender_id', '=', lenderId).executeTakeFirst();
  if (byLock) return byLock;
  if (/^\d{15}$/.test(ref)) {
    const byImei = await db
      .selectFrom('contracts as c')
      .innerJoin('devices as d', 'd.id', 'c.device_id')
      .selectAll('c')
      .where('c.lender_id', '=', lenderId)
      .where((eb) => eb.or([eb('d.imei1', '=', ref), eb('d.imei2', '=', ref)]))
      .orderBy((eb) => eb.case().when('c.status', '=', 'active').then(0).else(1).end())
      .orderBy('c.created_at', 'desc')
      .executeTakeFirst();
    if (byImei) return byImei;
  }
  const byOwnRef = await db
    .selectFrom('contracts')
    .selectAll()
    .where('lender_id', '=', lenderId)
    .where((eb) => eb(eb.fn('upper', [eb.fn('replace', ['borrower_ref', eb.val(' '), eb.val('')])]), '=', ref))
    .limit(2)
    .execute();
  return byOwnRef.length === 1 ? byOwnRef[0]! : null;
}

/** Why money for this contract cannot be posted to it, or null when it can. */
export function mismatch(c: Contract | null, amount: number, currency: string): SuspenseReason | null {
  if (!c) return 'unknown_reference';
  if (c.status !== 'active') return 'contract_closed';
  if (c.currency.trim() !== currency) return 'currency_mismatch';
  if (!(amount > 0)) return 'amount_not_positive';
  return null;
}

/**
 * Records the provider's id for this channel, as 'recorded' until the caller settles it; false
 * when it was there already (a repeat). A concurrent copy waits here on the key until the first
 * commits or rolls back.
 */
async function claimReceipt(tx: Executor, channel: ChannelRow, e: { providerRef: string; kind: string; payload: unknown }, now: Date): Promise<boolean> {
  const claimed = await tx
    .insertInto('rail_receipts')
    .values({ channel_id: channel.id, provider_ref: e.providerRef, lender_id: channel.lender_id, kind: e.kind, outcome: 'recorded', payload: JSON.stringify(e.payload), received_at: now })
    .onConflict((oc) => oc.columns(['channel_id', 'provider_ref']).doNothing())
    .returning('provider_ref')
    .executeTakeFirst();
  return claimed !== undefined;
}

/** Records a provider event that moves no money (a failed Razorpay payment): kept, not posted. */
export async function recordRailEvent(s: Services, channel: ChannelRow, e: { providerRef: string; kind: string; payload: unknown }): Promise<RailOutcome> {
  return commit(s, railActor(channel), async (tx, fx) => ({ outcome: 'recorded', duplicate: !(await claimReceipt(tx, channel, e, fx.now)) }));
}

export async function takeRailPayment(s: Services, channel: ChannelRow, p: RailPayment): Promise<RailOutcome> {
  return commit(s, railActor(channel), async (tx, fx) => {
    // Claimed before anything else: a concurrent copy of this event waits here on the key, then
    // finds it taken and answers with this one's outcome.
    if (!(await claimReceipt(tx, channel, p, fx.now))) return previousOutcome(tx, channel.id, p.providerRef);

    const settle = (set: { outcome: 'posted' | 'suspense'; payment_id?: string; suspense_id?: string }) =>
      tx.updateTable('rail_receipts').set(set).where('channel_id', '=', channel.id).where('provider_ref', '=', p.providerRef).execute();
    // Money arriving is proof the feed is alive, matched or not (guardrail 3's freshness).
    // recordPayment marks it for a posted payment, after locking the contract: this is for the
    // other outcomes, which lock no contract (so no unit takes these two rows in both orders).
    const reported = () => markChannelReported(tx, channel.lender_id, { id: channel.id }, fx.now);

    // The same receipt already booked (posted by hand through the API before the callback came).
    const booked = await tx.selectFrom('payments').select(['id', 'contract_id']).where('lender_id', '=', channel.lender_id).where('external_ref', '=', p.externalRef).executeTakeFirst();
    if (booked) {
      await reported();
      await settle({ outcome: 'posted', payment_id: booked.id });
      return { outcome: 'posted', paymentId: booked.id, contractId: booked.contract_id, duplicate: true };
    }

    const contract = await contractByReference(tx, channel.lender_id, p.reference);
    const reason = mismatch(contract, p.amount, p.currency);
    if (reason === null) {
      const res = await recordPayment(s, tx, fx, { contractId: contract!.id, externalRef: p.externalRef, channel: channel.channel, amount: p.amount, currency: p.currency, receivedAt: p.receivedAt });
      await settle({ outcome: 'posted', payment_id: res.paymentId });
      return { outcome: 'posted', paymentId: res.paymentId, contractId: contract!.id, duplicate: false };
    }

    await reported();
    const suspenseId = newId('sus');
    await tx
      .insertInto('suspense_payments')
      .values({
        id: suspenseId,
        lender_id: channel.lender_id,
        channel_id: channel.id,
        channel: channel.channel,
        external_ref: p.externalRef,
        reference: p.reference.slice(0, 120),
        amount: p.amount,
        currency: p.currency,
        reason,
        payload: JSON.stringify(p.payload),
        received_at: p.receivedAt,
        created_at: fx.now,
      })
      .execute();
    await settle({ outcome: 'suspense', suspense_id: suspenseId });
    const data = { suspenseId, channelId: channel.id, channel: channel.channel, externalRef: p.externalRef, reference: p.reference, amount: p.amount, currency: p.currency, reason };
    await fx.audit({
      action: 'payment.suspended',
      subjectType: 'suspense_payment',
      subjectId: suspenseId,
      lenderId: channel.lender_id,
      reason: `${p.externalRef} via ${channel.channel} held in suspense: ${reason}`,
      data,
    });
    await fx.webhook({ lenderId: channel.lender_id, type: 'payment.suspended', data });
    return { outcome: 'suspense', suspenseId, reason, duplicate: false };
  });
}

async function previousOutcome(tx: Executor, channelId: string, providerRef: string): Promise<RailOutcome> {
  const r = await tx.selectFrom('rail_receipts').selectAll().where('channel_id', '=', channelId).where('provider_ref', '=', providerRef).executeTakeFirstOrThrow();
  if (r.outcome === 'posted' && r.payment_id) {
    const p = await tx.selectFrom('payments').select('contract_id').where('id', '=', r.payment_id).executeTakeFirstOrThrow();
    return { outcome: 'posted', paymentId: r.payment_id, contractId: p.contract_id, duplicate: true };
  }
  if (r.outcome === 'suspense' && r.suspense_id) {
    const sp = await tx.selectFrom('suspense_payments').select('reason').where('id', '=', r.suspense_id).executeTakeFirstOrThrow();
    return { outcome: 'suspense', suspenseId: r.suspense_id, reason: sp.reason, duplicate: true };
  }
  return { outcome: 'recorded', duplicate: true };
}
