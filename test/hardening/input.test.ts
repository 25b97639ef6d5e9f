/**
 * Issue #12, input findings: strings that are not text (L1), hostile portal forms (L3), 401
 * before body validation (L9), held-locks reasons (B2), ADD_TIME days in the OpenAPI document (B3).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkAuditHead } from '../../src/services/audit-head.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { addUser, ConsoleClient, flashOf } from '../console/helpers.ts';
import { postClaim, resetRateLimits, text } from '../portal/helpers.ts';

describe('issue #12: input hardening', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let d: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };

  beforeAll(async () => {
    await p.start();
    d = (await p.register(1))[0]!;
    sale = await p.sell(d);
  }, 60_000);
  afterAll(() => p.stop());
  beforeEach(() => resetRateLimits(p));

  const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${p.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${p.lenderKey}`, ...headers }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));

  describe('L1: NUL and lone surrogates are refused with a 400 naming the field', () => {
    const cases: [string, string, string, string][] = [
      ['PUT', '/v1/settings', '{"howToPay":"pay \\u0000 here"}', 'howToPay'],
      ['PUT', '/v1/settings', '{"name":"Jamii \\ud800"}', 'name'],
      ['POST', '/v1/payments', '{"contractId":"CID","externalRef":"R\\u0000","channel":"mpesa","amount":100,"currency":"KES"}', 'externalRef'],
      ['POST', '/v1/payments', '{"contractId":"CID","externalRef":"R-1","channel":"mp\\udc00esa","amount":100,"currency":"KES"}', 'channel'],
      ['POST', '/v1/webhooks', '{"url":"https://hooks.example/\\u0000","events":["payment.posted"]}', 'url'],
      ['POST', '/v1/users', '{"email":"x@example.com","name":"N\\u0000","password":"long enough password","role":"viewer"}', 'name'],
      ['POST', '/v1/devices/DID/codes', '{"type":"ADD_TIME","days":3,"reason":"why \\ud83d"}', 'reason'],
      ['POST', '/v1/sales', '{"imei":"1","borrowerRef":"b\\u0000","borrowerPhone":"+254700000000"}', 'borrowerRef'],
    ];
    it.each(cases)('%s %s %s', async (method, path, body, field) => {
      const r = await raw(method, path.replace('CID', sale.contractId).replace('DID', sale.deviceId), body.replace('CID', sale.contractId));
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_input', details: { field } });
      expect(r.body.message).toContain(field);
    });

    it('in a CSV import, naming the line', async () => {
      const csv = 'contract_id,external_ref,channel,amount,currency,received_at\n' + `${sale.contractId},R\u0000X,mpesa,10.00,KES,2026-01-02T00:00:00Z\n`;
      const r = await fetch(`${p.url}/v1/imports/payments`, { method: 'POST', headers: { authorization: `Bearer ${p.lenderKey}`, 'content-type': 'text/csv' }, body: csv });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'invalid_input', details: { field: 'body', line: 2 } });
    });

    it('on a console form, the form answers 400 naming the field', async () => {
      await addUser(p, p.lenderId, 'admin', 'nul-admin@example.com');
      const c = new ConsoleClient(p.url);
      expect((await c.signIn('nul-admin@example.com')).status).toBe(303);
      await c.get('/console/settings');
      const r = await c.post('/console/settings', { name: 'Jamii\u0000', supportPhone: '+254700000111', howToPay: 'M-Pesa' });
      expect(r.status).toBe(400);
      expect(r.body).toContain('name');
    });

    it('on the portal, urlencoded and multipart alike', async () => {
      const lookup = await fetch(`${p.url}/portal/lookup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reference=AB%00CDEFG' });
      expect(lookup.status).toBe(400);
      expect(text(await lookup.text())).toContain('"reference"');
      const claim = await postClaim(p, { reference: sale.lockReference, transactionRef: 'QK12345', amount: '10', paidOn: '2026-01-01', channel: 'other\u0000' });
      expect(claim.status).toBe(400);
      expect(text(claim.html)).toContain('"channel"');
    });
  });

  describe('L3: hostile portal requests get a 4xx page, never a 500', () => {
    const post = (path: string, body: BodyInit, contentType?: string) =>
      fetch(`${p.url}${path}`, { method: 'POST', body, ...(contentType ? { headers: { 'content-type': contentType } } : {}) }).then(async (r) => ({ status: r.status, html: await r.text() }));
    const boundary = '----lien-test-boundary';
    const part = (name: string, value: string, file?: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: image/png` : ''}\r\n\r\n${value}\r\n`;

    it('a 20 KB form', async () => {
      const r = await post('/portal/lookup', `reference=${'A'.repeat(20 * 1024)}`, 'application/x-www-form-urlencoded');
      expect(r.status).toBe(413);
    });
    it('a text/xml body', async () => {
      const r = await post('/portal/lien', '<imei>490154203237518</imei>', 'text/xml');
      expect(r.status).toBe(415);
      expect(r.html).toContain('<html');
    });
    it('broken multipart', async () => {
      const r = await post('/portal/claim', `--${boundary}\r\nContent-Disposition: form-data; name="reference"\r\n\r\nABC`, `multipart/form-data; boundary=${boundary}`);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    });
    it('two files', async () => {
      const body = part('receipt', 'x', 'a.png') + part('receipt2', 'y', 'b.png') + `--${boundary}--\r\n`;
      const r = await post('/portal/claim', body, `multipart/form-data; boundary=${boundary}`);
      expect(r.status).toBe(413);
    });
    it('20 fields', async () => {
      const body = Array.from({ length: 20 }, (_, i) => part(`f${i}`, 'v')).join('') + `--${boundary}--\r\n`;
      const r = await post('/portal/claim', body, `multipart/form-data; boundary=${boundary}`);
      expect(r.status).toBe(413);
    });
  });

  it('L9: an unauthenticated request with a bad body gets 401, not the schema details', async () => {
    for (const [method, path] of [['POST', '/v1/payments'], ['PUT', '/v1/settings'], ['POST', '/v1/operator/lenders'], ['POST', '/v1/users']] as const) {
      const none = await fetch(`${p.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: '{"nonsense":1}' });
      expect(none.status, `${method} ${path}`).toBe(401);
      const bad = await fetch(`${p.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: 'Bearer lien_lk_wrong' }, body: '{"nonsense":1}' });
      expect(bad.status, `${method} ${path}`).toBe(401);
      expect(JSON.stringify(await bad.json())).not.toContain('nonsense');
    }
    // The console sends strangers to sign in, whatever they post.
    const form = await fetch(`${p.url}/console/settings`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=%00' });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toMatch(/^\/console\/login/);
  });

  it('L6: a lender fetches its signed audit head, which checks out against the database', async () => {
    const r = await p.api('GET', '/v1/audit/head');
    expect(r.status).toBe(200);
    expect(r.body.head.chains).toEqual([expect.objectContaining({ chain: p.lenderId })]);
    const check = await checkAuditHead(p.lien.services.db, r.body, p.lien.services.keyring.publicKeys());
    expect(check).toEqual({ ok: true, problems: [] });
  });

  it('B2: held-locks lists a contract held for missing consent (no_consent)', async () => {
    const [other] = await p.register(1);
    const unconsented = await p.sell(other!, { consent: null });
    p.clock.set('2026-01-22T07:00:00Z');
    try {
      await p.operator('POST', '/v1/operator/sweep');
      const c = await p.api('GET', `/v1/contracts/${unconsented.contractId}`);
      expect(c.body.contract.stage_reason).toBe('no_consent');
      const held = await p.api('GET', '/v1/held-locks');
      expect(held.status).toBe(200);
      expect(held.body.items).toContainEqual(expect.objectContaining({ contractId: unconsented.contractId, reason: 'no_consent' }));
    } finally {
      p.clock.set('2026-01-01T06:00:00Z');
    }
  });

  it('B3: the OpenAPI maximum of ADD_TIME days is exactly what the server accepts', async () => {
    const spec = await (await fetch(`${p.url}/openapi.json`)).json();
    const ref = spec.paths['/v1/devices/{id}/codes'].post.requestBody.content['application/json'].schema;
    const body = ref.$ref ? spec.components.schemas[String(ref.$ref).split('/').pop()!] : ref;
    const max = body.properties.days.maximum as number;
    expect(max).toBeGreaterThan(0);
    const issue = (days: number) => p.api('POST', `/v1/devices/${sale.deviceId}/codes`, { type: 'ADD_TIME', days, reason: 'B3 boundary' });
    expect((await issue(max)).status).toBe(201);
    const over = await issue(max + 1);
    expect(over.status).toBe(400);
    expect(over.body.details.field ?? over.body.details.where).toBeTruthy();
  });
});
