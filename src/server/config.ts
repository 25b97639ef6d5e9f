import { DEFAULT_PROVISIONING_WINDOW_DAYS } from '../domain/provisioning.ts';
import { parseAllowHosts } from '../services/outbound.ts';
import { logFormat } from './logging.ts';

/** Runtime configuration from the environment, with defaults that run with no setup at all. */
export interface Config {
  host: string;
  port: number;
  /** PostgreSQL connection string; unset → embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (created if missing); lets tests and tenants share one database. */
  databaseSchema: string | undefined;
  dataDir: string;
  /** Base URL devices and people reach this server at (used in printed links and policies). */
  publicUrl: string;
  /** Seconds between device check-ins when nothing changes. */
  checkinIntervalSec: number;
  /** Milliseconds the check-in bookkeeping is buffered before it is written in one batch. */
  checkinFlushMs: number;
  /** Minutes between sweeps of every lender's contracts. */
  sweepIntervalMin: number;
  /** Contracts the sweep evaluates per transaction. */
  sweepBatchSize: number;
  /** Seconds between keep-alive pings on device streams; a stream silent for two rounds is closed (0: off). */
  streamPingSec: number;
  logLevel: string;
  /** Days a registered, unsold phone keeps asking to enroll after its first contact. */
  provisioningWindowDays: number;
  /** TLS port of the Android Device Lock provisioning backend (gRPC); null = off. */
  dlcPort: number | null;
  /** Certificate and key of that port (path or PEM); unset = a self-signed one in dataDir. */
  dlcTlsCert?: string | undefined;
  dlcTlsKey?: string | undefined;
  /** Reverse proxies in front whose X-Forwarded-For the portal trusts for client addresses (0: none). */
  trustProxy?: number;
  /** On-premises webhook receivers allowed to be private addresses (LIEN_WEBHOOK_ALLOW_HOSTS). */
  webhookAllowHosts?: string[];
  /** JSON lines for a collector, or readable lines (pino-pretty); default: readable on a terminal. */
  logFormat?: 'json' | 'pretty';
  /** A token that may read GET /metrics on the main port (and nothing else). */
  metricsToken?: string;
  /** `host:port` of a separate listener serving GET /metrics without a token. */
  metricsAddr?: string;
}

function int(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0, got "${raw}"`);
  return n;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  const n = int(name, raw, fallback);
  if (n === 0) throw new Error(`${name} must be at least 1, got "${raw}"`);
  return n;
}

/**
 * At most a day: a phone picks up the renewal of its offline deadline at a routine check-in, in
 * the last half of the window (≥ 3.5 days), so several check-ins must fall in it.
 */
function checkinInterval(raw: string | undefined): number {
  const n = positive('LIEN_CHECKIN_INTERVAL', raw, 6 * 3600);
  if (n > 86_400) throw new Error(`LIEN_CHECKIN_INTERVAL must be at most 86400 (a day), got "${raw}"`);
  return n;
}

function provisioningWindow(raw: string | undefined): number {
  const n = positive('LIEN_PROVISIONING_WINDOW_DAYS', raw, DEFAULT_PROVISIONING_WINDOW_DAYS);
  if (n > 365) throw new Error(`LIEN_PROVISIONING_WINDOW_DAYS must be at most 365, got "${raw}"`);
  return n;
}

function dlcPort(raw: string): number {
  const n = int('LIEN_DLC_PORT', raw, 0);
  if (n > 65535) throw new Error(`LIEN_DLC_PORT must be a TCP port (0 to 65535), got "${raw}"`);
  return n;
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`LIEN_METRICS_ADDR must look like 127.0.0.1:9464 or :9464, got "${addr}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function metricsToken(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (raw.length < 16 || /\s/.test(raw)) throw new Error('LIEN_METRICS_TOKEN must be at least 16 characters without spaces (e.g. openssl rand -hex 24)');
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const port = overrides.port ?? int('PORT', env.PORT, 8080);
  const host = overrides.host ?? env.HOST ?? '127.0.0.1';
  return {
    host,
    port,
    databaseUrl: overrides.databaseUrl ?? (env.DATABASE_URL || undefined),
    databaseSchema: overrides.databaseSchema ?? (env.LIEN_DATABASE_SCHEMA || undefined),
    dataDir: overrides.dataDir ?? env.LIEN_DATA_DIR ?? './data',
    publicUrl: overrides.publicUrl ?? env.LIEN_PUBLIC_URL ?? `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`,
    checkinIntervalSec: overrides.checkinIntervalSec ?? checkinInterval(env.LIEN_CHECKIN_INTERVAL),
    checkinFlushMs: overrides.checkinFlushMs ?? int('LIEN_CHECKIN_FLUSH_MS', env.LIEN_CHECKIN_FLUSH_MS, 250),
    sweepIntervalMin: overrides.sweepIntervalMin ?? int('LIEN_SWEEP_INTERVAL', env.LIEN_SWEEP_INTERVAL, 15),
    sweepBatchSize: overrides.sweepBatchSize ?? positive('LIEN_SWEEP_BATCH_SIZE', env.LIEN_SWEEP_BATCH_SIZE, 500),
    streamPingSec: overrides.streamPingSec ?? int('LIEN_STREAM_PING_SEC', env.LIEN_STREAM_PING_SEC, 120),
    logLevel: overrides.logLevel ?? env.LOG_LEVEL ?? 'info',
    logFormat: overrides.logFormat ?? logFormat(env, Boolean(process.stdout.isTTY)),
    trustProxy: overrides.trustProxy ?? int('LIEN_TRUST_PROXY', env.LIEN_TRUST_PROXY, 0),
    provisioningWindowDays: overrides.provisioningWindowDays ?? provisioningWindow(env.LIEN_PROVISIONING_WINDOW_DAYS),
    dlcPort: overrides.dlcPort !== undefined ? overrides.dlcPort : env.LIEN_DLC_PORT ? dlcPort(env.LIEN_DLC_PORT) : null,
    dlcTlsCert: overrides.dlcTlsCert ?? (env.LIEN_DLC_TLS_CERT || undefined),
    dlcTlsKey: overrides.dlcTlsKey ?? (env.LIEN_DLC_TLS_KEY || undefined),
    webhookAllowHosts: overrides.webhookAllowHosts ?? parseAllowHosts(env.LIEN_WEBHOOK_ALLOW_HOSTS),
    metricsToken: overrides.metricsToken ?? metricsToken(env.LIEN_METRICS_TOKEN),
    metricsAddr: overrides.metricsAddr ?? (env.LIEN_METRICS_ADDR ? (parseListenAddress(env.LIEN_METRICS_ADDR), env.LIEN_METRICS_ADDR) : undefined),
  };
}

/** What openDatabase needs from the configuration. */
export function connectionOptions(c: Config): { databaseUrl: string; schema?: string } | { dataDir: string } {
  if (!c.databaseUrl) return { dataDir: c.dataDir };
  return { databaseUrl: c.databaseUrl, ...(c.databaseSchema ? { schema: c.databaseSchema } : {}) };
}

/** The table the README shows; kept here so docs and code cannot drift apart. */
export const CONFIG_TABLE: [variable: string, default_: string, meaning: string][] = [
  ['PORT', '8080', 'HTTP port'],
  ['HOST', '127.0.0.1', 'interface to listen on (0.0.0.0 for all)'],
  ['DATABASE_URL', '(unset)', 'PostgreSQL URL; unset runs embedded PGlite'],
  ['LIEN_DATABASE_SCHEMA', 'public', 'PostgreSQL schema for Lien tables (created if missing)'],
  ['LIEN_DATA_DIR', './data', 'embedded database, pid lock and generated master key'],
  ['LIEN_MASTER_KEY', '(generated file)', '32-byte key (hex or base64) encrypting factory secrets at rest; required with DATABASE_URL'],
  ['LIEN_OPERATOR_KEY', '(generated)', 'operator API key; unset, one is generated on first start and printed once (only its SHA-256 is stored, in the database; no file holds it)'],
  ['LIEN_PUBLIC_URL', 'http://HOST:PORT', 'address printed for the console, portal and devices'],
  ['LIEN_CHECKIN_INTERVAL', '21600', 'seconds between routine device check-ins'],
  ['LIEN_CHECKIN_FLUSH_MS', '250', 'how long check-in bookkeeping is batched before it is written'],
  ['LIEN_SWEEP_INTERVAL', '15', 'minutes between sweeps (each contract is evaluated at least daily); 0 turns background jobs off'],
  ['LIEN_SWEEP_BATCH_SIZE', '500', 'contracts the sweep evaluates per transaction (a crash loses at most the batch in flight)'],
  ['LIEN_STREAM_PING_SEC', '120', 'seconds between keep-alive pings on device streams; a stream that answers neither of two in a row is closed (0 turns them off)'],
  ['LIEN_SMS_GATEWAY_URL', '(unset)', 'HTTP SMS gateway for borrower messages (JSON {to, text, reference}); unset logs them'],
  ['LIEN_SMS_GATEWAY_TOKEN', '(unset)', 'bearer token for the SMS gateway'],
  ['LIEN_EMULATOR', '(off)', '1 mounts the browser device emulator at /emulator (development and demos; also on under LIEN_TEST_CLOCK)'],
  ['LIEN_TRUST_PROXY', '0', 'number of reverse proxies in front; the portal then takes the client address from X-Forwarded-For (never set it without a proxy: clients could dodge rate limits)'],
  ['LIEN_PROVISIONING_WINDOW_DAYS', '30', 'days a registered phone not yet sold keeps asking to enroll after it was first switched on (1 to 365); a sale recorded within them still reaches it'],
  ['LIEN_DLC_PORT', '(off)', 'TLS port of the Android Device Lock provisioning backend (gRPC, e.g. 8843); see docs/android.md'],
  ['LIEN_DLC_TLS_CERT', '(self-signed)', 'certificate of that port, a PEM file path or PEM text; unset, a self-signed one is made in the data directory (with a warning)'],
  ['LIEN_DLC_TLS_KEY', '(self-signed)', 'private key of that certificate, a PEM file path or PEM text'],
  ['LIEN_WEBHOOK_ALLOW_HOSTS', '(none)', 'host names of on-premises webhook receivers allowed to resolve to private addresses (comma-separated); every other webhook must reach a public address'],
  ['LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace'],
  ['LIEN_LOG_FORMAT', '(pretty on a terminal, else json)', 'json: one JSON line per event (pino); pretty: readable lines'],
  ['LIEN_METRICS_TOKEN', '(unset)', 'bearer token that may read GET /metrics (the operator key also can); at least 16 characters'],
  ['LIEN_METRICS_ADDR', '(unset)', 'host:port (or :port) of a second listener serving GET /metrics without a token; keep it private'],
];
