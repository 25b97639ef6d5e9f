/**
 * A phone the demo fleet runs, opened in the emulator, is taken over from the fleet rather than
 * enrolled a second time (issue #15): one credential, no revoked-key check-ins, and the fleet no
 * longer drives it. The emulator index shows each phone's contract stage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { Fleet } from '../../src/agent/sim/fleet.ts';
import { PhoneHandOff } from '../../src/agent/sim/hand-off.ts';
import { TestPlatform } from '../e2e/in-process.ts';

describe('emulator and demo fleet', () => {
  const handOff = new PhoneHandOff();
  const p = new TestPlatform('2026-01-01T06:00:00Z', { phoneHandOff: handOff });
  let fleet: Fleet;
  beforeAll(() => p.start(), 60_000);
  afterAll(async () => {
    fleet?.stop();
    await p.stop();
  });

  it('opening a fleet phone hands the running phone over: no second enrollment, no refused check-ins', async () => {
    const [a, b] = await p.register(2);
    const sale = await p.sell(a!);
    await p.sell(b!);
    fleet = new Fleet({ clock: p.clock, network: () => new HttpNetwork({ baseUrl: p.url }), concurrency: 2 });
    handOff.offer((serial) => fleet.release(serial));
    await fleet.start([a!, b!].map((d) => ({ imeis: [d.imei], serial: d.serial, secret: d.secret })));
    expect(fleet.counts()).toMatchObject({ phones: 2, enrolled: 2, errors: 0 });
    const credential = async () => (await p.lien.services.db.selectFrom('devices').select('credential_version').where('id', '=', sale.deviceId).executeTakeFirstOrThrow()).credential_version;
    const before = await credential();

    const page = await fetch(`${p.url}/emulator/${encodeURIComponent(a!.serial)}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(sale.deviceId);
    expect(fleet.phones.map((ph) => ph.agent.deviceId())).not.toContain(sale.deviceId);
    expect(fleet.counts().phones).toBe(1);

    // Both go on syncing: the emulator's phone and the fleet's remaining one, each with its own credential.
    expect((await fetch(`${p.url}/emulator/${encodeURIComponent(a!.serial)}/sync`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' })).status).toBe(303);
    await fleet.syncAll();
    expect(await credential()).toBe(before);
    expect(fleet.counts().errors).toBe(0);
    const after = await fetch(`${p.url}/emulator/${encodeURIComponent(a!.serial)}`);
    expect(await after.text()).not.toMatch(/refused|failed/);
    await p.lien.gateway.idle();
    const rejected = await p.lien.services.db.selectFrom('device_events').select('kind').where('device_id', '=', sale.deviceId).where('kind', 'in', ['policy_rejected', 'key_rejected']).execute();
    expect(rejected).toEqual([]);
  });

  it('a phone nobody runs is started by the emulator as before, and the index shows every stage', async () => {
    const [c] = await p.register(1);
    const [retail] = await p.register(1, 'retail');
    await p.sell(c!);
    expect((await fetch(`${p.url}/emulator/${encodeURIComponent(c!.serial)}`)).status).toBe(200);
    const index = await (await fetch(`${p.url}/emulator`)).text();
    expect(index).toMatch(new RegExp(`data-serial="${c!.serial}"[\\s\\S]*?data-stage="current"`));
    expect(index).toMatch(new RegExp(`data-serial="${retail!.serial}"[\\s\\S]*?data-stage>not sold on credit`));
  });
});
