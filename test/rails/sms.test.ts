/**
 * SMS through Africa's Talking and Twilio: the delivery job against local HTTP servers that speak
 * each provider's documented request and response shapes (test/fixtures/rails/), their refusals
 * and server errors included, and the delivery reports coming back through the real server,
 * updating the status the console's device page shows.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runNotificationDeliveries, type NotificationAdapter } from '../../src/jobs/notifications.ts';
import { lenderSmsAdapters } from '../../src/jobs/sms-providers.ts';
import { SYSTEM } from '../../src/services/context.ts';
import { commit } from '../../src/services/unit-of-work.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { addUser, ConsoleClient } from '../console/helpers.ts';
import { fixture, local, post } from './fixtures.ts';

const AT_KEY = 'atsk_5e1f0c9b7a3d2e4f';
const TW_SID = 'AC1c5d0a2f3b4e5f60718293a4b5c6d7e8';
const TW_TOKEN = 'a3f9c2e1b7d64f0a9e8c7b6a5d4c3b2a';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

/** A provider double: records each request and answers with what the test queued. */
class Provider {
  server!: Server;
  seen: Seen[] = [];
  answers: ((req: Seen, res: ServerResponse) => void)[] = [];
  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      const seen = { path: req.url!, headers: req.headers, form: new URLSearchParams(body) };
      this.seen.push(seen);
      const next = this.answers.shift();
      if (next) next(seen, res);
      else res.writeHead(500).end('no answer queued');
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }
  get base() {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

const json = (status: number, text: string) => (_: Seen, res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(text);

describe('SMS providers', () => {
  const p = new TestPlatform('2026-01-10T06:00:00Z', { config: { webhookAllowHosts: ['127.0.0.1'] } });
  const at = new Provider();
  const tw = new Provider();
  let contractId: string;
  let deviceId: string;
  const fallback: NotificationAdapter = { send: async () => { throw new Error('the default adapter must not be used'); } };
  const run = () => runNotificationDeliveries(p.lien.services.db, { adapter: fallback, adapterFor: lenderSmsAdapters(p.lien.services.db, p.lien.services, { timeoutMs: 500 }), clock: p.clock, random: () => 0.5 });
  const queue = () => commit(p.lien.services, SYSTEM, (_tx, fx) => fx.notify({ contractId, kind: 'reminder', params: { amount: 10_000_00, date: '2026-01-15' } }));
  const latest = () => p.lien.services.db.selectFrom('notifications').selectAll().where('contract_id', '=', contractId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();

  beforeAll(async () => {
    await Promise.all([p.start(), at.start(), tw.start()]);
    const [d] = await p.register(1);
    ({ contractId, deviceId } = await p.sell(d!));
  });
  afterAll(async () => {
    await Promise.all([at.stop(), tw.stop()]);
    await p.stop();
  });
  beforeEach(async () => {
    // Earlier messages are done with; each test looks at its own.
    await p.lien.services.db.updateTable('notifications').set({ status: 'failed', next_attempt_at: null }).where('status', 'in', ['pending', 'sending']).execute();
    at.seen = [];
    tw.seen = [];
  });

  describe("Africa's Talking", () => {
    let reportUrl: string;
    beforeAll(async () => {
      const r = await p.api('PUT', '/v1/sms-provider', { provider: { type: 'africastalking', senderId: 'JAMII', username: 'sandbox', baseUrl: at.base, secret: AT_KEY } });
      expect(r.status).toBe(200);
      expect(r.body.provider).toMatchObject({ type: 'africastalking', senderId: 'JAMII', secretSet: true });
      expect(JSON.stringify(r.body)).not.toContain(AT_KEY);
      reportUrl = local(p, r.body.provider.deliveryReportUrl);
    });

    it('sends the documented form with the apiKey header and records the messageId; a delivery report marks it delivered', async () => {
      await queue();
      at.answers.push(json(201, fixture('africastalking-send-201.json', { NUMBER: '+254711000222', MESSAGE_ID: 'ATXid_1a2b3c' })));
      expect(await run()).toMatchObject({ sent: 1 });
      const [req] = at.seen;
      expect(req!.path).toBe('/version1/messaging');
      expect(req!.headers.apikey).toBe(AT_KEY);
      expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(req!.form)).toMatchObject({ username: 'sandbox', to: '+254711000222', from: 'JAMII' });
      expect(req!.form.get('message')).toContain('Jamii Finance');
      expect(await latest()).toMatchObject({ status: 'sent', provider: 'africastalking', provider_message_id: 'ATXid_1a2b3c', delivery_status: null });

      const report = fixture('africastalking-delivery-report.txt', { MESSAGE_ID: 'ATXid_1a2b3c', STATUS: 'Success', FAILURE_REASON: '' });
      expect((await post(reportUrl, report, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(200);
      expect(await latest()).toMatchObject({ delivery_status: 'delivered' });
    });

    it('a failed delivery report keeps its reason', async () => {
      await queue();
      at.answers.push(json(201, fixture('africastalking-send-201.json', { NUMBER: '+254711000222', MESSAGE_ID: 'ATXid_4d5e6f' })));
      await run();
      const report = fixture('africastalking-delivery-report.txt', { MESSAGE_ID: 'ATXid_4d5e6f', STATUS: 'Failed', FAILURE_REASON: 'UserInBlacklist' });
      await post(reportUrl, report, { 'content-type': 'application/x-www-form-urlencoded' });
      expect(await latest()).toMatchObject({ delivery_status: 'failed', delivery_detail: 'Failed: UserInBlacklist' });
      // A report on a wrong token is not taken.
      const wrong = reportUrl.replace(/\/[0-9a-f]{32}\//, '/00000000000000000000000000000000/');
      expect((await post(wrong, report, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(404);
    });

    it('a recipient refused (statusCode 403 InvalidPhoneNumber) fails at once, with the number masked', async () => {
      await queue();
      at.answers.push(json(201, fixture('africastalking-send-rejected.json', { NUMBER: '+254711000222' })));
      expect(await run()).toMatchObject({ failed: 1 });
      const n = await latest();
      expect(n.status).toBe('failed');
      expect(n.last_error).toContain('InvalidPhoneNumber (statusCode 403)');
      expect(n.last_error).not.toContain('711000222');
    });

    it('retries with backoff after a 5xx and after a timeout, then sends', async () => {
      await queue();
      at.answers.push(json(500, '{"error":"Internal Server Error"}'));
      expect(await run()).toMatchObject({ retrying: 1 });
      const first = await latest();
      expect(first).toMatchObject({ status: 'pending', attempts: 1 });
      expect(first.next_attempt_at!.getTime() - p.clock.now().getTime()).toBe(30_000);
      expect(await run()).toMatchObject({ claimed: 0 }); // not due yet
      p.clock.advance(30_000);
      at.answers.push(() => undefined); // never answers: the 500 ms timeout of this test
      expect(await run()).toMatchObject({ retrying: 1 });
      expect((await latest()).last_error).toMatch(/no answer/);
      p.clock.advance(120_000);
      at.answers.push(json(201, fixture('africastalking-send-201.json', { NUMBER: '+254711000222', MESSAGE_ID: 'ATXid_retry' })));
      expect(await run()).toMatchObject({ sent: 1 });
      expect(await latest()).toMatchObject({ status: 'sent', attempts: 3, provider_message_id: 'ATXid_retry' });
    });

    it('an HTTP 401 (wrong API key) fails at once', async () => {
      await queue();
      at.answers.push((_, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end('The supplied authentication is invalid'));
      expect(await run()).toMatchObject({ failed: 1 });
      expect((await latest()).last_error).toContain('HTTP 401');
    });
  });

  describe('Twilio', () => {
    let callback: string;
    beforeAll(async () => {
      const r = await p.api('PUT', '/v1/sms-provider', { provider: { type: 'twilio', senderId: '+15017122661', accountSid: TW_SID, baseUrl: tw.base, secret: TW_TOKEN } });
      expect(r.status).toBe(200);
      callback = r.body.provider.deliveryReportUrl;
    });
    const sign = (url: string, form: URLSearchParams) =>
      createHmac('sha1', TW_TOKEN).update(url + [...form.keys()].sort().map((k) => k + form.get(k)).join('')).digest('base64');

    it('posts To, From, Body and StatusCallback with Basic auth; a signed status callback marks it delivered', async () => {
      await queue();
      tw.answers.push((req, res) =>
        json(201, fixture('twilio-message-201.json', { ACCOUNT_SID: TW_SID, MESSAGE_SID: 'SM1f0e2d3c4b5a69788796a5b4c3d2e1f0', BODY: 'x', FROM: '+15017122661', TO: req.form.get('To')! }))(req, res),
      );
      expect(await run()).toMatchObject({ sent: 1 });
      const [req] = tw.seen;
      expect(req!.path).toBe(`/2010-04-01/Accounts/${TW_SID}/Messages.json`);
      expect(req!.headers.authorization).toBe(`Basic ${Buffer.from(`${TW_SID}:${TW_TOKEN}`).toString('base64')}`);
      expect(Object.fromEntries(req!.form)).toMatchObject({ To: '+254711000222', From: '+15017122661', StatusCallback: callback });
      expect(await latest()).toMatchObject({ status: 'sent', provider: 'twilio', provider_message_id: 'SM1f0e2d3c4b5a69788796a5b4c3d2e1f0' });

      const form = new URLSearchParams(fixture('twilio-status-callback.txt', { ACCOUNT_SID: TW_SID, MESSAGE_SID: 'SM1f0e2d3c4b5a69788796a5b4c3d2e1f0', STATUS: 'delivered', ERROR_FIELDS: '' }));
      const forged = await post(local(p, callback), form.toString(), { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(callback, new URLSearchParams({ ...Object.fromEntries(form), MessageStatus: 'failed' })) });
      expect(forged.status).toBe(401);
      expect(await latest()).toMatchObject({ delivery_status: null });
      const signed = await post(local(p, callback), form.toString(), { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(callback, form) });
      expect(signed.status).toBe(204);
      expect(await latest()).toMatchObject({ delivery_status: 'delivered' });
    });

    it('an undelivered callback records Twilio’s error code', async () => {
      await queue();
      tw.answers.push(json(201, fixture('twilio-message-201.json', { ACCOUNT_SID: TW_SID, MESSAGE_SID: 'SM00000000000000000000000000000002', BODY: 'x', FROM: '+15017122661', TO: '+254711000222' })));
      await run();
      const form = new URLSearchParams(fixture('twilio-status-callback.txt', { ACCOUNT_SID: TW_SID, MESSAGE_SID: 'SM00000000000000000000000000000002', STATUS: 'undelivered', ERROR_FIELDS: '&ErrorCode=30003' }));
      expect((await post(local(p, callback), form.toString(), { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(callback, form) })).status).toBe(204);
      expect(await latest()).toMatchObject({ delivery_status: 'failed', delivery_detail: 'undelivered (Twilio error 30003)' });
    });

    it('a 400 with Twilio error 21211 fails at once with the code; a 503 is retried', async () => {
      await queue();
      tw.answers.push(json(400, fixture('twilio-error-400.json')));
      expect(await run()).toMatchObject({ failed: 1 });
      expect((await latest()).last_error).toMatch(/HTTP 400: error 21211/);
      await queue();
      tw.answers.push(json(503, '{"code":20503,"message":"Service unavailable","status":503}'));
      expect(await run()).toMatchObject({ retrying: 1 });
    });
  });

  it("the console's device page shows each message's delivery status and reason", async () => {
    await queue();
    await addUser(p, p.lenderId, 'admin', 'sms-admin@jamii.example');
    const c = new ConsoleClient(p.url);
    await c.follow(await c.signIn('sms-admin@jamii.example'));
    const page = await c.get(`/console/devices/${deviceId}`);
    expect(page.status).toBe(200);
    const states = [...page.body.matchAll(/<tr data-state="(\w+)"/g)].map((m) => m[1]);
    expect(states).toEqual(expect.arrayContaining(['delivered', 'failed', 'queued']));
    expect(page.body).toContain('Failed: UserInBlacklist');
    expect(page.body).toContain('undelivered (Twilio error 30003)');
  });
});
