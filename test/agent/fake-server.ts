/**
 * A device API good enough to drive the agent through its life, built from the real protocol
 * and token code: a real Ed25519 key signs real policies, enrollment proofs and request HMACs are
 * checked for real, unlock codes are real OpenPAYGO tokens. Only the registry is a Map.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/domain/clock.ts';
import type { DeviceApi } from '../../src/agent/memory.ts';
import type { Reply, RequestHeaders } from '../../src/agent/ports.ts';
import type { Provisioning } from '../../src/agent/provision.ts';
import {
  deriveDeviceKeys,
  enrollProof,
  generateSigningKey,
  signPolicy,
  verifyRequest,
  type CheckinRequest,
  type CheckinResponse,
  type DeviceEvent,
  type EnrollRequest,
  type EnrollResponse,
  type NonceResponse,
  type Policy,
  type PrivateSigningKey,
  type SignedPolicy,
  type SigningKey,
} from '../../src/protocol/index.ts';
import { encodeToken, type TokenType } from '../../src/tokens/index.ts';

export const LENDER = {
  name: 'Acme Credit',
  phone: '+254 700 000 111',
  url: 'https://acme.example/pay',
  howToPay: 'M-Pesa paybill 123456, account = your phone number',
};

interface Registered {
  deviceId: string;
  imeis: string[];
  serial: string;
  secret: Buffer;
  financed: boolean;
  credential: string | null;
  policy: Policy;
  signed: SignedPolicy;
  tokenCount: number;
  enrollments: number;
  lastCounter: number;
}

let serialNo = 0;

export class FakeServer implements DeviceApi {
  readonly signer = generateSigningKey('platform-2026');
  readonly received: { deviceId: string; request: CheckinRequest }[] = [];
  readonly revokedAttempts: string[] = [];
  /** Replaces the policy the next check-in returns (to test forged or stale answers). */
  nextCheckinPolicy: SignedPolicy | null = null;
  /** What the server says its clock reads (the agent must not act on it). */
  serverTimeSkewMs = 0;
  private readonly devices = new Map<string, Registered>();
  private readonly nonces = new Set<string>();

  constructor(private readonly clock: Clock) {}

  signingKeys(): SigningKey[] {
    return [{ kid: this.signer.kid, publicKey: this.signer.publicKey }];
  }

  /** Registers a phone as the factory manifest would, and returns what the factory writes on it. */
  manufacture(opts: { financed?: boolean; registered?: boolean; policy?: Partial<Policy> } = {}): Provisioning & { deviceId: string } {
    serialNo += 1;
    const serial = `SN-TEST-${String(serialNo).padStart(5, '0')}`;
    const imeis = [`35693803${String(serialNo).padStart(7, '0')}`];
    const secret = randomBytes(32);
    const deviceId = `dev_${serial.toLowerCase()}`;
    if (opts.registered !== false) {
      const policy = this.basePolicy(deviceId, 1, opts.policy);
      this.devices.set(serial, {
        deviceId,
        imeis,
        serial,
        secret,
        financed: opts.financed !== false,
        credential: null,
        policy,
        signed: this.sign(policy),
        tokenCount: 0,
        enrollments: 0,
        lastCounter: 0,
      });
    }
    return { factorySecret: new Uint8Array(secret), imeis, serial, deviceId };
  }

  basePolicy(deviceId: string, version: number, over: Partial<Policy> = {}): Policy {
    const now = this.clock.now().getTime();
    return {
      deviceId,
      version,
      issuedAt: new Date(now).toISOString(),
      stage: 'current',
      lockAt: null,
      offlineLockAt: new Date(now + 14 * 86_400_000).toISOString(),
      lender: { ...LENDER },
      amountDue: 0,
      currency: 'KES',
      message: 'Thank you for paying on time.',
      allowedNumbers: ['+254711222333'],
      lockReference: `LR-${deviceId}-${version}`,
      ...over,
    };
  }

  sign(policy: Policy, signer: PrivateSigningKey = this.signer): SignedPolicy {
    return signPolicy(policy, signer);
  }

  device(deviceId: string): Registered {
    for (const d of this.devices.values()) if (d.deviceId === deviceId) return d;
    throw new Error(`no device ${deviceId}`);
  }

  /** The lender changes the contract: a new policy version, signed. */
  setPolicy(deviceId: string, over: Partial<Policy>): SignedPolicy {
    const d = this.device(deviceId);
    d.policy = { ...this.basePolicy(deviceId, d.policy.version + 1), ...over, version: d.policy.version + 1, deviceId };
    d.signed = this.sign(d.policy);
    return d.signed;
  }

  issueToken(deviceId: string, type: TokenType, value?: number): string {
    const d = this.device(deviceId);
    const keys = deriveDeviceKeys(d.secret);
    const t = encodeToken({ key: keys.tokenKey, startingCode: keys.startingCode, count: d.tokenCount, type, ...(value === undefined ? {} : { value }) });
    d.tokenCount = t.newCount;
    return t.token;
  }

  revoke(deviceId: string): void {
    this.device(deviceId).credential = null;
  }

  eventsOf(deviceId: string): DeviceEvent[] {
    return this.received.filter((r) => r.deviceId === deviceId).flatMap((r) => r.request.events);
  }

  // --- the device API -------------------------------------------------------------------------

  nonce(): Reply<NonceResponse> {
    const nonce = randomBytes(16).toString('base64url');
    this.nonces.add(nonce);
    return { ok: true, body: { nonce, expiresAt: new Date(this.clock.now().getTime() + 300_000).toISOString() } };
  }

  enroll(req: EnrollRequest): Reply<EnrollResponse> {
    if (!this.nonces.delete(req.nonce)) return err(400, 'invalid_input', 'unknown or used nonce');
    const d = this.devices.get(req.serial);
    if (!d || !d.imeis.includes(req.imeis[0]!)) return { ok: true, body: { status: 'not_financed' } };
    const expected = enrollProof(deriveDeviceKeys(d.secret).authKey, req.nonce, req.imeis[0]!, req.serial);
    if (expected !== req.proof) return err(401, 'invalid_signature', 'enrollment proof does not match');
    if (!d.financed) return { ok: true, body: { status: 'not_financed' } };
    d.credential = randomBytes(32).toString('base64url'); // re-enrolling revokes the previous one
    d.enrollments += 1;
    d.lastCounter = 0;
    return {
      ok: true,
      body: {
        status: 'enrolled',
        deviceId: d.deviceId,
        credential: d.credential,
        policy: d.signed,
        signingKeys: this.signingKeys(),
        serverTime: this.serverTime(),
        nextCheckinAt: new Date(this.clock.now().getTime() + 6 * 3_600_000).toISOString(),
      },
    };
  }

  checkin(deviceId: string, headers: RequestHeaders, body: string): Reply<CheckinResponse> {
    const d = this.device(deviceId);
    if (!d.credential) {
      this.revokedAttempts.push(deviceId);
      return err(401, 'revoked', 'this credential was replaced; enroll again');
    }
    const check = verifyRequest({ authKey: Buffer.from(d.credential, 'base64url'), method: 'POST', path: '/v1/device/checkin', body, headers, now: new Date(this.clock.now().getTime() + this.serverTimeSkewMs), lastCounter: d.lastCounter });
    if (!check.ok) return err(401, check.reason === 'replayed_counter' || check.reason === 'stale_timestamp' ? 'replay' : 'unauthorized', `request refused: ${check.reason}`);
    d.lastCounter = check.counter;
    const request = JSON.parse(body) as CheckinRequest;
    this.received.push({ deviceId, request });
    const forced = this.nextCheckinPolicy;
    this.nextCheckinPolicy = null;
    const policy = forced ?? (d.policy.version > request.policyVersion ? d.signed : undefined);
    return {
      ok: true,
      body: {
        ...(policy ? { policy } : {}),
        nextCheckinAt: new Date(this.clock.now().getTime() + 6 * 3_600_000).toISOString(),
        serverTime: this.serverTime(),
      },
    };
  }

  private serverTime(): string {
    return new Date(this.clock.now().getTime() + this.serverTimeSkewMs).toISOString();
  }
}

function err(status: number, code: string, message: string): { ok: false; status: number; code: string; message: string } {
  return { ok: false, status, code, message };
}
