import type { FastifyInstance } from 'fastify';

/**
 * Node's server.close() ends the keep-alive connections that are idle at that moment, once. A
 * connection whose request was still running goes back to keep-alive after its response and
 * holds close() until keepAliveTimeout (72 s in Fastify): a shutdown with a check-in in flight
 * hung for a minute. While closing, responses therefore end their connection.
 */
export function endConnectionsWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}
