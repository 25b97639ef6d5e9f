import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from './in-process.ts';
import { describeScreen } from '../../src/agent/sim/screen-model.ts';

describe('changing what the lock screen shows re-issues every policy', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  it('a locked phone shows the new support number and payment instructions after its next sync, still locked', async () => {
    const [d] = await p.register(1);
    await p.sell(d!);
    const phone = await p.agent(d!);
    await p.driveToLock(phone.agent);
    expect(phone.agent.view().mode).toBe('locked');
    expect(phone.agent.view().lender?.phone).toBe('+254700000111');

    const r = await p.api('PUT', '/v1/settings', { supportPhone: '+254700999888', howToPay: 'Airtel Money 998877' });
    expect(r.status).toBe(200);
    await phone.agent.sync();
    const view = phone.agent.view();
    expect(view.mode).toBe('locked');
    expect(view.lender?.phone).toBe('+254700999888');
    expect(view.lender?.howToPay).toBe('Airtel Money 998877');
    expect(view.allowedNumbers).toContain('+254700999888');
  });

  it('texts per language reach the phone in its signed policy, each falling back to the default; the change is audited (#15)', async () => {
    const [d] = await p.register(1);
    await p.sell(d!);
    const phone = await p.agent(d!);
    await p.driveToLock(phone.agent);
    const r = await p.api('PUT', '/v1/settings', {
      lockMessage: 'Call us to agree a new date.',
      texts: { sw: { howToPay: 'Lipa kwa M-Pesa 123456', message: 'Tupigie simu tukubaliane tarehe mpya.' }, hi: { supportHours: '' } },
    });
    expect(r.status).toBe(200);
    expect(r.body.texts).toEqual({ sw: { howToPay: 'Lipa kwa M-Pesa 123456', message: 'Tupigie simu tukubaliane tarehe mpya.' } });
    expect(r.body.lockMessage).toBe('Call us to agree a new date.');
    await phone.agent.sync();
    const policy = phone.agent.policy()!;
    expect(policy.lenderTexts).toEqual(r.body.texts);
    expect(policy.lender.message).toBe('Call us to agree a new date.');
    expect(policy.facts).toMatchObject({ reason: 'overdue', dueDate: '2026-01-15' });
    const model = (lang: 'sw' | 'hi') => describeScreen(phone.agent.view(), policy, { lang });
    const sw = model('sw');
    expect(sw.fields.find((f) => f.id === 'how-to-pay')?.value).toBe('Lipa kwa M-Pesa 123456');
    expect(sw.fields.find((f) => f.id === 'lender-message')?.value).toBe('Tupigie simu tukubaliane tarehe mpya.');
    expect(model('hi').fields.find((f) => f.id === 'lender-message')?.value).toBe('Call us to agree a new date.');
    const audit = await p.lien.services.db.selectFrom('audit_log').select(['action', 'reason']).where('action', '=', 'lender.settings_updated').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(audit.reason).toContain('texts');

    const bad = await p.api('PUT', '/v1/settings', { texts: { xx: { howToPay: 'x' } } });
    expect(bad.status).toBe(400);
  });
});
