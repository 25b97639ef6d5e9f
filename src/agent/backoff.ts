/**
 * Wrong unlock codes slow down guessing: the first two wrong codes in a row are free (typos
 * happen), then the wait doubles from 30 seconds up to one day. The state lives in the
 * `persistent` area, so neither a reboot nor a factory reset clears it; a correct code does.
 */

export interface BackoffState {
  /** Wrong codes in a row since the last accepted one. */
  failures: number;
  /** ISO instant before which codes are refused without being checked; null = none. */
  until: string | null;
}

export const NO_BACKOFF: BackoffState = { failures: 0, until: null };

const FREE_FAILURES = 2;
const FIRST_WAIT_SECONDS = 30;
const MAX_WAIT_SECONDS = 86_400;

/** Seconds to wait after the `failures`-th wrong code in a row. */
export function backoffSeconds(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  const doublings = failures - FREE_FAILURES - 1;
  // 2^27 × 30 s is far past the cap; stop doubling before the number grows pointlessly.
  return doublings >= 12 ? MAX_WAIT_SECONDS : Math.min(FIRST_WAIT_SECONDS * 2 ** doublings, MAX_WAIT_SECONDS);
}

export function recordFailure(state: BackoffState, nowMs: number): BackoffState {
  const failures = state.failures + 1;
  const wait = backoffSeconds(failures);
  return { failures, until: wait === 0 ? null : new Date(nowMs + wait * 1000).toISOString() };
}

/**
 * Whole seconds left before the next code may be tried (rounded up, so 0 means "now"). Never more
 * than the wait itself: a clock moved backwards must not turn 30 seconds into a month.
 */
export function secondsRemaining(state: BackoffState, nowMs: number): number {
  if (state.until === null) return 0;
  const left = Math.min(Date.parse(state.until) - nowMs, backoffSeconds(state.failures) * 1000);
  return left > 0 ? Math.ceil(left / 1000) : 0;
}
