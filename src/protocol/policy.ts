import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { LienError } from '../domain/errors.ts';
import { IsoDateTime, SafeCount } from './primitives.ts';

export const STAGE_VALUES = ['current', 'reminder', 'notice', 'restricted', 'locked', 'released', 'written_off', 'returned'] as const;
export type PolicyStage = (typeof STAGE_VALUES)[number];

const NullableInstant = Type.Union([IsoDateTime, Type.Null()]);

export const LenderContactSchema = Type.Object(
  {
    // Guardrail 1: the lender's name and a number to call are always on the lock screen.
    name: Type.String({ minLength: 1, maxLength: 120 }),
    phone: Type.String({ minLength: 1, maxLength: 32 }),
    url: Type.String({ maxLength: 300 }),
    howToPay: Type.String({ maxLength: 1000 }),
    supportHours: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/**
 * The document the agent enforces. The schema is closed (no unknown fields): the agent refuses
 * what it does not understand rather than enforce half of it.
 */
export const PolicySchema = Type.Object(
  {
    deviceId: Type.String({ minLength: 1, maxLength: 80 }),
    version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    issuedAt: IsoDateTime,
    stage: Type.Enum(STAGE_VALUES),
    /** The device locks on its own at this instant unless a newer policy says otherwise. */
    lockAt: NullableInstant,
    /** The device locks at this instant if it has not reached the server since. */
    offlineLockAt: NullableInstant,
    lender: LenderContactSchema,
    /** Minor units of `currency`. */
    amountDue: SafeCount,
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    message: Type.String({ maxLength: 2000 }),
    /** Numbers the device can call even when locked (emergency numbers are always allowed). */
    allowedNumbers: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 20 }),
    /** What the borrower reads out to support; see newLockReference. */
    lockReference: Type.String({ minLength: 1, maxLength: 64 }),
    noticeUntil: Type.Optional(NullableInstant),
    /** Which of the profile's notices the device must show (0 = first); the device reports it back. */
    noticeIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1000 }), Type.Null()])),
    nextCheckinAt: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);

export type Policy = Static<typeof PolicySchema>;

export function isPolicy(value: unknown): value is Policy {
  return Value.Check(PolicySchema, value);
}

// Crockford base32 without I, L, O, U: nothing to confuse when read aloud or typed from a screen.
const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const LOCK_REFERENCE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{8}$/;

/**
 * An 8-character lock reference (40 bits) from caller-supplied random bytes, so the function stays
 * pure; pass `crypto.randomBytes(5)`. Only the first 5 bytes are used.
 */
export function newLockReference(random: Uint8Array): string {
  if (random.length < 5) throw new LienError('invalid_input', `A lock reference needs at least 5 random bytes (got ${random.length}).`);
  let bits = 0n;
  for (const byte of random.subarray(0, 5)) bits = (bits << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = CROCKFORD_ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}
