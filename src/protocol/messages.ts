import { Type, type Static } from 'typebox';
import { PolicySchema } from './policy.ts';
import { Base64Url32, IsoDateTime, KeyId, SafeCount } from './primitives.ts';

export { validate } from './validate.ts';

/** Wire messages of the device API (DESIGN.md §5). Request schemas are closed; see each note. */

export const SigningKeySchema = Type.Object({ kid: KeyId, publicKey: Base64Url32 }, { additionalProperties: false });
export const SigningKeysSchema = Type.Array(SigningKeySchema, { minItems: 1, maxItems: 16 });

/** The wire shape of signing.ts's SignedPolicy; whether the signature holds is verifySignedPolicy's job. */
export const SignedPolicySchema = Type.Object(
  { policy: PolicySchema, kid: KeyId, sig: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
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

export const NotFinancedResponseSchema = Type.Object({ status: Type.Literal('not_financed') });
export const EnrolledResponseSchema = Type.Object({
  status: Type.Literal('enrolled'),
  deviceId: Type.String({ minLength: 1, maxLength: 80 }),
  /** 32-byte session key, base64url: the agent MACs every later request with it (not with the factory authKey). */
  credential: Base64Url32,
  policy: SignedPolicySchema,
  signingKeys: SigningKeysSchema,
  serverTime: IsoDateTime,
  nextCheckinAt: IsoDateTime,
});
/** Not registered, or sold retail: the agent goes dormant for good. */
export const EnrollResponseSchema = Type.Union([NotFinancedResponseSchema, EnrolledResponseSchema]);
export type EnrolledResponse = Static<typeof EnrolledResponseSchema>;
export type EnrollResponse = Static<typeof EnrollResponseSchema>;

export const EVENT_KINDS = ['boot', 'notice_shown', 'lock_shown', 'unlocked', 'token_accepted', 'token_rejected', 'sim_change', 'factory_reset', 'policy_rejected', 'released'] as const;
export type DeviceEventKind = (typeof EVENT_KINDS)[number];
export const MAX_EVENTS_PER_CHECKIN = 100;

export const DeviceEventSchema = Type.Object(
  {
    kind: Type.Enum(EVENT_KINDS),
    at: IsoDateTime,
    detail: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type DeviceEvent = Static<typeof DeviceEventSchema>;

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
  /** Present when the published keys changed (rotation). */
  signingKeys: Type.Optional(SigningKeysSchema),
});
export type CheckinResponse = Static<typeof CheckinResponseSchema>;

/** `GET /v1/device/stream` (WebSocket), server → device: `hello` once on connect, `sync` to check in now. */
export const StreamMessageSchema = Type.Object({ type: Type.Enum(['sync', 'hello'] as const) });
export type StreamMessage = Static<typeof StreamMessageSchema>;
