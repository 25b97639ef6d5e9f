import { describe, expect, it } from 'vitest';
import { decideStage, type StageInput } from '../../src/domain/stage.ts';
import { RETAIL_SHORT_CYCLE } from '../../src/domain/profiles/index.ts';
import { input } from './support.ts';

const retail = (over: Partial<StageInput>) => decideStage(input(RETAIL_SHORT_CYCLE, over));

// Installment due 2026-03-10, one day of grace: DPD 0 on 03-11, 1 on 03-12, 3 on 03-14, 5 on 03-16.
const overdue = (date: string, dpd: number, time = '09:00:00', over: Partial<StageInput> = {}) =>
  retail({
    now: `${date}T${time}Z`,
    businessDate: date,
    daysPastDue: dpd,
    overdueSince: '2026-03-10',
    nextDueDate: '2026-04-10',
    ...over,
  });
const SHOWN = [{ index: 0, shownAt: '2026-03-12T08:00:00Z' }]; // period: max(24 h, 2 days) → 03-14 08:00

describe('retail short-cycle profile', () => {
  describe('before the due date', () => {
    const before = (date: string) => retail({ now: `${date}T09:00:00Z`, businessDate: date, nextDueDate: '2026-03-10' });

    it('is current until 3 days before due, and knows when that begins', () => {
      expect(before('2026-03-06')).toMatchObject({ stage: 'current', reason: 'not_past_due', nextEvaluationAt: '2026-03-07T00:00:00.000Z' });
    });

    it('reminds from 3 days before due through the due date', () => {
      expect(before('2026-03-07')).toMatchObject({ stage: 'reminder', reason: 'reminder_window', nextEvaluationAt: '2026-03-09T00:00:00.000Z' });
      expect(before('2026-03-09')).toMatchObject({ stage: 'reminder', nextEvaluationAt: '2026-03-11T00:00:00.000Z' });
      expect(before('2026-03-10')).toMatchObject({ stage: 'reminder', lockAt: null, held: null });
    });
  });

  it('during grace it reminds and looks again the next day', () => {
    expect(overdue('2026-03-11', 0)).toMatchObject({ stage: 'reminder', reason: 'in_grace', noticeIndex: null, nextEvaluationAt: '2026-03-12T00:00:00.000Z' });
  });

  it('at 1 DPD issues the notice; nothing is scheduled until the device shows it', () => {
    expect(overdue('2026-03-12', 1)).toEqual({
      stage: 'notice',
      reason: 'notice_issued',
      noticeIndex: 0,
      lockAt: null,
      nextEvaluationAt: '2026-03-14T00:00:00.000Z',
      held: null,
    });
  });

  it('once shown, schedules the lock for the start of 5 DPD', () => {
    expect(overdue('2026-03-12', 1, '09:00:00', { noticesShown: SHOWN })).toMatchObject({ stage: 'notice', lockAt: '2026-03-16T00:00:00.000Z', held: null });
  });

  it('at 3 DPD holds the restriction until the 2 cure days since display are over', () => {
    expect(overdue('2026-03-14', 3, '07:59:59', { noticesShown: SHOWN })).toEqual({
      stage: 'notice',
      reason: 'awaiting_notice_period',
      noticeIndex: 0,
      lockAt: '2026-03-16T00:00:00.000Z',
      nextEvaluationAt: '2026-03-14T08:00:00.000Z',
      held: 'notice_period',
    });
    expect(overdue('2026-03-14', 3, '08:00:00', { noticesShown: SHOWN })).toMatchObject({
      stage: 'restricted',
      reason: 'dpd_restricted',
      lockAt: '2026-03-16T00:00:00.000Z',
      nextEvaluationAt: '2026-03-16T00:00:00.000Z',
      held: null,
    });
  });

  it('locks at 5 DPD', () => {
    expect(overdue('2026-03-16', 5, '00:00:00', { noticesShown: SHOWN, currentStage: 'restricted' })).toMatchObject({ stage: 'locked', reason: 'dpd_locked', lockAt: null, nextEvaluationAt: null });
  });

  it('a lower DPD after a part payment lifts the lock back to restricted', () => {
    expect(overdue('2026-03-17', 4, '09:00:00', { noticesShown: SHOWN, currentStage: 'locked' })).toMatchObject({ stage: 'restricted' });
  });

  describe('manual actions', () => {
    it('a manual lock turns a restriction into a lock', () => {
      expect(overdue('2026-03-14', 3, '09:00:00', { noticesShown: SHOWN, manual: { action: 'lock' } })).toMatchObject({ stage: 'locked', reason: 'manual_lock', lockAt: null });
    });

    it('a manual lock before the restricted DPD locks nothing now but brings the scheduled lock forward', () => {
      const d = overdue('2026-03-13', 2, '09:00:00', { noticesShown: SHOWN, manual: { action: 'lock' } });
      expect(d).toMatchObject({ stage: 'notice', reason: 'manual_lock_before_profile_dpd', lockAt: '2026-03-14T08:00:00.000Z' });
    });

    it('a manual lock that expires before it could apply leaves the profile schedule', () => {
      const d = overdue('2026-03-13', 2, '09:00:00', { noticesShown: SHOWN, manual: { action: 'lock', until: '2026-03-14T06:00:00Z' } });
      expect(d).toMatchObject({ stage: 'notice', lockAt: '2026-03-16T00:00:00.000Z' });
    });

    it('a manual unlock keeps a locked device open until it runs out', () => {
      const manual = { action: 'unlock' as const, until: '2026-03-18T00:00:00Z' };
      const during = overdue('2026-03-16', 5, '10:00:00', { noticesShown: SHOWN, currentStage: 'locked', manual });
      expect(during).toEqual({
        stage: 'notice',
        reason: 'manual_unlock',
        noticeIndex: 0,
        lockAt: null,
        nextEvaluationAt: '2026-03-18T00:00:00.000Z',
        held: null,
      });
      expect(overdue('2026-03-18', 7, '00:00:00', { noticesShown: SHOWN, currentStage: 'notice', manual })).toMatchObject({ stage: 'locked' });
    });

    it('a pause without an end holds escalation until the lender clears it', () => {
      const d = overdue('2026-03-20', 9, '10:00:00', { noticesShown: SHOWN, currentStage: 'locked', manual: { action: 'pause' } });
      expect(d).toMatchObject({ stage: 'notice', reason: 'manual_pause', lockAt: null, nextEvaluationAt: null });
    });
  });

  it('paid off, written off and returned contracts never lock', () => {
    const late = { noticesShown: SHOWN, currentStage: 'locked' as const };
    expect(overdue('2026-03-20', 9, '10:00:00', { ...late, contractStatus: 'paid_off' })).toEqual({ stage: 'released', reason: 'paid_off', noticeIndex: null, lockAt: null, nextEvaluationAt: null, held: null });
    expect(overdue('2026-03-20', 9, '10:00:00', { ...late, contractStatus: 'written_off' }).stage).toBe('written_off');
    expect(overdue('2026-03-20', 9, '10:00:00', { ...late, contractStatus: 'returned' }).stage).toBe('returned');
  });
});
