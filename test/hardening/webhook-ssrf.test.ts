/**
 * Issue #12 M1: webhooks go to public addresses only — refused at registration, checked again at
 * delivery after DNS resolution with the connection made to the checked address; an operator
 * allows named on-premises receivers; the log shows status codes, never response bodies; the
 * signature scheme is documented with a working verification example.
 */
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.ts';
import { runWebhookDeliveries } from '../../src/jobs/webhooks.ts';
import { checkWebhookTarget, forbiddenAddress, PUBLIC_ONLY, type Lookup } from '../../src/services/outbound.ts';
import { createWebhook, listDeliveries, signWebhook } from '../../src/services/webhooks.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { startReceiver, type Receiver } from '../jobs/fixtures.ts';

describe('issue #12 M1: webhook targets', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  const refusedUrls = [
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://192.168.0.1/hook',
    'http://172.16.0.1/hook',
    'http://100.64.0.1/hook',
    'http://[fd00::1]/hook',
    'http://[fd00:ec2::254]/hook',
    'http://0.0.0.0/hook',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://2130706433/hook', // 127.0.0.1 in decimal
    'http://0x7f000001/hook', // in hex
    'http://0x7f.1/hook',
    'http://127.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:a9fe:a9fe]/hook', // 169.254.169.254, mapped
    'http://localhost:8080/hook',
    'http://anything.localhost/hook',
  ];

  it.each(refusedUrls)('M1: registration refuses %s', async (url) => {
    const r = await p.api('POST', '/v1/webhooks', { url, events: ['payment.posted'] });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.details.field).toBe('url');
    expect(r.body.message).toMatch(/private or internal address/);
  });

  it('M1: registration accepts public addresses and names that do not resolve yet', async () => {
    for (const url of ['https://8.8.8.8/hook', 'https://hooks.lender-not-yet-live.example/lien', 'https://[2606:4700:4700::1111]/x']) {
      expect((await p.api('POST', '/v1/webhooks', { url, events: ['payment.posted'] })).status, url).toBe(201);
    }
  });

  it('M1: a name that resolves to a private address is refused at registration', async () => {
    const lookup: Lookup = async () => [{ address: '8.8.8.8', family: 4 }, { address: '10.1.2.3', family: 4 }];
    await expect(checkWebhookTarget(new URL('https://mixed.example/h'), PUBLIC_ONLY, lookup)).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'url' } });
    expect(forbiddenAddress('8.8.8.8')).toBeNull();
    expect(forbiddenAddress('2606:4700:4700::1111')).toBeNull();
  });
});

describe('issue #12 M1: deliveries', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let receiver: Receiver;
  beforeAll(async () => {
    await p.start();
    receiver = await startReceiver(() => ({ status: 500, body: 'root:x:0:0 internal page of the receiver host' }));
  }, 60_000);
  afterAll(async () => {
    await receiver.close();
    await p.stop();
  });

  const port = () => new URL(receiver.url).port;
  /** DNS as an attacker who controls rebind.example has it: public at registration, loopback later. */
  const rebound: Lookup = async (host) => (host === 'rebind.example' ? [{ address: '127.0.0.1', family: 4 }] : []);
  const actor = () => ({ kind: 'api_key' as const, id: 'key_test', lenderId: p.lenderId });
  const deliver = (allowHosts: string[] = []) =>
    runWebhookDeliveries(p.lien.services.db, { masterKey: p.lien.services.masterKey, clock: p.clock, outbound: { allowHosts }, lookup: rebound });

  it('M1: a name re-pointed at loopback after registration is refused at delivery; nothing reaches it', async () => {
    const hook = await createWebhook(p.lien.services, actor(), { url: `http://rebind.example:${port()}/hook`, events: ['payment.posted'] });
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'M1-1', channel: 'mpesa', amount: 100, currency: 'KES' });
    const stats = await deliver();
    expect(stats).toMatchObject({ claimed: 1, retrying: 1 });
    expect(receiver.requests).toHaveLength(0);
    const [log] = (await listDeliveries(p.lien.services.db, p.lenderId, { webhookId: hook.id })).items;
    expect(log!.lastError).toMatch(/^refused: .*127\.0\.0\.1/);
  });

  it('M1: an operator-allowed name is delivered to, connecting to the address that was checked; the log shows the status, not the body', async () => {
    // System DNS knows no rebind.example: the request can only have gone where the checked lookup said.
    p.clock.advance(3_600_000);
    const stats = await deliver(['rebind.example']);
    expect(stats.claimed).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.headers.host).toBe(`rebind.example:${port()}`);
    const list = await p.api('GET', '/v1/webhooks/deliveries');
    const entry = list.body.items.find((i: { lastStatusCode: number | null }) => i.lastStatusCode === 500);
    expect(entry).toMatchObject({ lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(JSON.stringify(list.body)).not.toContain('internal page');
  });
});

describe('issue #12 M1: the signature scheme is documented', () => {
  it('M1: the verification example in docs/webhooks.md accepts a real signature and refuses a tampered body or an old timestamp', () => {
    const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
    expect(doc).toContain('t=<unix seconds>,v1=<hex HMAC-SHA256>');
    const code = /```js\n([\s\S]*?)```/.exec(doc)![1]!;
    const verify = new Function('require', `${code}\nreturn verifyLienSignature;`)((m: string) => (m === 'node:crypto' ? crypto : null)) as (secret: string, header: string, body: string, now: number) => boolean;
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.posted', data: { amount: 150000 } });
    const now = 1_767_225_600;
    const header = signWebhook('whsec_doc', now, body);
    expect(verify('whsec_doc', header, body, now)).toBe(true);
    expect(verify('whsec_doc', header, body.replace('150000', '950000'), now)).toBe(false);
    expect(verify('whsec_doc', header, body, now + 301)).toBe(false);
    expect(verify('whsec_other', header, body, now)).toBe(false);
  });
});
