import type { FastifyError, FastifyInstance } from 'fastify';
import { isLienError, LienError, type ErrorCode } from '../domain/errors.ts';
import { isConnectionLoss } from '../services/connection-loss.ts';

/** The one error body every endpoint returns: `{ code, message, details }`. */
export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  invalid_imei: 400,
  invalid_amount: 400,
  unknown_currency: 400,
  currency_mismatch: 400,
  duplicate_payment_reference: 409,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  guardrail: 422,
  invalid_profile: 400,
  invalid_token: 400,
  invalid_signature: 401,
  replay: 401,
  stale: 409,
  payload_too_large: 413,
  unavailable: 503,
};

/** The HTTP status of a rule violation. */
export function httpStatus(e: { code: ErrorCode }): number {
  return STATUS[e.code];
}

/** Seconds a client should wait before sending a request that failed on a lost connection again. */
export const RETRY_AFTER_LOST_CONNECTION_SEC = 1;

/**
 * A request that failed because the database connection went away is the client's to retry, not
 * a bug: 503 with `retryable: true` and Retry-After. Null for any other error.
 */
export function unavailableFrom(err: unknown): LienError | null {
  if (!isConnectionLoss(err)) return null;
  return new LienError(
    'unavailable',
    'The database connection was lost while this request ran; it was not completed. Send it again (with the same Idempotency-Key, if it had one).',
    { retryable: true, retryAfterSec: RETRY_AFTER_LOST_CONNECTION_SEC },
  );
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, req, reply) => {
    const lost = unavailableFrom(raw);
    if (lost) {
      req.log.warn({ err: raw }, 'database connection lost during a request');
      reply.header('retry-after', String(RETRY_AFTER_LOST_CONNECTION_SEC));
    }
    const err = (lost ?? raw) as FastifyError;
    if (isLienError(err)) {
      return reply.status(httpStatus(err)).send({ code: err.code, message: err.message, details: err.details } satisfies ErrorBody);
    }
    if (err.validation) {
      const first = err.validation[0];
      const field = first ? fieldOf(first.instancePath, first.params) : undefined;
      const where = err.validationContext ?? 'body';
      const message = first
        ? `${where}${field ? ` field "${field}"` : ''}: ${first.message ?? 'is invalid'}`
        : `${where} is invalid`;
      return reply.status(400).send({ code: 'invalid_input', message, details: { where, field, errors: err.validation.slice(0, 10) } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'unhandled error');
      return reply.status(500).send({ code: 'internal', message: 'Something went wrong on our side; it has been logged.', details: {} });
    }
    return reply.status(status).send({ code: codeFor(status, err.code), message: humanMessage(status, err), details: {} });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}`, details: {} }),
  );
}

function fieldOf(instancePath: string, params: Record<string, unknown> | undefined): string | undefined {
  const extra = params && (params.missingProperty ?? params.additionalProperty ?? params.requiredProperties);
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (extra) return path ? `${path}.${String(extra)}` : String(extra);
  return path || undefined;
}

function codeFor(status: number, fastifyCode: string | undefined): string {
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  if (fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'invalid_json';
  return 'invalid_input';
}

function humanMessage(status: number, err: FastifyError): string {
  if (status === 413) return 'The request body is too large.';
  if (status === 415) return 'Send the body as application/json.';
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return `The body is not valid JSON: ${err.message}`;
  return err.message;
}
