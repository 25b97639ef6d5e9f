import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitClaim } from '../../src/services/claims.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { addUser, ConsoleClient, flashOf } from './helpers.ts';

describe('console forms: selling, reversing, settings', () => {
  const p = new TestPlatform('2026-01-05T08:00:00Z');
  let devices: TestDevice[];

  beforeAll(async () => {
    await p.start();
    devices = await p.register(2);
    for (const role of ['admin', 'support', 'agent'] as const) await addUser(p, p.lenderId, role, `${role}@jamii.example`);
  }, 60_000);
  afterAll(() => p.stop());

  it('a dealer sells on credit through the form; mistakes come back with the values kept', async () => {
    const c = new ConsoleClient(p.url);
    await c.signIn('agent@jamii.example');
    await c.get('/console/sell');
    const form = {
      imei: devices[0]!.imei, borrowerRef: 'CUST-0042', borrowerPhone: '+254722000111', borrowerLanguage: 'sw', principal: '24,000.00', downPayment: '4,000.00',
      annualRatePct: '0', termCount: '4', frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-05', consent: 'yes', termsVersion: 'v2',
    };
    const bad = await c.post('/console/sell', { ...form, principal: '24,000.555' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/at most 2 decimal places/);
    expect(bad.body).toContain('value="CUST-0042"');

    const ok = await c.post('/console/sell', form);
    expect(ok.status).toBe(303);
    const page = await c.follow(ok);
    expect(flashOf(page.body)).toMatch(/^Sold on credit: contract ctr_/);
    const contract = await p.lien.services.db.selectFrom('contracts').selectAll().where('borrower_ref', '=', 'CUST-0042').executeTakeFirstOrThrow();
    expect(contract).toMatchObject({ financed: 20_000_00, borrower_language: 'sw', consent_channel: 'console', consent_terms_version: 'v2', lender_id: p.lenderId });
    const audit = await p.lien.services.db.selectFrom('audit_log').select('actor').where('action', '=', 'contract.created').where('subject_id', '=', contract.id).executeTakeFirstOrThrow();
    expect(audit.actor).toMatch(/^user:usr/);

    const again = await c.post('/console/sell', form);
    expect(again.status).toBe(409);
    expect(again.body).toMatch(/already carries a lien/);
  });

  it('support sees the schedule with allocations and reverses a payment with a reason', async () => {
    const sale = await p.sell(devices[1]!);
    const c = new ConsoleClient(p.url);
    await c.signIn('support@jamii.example');
    await c.get(`/console/devices/${sale.deviceId}`);
    const paid = await c.follow(await c.post(`/console/devices/${sale.deviceId}/payment`, { amount: '12,500.00', reference: 'RCPT-9', channel: 'cash', receivedOn: '2026-01-05' }));
    expect(flashOf(paid.body)).toMatch(/^Payment RCPT-9 posted/);

    const page = await c.get(`/console/contracts/${sale.contractId}`);
    expect(page.status).toBe(200);
    const paidCells = [...page.body.matchAll(/data-testid="paid">([^<]*)</g)].map((m) => m[1]);
    expect(paidCells).toEqual(['KES 10,000.00', 'KES 2,500.00', 'KES 0.00']);
    const pay = /data-payment="(pay_[^"]+)"/.exec(page.body)![1]!;

    const short = await c.follow(await c.post(`/console/contracts/${sale.contractId}/payments/${pay}/reverse`, { reason: 'x' }));
    expect(short.body).toContain('class="flash bad"');
    const reversed = await c.follow(await c.post(`/console/contracts/${sale.contractId}/payments/${pay}/reverse`, { reason: 'cheque bounced' }));
    expect(flashOf(reversed.body)).toMatch(/^Payment reversed/);
    expect([...reversed.body.matchAll(/data-testid="paid">([^<]*)</g)].map((m) => m[1])).toEqual(['KES 0.00', 'KES 0.00', 'KES 0.00']);
    expect(reversed.body).toContain('cheque bounced');
  });

  it('support applies manual actions with a reason and rejects a claim with a message', async () => {
    const [dev] = (await p.register(1)) as [TestDevice];
    const sale = await p.sell(dev);
    const c = new ConsoleClient(p.url);
    await c.signIn('support@jamii.example');
    await c.get(`/console/devices/${sale.deviceId}`);
    const noReason = await c.follow(await c.post(`/console/devices/${sale.deviceId}/manual`, { action: 'pause', reason: '' }));
    expect(noReason.body).toContain('class="flash bad"');
    const lock = await c.follow(await c.post(`/console/devices/${sale.deviceId}/manual`, { action: 'lock', reason: 'borrower unreachable' }));
    expect(flashOf(lock.body)).toMatch(/^The lock is recorded but held back: the contract is not past due/);
    const pause = await c.follow(await c.post(`/console/devices/${sale.deviceId}/manual`, { action: 'pause', reason: 'hospital stay, agreed by phone' }));
    expect(flashOf(pause.body)).toBe('Escalation is paused.');
    const actions = await p.lien.services.db.selectFrom('audit_log').select(['action', 'actor']).where('subject_id', '=', sale.contractId).where('action', 'like', 'contract.manual_%').orderBy('seq').execute();
    expect(actions.map((x) => x.action)).toEqual(['contract.manual_lock', 'contract.manual_pause']);

    const { claimId } = await submitClaim(p.lien.services, { lockReference: sale.lockReference, transactionRef: 'BANK-5521', amount: '100.00', paidOn: '2026-01-04', channel: 'bank' });
    await c.get('/console/claims');
    expect(c.lastPage).toContain(`data-claim="${claimId}"`);
    const short = await c.follow(await c.post(`/console/claims/${claimId}/reject`, { message: 'no' }));
    expect(short.body).toContain('class="flash bad"');
    const rejected = await c.follow(await c.post(`/console/claims/${claimId}/reject`, { message: 'No such transfer reached our account.' }));
    expect(flashOf(rejected.body)).toBe('Claim rejected; the borrower will read your message.');
    const claim = await p.lien.services.db.selectFrom('claims').select(['status', 'message']).where('id', '=', claimId).executeTakeFirstOrThrow();
    expect(claim).toEqual({ status: 'rejected', message: 'No such transfer reached our account.' });
    expect((await c.post(`/console/claims/${claimId}/approve`, {})).status).toBe(303); // decided already: back with a message
    expect(flashOf((await c.get('/console/claims')).body)).toMatch(/already rejected/);
  });

  it('an admin changes contacts, profile and payment channels, adds a user and creates an API key shown once', async () => {
    const c = new ConsoleClient(p.url);
    await c.signIn('admin@jamii.example');
    await c.get('/console/settings');
    const saved = await c.follow(await c.post('/console/settings', { supportPhone: '+254700123456', supportUrl: 'https://jamii.example/help', supportHours: 'Mon–Sat 8–18', howToPay: 'Paybill 999', timeZone: 'Africa/Nairobi', complianceProfile: 'india-2026-draft' }));
    expect(flashOf(saved.body)).toBe('Settings saved.');
    const lender = await p.lien.services.db.selectFrom('lenders').selectAll().where('id', '=', p.lenderId).executeTakeFirstOrThrow();
    expect(lender).toMatchObject({ support_phone: '+254700123456', how_to_pay: 'Paybill 999' });
    expect((lender.compliance_profile as { id: string }).id).toBe('india-2026-draft');

    const badTz = await c.follow(await c.post('/console/settings', { supportPhone: '+254700123456', supportUrl: '', supportHours: '', howToPay: 'Paybill 999', timeZone: 'Mars/Olympus', complianceProfile: '' }));
    expect(badTz.body).toContain('class="flash bad"');

    const ch = await c.follow(await c.post('/console/settings/channels', { channels: 'mpesa 60\nbank 1440' }));
    expect(flashOf(ch.body)).toBe('Payment channels saved (2).');
    const wrong = await c.follow(await c.post('/console/settings/channels', { channels: 'mpesa sixty' }));
    expect(flashOf(wrong.body)).toMatch(/Line 1/);

    const added = await c.follow(await c.post('/console/settings/users', { name: 'Amina', email: 'amina@jamii.example', password: 'a long password', role: 'viewer' }));
    expect(flashOf(added.body)).toBe('User amina@jamii.example added as viewer.');
    expect((await new ConsoleClient(p.url).signIn('amina@jamii.example', 'a long password')).status).toBe(303);

    const key = await c.post('/console/settings/keys', { name: 'accounting export', scopes: 'read' });
    expect(key.status).toBe(201);
    const shown = /data-testid="new-key"[\s\S]*?class="code">([^<]+)</.exec(key.body)![1]!;
    expect((await p.api('GET', '/v1/contracts', undefined, shown)).status).toBe(200);
    c.lastPage = key.body;
    expect((await c.get('/console/settings')).body).not.toContain(shown);

    const hook = await c.post('/console/settings/webhooks', { url: 'https://hooks.jamii.example/lien', events: 'device.locked' });
    expect(hook.status).toBe(201);
    expect(hook.body).toMatch(/data-testid="new-webhook"/);
    const row = await p.lien.services.db.selectFrom('webhooks').select(['id', 'events', 'active']).where('lender_id', '=', p.lenderId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ events: ['device.locked'], active: true });
    const badHook = await c.post('/console/settings/webhooks', { url: 'ftp://nope.example', events: 'device.locked' });
    expect(badHook.status).toBe(200);
    expect(badHook.body).toMatch(/The webhook URL must start with https:\/\//);
    c.lastPage = badHook.body;
    const off = await c.follow(await c.post(`/console/settings/webhooks/${row.id}/deactivate`, {}));
    expect(flashOf(off.body)).toBe('Webhook https://hooks.jamii.example/lien deactivated.');
    const audit = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', row.id).orderBy('seq').execute();
    expect(audit.map((x) => x.action)).toEqual(['webhook.created', 'webhook.deactivated']);
  });
});
