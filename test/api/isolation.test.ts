import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodySchema, operations, sample } from './schema-sample.ts';
import { World, type Tenant } from './world.ts';

/** Which fixture id a `{id}` in a path names, by the path's prefix (longest first). */
const ID_FOR: [prefix: string, field: keyof Tenant][] = [
  ['/v1/webhooks/deliveries/', 'deliveryId'],
  ['/v1/webhooks/', 'webhookId'],
  ['/v1/api-keys/', 'apiKeyId'],
  ['/v1/devices/', 'deviceId'],
  ['/v1/contracts/', 'contractId'],
  ['/v1/payments/', 'paymentId'],
  ['/v1/claims/', 'claimId'],
  ['/v1/disputes/', 'disputeId'],
];

/** Bodies the schema alone cannot make valid enough to reach the lookup. */
const BODY: Record<string, unknown> = {
  'POST /v1/devices/{id}/codes': { type: 'ADD_TIME', days: 1, reason: 'tenant isolation' },
  'POST /v1/contracts/{id}/actions': { action: 'lock', reason: 'tenant isolation' },
};

const OWN_PREFIXES = ID_FOR.map(([p]) => p);

describe('tenant isolation: lender B never reaches lender A', () => {
  const w = new World();
  let doc: any;

  beforeAll(async () => {
    await w.start();
    doc = await (await fetch(`${w.p.url}/openapi.json`)).json();
  });
  afterAll(() => w.stop());

  const aIds = () => [w.a.id, w.a.contractId, w.a.deviceId, w.a.imei, w.a.paymentId, w.a.claimId, w.a.disputeId, w.a.webhookId, w.a.deliveryId, w.a.apiKeyId];

  it("every lender endpoint aimed at A's ids with B's key is 404, without data", async () => {
    const tried: string[] = [];
    for (const { method, path, op } of operations(doc)) {
      if (!path.includes('{id}') || path.startsWith('/v1/operator/') || path.startsWith('/v1/device/')) continue;
      const entry = ID_FOR.find(([prefix]) => path.startsWith(prefix));
      if (!entry) continue; // another module's resource (users, imports): covered by its own tests
      const url = path.replace('{id}', w.a[entry[1]]);
      const schema = bodySchema(op);
      const body = BODY[`${method} ${path}`] ?? (schema ? sample(schema, doc) : method === 'POST' ? {} : undefined);
      const r = await w.api(w.b, method, url, body);
      expect({ op: `${method} ${path}`, status: r.status, code: r.body?.code }).toEqual({ op: `${method} ${path}`, status: 404, code: 'not_found' });
      const text = JSON.stringify(r.body);
      expect({ op: `${method} ${path}`, leaked: aIds().filter((id) => id !== w.a[entry[1]] && text.includes(id)) }).toEqual({ op: `${method} ${path}`, leaked: [] });
      tried.push(`${method} ${path}`);
    }
    // Every id-taking lender route of this module was exercised.
    expect(tried.length).toBeGreaterThanOrEqual(13);
    for (const prefix of OWN_PREFIXES) expect(tried.some((t) => t.includes(prefix))).toBe(true);
    // A's data is untouched by B's attempts.
    const claim = await w.api(w.a, 'GET', `/v1/claims/${w.a.claimId}`);
    expect(claim.body.status).toBe('open');
    const keys = await w.api(w.a, 'GET', '/v1/api-keys');
    expect(keys.body.items.find((k: any) => k.id === w.a.apiKeyId).revokedAt).toBeNull();
  });

  it("no list B can read contains any of A's rows", async () => {
    let lists = 0;
    for (const { method, path } of operations(doc)) {
      if (method !== 'GET' || path.includes('{') || path.startsWith('/v1/operator/') || path.startsWith('/v1/device/')) continue;
      const r = await w.api(w.b, 'GET', path);
      if (r.status === 404 || r.status === 400) continue;
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      const text = JSON.stringify(r.body);
      for (const id of aIds()) expect({ path, leaks: text.includes(id) ? id : null }).toEqual({ path, leaks: null });
      lists++;
    }
    expect(lists).toBeGreaterThanOrEqual(9);
    // And B does see its own rows, so the lists are not simply empty.
    const own = await w.api(w.b, 'GET', '/v1/contracts');
    expect(own.body.items.map((c: any) => c.id)).toEqual([w.b.contractId]);
    const search = await w.api(w.b, 'GET', `/v1/devices?imei=${w.a.imei}`);
    expect(search.body.items).toEqual([]);
  });

  it('the operator key gets registry data but no borrower fields, and cannot use lender endpoints', async () => {
    const r = await w.p.operator('GET', `/v1/operator/devices?imei=${w.a.imei}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ deviceId: w.a.deviceId, imei1: w.a.imei, saleStatus: 'financed', lender: { id: w.a.id }, lien: { active: true } });
    const text = JSON.stringify(r.body);
    for (const forbidden of ['borrower', '+254711000222', 'borrower-A', 'amount', 'outstanding', 'lock_reference', 'lockReference']) expect(text).not.toContain(forbidden);
    expect((await w.p.operator('GET', '/v1/operator/devices?imei=490154203237518')).status).toBe(404);
    expect((await w.p.operator('GET', '/v1/operator/devices?imei=12345')).status).toBe(400);

    expect((await w.p.operator('GET', '/v1/contracts')).status).toBe(403);
    expect((await w.p.operator('GET', `/v1/devices/${w.a.deviceId}`)).status).toBe(403);
    expect((await w.api(w.a, 'GET', `/v1/operator/devices?imei=${w.a.imei}`)).status).toBe(403);
  });
});
