import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { KeyRotationsSchema } from './key-rotation.ts';
import { ReceivedPolicySchema } from './policy.ts';
import { Base64Url32, IsoDateTime, KeyId, SafeCount } from './primitives.ts';

export { validate } from './validate.ts';

/** Wire messages of the device API (DESIGN.md §5). Request schemas are closed; see each note. */

export const SigningKeySchema = Type.Object({ kid: KeyId, publicKey: Base64Url32 }, { additionalProperties: false });
export const SigningKeysSchema = Type.Array(SigningKeySchema, { minItems: 1, maxItems: 16 });

/**
 * The wire shape of signing.ts's SignedPolicy; whether the signature holds is verifySignedPolicy's
 * job. The policy may carry fields newer than this implementation (they are signed, and ignored).
 */
export const SignedPolicySchema = Type.Object({ policy: ReceivedPolicySchema, kid: KeyId, sig: Type.String({ minLength: 1, maxLength: 200 }) });
export type SignedPolicyMessage = Static<typeof SignedPolicySchema>;

/** `GET /v1/device/nonce` */
export const NonceResponseSchema = Type.Object({ nonce: Type.String({ minLength: 1, maxLength: 128 }), expiresAt: IsoDateTime });
export type NonceResponse = Static<typeof NonceResponseSchema>;

/** `POST /v1/device/enroll` */
export const EnrollRequestSchema = Type.Object(
  {
    imeis: Type.Array(Type.String({ pattern: '^\\d{15}$' }), { minItems: 1, maxItems: 2 }),
    serial: Type.String({ minLength: 1, maxLength: 64 }),
    nonce: Type.String({ minLength: 1, maxLength: 128 }),
    /** enrollProof(authKey, nonce, imeis[0], serial). Loosely bounded: a wrong proof is a 401, not a 400. */
    proof: Type.String({ minLength: 1, maxLength: 128 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 32 }),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequestSchema>;

/** Not registered, sold retail, a proof that does not hold, or a provisioning window that closed: stop for good. */
export const NotFinancedResponseSchema = Type.Object({ status: Type.Literal('not_financed') });
/** A registered financing unit whose sale is not recorded yet: ask again at `retryAt` (provisioning window, §5.3). */
export const RetryResponseSchema = Type.Object({ status: Type.Literal('retry'), retryAt: IsoDateTime, serverTime: IsoDateTime });
export const EnrolledResponseSchema = Type.Object({
  status: Type.Literal('enrolled'),
  deviceId: Type.String({ minLength: 1, maxLength: 80 }),
  /** 32-byte session key, base64url: the agent MACs every later request with it (not with the factory authKey). */
  credential: Base64Url32,
  policy: SignedPolicySchema,
  /** The platform's published keys: pinned only by a device that pins none yet (first enrollment, no factory keys). */
  signingKeys: SigningKeysSchema,
  /** Statements that vouch for every key after the first (§6); the only way a device adds a key. */
  keyRotations: Type.Optional(KeyRotationsSchema),
  serverTime: IsoDateTime,
  nextCheckinAt: IsoDateTime,
});
export const EnrollResponseSchema = Type.Union([NotFinancedResponseSchema, RetryResponseSchema, EnrolledResponseSchema]);
export type EnrolledResponse = Static<typeof EnrolledResponseSchema>;
export type EnrollResponse = Static<typeof EnrollResponseSchema>;

/** The event kinds protocol 1.0 defines (§9). A server stores kinds it does not know and acts on none of them. */
export const EVENT_KINDS = [
  'boot',
  'notice_shown',
  'offline_notice_shown',
  'lock_shown',
  'unlocked',
  'token_accepted',
  'token_rejected',
  'sim_change',
  'factory_reset',
  'policy_rejected',
  'key_rejected',
  'released',
] as const;
export type DeviceEventKind = (typeof EVENT_KINDS)[number];
/** How any event kind, known or future, is spelled. */
export const EVENT_KIND_PATTERN = '^[a-z][a-z0-9_]{0,39}$';
export const MAX_EVENTS_PER_CHECKIN = 100;

export const DeviceEventSchema = Type.Object(
  {
    kind: Type.String({ pattern: EVENT_KIND_PATTERN }),
    at: IsoDateTime,
    detail: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type DeviceEvent = Omit<Static<typeof DeviceEventSchema>, 'kind'> & { kind: DeviceEventKind | (string & {}) };

/** `POST /v1/device/checkin` (authenticated with the request headers of auth.ts) */
export const CheckinRequestSchema = Type.Object(
  {
    agentVersion: Type.String({ minLength: 1, maxLength: 32 }),
    /** Version of the policy the device holds; 0 before it holds any. */
    policyVersion: SafeCount,
    tokenCounter: SafeCount,
    events: Type.Array(DeviceEventSchema, { maxItems: MAX_EVENTS_PER_CHECKIN }),
  },
  { additionalProperties: false },
);
export type CheckinRequest = Static<typeof CheckinRequestSchema>;

export const CheckinResponseSchema = Type.Object({
  /** Present only when the server holds a newer policy than `policyVersion`. */
  policy: Type.Optional(SignedPolicySchema),
  nextCheckinAt: IsoDateTime,
  serverTime: IsoDateTime,
  /** Sent with every policy: the published keys (informational once a key is pinned). */
  signingKeys: Type.Optional(SigningKeysSchema),
  /** Sent with every policy: the statements a device needs to pin the key that signed it (§6). */
  keyRotations: Type.Optional(KeyRotationsSchema),
});
export type CheckinResponse = Static<typeof CheckinResponseSchema>;

/** `GET /v1/device/stream` (WebSocket), server → device: `hello` once on connect, `sync` to check in now. */
export const StreamMessageSchema = Type.Object({ type: Type.Enum(['sync', 'hello'] as const) });
export type StreamMessage = Static<typeof StreamMessageSchema>;

// What an agent checks of an answer before using it. The policy inside is left to
// verifySignedPolicy, which says exactly why it refuses one: a malformed policy must not make the
// agent drop the rest of the answer (new keys, the next check-in time).
const AnyObject = Type.Object({}, { additionalProperties: true });
const EnrolledEnvelope = Type.Object({ ...Type.Omit(EnrolledResponseSchema, ['policy']).properties, policy: AnyObject });
const CheckinEnvelope = Type.Object({ ...Type.Omit(CheckinResponseSchema, ['policy']).properties, policy: Type.Optional(AnyObject) });

/** An enrollment answer an agent may act on (unknown fields allowed; the policy checked later). */
export function isEnrollResponse(body: unknown): body is EnrollResponse {
  return Value.Check(NotFinancedResponseSchema, body) || Value.Check(RetryResponseSchema, body) || Value.Check(EnrolledEnvelope, body);
}

/** A check-in answer an agent may act on (unknown fields allowed; the policy checked later). */
export function isCheckinResponse(body: unknown): body is CheckinResponse {
  return Value.Check(CheckinEnvelope, body);
}
