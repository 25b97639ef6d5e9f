/**
 * A caller gave the codec something it cannot encode (an unknown type, days out of range, a
 * malformed key). The codec ships on phones and imports nothing of the server, so it has its
 * own error; the server's use cases turn it into a 400 (src/services/codes.ts).
 */
export class TokenInputError extends Error {
  readonly code = 'invalid_input';
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TokenInputError';
  }
}
