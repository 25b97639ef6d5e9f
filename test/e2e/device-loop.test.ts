import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { imeiCheckDigit } from '../../src/domain/imei.ts';
import { startServer, type ServerProcess } from './server-process.ts';

function imei(body14: string): string {
  return body14 + String(imeiCheckDigit(body14));
}

/** Counts the network calls an agent makes, to prove a released phone stops syncing. */
class CountingNetwork extends HttpNetwork {
  calls = 0;
  override nonce() {
    this.calls++;
    return super.nonce();
  }
  override checkin(...a: Parameters<HttpNetwork['checkin']>) {
    this.calls++;
    return super.checkin(...a);
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - start;
}

describe('device loop end to end on a real server process', () => {
  let server: ServerProcess;
  const clock = new ManualClock('2026-01-01T06:00:00Z');
  const financed = { imei: imei('35123456000001'), serial: 'SN-FIN-1', secret: randomBytes(32) };
  const retail = { imei: imei('35123456000002'), serial: 'SN-RET-1', secret: randomBytes(32) };
  let lenderKey: string;

  async function setTime(iso: string) {
    clock.set(iso);
    const r = await server.api('POST', '/v1/operator/clock', { set: iso });
    expect(r.status).toBe(200);
  }

  async function makeAgent(d: typeof financed) {
    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: d.secret, imeis: [d.imei], serial: d.serial });
    const network = new CountingNetwork({ baseUrl: server.url });
    const screen = new MemoryScreen();
    const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network, screen });
    await agent.boot();
    return { agent, network, screen };
  }

  beforeAll(async () => {
    server = await startServer({ clockStart: clock.now().toISOString() });
    const lender = await server.api('POST', '/v1/operator/lenders', {
      name: 'Jamii Finance',
      supportPhone: '+254700000111',
      supportUrl: 'https://jamii.example',
      howToPay: 'M-Pesa paybill 123456, account = your lock reference',
      currency: 'KES',
      timeZone: 'Africa/Nairobi',
      profile: 'retail-short-cycle',
      paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 60 * 24 * 365 }],
    });
    expect(lender.status).toBe(201);
    lenderKey = lender.body.apiKey;
    const csv = [
      'imei1,imei2,serial,model,factory_secret,sale_status',
      `${financed.imei},,${financed.serial},Model A,${financed.secret.toString('hex')},unsold`,
      `${retail.imei},,${retail.serial},Model A,${retail.secret.toString('hex')},retail`,
    ].join('\n');
    const m = await server.api('POST', '/v1/operator/manifests', csv, server.operatorKey, 'text/csv');
    expect(m.body).toMatchObject({ inserted: 2, errors: [] });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('locks when overdue, unlocks on payment by nudge, survives a factory reset, releases when paid off; a retail phone stays dormant', async () => {
    const sale = await server.api(
      'POST',
      '/v1/sales',
      {
        imei: financed.imei,
        borrowerRef: 'B-001',
        borrowerPhone: '+254711000222',
        schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' },
        consent: { at: '2026-01-01T06:00:00Z', channel: 'in_store_signature', termsVersion: 'v1' },
      },
      lenderKey,
    );
    expect(sale.status).toBe(201);
    const { contractId, deviceId } = sale.body;

    const phone = await makeAgent(financed);
    const first = await phone.agent.sync();
    expect(first).toMatchObject({ status: 'synced', enrolled: true });
    expect(phone.agent.view().mode).toBe('normal');

    // Due 15 Jan; retail profile: grace 1 day, notice at DPD 1 with 2 days to cure, lock at DPD 5.
    await setTime('2026-01-17T07:00:00Z');
    await server.api('POST', '/v1/operator/sweep');
    await until('notice on screen', async () => (await phone.agent.tick()).mode === 'notice');
    await phone.agent.sync(); // reports notice_shown: the cure period starts now
    await setTime('2026-01-22T07:00:00Z');
    await server.api('POST', '/v1/operator/sweep');
    await until('lock on screen', async () => (await phone.agent.tick()).mode === 'locked');
    const locked = phone.agent.view();
    expect(locked.lender?.name).toBe('Jamii Finance');
    expect(locked.lockReference).toMatch(/^[0-9A-Z]{8}$/);
    expect(phone.agent.canCall('112')).toBe(true);
    expect(phone.agent.canCall('+254700000111')).toBe(true);
    expect(phone.agent.canCall('+254799999999')).toBe(false);

    // Factory reset while locked: still locked, re-enrolls, still locked.
    expect((await phone.agent.factoryReset()).mode).toBe('locked');
    const resynced = await phone.agent.sync();
    expect(resynced, JSON.stringify(resynced)).toMatchObject({ status: 'synced', enrolled: true });
    expect(phone.agent.view().mode).toBe('locked');

    // Pay the arrears: the device unlocks through the nudge, without a check-in being due.
    const pay = await server.api('POST', '/v1/payments', { contractId, externalRef: 'MPESA-1', channel: 'mpesa', amount: 10_000_00, currency: 'KES' }, lenderKey);
    expect(pay.status).toBe(201);
    await until('unlocked by nudge', () => phone.agent.view().mode === 'normal');

    // A retail phone never financed: dormant for good.
    const shop = await makeAgent(retail);
    expect(await shop.agent.sync()).toMatchObject({ status: 'not_financed' });
    expect(shop.agent.view().mode).toBe('dormant');
    const shopCalls = shop.network.calls;
    expect(await shop.agent.sync()).toMatchObject({ status: 'inactive', reason: 'dormant' });
    expect(shop.network.calls).toBe(shopCalls);

    // Pay off: released for good, no further syncs.
    await server.api('POST', '/v1/payments', { contractId, externalRef: 'MPESA-2', channel: 'mpesa', amount: 20_000_00, currency: 'KES' }, lenderKey);
    await until('released', () => phone.agent.view().mode === 'released');
    const calls = phone.network.calls;
    expect(await phone.agent.sync()).toMatchObject({ status: 'inactive', reason: 'released' });
    expect(phone.network.calls).toBe(calls);

    const device = await server.api('GET', `/v1/devices/${deviceId}`, undefined, lenderKey);
    const kinds = device.body.events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['enrolled', 'notice_shown', 'lock_shown', 'factory_reset']));
    const audit = await server.api('GET', '/v1/audit/verify', undefined, lenderKey);
    expect(audit.body.ok).toBe(true);
    phone.agent.stop();
    shop.agent.stop();
  }, 120_000);
});
