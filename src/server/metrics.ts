/**
 * Prometheus metrics (`GET /metrics`, text format 0.0.4), described for operators in
 * docs/operations.md. Two kinds:
 * - counted in this process as things happen (HTTP requests, check-ins, policies issued, unlock
 *   latency, sweeps, deliveries): sum them over processes, e.g. `sum(rate(…[5m]))`;
 * - read from the shared database at scrape time (outbox backlog, held locks, payment feeds,
 *   unfinished sweeps): every process reports the same fleet-wide figure, so aggregate with
 *   `max`, never `sum`. Those queries use indexes, are shared by scrapes that arrive together, and
 *   give up after a short timeout (lien_database_up turns 0).
 *
 * The endpoint needs `Authorization: Bearer <LIEN_METRICS_TOKEN or the operator key>` on the main
 * port; LIEN_METRICS_ADDR serves it without a token on a separate, private address instead.
 */
import { createServer, type Server } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../domain/clock.ts';
import { LienError } from '../domain/errors.ts';
import type { Policy } from '../protocol/index.ts';
import type { Database } from '../store/connection.ts';
import { authenticateApiKey } from '../services/apikeys.ts';
import type { Keyring } from '../services/keyring.ts';
import type { Telemetry } from '../services/telemetry.ts';
import type { SweepStats } from '../jobs/sweep.ts';
import type { WebhookRunStats } from '../jobs/webhooks.ts';
import { WEBHOOK_EVENT_TYPES } from '../services/webhooks.ts';
import type { NotificationRunStats } from '../jobs/notifications.ts';
import { parseListenAddress } from './config.ts';
import { NOTIFICATION_KINDS } from '../services/notifications.ts';

/** Contract stage reasons that mean a guardrail holds a lock back (the contracts_held index). */
export const HELD_REASONS = ['held_stale_feed', 'held_open_dispute', 'held_open_claim', 'no_consent'] as const;

const DB_TIMEOUT_MS = 2_000;

// Process metrics (CPU, memory, event loop lag, GC) are the process's, not one app's: collected
// once, however many servers a test builds in one process.
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsSource {
  database: Database;
  clock: Clock;
  devicesConnected(): number;
}

export class Metrics implements Telemetry {
  readonly registry = new Registry();
  private readonly r = [this.registry];

  private readonly http = new Histogram({
    name: 'lien_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code, with their latency (from the request arriving to the response sent).',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: this.r,
  });
  private readonly checkins = new Counter({
    name: 'lien_device_checkins_total',
    help: 'Authenticated device check-ins answered, by whether the answer carried a newer policy (policy_sent) or not (up_to_date).',
    labelNames: ['result'] as const,
    registers: this.r,
  });
  private readonly policies = new Counter({
    name: 'lien_policies_issued_total',
    help: 'Signed policies issued to devices, by the stage they carry.',
    labelNames: ['stage'] as const,
    registers: this.r,
  });
  private readonly unlock = new Histogram({
    name: 'lien_payment_unlock_seconds',
    help: 'From a payment that lifts a lock committing to the phone reporting that it holds the unlocking policy, by the stage lifted.',
    labelNames: ['from_stage'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600],
    registers: this.r,
  });
  private readonly sweepDuration = new Histogram({
    name: 'lien_sweep_duration_seconds',
    help: 'How long a sweep (every lender, every contract due) took in this process.',
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600],
    registers: this.r,
  });
  private readonly sweepContracts = new Counter({
    name: 'lien_sweep_contracts_total',
    help: 'Contracts the sweep evaluated (evaluated), of which settled by the quiet filter without loading their facts (quiet), and whose state changed (changed).',
    labelNames: ['outcome'] as const,
    registers: this.r,
  });
  private readonly deliveries = new Counter({
    name: 'lien_deliveries_total',
    help: 'Outbox delivery attempts by channel (webhook, sms) and result: delivered, retrying (failed, will be tried again), failed (gave up), cancelled, stale (result dropped: the lease ran out).',
    labelNames: ['channel', 'result'] as const,
    registers: this.r,
  });
  private readonly jobRuns = new Counter({
    name: 'lien_job_runs_total',
    help: 'Background job runs by job (sweep, webhooks, sms) and result (ok, error).',
    labelNames: ['job', 'result'] as const,
    registers: this.r,
  });
  private readonly jobLastSuccess = new Gauge({
    name: 'lien_job_last_success_timestamp_seconds',
    help: 'Unix time the job last finished without an error in this process.',
    labelNames: ['job'] as const,
    registers: this.r,
  });

  // Read from the database at scrape time (fleet-wide; aggregate with max).
  private readonly databaseUp = new Gauge({ name: 'lien_database_up', help: '1 when the last scrape-time database read succeeded within its timeout, 0 otherwise.', registers: this.r });
  private readonly outbox = new Gauge({
    name: 'lien_outbox_messages',
    help: 'Outbox rows by outbox (webhooks, sms), kind (event type or message kind) and status: pending (waiting or being sent) and failed (gave up).',
    labelNames: ['outbox', 'kind', 'status'] as const,
    registers: this.r,
  });
  private readonly outboxOldest = new Gauge({
    name: 'lien_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest pending outbox row (0 when none).',
    labelNames: ['outbox'] as const,
    registers: this.r,
  });
  private readonly held = new Gauge({ name: 'lien_held_locks', help: 'Active contracts whose lock a guardrail holds back, by reason.', labelNames: ['reason'] as const, registers: this.r });
  private readonly channels = new Gauge({
    name: 'lien_payment_channels',
    help: 'Payment channels by state: fresh (reported within its freshness window), stale (not; new locks of the lender are held), never_reported.',
    labelNames: ['state'] as const,
    registers: this.r,
  });
  private readonly unfinishedSweeps = new Gauge({ name: 'lien_sweep_unfinished_runs', help: "Lenders' daily sweep runs of the last two days not yet finished.", registers: this.r });
  private readonly unfinishedSweepAge = new Gauge({ name: 'lien_sweep_oldest_unfinished_run_age_seconds', help: 'Age of the oldest unfinished daily sweep run of the last two days (0 when none).', registers: this.r });

  private refreshing: Promise<void> | null = null;

  constructor(private readonly source: MetricsSource) {
    const { database } = source;
    new Gauge({ name: 'lien_device_streams_open', help: 'Devices with an open nudge stream to this process.', registers: this.r, collect() { this.set(source.devicesConnected()); } });
    new Gauge({
      name: 'lien_db_pool_connections',
      help: 'Database connections of this process: open (size) and handed out (in_use). PGlite is one session.',
      labelNames: ['state'] as const,
      registers: this.r,
      collect() {
        const p = database.poolStats();
        this.set({ state: 'size' }, p.size);
        this.set({ state: 'in_use' }, p.inUse);
      },
    });
    new Gauge({ name: 'lien_db_pool_waiting', help: 'Queries of this process waiting for a database connection.', registers: this.r, collect() { this.set(database.poolStats().waiting); } });
  }

  // --- Telemetry (services) ---------------------------------------------------------------

  checkin(policySent: boolean): void {
    this.checkins.inc({ result: policySent ? 'policy_sent' : 'up_to_date' });
  }

  paymentUnlockReported(seconds: number, from: string): void {
    this.unlock.observe({ from_stage: from }, seconds);
  }

  sweepFinished(stats: SweepStats, seconds: number): void {
    this.sweepDuration.observe(seconds);
    this.sweepContracts.inc({ outcome: 'evaluated' }, stats.evaluated);
    this.sweepContracts.inc({ outcome: 'quiet' }, stats.quiet);
    this.sweepContracts.inc({ outcome: 'changed' }, stats.changed);
  }

  // --- observed by the server -------------------------------------------------------------

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status_code: status }, seconds);
  }

  policyIssued(stage: string): void {
    this.policies.inc({ stage });
  }

  webhookRun(stats: WebhookRunStats): void {
    for (const result of ['delivered', 'retrying', 'failed', 'cancelled', 'stale'] as const) if (stats[result]) this.deliveries.inc({ channel: 'webhook', result }, stats[result]);
  }

  smsRun(stats: NotificationRunStats): void {
    if (stats.sent) this.deliveries.inc({ channel: 'sms', result: 'delivered' }, stats.sent);
    for (const result of ['retrying', 'failed', 'stale'] as const) if (stats[result]) this.deliveries.inc({ channel: 'sms', result }, stats[result]);
  }

  jobRun(job: string, ok: boolean): void {
    this.jobRuns.inc({ job, result: ok ? 'ok' : 'error' });
    if (ok) this.jobLastSuccess.set({ job }, Date.now() / 1000);
  }

  /** The exposition text: this server's metrics, then the process's. */
  async render(): Promise<string> {
    await this.refreshFromDatabase();
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Reads the fleet-wide figures, waiting at most DB_TIMEOUT_MS: a scrape must answer even when
   * the database does not (then lien_database_up is 0 and the figures are the last ones read).
   * A read still running is shared, never started twice.
   */
  private async refreshFromDatabase(): Promise<void> {
    this.refreshing ??= this.readDatabase().finally(() => (this.refreshing = null));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), DB_TIMEOUT_MS)));
    try {
      await Promise.race([this.refreshing, timeout]);
      this.databaseUp.set(1);
    } catch {
      this.databaseUp.set(0);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readDatabase(): Promise<void> {
    const db = this.source.database.db;
    const now = this.source.clock.now();
    const [outbox, held, channels, sweeps] = await Promise.all([
      sql<{ outbox: string; kind: string; status: string; n: number; oldest: Date | null }>`
        SELECT 'webhooks' AS outbox, event_type AS kind, CASE WHEN status = 'failed' THEN 'failed' ELSE 'pending' END AS status, count(*)::int AS n, min(created_at) AS oldest
        FROM webhook_deliveries WHERE status IN ('pending', 'sending', 'failed') GROUP BY 2, 3
        UNION ALL
        SELECT 'sms', kind, CASE WHEN status = 'failed' THEN 'failed' ELSE 'pending' END, count(*)::int, min(created_at)
        FROM notifications WHERE status IN ('pending', 'sending', 'failed') GROUP BY 2, 3`.execute(db),
      sql<{ reason: string; n: number }>`
        SELECT stage_reason AS reason, count(*)::int AS n FROM contracts
        WHERE status = 'active' AND stage_reason IN ('held_stale_feed', 'held_open_dispute', 'held_open_claim', 'no_consent')
        GROUP BY 1`.execute(db),
      sql<{ state: string; n: number }>`
        SELECT CASE WHEN last_reported_at IS NULL THEN 'never_reported'
                    WHEN last_reported_at + freshness_minutes * interval '1 minute' < ${now}::timestamptz THEN 'stale'
                    ELSE 'fresh' END AS state, count(*)::int AS n
        FROM payment_channels GROUP BY 1`.execute(db),
      sql<{ n: number; oldest: Date | null }>`
        SELECT count(*)::int AS n, min(started_at) AS oldest FROM sweep_runs
        WHERE finished_at IS NULL AND started_at > ${now}::timestamptz - interval '2 days'`.execute(db),
    ]);

    this.outbox.reset();
    this.outboxOldest.reset();
    for (const status of ['pending', 'failed']) {
      for (const kind of WEBHOOK_EVENT_TYPES) this.outbox.set({ outbox: 'webhooks', kind, status }, 0);
      for (const kind of NOTIFICATION_KINDS) this.outbox.set({ outbox: 'sms', kind, status }, 0);
    }
    const oldest = new Map<string, number>([['webhooks', 0], ['sms', 0]]);
    for (const r of outbox.rows) {
      this.outbox.set({ outbox: r.outbox, kind: r.kind, status: r.status }, r.n);
      if (r.status === 'pending' && r.oldest) oldest.set(r.outbox, Math.max(oldest.get(r.outbox)!, (now.getTime() - r.oldest.getTime()) / 1000));
    }
    for (const [name, age] of oldest) this.outboxOldest.set({ outbox: name }, age);

    this.held.reset();
    for (const reason of HELD_REASONS) this.held.set({ reason }, 0);
    for (const r of held.rows) this.held.set({ reason: r.reason }, r.n);

    this.channels.reset();
    for (const state of ['fresh', 'stale', 'never_reported']) this.channels.set({ state }, 0);
    for (const r of channels.rows) this.channels.set({ state: r.state }, r.n);

    const s = sweeps.rows[0];
    this.unfinishedSweeps.set(s?.n ?? 0);
    this.unfinishedSweepAge.set(s?.oldest ? Math.max(0, (now.getTime() - s.oldest.getTime()) / 1000) : 0);
  }
}

/** A keyring that counts what it signs: every policy issued goes through it. */
export function countingKeyring(keyring: Keyring, metrics: Pick<Metrics, 'policyIssued'>): Keyring {
  return {
    ...keyring,
    sign(policy: Policy) {
      const signed = keyring.sign(policy);
      metrics.policyIssued(policy.stage);
      return signed;
    },
    async signMany(policies: Policy[]) {
      const signed = await keyring.signMany(policies);
      for (const p of policies) metrics.policyIssued(p.stage);
      return signed;
    },
  };
}

/**
 * HTTP metrics for every route (labelled by its template, so /v1/contracts/:id is one series);
 * requests that match no route share `route="unmatched"`.
 */
export function installHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * `GET /metrics` on the main port, for a scraper holding LIEN_METRICS_TOKEN (a token that can do
 * nothing else; preferred) or the operator API key. Lender keys are refused.
 */
export function metricsRoute(app: FastifyInstance, opts: { metrics: Metrics; database: Database; token: string | undefined }): void {
  const wanted = opts.token ? digest(opts.token) : null;
  const authorize = async (req: FastifyRequest, reply: FastifyReply) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      reply.header('www-authenticate', 'Bearer realm="lien metrics"');
      throw new LienError('unauthorized', 'Metrics need "Authorization: Bearer <LIEN_METRICS_TOKEN or the operator key>", or a scrape on LIEN_METRICS_ADDR.');
    }
    if (wanted && timingSafeEqual(digest(m[1]!), wanted)) return;
    const actor = await authenticateApiKey(opts.database.db, m[1]!);
    if (actor.lenderId !== null) throw new LienError('forbidden', 'Metrics are for the platform operator.');
  };
  app.get('/metrics', { schema: { hide: true } as never, preHandler: authorize }, async (_req, reply) =>
    reply.type(opts.metrics.contentType).header('cache-control', 'no-store').send(await opts.metrics.render()),
  );
}

/**
 * A second, token-free listener that serves only `GET /metrics`: put it on an address only the
 * scraper reaches (a private interface, a sidecar's loopback).
 */
export async function startMetricsListener(addr: string, metrics: Metrics, onError: (e: unknown) => void): Promise<Server> {
  const { host, port } = parseListenAddress(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here.\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
      (e: unknown) => {
        onError(e);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed; see the server log\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
