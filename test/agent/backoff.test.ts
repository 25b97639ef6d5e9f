import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffSeconds, NO_BACKOFF, recordFailure, secondsRemaining } from '../../src/agent/backoff.ts';

const T0 = Date.parse('2026-03-01T09:00:00Z');

describe('wrong-code backoff', () => {
  it('lets two wrong codes through, then doubles from 30 s and stops at one day', () => {
    // Hand-checked: 30·2^(n−3) s; 30·2^11 = 61 440 s is the last below 86 400.
    const table = [1, 2, 3, 4, 5, 6, 10, 14, 15, 16, 40].map((n) => [n, backoffSeconds(n)]);
    expect(table).toEqual([
      [1, 0],
      [2, 0],
      [3, 30],
      [4, 60],
      [5, 120],
      [6, 240],
      [10, 3840],
      [14, 61440],
      [15, 86400],
      [16, 86400],
      [40, 86400],
    ]);
  });

  it('counts failures in a row and sets the instant codes are accepted again', () => {
    let s = NO_BACKOFF;
    s = recordFailure(s, T0);
    s = recordFailure(s, T0);
    expect(s).toEqual({ failures: 2, until: null });
    s = recordFailure(s, T0);
    expect(s).toEqual({ failures: 3, until: '2026-03-01T09:00:30.000Z' });
    expect(secondsRemaining(s, T0 + 10_500)).toBe(20);
    expect(secondsRemaining(s, T0 + 30_000)).toBe(0);
  });

  it('does not turn a clock moved backwards into a longer wait', () => {
    const s = recordFailure(recordFailure(recordFailure(NO_BACKOFF, T0), T0), T0);
    expect(secondsRemaining(s, T0 - 365 * 86_400_000)).toBe(30);
  });

  it('never shrinks as failures grow and never exceeds a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const a = backoffSeconds(n);
        const b = backoffSeconds(n + 1);
        return a <= b && b <= 86_400 && (n + 1 <= 2 ? b === 0 : b >= 30);
      }),
    );
  });
});
