/**
 * Liveness and readiness, both cheap enough for a probe every few seconds.
 * - `GET /healthz`: the process answers (no database round trip); a restart is the cure when not.
 * - `GET /readyz`: the database answers within a few seconds, its schema has every migration this
 *   build knows, and the background jobs run: send traffic here. 503 with the failing check when
 *   not, so a load balancer stops sending requests to a process that cannot serve them.
 */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../store/connection.ts';
import { checkDatabase, type Check } from '../services/readiness.ts';

export interface JobState {
  name: string;
  runs: number;
  failures: number;
  /** When the run in progress started; null between runs. */
  runningSince: Date | null;
  /** A run longer than this is stuck (a hung connection, a lock never released): not ready. */
  maxRunMs: number;
  lastFinishedAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
}

/**
 * Wraps background jobs to know when each last ran and how it went (readiness, metrics). `onRun`
 * hears every finished run with its duration. A failed run is logged by the loop and tried again
 * at its next interval; only a run that never ends makes the process unready.
 */
export class JobTracker {
  private readonly states = new Map<string, JobState>();
  stopped = false;

  constructor(private readonly onRun: (name: string, seconds: number, ok: boolean) => void = () => {}) {}

  track(name: string, maxRunMs: number, fn: () => Promise<void>): () => Promise<void> {
    const state: JobState = { name, runs: 0, failures: 0, runningSince: null, maxRunMs, lastFinishedAt: null, lastDurationMs: null, lastError: null };
    this.states.set(name, state);
    return async () => {
      const started = performance.now();
      state.runningSince = new Date();
      let ok = false;
      try {
        await fn();
        ok = true;
        state.lastError = null;
      } catch (e) {
        state.failures++;
        state.lastError = e instanceof Error ? e.message : String(e);
        throw e;
      } finally {
        const ms = performance.now() - started;
        state.runningSince = null;
        state.runs++;
        state.lastFinishedAt = new Date();
        state.lastDurationMs = Math.round(ms);
        this.onRun(name, ms / 1000, ok);
      }
    };
  }

  list(): JobState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  /** Jobs whose run in progress has lasted longer than it may. */
  stuck(now = Date.now()): string[] {
    return [...this.states.values()].filter((s) => s.runningSince && now - s.runningSince.getTime() > s.maxRunMs).map((s) => s.name);
  }
}

export function healthRoutes(app: FastifyInstance, opts: { database: Database; jobs: JobTracker | null; devicesConnected: () => number }): void {
  const { database, jobs } = opts;
  app.get('/healthz', { schema: { hide: true } as never }, async () => ({ ok: true, database: database.kind, devicesConnected: opts.devicesConnected() }));

  app.get('/readyz', { schema: { hide: true } as never }, async (_req, reply) => {
    const { database: db, migrations: mig } = await checkDatabase(database);
    const stuck = jobs?.stuck() ?? [];
    const jobCheck: Check = !jobs
      ? { ok: true, state: 'off', message: 'background jobs are off in this process (LIEN_SWEEP_INTERVAL=0)' }
      : jobs.stopped
        ? { ok: false, state: 'stopped', message: 'the process is shutting down' }
        : stuck.length
          ? { ok: false, state: 'stuck', message: `still running past their limit: ${stuck.join(', ')}`, loops: jobs.list() }
          : { ok: true, state: 'running', loops: jobs.list() };
    const ready = db.ok && mig.ok && jobCheck.ok;
    return reply.status(ready ? 200 : 503).header('cache-control', 'no-store').send({ ready, checks: { database: db, migrations: mig, jobs: jobCheck } });
  });
}
