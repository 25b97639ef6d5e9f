/**
 * The console's part of the rails: adding a channel shows its callback URLs; changing one keeps
 * what the form leaves blank and rotates a signed webhook's secret without retyping the old one;
 * money in suspense is counted on the dashboard, listed with its payload, and assigned by lock
 * reference.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDarajaTime } from '../../src/domain/rails.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { addUser, ConsoleClient, flashOf } from '../console/helpers.ts';
import { fixture, local, post } from './fixtures.ts';

describe('console: payment channels and suspense', () => {
  const p = new TestPlatform('2026-01-10T06:00:00Z');
  const c = () => new ConsoleClient(p.url);
  let admin: ConsoleClient;

  beforeAll(async () => {
    await p.start();
    await addUser(p, p.lenderId, 'admin', 'rails-admin@jamii.example');
    admin = c();
    await admin.follow(await admin.signIn('rails-admin@jamii.example'));
  });
  afterAll(() => p.stop());

  it('adds an M-Pesa channel from the form and shows its callback URLs, never its secret', async () => {
    await admin.get('/console/payment-channels');
    const r = await admin.post('/console/payment-channels', {
      channel: 'mpesa', type: 'mpesa_c2b', freshnessMinutes: '720', shortCode: '600638', environment: 'sandbox', consumerKey: 'ck_console_12345', consumerSecret: 'cs_console_67890', accountId: '', webhookSecret: '', allowFrom: '',
    });
    const page = await admin.follow(r);
    expect(flashOf(page.body)).toMatch(/Channel mpesa added\. Register with the provider: http.*\/validation and http.*\/confirmation/);
    expect(page.body).toMatch(/validation: <code>http[^<]+\/rails\/c2b\/pch_[0-9a-f]+\/[0-9a-f]{32}\/validation<\/code>/);
    expect(page.body).toContain('secrets set: consumerKey, consumerSecret');
    expect(page.body).not.toContain('cs_console_67890');
    // A bad short code is refused with the reason.
    await admin.get('/console/payment-channels');
    const bad = await admin.follow(await admin.post('/console/payment-channels', { channel: 'mpesa2', type: 'mpesa_c2b', freshnessMinutes: '60', shortCode: '12' }));
    expect(flashOf(bad.body)).toMatch(/shortCode/);
  });

  it('changes a channel: freshness and allowlist saved, blank secrets and API-only options kept, audited', async () => {
    const mpesa = (await p.api('GET', '/v1/payment-channels')).body.items.find((x: { channel: string }) => x.channel === 'mpesa');
    expect((await p.api('PATCH', `/v1/payment-channels/${mpesa.id}`, { options: { ...mpesa.options, baseUrl: 'http://127.0.0.1:9' } })).status).toBe(200);
    const page = await admin.get('/console/payment-channels');
    expect(page.body).toContain(`action="/console/payment-channels/${mpesa.id}"`);
    const saved = await admin.follow(await admin.post(`/console/payment-channels/${mpesa.id}`, {
      freshnessMinutes: '90', shortCode: '600638', environment: 'production', consumerKey: '', consumerSecret: 'cs_rotated_24680', allowFrom: '196.201.214.0/24, 196.201.213.44',
    }));
    expect(flashOf(saved.body)).toBe('Channel mpesa saved.');
    expect(saved.body).not.toContain('cs_rotated_24680');
    const after = (await p.api('GET', `/v1/payment-channels/${mpesa.id}`)).body;
    expect(after).toMatchObject({
      freshnessMinutes: 90,
      account: { shortCode: '600638' },
      options: { environment: 'production', baseUrl: 'http://127.0.0.1:9', allowFrom: ['196.201.214.0/24', '196.201.213.44'] },
      secretsSet: ['consumerKey', 'consumerSecret'],
      callbackUrls: mpesa.callbackUrls,
    });
    const audit = await p.lien.services.db.selectFrom('audit_log').selectAll().where('subject_id', '=', mpesa.id).where('action', '=', 'payment_channel.updated').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.stringify(audit)).not.toContain('cs_rotated_24680');
    expect(audit.data).toMatchObject({ secretsChanged: ['consumerSecret'] });
    // A bad entry is refused with the reason, and nothing changes.
    const bad = await admin.follow(await admin.post(`/console/payment-channels/${mpesa.id}`, { freshnessMinutes: '90', shortCode: '600638', allowFrom: '10.0.0.0/99' }));
    expect(flashOf(bad.body)).toMatch(/allowFrom entry "10\.0\.0\.0\/99"/);
    // Clearing the allowlist accepts callbacks from anywhere again.
    await admin.follow(await admin.post(`/console/payment-channels/${mpesa.id}`, { freshnessMinutes: '90', shortCode: '600638', environment: 'production', allowFrom: '' }));
    expect((await p.api('GET', `/v1/payment-channels/${mpesa.id}`)).body.options).toEqual({ environment: 'production', baseUrl: 'http://127.0.0.1:9' });
  });

  it("rotates a signed webhook's secret from the console: both accepted, then only the new one", async () => {
    const S1 = 'whsec_console_first_1', S2 = 'whsec_console_second_2';
    const ch = await p.api('POST', '/v1/payment-channels', { channel: 'aggregator', type: 'signed_webhook', freshnessMinutes: 1440, secrets: { webhookSecrets: [S1] } });
    expect(ch.status).toBe(201);
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    let n = 0;
    const send = async (secret: string) => {
      const b = fixture('signed-payment.json', { EXTERNAL_REF: `ROT-${++n}`, AMOUNT: '10.00', REFERENCE: sale.lockReference, PAID_AT: p.clock.now().toISOString() });
      const t = Math.floor(p.clock.now().getTime() / 1000);
      return (await post(local(p, ch.body.callbackUrls.webhook), b, { 'lien-signature': `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${b}`).digest('hex')}` })).status;
    };
    const change = (form: Record<string, string>) => admin.post(`/console/payment-channels/${ch.body.id}`, { freshnessMinutes: '1440', allowFrom: '', ...form });

    const added = await admin.follow(await change({ webhookSecret: S2, rotation: 'add' }));
    expect(flashOf(added.body)).toBe('Channel aggregator saved. It accepts 2 webhook secrets now; once every sender signs with the newest, retire the older ones.');
    expect(added.body).toContain('2 webhook secrets accepted: rotation under way');
    expect(added.body).toContain('name="retireOlder"');
    expect([await send(S1), await send(S2)]).toEqual([200, 200]);

    expect(flashOf((await admin.follow(await change({ webhookSecret: S2, rotation: 'add' }))).body)).toBe('That secret is accepted already.');
    const retired = await admin.follow(await change({ retireOlder: '1' }));
    expect(flashOf(retired.body)).toBe('Channel aggregator saved.');
    expect(retired.body).not.toContain('rotation under way');
    expect([await send(S1), await send(S2)]).toEqual([401, 200]);

    // Replacing outright is one step; a blank secret keeps the current one.
    await admin.follow(await change({ webhookSecret: S1, rotation: 'replace' }));
    await admin.follow(await change({ webhookSecret: '' }));
    expect([await send(S1), await send(S2)]).toEqual([200, 401]);
  });

  it('counts suspense on the dashboard, lists it with its payload, and assigns it by lock reference', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const channels = await p.api('GET', '/v1/payment-channels');
    const mpesa = channels.body.items.find((x: { channel: string }) => x.channel === 'mpesa');
    const body = fixture('daraja-c2b-confirmation.json', { TRANS_ID: 'SUSP000001', TRANS_TIME: formatDarajaTime(p.clock.now()), AMOUNT: '500.00', BILL_REF: 'typo-ref' });
    expect((await post(local(p, mpesa.callbackUrls.confirmation), body)).body).toEqual({ ResultCode: 0, ResultDesc: 'Success' });

    const dash = await admin.get('/console');
    expect(dash.body).toMatch(/data-testid="suspense-count"><a href="\/console\/suspense">1 payment in suspense<\/a>/);
    const list = await admin.get('/console/suspense');
    expect(list.body).toContain('SUSP000001');
    expect(list.body).toContain('typo-ref');
    expect(list.body).toContain('unknown reference');
    const id = /<tr data-id="(sus_[0-9a-z]+)"/.exec(list.body)![1]!;
    const done = await admin.follow(await admin.post(`/console/suspense/${id}/assign`, { contract: sale.lockReference.toLowerCase(), note: 'Borrower confirmed by phone' }));
    expect(flashOf(done.body)).toMatch(/^Posted as payment pay_/);
    expect((await admin.get('/console')).body).toContain('No payments in suspense.');
    const pay = await p.lien.services.db.selectFrom('payments').selectAll().where('external_ref', '=', 'SUSP000001').executeTakeFirstOrThrow();
    expect(pay).toMatchObject({ contract_id: sale.contractId, amount: 500_00, posted_by: expect.stringMatching(/^user:/) });
  });
});
