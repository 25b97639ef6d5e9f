/**
 * Every rule violation the user can cause is a LienError: a stable machine code, a sentence a
 * person understands, and optional details (field, line, value). The HTTP layer maps `status`.
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

export class LienError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LienError';
    this.status = STATUS[code];
  }
}

export function isLienError(e: unknown): e is LienError {
  return e instanceof LienError;
}
