import type { Server } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import websocket from '@fastify/websocket';
import type { Clock } from '../domain/clock.ts';
import { ManualClock, systemClock } from '../domain/clock.ts';
import { openDatabase, type Database } from '../store/connection.ts';
import { migrate } from '../store/migrations/index.ts';
import { loggableError } from '../store/loggable.ts';
import type { Services } from '../services/context.ts';
import { DeviceGateway } from '../services/devices.ts';
import { startServices } from '../services/bootstrap.ts';
import { ensureOperatorKey } from '../services/apikeys.ts';
import { connectionOptions, type Config } from './config.ts';
import { installErrorHandling } from './errors.ts';
import { installIdempotency, releaseInterruptedKeys } from './idempotency.ts';
import { installTextGuard } from './text-guard.ts';
import { frameworkErrors } from './framework-errors.ts';
import { registerOpenApi } from './openapi.ts';
import { endConnectionsWhileClosing } from './graceful-close.ts';
import { NudgeHub } from './nudges.ts';
import { StreamKeepAlive } from './stream-keepalive.ts';
import { startDlcServer, type DlcServer } from './dlc/server.ts';
import { loadDlcTls } from './dlc/tls.ts';
import { deviceRoutes } from './routes/device.ts';
import { lenderRoutes } from './routes/lender.ts';
import { importRoutes } from './routes/imports.ts';
import { operatorRoutes } from './routes/operator.ts';
import { testClockRoutes } from './routes/test-clock.ts';
import { emulatorRoutes } from './routes/emulator.ts';
import type { PhoneHandOff } from '../agent/sim/hand-off.ts';
import { consoleRoutes } from './routes/console/index.ts';
import { portalRoutes } from './routes/portal.ts';
import { railRoutes } from './routes/rails.ts';
import { startJobLoop, type JobLoop } from '../jobs/delivery.ts';
import { sweep } from '../jobs/sweep.ts';
import { runWebhookDeliveries } from '../jobs/webhooks.ts';
import { ConsoleAdapter, HttpSmsGatewayAdapter, runNotificationDeliveries } from '../jobs/notifications.ts';
import { lenderSmsAdapters } from '../jobs/sms-providers.ts';
import { createLogger, installRequestContext, requestId } from './logging.ts';
import { healthRoutes, JobTracker } from './health.ts';
import { assetRoutes, installHttp } from './http.ts';
import { HTMX } from '../web/assets.ts';
import { API_REFERENCE_CSS } from '../web/api-reference.tsx';
import { countingKeyring, installHttpMetrics, Metrics, metricsRoute, startMetricsListener } from './metrics.ts';

export interface Lien {
  app: FastifyInstance;
  services: Services;
  gateway: DeviceGateway;
  /** Set on the first start of an empty database: the operator key, to be shown once. */
  newOperatorKey: string | null;
  /** The Android Device Lock gRPC server, when LIEN_DLC_PORT is set. */
  dlc: DlcServer | null;
  close(): Promise<void>;
}

/**
 * Background work every process runs; each loop is safe alongside the same loop in other
 * processes (claims with SKIP LOCKED). A sweep interval of 0 turns the loops off.
 */
function startJobs(s: Services, config: Config, app: FastifyInstance, jobs: JobTracker, metrics: Metrics): JobLoop[] {
  const onError = (job: string) => (e: unknown) => app.log.error({ err: e, job }, 'background job failed');
  const smsLog = app.log.child({ job: 'sms' });
  const adapter = process.env.LIEN_SMS_GATEWAY_URL
    ? new HttpSmsGatewayAdapter({ url: process.env.LIEN_SMS_GATEWAY_URL, token: process.env.LIEN_SMS_GATEWAY_TOKEN ?? '' })
    : new ConsoleAdapter({ log: (line) => smsLog.info(line) });
  const adapterFor = lenderSmsAdapters(s.db, s);
  const minutes = (n: number) => n * 60_000;
  return [
    startJobLoop(jobs.track('sweep', minutes(120), async () => void (await sweep(s, { batchSize: config.sweepBatchSize }))), minutes(config.sweepIntervalMin), { onError: onError('sweep') }),
    startJobLoop(jobs.track('webhooks', minutes(15), async () => metrics.webhookRun(await runWebhookDeliveries(s.db, { masterKey: s.masterKey, clock: s.clock, outbound: s.outbound }))), 10_000, { onError: onError('webhooks') }),
    startJobLoop(jobs.track('sms', minutes(15), async () => metrics.smsRun(await runNotificationDeliveries(s.db, { adapter, adapterFor, clock: s.clock }))), 10_000, { onError: onError('sms') }),
  ];
}

async function startDeviceLock(s: Services, config: Config, app: FastifyInstance): Promise<DlcServer> {
  const tls = await loadDlcTls({
    certEnv: config.dlcTlsCert,
    keyEnv: config.dlcTlsKey,
    dataDir: config.dataDir,
    hostNames: [config.host, new URL(config.publicUrl).hostname],
    warn: (msg) => app.log.warn(msg),
  });
  const server = await startDlcServer({ services: s, tls, host: config.host, port: config.dlcPort!, log: app.log });
  app.log.info(`Android Device Lock provisioning backend on ${config.host}:${server.port} (TLS, ${tls.source} certificate)`);
  return server;
}

export interface BuildOptions {
  clock?: Clock;
  /** An already open database (tests); otherwise opened from the config. */
  database?: Database;
  logger?: boolean;
  /** Where log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
  /** Run the sweep and delivery loops (default true; tests drive them by hand). */
  jobs?: boolean;
  /** Phones this process already runs (the live demo fleet), which the emulator takes over. */
  phoneHandOff?: PhoneHandOff;
}

/**
 * Builds the whole server: database (migrated), keys, device gateway, routes. `LIEN_TEST_CLOCK=1`
 * starts it on a manual clock that an operator can move (end-to-end tests on a real process).
 */
export async function buildLien(config: Config, opts: BuildOptions = {}): Promise<Lien> {
  const clock = opts.clock ?? (process.env.LIEN_TEST_CLOCK === '1' ? new ManualClock(process.env.LIEN_TEST_CLOCK_START ?? Date.now()) : systemClock);
  const database =
    opts.database ?? (await openDatabase(connectionOptions(config)));
  try {
    await migrate(database.db, database.schema);
    const nudges = new NudgeHub(database);
    const metrics = new Metrics({ database, clock, devicesConnected: () => nudges.connected });
    const started = await startServices(database, {
      clock,
      dataDir: config.dataDir,
      masterKey: process.env.LIEN_MASTER_KEY,
      checkinIntervalSec: config.checkinIntervalSec,
      publicUrl: config.publicUrl,
      provisioningWindowDays: config.provisioningWindowDays,
      webhookAllowHosts: config.webhookAllowHosts ?? [],
    });
    const services: Services = { ...started, keyring: countingKeyring(started.keyring, metrics), telemetry: metrics };
    const newOperatorKey = await ensureOperatorKey(database.db, process.env.LIEN_OPERATOR_KEY, clock.now());
    const gateway = new DeviceGateway(services, config.checkinFlushMs);
    services.committed = (deviceIds) => deviceIds.forEach((id) => gateway.forget(id));
    nudges.onNudge((deviceId) => gateway.forget(deviceId));
    await nudges.start();

    const logger = opts.logger === false ? null : createLogger({ level: config.logLevel, format: config.logFormat ?? 'json', serializeError: loggableError, ...(opts.logDestination ? { destination: opts.logDestination } : {}) });
    const app = Fastify({
      ...(logger ? { loggerInstance: logger } : { logger: false }),
      genReqId: requestId,
      bodyLimit: 1024 * 1024,
      // Per-request logs would cost the check-in hot path (metrics count every request); errors are logged.
      logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
      frameworkErrors,
    });
    installRequestContext(app);
    installHttpMetrics(app, metrics);
    installErrorHandling(app);
    installTextGuard(app);
    endConnectionsWhileClosing(app);
    await installHttp(app, { publicUrl: config.publicUrl });
    assetRoutes(app, [HTMX, API_REFERENCE_CSS]);
    await app.register(websocket, { options: { maxPayload: 4096 } });
    // Both collect routes as they are added (onRoute), so they come before every route.
    await registerOpenApi(app, { publicUrl: config.publicUrl, version: '0.1.0' });
    installIdempotency(app, services);
    await releaseInterruptedKeys(services);
    const jobs = opts.jobs === false || config.sweepIntervalMin === 0 ? null : new JobTracker((job, _seconds, ok) => metrics.jobRun(job, ok));
    healthRoutes(app, { database, jobs, devicesConnected: () => nudges.connected });
    metricsRoute(app, { metrics, database, token: config.metricsToken });
    const keepAlive = new StreamKeepAlive();
    keepAlive.start(config.streamPingSec * 1000);
    await app.register(deviceRoutes, { gateway, nudges, keepAlive });
    await app.register(operatorRoutes, { s: services, sweepBatchSize: config.sweepBatchSize });
    await app.register(lenderRoutes, { s: services });
    await app.register(importRoutes, { s: services });
    if (clock instanceof ManualClock) await app.register(testClockRoutes, { s: services, clock });
    await app.register(emulatorRoutes, { s: services, handOff: opts.phoneHandOff ?? null }); // mounts itself only in development; see routes/emulator.ts
    await app.register(consoleRoutes, { s: services });
    await app.register(portalRoutes, { s: services, trustProxy: config.trustProxy ?? 0 });
    await app.register(railRoutes, { s: services, trustProxy: config.trustProxy ?? 0 });

    const metricsServer: Server | null = config.metricsAddr ? await startMetricsListener(config.metricsAddr, metrics, (e) => app.log.error({ err: e }, 'metrics scrape failed')) : null;
    const loops = jobs ? startJobs(services, config, app, jobs, metrics) : [];
    const dlc = config.dlcPort === null ? null : await startDeviceLock(services, config, app);

    return {
      app,
      services,
      gateway,
      newOperatorKey,
      dlc,
      async close() {
        if (jobs) jobs.stopped = true;
        keepAlive.stop();
        await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
        await Promise.all(loops.map((l) => l.stop()));
        await dlc?.close();
        await app.close();
        await gateway.idle();
        await gateway.bookkeeping.close();
        await nudges.stop();
        if (!opts.database) await database.close();
      },
    };
  } catch (e) {
    if (!opts.database) await database.close();
    throw e;
  }
}
