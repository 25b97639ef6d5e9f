/**
 * The server's log: one JSON line per event (pino) for a log collector, or pino-pretty's
 * readable lines when stdout is a terminal. Every line of a request carries its request id (the
 * caller's `X-Request-Id` when it sends a sane one, echoed back), and the device or lender once
 * the request says who it is. Errors go through loggableError, so the values of a failed SQL
 * statement (tokens, password hashes, phone numbers) never reach the log; redaction covers
 * credentials in anything else that is logged.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';

export type LogFormat = 'json' | 'pretty';

/** Credentials by the names they travel under; censored wherever they appear in a logged object. */
const SECRET_KEYS = ['authorization', 'password', 'passwordHash', 'password_hash', 'secret', 'token', 'apiKey', 'credential', 'factorySecret'];
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-lien-signature"]',
  'res.headers["set-cookie"]',
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
];

/** `LIEN_LOG_FORMAT` when set, otherwise readable on a terminal and JSON everywhere else. */
export function logFormat(env: NodeJS.ProcessEnv, stdoutIsTty: boolean): LogFormat {
  const asked = env.LIEN_LOG_FORMAT;
  if (asked === 'json' || asked === 'pretty') return asked;
  if (asked) throw new Error(`LIEN_LOG_FORMAT must be "json" or "pretty", got "${asked}"`);
  return stdoutIsTty ? 'pretty' : 'json';
}

/** `serializeError` keeps the values of a failed statement out of the log (store/loggable.ts, given by the composition root). */
export function createLogger(opts: { level: string; format: LogFormat; serializeError: (e: unknown) => Record<string, unknown>; destination?: DestinationStream }): FastifyBaseLogger {
  const options = {
    level: opts.level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { err: opts.serializeError, error: opts.serializeError },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.format === 'pretty') {
    // Loaded only for a terminal: a JSON-logging server never pays for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }));
  }
  return pino(options);
}

/** A caller's request id is kept when it is short and plain; anything else gets a fresh one. */
const FORWARDED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && FORWARDED_ID.test(h) ? h : randomUUID();
}

/**
 * Echoes the request id and binds the device a device request names (checked by the route; the
 * header is what the line can say before that). Lenders are bound where their key is checked.
 */
export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    const device = req.headers['x-lien-device'];
    if (typeof device === 'string' && req.url.startsWith('/v1/device/')) req.log = req.log.child({ deviceId: device.slice(0, 80) });
    done();
  });
}
