/**
 * A phone offline from the sale (#13): the notice the policy schedules shows on its own, and the
 * offline lock comes only after it has been on screen for the profile's minimum time
 * (guardrail 2), also when the phone was switched off through the notice period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/agent/ports.ts';
import { OfflineError } from '../../src/agent/ports.ts';
import { TestPlatform } from './in-process.ts';

/** A network the test can cut, as the phone's radio would be. */
function cuttable(state: { online: boolean }) {
  return (inner: Network): Network => {
    const gate = <T>(f: () => Promise<T>) => (state.online ? f() : Promise.reject(new OfflineError('no signal')));
    return {
      nonce: () => gate(() => inner.nonce()),
      enroll: (r) => gate(() => inner.enroll(r)),
      checkin: (...a) => gate(() => inner.checkin(...a)),
      connectStream: (...a) => gate(() => inner.connectStream(...a)),
    };
  };
}

describe('offline from the sale', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  async function soldAndGone() {
    p.clock.set('2026-01-01T06:00:00Z');
    const [d] = await p.register(1);
    const radio = { online: true };
    const phone = await p.agent(d!, cuttable(radio));
    const sale = await p.sell(d!);
    expect(await phone.agent.sync()).toMatchObject({ status: 'synced', enrolled: true });
    radio.online = false;
    const policy = phone.agent.policy()!;
    // Sold 1 Jan, due 15 Jan, retail profile: 14 offline days from local midnight of the due date
    // in Nairobi (UTC+3), the notice a day (the profile's minimum) before.
    expect(policy.offlineLockAt).toBe('2026-01-28T21:00:00.000Z');
    expect(policy.offlineNotice).toEqual({ at: '2026-01-27T21:00:00.000Z', minHours: 24 });
    return { phone, radio, sale };
  }

  it('shows the notice on its own at the scheduled time and locks only after its minimum time', async () => {
    const { phone, radio, sale } = await soldAndGone();
    p.clock.set('2026-01-27T20:59:59.999Z');
    expect((await phone.agent.tick()).mode).toBe('normal');
    p.clock.set('2026-01-27T21:00:00Z');
    const notice = await phone.agent.tick();
    expect(notice).toMatchObject({ mode: 'notice', offlineNotice: { lockAt: '2026-01-28T21:00:00.000Z' }, noticeUntil: '2026-01-28T21:00:00.000Z' });
    expect(notice.lender?.name).toBe('Jamii Finance');
    p.clock.set('2026-01-28T20:59:59.999Z');
    expect((await phone.agent.tick()).mode).toBe('notice');
    p.clock.set('2026-01-28T21:00:00Z');
    expect((await phone.agent.tick()).mode).toBe('locked');
    // Back online: the server hears when the notice was shown and the lock that followed it.
    radio.online = true;
    await phone.agent.sync();
    const events = await p.events(sale.deviceId);
    expect(events.find((e) => e.kind === 'offline_notice_shown')?.detail).toMatchObject({ lockAt: '2026-01-28T21:00:00.000Z' });
    expect(events.find((e) => e.kind === 'lock_shown')?.detail).toMatchObject({ cause: 'offline' });
  });

  it('switched off through the notice period: the notice shows first at power-on, the lock a full day later', async () => {
    const { phone } = await soldAndGone();
    // The phone is next switched on after its offline deadline has passed.
    p.clock.set('2026-01-30T09:00:00Z');
    expect(await phone.agent.tick()).toMatchObject({ mode: 'notice', offlineNotice: { lockAt: '2026-01-31T09:00:00.000Z' } });
    p.clock.set('2026-01-31T08:59:59Z');
    expect((await phone.agent.tick()).mode).toBe('notice');
    // A reboot (or a factory reset) does not restart the notice's clock.
    await phone.agent.factoryReset();
    p.clock.set('2026-01-31T09:00:00Z');
    expect((await phone.agent.tick()).mode).toBe('locked');
  });
});
