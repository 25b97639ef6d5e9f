/**
 * Enrollment over the real server: a nonce and its proof are good once across processes (#12 M5),
 * the registry is no oracle and failed proofs are counted, not stored (#12 L8), and a phone
 * switched on before its sale is recorded keeps asking for its provisioning window (#13).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceGateway } from '../../src/services/devices.ts';
import { deriveDeviceKeys, enrollProof } from '../../src/protocol/index.ts';
import { testImei, TestPlatform, type TestDevice } from './in-process.ts';

const DAY = 86_400_000;

describe('enrollment', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  async function nonce(): Promise<string> {
    return ((await (await fetch(`${p.url}/v1/device/nonce`)).json()) as { nonce: string }).nonce;
  }

  function body(d: { imei: string; serial: string; secret: Buffer }, n: string) {
    return { imeis: [d.imei], serial: d.serial, nonce: n, proof: enrollProof(deriveDeviceKeys(d.secret).authKey, n, d.imei, d.serial), agentVersion: 'test' };
  }

  async function post(b: unknown): Promise<{ status: number; body: any }> {
    const r = await fetch(`${p.url}/v1/device/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    return { status: r.status, body: await r.json() };
  }

  it('a nonce and its proof enroll once: the same body replayed, to this process or another, is refused (#12 M5)', async () => {
    const [d] = await p.register(1);
    await p.sell(d!);
    const replayed = body(d!, await nonce());
    const first = await post(replayed);
    expect(first).toMatchObject({ status: 200, body: { status: 'enrolled' } });
    // Replayed two seconds later, to the same process…
    p.clock.advance(2000);
    expect(await post(replayed)).toEqual({ status: 401, body: expect.objectContaining({ code: 'unauthorized', details: { reason: 'nonce_used' } }) });
    // …and to a second gateway that shares nothing with the first but the database.
    const other = new DeviceGateway(p.lien.services, 10);
    await expect(other.enroll(replayed)).rejects.toMatchObject({ code: 'unauthorized', details: { reason: 'nonce_used' } });
    // The phone's own credential was not revoked by the replays: it is the first one still.
    const row = await p.lien.services.db.selectFrom('devices').select('credential_version').where('imei1', '=', d!.imei).executeTakeFirstOrThrow();
    expect(row.credential_version).toBe(1);
    await other.bookkeeping.close();
  });

  it('two processes racing with one nonce: exactly one enrolls (#12 M5)', async () => {
    const [d] = await p.register(1);
    await p.sell(d!);
    const b = body(d!, await nonce());
    const other = new DeviceGateway(p.lien.services, 10);
    const results = await Promise.allSettled([p.lien.gateway.enroll(b), other.enroll(b)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.details)).toEqual([{ reason: 'nonce_used' }]);
    await other.bookkeeping.close();
  });

  it('a bad proof for a registered phone and an unknown phone get one answer; failures are counted, not stored (#12 L8)', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const forged = { ...d!, secret: randomBytes(32) };
    const unknown: TestDevice = { imei: testImei(900_000 + Math.floor(Math.random() * 1e6)), serial: `SN-NOBODY-${randomBytes(3).toString('hex')}`, secret: randomBytes(32) };
    const badProof = await post(body(forged, await nonce()));
    const noPhone = await post(body(unknown, await nonce()));
    expect(badProof).toEqual(noPhone);
    expect(badProof).toEqual({ status: 200, body: { status: 'not_financed' } });
    // A second wrong guess, then the ledger: no row per attempt, a count on the device.
    await post(body(forged, await nonce()));
    expect((await p.events(sale.deviceId)).filter((e) => e.kind !== 'enrolled')).toEqual([]);
    const row = await p.lien.services.db.selectFrom('devices').select(['enroll_failures', 'last_enroll_failure_at', 'credential_version']).where('id', '=', sale.deviceId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ enroll_failures: 2, credential_version: 0 });
    expect(row.last_enroll_failure_at?.toISOString()).toBe(p.clock.now().toISOString());
  });

  describe('sold after first boot: the provisioning window (#13)', () => {
    it('retail → stop at once; unsold → retry with a growing interval; sold on day 3 → enrolls at the next try', async () => {
      const [retail] = await p.register(1, 'retail');
      const r = await p.agent(retail!);
      expect(await r.agent.sync()).toEqual({ status: 'not_financed' });
      expect(r.agent.isTerminal()).toBe(true);

      const [d] = await p.register(1);
      const phone = await p.agent(d!);
      const first = await phone.agent.sync();
      const start = p.clock.now().getTime();
      expect(first).toEqual({ status: 'retry', retryAt: new Date(start + 15 * 60_000).toISOString() });
      expect(phone.agent.nextCheckinAt()).toBe(new Date(start + 15 * 60_000).toISOString());
      expect(phone.agent.isTerminal()).toBe(false);
      expect(phone.agent.view().mode).toBe('normal');
      // Asked again a day later: half the time waited, twelve hours.
      p.clock.set(start + DAY);
      expect(await phone.agent.sync()).toEqual({ status: 'retry', retryAt: new Date(start + DAY + 12 * 3_600_000).toISOString() });
      // Two more days: a day apart at most.
      p.clock.set(start + 3 * DAY);
      expect(await phone.agent.sync()).toEqual({ status: 'retry', retryAt: new Date(start + 4 * DAY).toISOString() });
      // The dealer's end-of-day file records the sale on day 3; the next try enrolls the phone.
      await p.sell(d!);
      p.clock.set(start + 4 * DAY);
      expect(await phone.agent.sync()).toMatchObject({ status: 'synced', enrolled: true });
      expect(phone.agent.policy()).not.toBeNull();
      const row = await p.lien.services.db.selectFrom('devices').select('first_contact_at').where('imei1', '=', d!.imei).executeTakeFirstOrThrow();
      expect(row.first_contact_at?.getTime()).toBe(start);
    });

    it('a phone never sold within the window stops asking when it closes, for good', async () => {
      const [d] = await p.register(1);
      const phone = await p.agent(d!);
      const start = p.clock.now().getTime();
      expect(await phone.agent.sync()).toMatchObject({ status: 'retry' });
      // The last try falls on the window's end (30 days by default) …
      p.clock.set(start + 29.5 * DAY);
      expect(await phone.agent.sync()).toEqual({ status: 'retry', retryAt: new Date(start + 30 * DAY).toISOString() });
      // … where the answer is to stop: the agent goes dormant and never calls again.
      p.clock.set(start + 30 * DAY);
      expect(await phone.agent.sync()).toEqual({ status: 'not_financed' });
      expect(phone.agent.isTerminal()).toBe(true);
      expect(await phone.agent.sync()).toEqual({ status: 'inactive', reason: 'dormant' });
    });
  });
});
