import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestPlatform, testImei, type TestDevice } from '../e2e/in-process.ts';
import { get, postForm, resetRateLimits, testId, text } from './helpers.ts';

describe('help portal: lookup, lien check, rate limits', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let financed: TestDevice;
  let retail: TestDevice;
  let paidOff: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };

  beforeAll(async () => {
    await p.start();
    const devs = await p.register(2);
    financed = devs[0]!;
    paidOff = devs[1]!;
    retail = (await p.register(1, 'retail'))[0]!;
    sale = await p.sell(financed!, { borrowerLanguage: 'sw' });
    const paid = await p.sell(paidOff!, { schedule: { principal: 5_000_00, annualRatePct: 0, termCount: 1, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' } });
    const r = await p.api('POST', '/v1/payments', { contractId: paid.contractId, externalRef: 'MPESA-PAIDOFF', channel: 'mpesa', amount: 5_000_00, currency: 'KES' });
    expect(r.status).toBe(201);
  }, 60_000);
  afterAll(() => p.stop());
  beforeEach(() => resetRateLimits(p));

  it('redirects / to the portal, which renders with a lang attribute and a language switcher', async () => {
    const root = await get(p, '/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/portal');
    const home = await get(p, '/portal', { 'accept-language': 'es-MX,es;q=0.9' });
    expect(home.html).toMatch(/<html lang="es"/);
    expect(home.html).toContain('href="/portal?lang=hi"');
    const chosen = await get(p, '/portal?lang=hi');
    expect(chosen.html).toMatch(/<html lang="hi"/);
    expect(chosen.headers.get('set-cookie')).toMatch(/lien_lang=hi/);
    const remembered = await get(p, '/portal/lien', { cookie: 'lien_lang=id', 'accept-language': 'es' });
    expect(remembered.html).toMatch(/<html lang="id"/);
  });

  it('shows lender, amount and how to pay for a matching lock reference, in the borrower language', async () => {
    p.clock.set('2026-01-17T07:00:00Z');
    await p.operator('POST', '/v1/operator/sweep');
    const r = await postForm(p, '/portal/lookup', { imei: financed.imei, reference: sale.lockReference.toLowerCase() });
    expect(r.status).toBe(200);
    expect(r.html).toMatch(/<html lang="sw"/);
    expect(testId(r.html, 'lender-name')).toBe('Jamii Finance');
    expect(Buffer.byteLength(r.html)).toBeLessThan(30 * 1024);
    expect(r.html).not.toMatch(/portal\.[a-zA-Z]+\.[a-zA-Z]/);
    expect(testId(r.html, 'lock-reference')).toBe(sale.lockReference);
    expect(testId(r.html, 'amount-due')).toMatch(/10,000/);
    expect(testId(r.html, 'how-to-pay')).toBe('M-Pesa paybill 123456');
    expect(r.html).toContain('+254700000111');
    expect(text(r.html)).toContain('Hapana. Kurudisha mipangilio ya kiwandani');
    // The reference alone works too; an explicit language choice beats the borrower's.
    const en = await postForm(p, '/portal/lookup?lang=en', { reference: sale.lockReference });
    expect(en.html).toMatch(/<html lang="en"/);
    expect(text(en.html)).toContain('A factory reset deletes your photos');
    expect(text(en.html)).toContain('Emergency calls');
    const audit = await p.lien.services.db.selectFrom('audit_log').select(['action', 'lender_id', 'subject_id']).where('action', '=', 'portal.lookup').execute();
    expect(audit.length).toBe(2);
    expect(audit.every((a) => a.lender_id === p.lenderId && a.subject_id === sale.contractId)).toBe(true);
  });

  it('answers a wrong reference exactly like an unknown IMEI, says nothing about the borrower, and audits both', async () => {
    const wrongForKnown = await postForm(p, '/portal/lookup', { imei: financed.imei, reference: 'ZZZZ9999' });
    const unknownImei = testImei(987_654_321);
    const wrongForUnknown = await postForm(p, '/portal/lookup', { imei: unknownImei, reference: 'ZZZZ9999' });
    const otherPhonesRef = await postForm(p, '/portal/lookup', { imei: retail.imei, reference: sale.lockReference });
    for (const r of [wrongForKnown, wrongForUnknown, otherPhonesRef]) {
      expect(r.status).toBe(200);
      expect(r.html).not.toContain('Jamii');
      expect(r.html).not.toContain('10,000');
      expect(testId(r.html, 'lookup-error')).toBe('We could not find a phone with these details. Check them and try again.');
    }
    const strip = (html: string, imei: string) => html.replaceAll(imei, 'IMEI');
    expect(strip(wrongForKnown.html, financed.imei)).toBe(strip(wrongForUnknown.html, unknownImei));
    const failed = await p.lien.services.db.selectFrom('audit_log').select(['lender_id', 'data', 'actor']).where('action', '=', 'portal.lookup_failed').orderBy('seq').execute();
    expect(failed.map((f) => f.lender_id)).toEqual([p.lenderId, null, null]);
    expect(failed[0]!.actor).toMatch(/^portal:/);
  });

  it('rejects a malformed IMEI or reference with a clear message', async () => {
    const bad = await postForm(p, '/portal/lookup', { imei: '12345', reference: sale.lockReference });
    expect(bad.status).toBe(400);
    expect(testId(bad.html, 'lookup-error')).toMatch(/15 digits/);
    const badRef = await postForm(p, '/portal/lookup', { reference: 'abc' });
    expect(badRef.status).toBe(400);
    expect(testId(badRef.html, 'lookup-error')).toMatch(/8 letters and digits/);
  });

  it('throttles many IMEIs from one address with a 429 page in the chosen language and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await postForm(p, '/portal/lien', { imei: testImei(500_000 + i) })).status);
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
    const again = await postForm(p, '/portal/lookup', { reference: sale.lockReference }, { 'accept-language': 'sw' });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(again.html).toMatch(/<html lang="sw"/);
    expect(testId(again.html, 'message')).toMatch(/^Umetafuta mara nyingi mno .* Jaribu tena baada ya dakika 1[0-5]\.$/);
    expect(again.html).not.toContain('Jamii');
    const limited = await p.lien.services.db.selectFrom('audit_log').select('action').where('action', '=', 'portal.rate_limited').execute();
    expect(limited.length).toBe(2);
    // The window passes on the business clock, and the address may ask again.
    p.clock.advance(16 * 60_000);
    expect((await postForm(p, '/portal/lien', { imei: financed.imei })).status).toBe(200);
  });

  it('throttles guessing references for one IMEI even from many addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await postForm(p, '/portal/lookup', { imei: financed.imei, reference: `ABCD${String(1000 + i)}` })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses[10]).toBe(429);
    // Even the right reference waits: the IMEI's window is closed.
    expect((await postForm(p, '/portal/lookup', { imei: financed.imei, reference: sale.lockReference })).status).toBe(429);
  });

  it('lien check says lien, released or none, and nothing else', async () => {
    const check = async (imei: string) => {
      const r = await postForm(p, '/portal/lien', { imei });
      expect(r.status).toBe(200);
      expect(r.html).not.toContain('Jamii');
      expect(r.html).not.toMatch(/KES|Ksh|10,000/);
      return /data-result="([a-z]+)"/.exec(r.html)?.[1];
    };
    expect(await check(financed.imei)).toBe('lien');
    expect(await check(paidOff.imei)).toBe('released');
    expect(await check(retail.imei)).toBe('none');
    expect(await check(testImei(424_242))).toBe('none');
    const invalid = await postForm(p, '/portal/lien', { imei: '490154203237519' });
    expect(invalid.status).toBe(400);
    expect(text(invalid.html)).toContain('This is not a valid IMEI');
    const audits = await p.lien.services.db.selectFrom('audit_log').select(['lender_id', 'data']).where('action', '=', 'portal.lien_check').orderBy('seq', 'desc').limit(4).execute();
    expect(audits.map((a) => (a.data as { status: string }).status).reverse()).toEqual(['lien', 'released', 'none', 'none']);
    expect(audits.map((a) => a.lender_id).reverse()).toEqual([p.lenderId, p.lenderId, null, null]);
  });

  it('renders every page in every language with no missing key and under 30 KB', async () => {
    for (const lang of ['en', 'hi', 'sw', 'id', 'es']) {
      for (const path of ['/portal', '/portal/lookup', '/portal/claim', '/portal/claims', '/portal/lien']) {
        const r = await get(p, `${path}?lang=${lang}`);
        expect(r.status, path).toBe(200);
        expect(r.html).toMatch(new RegExp(`<html lang="${lang}"`));
        expect(r.html).not.toMatch(/portal\.[a-zA-Z]+\.[a-zA-Z]/);
        expect(r.html).not.toMatch(/\{[a-zA-Z]+\}/);
        expect(Buffer.byteLength(r.html)).toBeLessThan(30 * 1024);
        expect(r.html).not.toContain('<script');
        // Every input has a label.
        for (const [, id] of r.html.matchAll(/<input[^>]*id="([^"]+)"/g)) expect(r.html).toContain(`for="${id}"`);
      }
    }
  });
});
