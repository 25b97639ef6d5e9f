import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.ts';
import { DEFAULT_RETRY_POLICY, claimDue, recordAttempt, type RetryPolicy } from '../../src/jobs/delivery.ts';
import { runWebhookDeliveries } from '../../src/jobs/webhooks.ts';
import {
  createWebhook,
  deactivateWebhook,
  enqueueWebhookEvent,
  listDeliveries,
  listWebhooks,
  replayDelivery,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/services/webhooks.ts';
import type { Database } from '../../src/store/connection.ts';
import { aad, open } from '../../src/store/secrets.ts';
import { lenderActor, openTestDb, servicesOver } from '../store/helpers.ts';
import { T0, insertLender, startReceiver, type Receiver } from './fixtures.ts';

const masterKey = Buffer.alloc(32, 7);
const LOOPBACK_ALLOWED = { allowHosts: ['127.0.0.1'] };
const pinned = () => 0.5; // jitter at its midpoint: the schedule's exact values
const sec = (d: Date) => Math.floor(d.getTime() / 1000);
/** The delivery log's first page, as a list. */
const deliveriesOf = async (...args: Parameters<typeof listDeliveries>) => (await listDeliveries(...args)).items;

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const now = 1_767_225_600;

  it('matches an HMAC-SHA256 computed independently (openssl dgst -hmac)', () => {
    // printf '1767225600.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    expect(signWebhook(secret, now, '{"a":1}')).toBe('t=1767225600,v1=6d204545ff126a339c00513d93603299c984074ce1331c3537c3f6c976b49019');
  });

  it('accepts the signed body and rejects a tampered one', () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.posted', data: { amount: 150000 } });
    const header = signWebhook(secret, now, body);
    expect(verifyWebhookSignature(secret, header, body, now)).toEqual({ ok: true, timestamp: now });
    expect(verifyWebhookSignature(secret, header, body.replace('150000', '950000'), now)).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verifyWebhookSignature('whsec_other', header, body, now)).toEqual({ ok: false, reason: 'no_matching_signature' });
    // The timestamp is signed too: moving it breaks the signature.
    const moved = header.replace(`t=${now}`, `t=${now + 1}`);
    expect(verifyWebhookSignature(secret, moved, body, now)).toEqual({ ok: false, reason: 'no_matching_signature' });
  });

  it('rejects timestamps outside the tolerance, either way, and honours a custom tolerance', () => {
    const body = '{}';
    const old = signWebhook(secret, now - 301, body);
    expect(verifyWebhookSignature(secret, old, body, now)).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifyWebhookSignature(secret, signWebhook(secret, now - 300, body), body, now).ok).toBe(true);
    expect(verifyWebhookSignature(secret, signWebhook(secret, now + 301, body), body, now)).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifyWebhookSignature(secret, old, body, now, 600).ok).toBe(true);
  });

  it('rejects malformed headers and accepts one matching v1 among several (secret rotation)', () => {
    const body = 'x';
    const good = signWebhook(secret, now, body);
    const v1 = good.split('v1=')[1];
    for (const h of [undefined, '', 'garbage', `v1=${v1}`, `t=${now}`, `t=abc,v1=${v1}`, `t=${now},v1=XYZ`]) {
      expect(verifyWebhookSignature(secret, h, body, now)).toEqual({ ok: false, reason: 'malformed_header' });
    }
    const rotated = `t=${now},v1=${'0'.repeat(64)},v1=${v1}`;
    expect(verifyWebhookSignature(secret, rotated, body, now).ok).toBe(true);
  });

  it('property: any change to the body breaks the signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, pos, flip) => {
        const body = Buffer.from(bytes);
        const header = signWebhook(secret, now, body);
        expect(verifyWebhookSignature(secret, header, body, now).ok).toBe(true);
        const tampered = Buffer.from(body);
        const i = pos % tampered.length;
        tampered[i] = (tampered[i] as number) ^ flip;
        expect(verifyWebhookSignature(secret, header, tampered, now).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('webhook endpoints and delivery', () => {
  let d: Database;
  let receiver: Receiver | null = null;

  beforeAll(async () => {
    d = await openTestDb();
  });
  // The receivers listen on loopback: allowed here as an operator allows an on-premises receiver.
  const svc = (clock = new ManualClock(T0)) => servicesOver(d, clock, masterKey, { webhookAllowHosts: ['127.0.0.1'] });
  afterAll(() => d.close());
  afterEach(async () => {
    await receiver?.close();
    receiver = null;
    // Workers serve every lender: leave no queued row for the next test's worker to find.
    await d.db.deleteFrom('webhook_deliveries').execute();
  });

  it('creates an endpoint whose secret is shown once and stored only sealed to its row', async () => {
    const lenderId = await insertLender(d.db);
    const { id, secret } = await createWebhook(await svc(), lenderActor(lenderId), { url: 'https://lender.example/hooks', events: ['device.locked', 'payment.posted'] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    const row = await d.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(Buffer.from(row.secret_enc).includes(Buffer.from(secret))).toBe(false);
    expect(open(masterKey, row.secret_enc, aad.webhookSecret(id)).toString()).toBe(secret);
    expect(() => open(masterKey, row.secret_enc, aad.webhookSecret('wh_other'))).toThrow();

    const listed = await listWebhooks(d.db, lenderId);
    expect(listed).toEqual([{ id, lenderId, url: 'https://lender.example/hooks', events: ['device.locked', 'payment.posted'], active: true, createdAt: T0 }]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
  });

  it('refuses bad URLs, unknown events and unknown lenders with a reason', async () => {
    const lenderId = await insertLender(d.db);
    const bad = [
      { url: 'ftp://lender.example/x', events: ['device.locked'] },
      { url: 'not a url', events: ['device.locked'] },
      { url: 'https://lender.example/x', events: [] },
      { url: 'https://lender.example/x', events: ['device.exploded'] },
    ];
    for (const b of bad) {
      await expect(createWebhook(await svc(), lenderActor(lenderId), b)).rejects.toMatchObject({ code: 'invalid_input' });
    }
    await expect(createWebhook(await svc(), lenderActor('len_missing'), { url: 'https://x.example', events: ['device.locked'] })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('fans an event out to the active endpoints of that lender subscribed to its type, inside the caller transaction', async () => {
    const lenderId = await insertLender(d.db);
    const otherLender = await insertLender(d.db);
    const locked = await createWebhook(await svc(), lenderActor(lenderId), { url: 'http://127.0.0.1:9/a', events: ['device.locked'] });
    const both = await createWebhook(await svc(), lenderActor(lenderId), { url: 'http://127.0.0.1:9/b', events: ['payment.posted', 'device.locked'] });
    await createWebhook(await svc(), lenderActor(lenderId), { url: 'http://127.0.0.1:9/c', events: ['payment.posted'] });
    const inactive = await createWebhook(await svc(), lenderActor(lenderId), { url: 'http://127.0.0.1:9/d', events: ['device.locked'] });
    await deactivateWebhook(await svc(), lenderActor(lenderId), inactive.id);
    await createWebhook(await svc(), lenderActor(otherLender), { url: 'http://127.0.0.1:9/e', events: ['device.locked'] });

    const r = await d.db.transaction().execute((tx) => enqueueWebhookEvent(tx, { lenderId, type: 'device.locked', data: { deviceId: 'dev_1', lockReference: 'LR1' }, at: T0 }));
    const rows = await d.db.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', r.eventId).execute();
    expect(rows.map((x) => x.webhook_id).sort()).toEqual([locked.id, both.id].sort());
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'pending', attempts: 0, event_type: 'device.locked', next_attempt_at: T0 });
      expect(row.payload).toEqual({ id: r.eventId, type: 'device.locked', createdAt: T0.toISOString(), lenderId, data: { deviceId: 'dev_1', lockReference: 'LR1' } });
    }

    // Rolled back with the change it reports: no event escapes.
    let rolledBackEvent = '';
    await expect(
      d.db.transaction().execute(async (tx) => {
        rolledBackEvent = (await enqueueWebhookEvent(tx, { lenderId, type: 'device.locked', data: {}, at: T0 })).eventId;
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    expect(await d.db.selectFrom('webhook_deliveries').select('id').where('event_id', '=', rolledBackEvent).execute()).toEqual([]);
  });

  it('POSTs a signed event that a real receiver verifies', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    let secret = '';
    const checks: unknown[] = [];
    receiver = await startReceiver((req) => {
      checks.push(verifyWebhookSignature(secret, req.headers['lien-signature'] as string, req.body, sec(clock.now())));
      return { status: 204 };
    });
    const hook = await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['payment.posted'] });
    secret = hook.secret;
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'payment.posted', data: { paymentId: 'pay_1', amount: 150000, currency: 'KES' }, at: T0 });

    const stats = await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, batchSize: 10 });
    expect(stats).toMatchObject({ claimed: 1, delivered: 1, retrying: 0, failed: 0 });
    expect(checks).toEqual([{ ok: true, timestamp: sec(T0) }]);
    const [req] = receiver.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hooks/lien');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['lien-event-id']).toBe(eventId);
    expect(req?.headers['lien-event-type']).toBe('payment.posted');
    expect(req?.headers['lien-timestamp']).toBe(String(sec(T0)));
    // The documented envelope, in its documented key order.
    expect(Object.keys(JSON.parse(req?.body ?? '{}'))).toEqual(['id', 'type', 'createdAt', 'lenderId', 'data']);
    expect(JSON.parse(req?.body ?? '{}')).toEqual({ id: eventId, type: 'payment.posted', createdAt: T0.toISOString(), lenderId, data: { paymentId: 'pay_1', amount: 150000, currency: 'KES' } });

    const [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204, lastError: null, deliveredAt: T0, nextAttemptAt: null });
  });

  it('retries after a 500 at the backoff time, then records the success and the attempt count', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    let secret = '';
    receiver = await startReceiver((req, i) => {
      const ok = verifyWebhookSignature(secret, req.headers['lien-signature'] as string, req.body, sec(clock.now())).ok;
      if (!ok) return { status: 400, body: 'bad signature' };
      return i === 0 ? { status: 500, body: 'database is down' } : { status: 200 };
    });
    const hook = await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['device.unlocked'] });
    secret = hook.secret;
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'device.unlocked', data: { deviceId: 'dev_9' }, at: T0 });

    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, random: pinned })).toMatchObject({ claimed: 1, retrying: 1 });
    let [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, lastError: 'HTTP 500', deliveredAt: null }); // the receiver's body is never shown (issue #12 M1)
    expect(log?.nextAttemptAt).toEqual(new Date(T0.getTime() + 30_000));

    // Not due yet: nothing is sent one second early.
    clock.advance(29_000);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, random: pinned })).toMatchObject({ claimed: 0 });
    expect(receiver.requests).toHaveLength(1);

    clock.advance(1_000);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, random: pinned })).toMatchObject({ claimed: 1, delivered: 1 });
    [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(log?.deliveredAt).toEqual(new Date(T0.getTime() + 30_000));
    // Both attempts carried the same event id and each its own send time.
    expect(receiver.requests.map((r) => r.headers['lien-event-id'])).toEqual([eventId, eventId]);
    expect(receiver.requests.map((r) => r.headers['lien-timestamp'])).toEqual([String(sec(T0)), String(sec(T0) + 30)]);
  });

  it('follows the default schedule (30 s, 2 min, 10 min, 1 h, 6 h, 12 h, 1 day ×3) and gives up after 10 attempts', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    receiver = await startReceiver(() => ({ status: 503 }));
    await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['claim.submitted'] });
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'claim.submitted', data: { claimId: 'clm_1' }, at: T0 });

    const sentAt: number[] = [];
    for (let i = 0; i < 12; i++) {
      const stats = await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, random: pinned });
      if (stats.claimed) sentAt.push((clock.now().getTime() - T0.getTime()) / 1000);
      const [log] = await deliveriesOf(d.db, lenderId, { eventId });
      if (!log?.nextAttemptAt) break;
      clock.set(log.nextAttemptAt);
    }
    // Hand-computed cumulative offsets in seconds: 0, 30, 150, 750, 4350, 25950, 69150, 155550, 241950, 328350.
    expect(sentAt).toEqual([0, 30, 150, 750, 4350, 25950, 69150, 155550, 241950, 328350]);
    const [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'failed', attempts: 10, lastStatusCode: 503, nextAttemptAt: null, deliveredAt: null });

    clock.advanceDays(30);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED })).toMatchObject({ claimed: 0 });
    expect(receiver.requests).toHaveLength(10);
  });

  it('counts a receiver that does not answer within the timeout as a failed attempt', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    receiver = await startReceiver(() => new Promise(() => {}));
    await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['device.enrolled'] });
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'device.enrolled', data: {}, at: T0 });
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, timeoutMs: 200, random: pinned })).toMatchObject({ retrying: 1 });
    const [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: 'no answer within 0.2 s' });
  });

  it('replays a delivery from the log as a new row with the same event id', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    const handled = new Set<string>();
    let duplicates = 0;
    receiver = await startReceiver((req) => {
      const id = req.headers['lien-event-id'] as string;
      if (handled.has(id)) duplicates++;
      handled.add(id);
      return { status: 200 };
    });
    await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['payment.reversed'] });
    const { eventId, deliveryIds } = await enqueueWebhookEvent(d.db, { lenderId, type: 'payment.reversed', data: { paymentId: 'pay_7' }, at: T0 });
    const original = deliveryIds[0] as string;

    // Still queued: a replay would only send it twice.
    await expect(replayDelivery(await svc(), lenderActor(lenderId), original)).rejects.toMatchObject({ code: 'conflict' });
    await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED });

    clock.advance(3_600_000);
    const replay = await replayDelivery(await svc(clock), lenderActor(lenderId), original);
    expect(replay).toMatchObject({ eventId, status: 'pending', attempts: 0, createdAt: clock.now() });
    expect(replay.id).not.toBe(original);
    await expect(replayDelivery(await svc(clock), lenderActor('len_someone_else'), original)).rejects.toMatchObject({ code: 'not_found' });
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED })).toMatchObject({ delivered: 1 });

    expect(receiver.requests.map((r) => r.headers['lien-event-id'])).toEqual([eventId, eventId]);
    expect(JSON.parse(receiver.requests[1]?.body ?? '')).toEqual(JSON.parse(receiver.requests[0]?.body ?? ''));
    expect(duplicates).toBe(1);
    const log = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log.map((l) => [l.id, l.status, l.attempts])).toEqual([
      [replay.id, 'delivered', 1],
      [original, 'delivered', 1],
    ]);
  });

  it('cancels queued deliveries of a deactivated endpoint and refuses to replay to it', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    receiver = await startReceiver(() => ({ status: 200 }));
    const hook = await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['device.released'] });
    const { deliveryIds } = await enqueueWebhookEvent(d.db, { lenderId, type: 'device.released', data: {}, at: T0 });
    await expect(deactivateWebhook(await svc(), lenderActor('len_someone_else'), hook.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await deactivateWebhook(await svc(), lenderActor(lenderId), hook.id)).toMatchObject({ active: false });
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED })).toMatchObject({ claimed: 0 });
    expect(receiver.requests).toHaveLength(0);
    const [log] = await deliveriesOf(d.db, lenderId, { webhookId: hook.id });
    expect(log).toMatchObject({ id: deliveryIds[0], status: 'cancelled' });
    await expect(replayDelivery(await svc(), lenderActor(lenderId), deliveryIds[0] as string)).rejects.toMatchObject({ code: 'conflict' });
    // New events no longer fan out to it.
    expect((await enqueueWebhookEvent(d.db, { lenderId, type: 'device.released', data: {}, at: T0 })).deliveryIds).toEqual([]);
  });

  it('two workers running at once deliver every row exactly once', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    const seen = new Map<string, number>();
    receiver = await startReceiver(async (req) => {
      const id = req.headers['lien-event-id'] as string;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      // Hold each answer a little so the workers' sends and claims overlap.
      await new Promise((r) => setTimeout(r, 5));
      return { status: 200 };
    });
    await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['payment.posted'] });
    const events: string[] = [];
    await d.db.transaction().execute(async (tx) => {
      for (let i = 0; i < 60; i++) events.push((await enqueueWebhookEvent(tx, { lenderId, type: 'payment.posted', data: { n: i }, at: T0 })).eventId);
    });

    const claimedBy = [0, 0];
    const worker = async (w: number) => {
      for (;;) {
        const s = await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, batchSize: 4 });
        if (s.claimed === 0) return;
        claimedBy[w] = (claimedBy[w] as number) + s.claimed;
      }
    };
    await Promise.all([worker(0), worker(1)]);

    expect(seen.size).toBe(60);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(receiver.requests).toHaveLength(60);
    // Both workers took part; neither claimed a row the other had.
    expect(claimedBy[0]).toBeGreaterThan(0);
    expect(claimedBy[1]).toBeGreaterThan(0);
    expect((claimedBy[0] as number) + (claimedBy[1] as number)).toBe(60);
    const rows = await d.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('event_id', 'in', events).execute();
    expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1)).toBe(true);
  });

  it('a row held by a worker that died is sent again after its lease, and the late result is dropped', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    receiver = await startReceiver(() => ({ status: 200 }));
    await createWebhook(await svc(), lenderActor(lenderId), { url: receiver.url, events: ['device.locked'] });
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'device.locked', data: {}, at: T0 });
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, leaseMs: 60_000 };

    // A worker claims the row and then is never heard from again.
    const [dead] = await claimDue(d.db, 'webhook_deliveries', { now: clock.now(), limit: 10, policy });
    expect(dead).toMatchObject({ event_id: eventId, status: 'sending', attempts: 1 });

    clock.advance(59_000);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, policy })).toMatchObject({ claimed: 0 });
    clock.advance(1_000);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, policy })).toMatchObject({ claimed: 1, delivered: 1 });

    // The first worker wakes up and reports a failure: its claim is no longer the row's.
    const late = await recordAttempt(d.db, 'webhook_deliveries', dead as { id: string; attempts: number }, { status: 'failed', last_error: 'late', next_attempt_at: null });
    expect(late).toBe(false);
    const [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'delivered', attempts: 2, lastError: null });
    expect(receiver.requests).toHaveLength(1);
  });

  it('closes as failed a row whose worker died during its last attempt', async () => {
    const clock = new ManualClock(T0);
    const lenderId = await insertLender(d.db);
    await createWebhook(await svc(), lenderActor(lenderId), { url: 'http://127.0.0.1:9/unused', events: ['device.locked'] });
    const { eventId } = await enqueueWebhookEvent(d.db, { lenderId, type: 'device.locked', data: {}, at: T0 });
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1, leaseMs: 60_000 };
    await claimDue(d.db, 'webhook_deliveries', { now: clock.now(), limit: 10, policy });
    clock.advance(60_000);
    expect(await runWebhookDeliveries(d.db, { masterKey, clock, outbound: LOOPBACK_ALLOWED, policy })).toMatchObject({ claimed: 0 });
    const [log] = await deliveriesOf(d.db, lenderId, { eventId });
    expect(log).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
    expect(log?.lastError).toContain('worker stopped');
  });
});
