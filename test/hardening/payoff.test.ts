/**
 * Issue #12 B4: an early payoff quote on the API, the console contract page and the portal
 * lookup; paying it releases the phone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';
import { addUser, ConsoleClient } from '../console/helpers.ts';
import { postForm, resetRateLimits, testId, text } from '../portal/helpers.ts';

describe('issue #12 B4: early payoff', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let sale: { contractId: string; deviceId: string; lockReference: string };

  beforeAll(async () => {
    await p.start();
    const [d] = await p.register(1);
    // KES 24,000.00 at 24 % a year over 12 months, declining balance: EMI 2,269.43.
    sale = await p.sell(d!, { schedule: { principal: 24_000_00, annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-02-01' } });
    p.clock.set('2026-02-01T09:00:00Z');
    const first = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'EMI-1', channel: 'mpesa', amount: 2_269_43, currency: 'KES' });
    expect(first.status).toBe(201);
  }, 60_000);
  afterAll(() => p.stop());

  it('B4: the API quotes principal outstanding plus interest accrued to the date, not the rest of the schedule', async () => {
    const q = await p.api('GET', `/v1/contracts/${sale.contractId}/payoff`);
    expect(q.status).toBe(200);
    expect(q.body).toMatchObject({ asOf: '2026-02-01', rule: 'accrued_to_date', amount: 22_210_57, outstanding: 24_963_73, saving: 2_753_16, currency: 'KES' });
    const later = await p.api('GET', `/v1/contracts/${sale.contractId}/payoff?date=2026-02-15`);
    expect(later.body.amount).toBe(22_210_57 + 222_11); // half of February's 444.21 interest
    expect((await p.api('GET', `/v1/contracts/${sale.contractId}/payoff?date=15-02-2026`)).status).toBe(400);
  });

  it('B4: the console contract page and the portal lookup show the quote before paying', async () => {
    await addUser(p, p.lenderId, 'support', 'payoff-support@example.com');
    const c = new ConsoleClient(p.url);
    expect((await c.signIn('payoff-support@example.com')).status).toBe(303);
    const page = await c.get(`/console/contracts/${sale.contractId}`);
    expect(testId(page.body, 'payoff')).toMatch(/22,210\.57 settles it on 2026-02-01/);
    await resetRateLimits(p);
    const lookup = await postForm(p, '/portal/lookup?lang=en', { reference: sale.lockReference });
    expect(lookup.html).toContain('data-amount="2221057"');
    expect(text(lookup.html)).toMatch(/Paying \S+\s?22,210\.57 today settles the whole plan/);
    expect(text(lookup.html)).toMatch(/2,753\.16 less than paying every installment/);
  });

  it('B4: paying the quote pays the contract off and releases the phone', async () => {
    const pay = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'PAYOFF-1', channel: 'mpesa', amount: 22_210_57, currency: 'KES' });
    expect(pay.status).toBe(201);
    const after = await p.api('GET', `/v1/contracts/${sale.contractId}`);
    expect(after.body.contract).toMatchObject({ status: 'paid_off', stage: 'released', outstanding: 0 });
    const device = await p.lien.services.db.selectFrom('devices').select('released_at').where('id', '=', sale.deviceId).executeTakeFirstOrThrow();
    expect(device.released_at).not.toBeNull();
    const audit = await p.api('GET', `/v1/audit?action=contract.paid_off_early`);
    expect(audit.body.items[0]).toMatchObject({ subject_id: sale.contractId, data: { amount: 22_210_57, saving: 2_753_16 } });
    const notes = await p.lien.services.db.selectFrom('notifications').select('kind').where('contract_id', '=', sale.contractId).execute();
    expect(notes.map((n) => n.kind)).toContain('release');
  });

  it('B4: a payments import that covers the quote pays off too', async () => {
    const [d] = await p.register(1);
    const other = await p.sell(d!, { schedule: { principal: 24_000_00, annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-03-01' } });
    const q = await p.api('GET', `/v1/contracts/${other.contractId}/payoff`);
    expect(q.body.saving).toBeGreaterThan(0);
    const csv = `contract_id,external_ref,channel,amount,currency,received_at\n${other.contractId},IMPORT-PAYOFF,mpesa,${(q.body.amount / 100).toFixed(2)},KES,${p.clock.now().toISOString()}\n`;
    const job = await p.api('POST', '/v1/imports/payments', csv, p.lenderKey, 'text/csv');
    expect(job.status).toBe(202);
    let report = job.body;
    for (let i = 0; i < 200 && report.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      report = (await p.api('GET', `/v1/imports/${job.body.id}`)).body;
    }
    expect(report.state).toBe('succeeded');
    const after = await p.api('GET', `/v1/contracts/${other.contractId}`);
    expect(after.body.contract).toMatchObject({ status: 'paid_off', stage: 'released', outstanding: 0 });
  });
});
