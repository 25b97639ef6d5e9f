import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, type Tenant } from './world.ts';

describe('Idempotency-Key on POST', () => {
  const w = new World();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  async function post(t: Tenant | string, path: string, body: unknown, key?: string) {
    const r = await fetch(`${w.p.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${typeof t === 'string' ? t : t.key}`, 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: r.status, replayed: r.headers.get('idempotent-replayed'), text: await r.text() };
  }

  const payments = (ref: string) =>
    w.p.lien.services.db.selectFrom('payments').select('id').where('external_ref', '=', ref).execute();

  it('the same key and request replays the stored response; the payment is posted once', async () => {
    const body = { contractId: w.a.contractId, externalRef: 'IDEM-1', channel: 'mpesa', amount: 100, currency: 'KES' };
    const first = await post(w.a, '/v1/payments', body, 'key-1');
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    const again = await post(w.a, '/v1/payments', body, 'key-1');
    expect(again).toEqual({ status: 201, replayed: 'true', text: first.text });
    expect(await payments('IDEM-1')).toHaveLength(1);
    // Without the header the duplicate reference is refused on its own merits.
    expect((await post(w.a, '/v1/payments', body)).status).toBe(409);
  });

  it('the same key with another body or path is 422', async () => {
    const body = { contractId: w.a.contractId, externalRef: 'IDEM-2', channel: 'mpesa', amount: 100, currency: 'KES' };
    expect((await post(w.a, '/v1/payments', body, 'key-2')).status).toBe(201);
    const other = await post(w.a, '/v1/payments', { ...body, amount: 200 }, 'key-2');
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text)).toMatchObject({ code: 'idempotency_key_reused', message: expect.stringContaining('different request'), details: { idempotencyKey: 'key-2' } });
    expect((await post(w.a, `/v1/contracts/${w.a.contractId}/disputes`, { reason: 'same key elsewhere' }, 'key-2')).status).toBe(422);
    expect(await payments('IDEM-2')).toHaveLength(1);
  });

  it('keys are scoped per lender', async () => {
    const mk = (t: Tenant, ref: string) => ({ contractId: t.contractId, externalRef: ref, channel: 'mpesa', amount: 100, currency: 'KES' });
    const a = await post(w.a, '/v1/payments', mk(w.a, 'SCOPE-A'), 'shared-key');
    const b = await post(w.b, '/v1/payments', mk(w.b, 'SCOPE-B'), 'shared-key');
    expect([a.status, b.status, b.replayed]).toEqual([201, 201, null]);
    // Even the very same body from B is B's own request, never A's stored response.
    const bSameBody = await post(w.b, '/v1/payments', mk(w.a, 'SCOPE-A'), 'other-shared');
    expect((await post(w.a, '/v1/payments', mk(w.a, 'SCOPE-A'), 'other-shared')).status).toBe(409);
    expect(bSameBody.status).toBe(404);
  });

  it('concurrent duplicates do not both execute', async () => {
    const body = { contractId: w.a.contractId, externalRef: 'RACE-1', channel: 'mpesa', amount: 100, currency: 'KES' };
    const results = await Promise.all(Array.from({ length: 6 }, () => post(w.a, '/v1/payments', body, 'race-key')));
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(results.filter((r) => r.status === 201 && r.replayed === null)).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 409)) expect(JSON.parse(r.text).message).toMatch(/still being processed/);
    expect(await payments('RACE-1')).toHaveLength(1);
    const after = await post(w.a, '/v1/payments', body, 'race-key');
    expect([after.status, after.replayed]).toEqual([201, 'true']);
  });

  it('client errors are stored and replayed too; a malformed key is refused', async () => {
    const body = { contractId: 'ctr_nobody', externalRef: 'NF-1', channel: 'mpesa', amount: 100, currency: 'KES' };
    const first = await post(w.a, '/v1/payments', body, 'key-404');
    expect(first.status).toBe(404);
    const again = await post(w.a, '/v1/payments', body, 'key-404');
    expect([again.status, again.replayed, again.text]).toEqual([404, 'true', first.text]);
    const bad = await post(w.a, '/v1/payments', body, 'x'.repeat(300));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).details.field).toBe('Idempotency-Key');
  });

  it('covers POST routes of every module, e.g. the operator onboarding a lender', async () => {
    const body = { name: 'Idem Lender', supportPhone: '+254700000123', howToPay: 'cash', currency: 'KES', timeZone: 'Africa/Nairobi' };
    const operatorKey = (w.p as any).operatorKey as string;
    const first = await post(operatorKey, '/v1/operator/lenders', body, 'onboard-1');
    const again = await post(operatorKey, '/v1/operator/lenders', body, 'onboard-1');
    expect([first.status, again.status, again.replayed]).toEqual([201, 201, 'true']);
    expect(JSON.parse(again.text).id).toBe(JSON.parse(first.text).id);
    const lenders = await w.p.lien.services.db.selectFrom('lenders').select('id').where('name', '=', 'Idem Lender').execute();
    expect(lenders).toHaveLength(1);
  });

  it('a key expires after 24 hours of business time', async () => {
    const body = { contractId: w.a.contractId, externalRef: 'EXP-1', channel: 'mpesa', amount: 100, currency: 'KES' };
    expect((await post(w.a, '/v1/payments', body, 'exp-key')).status).toBe(201);
    w.p.clock.advance(25 * 3_600_000);
    const later = await post(w.a, '/v1/payments', { ...body, externalRef: 'EXP-2' }, 'exp-key');
    expect([later.status, later.replayed]).toEqual([201, null]);
  });
});
