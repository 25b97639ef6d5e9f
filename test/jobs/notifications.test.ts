import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.ts';
import { PermanentDeliveryError, type RetryPolicy } from '../../src/jobs/delivery.ts';
import {
  ConsoleAdapter,
  HttpSmsGatewayAdapter,
  runNotificationDeliveries,
  type NotificationAdapter,
  type OutgoingMessage,
} from '../../src/jobs/notifications.ts';
import { enqueueNotification, listNotifications } from '../../src/services/notifications.ts';
import type { Database } from '../../src/store/connection.ts';
import { openTestDb } from '../store/helpers.ts';
import { T0, insertContract, insertLender, startReceiver, type Receiver } from './fixtures.ts';

const pinned = () => 0.5;

describe('notification outbox', () => {
  let d: Database;
  let receiver: Receiver | null = null;

  beforeAll(async () => {
    d = await openTestDb();
  });
  afterAll(() => d.close());
  afterEach(async () => {
    await receiver?.close();
    receiver = null;
    // The worker serves every contract: leave nothing queued for the next test.
    await d.db.deleteFrom('notifications').execute();
  });

  it('renders a reminder in Swahili for a Swahili-speaking borrower, at enqueue time', async () => {
    const lenderId = await insertLender(d.db, { name: 'Jamii Credit', currency: 'KES' });
    const contractId = await insertContract(d.db, lenderId, { language: 'sw', phone: '+254711000111', lockReference: 'LR-77' });
    const n = await d.db.transaction().execute((tx) =>
      enqueueNotification(tx, { contractId, kind: 'reminder', at: T0, params: { amount: 150000, date: '2026-03-15' } }),
    );
    const expected = 'Jamii Credit: unatakiwa kulipa Ksh\u00a01,500.00 tarehe 15 Machi 2026. Lipa kwa wakati ili uendelee kutumia simu yako. Kumb LR-77';
    expect(n).toMatchObject({ language: 'sw', body: expected });
    const [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({
      id: n.id,
      kind: 'reminder',
      language: 'sw',
      channel: 'sms',
      recipient: '+254711000111',
      body: expected,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: T0,
      createdAt: T0,
      sentAt: null,
    });
  });

  it('renders in Hindi with rupees, and shows a deadline instant in the lender time zone', async () => {
    const lenderId = await insertLender(d.db, { name: 'Bharat Finance', currency: 'INR', timeZone: 'Asia/Kolkata' });
    const contractId = await insertContract(d.db, lenderId, { language: 'hi', currency: 'INR', lockReference: 'LR-78', amountOverdue: 226942 });
    const unlock = await enqueueNotification(d.db, { contractId, kind: 'unlock', at: T0, params: { amount: 50000 } });
    expect(unlock.body).toBe('Bharat Finance: हमें ₹500.00 मिल गए। आपका फ़ोन अनलॉक हो गया है। धन्यवाद। रेफ़ LR-78');

    // The amount defaults to the contract's overdue amount; 12:30 UTC is 18:00 in Kolkata.
    const notice = await enqueueNotification(d.db, { contractId, kind: 'notice', at: T0, params: { date: new Date('2026-03-20T12:30:00Z') } });
    expect(notice.language).toBe('hi');
    expect(notice.body.startsWith('Bharat Finance: ₹2,269.42 बकाया है। 20 मार्च 2026 ')).toBe(true);
    expect(notice.body).toContain('6:00');
    expect(notice.body.endsWith('इमरजेंसी कॉल फिर भी चलेंगी। रेफ़ LR-78')).toBe(true);
  });

  it('falls back to English for a language we do not have, and uses the claim number for claim messages', async () => {
    const lenderId = await insertLender(d.db, { name: 'Jamii Credit' });
    const contractId = await insertContract(d.db, lenderId, { language: 'fr', lockReference: 'LR-79' });
    const n = await enqueueNotification(d.db, { contractId, kind: 'claim_rejected', at: T0, params: { reference: 'CLM-12', message: 'No payment {ref} found' } });
    expect(n).toMatchObject({ language: 'en', body: 'Jamii Credit: payment claim CLM-12 was not accepted. Reason: No payment {ref} found' });
  });

  it('refuses a notification it cannot fill, naming what is missing, and an unknown contract', async () => {
    const lenderId = await insertLender(d.db);
    const contractId = await insertContract(d.db, lenderId);
    await expect(enqueueNotification(d.db, { contractId, kind: 'reminder', at: T0, params: { amount: 100 } })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { missing: ['date'] },
    });
    await expect(enqueueNotification(d.db, { contractId, kind: 'claim_approved', at: T0, params: {} })).rejects.toMatchObject({
      details: { missing: ['reference', 'amount'] },
    });
    await expect(enqueueNotification(d.db, { contractId: 'con_missing', kind: 'release', at: T0 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(enqueueNotification(d.db, { contractId, kind: 'party' as never, at: T0 })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await listNotifications(d.db, contractId)).toEqual([]);
  });

  it('delivers through the console adapter and records when it was sent', async () => {
    const clock = new ManualClock(T0);
    const lines: string[] = [];
    const lenderId = await insertLender(d.db, { name: 'Jamii Credit' });
    const contractId = await insertContract(d.db, lenderId, { phone: '+254722000222' });
    const n = await enqueueNotification(d.db, { contractId, kind: 'release', at: T0 });
    clock.advance(5_000);
    const stats = await runNotificationDeliveries(d.db, { adapter: new ConsoleAdapter({ log: (l) => lines.push(l) }), clock, batchSize: 10 });
    expect(stats).toEqual({ claimed: 1, sent: 1, retrying: 0, failed: 0, stale: 0 });
    expect(lines).toEqual([`[sms ${n.id}] to +•••••••••222: Jamii Credit: your phone is fully paid. The lock is removed for good. Thank you!`]);
    const [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, sentAt: clock.now(), nextAttemptAt: null, lastError: null });
    // Sent is final: another run finds nothing.
    expect(await runNotificationDeliveries(d.db, { adapter: new ConsoleAdapter({ log: (l) => lines.push(l) }), clock })).toMatchObject({ claimed: 0 });
    expect(lines).toHaveLength(1);
  });

  it('sends through an HTTP SMS gateway with bearer auth, retrying a 502 on the shared schedule', async () => {
    const clock = new ManualClock(T0);
    receiver = await startReceiver((req, i) => {
      if (req.headers.authorization !== 'Bearer gw-token-1') return { status: 401, body: 'bad token' };
      return i === 0 ? { status: 502, body: 'upstream busy' } : { status: 202, body: '{"queued":true}' };
    });
    const lenderId = await insertLender(d.db, { name: 'Jamii Credit' });
    const contractId = await insertContract(d.db, lenderId, { phone: '+254733000333', lockReference: 'LR-80', amountOverdue: 99900 });
    const n = await enqueueNotification(d.db, { contractId, kind: 'lock', at: T0 });
    const adapter = new HttpSmsGatewayAdapter({ url: receiver.url, token: 'gw-token-1' });

    expect(await runNotificationDeliveries(d.db, { adapter, clock, random: pinned })).toMatchObject({ claimed: 1, retrying: 1 });
    let [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastError: 'SMS gateway answered HTTP 502: upstream busy' });
    expect(row?.nextAttemptAt).toEqual(new Date(T0.getTime() + 30_000));

    clock.advance(30_000);
    expect(await runNotificationDeliveries(d.db, { adapter, clock, random: pinned })).toMatchObject({ claimed: 1, sent: 1 });
    [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({ status: 'sent', attempts: 2, lastError: null, sentAt: clock.now() });

    expect(receiver.requests).toHaveLength(2);
    for (const req of receiver.requests) {
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req.body)).toEqual({
        to: '+254733000333',
        text: 'Jamii Credit: your phone is locked because Ksh\u00a0999.00 is overdue. Pay to unlock it. Emergency calls still work. Ref LR-80',
        reference: n.id,
      });
    }
  });

  it('fails at once when the gateway refuses the message itself (4xx), without using up retries', async () => {
    const clock = new ManualClock(T0);
    receiver = await startReceiver(() => ({ status: 401, body: 'bad token' }));
    const lenderId = await insertLender(d.db);
    const contractId = await insertContract(d.db, lenderId);
    await enqueueNotification(d.db, { contractId, kind: 'release', at: T0 });
    const adapter = new HttpSmsGatewayAdapter({ url: receiver.url, token: 'wrong' });
    expect(await runNotificationDeliveries(d.db, { adapter, clock })).toMatchObject({ failed: 1 });
    const [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
    expect(row?.lastError).toContain('HTTP 401: bad token');
    expect(receiver.requests[0]?.headers.authorization).toBe('Bearer wrong');
  });

  it('gives up after the last attempt of the policy', async () => {
    const clock = new ManualClock(T0);
    const policy: RetryPolicy = { maxAttempts: 3, delaysMs: [1_000, 5_000], jitter: 0, leaseMs: 60_000 };
    const tried: number[] = [];
    const flaky: NotificationAdapter = {
      async send() {
        tried.push(clock.now().getTime() - T0.getTime());
        throw new Error('modem offline');
      },
    };
    const lenderId = await insertLender(d.db);
    const contractId = await insertContract(d.db, lenderId);
    await enqueueNotification(d.db, { contractId, kind: 'release', at: T0 });
    for (let i = 0; i < 10; i++) {
      await runNotificationDeliveries(d.db, { adapter: flaky, clock, policy });
      clock.advance(1_000);
    }
    // 0 s, then 1 s later, then 5 s after that; never a fourth time.
    expect(tried).toEqual([0, 1_000, 6_000]);
    const [row] = await listNotifications(d.db, contractId);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, lastError: 'modem offline', nextAttemptAt: null });
  });

  it('two workers at once send every notification exactly once', async () => {
    const clock = new ManualClock(T0);
    const sent = new Map<string, number>();
    const slow: NotificationAdapter = {
      async send(m: OutgoingMessage) {
        sent.set(m.id, (sent.get(m.id) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 2));
      },
    };
    const lenderId = await insertLender(d.db);
    const contractId = await insertContract(d.db, lenderId);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await enqueueNotification(d.db, { contractId, kind: 'release', at: T0 })).id);
    const worker = async () => {
      let claimed = 0;
      for (;;) {
        const s = await runNotificationDeliveries(d.db, { adapter: slow, clock, batchSize: 3 });
        if (s.claimed === 0) return claimed;
        claimed += s.claimed;
      }
    };
    const [a, b] = await Promise.all([worker(), worker()]);
    expect((a as number) + (b as number)).toBe(40);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect([...sent.keys()].sort()).toEqual([...ids].sort());
    expect([...sent.values()].every((c) => c === 1)).toBe(true);
  });

  it('validates the gateway settings', () => {
    expect(() => new HttpSmsGatewayAdapter({ url: 'not a url', token: 't' })).toThrow(/not an absolute/);
    expect(() => new HttpSmsGatewayAdapter({ url: 'ftp://x.example', token: 't' })).toThrow(/https/);
    expect(() => new HttpSmsGatewayAdapter({ url: 'https://x.example', token: '' })).toThrow(/token/);
    expect(new PermanentDeliveryError('x')).toBeInstanceOf(Error);
  });
});
