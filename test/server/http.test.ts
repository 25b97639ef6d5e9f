import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';

describe('HTTP: compression, static assets, security headers', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start());
  afterAll(() => p.stop());

  const get = (url: string, headers: Record<string, string> = {}) => p.lien.app.inject({ method: 'GET', url, headers });

  it('compresses HTML, JSON and the OpenAPI document with brotli or gzip when asked, and not when not', async () => {
    const plain = await get('/openapi.json');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const doc = plain.body;
    expect(doc.length).toBeGreaterThan(10_000);

    const br = await get('/openapi.json', { 'accept-encoding': 'br, gzip' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(doc);
    expect(br.rawPayload.length).toBeLessThan(doc.length / 4);

    const gz = await get('/openapi.json', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(doc);

    for (const url of ['/docs/api', '/portal', '/console/login']) {
      const page = await get(url, { 'accept-encoding': 'gzip' });
      expect(page.headers['content-type'], url).toMatch(/^text\/html/);
      expect(page.headers['content-encoding'], url).toBe('gzip');
      expect(gunzipSync(page.rawPayload).toString(), url).toMatch(/^<!doctype html>/i);
      expect((await get(url)).headers['content-encoding'], url).toBeUndefined();
    }

    // A JSON answer of the API, large enough to be worth it.
    for (const d of await p.register(3)) await p.sell(d);
    const contracts = await p.lien.app.inject({ method: 'GET', url: '/v1/contracts', headers: { authorization: `Bearer ${p.lenderKey}`, 'accept-encoding': 'gzip' } });
    expect(contracts.statusCode).toBe(200);
    expect(contracts.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(contracts.rawPayload).toString()).items).toHaveLength(3);
  });

  it('leaves the device protocol uncompressed and without browser headers (the check-in hot path)', async () => {
    const nonce = await get('/v1/device/nonce', { 'accept-encoding': 'gzip, br' });
    expect(nonce.statusCode).toBe(200);
    expect(nonce.headers['content-encoding']).toBeUndefined();
    expect(nonce.headers['content-security-policy']).toBeUndefined();
    expect(nonce.headers['x-request-id']).toBeTruthy();
  });

  it('serves static assets under content-hashed paths, immutable for a year, with ETags', async () => {
    const login = (await get('/console/login')).body;
    const path = /<script src="(\/assets\/htmx\.min\.([\w-]{16})\.js)"/.exec(login);
    expect(path).not.toBeNull();
    const js = await get(path![1]!);
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // The name is the content's hash, so a changed file gets a new name.
    const hash = createHash('sha256').update(js.rawPayload).digest('base64url').slice(0, 16);
    expect(path![2]).toBe(hash);
    expect(js.headers.etag).toBe(`"${hash}"`);
    const again = await get(path![1]!, { 'if-none-match': `"${hash}"` });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await get(path![1]!, { 'if-none-match': '"something-else"' })).statusCode).toBe(200);
    expect((await get('/assets/htmx.min.AAAAAAAAAAAAAAAA.js')).statusCode).toBe(404);
    const gz = await get(path![1]!, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload)).toEqual(js.rawPayload);

    const docs = (await get('/docs/api')).body;
    const css = /<link rel="stylesheet" href="(\/assets\/api-reference\.[\w-]{16}\.css)"/.exec(docs);
    expect(css).not.toBeNull();
    expect((await get(css![1]!)).headers['cache-control']).toContain('immutable');
  });

  it('sends security headers on every page, and the portal keeps its own strict policy', async () => {
    for (const url of ['/docs/api', '/portal', '/console/login']) {
      const r = await get(url);
      expect(r.headers['x-content-type-options'], url).toBe('nosniff');
      expect(r.headers['x-frame-options'], url).toMatch(/^(DENY|SAMEORIGIN)$/);
      expect(r.headers['referrer-policy'], url).toBe('same-origin');
      expect(r.headers['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(r.headers['content-security-policy'], url).toMatch(/frame-ancestors 'none'/);
      expect(r.headers['content-security-policy'], url).not.toMatch(/unsafe-eval/);
    }
    expect((await get('/portal')).headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    expect((await get('/docs/api')).headers['content-security-policy']).toMatch(/^default-src 'none';.*style-src 'self'/);
    // Plain HTTP here: no HSTS (it belongs to an HTTPS public URL).
    expect((await get('/docs/api')).headers['strict-transport-security']).toBeUndefined();
  });
});
