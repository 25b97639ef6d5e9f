import { describe, expect, it } from 'vitest';
import { LienError } from '../../src/domain/errors.ts';
import {
  CheckinRequestSchema,
  CheckinResponseSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  generateSigningKey,
  NonceResponseSchema,
  PolicySchema,
  signPolicy,
  StreamMessageSchema,
  validate,
  type CheckinRequest,
} from '../../src/protocol/index.ts';
import { policy } from './fixtures.ts';

/** The LienError validate throws, as "field: message". */
function refusal(schema: Parameters<typeof validate>[0], value: unknown): string {
  try {
    validate(schema, value);
  } catch (e) {
    expect(e).toBeInstanceOf(LienError);
    const err = e as LienError;
    expect(err.code).toBe('invalid_input');
    return `${String(err.details.field)}: ${err.message}`;
  }
  throw new Error('the value was accepted');
}

const checkin: CheckinRequest = {
  agentVersion: '1.4.0',
  policyVersion: 3,
  tokenCounter: 12,
  events: [{ kind: 'boot', at: '2026-03-01T08:00:00.000Z' }, { kind: 'token_accepted', at: '2026-03-01T08:05:00Z', detail: { days: 7 } }],
};
const enroll = { imeis: ['353456789012348'], serial: 'SN-1', nonce: 'n0nce', proof: 'pr00f', agentVersion: '1.4.0' };
const key = generateSigningKey('k1');
const enrolled = {
  status: 'enrolled',
  deviceId: 'dev_1',
  credential: Buffer.alloc(32, 1).toString('base64url'),
  policy: signPolicy(policy(), key),
  signingKeys: [{ kid: key.kid, publicKey: key.publicKey }],
  serverTime: '2026-03-01T08:00:00.000Z',
  nextCheckinAt: '2026-03-01T14:00:00.000Z',
};

describe('validate', () => {
  it('returns valid messages unchanged', () => {
    expect(validate(CheckinRequestSchema, checkin)).toBe(checkin);
    expect(validate(EnrollRequestSchema, enroll)).toBe(enroll);
    expect(validate(EnrollResponseSchema, { status: 'not_financed' })).toEqual({ status: 'not_financed' });
    expect(validate(EnrollResponseSchema, JSON.parse(JSON.stringify(enrolled)))).toEqual(enrolled);
    expect(validate(CheckinResponseSchema, { nextCheckinAt: '2026-03-01T14:00:00Z', serverTime: '2026-03-01T08:00:00Z' })).toBeTruthy();
    expect(validate(CheckinResponseSchema, { policy: enrolled.policy, signingKeys: enrolled.signingKeys, nextCheckinAt: '2026-03-01T14:00:00Z', serverTime: '2026-03-01T08:00:00Z' })).toBeTruthy();
    expect(validate(NonceResponseSchema, { nonce: 'abc', expiresAt: '2026-03-01T08:05:00Z' })).toBeTruthy();
    expect(validate(StreamMessageSchema, { type: 'sync' })).toEqual({ type: 'sync' });
  });

  it('names a missing field, an unknown field and a value out of range', () => {
    const { agentVersion: _, ...noVersion } = checkin;
    expect(refusal(CheckinRequestSchema, noVersion)).toBe('agentVersion: agentVersion is required.');
    expect(refusal(CheckinRequestSchema, { ...checkin, battery: 80 })).toBe('battery: battery is not a known field.');
    expect(refusal(CheckinRequestSchema, { ...checkin, policyVersion: -1 })).toMatch(/^policyVersion: policyVersion must be >= 0/);
    expect(refusal(CheckinRequestSchema, { ...checkin, tokenCounter: 1.5 })).toBe('tokenCounter: tokenCounter must be a whole number.');
  });

  it('names fields inside arrays and nested objects', () => {
    const badKind = { ...checkin, events: [checkin.events[0], { kind: 'reboot', at: '2026-03-01T08:00:00Z' }] };
    expect(refusal(CheckinRequestSchema, badKind)).toBe('events[1].kind: events[1].kind must be one of "boot", "notice_shown", "lock_shown", "unlocked", "token_accepted", "token_rejected", "sim_change", "factory_reset", "policy_rejected", "released".');
    expect(refusal(CheckinRequestSchema, { ...checkin, events: [{ kind: 'boot', at: 'yesterday' }] })).toBe(
      'events[0].at: events[0].at must be a date and time with an offset, such as 2026-03-01T08:00:00Z.',
    );
    expect(refusal(CheckinRequestSchema, { ...checkin, events: [{ kind: 'boot' }] })).toMatch(/^events\[0\]\.at: .*is required/);
    expect(refusal(EnrollRequestSchema, { ...enroll, imeis: ['35345678901234X'] })).toMatch(/^imeis\[0\]: imeis\[0\] has the wrong format/);
    expect(refusal(PolicySchema, { ...policy(), lender: { ...policy().lender, fax: '1' } })).toBe('lender.fax: lender.fax is not a known field.');
    expect(refusal(PolicySchema, { ...policy(), lockAt: '2026-03-01' })).toMatch(/^lockAt: lockAt must be a date and time/);
    expect(refusal(PolicySchema, { ...policy(), stage: 'frozen' })).toMatch(/^stage: stage must be one of "current", "reminder"/);
  });

  it('limits a check-in to 100 events and an enrollment to two IMEIs', () => {
    const events = Array.from({ length: 101 }, () => ({ kind: 'boot' as const, at: '2026-03-01T08:00:00Z' }));
    expect(validate(CheckinRequestSchema, { ...checkin, events: events.slice(0, 100) }).events).toHaveLength(100);
    expect(refusal(CheckinRequestSchema, { ...checkin, events })).toMatch(/^events: events must not have more than 100 items/);
    expect(refusal(EnrollRequestSchema, { ...enroll, imeis: [] })).toMatch(/^imeis: /);
    expect(refusal(EnrollRequestSchema, { ...enroll, imeis: ['353456789012348', '353456789012355', '353456789012363'] })).toMatch(/^imeis: /);
  });

  it('explains a tagged union by the branch the value meant', () => {
    const { credential: _, ...noCredential } = enrolled;
    expect(refusal(EnrollResponseSchema, noCredential)).toBe('credential: credential is required.');
    expect(refusal(EnrollResponseSchema, { ...enrolled, credential: 'short' })).toMatch(/^credential: credential has the wrong format/);
    expect(refusal(EnrollResponseSchema, { ...enrolled, policy: { ...enrolled.policy, policy: { ...enrolled.policy.policy, version: 0 } } })).toMatch(
      /^policy\.policy\.version: policy\.policy\.version must be >= 1/,
    );
    expect(refusal(EnrollResponseSchema, { status: 'pending' })).toBe('status: status must be one of "not_financed", "enrolled".');
  });

  it('says so when the message is not an object at all', () => {
    expect(refusal(CheckinRequestSchema, null)).toBe('null: The message must be an object.');
    expect(refusal(CheckinRequestSchema, { ...checkin, events: {} })).toBe('events: events must be an array.');
    expect(refusal(StreamMessageSchema, { type: 'wipe' })).toMatch(/^type: type must be one of "sync", "hello"/);
  });
});
