import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, afterFailure, backoffDelayMs, describeError, startJobLoop, type RetryPolicy } from '../../src/jobs/delivery.ts';

const at = new Date('2026-03-10T09:00:00Z');

describe('retry schedule', () => {
  it('waits 30 s, 2 min, 10 min, 1 h, 6 h, 12 h, then a day, with jitter pinned at its midpoint', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffDelayMs(DEFAULT_RETRY_POLICY, n, () => 0.5) / 1000);
    expect(waits).toEqual([30, 120, 600, 3600, 21600, 43200, 86400, 86400, 86400]);
  });

  it('spreads each wait by at most ±10%, reaching both ends', () => {
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0)).toBe(27_000);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0.999999)).toBe(33_000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
        const base = DEFAULT_RETRY_POLICY.delaysMs[Math.min(failures, DEFAULT_RETRY_POLICY.delaysMs.length) - 1] as number;
        const wait = backoffDelayMs(DEFAULT_RETRY_POLICY, failures, () => r);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
        expect(wait).toBeLessThanOrEqual(Math.ceil(base * 1.1));
      }),
    );
  });

  it('property: waits never shrink from one failure to the next at the same jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        expect(backoffDelayMs(DEFAULT_RETRY_POLICY, n + 1, () => r)).toBeGreaterThanOrEqual(backoffDelayMs(DEFAULT_RETRY_POLICY, n, () => r));
      }),
    );
  });

  it('schedules the next attempt until the last one, then fails', () => {
    const policy: RetryPolicy = { maxAttempts: 3, delaysMs: [1_000, 4_000], jitter: 0, leaseMs: 60_000 };
    expect(afterFailure(policy, 1, at)).toEqual({ status: 'pending', nextAttemptAt: new Date(at.getTime() + 1_000) });
    expect(afterFailure(policy, 2, at)).toEqual({ status: 'pending', nextAttemptAt: new Date(at.getTime() + 4_000) });
    expect(afterFailure(policy, 3, at)).toEqual({ status: 'failed', nextAttemptAt: null });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(10);
    // The lease must outlast a send, whose timeout is 10 s.
    expect(DEFAULT_RETRY_POLICY.leaseMs).toBeGreaterThan(10_000);
  });

  it('describes errors on one short line, with their cause', () => {
    const e = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    expect(describeError(e)).toBe('TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:9');
    expect(describeError(new Error('a\n  b'))).toBe('a b');
    expect(describeError('x'.repeat(600))).toHaveLength(500);
  });
});

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startJobLoop', () => {
  it('runs the job repeatedly, never two runs at once, and stop waits for the run in flight', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let finished = 0;
    const loop = startJobLoop(async () => {
      active++;
      runs++;
      maxActive = Math.max(maxActive, active);
      await tick(15);
      active--;
      finished++;
    }, 1);
    await tick(80);
    loop.wake();
    loop.wake();
    await loop.stop();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(maxActive).toBe(1);
    // Nothing was cut off by stop, and nothing starts after it.
    expect(finished).toBe(runs);
    await tick(40);
    expect(runs).toBe(finished);
  });

  it('keeps going after a run throws, reporting the error', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const loop = startJobLoop(
      async () => {
        runs++;
        if (runs === 1) throw new Error('database restarting');
      },
      1,
      { onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 50 && runs < 3; i++) await tick(5);
    await loop.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('database restarting');
  });

  it('waits the interval between runs unless woken', async () => {
    let runs = 0;
    const loop = startJobLoop(async () => {
      runs++;
    }, 60_000);
    await tick(20);
    expect(runs).toBe(1);
    loop.wake();
    await tick(20);
    expect(runs).toBe(2);
    await loop.stop();
    loop.wake();
    await tick(20);
    expect(runs).toBe(2);
  });
});
