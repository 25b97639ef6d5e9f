import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, diffDays } from '../../src/domain/dates.ts';
import { disputedDays, offlineRenewalDue, transitionAction } from '../../src/domain/evaluation.ts';
import { STAGES } from '../../src/domain/stage.ts';

const day = fc.integer({ min: 0, max: 120 }).map((n) => addDays('2026-01-01', n));

describe('pure evaluation helpers', () => {
  it('disputedDays counts each day of [from, to) under some dispute once, however disputes overlap', () => {
    expect(disputedDays([], '2026-01-01', '2026-01-10')).toBe(0);
    expect(disputedDays([{ from: '2026-01-03', to: '2026-01-05' }, { from: '2026-01-04', to: '2026-01-06' }], '2026-01-01', '2026-01-10')).toBe(3);
    expect(disputedDays([{ from: '2025-12-20', to: null }], '2026-01-01', '2026-01-10')).toBe(9);
    fc.assert(
      fc.property(fc.array(fc.tuple(day, fc.option(day)), { maxLength: 6 }), day, day, (raw, a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        const disputes = raw.map(([x, y]) => ({ from: x, to: y }));
        const n = disputedDays(disputes, from, to);
        // Never more than the span, never less than the longest single dispute inside it.
        expect(n).toBeLessThanOrEqual(diffDays(to, from));
        for (const d of disputes) {
          const start = d.from > from ? d.from : from;
          const end = d.to === null || d.to > to ? to : d.to;
          if (end > start) expect(n).toBeGreaterThanOrEqual(diffDays(end, start));
        }
        // Listing a dispute twice changes nothing.
        expect(disputedDays([...disputes, ...disputes], from, to)).toBe(n);
      }),
    );
  });

  it('an offline deadline is renewed once its renewal instant has passed, never without one', () => {
    const now = new Date('2026-03-01T00:00:00Z');
    expect(offlineRenewalDue(null, now)).toBe(false);
    expect(offlineRenewalDue(now.getTime() - 1, now)).toBe(true);
    expect(offlineRenewalDue(now.getTime(), now)).toBe(false);
  });

  it('names every stage change from the borrower’s side, and none for no change', () => {
    for (const s of STAGES) expect(transitionAction(s, s)).toBeNull();
    expect(transitionAction('notice', 'locked')).toBe('device.locked');
    expect(transitionAction('locked', 'current')).toBe('device.unlocked');
    expect(transitionAction('locked', 'released')).toBe('device.released');
    expect(transitionAction('current', 'restricted')).toBe('device.restricted');
    expect(transitionAction('restricted', 'locked')).toBe('device.locked');
    expect(transitionAction('current', 'notice')).toBe('contract.stage_changed');
  });
});
