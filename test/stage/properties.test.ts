import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validateProfile, type ComplianceProfile } from '../../src/domain/compliance.ts';
import {
  decideStage,
  escalationRank,
  isLocking,
  STAGES,
  type StageDecision,
  type StageInput,
} from '../../src/domain/stage.ts';
import { startOfLocalDay } from '../../src/domain/dates.ts';
import { INDIA_2026_DRAFT, RETAIL_SHORT_CYCLE } from '../../src/domain/profiles/index.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

// Zones with half-hour offsets, DST at midnight (Santiago), a 30-minute DST (Lord Howe), +13:45.
const ZONES = ['UTC', 'Asia/Kolkata', 'Africa/Nairobi', 'America/New_York', 'America/Santiago', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Europe/London'];

// Independent of the engine's calendar code: en-CA formats dates as YYYY-MM-DD.
const dayFormat = new Map<string, Intl.DateTimeFormat>();
function localDay(ms: number, timeZone: string): string {
  let f = dayFormat.get(timeZone);
  if (!f) dayFormat.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(ms));
}
const shiftDate = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
const dateDiff = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY);

const randomProfile: fc.Arbitrary<ComplianceProfile> = fc
  .record({
    escalationAt: fc.integer({ min: 2, max: 100 }),
    restricted: fc.boolean(),
    lockGap: fc.integer({ min: 0, max: 20 }),
    noticeDays: fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 3 }),
    cures: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 3, maxLength: 3 }),
    minHours: fc.integer({ min: 24, max: 200 }),
    grace: fc.integer({ min: 0, max: 5 }),
    reminders: fc.uniqueArray(fc.integer({ min: 0, max: 10 }), { maxLength: 3 }),
  })
  .map((r) => {
    const atDpds = r.noticeDays.map((d) => 1 + ((d - 1) % (r.escalationAt - 1))).filter((d, i, all) => all.indexOf(d) === i).sort((a, b) => a - b);
    return validateProfile({
      id: 'random',
      name: 'random',
      reminderDaysBeforeDue: r.reminders,
      notices: atDpds.map((atDpd, i) => ({ atDpd, cureDays: r.cures[i]! })),
      minNoticeHoursBeforeLock: r.minHours,
      restrictedAtDpd: r.restricted ? r.escalationAt : null,
      lockAtDpd: r.restricted ? r.escalationAt + r.lockGap : r.escalationAt,
      restrictedAllows: { calls: true, sms: false, apps: [] },
      offlineLockDays: 14,
      graceDays: r.grace,
    });
  });

const profiles = fc.oneof(fc.constant(RETAIL_SHORT_CYCLE), fc.constant(INDIA_2026_DRAFT), randomProfile);
const rarely = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);
const offset = (minDays: number, maxDays: number) => fc.integer({ min: minDays * DAY, max: maxDays * DAY });

/** Random but coherent facts: business date = local date of now, overdueSince consistent with DPD. */
const inputs: fc.Arbitrary<StageInput> = fc
  .record({
    profile: profiles,
    timeZone: fc.constantFrom(...ZONES),
    now: fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }),
    contractStatus: fc.oneof({ arbitrary: fc.constant('active'), weight: 12 }, fc.constantFrom('paid_off', 'written_off', 'returned')),
    consentRecorded: rarely.map((r) => !r),
    dpdPick: fc.oneof(fc.integer({ min: -5, max: 150 }), fc.constantFrom('near-notice', 'near-restrict', 'near-lock', 'beyond-lock', 'zero')),
    dpdJitter: fc.integer({ min: -1, max: 1 }),
    beyond: fc.integer({ min: 0, max: 30 }),
    pausedDays: fc.integer({ min: 0, max: 3 }),
    inGrace: fc.boolean(),
    dueIn: fc.option(fc.integer({ min: -3, max: 40 })),
    openDispute: rarely,
    openClaim: rarely,
    paymentFeedStale: rarely,
    shown: fc.array(fc.record({ index: fc.integer({ min: 0, max: 3 }), at: offset(-120, 2) }), { maxLength: 5 }),
    // A device that dutifully showed every notice in order, at random moments.
    // How the device reported notices: random entries; every notice in order at random points of
    // the overdue episode; or promptly, each a random delay after it could first be issued.
    shownMode: fc.constantFrom('random', 'in-order', 'prompt', 'prompt'),
    fractions: fc.array(fc.double({ min: 0, max: 1.05, noNaN: true }), { minLength: 3, maxLength: 3 }),
    delays: fc.array(fc.oneof(offset(0, 2), offset(0, 40)), { minLength: 3, maxLength: 3 }),
    manual: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      fc.record({ action: fc.constantFrom('lock', 'unlock', 'pause'), until: fc.option(offset(-5, 30)) }),
    ),
    currentStage: fc.constantFrom(...STAGES),
  })
  .map((r): StageInput => {
    const p = r.profile;
    const businessDate = localDay(r.now, r.timeZone);
    const near = {
      'near-notice': p.notices[0]!.atDpd + r.dpdJitter,
      'near-restrict': (p.restrictedAtDpd ?? p.lockAtDpd) + r.dpdJitter,
      'near-lock': p.lockAtDpd + r.dpdJitter,
      'beyond-lock': p.lockAtDpd + r.beyond,
      zero: 0,
    };
    const dpd = typeof r.dpdPick === 'number' ? r.dpdPick : near[r.dpdPick];
    const overdueSince =
      dpd > 0 ? shiftDate(businessDate, -(dpd + p.graceDays + r.pausedDays)) : r.inGrace ? shiftDate(businessDate, -p.graceDays) : null;
    return {
      now: new Date(r.now).toISOString(),
      contractStatus: r.contractStatus as StageInput['contractStatus'],
      consentRecorded: r.consentRecorded,
      daysPastDue: dpd,
      overdueSince,
      nextDueDate: r.dueIn === null ? null : shiftDate(businessDate, r.dueIn),
      businessDate,
      openDispute: r.openDispute,
      openClaim: r.openClaim,
      noticesShown: shownNotices(r, p, overdueSince),
      paymentFeedStale: r.paymentFeedStale,
      manual: r.manual && {
        action: r.manual.action as 'lock' | 'unlock' | 'pause',
        ...(r.manual.until === null ? {} : { until: new Date(r.now + r.manual.until).toISOString() }),
      },
      currentStage: r.currentStage,
      profile: p,
      timeZone: r.timeZone,
    };
  });

function shownNotices(
  r: { now: number; shownMode: string; shown: { index: number; at: number }[]; fractions: number[]; delays: number[] },
  p: ComplianceProfile,
  overdueSince: string | null,
): StageInput['noticesShown'] {
  const episodeStart = overdueSince === null ? r.now - 30 * DAY : Date.parse(`${overdueSince}T00:00:00Z`);
  let entries: { index: number; at: number }[];
  if (r.shownMode === 'random') {
    entries = r.shown.map((s) => ({ index: s.index, at: r.now + s.at }));
  } else if (r.shownMode === 'in-order') {
    const sorted = [...r.fractions].sort((a, b) => a - b);
    entries = p.notices.map((_, index) => ({ index, at: episodeStart + Math.round(sorted[index]! * (r.now + DAY - episodeStart)) }));
  } else {
    entries = [];
    let previousEnd = -Infinity;
    p.notices.forEach((n, index) => {
      const at = Math.max(episodeStart + (p.graceDays + n.atDpd) * DAY, previousEnd) + r.delays[index]!;
      entries.push({ index, at });
      previousEnd = at + Math.max(p.minNoticeHoursBeforeLock * HOUR, n.cureDays * DAY);
    });
  }
  return entries.filter((e) => e.at <= r.now + DAY).map((e) => ({ index: e.index, shownAt: new Date(e.at).toISOString() }));
}

/** The same contract at a later instant, DPD advanced by the local days that passed. */
function later(inp: StageInput, atMs: number, decided: StageDecision): StageInput {
  const businessDate = localDay(atMs, inp.timeZone);
  return {
    ...inp,
    now: new Date(atMs).toISOString(),
    businessDate,
    daysPastDue: inp.daysPastDue + dateDiff(inp.businessDate, businessDate),
    currentStage: decided.stage,
  };
}

function manualInForce(inp: StageInput, action: string): boolean {
  const m = inp.manual;
  return !!m && m.action === action && (m.until === undefined || Date.parse(m.until) > Date.parse(inp.now));
}

/** Each notice of the profile displayed (this episode, loosely) and its own period over by `now`. */
function everyNoticeServed(inp: StageInput): boolean {
  const now = Date.parse(inp.now);
  // The episode starts at local midnight of overdueSince, never earlier than UTC−14 h of it.
  const episodeFloor = Date.parse(`${inp.overdueSince}T00:00:00Z`) - 14 * HOUR;
  return inp.profile.notices.every((n, i) =>
    inp.noticesShown.some((s) => {
      const at = Date.parse(s.shownAt);
      const period = Math.max(inp.profile.minNoticeHoursBeforeLock * HOUR, n.cureDays * DAY);
      return s.index === i && at >= episodeFloor && at + period <= now;
    }),
  );
}

const RUNS = 1500;

describe('stage engine properties', () => {
  it('never restricts or locks against a guardrail', () => {
    let locking = 0;
    fc.assert(
      fc.property(inputs, (inp) => {
        const d = decideStage(inp);
        if (!isLocking(d.stage)) return;
        locking++;
        expect(inp.contractStatus).toBe('active');
        expect(inp.daysPastDue).toBeGreaterThan(0);
        expect(inp.consentRecorded).toBe(true);
        expect(inp.openDispute).toBe(false);
        expect(inp.openClaim).toBe(false);
        expect(everyNoticeServed(inp)).toBe(true);
        expect(manualInForce(inp, 'unlock') || manualInForce(inp, 'pause')).toBe(false);
        expect(inp.daysPastDue).toBeGreaterThanOrEqual(inp.profile.restrictedAtDpd ?? inp.profile.lockAtDpd);
        if (d.stage === 'locked' && !manualInForce(inp, 'lock')) expect(inp.daysPastDue).toBeGreaterThanOrEqual(inp.profile.lockAtDpd);
        if (inp.paymentFeedStale) {
          // Stale feed: only an existing restriction or lock may stand, never escalate.
          expect(isLocking(inp.currentStage)).toBe(true);
          expect(escalationRank(d.stage)).toBeLessThanOrEqual(escalationRank(inp.currentStage));
        }
      }),
      { numRuns: RUNS },
    );
    expect(locking).toBeGreaterThan(RUNS / 20); // the generator does reach restrictions and locks
  });

  it('an active contract at 0 DPD is never restricted or locked, whatever else holds', () => {
    fc.assert(
      fc.property(inputs, (raw) => {
        const inp = { ...raw, contractStatus: 'active' as const, daysPastDue: 0, overdueSince: null };
        const d = decideStage(inp);
        expect(isLocking(d.stage)).toBe(false);
        expect(d.lockAt).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('lockAt is in the future, and at that instant the engine locks; a moment before it does not', () => {
    let scheduled = 0;
    fc.assert(
      fc.property(inputs, (inp) => {
        const d = decideStage(inp);
        if (d.lockAt === null) return;
        scheduled++;
        const at = Date.parse(d.lockAt);
        expect(at).toBeGreaterThan(Date.parse(inp.now));
        expect(d.stage).not.toBe('locked');
        expect(d.held === null || d.held === 'notice_period').toBe(true);
        expect(d.nextEvaluationAt).not.toBeNull();
        expect(Date.parse(d.nextEvaluationAt!)).toBeLessThanOrEqual(at);
        expect(decideStage(later(inp, at, d)).stage).toBe('locked');
        expect(decideStage(later(inp, at - 1, d)).stage).not.toBe('locked');
      }),
      { numRuns: RUNS },
    );
    expect(scheduled).toBeGreaterThan(RUNS / 50); // the generator does reach scheduled locks
  });

  it('nothing changes before nextEvaluationAt by the passage of time alone', () => {
    fc.assert(
      fc.property(inputs, fc.double({ min: 0, max: 1, noNaN: true }), (inp, fraction) => {
        if (inp.contractStatus !== 'active' || inp.daysPastDue <= 0) return;
        const d = decideStage(inp);
        const now = Date.parse(inp.now);
        const until = d.nextEvaluationAt === null ? now + 60 * DAY : Date.parse(d.nextEvaluationAt);
        expect(until).toBeGreaterThan(now);
        const t = now + Math.floor((until - now - 1) * fraction);
        const then = decideStage(later(inp, t, d));
        expect({ stage: then.stage, noticeIndex: then.noticeIndex }).toEqual({ stage: d.stage, noticeIndex: d.noticeIndex });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('calendar', () => {
  it('startOfLocalDay is the first instant of that local date, DST or not', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 0, max: 3 * 366 }), (zone, n) => {
        const date = shiftDate('2025-06-01', n);
        const start = startOfLocalDay(date, zone);
        expect(localDay(start, zone)).toBe(date);
        expect(localDay(start - 1, zone) < date).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('handles a day whose midnight does not exist (Chile, DST starts at 00:00)', () => {
    // 2026-09-06 in Santiago: 00:00 jumps to 01:00 (UTC−4 → UTC−3), so the day begins at 04:00Z.
    const start = startOfLocalDay('2026-09-06', 'America/Santiago');
    expect(new Date(start).toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(localDay(start - 1, 'America/Santiago')).toBe('2026-09-05');
  });
});
