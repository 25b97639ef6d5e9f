import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';

interface Seen {
  at: Date;
  counter: number;
  /** The enrollment the counter belongs to; a re-enrollment restarts counting. */
  credentialVersion: number;
  agentVersion: string;
  policyVersion: number;
  tokenCounter: number;
}

interface PendingEvent {
  device_id: string;
  kind: string;
  at: Date;
  detail: Record<string, unknown>;
  /** Server time the request arrived (the business clock); the flush time when absent. */
  received_at?: Date;
}

interface ReportedUnlock {
  deviceId: string;
  version: number;
  at: Date;
}

// PGlite runs on the main thread: keep each statement small enough not to stall requests.
const MAX_ROWS_PER_STATEMENT = 1000;

/**
 * Batches what check-ins report (last seen, request counter, versions, events) and writes it
 * every `flushMs` in a few set-based statements instead of a write per request. Counters only
 * move forward (GREATEST), so a late flush from another process cannot roll one back.
 */
export class CheckinBookkeeper {
  private seenByDevice = new Map<string, Seen>();
  private events: PendingEvent[] = [];
  /** Enrollment proofs that did not hold, per device: counted, never a row each (#12 L8). */
  private failedProofs = new Map<string, { count: number; last: Date }>();
  private unlocks: ReportedUnlock[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly flushMs: number,
    /** Hears each payment unlock a phone reported first, with its latency (see unlockReported). */
    private readonly onUnlockReported: (seconds: number, from: string) => void = () => {},
  ) {}

  seen(deviceId: string, s: Seen): void {
    const prev = this.seenByDevice.get(deviceId);
    if (!prev || prev.credentialVersion !== s.credentialVersion || prev.counter < s.counter) this.seenByDevice.set(deviceId, s);
    this.schedule();
  }

  event(deviceId: string, e: { kind: string; at: Date; detail: Record<string, unknown>; received_at?: Date }): void {
    this.events.push({ device_id: deviceId, ...e });
    this.schedule();
  }

  enrollFailure(deviceId: string, at: Date): void {
    const f = this.failedProofs.get(deviceId);
    if (f) {
      f.count++;
      if (at > f.last) f.last = at;
    } else this.failedProofs.set(deviceId, { count: 1, last: at });
    this.schedule();
  }

  /**
   * A phone reported holding a policy a payment's unlock produced (policies.unlock_payment_at).
   * Written with the batch: the first report to land stamps unlock_reported_at, so each unlock
   * is measured once however many processes or check-ins saw it.
   */
  unlockReported(deviceId: string, version: number, at: Date): void {
    this.unlocks.push({ deviceId, version, at });
    this.schedule();
  }

  /** The highest counter not yet written for this enrollment of a device (0 when none). */
  pendingCounter(deviceId: string, credentialVersion: number): number {
    const s = this.seenByDevice.get(deviceId);
    return s && s.credentialVersion === credentialVersion ? s.counter : 0;
  }

  get pending(): number {
    return this.seenByDevice.size + this.events.length + this.failedProofs.size + this.unlocks.length;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.flushMs);
    this.timer.unref();
  }

  /** Writes everything buffered so far; resolves when it is committed. */
  flush(): Promise<void> {
    const seen = this.seenByDevice;
    const events = this.events;
    const failed = this.failedProofs;
    const unlocks = this.unlocks;
    this.seenByDevice = new Map();
    this.events = [];
    this.failedProofs = new Map();
    this.unlocks = [];
    // Flushes run one after another so rows land in the order they were reported.
    this.flushing = this.flushing.then(() => this.write(seen, events, failed, unlocks));
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(seen: Map<string, Seen>, events: PendingEvent[], failed: Map<string, { count: number; last: Date }>, unlocks: ReportedUnlock[]): Promise<void> {
    const now = new Date();
    const rows = [...seen.entries()];
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + MAX_ROWS_PER_STATEMENT);
      const values = sql.join(
        chunk.map(([id, s]) => sql`(${id}, ${s.at}::timestamptz, ${s.counter}::int8, ${s.credentialVersion}::int, ${s.agentVersion}, ${s.policyVersion}::int)`),
      );
      await sql`
        UPDATE devices d SET
          last_seen_at = GREATEST(d.last_seen_at, v.at),
          last_counter = GREATEST(d.last_counter, v.counter),
          agent_version = v.agent_version,
          policy_version_held = GREATEST(d.policy_version_held, v.policy_version)
        FROM (VALUES ${values}) AS v(id, at, counter, credential_version, agent_version, policy_version)
        WHERE d.id = v.id AND d.credential_version = v.credential_version`.execute(this.db);
    }
    const failures = [...failed.entries()];
    for (let i = 0; i < failures.length; i += MAX_ROWS_PER_STATEMENT) {
      const values = sql.join(failures.slice(i, i + MAX_ROWS_PER_STATEMENT).map(([id, f]) => sql`(${id}, ${f.count}::int, ${f.last}::timestamptz)`));
      await sql`
        UPDATE devices d SET
          enroll_failures = d.enroll_failures + v.n,
          last_enroll_failure_at = GREATEST(d.last_enroll_failure_at, v.last)
        FROM (VALUES ${values}) AS v(id, n, last)
        WHERE d.id = v.id`.execute(this.db);
    }
    for (let i = 0; i < events.length; i += MAX_ROWS_PER_STATEMENT) {
      await this.db
        .insertInto('device_events')
        .values(events.slice(i, i + MAX_ROWS_PER_STATEMENT).map((e) => ({ ...e, received_at: e.received_at ?? now })))
        .execute();
    }
    if (unlocks.length) await this.writeUnlocks(unlocks);
  }

  private async writeUnlocks(unlocks: ReportedUnlock[]): Promise<void> {
    const { rows } = await sql<{ seconds: number; from_stage: string | null }>`
      UPDATE policies p SET unlock_reported_at = v.at
      FROM unnest(${unlocks.map((u) => u.deviceId)}::text[], ${unlocks.map((u) => u.version)}::int[], ${unlocks.map((u) => u.at)}::timestamptz[]) AS v(device_id, version, at)
      WHERE p.device_id = v.device_id AND p.version = v.version
        AND p.unlock_payment_at IS NOT NULL AND p.unlock_reported_at IS NULL
      RETURNING extract(epoch FROM v.at - p.unlock_payment_at)::float8 AS seconds,
        (SELECT q.stage FROM policies q WHERE q.device_id = p.device_id AND q.version = p.version - 1) AS from_stage`.execute(this.db);
    for (const r of rows) this.onUnlockReported(Math.max(0, Number(r.seconds)), r.from_stage ?? 'unknown');
  }
}
