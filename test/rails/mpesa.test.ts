/**
 * M-Pesa Daraja C2B through the real server on a loopback port, with Safaricom's documented
 * callback bodies (test/fixtures/rails/): validation accepts and rejects with each code;
 * confirmation posts, unlocks and nudges the phone over its stream; a repeated TransID posts
 * once; an unknown account goes to suspense and, assigned, unlocks. Register URL talks to a local
 * server speaking Daraja's OAuth and Register URL shapes.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceAgent } from '../../src/agent/agent.ts';
import { formatDarajaTime } from '../../src/domain/rails.ts';
import { registerC2BUrls } from '../../src/services/rails/mpesa.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { fixture, local, lockStreaming, post, streamingAgent, until } from './fixtures.ts';

let trans = 0;
const transId = () => `SGH${String(++trans).padStart(7, '0')}`;

describe('M-Pesa C2B', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z', { config: { webhookAllowHosts: ['127.0.0.1'] } });
  let channel: { id: string; callbackUrls: { validation: string; confirmation: string } };
  let lockRef: string;
  let contractId: string;
  let deviceId: string;
  let agent: DeviceAgent;
  let imei: string;
  let ownRef: string;
  let published: { validation: string; confirmation: string };
  let second: { contractId: string; agent: DeviceAgent };
  const c2b = (file: string, v: { ref: string; amount: string; id?: string; at?: Date }) =>
    fixture(file, { TRANS_ID: v.id ?? transId(), TRANS_TIME: formatDarajaTime(v.at ?? p.clock.now()), AMOUNT: v.amount, BILL_REF: v.ref });

  beforeAll(async () => {
    await p.start();
    const r = await p.api('POST', '/v1/payment-channels', {
      channel: 'mpesa',
      type: 'mpesa_c2b',
      // The test clock jumps three weeks to reach a lock; a shorter window would make the feed
      // stale and hold the lock (guardrail 3), which is this channel's freshness at work.
      freshnessMinutes: 44_640,
      account: { shortCode: '600638' },
      secrets: { consumerKey: 'ck_test_Gk3v9QpXz2', consumerSecret: 'cs_test_pL8sD4fH1j' },
    });
    expect(r.status).toBe(201);
    channel = r.body;
    published = channel.callbackUrls;
    channel = { ...channel, callbackUrls: { validation: local(p, channel.callbackUrls.validation), confirmation: local(p, channel.callbackUrls.confirmation) } };
    const [d, d2] = await p.register(2);
    const sale = await p.sell(d!);
    ({ contractId, deviceId } = sale);
    lockRef = sale.lockReference;
    imei = d!.imei;
    ownRef = d!.serial;
    second = { ...(await p.sell(d2!)), agent: await streamingAgent(p, d2!) };
    agent = await streamingAgent(p, d!);
    await lockStreaming(p, [agent, second.agent]);
    expect(agent.view().mode).toBe('locked');
    expect(second.agent.view().mode).toBe('locked');
  }, 180_000);
  afterAll(async () => {
    agent?.stop();
    second?.agent.stop();
    await p.stop();
  });

  it('returns unguessable callback URLs and keeps the secrets sealed', async () => {
    expect(channel.callbackUrls.validation).toMatch(new RegExp(`/rails/c2b/${channel.id}/[0-9a-f]{32}/validation$`));
    expect(channel.callbackUrls.confirmation).toMatch(/\/confirmation$/);
    // Safaricom refuses callback URLs with these words in them.
    expect(channel.callbackUrls.confirmation).not.toMatch(/mpesa|m-pesa|safaricom|exe|cmd|sql|query/i);
    const listed = await p.api('GET', '/v1/payment-channels');
    expect(listed.body.items.find((c: { id: string }) => c.id === channel.id).secretsSet).toEqual(['consumerKey', 'consumerSecret']);
    expect(JSON.stringify(listed.body)).not.toContain('cs_test_pL8sD4fH1j');
    const row = await p.lien.services.db.selectFrom('payment_channels').select('secrets_enc').where('id', '=', channel.id).executeTakeFirstOrThrow();
    expect(row.secrets_enc!.toString('latin1')).not.toContain('cs_test');
    // Another token, or another channel's id with this token: nothing there.
    const wrong = channel.callbackUrls.validation.replace(/\/[0-9a-f]{32}\//, '/0123456789abcdef0123456789abcdef/');
    expect((await post(wrong, c2b('daraja-c2b-validation.json', { ref: lockRef, amount: '100.00' }))).status).toBe(404);
  });

  it('validation accepts an open contract by lock reference, IMEI or own reference, case and spaces ignored', async () => {
    const spaced = `${lockRef.slice(0, 4).toLowerCase()} ${lockRef.slice(4)}`;
    const ok = await post(channel.callbackUrls.validation, c2b('daraja-c2b-validation.json', { ref: spaced, amount: '1500.00' }));
    expect(ok).toEqual({ status: 200, body: { ResultCode: '0', ResultDesc: 'Accepted' } });
    for (const ref of [imei, ` ${ownRef.toLowerCase()} `]) {
      const r = await post(channel.callbackUrls.validation, c2b('daraja-c2b-validation.json', { ref, amount: '1500.00' }));
      expect(r.body).toEqual({ ResultCode: '0', ResultDesc: 'Accepted' });
    }
  });

  it('validation rejects with C2B00012, C2B00013 and C2B00016', async () => {
    const unknown = await post(channel.callbackUrls.validation, c2b('daraja-c2b-validation.json', { ref: 'NOSUCHREF', amount: '1500.00' }));
    expect(unknown.body).toEqual({ ResultCode: 'C2B00012', ResultDesc: 'Rejected' });
    const zero = await post(channel.callbackUrls.validation, c2b('daraja-c2b-validation.json', { ref: lockRef, amount: '0.00' }));
    expect(zero.body).toEqual({ ResultCode: 'C2B00013', ResultDesc: 'Rejected' });
    const otherPaybill = c2b('daraja-c2b-validation.json', { ref: lockRef, amount: '10.00' }).replace('"600638"', '"174379"');
    expect((await post(channel.callbackUrls.validation, otherPaybill)).body).toEqual({ ResultCode: 'C2B00016', ResultDesc: 'Rejected' });
    const garbage = await post(channel.callbackUrls.validation, '{"TransID": 5}');
    expect(garbage.body).toEqual({ ResultCode: 'C2B00016', ResultDesc: 'Rejected' });
  });

  it('confirmation posts the payment, unlocks the contract and nudges the phone over its stream', async () => {
    await until('stream open', () => agent.streamOpen());
    const id = transId();
    const r = await post(channel.callbackUrls.confirmation, c2b('daraja-c2b-confirmation.json', { ref: lockRef, amount: '10000.00', id, at: new Date('2026-01-22T20:00:00Z') }));
    expect(r).toEqual({ status: 200, body: { ResultCode: 0, ResultDesc: 'Success' } });
    // No sync by the test: only the nudge over the stream can bring the phone to normal.
    await until('phone normal', () => agent.view().mode === 'normal');
    const pay = await p.lien.services.db.selectFrom('payments').selectAll().where('external_ref', '=', id).executeTakeFirstOrThrow();
    expect(pay).toMatchObject({ contract_id: contractId, amount: 10000_00, currency: 'KES', channel: 'mpesa' });
    // TransTime is East Africa Time: 23:00 EAT is 20:00 UTC.
    expect(pay.received_at.toISOString()).toBe('2026-01-22T20:00:00.000Z');
    const policy = await p.lien.services.db.selectFrom('policies').select('stage').where('device_id', '=', deviceId).orderBy('version', 'desc').executeTakeFirstOrThrow();
    expect(policy.stage).not.toBe('locked');
  });

  it('the same TransID twice posts one payment and answers Success both times', async () => {
    const id = transId();
    const body = c2b('daraja-c2b-confirmation.json', { ref: lockRef, amount: '50.00', id });
    const [a, b] = await Promise.all([post(channel.callbackUrls.confirmation, body), post(channel.callbackUrls.confirmation, body)]);
    const c = await post(channel.callbackUrls.confirmation, body);
    for (const r of [a, b, c]) expect(r.body).toEqual({ ResultCode: 0, ResultDesc: 'Success' });
    const rows = await p.lien.services.db.selectFrom('payments').select('id').where('external_ref', '=', id).execute();
    expect(rows).toHaveLength(1);
  });

  it('a payment to an unknown account goes to suspense, and assigned, is allocated and unlocks the phone', async () => {
    const { agent: a2, contractId: secondContract } = second;
    {
      const id = transId();
      const r = await post(channel.callbackUrls.confirmation, c2b('daraja-c2b-confirmation.json', { ref: 'ACC 4471', amount: '10000.00', id }));
      expect(r.body).toEqual({ ResultCode: 0, ResultDesc: 'Success' });
      const queue = await p.api('GET', '/v1/suspense?status=open');
      const item = queue.body.items.find((i: { externalRef: string }) => i.externalRef === id);
      expect(item).toMatchObject({ reason: 'unknown_reference', amount: 10000_00, currency: 'KES', reference: 'ACC 4471', payload: { TransID: id, BillRefNumber: 'ACC 4471' } });
      const audit = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', item.id).execute();
      expect(audit.map((x) => x.action)).toEqual(['payment.suspended']);

      await until('stream open', () => a2.streamOpen());
      const assigned = await p.api('POST', `/v1/suspense/${item.id}/assign`, { contractId: secondContract, note: 'Borrower typed the shop account number' });
      expect(assigned.status).toBe(201);
      await until('phone normal', () => a2.view().mode === 'normal');
      const again = await p.api('POST', `/v1/suspense/${item.id}/assign`, { contractId: secondContract, note: 'twice' });
      expect(again.status).toBe(409);
      const audit2 = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', item.id).orderBy('seq').execute();
      expect(audit2.map((x) => x.action)).toEqual(['payment.suspended', 'suspense.assigned']);
    }
  }, 60_000);

  it('a source-address allowlist keeps other addresses out', async () => {
    const body = c2b('daraja-c2b-validation.json', { ref: lockRef, amount: '10.00' });
    expect((await p.api('PATCH', `/v1/payment-channels/${channel.id}`, { options: { allowFrom: ['196.201.214.0/24'] } })).status).toBe(200);
    expect((await post(channel.callbackUrls.validation, body)).status).toBe(403);
    expect((await p.api('PATCH', `/v1/payment-channels/${channel.id}`, { options: { allowFrom: ['196.201.214.0/24', '127.0.0.1'] } })).status).toBe(200);
    expect((await post(channel.callbackUrls.validation, body)).status).toBe(200);
  });

  describe('Register URL', () => {
    let daraja: Server;
    const seen: { method: string; url: string; auth: string; body: string }[] = [];
    beforeAll(async () => {
      daraja = createServer(async (req: IncomingMessage, res) => {
        let body = '';
        for await (const c of req) body += c;
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/oauth/v1/generate?grant_type=client_credentials') {
          const ok = req.headers.authorization === `Basic ${Buffer.from('ck_test_Gk3v9QpXz2:cs_test_pL8sD4fH1j').toString('base64')}`;
          res.statusCode = ok ? 200 : 400;
          return res.end(ok ? fixture('daraja-oauth.json') : JSON.stringify({ errorCode: '400.008.01', errorMessage: 'Invalid Authentication passed' }));
        }
        if (req.url === '/mpesa/c2b/v2/registerurl' && req.headers.authorization === 'Bearer c9SQxWWhmdVRlyh0zh8gZDTkubVF') {
          return res.end(fixture('daraja-register-url.json'));
        }
        res.statusCode = 401;
        res.end(JSON.stringify({ requestId: '1', errorCode: '404.001.03', errorMessage: 'Invalid Access Token' }));
      });
      await new Promise<void>((r) => daraja.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => daraja.close(() => r())));

    it('gets an OAuth token with the consumer key and secret, then registers both URLs', async () => {
      const base = `http://127.0.0.1:${(daraja.address() as AddressInfo).port}`;
      expect((await p.api('PATCH', `/v1/payment-channels/${channel.id}`, { options: { baseUrl: base } })).status).toBe(200);
      const actor = { kind: 'operator' as const, id: 'cli', lenderId: null };
      const res = await registerC2BUrls(p.lien.services, actor, channel.id);
      expect(res.response).toEqual(JSON.parse(fixture('daraja-register-url.json')));
      expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual(['GET /oauth/v1/generate?grant_type=client_credentials', 'POST /mpesa/c2b/v2/registerurl']);
      expect(JSON.parse(seen[1]!.body)).toEqual({ ShortCode: '600638', ResponseType: 'Completed', ConfirmationURL: published.confirmation, ValidationURL: published.validation });
    });

    it('says so when Daraja refuses the credentials', async () => {
      await p.api('PATCH', `/v1/payment-channels/${channel.id}`, { secrets: { consumerSecret: 'wrong_secret_1234' } });
      await expect(registerC2BUrls(p.lien.services, { kind: 'operator', id: 'cli', lenderId: null }, channel.id)).rejects.toThrow(/refused the consumer key/);
    });
  });
});
