/**
 * The console's part of the rails: adding a channel shows its callback URLs; money in suspense is
 * counted on the dashboard, listed with its payload, and assigned by lock reference.
 */
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
