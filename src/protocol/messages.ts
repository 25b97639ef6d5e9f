import { Type, type Static, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { LienError } from '../domain/errors.ts';
import { PolicySchema } from './policy.ts';

const IsoInstant = Type.String({ minLength: 10, maxLength: 40 });

export const SigningKeySchema = Type.Object({ kid: Type.String(), publicKey: Type.String() }, { additionalProperties: false });
export const SignedPolicySchema = Type.Object({ policy: PolicySchema, kid: Type.String(), sig: Type.String() }, { additionalProperties: false });

export const NonceResponseSchema = Type.Object({ nonce: Type.String(), expiresAt: IsoInstant });
export type NonceResponse = Static<typeof NonceResponseSchema>;

export const EnrollRequestSchema = Type.Object(
  {
    imeis: Type.Array(Type.String({ pattern: '^\\d{15}$' }), { minItems: 1, maxItems: 2 }),
    serial: Type.String({ minLength: 1, maxLength: 64 }),
    nonce: Type.String({ minLength: 1, maxLength: 128 }),
    proof: Type.String({ minLength: 1, maxLength: 128 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 32 }),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequestSchema>;

export const EVENT_KINDS = ['boot', 'notice_shown', 'lock_shown', 'unlocked', 'token_accepted', 'token_rejected', 'sim_change', 'factory_reset', 'policy_rejected', 'released'] as const;
export const DeviceEventSchema = Type.Object(
  {
    kind: Type.Union([
      Type.Literal('boot'),
      Type.Literal('notice_shown'),
      Type.Literal('lock_shown'),
      Type.Literal('unlocked'),
      Type.Literal('token_accepted'),
      Type.Literal('token_rejected'),
      Type.Literal('sim_change'),
      Type.Literal('factory_reset'),
      Type.Literal('policy_rejected'),
      Type.Literal('released'),
    ]),
    at: IsoInstant,
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type DeviceEvent = Static<typeof DeviceEventSchema>;

export const CheckinRequestSchema = Type.Object(
  {
    agentVersion: Type.String({ minLength: 1, maxLength: 32 }),
    policyVersion: Type.Integer({ minimum: 0 }),
    tokenCounter: Type.Integer({ minimum: 0 }),
    events: Type.Array(DeviceEventSchema, { maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type CheckinRequest = Static<typeof CheckinRequestSchema>;

export type SignedPolicyMessage = Static<typeof SignedPolicySchema>;

export interface EnrolledResponse {
  status: 'enrolled';
  deviceId: string;
  credential: string;
  policy: SignedPolicyMessage;
  signingKeys: Static<typeof SigningKeySchema>[];
  serverTime: string;
  nextCheckinAt: string;
}
export type EnrollResponse = { status: 'not_financed' } | EnrolledResponse;

export interface CheckinResponse {
  policy?: SignedPolicyMessage;
  nextCheckinAt: string;
  serverTime: string;
  signingKeys?: Static<typeof SigningKeySchema>[];
}

export type StreamMessage = { type: 'sync' } | { type: 'hello' };

// Compiled once per schema: the check-in hot path validates every request.
const compiled = new WeakMap<TSchema, Validator>();
function validatorFor(schema: TSchema): Validator {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = Compile(schema) as unknown as Validator));
  return v;
}

/** Returns the value typed by the schema, or throws invalid_input naming the first bad field. */
export function validate<S extends TSchema>(schema: S, value: unknown): Static<S> {
  const validator = validatorFor(schema);
  if (validator.Check(value)) return value as Static<S>;
  const errors = validator.Errors(value);
  const first = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0];
  const params = (first?.params ?? {}) as { requiredProperties?: string[]; additionalProperties?: string[] };
  const extra = params.requiredProperties?.[0] ?? params.additionalProperties?.[0];
  const path = [first?.instancePath.replace(/^\//, '').replaceAll('/', '.'), extra].filter(Boolean).join('.');
  throw new LienError('invalid_input', `${path || 'body'}: ${first?.keyword === 'additionalProperties' ? 'unknown field' : first?.message ?? 'invalid'}`, { field: path || null });
}
