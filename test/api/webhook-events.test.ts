import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../src/services/webhooks.ts';
import { webhookEventSchema } from '../../src/server/routes/lender/webhook-events.ts';
import { submitClaim } from '../../src/services/claims.ts';
import { takeRailPayment } from '../../src/services/rails/intake.ts';
import { deviceLockProgramComplete, deviceLockReportState } from '../../src/services/android-device-lock.ts';
import { TestPlatform } from '../e2e/in-process.ts';

/**
 * The payloads the reference documents are the payloads the server sends: a phone goes through
 * every event (enrolled, locked, paid, unlocked, claim, reversal, released, a rail payment left in suspense, and its Android Device
 * Lock module's provisioning and program completion) and each queued
 * delivery is checked against its documented schema, extra fields refused.
 */
describe('webhook events as documented', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start());
  afterAll(() => p.stop());

  it('every event the server queues matches the schema the API reference shows for it', async () => {
    const hook = await p.api('POST', '/v1/webhooks', { url: 'https://hooks.example/lien', events: [...WEBHOOK_EVENT_TYPES] });
    expect(hook.status).toBe(201);
    const [d] = await p.register(1);
    const sale = await p.sell(d!, { schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 2, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' } });
    const { agent } = await p.agent(d!);
    await p.driveToLock(agent);
    const claim = await submitClaim(p.lien.services, { lockReference: sale.lockReference, transactionRef: 'CLAIM-1', amount: '100', paidOn: '2026-01-21', channel: 'mobile_money' });
    expect(claim.claimNumber).toMatch(/^C-/);
    const pay = async (ref: string, amount: number) => {
      const r = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: ref, channel: 'mpesa', amount, currency: 'KES' });
      expect(r.status).toBe(201);
      return r.body.paymentId as string;
    };
    const first = await pay('PAY-1', 15_000_00);
    expect((await p.api('POST', `/v1/payments/${first}/reverse`, { reason: 'bounced' })).status).toBe(200);
    await pay('PAY-2', 30_000_00);
    // A rail payment whose account reference matches nothing waits in suspense.
    const ch = await p.api('POST', '/v1/payment-channels', { channel: 'aggregator', type: 'signed_webhook', freshnessMinutes: 1440, secrets: { webhookSecrets: ['whsec_events_test_0123456789abcdef'] } });
    expect(ch.status).toBe(201);
    const channel = await p.lien.services.db.selectFrom('payment_channels').selectAll().where('id', '=', ch.body.id).executeTakeFirstOrThrow();
    const unmatched = await takeRailPayment(p.lien.services, channel, { providerRef: 'EVT-1', kind: 'signed.payment', externalRef: 'UNMATCHED-1', reference: 'NO-SUCH-REF', amount: 500_00, currency: 'KES', receivedAt: p.clock.now(), payload: {} });
    expect(unmatched.outcome).toBe('suspense');
    // The Android Device Lock module of the same phone: provisioned, then its program completed after payoff.
    await deviceLockReportState(p.lien.services, sale.deviceId, { previous: 'UNSPECIFIED', success: true, failureReason: 'UNSPECIFIED' });
    await deviceLockProgramComplete(p.lien.services, sale.deviceId);

    const rows = await p.lien.services.db.selectFrom('webhook_deliveries').select(['event_type', 'payload']).execute();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const seen = new Set<string>();
    for (const r of rows) {
      const check = ajv.compile(webhookEventSchema(r.event_type as WebhookEventType));
      expect(check(r.payload), `${r.event_type}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(r.payload)}`).toBe(true);
      seen.add(r.event_type);
    }
    expect([...seen].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  }, 120_000);
});
