/**
 * What the application layer tells the operator's metrics, as a port: the server plugs in its
 * Prometheus registry (src/server/metrics.ts); tests and tools leave it out. Every call is on a
 * hot path (check-ins) or inside a transaction, so an implementation only counts in memory.
 */
export interface Telemetry {
  /** A check-in was answered; `policySent` when the answer carried a newer policy. */
  checkin(policySent: boolean): void;
  /**
   * A phone reported holding the policy that a payment's unlock produced, `seconds` after the
   * payment committed; `from` is the stage the payment lifted (restricted or locked).
   */
  paymentUnlockReported(seconds: number, from: string): void;
  /** A sweep finished, after `seconds`, with what it did. */
  sweepFinished(stats: { evaluated: number; changed: number; quiet: number }, seconds: number): void;
}
