import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhook } from '../../src/services/webhooks.ts';
import { TestPlatform } from './in-process.ts';

describe('changes the phone will show are announced to the lender and the borrower', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  it('queues signed webhooks and a notification in the borrower’s language, in the same transaction', async () => {
    const { db } = p.lien.services;
    await createWebhook(p.lien.services, { kind: 'api_key', id: 'key_test', lenderId: p.lenderId }, { url: 'https://hooks.example/hook', events: ['device.enrolled', 'device.locked', 'device.unlocked', 'payment.posted'] });
    const [d] = await p.register(1);
    const sale = await p.sell(d!, { borrowerLanguage: 'sw' });
    const phone = await p.agent(d!);
    await p.driveToLock(phone.agent);
    expect(phone.agent.view().mode).toBe('locked');
    await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'MP-1', channel: 'mpesa', amount: 10_000_00, currency: 'KES' });

    const types = (await db.selectFrom('webhook_deliveries').select('event_type').orderBy('created_at').execute()).map((r) => r.event_type);
    expect(types).toEqual(['device.enrolled', 'device.locked', 'payment.posted', 'device.unlocked']);
    const notes = await db.selectFrom('notifications').select(['kind', 'language', 'body']).where('contract_id', '=', sale.contractId).orderBy('created_at').execute();
    expect(notes.map((n) => n.kind)).toEqual(['lock', 'unlock']);
    expect(notes[0]!.language).toBe('sw');
    expect(notes[0]!.body).toContain('Jamii Finance');
    expect(notes[0]!.body).toContain(sale.lockReference);
  });
});
