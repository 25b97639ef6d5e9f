/**
 * The offline lock (docs/protocol.md §8): a phone kept away from the server too long locks on its
 * own, but only after showing a notice on its own for the profile's minimum notice time
 * (guardrail 2 holds offline too). The server schedules it; the phone enforces it with its own
 * clock. Both halves are here so they cannot drift apart. Pure.
 */
import { addDays, startOfLocalDay } from '../domain/dates.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The platform floor: a notice is on screen for a day at least, whatever a policy says. */
export const OFFLINE_NOTICE_FLOOR_HOURS = 24;

export interface OfflineScheduleInput {
  now: Date;
  /** Oldest installment not fully paid (or the next one due); null when nothing is due. */
  oldestUnpaidDueDate: string | null;
  offlineLockDays: number;
  minNoticeHours: number;
  /** The lender's IANA zone: due dates are its local dates. */
  timeZone: string;
}

export interface OfflineSchedule {
  lockAt: string;
  notice: { at: string; minHours: number };
}

/**
 * The offline deadline counts the profile's offline days from the later of now and the start of
 * the oldest unpaid due date in the lender's zone (local midnight, not UTC midnight: #12 B1), so a
 * borrower in good standing whose phone is offline is never locked before an installment has
 * gone unpaid that long. The notice starts its minimum time before the deadline.
 */
export function offlineSchedule(i: OfflineScheduleInput): OfflineSchedule {
  const fromNow = i.now.getTime() + i.offlineLockDays * DAY_MS;
  const fromDue = i.oldestUnpaidDueDate === null ? -Infinity : startOfLocalDay(addDays(i.oldestUnpaidDueDate, i.offlineLockDays), i.timeZone);
  const lockAt = Math.max(fromNow, fromDue);
  const minHours = Math.max(OFFLINE_NOTICE_FLOOR_HOURS, i.minNoticeHours);
  return { lockAt: new Date(lockAt).toISOString(), notice: { at: new Date(lockAt - minHours * HOUR_MS).toISOString(), minHours } };
}

export interface OfflineStateInput {
  offlineLockAt: string | null | undefined;
  notice: { at: string; minHours: number } | null | undefined;
  /** When this phone first had the offline notice of this policy on screen; null if never. */
  noticeShownAt: string | null;
  nowMs: number;
}

export interface OfflineState {
  /** The offline notice belongs on screen now. */
  noticeDue: boolean;
  /** The offline lock applies now. */
  lockDue: boolean;
  /** When the lock applies if nothing changes: null while the notice has not been shown. */
  lockAt: number | null;
}

/**
 * What a phone that has not reached the server does about its policy's offline deadline. A
 * policy without a notice schedule (older servers) gets the platform's: the floor's hours before
 * the deadline. The lock comes at the later of the deadline and the notice's first display plus
 * its minimum time, so a phone switched off through the notice period still shows it first.
 */
export function offlineState(i: OfflineStateInput): OfflineState {
  if (typeof i.offlineLockAt !== 'string') return { noticeDue: false, lockDue: false, lockAt: null };
  const deadline = Date.parse(i.offlineLockAt);
  const minHours = Math.max(OFFLINE_NOTICE_FLOOR_HOURS, i.notice?.minHours ?? OFFLINE_NOTICE_FLOOR_HOURS);
  const noticeAt = Math.min(i.notice ? Date.parse(i.notice.at) : Infinity, deadline - minHours * HOUR_MS);
  const noticeDue = i.nowMs >= noticeAt;
  const shown = i.noticeShownAt === null ? null : Date.parse(i.noticeShownAt);
  const lockAt = shown === null ? null : Math.max(deadline, shown + minHours * HOUR_MS);
  return { noticeDue, lockDue: lockAt !== null && i.nowMs >= lockAt, lockAt };
}
