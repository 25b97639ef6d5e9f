import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboard, percentile } from '../../src/services/views/dashboard.ts';
import { BAD_CREDENTIALS, FREE_FAILURES_PER_ADDRESS, signIn } from '../../src/services/sessions.ts';
import { createUser, hashPassword, verifyPassword } from '../../src/services/users.ts';
import type { Database } from '../../src/store/connection.ts';
import type { Lender } from '../../src/store/schema.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { openTestDb, seedContract, seedLender, servicesOver } from '../store/helpers.ts';

const PLATFORM = { kind: 'operator', id: 'test', lenderId: null } as const;

describe('users, passwords and dashboard numbers', () => {
  let database: Database;
  let lender: Lender;
  const now = new Date('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    database = await openTestDb();
    lender = await seedLender(database.db);
  });
  afterAll(() => database.close());
  const svc = () => servicesOver(database, new ManualClock(now));

  it('stores scrypt hashes with their parameters and a random salt; verifies only the right password', async () => {
    const a = await hashPassword('same password here');
    const b = await hashPassword('same password here');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password here', a)).toBe(true);
    expect(await verifyPassword('same password herE', a)).toBe(false);
    // The cost parameters are read from the stored string: the same salt under another N is another key.
    const cheap = a.replace('scrypt$16384$', 'scrypt$1024$');
    expect(await verifyPassword('same password here', cheap)).toBe(false);
    expect(await verifyPassword('x', 'bcrypt$whatever')).toBe(false);
  });

  it('createUser keeps the signature the demo uses and refuses bad input clearly', async () => {
    const u = await createUser(await svc(), PLATFORM, { lenderId: lender.id, email: ' Demo@Acme.Example ', name: 'Demo', password: 'demo-password-1', role: 'admin' });
    expect(u).toMatchObject({ email: 'demo@acme.example', role: 'admin', lenderId: lender.id, disabledAt: null });
    const row = await database.db.selectFrom('users').select('password_hash').where('id', '=', u.id).executeTakeFirstOrThrow();
    expect(row.password_hash).not.toContain('demo-password-1');
    await expect(createUser(await svc(), PLATFORM, { lenderId: lender.id, email: 'demo@acme.example', name: 'Again', password: 'demo-password-1', role: 'viewer' })).rejects.toThrow(/already exists/);
    await expect(createUser(await svc(), PLATFORM, { lenderId: lender.id, email: 'not-an-email', name: 'X', password: 'demo-password-1', role: 'viewer' })).rejects.toThrow(/not an email/);
    await expect(createUser(await svc(), PLATFORM, { lenderId: null, email: 'o@acme.example', name: 'X', password: 'demo-password-1', role: 'admin' })).rejects.toThrow(/Operator users/);
    await expect(createUser(await svc(), PLATFORM, { lenderId: lender.id, email: 'p@acme.example', name: 'X', password: 'short', role: 'viewer' })).rejects.toThrow(/10 to 200/);
    const s = await signIn(database.db, { email: 'DEMO@acme.example', password: 'demo-password-1', ip: '10.0.0.1', now });
    expect(s.session).toMatchObject({ userId: u.id, lenderId: lender.id, role: 'admin', lenderName: lender.name });
    const stored = await database.db.selectFrom('sessions').select('id').where('user_id', '=', u.id).executeTakeFirstOrThrow();
    expect(stored.id).not.toBe(s.token); // only the hash is stored
  });

  it('throttles sign-in per IP across emails, and only that IP', async () => {
    const at = new Date('2026-03-02T10:00:00Z');
    await createUser(await svc(), PLATFORM, { lenderId: lender.id, email: 'ip@acme.example', name: 'Ip', password: 'ip-password-123', role: 'viewer' });
    for (let i = 0; i < FREE_FAILURES_PER_ADDRESS; i++) {
      await expect(signIn(database.db, { email: `guess${i}@acme.example`, password: 'wrong-password', ip: '203.0.113.9', now: at })).rejects.toThrow(BAD_CREDENTIALS);
    }
    await expect(signIn(database.db, { email: 'ip@acme.example', password: 'ip-password-123', ip: '203.0.113.9', now: at })).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(signIn(database.db, { email: 'ip@acme.example', password: 'ip-password-123', ip: '198.51.100.7', now: at })).resolves.toMatchObject({ session: { email: 'ip@acme.example' } });
  });

  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([4], 95)).toBe(4);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
  });

  it('dashboard: held locks with their reason, stale channels, stage counts and overdue sum', async () => {
    await seedContract(database.db, lender, { stage: 'notice', stage_reason: 'held_open_claim', amount_overdue: 50_000 } as never);
    await seedContract(database.db, lender, { stage: 'locked', stage_reason: 'dpd_locked', amount_overdue: 70_000 } as never);
    await seedContract(database.db, lender, { stage: 'current', stage_reason: 'not_past_due' } as never);
    await database.db.insertInto('payment_channels').values([
      { lender_id: lender.id, channel: 'mpesa', freshness_minutes: 60, last_reported_at: new Date(now.getTime() - 2 * 3600_000) },
      { lender_id: lender.id, channel: 'bank', freshness_minutes: 1440, last_reported_at: new Date(now.getTime() - 3600_000) },
    ]).execute();
    const other = await seedLender(database.db, 'Elsewhere');
    await seedContract(database.db, other, { stage: 'locked', stage_reason: 'held_stale_feed', amount_overdue: 1 } as never);

    const d = await dashboard(database.db, lender.id, now);
    expect(d.stages).toEqual({ notice: 1, locked: 1, current: 1 });
    expect(d.overdue).toEqual({ amount: 120_000, contracts: 2 });
    expect(d.held.map((h) => h.reason)).toEqual(['held_open_claim']);
    expect(d.staleChannels.map((c) => c.channel)).toEqual(['mpesa']);
    expect(d.perDay).toHaveLength(30);
    expect(d.perDay.at(-1)!.day).toBe('2026-03-01');
  });
});
