/**
 * Issue #12 M2: sign-in throttling counts atomically, per account+address and per address, with
 * growing delays; a stranger cannot lock a user out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLienError } from '../../src/domain/errors.ts';
import { FREE_FAILURES_PER_ACCOUNT_ADDRESS, signIn } from '../../src/services/sessions.ts';
import { createUser } from '../../src/services/users.ts';
import type { Database } from '../../src/store/connection.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { openTestDb, seedLender, servicesOver } from '../store/helpers.ts';

describe('issue #12 M2: sign-in throttle', () => {
  let database: Database;
  const t0 = new Date('2026-03-01T10:00:00Z');
  const PASSWORD = 'the right password';

  beforeAll(async () => {
    database = await openTestDb();
    const lender = await seedLender(database.db);
    const s = await servicesOver(database, new ManualClock(t0));
    for (const email of ['race@acme.example', 'owner@acme.example', 'slow@acme.example']) {
      await createUser(s, { kind: 'operator', id: 'test', lenderId: null }, { lenderId: lender.id, email, name: 'N', password: PASSWORD, role: 'viewer' });
    }
  });
  afterAll(() => database.close());

  const attempt = (email: string, password: string, ip: string, now: Date) =>
    signIn(database.db, { email, password, ip, now }).then(
      () => 'signed_in' as const,
      (e: unknown) => (isLienError(e) ? e.code : Promise.reject(e)),
    );

  it('M2: 20 simultaneous sign-ins to one account (19 wrong, 1 right) try at most the free attempts; the rest wait', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt('race@acme.example', i === 19 ? PASSWORD : `wrong-${i}-password`, '203.0.113.7', t0)),
    );
    const tried = results.filter((r) => r !== 'rate_limited');
    expect(tried.length).toBeLessThanOrEqual(FREE_FAILURES_PER_ACCOUNT_ADDRESS);
    expect(results.filter((r) => r === 'rate_limited').length).toBeGreaterThanOrEqual(20 - FREE_FAILURES_PER_ACCOUNT_ADDRESS);
    expect(results).not.toContain('signed_in');
  });

  it("M2: a stranger's failures from another address do not lock the owner out", async () => {
    for (let i = 0; i < 12; i++) expect(await attempt('owner@acme.example', `guess-${i}-password`, '198.51.100.66', t0)).toMatch(/unauthorized|rate_limited/);
    expect(await attempt('owner@acme.example', PASSWORD, '192.0.2.10', t0)).toBe('signed_in');
  });

  it('M2: delays grow after the free failures (1 s, 2 s, 4 s…) and a success clears them', async () => {
    let now = t0.getTime() + 3_600_000;
    const at = () => new Date(now);
    for (let i = 0; i < FREE_FAILURES_PER_ACCOUNT_ADDRESS; i++) expect(await attempt('slow@acme.example', 'wrong password!', '192.0.2.50', at())).toBe('unauthorized');
    const waits: number[] = [];
    for (let k = 0; k < 3; k++) {
      const refused = await signIn(database.db, { email: 'slow@acme.example', password: PASSWORD, ip: '192.0.2.50', now: at() }).catch((e: { code: string; details: { retryAfterSec: number } }) => e);
      expect(refused).toMatchObject({ code: 'rate_limited' });
      waits.push((refused as { details: { retryAfterSec: number } }).details.retryAfterSec);
      now += waits[k]! * 1000;
      expect(await attempt('slow@acme.example', 'wrong password!', '192.0.2.50', at())).toBe('unauthorized');
    }
    expect(waits).toEqual([1, 2, 4]);
    now += 8_000;
    expect(await attempt('slow@acme.example', PASSWORD, '192.0.2.50', at())).toBe('signed_in');
    expect(await attempt('slow@acme.example', 'wrong password!', '192.0.2.50', at())).toBe('unauthorized');
  });
});
