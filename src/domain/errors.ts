/**
 * Every rule violation the user can cause is a LienError: a stable machine code, a sentence a
 * person understands, and optional details (field, line, value). The HTTP layer maps each code
 * to a status (src/server/errors.ts).
 */
export type ErrorCode =
  | 'invalid_input'
  | 'invalid_imei'
  | 'invalid_amount'
  | 'unknown_currency'
  | 'currency_mismatch'
  | 'duplicate_payment_reference'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'guardrail'
  | 'invalid_profile'
  | 'invalid_token'
  | 'invalid_signature'
  | 'replay'
  | 'stale'
  | 'payload_too_large'
  | 'unavailable';

export class LienError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LienError';
  }
}

export function isLienError(e: unknown): e is LienError {
  return e instanceof LienError;
}
