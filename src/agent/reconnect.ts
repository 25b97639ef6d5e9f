/**
 * When a phone reconnects its nudge stream after losing it. A server restart drops every stream
 * it held at the same instant; phones that all came back at once (or after the same fixed wait)
 * would hit the new process with every handshake and check-in in the same second. "Full jitter"
 * spreads them: each attempt waits a uniformly random time up to a window that doubles with every
 * failed attempt, so the reconnect rate after a restart is about (phones ÷ first window) and a
 * server that stays down is asked less and less often. bench/streams.ts measures the spread.
 */

/** The first window: phones that lost their stream together come back over this many ms. */
export const RECONNECT_FIRST_WINDOW_MS = 10_000;
/** The longest window: a phone whose server stays away still tries every few minutes. */
export const RECONNECT_MAX_WINDOW_MS = 300_000;

/** Milliseconds to wait before reconnect attempt `attempt` (0 for the first after a loss). */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(0, Math.floor(attempt)), 16);
  const window = Math.min(RECONNECT_FIRST_WINDOW_MS * 2 ** doublings, RECONNECT_MAX_WINDOW_MS);
  return Math.floor(random() * window);
}
