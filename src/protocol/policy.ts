import { Type, type Static, type TProperties } from 'typebox';
import { Value } from 'typebox/value';
import { LienError } from '../domain/errors.ts';
import { IsoDateTime, SafeCount } from './primitives.ts';

export const STAGE_VALUES = ['current', 'reminder', 'notice', 'restricted', 'locked', 'released', 'written_off', 'returned'] as const;
export type PolicyStage = (typeof STAGE_VALUES)[number];

const NullableInstant = Type.Union([IsoDateTime, Type.Null()]);

/** Bounds of the offline notice: a day at least (the platform floor), a year at most. */
export const OFFLINE_NOTICE_MIN_HOURS = 24;
const OFFLINE_NOTICE_MAX_HOURS = 24 * 365;

function lenderProperties() {
  return {
    // Guardrail 1: the lender's name and a number to call are always on the lock screen.
    name: Type.String({ minLength: 1, maxLength: 120 }),
    phone: Type.String({ minLength: 1, maxLength: 32 }),
    url: Type.String({ maxLength: 300 }),
    howToPay: Type.String({ maxLength: 1000 }),
    supportHours: Type.Optional(Type.String({ maxLength: 200 })),
    /** 1.1: the lender's own standing message, in its default language. */
    message: Type.Optional(Type.String({ maxLength: LENDER_MESSAGE_MAX })),
  };
}

/** A language tag as the lender's texts are keyed: `hi`, `sw`, `pt-BR`. */
export const TEXT_LANG_PATTERN = '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$';
const MAX_TEXT_LANGS = 16;
const TEXT_LANG_PATTERN_OR_DEFAULT = '^(default|[a-z]{2,3}(-[A-Za-z0-9]{2,8})?)$';
export const LENDER_MESSAGE_MAX = 500;
/** The lender note's own text per language, for the `custom` template. */
export const NOTE_TEXT_MAX = 300;

/** Reason codes the phone words as catalog sentences (docs/protocol.md §7.5). */
export const REASON_CODES = ['current', 'due_soon', 'overdue', 'manual_lock', 'paid_off', 'closed'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** Templates of the lender note; the phone renders each from its own catalog. */
export const NOTE_TEMPLATES = ['call_us', 'pay_by', 'payment_received', 'visit_agent', 'custom'] as const;
export type NoteTemplate = (typeof NOTE_TEMPLATES)[number];

const PlainDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

function lenderTextProperties() {
  return {
    howToPay: Type.Optional(Type.String({ maxLength: 1000 })),
    supportHours: Type.Optional(Type.String({ maxLength: 200 })),
    message: Type.Optional(Type.String({ maxLength: LENDER_MESSAGE_MAX })),
  };
}

// A server signs only the codes it defines; an agent accepts codes of later minor versions and
// words the stage for them (docs/protocol.md §7.5), so they do not make a policy malformed.
const openCode = () => Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}$' });

function factsProperties(open: boolean) {
  return {
    /** Why the stage is what it is, as a code the phone words in the borrower's language. */
    reason: open ? openCode() : Type.Enum(REASON_CODES),
    /** The oldest unpaid due date (overdue since, or next due), in the lender's calendar. */
    dueDate: Type.Union([PlainDate, Type.Null()]),
    /** The lender's IANA time zone: the phone shows every date and time in it. */
    timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  };
}

function noteProperties(open: boolean) {
  return {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    template: open ? openCode() : Type.Enum(NOTE_TEMPLATES),
    /** Values the template names: an amount (minor units of the policy's currency) and a date. */
    params: Type.Object({ amount: Type.Optional(SafeCount), date: Type.Optional(PlainDate) }, { additionalProperties: open }),
    /** The `custom` template's text per language; `default` is the fallback. */
    texts: Type.Optional(Type.Record(Type.String({ pattern: TEXT_LANG_PATTERN_OR_DEFAULT }), Type.String({ minLength: 1, maxLength: NOTE_TEXT_MAX }), { maxProperties: MAX_TEXT_LANGS + 1 })),
    sentAt: IsoDateTime,
  };
}

function offlineNoticeProperties() {
  return {
    /** From this instant a phone that has not reached the server shows the offline notice on its own. */
    at: IsoDateTime,
    /** The offline lock comes no sooner than this many hours after the notice was first on screen. */
    minHours: Type.Integer({ minimum: OFFLINE_NOTICE_MIN_HOURS, maximum: OFFLINE_NOTICE_MAX_HOURS }),
  };
}

function policyProperties(open: boolean) {
  const obj = <P extends TProperties>(p: P) => Type.Object(p, { additionalProperties: open });
  return {
    deviceId: Type.String({ minLength: 1, maxLength: 80 }),
    version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    issuedAt: IsoDateTime,
    stage: Type.Enum(STAGE_VALUES),
    /** The device locks on its own at this instant unless a newer policy says otherwise. */
    lockAt: NullableInstant,
    /**
     * The device locks at this instant if it has not reached the server since, and only once the
     * offline notice has been on screen for `offlineNotice.minHours` (docs/protocol.md §8).
     */
    offlineLockAt: NullableInstant,
    /** The notice the device shows on its own before an offline lock; present whenever offlineLockAt is. */
    offlineNotice: Type.Optional(Type.Union([obj(offlineNoticeProperties()), Type.Null()])),
    lender: obj(lenderProperties()),
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
    /**
     * Names of top-level fields added after 1.0 that change what the device enforces: an agent
     * that does not know one of them refuses the whole policy (docs/protocol.md §7.3).
     */
    /** 1.1, display only: the facts a translated lock screen is worded from (§7.5). */
    facts: Type.Optional(obj(factsProperties(open))),
    /** 1.1, display only: the lender's texts per language; `lender` holds the fallback (§7.5). */
    lenderTexts: Type.Optional(Type.Record(Type.String({ pattern: TEXT_LANG_PATTERN }), obj(lenderTextProperties()), { maxProperties: MAX_TEXT_LANGS })),
    /** 1.1, display only: a short note from the lender, shown on the phone's screen (§7.5). */
    note: Type.Optional(Type.Union([obj(noteProperties(open)), Type.Null()])),
    critical: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }), { maxItems: 32 })),
  };
}

/**
 * The document the agent enforces, as a server signs it: closed, so a server never signs a field
 * it does not define.
 */
export const PolicySchema = Type.Object(policyProperties(false), { additionalProperties: false });

/**
 * The same document as an agent accepts it: every known field checked, unknown fields (at any
 * depth) allowed and ignored, because a newer server may add display-only fields in a minor
 * version. Fields that change enforcement are announced in `critical` instead.
 */
export const ReceivedPolicySchema = Type.Object(policyProperties(true), { additionalProperties: true });

export type Policy = Static<typeof PolicySchema>;
/** The lender's texts per language (policy 1.1 `lenderTexts`). */
export type LenderTexts = NonNullable<Policy['lenderTexts']>;
export type LenderText = LenderTexts[string];
/** The lender note a policy carries (policy 1.1 `note`). */
export type ScreenNote = NonNullable<Policy['note']>;
export type ScreenFacts = NonNullable<Policy['facts']>;

/** Top-level policy fields protocol 1.0 defines: what `critical` may name without a refusal. */
export const KNOWN_POLICY_FIELDS: ReadonlySet<string> = new Set(Object.keys(PolicySchema.properties));

/** Well-formed as a receiving agent checks it (unknown fields allowed). */
export function isPolicy(value: unknown): value is Policy {
  return Value.Check(ReceivedPolicySchema, value);
}

/** Fields named critical that this implementation does not know; empty when it may enforce the policy. */
export function unsupportedCriticalFields(policy: Policy): string[] {
  return (policy.critical ?? []).filter((f) => !KNOWN_POLICY_FIELDS.has(f));
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
