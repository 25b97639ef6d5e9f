import { allocate } from '../domain/allocation.ts';
import { businessDateIn } from '../domain/dates.ts';
import { LienError } from '../domain/errors.ts';
import { assertCurrency } from '../domain/money.ts';
import { newId } from '../store/ids.ts';
import { insertPayment } from '../store/repos/payments.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { evaluateContractTx, type Evaluation } from './evaluate.ts';
import { settleIfPaidOff } from './payoff.ts';
import { commit, type Effects, type Executor } from './unit-of-work.ts';
import { markPaymentUnlocks } from './unlock-latency.ts';

export interface PostPaymentInput {
  contractId: string;
  externalRef: string;
  channel: string;
  amount: number;
  currency: string;
  receivedAt: Date;
}

export interface PaymentResult {
  paymentId: string;
  evaluation: Evaluation;
}

/**
 * Loads and locks a contract the actor's lender owns; another lender's id is "not found", never
 * "forbidden". Locked first, before anything of the contract is written, so that concurrent
 * changes to one contract queue on its row instead of deadlocking on its installments.
 */
export async function contractForActor(tx: Executor, actor: Actor, contractId: string) {
  const c = await tx.selectFrom('contracts').selectAll().where('id', '=', contractId).forUpdate().executeTakeFirst();
  if (!c || (actor.lenderId !== null && c.lender_id !== actor.lenderId)) {
    throw new LienError('not_found', `No contract ${contractId}`, { contractId });
  }
  return c;
}

/**
 * Re-plays every standing payment of a contract over its schedule and stores what each
 * installment has been paid. A reversal is the same call without the reversed payment, so the
 * result never depends on the order payments and reversals arrived in.
 */
export async function reallocate(tx: Executor, contractId: string, order?: unknown): Promise<void> {
  const installments = await tx.selectFrom('installments').selectAll().where('contract_id', '=', contractId).orderBy('n').execute();
  const payments = await tx
    .selectFrom('payments')
    .select(['id', 'amount', 'received_at'])
    .where('contract_id', '=', contractId)
    .where('reversed_at', 'is', null)
    .execute();
  const result = allocate({
    installments: installments.map((i) => ({ n: i.n, dueDate: i.due_date, principal: i.principal, interest: i.interest, fee: i.fee, penalty: i.penalty })),
    payments: payments.map((p) => ({ id: p.id, amount: p.amount, receivedAt: p.received_at.toISOString() })),
    ...(Array.isArray(order) ? { order: order as never } : {}),
  });
  for (const inst of result.installments) {
    await tx
      .updateTable('installments')
      .set({ paid_principal: inst.paid.principal, paid_interest: inst.paid.interest, paid_fee: inst.paid.fee, paid_penalty: inst.paid.penalty })
      .where('contract_id', '=', contractId)
      .where('n', '=', inst.n)
      .execute();
  }
}

/** Posts a payment in the caller's unit of work: stored, allocated, announced, evaluated. */
export async function recordPayment(s: Services, tx: Executor, fx: Effects, input: PostPaymentInput): Promise<PaymentResult> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) {
    throw new LienError('invalid_amount', 'The amount must be a positive whole number of minor units (e.g. 250000 for 2,500.00).', { amount: input.amount });
  }
  assertCurrency(input.currency);
  const c = await contractForActor(tx, fx.actor, input.contractId);
  if (c.currency !== input.currency) {
    throw new LienError('currency_mismatch', `This contract is in ${c.currency}; the payment is in ${input.currency}.`, { expected: c.currency });
  }
  const lender = await tx.selectFrom('lenders').select(['allocation_order', 'time_zone']).where('id', '=', c.lender_id).executeTakeFirstOrThrow();
  const paymentId = newId('pay');
  await insertPayment(tx, {
    id: paymentId,
    lender_id: c.lender_id,
    contract_id: c.id,
    external_ref: input.externalRef,
    channel: input.channel,
    amount: input.amount,
    currency: input.currency,
    received_at: input.receivedAt,
    posted_at: fx.now,
    posted_by: actorName(fx.actor),
  });
  // A payment that covers the day's payoff quote settles the contract early (services/payoff.ts).
  await settleIfPaidOff(tx, fx, c, input.amount, businessDateIn(lender.time_zone, input.receivedAt));
  await reallocate(tx, c.id, lender.allocation_order);
  await fx.audit({
    action: 'payment.posted',
    subjectType: 'payment',
    subjectId: paymentId,
    lenderId: c.lender_id,
    reason: `payment ${input.externalRef} via ${input.channel}`,
    data: { contractId: c.id, amount: input.amount, currency: input.currency, externalRef: input.externalRef },
  });
  await fx.webhook({ lenderId: c.lender_id, type: 'payment.posted', data: { paymentId, contractId: c.id, amount: input.amount, currency: input.currency, externalRef: input.externalRef, channel: input.channel } });
  const evaluation = await evaluateContractTx(s, tx, fx, c.id, `payment ${input.externalRef} posted`);
  await markPaymentUnlocks(tx, [evaluation], fx.now);
  // A payment is proof that its channel is reporting. Last, so the unit holds the channel's row
  // (which every payment of the lender on that channel wants) only for its commit.
  await markChannelReported(tx, c.lender_id, { channel: input.channel }, fx.now);
  return { paymentId, evaluation };
}

/** Freshness windows are whole minutes: a channel that reported within the last one need not be written again. */
const REPORT_GRANULARITY_MS = 60_000;

/**
 * Marks a payment channel as reporting at `now`. Skipped when it already reported within the last
 * minute, so a busy channel's row is not a lock every payment of the lender queues on.
 */
export async function markChannelReported(tx: Executor, lenderId: string, which: { channel: string } | { id: string }, now: Date): Promise<void> {
  let q = tx.updateTable('payment_channels').set({ last_reported_at: now }).where('lender_id', '=', lenderId);
  q = 'id' in which ? q.where('id', '=', which.id) : q.where('channel', '=', which.channel);
  // (A report "from the future" is one a clock set back left behind: overwritten.)
  await q
    .where((eb) => eb.or([eb('last_reported_at', 'is', null), eb('last_reported_at', '<', new Date(now.getTime() - REPORT_GRANULARITY_MS)), eb('last_reported_at', '>', now)]))
    .execute();
}

export function postPayment(s: Services, actor: Actor, input: PostPaymentInput): Promise<PaymentResult> {
  return commit(s, actor, (tx, fx) => recordPayment(s, tx, fx, input));
}

export async function reversePayment(s: Services, actor: Actor, paymentId: string, reason: string): Promise<PaymentResult> {
  if (!reason.trim()) throw new LienError('invalid_input', 'A reversal needs a reason.', { field: 'reason' });
  return commit(s, actor, async (tx, fx) => {
    const found = await tx.selectFrom('payments').select(['contract_id', 'lender_id']).where('id', '=', paymentId).executeTakeFirst();
    if (!found || (actor.lenderId !== null && found.lender_id !== actor.lenderId)) throw new LienError('not_found', `No payment ${paymentId}`, { paymentId });
    // The contract first, as every change to it does (see contractForActor).
    await contractForActor(tx, actor, found.contract_id);
    const p = await tx.selectFrom('payments').selectAll().where('id', '=', paymentId).forUpdate().executeTakeFirstOrThrow();
    if (p.reversed_at) throw new LienError('conflict', `Payment ${p.external_ref} was already reversed on ${p.reversed_at.toISOString()}.`, { paymentId });
    await tx
      .updateTable('payments')
      .set({ reversed_at: fx.now, reversed_by: actorName(actor), reversal_reason: reason })
      .where('id', '=', paymentId)
      .execute();
    const lender = await tx.selectFrom('lenders').select(['allocation_order']).where('id', '=', p.lender_id).executeTakeFirstOrThrow();
    await reallocate(tx, p.contract_id, lender.allocation_order);
    await fx.audit({
      action: 'payment.reversed',
      subjectType: 'payment',
      subjectId: paymentId,
      lenderId: p.lender_id,
      reason,
      data: { contractId: p.contract_id, amount: p.amount, externalRef: p.external_ref },
    });
    await fx.webhook({ lenderId: p.lender_id, type: 'payment.reversed', data: { paymentId, contractId: p.contract_id, amount: p.amount, externalRef: p.external_ref, reason } });
    const evaluation = await evaluateContractTx(s, tx, fx, p.contract_id, `payment ${p.external_ref} reversed`);
    return { paymentId, evaluation };
  });
}
