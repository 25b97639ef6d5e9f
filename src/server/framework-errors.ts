import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './errors.ts';

/**
 * Errors the router raises before any route or error handler runs (a path parameter over the
 * length limit, a malformed URL): answered with the same error body as everything else.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const body: ErrorBody =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? { code: 'invalid_input', message: 'A path parameter is too long; ids are at most 80 characters.', details: { where: 'params' } }
      : { code: 'invalid_input', message: `The request URL is not valid: ${err.message}`, details: { where: 'url' } };
  void reply.status(status).send(body);
}
