import { describe, expect, it } from 'vitest';
import { RETAIL_SHORT_CYCLE } from '../../src/domain/profiles/index.ts';
import { validateProfile } from '../../src/domain/compliance.ts';
import { buildPolicy, type PolicyFacts } from '../../src/services/policy.ts';

function facts(over: Partial<PolicyFacts> = {}, timeZone = 'America/Bogota'): PolicyFacts {
  return {
    deviceId: 'dev_1',
    version: 4,
    now: new Date('2027-01-20T12:00:00Z'),
    decision: { stage: 'current', lockAt: null, noticeIndex: null },
    lender: { name: 'Crédito Andino', support_phone: '+5716000000', support_url: '', how_to_pay: 'PSE', support_hours: null, time_zone: timeZone },
    amountDue: 0,
    currency: 'COP',
    lockReference: 'AB12CD34',
    oldestUnpaidDueDate: '2027-02-01',
    profile: RETAIL_SHORT_CYCLE,
    nextCheckinAt: new Date('2027-01-20T18:00:00Z'),
    ...over,
  };
}

describe('buildPolicy: the offline deadline', () => {
  it("counts the offline days from local midnight of the due date in the lender's zone, not UTC midnight (#12 B1)", () => {
    // Bogotá is UTC−5: 14 local days after 1 Feb end at 15 Feb 00:00 local = 05:00 UTC.
    const p = buildPolicy(facts());
    expect(p.offlineLockAt).toBe('2027-02-15T05:00:00.000Z');
    // East of UTC the deadline comes earlier in UTC, never before local midnight either.
    expect(buildPolicy(facts({}, 'Africa/Nairobi')).offlineLockAt).toBe('2027-02-14T21:00:00.000Z');
  });

  it('follows the zone across a daylight-saving change', () => {
    // Mexico City kept DST until 2022: 3 Apr 2022 started it. Due 20 Mar + 14 days = 3 Apr local midnight (UTC−6 still).
    const p = buildPolicy(facts({ now: new Date('2022-03-01T00:00:00Z'), oldestUnpaidDueDate: '2022-03-20' }, 'America/Mexico_City'));
    expect(p.offlineLockAt).toBe('2022-04-03T06:00:00.000Z');
  });

  it('never sooner than the offline days from now, and schedules the notice its minimum time before the deadline', () => {
    const now = new Date('2027-02-10T12:00:00Z');
    const p = buildPolicy(facts({ now }));
    expect(p.offlineLockAt).toBe('2027-02-24T12:00:00.000Z');
    expect(p.offlineNotice).toEqual({ at: '2027-02-23T12:00:00.000Z', minHours: 24 });
    const patient = validateProfile({ ...RETAIL_SHORT_CYCLE, id: 'patient', minNoticeHoursBeforeLock: 72 });
    expect(buildPolicy(facts({ now, profile: patient })).offlineNotice).toEqual({ at: '2027-02-21T12:00:00.000Z', minHours: 72 });
  });

  it('carries no offline deadline or notice once the contract has ended', () => {
    const p = buildPolicy(facts({ decision: { stage: 'released', lockAt: null, noticeIndex: null } }));
    expect(p.offlineLockAt).toBeNull();
    expect(p.offlineNotice).toBeNull();
  });
});

describe('buildPolicy: facts for a translated screen (protocol 1.1)', () => {
  it('sends the reason code, the due date and the zone; the notice carries its deadline', () => {
    const p = buildPolicy(facts({ decision: { stage: 'notice', reason: 'notice_issued', lockAt: '2027-01-22T05:00:00.000Z', noticeIndex: 0 } }));
    expect(p.facts).toEqual({ reason: 'overdue', dueDate: '2027-02-01', timeZone: 'America/Bogota' });
    expect(p.noticeUntil).toBe('2027-01-22T05:00:00.000Z');
    expect(buildPolicy(facts({ decision: { stage: 'locked', reason: 'manual_lock', lockAt: null, noticeIndex: 0 } })).facts?.reason).toBe('manual_lock');
    expect(buildPolicy(facts({ decision: { stage: 'reminder', lockAt: null, noticeIndex: null } })).facts?.reason).toBe('due_soon');
    expect(buildPolicy(facts({ decision: { stage: 'locked', lockAt: null, noticeIndex: 0 } })).noticeUntil).toBeNull();
  });

  it('carries the lender texts and the note, but no note and no due date on a released phone', () => {
    const note = { id: 'msg_1', template: 'call_us' as const, params: {}, sentAt: '2027-01-20T12:00:00.000Z' };
    const lender = { ...facts().lender, texts: { sw: { howToPay: 'Lipa' } }, lock_message: 'Call us' };
    const p = buildPolicy(facts({ lender, note }));
    expect(p.lenderTexts).toEqual({ sw: { howToPay: 'Lipa' } });
    expect(p.lender.message).toBe('Call us');
    expect(p.note).toEqual(note);
    const released = buildPolicy(facts({ lender, note, decision: { stage: 'released', lockAt: null, noticeIndex: null } }));
    expect(released.note).toBeUndefined();
    expect(released.facts).toEqual({ reason: 'paid_off', dueDate: null, timeZone: 'America/Bogota' });
    expect(buildPolicy(facts()).lenderTexts).toBeUndefined();
  });
});
