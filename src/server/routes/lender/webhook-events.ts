/**
 * The webhook events as a receiver sees them: the JSON body of each delivery, per event type,
 * with an example. They go into the OpenAPI document's `webhooks` section and the reference
 * page; test/api/webhook-events.test.ts checks the payloads the server really sends against them.
 */
import { Type, type TSchema } from 'typebox';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../../services/webhooks.ts';
import { Nullable } from './common.ts';
import { EX } from './examples.ts';

const StageChange = (what: string) =>
  Type.Object(
    {
      deviceId: Type.String(),
      contractId: Type.String(),
      stage: Type.String({ description: 'The stage the phone moves to' }),
      reason: Type.String({ description: 'Why, as the stage engine decided it (e.g. dpd_locked, arrears_cleared, paid_off)' }),
      amountOverdue: Type.Integer({ description: 'Minor units' }),
      currency: Type.String(),
    },
    { additionalProperties: false, description: what },
  );

interface EventDoc {
  summary: string;
  data: TSchema;
  example: Record<string, unknown>;
}

const STAGE_EXAMPLE = { deviceId: EX.deviceId, contractId: EX.contractId, currency: 'KES' };

export const WEBHOOK_EVENTS: Record<WebhookEventType, EventDoc> = {
  'device.provision_state_changed': {
    summary: 'Android Device Lock reported a new provisioning state for the phone (docs/android.md)',
    data: Type.Object(
      {
        deviceId: Type.String(),
        state: Type.String({ description: 'The provisioning state now: RETRY, DISMISSIBLE_UI, PERSISTENT_UI, FACTORY_RESET or SUCCESS' }),
        previousState: Nullable(Type.String()),
        success: Type.Boolean(),
        failureReason: Nullable(Type.String({ description: 'The module’s failure reason when success is false' })),
        daysLeftUntilReset: Nullable(Type.Integer({ description: 'In FACTORY_RESET: days before the module resets the phone' })),
      },
      { additionalProperties: false },
    ),
    example: { deviceId: EX.deviceId, state: 'SUCCESS', previousState: 'RETRY', success: true, failureReason: null, daysLeftUntilReset: null },
  },
  'device.program_completed': {
    summary: 'Android Device Lock reported the financing program complete (after payoff): the module lets the phone go',
    data: Type.Object({ deviceId: Type.String() }, { additionalProperties: false }),
    example: { deviceId: EX.deviceId },
  },
  'device.enrolled': {
    summary: 'A phone enrolled (again after a factory reset: reEnrollment true; its previous credential is revoked)',
    data: Type.Object({ deviceId: Type.String(), reEnrollment: Type.Boolean(), agentVersion: Type.String() }, { additionalProperties: false }),
    example: { deviceId: EX.deviceId, reEnrollment: false, agentVersion: '1.4.0' },
  },
  'device.locked': {
    summary: 'The phone is being sent a lock (restricted or locked)',
    data: StageChange('The lock'),
    example: { ...STAGE_EXAMPLE, stage: 'locked', reason: 'dpd_locked', amountOverdue: 1000000 },
  },
  'device.unlocked': {
    summary: 'A lock was lifted: arrears paid, a claim or dispute opened, or by hand',
    data: StageChange('The unlock'),
    example: { ...STAGE_EXAMPLE, stage: 'current', reason: 'arrears_cleared', amountOverdue: 0 },
  },
  'device.released': {
    summary: 'The contract is settled (paid off or written off): the phone leaves financing for good',
    data: StageChange('The release'),
    example: { ...STAGE_EXAMPLE, stage: 'released', reason: 'paid_off', amountOverdue: 0 },
  },
  'payment.posted': {
    summary: 'A payment was recorded (API, CSV import, console, approved claim)',
    data: Type.Object(
      { paymentId: Type.String(), contractId: Type.String(), amount: Type.Integer({ description: 'Minor units' }), currency: Type.String(), externalRef: Type.String(), channel: Type.String() },
      { additionalProperties: false },
    ),
    example: { paymentId: EX.paymentId, contractId: EX.contractId, amount: 1000000, currency: 'KES', externalRef: 'SGH7K2M9QX', channel: 'mpesa' },
  },
  'payment.reversed': {
    summary: 'A payment was reversed; the contract was re-evaluated without it',
    data: Type.Object(
      { paymentId: Type.String(), contractId: Type.String(), amount: Type.Integer({ description: 'Minor units' }), externalRef: Type.String(), reason: Type.String() },
      { additionalProperties: false },
    ),
    example: { paymentId: EX.paymentId, contractId: EX.contractId, amount: 1000000, externalRef: 'SGH7K2M9QX', reason: 'Duplicate of SGH7K2M9QW' },
  },
  'payment.suspended': {
    summary: 'Money arrived on a payment rail but matched no open contract; it waits in the suspense queue until assigned to a contract or refunded',
    data: Type.Object(
      {
        suspenseId: Type.String(),
        channelId: Type.String(),
        channel: Type.String(),
        externalRef: Type.String({ description: "The provider's transaction id (M-Pesa TransID, Razorpay payment id, …)" }),
        reference: Type.String({ description: 'The account reference the payer gave' }),
        amount: Type.Integer({ description: 'Minor units' }),
        currency: Type.String(),
        reason: Type.Union(['unknown_reference', 'currency_mismatch', 'contract_closed', 'amount_not_positive'].map((r) => Type.Literal(r))),
      },
      { additionalProperties: false },
    ),
    example: { suspenseId: 'sus_01jf3k8m2n4p6q8r0s2t4v6w8x', channelId: 'pch_8f14e45fceea167a5a36dedd4bea2543', channel: 'mpesa', externalRef: 'RKTQDM7W6S', reference: 'AB12CD3', amount: 150000, currency: 'KES', reason: 'unknown_reference' },
  },
  'claim.submitted': {
    summary: 'A borrower filed a payment claim on the help portal; escalation is held until you decide it',
    data: Type.Object(
      {
        claimId: Type.String(),
        claimNumber: Type.String({ description: 'What the borrower quotes (C-…)' }),
        contractId: Type.String(),
        transactionRef: Type.String(),
        amount: Type.Integer({ description: 'Minor units' }),
        currency: Type.String(),
        paidOn: Type.String({ description: 'YYYY-MM-DD' }),
        channel: Type.String(),
        hasReceipt: Type.Boolean(),
        liftsLock: Type.Boolean({ description: 'The claim covers the overdue amount and lifts the lock while it is open (once per contract per claim window); otherwise it only holds escalation' }),
      },
      { additionalProperties: false },
    ),
    example: { claimId: EX.claimId, claimNumber: 'C-7K3M9Q2X', contractId: EX.contractId, transactionRef: 'SGF2X8P4LM', amount: 1000000, currency: 'KES', paidOn: '2026-02-16', channel: 'mobile_money', hasReceipt: true, liftsLock: true },
  },
};

/** An example delivery body of one event type. */
export function webhookEventExample(type: WebhookEventType) {
  return { id: EX.eventId, type, createdAt: EX.paidAt, lenderId: EX.lenderId, data: WEBHOOK_EVENTS[type].example };
}

/** The whole delivery body of one event type, named for the reference (`PaymentPostedEvent`). */
export function webhookEventSchema(type: WebhookEventType) {
  const e = WEBHOOK_EVENTS[type];
  const name = `${type.split(/[._]/).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Event`;
  return Type.Object(
    {
      id: Type.String({ description: 'The event id: the same on every retry and replay (also the Lien-Event-Id header); process each once' }),
      type: Type.Literal(type),
      createdAt: Type.String({ format: 'date-time', description: 'When the change happened' }),
      lenderId: Type.String(),
      data: e.data,
    },
    {
      additionalProperties: false,
      title: name,
      description: e.summary,
      examples: [webhookEventExample(type)],
    },
  );
}

export const WEBHOOK_EVENT_SCHEMAS = WEBHOOK_EVENT_TYPES.map((t) => ({ type: t, schema: webhookEventSchema(t) }));
