import { randomBytes } from 'node:crypto';
import { LienError } from '../domain/errors.ts';
import {
  AUTH_HEADERS,
  deriveDeviceKeys,
  verifyEnrollProof,
  verifyRequest,
  type CheckinRequest,
  type EnrollRequest,
  type EnrollResponse,
  type SignedPolicy,
} from '../protocol/index.ts';
import { open, seal } from '../store/secrets.ts';
import type { Services } from './context.ts';
import { consumeNonce, NonceIssuer } from './nonce.ts';
import { decideProvisioning } from '../domain/provisioning.ts';
import { CheckinBookkeeper } from './bookkeeping.ts';
import { offlineRenewalDue } from '../domain/evaluation.ts';
import { evaluateContract } from './evaluate.ts';
import { commit } from './unit-of-work.ts';

interface CachedDevice {
  credential: Buffer;
  credentialVersion: number;
  lastCounter: number;
}

/** Events after which the stage engine has new facts (a notice shown starts its cure period). */
const EVALUATING_EVENTS = new Set(['notice_shown', 'factory_reset']);

/**
 * The device side of the server: enrollment, authenticated check-ins and the nudge stream.
 * The check-in hot path reads the credential and the latest signed policy from in-process
 * caches and hands its bookkeeping to a batch writer, so a routine check-in waits on no database
 * round trip. The caches are dropped by `forget`, which the server calls for every nudge it
 * hears: every change of a device's credential or policy nudges it, in every process.
 */
export class DeviceGateway {
  private readonly nonces: NonceIssuer;
  private readonly devices = new Map<string, CachedDevice>();
  private readonly background = new Set<Promise<void>>();
  /** Latest signed policy per device, with its JSON text: answers splice it in unserialised. */
  private readonly policies = new Map<string, LatestPolicy | null>();
  readonly bookkeeping: CheckinBookkeeper;
  /** Enrollment proofs that did not hold since the process started (also counted per device). */
  enrollFailures = 0;
  private keysCache: { rotations: unknown; json: string } | null = null;

  constructor(private readonly s: Services, flushMs: number) {
    this.nonces = new NonceIssuer(s.masterKey);
    this.bookkeeping = new CheckinBookkeeper(s.db, flushMs, (seconds, from) => s.telemetry?.paymentUnlockReported(seconds, from));
  }

  /** Drops what this process cached of a device: its credential or policy has changed. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId);
    this.policies.delete(deviceId);
  }

  nonce() {
    return this.nonces.issue(this.s.clock.now());
  }

  /**
   * Enrollment (docs/protocol.md §5). An unknown phone and a proof that does not hold get the same
   * answer after the same work (#12 L8): the registry is not an oracle, and a bad proof is counted
   * on the device, never stored as a row. Only a phone that proved its factory secret learns
   * more: enrolled, or (registered but not sold yet) when to ask again. A nonce whose proof held
   * is used up, in every process (#12 M5).
   */
  async enroll(req: EnrollRequest): Promise<EnrollResponse> {
    const now = this.s.clock.now();
    const nonceState = this.nonces.check(req.nonce, now);
    if (nonceState !== 'ok') throw new LienError('unauthorized', `enrollment nonce ${nonceState}; request a new one`, { reason: `nonce_${nonceState}` });
    const db = this.s.db;
    const found = await db
      .selectFrom('devices')
      .selectAll()
      .where((eb) => eb.or([eb('imei1', 'in', req.imeis), eb('imei2', 'in', req.imeis)]))
      .executeTakeFirst();
    const device = found && found.serial === req.serial && req.imeis.every((i) => i === found.imei1 || i === found.imei2) ? found : null;
    const authKey = device ? deriveDeviceKeys(open(this.s.masterKey, device.factory_secret_enc, `factory-secret:${device.serial}`)).authKey : deriveDeviceKeys(randomBytes(32)).authKey;
    const proofHolds = verifyEnrollProof(authKey, req.nonce, req.imeis[0]!, req.serial, req.proof);
    if (!device) return NOT_FINANCED;
    if (!proofHolds) {
      this.enrollFailures++;
      this.bookkeeping.enrollFailure(device.id, now);
      return NOT_FINANCED;
    }

    const actor = { kind: 'device', id: device.id, lenderId: device.lender_id } as const;
    const decision = decideProvisioning({ saleStatus: device.sale_status, firstContactAt: device.first_contact_at, now, windowDays: this.s.provisioningWindowDays });
    if (decision.kind !== 'enroll') {
      await commit(this.s, actor, async (tx) => {
        if (!(await consumeNonce(tx, req.nonce, device.id, now))) throw nonceUsed();
        if (!device.first_contact_at) await tx.updateTable('devices').set({ first_contact_at: now }).where('id', '=', device.id).where('first_contact_at', 'is', null).execute();
      });
      return decision.kind === 'retry' ? { status: 'retry', retryAt: decision.retryAt.toISOString(), serverTime: now.toISOString() } : NOT_FINANCED;
    }

    const credential = randomBytes(32);
    const signed = await commit(this.s, actor, async (tx, fx) => {
      if (!(await consumeNonce(tx, req.nonce, device.id, now))) throw nonceUsed();
      await tx
        .updateTable('devices')
        .set({
          credential_enc: seal(this.s.masterKey, credential, `credential:${device.id}`),
          credential_version: device.credential_version + 1,
          last_counter: 0,
          enrolled_at: now,
          agent_version: req.agentVersion,
          first_contact_at: device.first_contact_at ?? now,
        })
        .where('id', '=', device.id)
        .execute();
      await tx.insertInto('device_events').values({ device_id: device.id, kind: 'enrolled', at: now, received_at: now, detail: { agentVersion: req.agentVersion } }).execute();
      await fx.audit({
        action: 'device.enrolled',
        subjectType: 'device',
        subjectId: device.id,
        lenderId: device.lender_id,
        reason: device.enrolled_at ? 're-enrolled; previous credential revoked' : 'first enrollment',
        data: { credentialVersion: device.credential_version + 1 },
      });
      if (device.lender_id) {
        await fx.webhook({ lenderId: device.lender_id, type: 'device.enrolled', data: { deviceId: device.id, reEnrollment: device.enrolled_at !== null, agentVersion: req.agentVersion } });
      }
      fx.credentialReplaced(device.id);
      return (await latestPolicy(tx, device.id))?.signed ?? null;
    });
    if (!signed) throw new LienError('unavailable', 'No policy has been issued for this device yet; try again shortly.');
    return {
      status: 'enrolled',
      deviceId: device.id,
      credential: credential.toString('base64url'),
      policy: signed,
      signingKeys: this.s.keyring.publicKeys(),
      keyRotations: this.s.keyring.rotations(),
      serverTime: now.toISOString(),
      nextCheckinAt: this.nextCheckin(now),
    };
  }

  /** Verifies a signed device request (check-in or stream; headers by lowercase name) and returns the device id. */
  async authenticate(headers: Record<string, string>, method: string, path: string, body: string): Promise<{ deviceId: string; counter: number; credentialVersion: number }> {
    const deviceId = headers[AUTH_HEADERS.device];
    if (!deviceId) throw new LienError('unauthorized', 'missing device credentials', { reason: 'missing_headers' });
    const cached = await this.loadDevice(deviceId);
    if (!cached) throw new LienError('unauthorized', 'device credential revoked or unknown; enroll again', { reason: 'revoked' });
    const now = this.s.clock.now();
    const result = verifyRequest({ headers, method, path, body, authKey: cached.credential, now, lastCounter: cached.lastCounter });
    if (!result.ok) {
      this.bookkeeping.event(deviceId, { kind: 'request_rejected', at: now, detail: { reason: result.reason, path } });
      throw new LienError(result.reason === 'replayed_counter' || result.reason === 'stale_timestamp' ? 'replay' : 'unauthorized', `request refused: ${result.reason}`, { reason: result.reason });
    }
    cached.lastCounter = result.counter;
    return { deviceId, counter: result.counter, credentialVersion: cached.credentialVersion };
  }

  /** The check-in answer as JSON text (a CheckinResponse). */
  async checkin(auth: { deviceId: string; counter: number; credentialVersion: number }, req: CheckinRequest): Promise<string> {
    const { deviceId } = auth;
    const now = this.s.clock.now();
    this.bookkeeping.seen(deviceId, {
      at: now,
      counter: auth.counter,
      credentialVersion: auth.credentialVersion,
      agentVersion: req.agentVersion,
      policyVersion: req.policyVersion,
      tokenCounter: req.tokenCounter,
    });
    let evaluate = false;
    for (const e of req.events) {
      // received_at on the server's clock bounds the device-reported time (evaluate.ts clamps notices).
      this.bookkeeping.event(deviceId, { kind: e.kind, at: new Date(e.at), detail: e.detail ?? {}, received_at: now });
      if (EVALUATING_EVENTS.has(e.kind)) evaluate = true;
    }
    if (evaluate) {
      // The notice's cure period starts when the device displayed it: write the event, then
      // re-decide. Off the response path: the device learns the outcome through a nudge.
      this.inBackground(this.bookkeeping.flush().then(() => this.evaluateDevice(deviceId)));
    }
    let latest = await this.latest(deviceId);
    if (latest && offlineRenewalDue(latest.offlineRenewAt, now)) {
      // The phone is online, so its offline deadline must move on before it comes near: renewed
      // here, in the answer to the phone it is for (the daily sweep leaves it alone), rather
      // than let a connected phone lock as if it had gone dark.
      await this.evaluateDevice(deviceId);
      this.policies.delete(deviceId);
      latest = await this.latest(deviceId);
    }
    if (latest?.unlockPaymentAt && req.policyVersion >= latest.signed.policy.version) {
      // The phone holds a policy a payment's unlock produced: measured once (see unlock-latency.ts).
      latest.unlockPaymentAt = null;
      this.bookkeeping.unlockReported(deviceId, latest.signed.policy.version, now);
    }
    const head = `{"nextCheckinAt":"${this.nextCheckin(now)}","serverTime":"${now.toISOString()}"`;
    const newer = latest && latest.signed.policy.version > req.policyVersion ? latest : null;
    this.s.telemetry?.checkin(newer !== null);
    if (newer) return `${head},"policy":${newer.json},${this.keysJson()}}`;
    return `${head}}`;
  }

  /** `"signingKeys":…,"keyRotations":…` as sent with every policy, rebuilt when the keyring changes. */
  private keysJson(): string {
    const rotations = this.s.keyring.rotations();
    if (this.keysCache?.rotations !== rotations) {
      this.keysCache = { rotations, json: `"signingKeys":${JSON.stringify(this.s.keyring.publicKeys())},"keyRotations":${JSON.stringify(rotations)}` };
    }
    return this.keysCache.json;
  }

  /** Resolves once the evaluations check-ins started in the background have finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  private inBackground(work: Promise<void>): void {
    const p = work.catch(() => undefined).finally(() => this.background.delete(p));
    this.background.add(p);
  }

  private async evaluateDevice(deviceId: string): Promise<void> {
    const c = await this.s.db.selectFrom('contracts').select('id').where('device_id', '=', deviceId).where('status', '=', 'active').executeTakeFirst();
    if (c) await evaluateContract(this.s, c.id, { kind: 'device', id: deviceId, lenderId: null }, 'device reported an event');
  }

  private nextCheckin(now: Date): string {
    return new Date(now.getTime() + this.s.checkinIntervalSec * 1000).toISOString();
  }

  private async loadDevice(deviceId: string): Promise<CachedDevice | null> {
    const hit = this.devices.get(deviceId);
    if (hit) return hit;
    const row = await this.s.db.selectFrom('devices').select(['credential_enc', 'credential_version', 'last_counter']).where('id', '=', deviceId).executeTakeFirst();
    if (!row?.credential_enc) return null;
    const entry = {
      credential: open(this.s.masterKey, row.credential_enc, `credential:${deviceId}`),
      credentialVersion: row.credential_version,
      lastCounter: Math.max(row.last_counter, this.bookkeeping.pendingCounter(deviceId, row.credential_version)),
    };
    this.devices.set(deviceId, entry);
    return entry;
  }

  private async latest(deviceId: string): Promise<LatestPolicy | null> {
    if (this.policies.has(deviceId)) return this.policies.get(deviceId)!;
    const entry = await latestPolicy(this.s.db, deviceId);
    this.policies.set(deviceId, entry);
    return entry;
  }
}

const NOT_FINANCED = { status: 'not_financed' } as const;

function nonceUsed(): LienError {
  return new LienError('unauthorized', 'this enrollment nonce was already used; request a new one', { reason: 'nonce_used' });
}

/** A device's newest policy as the check-in serves it. */
interface LatestPolicy {
  signed: SignedPolicy;
  json: string;
  offlineRenewAt: number | null;
  /** Set while a payment unlock this policy carries waits for the phone to report holding it. */
  unlockPaymentAt: number | null;
}

async function latestPolicy(db: Services['db'], deviceId: string): Promise<LatestPolicy | null> {
  const row = await db
    .selectFrom('policies')
    .select(['body', 'offline_renew_at', 'unlock_payment_at', 'unlock_reported_at'])
    .where('device_id', '=', deviceId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  const signed = row.body as SignedPolicy;
  const unlockPaymentAt = row.unlock_reported_at === null ? (row.unlock_payment_at?.getTime() ?? null) : null;
  return { signed, json: JSON.stringify(signed), offlineRenewAt: row.offline_renew_at?.getTime() ?? null, unlockPaymentAt };
}
