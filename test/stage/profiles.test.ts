import { describe, expect, it } from 'vitest';
import { validateProfile, noticePeriodMs } from '../../src/domain/compliance.ts';
import { INDIA_2026_DRAFT, RETAIL_SHORT_CYCLE, SHIPPED_PROFILES, shippedProfile } from '../../src/domain/profiles/index.ts';
import { isLienError } from '../../src/domain/errors.ts';
import retailJson from '../../src/domain/profiles/retail-short-cycle.json' with { type: 'json' };

/** Runs validateProfile and returns the LienError it throws (fails the test when none). */
function rejection(profile: unknown) {
  try {
    validateProfile(profile);
  } catch (e) {
    if (isLienError(e)) return e;
    throw e;
  }
  throw new Error('expected the profile to be rejected');
}

const base = (): Record<string, unknown> => structuredClone(retailJson) as Record<string, unknown>;

describe('shipped profiles', () => {
  it('retail short cycle: reminders 3 and 1 days out, notice at 1 DPD with 2 days, restricted 3, locked 5', () => {
    expect(RETAIL_SHORT_CYCLE).toMatchObject({
      id: 'retail-short-cycle',
      reminderDaysBeforeDue: [3, 1],
      notices: [{ atDpd: 1, cureDays: 2 }],
      restrictedAtDpd: 3,
      lockAtDpd: 5,
      offlineLockDays: 14,
      graceDays: 1,
    });
  });

  it('India 2026 draft: notice at 60 DPD with 21 days, a second with 7 more, lock only from 90 DPD', () => {
    expect(INDIA_2026_DRAFT).toMatchObject({
      id: 'india-2026-draft',
      notices: [
        { atDpd: 60, cureDays: 21 },
        { atDpd: 81, cureDays: 7 },
      ],
      restrictedAtDpd: null,
      lockAtDpd: 90,
      offlineLockDays: 30,
    });
    expect(noticePeriodMs(INDIA_2026_DRAFT, 0)).toBe(21 * 86_400_000);
    expect(noticePeriodMs(INDIA_2026_DRAFT, 1)).toBe(7 * 86_400_000);
  });

  it('are looked up by id, and an unknown id says which exist', () => {
    expect(SHIPPED_PROFILES.map((p) => p.id)).toEqual(['retail-short-cycle', 'india-2026-draft']);
    expect(shippedProfile('india-2026-draft')).toBe(INDIA_2026_DRAFT);
    expect(() => shippedProfile('eu')).toThrow(/no shipped compliance profile "eu" \(shipped: retail-short-cycle, india-2026-draft\)/);
  });

  it('are frozen so nobody edits a profile in place', () => {
    expect(Object.isFrozen(RETAIL_SHORT_CYCLE)).toBe(true);
    expect(Object.isFrozen(RETAIL_SHORT_CYCLE.notices[0])).toBe(true);
  });
});

describe('validateProfile', () => {
  it('returns a copy with reminders sorted latest-first', () => {
    const p = validateProfile({ ...base(), reminderDaysBeforeDue: [1, 7, 3] });
    expect(p.reminderDaysBeforeDue).toEqual([7, 3, 1]);
  });

  describe('refuses to configure a guardrail', () => {
    it.each<[string, unknown, RegExp]>([
      ['allowLockWithoutConsent', true, /never locked without a recorded consent/],
      ['allowLockDuringDispute', true, /never locked while a dispute is open/],
      ['allowLockDuringClaim', true, /never locked while a payment claim is open/],
      ['disableEmergencyCalls', true, /emergency calls always work/],
      ['wipe', true, /no wipe command/],
      ['wipeOnDefault', false, /no wipe command/],
      ['ignoreStaleFeed', true, /stale/],
      ['hideLenderContact', true, /lender's name and contact/],
    ])('%s', (field, value, rule) => {
      const e = rejection({ ...base(), [field]: value });
      expect(e.code).toBe('invalid_profile');
      expect(e.message).toMatch(new RegExp(`^guardrail: ${field} cannot be configured`));
      expect(e.message).toMatch(rule);
      expect(e.details).toMatchObject({ field, guardrail: true });
    });

    it('also when nested', () => {
      const e = rejection({ ...base(), restrictedAllows: { calls: false, sms: false, apps: [], emergencyCalls: false } });
      expect(e.message).toBe('guardrail: restrictedAllows.emergencyCalls cannot be configured — emergency calls always work');
    });
  });

  describe('rejects guardrail-breaking values with their own message', () => {
    it.each<[string, Record<string, unknown>, string, RegExp]>([
      ['a lock at 0 DPD', { lockAtDpd: 0, restrictedAtDpd: null }, 'lockAtDpd', /^guardrail: lockAtDpd must be at least 1 \(got 0\) — a device that is not past due is never locked/],
      ['a restriction before due', { restrictedAtDpd: 0 }, 'restrictedAtDpd', /^guardrail: restrictedAtDpd must be at least 1/],
      ['a notice period under a day', { minNoticeHoursBeforeLock: 12 }, 'minNoticeHoursBeforeLock', /^guardrail: minNoticeHoursBeforeLock must be at least 24 \(got 12\)/],
      ['no notice at all', { notices: [] }, 'notices', /^guardrail: notices cannot be empty — at least one notice/],
      ['restricted after locked', { restrictedAtDpd: 6, lockAtDpd: 5 }, 'restrictedAtDpd', /^guardrail: restrictedAtDpd \(6\) must not be after lockAtDpd \(5\)/],
      ['a notice on the day of the restriction', { notices: [{ atDpd: 3, cureDays: 1 }] }, 'notices[0].atDpd', /^guardrail: notices\[0\]\.atDpd \(3\) must be before the device is restricted at DPD 3/],
      ['a second notice after the lock', { restrictedAtDpd: null, notices: [{ atDpd: 1, cureDays: 1 }, { atDpd: 6, cureDays: 1 }] }, 'notices[1].atDpd', /must be before the device is locked at DPD 5/],
    ])('%s', (_label, change, field, message) => {
      const e = rejection({ ...base(), ...change });
      expect(e.message).toMatch(message);
      expect(e.details).toMatchObject({ field, guardrail: true });
    });
  });

  describe('names the field of an ordinary mistake', () => {
    it.each<[string, (p: Record<string, unknown>) => void, string, RegExp]>([
      ['unknown field', (p) => (p.color = 'red'), 'color', /^unknown field color \(a profile has only: id, name, /],
      ['unknown nested field', (p) => ((p.notices as object[])[0] = { atDpd: 1, cureDays: 2, sms: true }), 'notices[0].sms', /^unknown field notices\[0\]\.sms$/],
      ['missing field', (p) => delete p.graceDays, 'graceDays', /^graceDays is required$/],
      ['negative cure days', (p) => ((p.notices as object[])[0] = { atDpd: 1, cureDays: -1 }), 'notices[0].cureDays', /^notices\[0\]\.cureDays must be >= 0 \(got -1\)$/],
      ['fractional DPD', (p) => (p.lockAtDpd = 4.5), 'lockAtDpd', /^lockAtDpd must be a whole number \(got 4\.5\)$/],
      ['offline lock too soon', (p) => (p.offlineLockDays = 2), 'offlineLockDays', /^offlineLockDays must be >= 7 \(got 2\)$/],
      ['restricted as text', (p) => (p.restrictedAtDpd = '3'), 'restrictedAtDpd', /^restrictedAtDpd must be a whole number of days from 1, or null/],
      ['bad id', (p) => (p.id = 'Retail Plan'), 'id', /^id must be 1 to 63 lowercase letters/],
      ['bad app name', (p) => (p.restrictedAllows = { calls: true, sms: true, apps: ['M-Pesa'] }), 'restrictedAllows.apps[0]', /must be an Android package name/],
      ['notices out of order', (p) => (p.notices = [{ atDpd: 2, cureDays: 1 }, { atDpd: 1, cureDays: 1 }]), 'notices[1].atDpd', /^notices must be in order/],
      ['a reminder twice', (p) => (p.reminderDaysBeforeDue = [3, 3]), 'reminderDaysBeforeDue', /lists 3 twice/],
    ])('%s', (_label, mutate, field, message) => {
      const p = base();
      mutate(p);
      const e = rejection(p);
      expect(e.code).toBe('invalid_profile');
      expect(e.details).toMatchObject({ field });
      expect(e.message).toMatch(message);
      expect(e.details.guardrail).toBeUndefined();
    });

    it('rejects something that is not an object', () => {
      expect(rejection(null).message).toBe('a compliance profile must be an object');
      expect(rejection([]).code).toBe('invalid_profile');
    });
  });
});
