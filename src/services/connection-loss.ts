/**
 * Telling a lost database connection from every other failure: the pg driver reports a backend
 * terminated by an operator, a failover or a restart with SQLSTATE class 57P/08 codes, or with a
 * plain Error whose message says so, or with a socket error code. Such a request can be sent
 * again (the pool opens a new connection); the server answers it 503 retryable.
 */
const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '08007', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
const CONNECTION_LOST_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|terminating connection due to administrator command/i;

/**
 * The database connection went away under a request (terminated, failed over, restarted): its
 * transaction was rolled back (unless the connection died during COMMIT itself, which no client
 * can tell apart), and the same request can be sent again (the pool opens a new connection).
 */
export function isConnectionLoss(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_LOST_CODES.has(code)) return true;
  const message = (e as { message?: unknown }).message;
  return typeof message === 'string' && CONNECTION_LOST_MESSAGES.test(message);
}
