/**
 * "Sold after first boot" (docs/protocol.md §5.3): what a registered phone that proved its factory
 * secret is told when it asks to enroll, on the device API and over Android Device Lock alike.
 *
 * Dealers often set a phone up before the sale reaches the registry (an end-of-day CSV). A
 * financing unit that is not sold yet is therefore told to ask again, with a growing interval,
 * for a provisioning window counted from its first contact; a sale recorded inside the window
 * enrolls it at its next try. A retail unit, an unknown phone, or one whose window has closed is
 * told to stop for good. Pure: the caller brings the clock.
 */

export const DEFAULT_PROVISIONING_WINDOW_DAYS = 30;
/** First retry a quarter of an hour after first contact; never more than a day apart. */
export const MIN_RETRY_MS = 15 * 60_000;
export const MAX_RETRY_MS = 24 * 3_600_000;
const DAY_MS = 86_400_000;

export type SaleStatus = 'unsold' | 'retail' | 'financed';

export interface ProvisioningInput {
  /** null: the phone is not in the registry (or did not prove it is the phone it claims to be). */
  saleStatus: SaleStatus | null;
  /** First proven contact; null when this is the first one. */
  firstContactAt: Date | null;
  now: Date;
  windowDays: number;
}

export type ProvisioningDecision =
  | { kind: 'enroll' }
  | { kind: 'retry'; retryAt: Date; windowEndsAt: Date }
  | { kind: 'stop'; reason: 'not_registered' | 'retail' | 'window_closed' };

export function decideProvisioning(i: ProvisioningInput): ProvisioningDecision {
  if (i.saleStatus === null) return { kind: 'stop', reason: 'not_registered' };
  if (i.saleStatus === 'financed') return { kind: 'enroll' };
  if (i.saleStatus === 'retail') return { kind: 'stop', reason: 'retail' };
  const now = i.now.getTime();
  const first = i.firstContactAt?.getTime() ?? now;
  const windowEndsAt = first + Math.max(0, i.windowDays) * DAY_MS;
  if (now >= windowEndsAt) return { kind: 'stop', reason: 'window_closed' };
  // Half the time already waited: frequent right after setup (the sale is usually recorded the
  // same day), daily once the phone has waited two days; the last try falls on the window's end.
  const delay = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, (now - first) / 2));
  return { kind: 'retry', retryAt: new Date(Math.min(now + delay, windowEndsAt)), windowEndsAt: new Date(windowEndsAt) };
}

/** Whether a sale recorded now still reaches the phone (its window is open or it never made contact). */
export function provisioningWindowOpen(firstContactAt: Date | null, now: Date, windowDays: number): boolean {
  return firstContactAt === null || now.getTime() < firstContactAt.getTime() + windowDays * DAY_MS;
}
