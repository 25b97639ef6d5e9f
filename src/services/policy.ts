import type { ComplianceProfile } from '../domain/compliance.ts';
import { offlineSchedule } from '../protocol/offline.ts';
import type { StageDecision } from '../domain/stage.ts';
import type { LenderTexts, Policy, ReasonCode, ScreenNote } from '../protocol/index.ts';

export interface PolicyFacts {
  deviceId: string;
  version: number;
  now: Date;
  decision: Pick<StageDecision, 'stage' | 'lockAt' | 'noticeIndex'> & Partial<Pick<StageDecision, 'reason'>>;
  lender: {
    name: string;
    support_phone: string;
    support_url: string;
    how_to_pay: string;
    support_hours: string | null;
    time_zone: string;
    texts?: LenderTexts;
    lock_message?: string | null;
  };
  /** The lender note the phone should show, if any. */
  note?: ScreenNote | null;
  amountDue: number;
  currency: string;
  lockReference: string;
  /** Oldest installment not fully paid (or the next one due); offline locking counts from it. */
  oldestUnpaidDueDate: string | null;
  profile: ComplianceProfile;
  nextCheckinAt: Date;
}

/**
 * The policy a device enforces. The offline deadline and the notice the phone shows on its own
 * before it come from domain/offline-lock.ts: counted in the lender's zone from the later of now
 * and the oldest unpaid due date, so a borrower in good standing whose phone is offline (travel,
 * no signal) is never locked before an installment has actually gone unpaid that long.
 */
export function buildPolicy(f: PolicyFacts): Policy {
  const terminal = f.decision.stage === 'released' || f.decision.stage === 'written_off' || f.decision.stage === 'returned';
  const offline = terminal
    ? null
    : offlineSchedule({
        now: f.now,
        oldestUnpaidDueDate: f.oldestUnpaidDueDate,
        offlineLockDays: f.profile.offlineLockDays,
        minNoticeHours: f.profile.minNoticeHoursBeforeLock,
        timeZone: f.lender.time_zone,
      });
  return {
    deviceId: f.deviceId,
    version: f.version,
    issuedAt: f.now.toISOString(),
    stage: f.decision.stage,
    lockAt: terminal ? null : f.decision.lockAt,
    offlineLockAt: offline?.lockAt ?? null,
    offlineNotice: offline?.notice ?? null,
    lender: {
      name: f.lender.name,
      phone: f.lender.support_phone,
      url: f.lender.support_url,
      howToPay: f.lender.how_to_pay,
      ...(f.lender.support_hours ? { supportHours: f.lender.support_hours } : {}),
      ...(f.lender.lock_message ? { message: f.lender.lock_message } : {}),
    },
    amountDue: terminal ? 0 : f.amountDue,
    currency: f.currency,
    // Protocol 1.0 agents show this English sentence; 1.1 agents word `facts` from their catalog.
    message: messageFor(f.decision.stage, f.lender.name),
    allowedNumbers: [f.lender.support_phone],
    lockReference: f.lockReference,
    // The notice ends when the phone may lock: "pay before" that instant.
    noticeUntil: f.decision.stage === 'notice' ? f.decision.lockAt : null,
    noticeIndex: terminal ? null : f.decision.noticeIndex,
    nextCheckinAt: f.nextCheckinAt.toISOString(),
    facts: { reason: reasonCode(f.decision), dueDate: terminal ? null : f.oldestUnpaidDueDate, timeZone: f.lender.time_zone },
    ...(f.lender.texts && Object.keys(f.lender.texts).length > 0 ? { lenderTexts: f.lender.texts } : {}),
    ...(f.note && !terminal ? { note: f.note } : {}),
  };
}

/** The reason code a 1.1 phone words as a sentence of its catalog. */
export function reasonCode(d: PolicyFacts['decision']): ReasonCode {
  switch (d.stage) {
    case 'released':
      return 'paid_off';
    case 'written_off':
    case 'returned':
      return 'closed';
    case 'current':
      return 'current';
    case 'reminder':
      return 'due_soon';
    default:
      return d.reason?.startsWith('manual_lock') ? 'manual_lock' : 'overdue';
  }
}

// The device renders the borrower's language from the stage; this is the fallback text.
function messageFor(stage: Policy['stage'], lender: string): string {
  switch (stage) {
    case 'locked':
      return `This phone is locked because a payment to ${lender} is overdue. Pay the amount due to unlock it.`;
    case 'restricted':
      return `Some functions are limited because a payment to ${lender} is overdue.`;
    case 'notice':
      return `A payment to ${lender} is overdue. Pay before the date shown to avoid a lock.`;
    case 'reminder':
      return `A payment to ${lender} is due soon.`;
    case 'released':
      return `Paid in full. This phone is yours; ${lender} has released it.`;
    default:
      return '';
  }
}
