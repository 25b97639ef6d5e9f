/**
 * Issue #12 M3: secrets created with an Idempotency-Key (as the README advises) are not kept in
 * plaintext for replays; a replay returns the resource without the secret, saying it was shown once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';

describe('issue #12 M3: secrets and Idempotency-Key', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  const post = async (path: string, body: unknown, key: string, idem: string) => {
    const r = await fetch(`${p.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idem }, body: JSON.stringify(body) });
    return { status: r.status, replayed: r.headers.get('idempotent-replayed'), body: (await r.json()) as Record<string, unknown> };
  };

  const cases = [
    { what: 'an API key', path: '/v1/api-keys', body: { name: 'till 4', scopes: ['read'] }, field: 'key', operator: false },
    { what: 'a webhook signing secret', path: '/v1/webhooks', body: { url: 'https://hooks.example/m3', events: ['payment.posted'] }, field: 'secret', operator: false },
    {
      what: "a new lender's API key",
      path: '/v1/operator/lenders',
      body: { name: 'M3 Credit', supportPhone: '+254700000555', howToPay: 'Cash', currency: 'KES', timeZone: 'Africa/Nairobi' },
      field: 'apiKey',
      operator: true,
    },
  ];

  it.each(cases)('M3: $what is not stored with the idempotency key, and a replay says it was shown once', async (c) => {
    const key = c.operator ? p.operatorKey : p.lenderKey;
    const idem = `m3-${c.field}-${Math.random()}`;
    const first = await post(c.path, c.body, key, idem);
    expect(first.status).toBe(201);
    const secret = first.body[c.field] as string;
    expect(secret).toMatch(/^(lien_|whsec_)/);

    const rows = await p.lien.services.db.selectFrom('idempotency_keys').select(['key', 'response']).where('key', '=', idem).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0]!.response)).not.toContain(secret);

    const again = await post(c.path, c.body, key, idem);
    expect(again.status).toBe(201);
    expect(again.replayed).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(again.body).not.toHaveProperty(c.field);
    expect(again.body.secretShownOnce).toMatch(/shown only in the first response/);
  });
});
