import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

export const STAGE_VALUES = ['current', 'reminder', 'notice', 'restricted', 'locked', 'released', 'written_off', 'returned'] as const;
const IsoInstant = Type.String({ minLength: 10, maxLength: 40 });

export const PolicySchema = Type.Object(
  {
    deviceId: Type.String({ minLength: 1, maxLength: 80 }),
    version: Type.Integer({ minimum: 1 }),
    issuedAt: IsoInstant,
    stage: Type.Union([
      Type.Literal('current'),
      Type.Literal('reminder'),
      Type.Literal('notice'),
      Type.Literal('restricted'),
      Type.Literal('locked'),
      Type.Literal('released'),
      Type.Literal('written_off'),
      Type.Literal('returned'),
    ]),
    lockAt: Type.Union([IsoInstant, Type.Null()]),
    offlineLockAt: Type.Union([IsoInstant, Type.Null()]),
    lender: Type.Object(
      {
        name: Type.String(),
        phone: Type.String(),
        url: Type.String(),
        howToPay: Type.String(),
        supportHours: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    amountDue: Type.Integer({ minimum: 0 }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    message: Type.String(),
    allowedNumbers: Type.Array(Type.String()),
    lockReference: Type.String(),
    noticeUntil: Type.Optional(Type.Union([IsoInstant, Type.Null()])),
    /** Which of the profile's notices the device must show (0 = first); the device reports it back. */
    noticeIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    nextCheckinAt: Type.Optional(IsoInstant),
  },
  { additionalProperties: false },
);

export type Policy = Static<typeof PolicySchema>;

export function isPolicy(v: unknown): v is Policy {
  return Value.Check(PolicySchema, v);
}

// Crockford base32 without I, L, O, U: easy to read aloud over the phone.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** An 8-character lock reference from caller-supplied random bytes (≥ 5 bytes). */
export function newLockReference(random: Uint8Array): string {
  if (random.length < 5) throw new Error('need at least 5 random bytes');
  let bits = 0n;
  for (const b of random.subarray(0, 5)) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}
