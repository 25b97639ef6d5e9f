import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_FAILURES_PER_ACCOUNT_ADDRESS } from '../../src/services/sessions.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { addUser, ConsoleClient, flashOf, PASSWORD } from './helpers.ts';

describe('console over HTTP (no JavaScript)', () => {
  const p = new TestPlatform('2026-01-05T08:00:00Z');
  let d: TestDevice;
  let sale: { contractId: string; deviceId: string };
  let other: { lenderId: string; key: string; deviceId: string; contractId: string };

  beforeAll(async () => {
    await p.start();
    [d] = (await p.register(1)) as [TestDevice];
    sale = await p.sell(d);
    for (const role of ['admin', 'support', 'agent', 'viewer'] as const) await addUser(p, p.lenderId, role, `${role}@jamii.example`);
    await addUser(p, null, 'operator', 'ops@maker.example');

    const lender = await p.operator('POST', '/v1/operator/lenders', {
      name: 'Other Credit', supportPhone: '+254700000999', supportUrl: 'https://other.example', howToPay: 'Cash at the shop', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle',
    });
    expect(lender.status).toBe(201);
    const [od] = (await p.register(1)) as [TestDevice];
    const r = await p.api('POST', '/v1/sales', {
      imei: od.imei, borrowerRef: 'B-OTHER', borrowerPhone: '+254711999999',
      schedule: { principal: 10_000_00, annualRatePct: 0, termCount: 2, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-01' },
      consent: { at: p.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    }, lender.body.apiKey);
    expect(r.status).toBe(201);
    other = { lenderId: lender.body.id, key: lender.body.apiKey, deviceId: r.body.deviceId, contractId: r.body.contractId };
    await addUser(p, other.lenderId, 'admin', 'admin@other.example');
  }, 60_000);
  afterAll(() => p.stop());

  it('signs in with email and password; bad credentials get one generic message; cookies are httpOnly and SameSite=Lax', async () => {
    const c = new ConsoleClient(p.url);
    await c.get('/console/login');
    const wrong = await c.post('/console/login', { email: 'support@jamii.example', password: 'not the password' });
    const unknown = await c.post('/console/login', { email: 'nobody@jamii.example', password: PASSWORD });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (r: { body: string }) => /data-testid="login-error"[^>]*>([^<]*)</.exec(r.body)?.[1];
    expect(message(wrong)).toBeTruthy();
    expect(message(unknown)).toBe(message(wrong));

    const res = await fetch(`${p.url}/console/login`, { redirect: 'manual', headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email: 'Support@Jamii.example', password: PASSWORD, _csrf: c.cookies.get('lien_login_csrf')! }), method: 'POST' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const session = res.headers.getSetCookie().find((x) => x.startsWith('lien_session='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).not.toMatch(/Secure/i); // the public URL is http
    expect(session).toMatch(/Path=\/console/);
  });

  it('refuses a sign-in form without its CSRF token', async () => {
    const c = new ConsoleClient(p.url);
    await c.get('/console/login');
    const r = await c.post('/console/login', { email: 'admin@jamii.example', password: PASSWORD }, { csrf: 'forged' });
    expect(r.status).toBe(403);
    expect(c.cookies.has('lien_session')).toBe(false);
  });

  it('slows sign-in guessing per account and address: after the free failures even the right password waits, a growing delay', async () => {
    await addUser(p, p.lenderId, 'viewer', 'target@jamii.example');
    const c = new ConsoleClient(p.url);
    await c.get('/console/login');
    for (let i = 0; i < FREE_FAILURES_PER_ACCOUNT_ADDRESS; i++) expect((await c.post('/console/login', { email: 'target@jamii.example', password: `guess-${i}-xxxxxx` })).status).toBe(401);
    const blocked = await c.post('/console/login', { email: 'target@jamii.example', password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatch(/Too many failed sign-ins/);
    // Another email from the same address is not slowed yet (the per-address budget is larger).
    expect((await c.signIn('viewer@jamii.example')).status).toBe(303);
    p.clock.advance(1_000);
    const later = new ConsoleClient(p.url);
    expect((await later.signIn('target@jamii.example')).status).toBe(303);
  });

  it('rejects every POST without the session CSRF token, and accepts it with', async () => {
    const c = new ConsoleClient(p.url);
    expect((await c.signIn('support@jamii.example')).status).toBe(303);
    await c.get(`/console/devices/${sale.deviceId}`);
    const form = { type: 'ADD_TIME', days: '3', reason: 'borrower paid at the shop' };
    expect((await c.post(`/console/devices/${sale.deviceId}/code`, form, { csrf: null })).status).toBe(403);
    expect((await c.post(`/console/devices/${sale.deviceId}/code`, form, { csrf: 'x'.repeat(43) })).status).toBe(403);
    const n = await p.lien.services.db.selectFrom('tokens_issued').select('id').where('device_id', '=', sale.deviceId).execute();
    expect(n).toHaveLength(0);
    const ok = await c.post(`/console/devices/${sale.deviceId}/code`, form);
    expect(ok.status).toBe(303);
    const page = await c.follow(ok);
    expect(flashOf(page.body)).toMatch(/^Code \d+ issued \(ADD_TIME, 3 days\)/);
    const audit = await p.lien.services.db.selectFrom('audit_log').select(['actor', 'reason']).where('action', '=', 'token.issued').execute();
    expect(audit.at(-1)).toMatchObject({ reason: 'borrower paid at the shop' });
    expect(audit.at(-1)!.actor).toMatch(/^user:usr/);
  });

  it('ends a session when it expires (business clock) and on sign-out', async () => {
    const c = new ConsoleClient(p.url);
    expect((await c.signIn('viewer@jamii.example')).status).toBe(303);
    expect((await c.get('/console')).status).toBe(200);
    p.clock.advance(11 * 3600_000);
    expect((await c.get('/console')).status).toBe(200);
    p.clock.advance(2 * 3600_000);
    const expired = await c.get('/console');
    expect(expired.status).toBe(303);
    expect(expired.location).toBe('/console/login?next=%2Fconsole');

    const c2 = new ConsoleClient(p.url);
    expect((await c2.signIn('viewer@jamii.example')).status).toBe(303);
    const token = c2.cookies.get('lien_session')!;
    await c2.get('/console');
    expect((await c2.post('/console/logout', {})).location).toBe('/console/login');
    const replay = await fetch(`${p.url}/console`, { redirect: 'manual', headers: { cookie: `lien_session=${token}` } });
    expect(replay.status).toBe(303);
  });

  it('enforces the role matrix on every page and action', async () => {
    const pages = ['/console', '/console/devices', `/console/devices/${sale.deviceId}`, `/console/contracts/${sale.contractId}`, '/console/sell', '/console/claims', '/console/settings', '/console/registry'];
    const expected: Record<string, number[]> = {
      // dashboard, search, device, contract, sell, claims, settings, registry
      admin: [200, 200, 200, 200, 200, 200, 200, 403],
      support: [200, 200, 200, 200, 403, 200, 403, 403],
      agent: [303, 200, 200, 200, 200, 403, 403, 403],
      viewer: [200, 200, 200, 200, 403, 200, 403, 403],
      ops: [303, 403, 403, 403, 403, 403, 403, 200],
    };
    for (const [who, statuses] of Object.entries(expected)) {
      const c = new ConsoleClient(p.url);
      const email = who === 'ops' ? 'ops@maker.example' : `${who}@jamii.example`;
      expect((await c.signIn(email)).status, who).toBe(303);
      const got = [];
      for (const path of pages) got.push((await c.get(path)).status);
      expect(got, who).toEqual(statuses);
    }

    const agent = new ConsoleClient(p.url);
    await agent.signIn('agent@jamii.example');
    const settings = await agent.get('/console/settings');
    expect(settings.body).toMatch(/data-testid="problem" data-status="403"/);
    await agent.get(`/console/devices/${sale.deviceId}`);
    expect(agent.lastPage).toContain('data-testid="payment-form"');
    expect(agent.lastPage).not.toContain('data-testid="code-form"');
    expect((await agent.post(`/console/devices/${sale.deviceId}/code`, { type: 'ADD_TIME', days: '1', reason: 'dealer tries a code' })).status).toBe(403);
    expect((await agent.post(`/console/devices/${sale.deviceId}/manual`, { action: 'pause', reason: 'dealer tries a pause' })).status).toBe(403);
    const mobile = await agent.post(`/console/devices/${sale.deviceId}/payment`, { amount: '10.00', reference: 'AG-MPESA-1', channel: 'mpesa' });
    expect(mobile.status).toBe(403);
    expect(mobile.body).toContain('Your role records cash payments only.');
    const cash = await agent.follow(await agent.post(`/console/devices/${sale.deviceId}/payment`, { amount: '10.00', reference: 'AG-CASH-1', channel: 'cash' }));
    expect(flashOf(cash.body)).toMatch(/^Payment AG-CASH-1 posted/);

    const viewer = new ConsoleClient(p.url);
    await viewer.signIn('viewer@jamii.example');
    await viewer.get(`/console/devices/${sale.deviceId}`);
    expect(viewer.lastPage).not.toContain('<form method="post" action="/console/devices/');
    expect((await viewer.post(`/console/devices/${sale.deviceId}/payment`, { amount: '10.00', reference: 'V-1', channel: 'cash' })).status).toBe(403);

    const ops = new ConsoleClient(p.url);
    await ops.signIn('ops@maker.example');
    const reg = await ops.get(`/console/registry?q=${d.serial}`);
    expect(reg.body).toContain(d.serial);
    expect(reg.body).toContain('Jamii Finance');
    expect(reg.body).not.toContain('+254711000222'); // the borrower's phone
    expect(reg.body).not.toContain(sale.contractId);
  });

  it("shows another lender's ids as 404, for pages and actions", async () => {
    const c = new ConsoleClient(p.url);
    await c.signIn('admin@jamii.example');
    await c.get('/console');
    for (const path of [`/console/devices/${other.deviceId}`, `/console/contracts/${other.contractId}`]) {
      const r = await c.get(path);
      expect(r.status, path).toBe(404);
      expect(r.body).toContain('data-status="404"');
    }
    expect((await c.post(`/console/devices/${other.deviceId}/code`, { type: 'ADD_TIME', days: '2', reason: 'cross-tenant attempt' })).status).toBe(404);
    expect((await c.post(`/console/devices/${other.deviceId}/payment`, { amount: '1.00', reference: 'X-1', channel: 'cash' })).status).toBe(404);
    const search = await c.get(`/console/devices?q=${encodeURIComponent('B-OTHER')}`);
    expect(search.status).toBe(200);
    expect((await c.get('/console/nothing-here')).status).toBe(404);
  });

  it('dashboard counts stages and draws the 30-day charts as SVG', async () => {
    const c = new ConsoleClient(p.url);
    await c.signIn('admin@jamii.example');
    const r = await c.get('/console');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/data-testid="chart-locks"/);
    expect(r.body).toMatch(/data-testid="chart-unlocks"/);
    expect((r.body.match(/<rect /g) ?? []).length).toBe(60);
    const active = await p.lien.services.db.selectFrom('contracts').select('stage').where('lender_id', '=', p.lenderId).where('status', '=', 'active').execute();
    const stage = active[0]!.stage;
    expect(new RegExp(`data-stage="${stage}"><div class="n">${active.filter((a) => a.stage === stage).length}<`).test(r.body)).toBe(true);
  });

  it('/v1/users: lender admins (full key) list, create and disable users; narrow keys cannot', async () => {
    const created = await p.api('POST', '/v1/users', { email: 'New.Agent@jamii.example', name: 'New Agent', password: 'long enough pass', role: 'agent' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'new.agent@jamii.example', role: 'agent', disabledAt: null });
    expect(created.body).not.toHaveProperty('password_hash');
    expect((await p.api('POST', '/v1/users', { email: 'new.agent@jamii.example', name: 'Again', password: 'long enough pass', role: 'agent' })).status).toBe(409);
    expect((await p.api('POST', '/v1/users', { email: 'x@jamii.example', name: 'Short', password: 'short', role: 'agent' })).status).toBe(400);
    expect((await p.api('POST', '/v1/users', { email: 'y@jamii.example', name: 'Op', password: 'long enough pass', role: 'operator' })).status).toBe(400);

    const c = new ConsoleClient(p.url);
    expect((await c.signIn('new.agent@jamii.example', 'long enough pass')).status).toBe(303);
    expect((await c.get('/console/sell')).status).toBe(200);

    const list = await p.api('GET', '/v1/users');
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: { email: string }) => u.email)).toContain('new.agent@jamii.example');
    expect(list.body.items.map((u: { email: string }) => u.email)).not.toContain('admin@other.example');
    expect((await p.api('GET', '/v1/users', undefined, other.key)).body.items.map((u: { email: string }) => u.email)).toEqual(['admin@other.example']);

    const narrow = await p.api('POST', '/v1/api-keys', { name: 'read only', scopes: ['read'] });
    expect(narrow.status).toBe(201);
    expect((await p.api('GET', '/v1/users', undefined, narrow.body.key)).status).toBe(403);
    expect((await p.api('POST', `/v1/users/${created.body.id}/disable`, undefined, other.key)).status).toBe(404);

    const disabled = await p.api('POST', `/v1/users/${created.body.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).toBeTruthy();
    expect((await c.get('/console/sell')).status).toBe(303); // the session ended with the account
    expect((await new ConsoleClient(p.url).signIn('new.agent@jamii.example', 'long enough pass')).status).toBe(401);
    const audit = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', created.body.id).orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['user.created', 'user.disabled']);

    const doc = await (await fetch(`${p.url}/openapi.json`)).json();
    expect(doc.paths['/v1/users'].post).toMatchObject({ tags: ['users'], summary: expect.stringMatching(/console user/) });
    expect(doc.paths['/v1/users/{id}/disable'].post.tags).toEqual(['users']);
    expect(Object.keys(doc.paths).some((k: string) => k.startsWith('/console'))).toBe(false);
  });
});
