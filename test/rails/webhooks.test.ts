/**
 * Razorpay and the signed payment webhook through the real server, with Razorpay's documented
 * payload shapes (test/fixtures/rails/) and signatures computed here with node:crypto the way
 * each sender documents them.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';
import { fixture, local, post } from './fixtures.ts';

const RZP_SECRET = 'rzp_whsec_9Xc2Lm4Qp7Vt';
const hmacHex = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');

describe('payment webhooks', () => {
  const p = new TestPlatform('2026-01-10T06:00:00Z');
  let inr: { key: string; lockReference: string; contractId: string };
  let rzpUrl: string;
  let kes: { lockReference: string; contractId: string };

  beforeAll(async () => {
    await p.start();
    const lender = await p.operator('POST', '/v1/operator/lenders', {
      name: 'Udaan EMI', supportPhone: '+919000000111', howToPay: 'UPI to udaan@bank', currency: 'INR', timeZone: 'Asia/Kolkata', profile: 'retail-short-cycle',
    });
    expect(lender.status).toBe(201);
    const key: string = lender.body.apiKey;
    const [d, d2] = await p.register(2);
    const sale = await p.api('POST', '/v1/sales', {
      imei: d!.imei, borrowerRef: 'IN-1', borrowerPhone: '+919000090000',
      schedule: { principal: 12_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-10' },
      consent: { at: p.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    }, key);
    expect(sale.status).toBe(201);
    inr = { key, lockReference: sale.body.lockReference, contractId: sale.body.contractId };
    const ch = await p.api('POST', '/v1/payment-channels', { channel: 'razorpay', type: 'razorpay', freshnessMinutes: 1440, account: { accountId: 'acc_BFQ7uQEaa7j2z7' }, secrets: { webhookSecret: RZP_SECRET } }, key);
    expect(ch.status).toBe(201);
    rzpUrl = local(p, ch.body.callbackUrls.webhook);
    kes = await p.sell(d2!);
  });
  afterAll(() => p.stop());

  const razorpay = (event: 'payment.captured' | 'payment.failed', paymentId: string, paise: number, ref: string) =>
    fixture(`razorpay-${event.replace('.', '-')}.json`, { PAYMENT_ID: paymentId, AMOUNT_PAISE: paise, LOCK_REFERENCE: ref });
  const send = (body: string, eventId: string, signature = hmacHex(RZP_SECRET, body)) =>
    post(rzpUrl, body, { 'x-razorpay-signature': signature, 'x-razorpay-event-id': eventId });
  const paymentsOf = (ref: string) => p.lien.services.db.selectFrom('payments').selectAll().where('external_ref', '=', ref).execute();

  describe('Razorpay', () => {
    it('posts payment.captured with a good signature, in paise, to the contract in notes.lock_reference', async () => {
      const body = razorpay('payment.captured', 'pay_GoodSig00000001', 4000_00, inr.lockReference);
      const r = await send(body, 'evt_good_1');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ event: 'payment.captured', status: 'posted', duplicate: false });
      const [pay] = await paymentsOf('pay_GoodSig00000001');
      expect(pay).toMatchObject({ contract_id: inr.contractId, amount: 4000_00, currency: 'INR', channel: 'razorpay' });
    });

    it('refuses a bad signature and posts nothing', async () => {
      const body = razorpay('payment.captured', 'pay_BadSig000000001', 100_00, inr.lockReference);
      for (const sig of [hmacHex('not-the-secret', body), hmacHex(RZP_SECRET, `${body} `), 'abc', '']) {
        const r = await send(body, 'evt_bad_1', sig);
        expect(r.status).toBe(401);
      }
      // The body changed after signing (amount raised): refused too.
      const tampered = await send(body.replaceAll('10000', '99999'), 'evt_bad_2', hmacHex(RZP_SECRET, body));
      expect(tampered.status).toBe(401);
      expect(await paymentsOf('pay_BadSig000000001')).toHaveLength(0);
    });

    it('a replayed event (same x-razorpay-event-id) is answered 200 and posts once', async () => {
      const body = razorpay('payment.captured', 'pay_Replay00000001', 50_00, inr.lockReference);
      const first = await send(body, 'evt_replay_1');
      const again = await send(body, 'evt_replay_1');
      expect(first.body).toMatchObject({ status: 'posted', duplicate: false });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ status: 'posted', duplicate: true, paymentId: first.body.paymentId });
      // The same payment reported by another event (order.paid, a re-sent capture): still one.
      const other = await send(body, 'evt_replay_2');
      expect(other.body).toMatchObject({ status: 'posted', duplicate: true });
      expect(await paymentsOf('pay_Replay00000001')).toHaveLength(1);
    });

    it('records payment.failed without posting, and posts the capture that follows it', async () => {
      const failed = await send(razorpay('payment.failed', 'pay_FailThenOk0001', 75_00, inr.lockReference), 'evt_fail_1');
      expect(failed.body).toMatchObject({ event: 'payment.failed', status: 'recorded' });
      expect(await paymentsOf('pay_FailThenOk0001')).toHaveLength(0);
      const kept = await p.lien.services.db.selectFrom('rail_receipts').select(['kind', 'outcome']).where('provider_ref', '=', 'event:evt_fail_1').executeTakeFirstOrThrow();
      expect(kept).toEqual({ kind: 'razorpay.payment.failed', outcome: 'recorded' });
      const captured = await send(razorpay('payment.captured', 'pay_FailThenOk0001', 75_00, inr.lockReference), 'evt_fail_2');
      expect(captured.body).toMatchObject({ status: 'posted', duplicate: false });
      expect(await paymentsOf('pay_FailThenOk0001')).toHaveLength(1);
    });

    it('a capture without a known lock reference goes to suspense', async () => {
      const r = await send(razorpay('payment.captured', 'pay_NoRef000000001', 10_00, 'WRONGREF'), 'evt_noref_1');
      expect(r.body).toMatchObject({ status: 'suspense', reason: 'unknown_reference' });
      const q = await p.api('GET', '/v1/suspense', undefined, inr.key);
      expect(q.body.items.map((i: { externalRef: string }) => i.externalRef)).toContain('pay_NoRef000000001');
    });
  });

  describe('signed payment webhook', () => {
    const S1 = 'whsec_first_7Hk2Lm9Q';
    const S2 = 'whsec_second_3Vb8Nc4X';
    let url: string;
    let id: string;
    const body = (ref: string, amount = '250.00') =>
      fixture('signed-payment.json', { EXTERNAL_REF: ref, AMOUNT: amount, REFERENCE: kes.lockReference.toLowerCase(), PAID_AT: p.clock.now().toISOString() });
    const header = (b: string, secrets: string[], t = Math.floor(p.clock.now().getTime() / 1000)) =>
      [`t=${t}`, ...secrets.map((s) => `v1=${hmacHex(s, `${t}.${b}`)}`)].join(',');

    beforeAll(async () => {
      const ch = await p.api('POST', '/v1/payment-channels', { channel: 'aggregator', type: 'signed_webhook', freshnessMinutes: 1440, secrets: { webhookSecrets: [S1] } });
      expect(ch.status).toBe(201);
      url = local(p, ch.body.callbackUrls.webhook);
      id = ch.body.id;
    });

    it('posts a correctly signed body', async () => {
      const b = body('AGG-1');
      const r = await post(url, b, { 'lien-signature': header(b, [S1]) });
      expect(r).toMatchObject({ status: 200, body: { status: 'posted', duplicate: false } });
      expect((await paymentsOf('AGG-1'))[0]).toMatchObject({ contract_id: kes.contractId, amount: 250_00, currency: 'KES', channel: 'aggregator' });
    });

    it('accepts the old and the new secret while one rotates, then only the new one', async () => {
      expect((await p.api('PATCH', `/v1/payment-channels/${id}`, { secrets: { webhookSecrets: [S2, S1] } })).status).toBe(200);
      for (const [ref, secrets] of [['AGG-2', [S1]], ['AGG-3', [S2]], ['AGG-4', [S2, S1]], ['AGG-5', ['whsec_unrelated_000', S2]]] as const) {
        const b = body(ref);
        expect((await post(url, b, { 'lien-signature': header(b, [...secrets]) })).status, ref).toBe(200);
      }
      expect((await p.api('PATCH', `/v1/payment-channels/${id}`, { secrets: { webhookSecrets: [S2] } })).status).toBe(200);
      const old = body('AGG-6');
      expect((await post(url, old, { 'lien-signature': header(old, [S1]) })).status).toBe(401);
      expect(await paymentsOf('AGG-6')).toHaveLength(0);
    });

    it('rotates through the API without the old secret: addWebhookSecret, then retireOlderWebhookSecrets', async () => {
      const S3 = 'whsec_third_5Rt6Yu7I';
      const added = await p.api('PATCH', `/v1/payment-channels/${id}`, { addWebhookSecret: S3 });
      expect(added).toMatchObject({ status: 200, body: { webhookSecretsAccepted: 2, secretsSet: ['webhookSecrets'] } });
      for (const [ref, secret] of [['AGG-R1', S2], ['AGG-R2', S3]] as const) {
        const b = body(ref);
        expect((await post(url, b, { 'lien-signature': header(b, [secret]) })).status, ref).toBe(200);
      }
      expect((await p.api('PATCH', `/v1/payment-channels/${id}`, { addWebhookSecret: S3 })).body).toMatchObject({ code: 'invalid_input', message: 'That secret is accepted already.' });
      await p.api('PATCH', `/v1/payment-channels/${id}`, { addWebhookSecret: 'whsec_fourth_1Qa2Ws3E' });
      expect((await p.api('PATCH', `/v1/payment-channels/${id}`, { addWebhookSecret: 'whsec_fifth_4Rf5Tg6Y' })).body.message).toBe('Three secrets are accepted at most: retire the older ones first.');
      const razorpay = (await p.api('GET', '/v1/payment-channels', undefined, inr.key)).body.items.find((c: { type: string }) => c.type === 'razorpay');
      expect((await p.api('PATCH', `/v1/payment-channels/${razorpay.id}`, { addWebhookSecret: 'whsec_other_9Ol8Ik7U' }, inr.key)).status).toBe(400);

      expect((await p.api('PATCH', `/v1/payment-channels/${id}`, { retireOlderWebhookSecrets: true })).body.webhookSecretsAccepted).toBe(1);
      await p.api('PATCH', `/v1/payment-channels/${id}`, { secrets: { webhookSecrets: [S2] } });
      const b = body('AGG-R3');
      expect((await post(url, b, { 'lien-signature': header(b, [S3]) })).status).toBe(401);
    });

    it('refuses a signature older or newer than five minutes', async () => {
      const now = Math.floor(p.clock.now().getTime() / 1000);
      const b = body('AGG-7');
      expect((await post(url, b, { 'lien-signature': header(b, [S2], now - 301) })).status).toBe(401);
      expect((await post(url, b, { 'lien-signature': header(b, [S2], now + 301) })).status).toBe(401);
      expect((await post(url, b, { 'lien-signature': header(b, [S2], now - 299) })).status).toBe(200);
    });

    it('answers a repeated externalRef with the first outcome and refuses a malformed body with 400', async () => {
      const b = body('AGG-8');
      const first = await post(url, b, { 'lien-signature': header(b, [S2]) });
      const again = await post(url, b, { 'lien-signature': header(b, [S2]) });
      expect(again.body).toMatchObject({ status: 'posted', duplicate: true, paymentId: first.body.paymentId });
      const bad = body('AGG-9', '12,5O.00');
      expect((await post(url, bad, { 'lien-signature': header(bad, [S2]) })).status).toBe(400);
    });
  });
});
