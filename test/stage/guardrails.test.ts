import { describe, expect, it } from 'vitest';
import { validateProfile, type ComplianceProfile } from '../../src/domain/compliance.ts';
import { decideStage, isLocking, escalationRank, ESCALATION_STAGES, type StageInput } from '../../src/domain/stage.ts';
import { RETAIL_SHORT_CYCLE } from '../../src/domain/profiles/index.ts';
import { input } from './support.ts';

// Retail profile, 6 DPD on 2026-03-17, the notice shown on 03-12 and long over: a lock is due.
const SHOWN = [{ index: 0, shownAt: '2026-03-12T08:00:00Z' }];
const lockable: Partial<StageInput> = {
  now: '2026-03-17T09:00:00Z',
  businessDate: '2026-03-17',
  daysPastDue: 6,
  overdueSince: '2026-03-10',
  nextDueDate: '2026-04-10',
  noticesShown: SHOWN,
  currentStage: 'restricted',
};
const decide = (over: Partial<StageInput> = {}, profile: ComplianceProfile = RETAIL_SHORT_CYCLE) =>
  decideStage(input(profile, { ...lockable, ...over }));

describe('guardrails', () => {
  it('baseline: with nothing in the way the device locks', () => {
    expect(decide()).toMatchObject({ stage: 'locked', held: null });
  });

  it.each([0, -3])('never restricts or locks a device that is not past due (DPD %i), and unlocks at once', (dpd) => {
    const d = decide({ daysPastDue: dpd, overdueSince: null, currentStage: 'locked', manual: { action: 'lock' } });
    expect(isLocking(d.stage)).toBe(false);
    expect(d).toMatchObject({ reason: 'arrears_cleared', lockAt: null });
  });

  it('never locks without a recorded consent, and lifts an existing lock', () => {
    for (const currentStage of ['notice', 'locked'] as const) {
      expect(decide({ consentRecorded: false, currentStage })).toMatchObject({ stage: 'notice', held: 'no_consent', reason: 'no_consent', lockAt: null });
    }
  });

  it('never locks while a dispute is open', () => {
    expect(decide({ openDispute: true, currentStage: 'locked' })).toMatchObject({ stage: 'notice', held: 'dispute', reason: 'held_open_dispute', lockAt: null });
  });

  it('never locks while a payment claim is open', () => {
    expect(decide({ openClaim: true, currentStage: 'locked' })).toMatchObject({ stage: 'notice', held: 'claim', reason: 'held_open_claim', lockAt: null });
  });

  it('a manual lock obeys the guardrails too', () => {
    const at3 = { now: '2026-03-14T09:00:00Z', businessDate: '2026-03-14', daysPastDue: 3, currentStage: 'notice' as const, manual: { action: 'lock' as const } };
    expect(decide(at3).stage).toBe('locked');
    expect(decide({ ...at3, openDispute: true })).toMatchObject({ stage: 'notice', held: 'dispute' });
    expect(decide({ ...at3, consentRecorded: false })).toMatchObject({ stage: 'notice', held: 'no_consent' });
    expect(decide({ ...at3, noticesShown: [] })).toMatchObject({ stage: 'notice', held: 'notice_period', reason: 'awaiting_notice_display' });
    expect(decide({ ...at3, paymentFeedStale: true })).toMatchObject({ stage: 'notice', held: 'stale_feed' });
  });

  it('a guardrail also cancels a lock that would otherwise be scheduled', () => {
    const restrictedNow = { now: '2026-03-14T09:00:00Z', businessDate: '2026-03-14', daysPastDue: 3, currentStage: 'notice' as const };
    expect(decide(restrictedNow)).toMatchObject({ stage: 'restricted', lockAt: '2026-03-16T00:00:00.000Z' });
    expect(decide({ ...restrictedNow, openClaim: true })).toMatchObject({ stage: 'notice', held: 'claim', lockAt: null });
    const noticeOnly = { now: '2026-03-12T09:00:00Z', businessDate: '2026-03-12', daysPastDue: 1, currentStage: 'notice' as const };
    expect(decide(noticeOnly)).toMatchObject({ stage: 'notice', held: null, lockAt: '2026-03-16T00:00:00.000Z' });
    expect(decide({ ...noticeOnly, openDispute: true })).toMatchObject({ stage: 'notice', held: 'dispute', lockAt: null });
    expect(decide({ ...noticeOnly, paymentFeedStale: true })).toMatchObject({ stage: 'notice', held: 'stale_feed', lockAt: null });
  });

  describe('notice period', () => {
    it('never locks before the device displayed the notice', () => {
      expect(decide({ noticesShown: [], currentStage: 'locked' })).toMatchObject({ stage: 'notice', held: 'notice_period', reason: 'awaiting_notice_display', noticeIndex: 0, lockAt: null });
    });

    it('holds for the minimum hours when they exceed the cure days', () => {
      const profile = validateProfile({ ...RETAIL_SHORT_CYCLE, minNoticeHoursBeforeLock: 72, notices: [{ atDpd: 1, cureDays: 0 }] });
      const shownAt = '2026-03-15T09:00:00Z';
      const early = decide({ noticesShown: [{ index: 0, shownAt }], now: '2026-03-18T08:59:59Z', businessDate: '2026-03-18', daysPastDue: 7 }, profile);
      expect(early).toMatchObject({ stage: 'notice', held: 'notice_period', lockAt: '2026-03-18T09:00:00.000Z' });
      const done = decide({ noticesShown: [{ index: 0, shownAt }], now: '2026-03-18T09:00:00Z', businessDate: '2026-03-18', daysPastDue: 7 }, profile);
      expect(done.stage).toBe('locked');
    });

    it('counts from the first display when the device reports a notice more than once', () => {
      const shown = [
        { index: 0, shownAt: '2026-03-16T20:00:00Z' },
        { index: 0, shownAt: '2026-03-12T08:00:00Z' },
      ];
      expect(decide({ noticesShown: shown }).stage).toBe('locked');
    });
  });

  describe('stale payment feed', () => {
    it('holds a new lock', () => {
      expect(decide({ paymentFeedStale: true, currentStage: 'notice' })).toMatchObject({ stage: 'notice', held: 'stale_feed', reason: 'held_stale_feed', lockAt: null });
    });

    it('keeps an existing lock (the arrears were established on fresh data)', () => {
      expect(decide({ paymentFeedStale: true, currentStage: 'locked' })).toMatchObject({ stage: 'locked', reason: 'kept_stale_feed', held: null });
    });

    it('keeps a restriction but does not escalate it to a lock', () => {
      expect(decide({ paymentFeedStale: true, currentStage: 'restricted' })).toMatchObject({ stage: 'restricted', held: 'stale_feed', lockAt: null });
    });

    it('does not keep a lock another guardrail lifts', () => {
      expect(decide({ paymentFeedStale: true, currentStage: 'locked', openClaim: true }).stage).toBe('notice');
      expect(decide({ paymentFeedStale: true, currentStage: 'locked', daysPastDue: 0, overdueSince: null }).stage).toBe('current');
    });
  });

  it('rejects a hand-built profile that switches a guardrail off', () => {
    const sneaky = { ...RETAIL_SHORT_CYCLE, lockAtDpd: 0, restrictedAtDpd: null } as ComplianceProfile;
    expect(() => decide({ daysPastDue: 0, overdueSince: null }, sneaky)).toThrow(/guardrail: lockAtDpd must be at least 1/);
    const noNotices = { ...RETAIL_SHORT_CYCLE, notices: [] } as ComplianceProfile;
    expect(() => decide({}, noNotices)).toThrow(/at least one notice/);
  });
});

describe('input checks', () => {
  it.each<[string, Partial<StageInput>, RegExp]>([
    ['a local time without zone', { now: '2026-03-17T09:00:00' }, /now must be an ISO instant with a zone/],
    ['an unknown zone', { timeZone: 'Mars/Olympus' }, /unknown time zone "Mars\/Olympus"/i],
    ['DPD without an overdue date', { overdueSince: null }, /overdueSince is empty/],
    ['a fractional DPD', { daysPastDue: 1.5 }, /daysPastDue must be a whole number/],
    ['an impossible date', { businessDate: '2026-02-30' }, /businessDate must be a date/],
    ['a bad notice time', { noticesShown: [{ index: 0, shownAt: 'yesterday' }] }, /noticesShown\[0\]\.shownAt/],
    ['an unknown stage', { currentStage: 'frozen' as never }, /currentStage must be one of/],
  ])('rejects %s', (_label, over, message) => {
    expect(() => decide(over)).toThrow(message);
    try {
      decide(over);
    } catch (e) {
      expect(e).toMatchObject({ code: 'invalid_input' });
    }
  });
});

describe('stage ordering', () => {
  it('orders escalation from current to locked; restricted and locked are the locking stages', () => {
    expect(ESCALATION_STAGES).toEqual(['current', 'reminder', 'notice', 'restricted', 'locked']);
    expect(ESCALATION_STAGES.filter(isLocking)).toEqual(['restricted', 'locked']);
    expect(escalationRank('notice')).toBeLessThan(escalationRank('restricted'));
    expect(escalationRank('released')).toBe(-1);
    expect(isLocking('released')).toBe(false);
  });
});
