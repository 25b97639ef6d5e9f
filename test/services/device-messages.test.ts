/**
 * The lender note on a phone's screen (issue #15): the use case validates its input, writes the
 * audit entry and the history row, issues a new signed policy carrying the note, and that policy
 * nudges the phone at commit; the phone words the note in the borrower's language.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryState } from '../../src/services/notifications.ts';
import { describeScreen, lineText } from '../../src/agent/sim/screen-model.ts';
import { checkNote } from '../../src/services/device-messages.ts';
import { commit, NUDGE_CHANNEL, nudgedDevices } from '../../src/services/unit-of-work.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { addUser, ConsoleClient, flashOf } from '../console/helpers.ts';

describe('checkNote', () => {
  const at = new Date('2026-03-01T08:00:00Z');
  it('keeps what each template needs and refuses the rest in words', () => {
    expect(checkNote({ template: 'pay_by', params: { amount: 250000, date: '2026-03-05' } }, 'msg_1', at)).toEqual({
      id: 'msg_1',
      template: 'pay_by',
      params: { amount: 250000, date: '2026-03-05' },
      sentAt: '2026-03-01T08:00:00.000Z',
    });
    expect(() => checkNote({ template: 'pay_by', params: { amount: 1 } }, 'm', at)).toThrow(/params.date/);
    expect(() => checkNote({ template: 'shout' }, 'm', at)).toThrow(/template must be one of/);
    expect(() => checkNote({ template: 'call_us', params: { amount: -1 } }, 'm', at)).toThrow(/minor units/);
    expect(() => checkNote({ template: 'call_us', params: { date: '2026-02-30' } }, 'm', at)).toThrow(/YYYY-MM-DD/);
    expect(() => checkNote({ template: 'call_us', texts: { default: 'x' } }, 'm', at)).toThrow(/only to the custom template/);
    expect(() => checkNote({ template: 'custom', texts: { sw: 'Njoo' } }, 'm', at)).toThrow(/texts.default/);
    expect(() => checkNote({ template: 'custom', texts: { default: 'x', xx: 'y' } }, 'm', at)).toThrow(/not a borrower language/);
    expect(() => checkNote({ template: 'custom', texts: { default: 'x'.repeat(301) } }, 'm', at)).toThrow(/longer than 300/);
    expect(checkNote({ template: 'custom', texts: { default: ' Come ', hi: '' } }, 'm', at).texts).toEqual({ default: 'Come' });
  });
});

describe('sendDeviceMessage through the API', () => {
  const p = new TestPlatform();
  const heard: string[] = [];
  let unlisten: (() => Promise<void>) | null = null;
  beforeAll(async () => {
    await p.start();
    unlisten = await p.lien.services.database.listen(NUDGE_CHANNEL, (payload) => heard.push(...nudgedDevices(payload)));
  }, 60_000);
  afterAll(async () => {
    await unlisten?.();
    await p.stop();
  });

  it('audits, issues a policy carrying the note, nudges the phone, and the phone shows it in its language', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const phone = await p.agent(d!);
    await phone.agent.sync();
    const before = phone.agent.policy()!.version;

    const r = await p.api('POST', `/v1/devices/${sale.deviceId}/messages`, { template: 'pay_by', params: { amount: 250000, date: '2026-01-20' } });
    expect(r.status).toBe(201);
    expect(r.body.policyVersion).toBe(before + 1);
    const db = p.lien.services.db;
    const audit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'device.message_sent').where('subject_id', '=', sale.deviceId).executeTakeFirstOrThrow();
    expect(audit.data).toMatchObject({ messageId: r.body.id, template: 'pay_by', policyVersion: before + 1 });
    const stored = await db.selectFrom('policies').select(['version', 'body']).where('device_id', '=', sale.deviceId).orderBy('version', 'desc').executeTakeFirstOrThrow();
    expect(stored.version).toBe(before + 1);
    expect((stored.body as { policy: { note: unknown } }).policy.note).toEqual(r.body.note);
    // Notifications arrive in commit order: once a marker sent after the use case is heard, its nudge was too.
    await p.lien.services.database.notify(NUDGE_CHANNEL, 'marker');
    await expect.poll(() => heard.includes('marker'), { timeout: 10_000 }).toBe(true);
    expect(heard).toContain(sale.deviceId);

    await phone.agent.sync();
    const m = describeScreen(phone.agent.view(), phone.agent.policy(), { lang: 'sw' });
    expect(lineText(m.lines.find((l) => l.id === 'note')!)).toMatch(/^Tafadhali lipa .*2,500\.00 kufikia 20 Januari 2026\.$/);

    const list = await p.api('GET', `/v1/devices/${sale.deviceId}/messages`);
    expect(list.status).toBe(200);
    expect(list.body.screen).toEqual([expect.objectContaining({ id: r.body.id, status: 'waiting_for_phone', policyVersion: before + 1 })]);
  });

  it("refuses a bad note with 400 and another lender's device with 404, issuing nothing", async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const bad = await p.api('POST', `/v1/devices/${sale.deviceId}/messages`, { template: 'pay_by', params: { amount: 5 } });
    expect(bad.status).toBe(400);
    const missing = await p.api('POST', '/v1/devices/dev_nope/messages', { template: 'call_us' });
    expect(missing.status).toBe(404);
    const count = await p.lien.services.db.selectFrom('device_messages').select((eb) => eb.fn.countAll<number>().as('n')).where('device_id', '=', sale.deviceId).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('the console: a support agent sends a custom note from the borrower-messages page and sees it with its status; a viewer cannot send', async () => {
    await addUser(p, p.lenderId, 'support', 'support-msg@jamii.example');
    await addUser(p, p.lenderId, 'viewer', 'viewer-msg@jamii.example');
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const c = new ConsoleClient(p.url);
    expect((await c.signIn('support-msg@jamii.example')).status).toBe(303);
    const device = await c.get(`/console/devices/${sale.deviceId}`);
    expect(device.body).toContain(`/console/devices/${sale.deviceId}/messages`);
    const page = await c.get(`/console/devices/${sale.deviceId}/messages`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-testid="message-form"');
    // An SMS to the borrower, listed on the page with its delivery status.
    await commit(p.lien.services, { kind: 'system', id: 'test', lenderId: null }, (_tx, fx) => fx.notify({ contractId: sale.contractId, kind: 'lender_message', params: { message: 'Our shop is open on Sunday.' } }));
    const sent = await c.post(`/console/devices/${sale.deviceId}/messages`, { template: 'custom', 'text.default': 'Our shop is open on Sunday.', 'text.sw': 'Duka liko wazi Jumapili.', amount: '', date: '' });
    const after = await c.follow(sent);
    expect(flashOf(after.body)).toMatch(/Note sent/);
    expect(after.body).toMatch(/Our shop is open on Sunday\.[\s\S]*?data-status="waiting_for_phone"/);
    const sms = await p.lien.services.db.selectFrom('notifications').selectAll().where('contract_id', '=', sale.contractId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    expect(sms.length).toBeGreaterThan(0);
    expect(after.body).toContain(`data-status="${deliveryState(sms[0]!).state}"`);
    const bad = await c.follow(await c.post(`/console/devices/${sale.deviceId}/messages`, { template: 'pay_by', amount: '25', date: '' }));
    expect(flashOf(bad.body)).toMatch(/params.date/);

    const v = new ConsoleClient(p.url);
    expect((await v.signIn('viewer-msg@jamii.example')).status).toBe(303);
    const viewerPage = await v.get(`/console/devices/${sale.deviceId}/messages`);
    expect(viewerPage.status).toBe(200);
    expect(viewerPage.body).not.toContain('data-testid="message-form"');
    expect((await v.post(`/console/devices/${sale.deviceId}/messages`, { template: 'call_us' })).status).toBe(403);
  });
});
