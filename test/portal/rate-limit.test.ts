import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/connection.ts';
import { hit, hitAll, pruneRateLimits, type RateRule } from '../../src/services/rate-limit.ts';
import { openTestDb } from '../store/helpers.ts';

describe('rate limits in the database', () => {
  let database: Database;
  const rule: RateRule = { name: 'test', limit: 3, windowSec: 60 };
  const at = (iso: string) => new Date(iso);

  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('allows up to the limit in a window, then refuses until the window ends', async () => {
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await hit(database.db, rule, 'a', at('2026-03-01T10:00:15Z')));
    expect(seen.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(seen.map((d) => d.count)).toEqual([1, 2, 3, 4, 5]);
    // Window [10:00:00, 10:01:00): 45 s left.
    expect(seen[3]!.retryAfterSec).toBe(45);
    expect((await hit(database.db, rule, 'b', at('2026-03-01T10:00:20Z'))).allowed).toBe(true);
    expect((await hit(database.db, rule, 'a', at('2026-03-01T10:01:00Z'))).allowed).toBe(true);
  });

  it('hitAll refuses when any rule refuses and waits for the longest', async () => {
    const long: RateRule = { name: 'long', limit: 1, windowSec: 3600 };
    const now = at('2026-03-01T11:00:00Z');
    expect((await hitAll(database.db, [{ rule, subject: 'c' }, { rule: long, subject: 'imei' }], now)).allowed).toBe(true);
    const d = await hitAll(database.db, [{ rule, subject: 'c' }, { rule: long, subject: 'imei' }], now);
    expect(d).toMatchObject({ allowed: false, retryAfterSec: 3600 });
  });

  it('prunes ended windows only', async () => {
    const removed = await pruneRateLimits(database.db, at('2026-03-01T10:30:00Z'));
    expect(removed).toBe(3);
    const left = await database.db.selectFrom('rate_limits').select('key').orderBy('key').execute();
    expect(left.map((r) => r.key)).toEqual(['long:imei', 'test:c']);
  });

  it('rejects a rule that cannot work', async () => {
    await expect(hit(database.db, { name: 'bad', limit: 0, windowSec: 60 }, 'x', new Date())).rejects.toThrow(/limit and windowSec/);
  });
});
