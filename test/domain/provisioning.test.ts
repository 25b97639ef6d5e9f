import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideProvisioning, MAX_RETRY_MS, MIN_RETRY_MS } from '../../src/domain/provisioning.ts';

const T0 = Date.parse('2026-05-01T08:00:00Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(T0 + ms);

describe('decideProvisioning', () => {
  it('enrolls a financed phone, stops a retail or unknown one whatever the time', () => {
    expect(decideProvisioning({ saleStatus: 'financed', firstContactAt: at(-400 * DAY), now: at(0), windowDays: 30 })).toEqual({ kind: 'enroll' });
    expect(decideProvisioning({ saleStatus: 'retail', firstContactAt: null, now: at(0), windowDays: 30 })).toEqual({ kind: 'stop', reason: 'retail' });
    expect(decideProvisioning({ saleStatus: null, firstContactAt: null, now: at(0), windowDays: 30 })).toEqual({ kind: 'stop', reason: 'not_registered' });
  });

  it('retries an unsold phone with a growing interval until the window closes, then stops', () => {
    expect(decideProvisioning({ saleStatus: 'unsold', firstContactAt: null, now: at(0), windowDays: 30 })).toEqual({ kind: 'retry', retryAt: at(MIN_RETRY_MS), windowEndsAt: at(30 * DAY) });
    expect(decideProvisioning({ saleStatus: 'unsold', firstContactAt: at(0), now: at(6 * 3_600_000), windowDays: 30 })).toMatchObject({ retryAt: at(9 * 3_600_000) });
    expect(decideProvisioning({ saleStatus: 'unsold', firstContactAt: at(0), now: at(10 * DAY), windowDays: 30 })).toMatchObject({ retryAt: at(11 * DAY) });
    expect(decideProvisioning({ saleStatus: 'unsold', firstContactAt: at(0), now: at(30 * DAY - 1), windowDays: 30 })).toMatchObject({ retryAt: at(30 * DAY) });
    expect(decideProvisioning({ saleStatus: 'unsold', firstContactAt: at(0), now: at(30 * DAY), windowDays: 30 })).toEqual({ kind: 'stop', reason: 'window_closed' });
  });

  it('always retries within the window, between the bounds, never past its end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 365 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (windowDays, f) => {
        const now = Math.floor(f * windowDays * DAY);
        const d = decideProvisioning({ saleStatus: 'unsold', firstContactAt: at(0), now: at(now), windowDays });
        if (d.kind !== 'retry') throw new Error(`expected a retry, got ${JSON.stringify(d)}`);
        const wait = d.retryAt.getTime() - (T0 + now);
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(MAX_RETRY_MS);
        expect(d.retryAt.getTime() === T0 + windowDays * DAY || wait >= MIN_RETRY_MS).toBe(true);
        expect(d.retryAt.getTime()).toBeLessThanOrEqual(T0 + windowDays * DAY);
      }),
    );
  });
});
