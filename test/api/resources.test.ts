import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateContract } from '../../src/services/evaluate.ts';
import { SYSTEM } from '../../src/services/context.ts';
import { newId } from '../../src/store/ids.ts';
import { World } from './world.ts';

describe('lender resources over HTTP', () => {
  const w = new World();
  beforeAll(() => w.start());
  afterAll(() => w.stop());
  const A = (method: string, path: string, body?: unknown) => w.api(w.a, method, path, body);

  it('a contract shows its schedule with what each installment has been paid', async () => {
    const r = await A('GET', `/v1/contracts/${w.a.contractId}`);
    expect(r.status).toBe(200);
    expect(r.body.installments).toHaveLength(3);
    const [first, second] = r.body.installments;
    expect(first).toMatchObject({ n: 1, dueDate: '2026-01-15', paid: { total: 500 }, remaining: first.due.total - 500 });
    expect(second.paid.total).toBe(0);
    expect(r.body.payments.map((p: any) => p.id)).toEqual([w.a.paymentId]);
    expect(r.body.disputes).toHaveLength(1);
    expect(r.body.claims.map((c: any) => c.id)).toEqual([w.a.claimId]);
  });

  it('a device shows a timeline of policies, events and codes', async () => {
    const code = await A('POST', `/v1/devices/${w.a.deviceId}/codes`, { type: 'ADD_TIME', days: 2, reason: 'goodwill credit' });
    expect(code.status).toBe(201);
    const r = await A('GET', `/v1/devices/${w.a.deviceId}`);
    expect(r.status).toBe(200);
    expect(r.body.codes.map((c: any) => c.id)).toEqual([code.body.id]);
    expect(r.body.timeline.map((t: any) => t.type)).toEqual(expect.arrayContaining(['policy', 'code']));
    const times = r.body.timeline.map((t: any) => t.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('manual actions report a lock the guardrails hold back', async () => {
    const r = await A('POST', `/v1/contracts/${w.a.contractId}/actions`, { action: 'lock', reason: 'borrower unreachable' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'lock', applied: false });
    expect(r.body.message).toMatch(/held back/);
    expect((await A('POST', `/v1/contracts/${w.a.contractId}/actions`, { action: 'lock', reason: 'no' })).status).toBe(400);
    expect((await A('POST', `/v1/contracts/${w.a.contractId}/actions`, { action: 'wipe', reason: 'never' })).status).toBe(400);
    const cleared = await A('POST', `/v1/contracts/${w.a.contractId}/actions`, { action: 'clear', reason: 'undo the test' });
    expect(cleared.body.applied).toBe(true);
  });

  it('claims are listed, rejected with a message, and approved (posting the payment)', async () => {
    const open = await A('GET', '/v1/claims?status=open');
    expect(open.body.items.map((c: any) => c.id)).toEqual([w.a.claimId]);
    const rejected = await A('POST', `/v1/claims/${w.a.claimId}/reject`, { message: 'No such transaction at M-Pesa.' });
    expect(rejected.status).toBe(200);
    const got = await A('GET', `/v1/claims/${w.a.claimId}`);
    expect(got.body).toMatchObject({ status: 'rejected', message: 'No such transaction at M-Pesa.' });
    expect((await A('POST', `/v1/claims/${w.a.claimId}/approve`)).status).toBe(409);

    const id = newId('clm');
    await w.p.lien.services.db
      .insertInto('claims')
      .values({ id, contract_id: w.a.contractId, device_id: w.a.deviceId, lender_id: w.a.id, transaction_ref: 'MP-REAL-1', amount: 250, currency: 'KES', paid_on: '2026-01-01', channel: 'mpesa', created_at: w.p.clock.now() })
      .execute();
    const approved = await A('POST', `/v1/claims/${id}/approve`, {});
    expect(approved.status).toBe(200);
    const pay = await A('GET', `/v1/payments?contractId=${w.a.contractId}`);
    expect(pay.body.items.find((p: any) => p.id === approved.body.paymentId)).toMatchObject({ external_ref: 'MP-REAL-1', amount: 250 });
  });

  it('settings: read, change, and a profile that switches a guardrail off is refused', async () => {
    const before = await A('GET', '/v1/settings');
    expect(before.status).toBe(200);
    expect(before.body.complianceProfile.id).toBe('retail-short-cycle');
    const put = await A('PUT', '/v1/settings', { supportHours: 'Mon–Sat 8–18', paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 60 }] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ supportHours: 'Mon–Sat 8–18', paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 60, stale: false }] });

    const evil = { ...before.body.complianceProfile, id: 'evil', allowLockDuringDispute: true };
    const refused = await A('PUT', '/v1/settings', { complianceProfile: evil });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'invalid_profile', details: { guardrail: true } });
    const floor = await A('PUT', '/v1/settings', { complianceProfile: { ...before.body.complianceProfile, minNoticeHoursBeforeLock: 1 } });
    expect(floor.status).toBe(400);
    expect((await A('PUT', '/v1/settings', { timeZone: 'Mars/Olympus' })).body.code).toBe('invalid_input');
    expect((await A('PUT', '/v1/settings', { supportPhone: '' })).status).toBe(400);
    expect((await A('PUT', '/v1/settings', {})).status).toBe(400);
    expect((await A('PUT', '/v1/settings', { complianceProfile: 'india-2026-draft' })).body.complianceProfile.id).toBe('india-2026-draft');
    expect((await A('PUT', '/v1/settings', { complianceProfile: 'retail-short-cycle' })).status).toBe(200);
    const audit = await A('GET', '/v1/audit?action=lender.settings_updated');
    expect(audit.body.items.length).toBeGreaterThanOrEqual(3);
  });

  it('held locks list the contracts a guardrail holds and the stale channels', async () => {
    // B's phone is overdue with an open claim; its channel stops reporting. The dispute is
    // resolved first: open, it would pause the days past due.
    await w.api(w.b, 'POST', `/v1/disputes/${w.b.disputeId}/resolve`, { reason: 'fee explained' });
    w.p.clock.set('2026-01-25T07:00:00Z');
    await w.p.lien.services.db
      .insertInto('claims')
      .values({ id: newId('clm'), contract_id: w.b.contractId, device_id: w.b.deviceId, lender_id: w.b.id, transaction_ref: 'HELD-1', amount: 100, currency: 'KES', paid_on: '2026-01-20', channel: 'mpesa', created_at: w.p.clock.now() })
      .execute();
    await w.api(w.b, 'PUT', '/v1/settings', { paymentChannels: [{ channel: 'bank', freshnessMinutes: 5 }] });
    w.p.clock.advance(3_600_000);
    await evaluateContract(w.p.lien.services, w.b.contractId, SYSTEM, 'test');
    const r = await w.api(w.b, 'GET', '/v1/held-locks');
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([expect.objectContaining({ contractId: w.b.contractId, reason: expect.stringMatching(/^held_/) })]);
    expect(r.body.staleChannels.map((c: any) => c.channel)).toEqual(['bank']);
  });

  it('webhooks: the secret is shown once; deliveries can be replayed; delete deactivates', async () => {
    const created = await A('POST', '/v1/webhooks', { url: 'https://hooks.example/new', events: ['payment.posted', 'device.locked'] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const list = await A('GET', '/v1/webhooks');
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect((await A('POST', '/v1/webhooks', { url: 'ftp://x.example/a', events: ['payment.posted'] })).status).toBe(400);
    expect((await A('POST', '/v1/webhooks', { url: 'https://x.example/a', events: ['user.deleted'] })).status).toBe(400);

    await w.p.lien.services.db.updateTable('webhook_deliveries').set({ status: 'failed', next_attempt_at: null }).where('id', '=', w.a.deliveryId).execute();
    const replay = await A('POST', `/v1/webhooks/deliveries/${w.a.deliveryId}/replay`, {});
    expect(replay.status).toBe(201);
    expect(replay.body).toMatchObject({ status: 'pending', webhookId: w.a.webhookId });
    expect((await A('POST', `/v1/webhooks/deliveries/${w.a.deliveryId}/replay`, {})).status).toBe(409);

    const del = await A('DELETE', `/v1/webhooks/${created.body.id}`);
    expect([del.status, del.body.active]).toEqual([200, false]);
  });

  it('API keys: shown once, scoped, revocable; narrow keys cannot manage access', async () => {
    const readOnly = await A('POST', '/v1/api-keys', { name: 'reporting', scopes: ['read'] });
    expect(readOnly.status).toBe(201);
    const key = readOnly.body.key as string;
    const R = (method: string, path: string, body?: unknown) => w.p.api(method, path, body, key);
    expect((await R('GET', '/v1/contracts')).status).toBe(200);
    expect((await R('POST', '/v1/payments', { contractId: w.a.contractId, externalRef: 'RO-1', channel: 'mpesa', amount: 1, currency: 'KES' })).status).toBe(403);
    expect((await R('POST', `/v1/devices/${w.a.deviceId}/codes`, { type: 'COUNTER_SYNC', reason: 'sync please' })).status).toBe(403);
    const mint = await R('POST', '/v1/api-keys', { name: 'escalate', scopes: ['read', 'write', 'codes'] });
    expect(mint.status).toBe(403);
    expect(mint.body.details.missing).toEqual(['write', 'codes']);
    expect((await R('GET', '/v1/settings')).status).toBe(403);

    const writeOnly = await A('POST', '/v1/api-keys', { name: 'feed', scopes: ['write'] });
    expect((await w.p.api('GET', '/v1/contracts', undefined, writeOnly.body.key)).status).toBe(403);

    const keys = await A('GET', '/v1/api-keys');
    expect(JSON.stringify(keys.body)).not.toContain(key);
    expect(keys.body.items.find((k: any) => k.id === readOnly.body.id)).toMatchObject({ scopes: ['read'], revokedAt: null });
    expect((await A('DELETE', `/v1/api-keys/${readOnly.body.id}`)).status).toBe(200);
    expect((await R('GET', '/v1/contracts')).status).toBe(401);
    expect((await A('DELETE', `/v1/api-keys/${readOnly.body.id}`)).status).toBe(409);
    expect((await A('POST', '/v1/api-keys', { name: 'bad', scopes: ['operator'] })).status).toBe(400);
  });

  it('the audit log lists and verifies', async () => {
    const r = await A('GET', `/v1/audit?subjectId=${w.a.paymentId}`);
    expect(r.body.items.map((e: any) => e.action)).toContain('payment.posted');
    expect((await A('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('the API reference renders offline from the OpenAPI document', async () => {
    const doc = await (await fetch(`${w.p.url}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.ErrorBody.required).toEqual(['code', 'message', 'details']);
    expect(doc.paths['/v1/claims/{id}/approve'].post.responses['404'].$ref).toBe('#/components/responses/NotFound');
    expect(doc.components.responses.NotFound.content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorBody');
    const html = await (await fetch(`${w.p.url}/docs/api`)).text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('/v1/contracts/{id}/actions');
    expect(html).not.toMatch(/<script|https?:\/\/cdn/i);
  });
});
