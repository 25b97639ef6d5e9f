import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from './in-process.ts';

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
});
