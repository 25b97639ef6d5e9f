import { describe, expect, it } from 'vitest';
import { decideStage, type StageInput } from '../../src/domain/stage.ts';
import { INDIA_2026_DRAFT } from '../../src/domain/profiles/index.ts';
import { input } from './support.ts';

// Oldest unpaid installment due 2026-01-01, no grace: DPD on a date = days since 1 January.
// 2026-03-01 = 59, 03-02 = 60, 03-17 = 75, 03-20 = 78, 03-23 = 81, 03-31 = 89, 04-01 = 90,
// 04-07 = 96, 04-14 = 103.
const india = (over: Partial<StageInput>) =>
  decideStage(input(INDIA_2026_DRAFT, { overdueSince: '2026-01-01', currentStage: 'reminder', ...over }));

const NOTICE_1_SHOWN = '2026-03-02T10:00:00.000Z';
const NOTICE_2_SHOWN = '2026-03-23T12:00:00.000Z';
const bothShown = [
  { index: 0, shownAt: NOTICE_1_SHOWN },
  { index: 1, shownAt: NOTICE_2_SHOWN },
];

describe('India 2026 draft profile', () => {
  it('at 59 DPD there is no notice yet; the next look is when 60 DPD begins', () => {
    const d = india({ now: '2026-03-01T09:00:00Z', businessDate: '2026-03-01', daysPastDue: 59 });
    expect(d).toEqual({
      stage: 'reminder',
      reason: 'dpd_below_notice',
      noticeIndex: null,
      lockAt: null,
      nextEvaluationAt: '2026-03-02T00:00:00.000Z',
      held: null,
    });
  });

  it('at 60 DPD issues the first notice; no lock can be scheduled before the device shows it', () => {
    const d = india({ now: '2026-03-02T09:00:00Z', businessDate: '2026-03-02', daysPastDue: 60 });
    expect(d).toMatchObject({ stage: 'notice', reason: 'notice_issued', noticeIndex: 0, lockAt: null, held: null });
  });

  it('the 21 cure days run from the device showing the notice, not from when it was issued', () => {
    const shown = [{ index: 0, shownAt: NOTICE_1_SHOWN }];
    // 81 DPD begins at midnight, but notice 1 was shown at 10:00 on day 60: still notice 1.
    const early = india({ now: '2026-03-23T09:59:59Z', businessDate: '2026-03-23', daysPastDue: 81, noticesShown: shown });
    expect(early).toMatchObject({ stage: 'notice', noticeIndex: 0, lockAt: null });
    expect(early.nextEvaluationAt).toBe('2026-03-23T10:00:00.000Z');

    const later = india({ now: '2026-03-23T10:00:00Z', businessDate: '2026-03-23', daysPastDue: 81, noticesShown: shown });
    expect(later).toMatchObject({ stage: 'notice', reason: 'notice_issued', noticeIndex: 1, lockAt: null });
  });

  it('while only the first notice is shown no lock is scheduled, even late in its cure period', () => {
    const d = india({ now: '2026-03-20T09:00:00Z', businessDate: '2026-03-20', daysPastDue: 78, noticesShown: [{ index: 0, shownAt: NOTICE_1_SHOWN }] });
    expect(d).toMatchObject({ stage: 'notice', noticeIndex: 0, lockAt: null, held: null });
  });

  it('after the second notice is shown, the lock is scheduled for the start of 90 DPD', () => {
    const d = india({ now: '2026-03-23T13:00:00Z', businessDate: '2026-03-23', daysPastDue: 81, noticesShown: bothShown });
    // Second notice's 7 days end 03-30 12:00, before 90 DPD (04-01 00:00): the DPD floor decides.
    expect(d).toMatchObject({ stage: 'notice', noticeIndex: 1, lockAt: '2026-04-01T00:00:00.000Z', held: null });
    expect(d.nextEvaluationAt).toBe('2026-03-30T12:00:00.000Z');
  });

  it('89 DPD with both notices over is still not a lock: locking only from 90 DPD', () => {
    const d = india({ now: '2026-03-31T23:59:59Z', businessDate: '2026-03-31', daysPastDue: 89, noticesShown: bothShown });
    expect(d).toMatchObject({ stage: 'notice', lockAt: '2026-04-01T00:00:00.000Z' });
    const manual = india({ now: '2026-03-31T12:00:00Z', businessDate: '2026-03-31', daysPastDue: 89, noticesShown: bothShown, manual: { action: 'lock' } });
    expect(manual).toMatchObject({ stage: 'notice', reason: 'manual_lock_before_profile_dpd' });
  });

  it('locks at 90 DPD once both notices were shown and their periods are over', () => {
    const d = india({ now: '2026-04-01T00:00:00Z', businessDate: '2026-04-01', daysPastDue: 90, noticesShown: bothShown, currentStage: 'notice' });
    expect(d).toMatchObject({ stage: 'locked', reason: 'dpd_locked', noticeIndex: 1, lockAt: null, held: null });
  });

  describe('a device that was offline when the first notice was due', () => {
    const lateFirst = [{ index: 0, shownAt: '2026-03-17T08:00:00Z' }]; // shown at 75 DPD

    it('is not locked at 90 DPD: the first notice still has its full 21 days', () => {
      const d = india({ now: '2026-04-01T06:00:00Z', businessDate: '2026-04-01', daysPastDue: 90, noticesShown: lateFirst, currentStage: 'notice' });
      expect(d).toEqual({
        stage: 'notice',
        reason: 'awaiting_notice_period',
        noticeIndex: 0,
        lockAt: null,
        nextEvaluationAt: '2026-04-07T08:00:00.000Z',
        held: 'notice_period',
      });
    });

    it('then gets the second notice, and 7 days after the device shows it, the lock', () => {
      const issued = india({ now: '2026-04-07T08:00:00Z', businessDate: '2026-04-07', daysPastDue: 96, noticesShown: lateFirst, currentStage: 'notice' });
      expect(issued).toMatchObject({ stage: 'notice', reason: 'awaiting_notice_display', noticeIndex: 1, held: 'notice_period', lockAt: null });

      const shown = [...lateFirst, { index: 1, shownAt: '2026-04-07T09:00:00Z' }];
      const waiting = india({ now: '2026-04-07T10:00:00Z', businessDate: '2026-04-07', daysPastDue: 96, noticesShown: shown, currentStage: 'notice' });
      expect(waiting).toMatchObject({ stage: 'notice', reason: 'awaiting_notice_period', held: 'notice_period', lockAt: '2026-04-14T09:00:00.000Z' });

      const before = india({ now: '2026-04-14T08:59:59Z', businessDate: '2026-04-14', daysPastDue: 103, noticesShown: shown, currentStage: 'notice' });
      expect(before.stage).toBe('notice');
      const at = india({ now: '2026-04-14T09:00:00Z', businessDate: '2026-04-14', daysPastDue: 103, noticesShown: shown, currentStage: 'notice' });
      expect(at).toMatchObject({ stage: 'locked', held: null });
    });
  });

  it('notices shown in an earlier overdue episode do not count for this one', () => {
    const old = [
      { index: 0, shownAt: '2025-10-01T10:00:00Z' },
      { index: 1, shownAt: '2025-10-25T10:00:00Z' },
    ];
    const d = india({ now: '2026-04-01T06:00:00Z', businessDate: '2026-04-01', daysPastDue: 90, noticesShown: old });
    expect(d).toMatchObject({ stage: 'notice', noticeIndex: 0, held: 'notice_period', reason: 'awaiting_notice_display', lockAt: null });
  });

  it('business dates are Indian dates: 90 DPD begins at midnight IST', () => {
    const d = india({
      timeZone: 'Asia/Kolkata',
      now: '2026-03-23T13:00:00Z',
      businessDate: '2026-03-23',
      daysPastDue: 81,
      noticesShown: bothShown,
    });
    expect(d.lockAt).toBe('2026-03-31T18:30:00.000Z');
  });

  it('unlocks at once when the arrears are cleared', () => {
    const d = india({ now: '2026-04-02T10:00:00Z', businessDate: '2026-04-02', daysPastDue: 0, overdueSince: null, nextDueDate: '2026-04-10', noticesShown: bothShown, currentStage: 'locked' });
    expect(d).toMatchObject({ stage: 'current', reason: 'arrears_cleared', lockAt: null, noticeIndex: null, held: null });
  });
});
