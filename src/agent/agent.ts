/**
 * The reference device agent (DESIGN.md §5): enrolls, checks in, enforces the last verified
 * signed policy with its own clock, accepts OpenPAYGO unlock codes, and survives a factory reset.
 *
 * Trust rules, each a decision:
 * - Only a policy that verifies with a pinned key, names this device and has a higher version
 *   than the one held is applied; anything else is reported as `policy_rejected` and ignored.
 * - Enforcement reads the phone's own clock, never the server's `serverTime`: a server answer is
 *   not signed, so it must not be able to move a lock.
 * - The offline lock moves only with a newer verified policy, and comes only after the offline
 *   notice has been on screen for the minimum time the policy gives (counted from its first display).
 * - A new signing key is pinned only through a key-rotation statement signed by a pinned key; the
 *   key list in an answer is pinned only by a phone that pins none yet (first enrollment).
 * - `retry` (registered, not sold yet) only schedules the next enrollment attempt.
 * - `not_financed` puts a phone to sleep for good only if it never held a verified policy: an
 *   unsigned answer cannot lift a signed lock (a reset followed by a fake server would otherwise
 *   unlock any phone). A financed phone ends only by a signed `released` policy or a DISABLE_PAYG
 *   code.
 * - Released and dormant are terminal: no more network calls, ever.
 */
import type { Clock } from '../domain/clock.ts';
import { LienError } from '../domain/errors.ts';
import {
  acceptKeyRotations,
  deriveDeviceKeys,
  enrollProof,
  signRequest,
  verifySignedPolicy,
  type CheckinRequest,
  type CheckinResponse,
  type DeviceEvent,
  type DeviceKeys,
  type Policy,
  type SignedPolicy,
  type SigningKey,
} from '../protocol/index.ts';
import { decodeToken, TOKEN_LENGTHS, type TokenType } from '../tokens/index.ts';
import { recordFailure, secondsRemaining, NO_BACKOFF } from './backoff.ts';
import { buildView, callAllowed, decideEnforcement, type Enforcement } from './enforcement.ts';
import { reconnectDelayMs } from './reconnect.ts';
import { checkCheckinReply, checkEnrollReply } from './replies.ts';
import { isOfflineError, type CloseStream, type KeyValueStore, type LockScreenView, type Network, type Reply, type Screen, type Telephony } from './ports.ts';
import { freshUserdata, loadPersistent, loadUserdata, type PersistentState, type UserdataState } from './state.ts';

export const AGENT_VERSION = '0.1.0';

const CHECKIN_PATH = '/v1/device/checkin';
const STREAM_PATH = '/v1/device/stream';
const DAY_MS = 86_400_000;
const MAX_EVENTS_PER_CHECKIN = 100;
/**
 * 401 codes after which the credential is of no more use: replaced by a newer enrollment
 * (`revoked`), refused (`unauthorized`), or out of step on counter or clock (`replay`).
 * Enrolling again gets a fresh credential, counter and server time.
 */
const REENROLL_CODES = new Set(['revoked', 'unauthorized', 'replay']);
const DEFAULT_MAX_QUEUED_EVENTS = 500;
/** OpenPAYGO tokens typed on a 4-key pad (digits 1–4) are 15 or 20 digits long; others 9 or 12. */
const RESTRICTED_DIGIT_SET_LENGTHS = new Set<number>([TOKEN_LENGTHS.standard.restricted, TOKEN_LENGTHS.extended.restricted]);

export interface DeviceAgentOptions {
  persistent: KeyValueStore;
  userdata: KeyValueStore;
  clock: Clock;
  network: Network;
  screen: Screen;
  agentVersion?: string;
  /** Keep the nudge stream open while enrolled (default true). */
  stream?: boolean;
  /** Oldest events are dropped past this many while offline (default 500). */
  maxQueuedEvents?: number;
  /** Failures of syncs started by a nudge, which have no caller to receive them. */
  onBackgroundError?: (error: unknown) => void;
  /** Schedules stream reconnects and nudge retries (default: the platform's timers, not keeping a process alive). */
  timers?: Timers;
  /** Jitter source for reconnects and nudge retries, in [0, 1) (default Math.random). */
  random?: () => number;
}

/** The agent's wall-clock waits: reconnecting a lost stream, retrying a failed nudged sync (src/agent/reconnect.ts). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const platformTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type PolicyOutcome = 'applied' | 'unchanged' | 'rejected' | 'none';

export type SyncResult =
  | { status: 'synced'; enrolled: boolean; policy: PolicyOutcome }
  | { status: 'not_financed' }
  /** Registered for financing but the sale is not recorded yet: enroll again at `retryAt`. */
  | { status: 'retry'; retryAt: string }
  | { status: 'inactive'; reason: 'released' | 'dormant' }
  | { status: 'offline' }
  /** A factory reset happened while the sync was under way; its results were dropped. */
  | { status: 'interrupted' }
  | { status: 'failed'; step: 'nonce' | 'enroll' | 'checkin'; httpStatus: number; code: string; message: string };

export type CodeResult =
  | { ok: true; type: TokenType; value: number | null; count: number; creditUntil: string | null; released: boolean }
  /** Too many wrong codes: the code was not even checked. */
  | { ok: false; reason: 'backoff'; retryAfterSeconds: number }
  /** Released or dormant phones take no codes. */
  | { ok: false; reason: 'inactive'; retryAfterSeconds: 0 }
  /**
   * `invalid`: a well-formed code this phone's key does not accept (counts toward the backoff);
   * `malformed`: not a code at all (letters, wrong length); `already_used`: typed before.
   */
  | { ok: false; reason: 'invalid' | 'malformed' | 'already_used'; retryAfterSeconds: number };

class Interrupted extends Error {}

export class DeviceAgent implements Telephony {
  private p: PersistentState | null = null;
  private u: UserdataState = freshUserdata();
  private keys: DeviceKeys | null = null;
  private booting: Promise<LockScreenView> | null = null;
  private lastRendered: string | null = null;
  /** Bumped by a factory reset so a sync in flight cannot write into the wiped area. */
  private epoch = 0;
  private runningSync: Promise<SyncResult> | null = null;
  private queuedSync: Promise<SyncResult> | null = null;
  private stream: { close: CloseStream } | null = null;
  private connecting = false;
  /** Set by stop(): a stream still being opened is closed as soon as it opens. */
  private stopped = false;
  /** The pending reconnect of a stream the far side closed, and how many attempts failed since. */
  private reconnectTimer: unknown = null;
  private reconnectAttempts = 0;
  /** The pending retry of a nudged sync the network or a busy server failed. */
  private nudgeRetryTimer: unknown = null;
  private readonly agentVersion: string;

  constructor(private readonly opts: DeviceAgentOptions) {
    this.agentVersion = opts.agentVersion ?? AGENT_VERSION;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Loads state, notes a boot (and a factory reset, if userdata was wiped) and draws the screen. */
  boot(): Promise<LockScreenView> {
    this.booting ??= this.load().catch((e: unknown) => {
      this.booting = null;
      throw e;
    });
    return this.booting;
  }

  private async load(): Promise<LockScreenView> {
    const p = await loadPersistent(this.opts.persistent);
    if (!p) {
      throw new LienError('invalid_input', 'this phone has no factory identity: provision it (factory secret, IMEIs, serial) before starting the agent');
    }
    this.p = p;
    this.u = await loadUserdata(this.opts.userdata);
    this.keys = deriveDeviceKeys(Buffer.from(p.factory.factorySecret, 'base64url'));
    const now = this.nowIso();
    const firstBoot = p.installedAt === null;
    if (firstBoot) await this.saveP('installedAt', now);
    const wiped = this.u.initializedAt === null;
    if (wiped) await this.saveU('initializedAt', now);
    if (!this.terminal()) {
      if (wiped && !firstBoot) await this.queue('factory_reset');
      await this.queue('boot', { agentVersion: this.agentVersion });
    }
    return this.refresh();
  }

  /**
   * Wipes `userdata` as a factory reset does and boots again. The lock stays: it comes from the
   * last verified policy in `persistent`; the next sync enrolls again and revokes the old
   * credential.
   */
  async factoryReset(): Promise<LockScreenView> {
    await this.boot();
    this.epoch++;
    this.closeStream();
    await this.opts.userdata.clear();
    this.u = freshUserdata();
    this.lastRendered = null;
    this.booting = null;
    return this.boot();
  }

  // -------------------------------------------------------------------------------------------
  // What the phone shows and allows

  /** Re-evaluates enforcement at the current clock and redraws the screen if it changed. */
  async tick(): Promise<LockScreenView> {
    await this.boot();
    return this.refresh();
  }

  /** The lock screen as of now (does not record events; `tick` does). */
  view(): LockScreenView {
    const p = this.booted();
    const now = this.nowMs();
    const e = decideEnforcement(this.enforcementInput(p, now));
    return buildView({ mode: e.mode, offlineNotice: e.offlineNotice, policy: this.policy(), creditUntil: p.creditUntil, nowMs: now, backoffSeconds: secondsRemaining(p.backoff, now) });
  }

  canCall(number: string): boolean {
    const p = this.booted();
    const mode = decideEnforcement(this.enforcementInput(p, this.nowMs())).mode;
    return callAllowed(number, mode, this.policy());
  }

  /** The policy being enforced, if any. */
  policy(): Policy | null {
    return this.booted().policy?.policy ?? null;
  }

  /** Events waiting for the next check-in (oldest first). */
  pendingEvents(): DeviceEvent[] {
    return this.u.events.map((q) => structuredClone(q.event));
  }

  deviceId(): string | null {
    return this.u.session?.deviceId ?? null;
  }

  /** When the server asked to hear from the phone next; null if it did not say. */
  nextCheckinAt(): string | null {
    return this.u.nextCheckinAt;
  }

  isTerminal(): boolean {
    return this.terminal();
  }

  /** The shell reports a new SIM; the server learns of it at the next check-in. */
  async simChanged(detail: Record<string, unknown> = {}): Promise<void> {
    await this.boot();
    if (!this.terminal()) await this.queue('sim_change', detail);
  }

  /** Stops the nudge stream (the shell is shutting down). */
  stop(): void {
    this.stopped = true;
    this.cancelReconnect();
    this.cancelNudgeRetry();
    this.closeStream();
  }

  // -------------------------------------------------------------------------------------------
  // Unlock codes

  async enterCode(input: string): Promise<CodeResult> {
    await this.boot();
    const p = this.booted();
    if (this.terminal()) return { ok: false, reason: 'inactive', retryAfterSeconds: 0 };
    const now = this.nowMs();
    const wait = secondsRemaining(p.backoff, now);
    if (wait > 0) return { ok: false, reason: 'backoff', retryAfterSeconds: wait };

    const token = input.replace(/[\s-]/g, '');
    const restrictedDigitSet = RESTRICTED_DIGIT_SET_LENGTHS.has(token.length);
    const keys = this.deviceKeys();
    const result = decodeToken({
      token,
      key: keys.tokenKey,
      startingCode: keys.startingCode,
      lastCount: p.tokens.lastCount,
      usedCounts: p.tokens.usedCounts,
      restrictedDigitSet,
    });

    if (!result.ok) {
      // Only a well-formed code the key rejects is a guess; a typo in the length or a code
      // typed twice tells a guesser nothing, so neither slows the borrower down.
      if (result.reason === 'invalid') await this.saveP('backoff', recordFailure(p.backoff, now));
      await this.queue('token_rejected', { reason: result.reason, failures: p.backoff.failures });
      await this.refresh();
      return { ok: false, reason: result.reason, retryAfterSeconds: secondsRemaining(p.backoff, now) };
    }

    await this.saveP('tokens', { lastCount: result.lastCount, usedCounts: result.usedCounts });
    await this.saveP('backoff', NO_BACKOFF);
    const value = result.type === 'ADD_TIME' || result.type === 'SET_TIME' ? result.value : null;
    if (result.type === 'ADD_TIME') {
      const from = Math.max(now, p.creditUntil === null ? now : Date.parse(p.creditUntil));
      await this.saveP('creditUntil', new Date(from + result.value * DAY_MS).toISOString());
    } else if (result.type === 'SET_TIME') {
      await this.saveP('creditUntil', new Date(now + result.value * DAY_MS).toISOString());
    }
    await this.queue('token_accepted', { type: result.type, value, count: result.count });
    if (result.type === 'DISABLE_PAYG') await this.release('token');
    await this.refresh();
    return { ok: true, type: result.type, value, count: result.count, creditUntil: p.creditUntil, released: p.released !== null };
  }

  // -------------------------------------------------------------------------------------------
  // Talking to the server

  /**
   * Enrolls if the phone holds no credential, then checks in with the queued events and applies
   * a newer verified policy. Calls made while one runs are folded into one more run after it.
   */
  sync(): Promise<SyncResult> {
    if (this.queuedSync) return this.queuedSync;
    const start = (): Promise<SyncResult> => {
      const run = this.syncOnce().finally(() => {
        if (this.runningSync === run) this.runningSync = null;
      });
      this.runningSync = run;
      return run;
    };
    if (!this.runningSync) return start();
    const next = this.runningSync
      .catch(() => undefined)
      .then(() => {
        this.queuedSync = null;
        return start();
      });
    this.queuedSync = next;
    return next;
  }

  private async syncOnce(): Promise<SyncResult> {
    await this.boot();
    const p = this.booted();
    if (p.dormant) return { status: 'inactive', reason: 'dormant' };
    if (p.released) return { status: 'inactive', reason: 'released' };
    const epoch = this.epoch;
    try {
      let enrolled = false;
      let policy: PolicyOutcome = 'none';
      for (let attempt = 0; attempt < 2; attempt++) {
        if (!this.u.session) {
          const e = await this.enroll(epoch);
          if (e.status !== 'enrolled') return e.result;
          enrolled = true;
          policy = combine(policy, e.policy);
          if (this.terminal()) break;
        }
        const c = await this.checkin(epoch);
        if (c.status === 'revoked' && !enrolled) continue; // enroll again, once
        if (c.status !== 'ok') return c.result;
        policy = combine(policy, c.policy);
        if (c.policy === 'applied' && this.u.events.length > 0 && !this.terminal()) {
          // The new policy put a notice or lock on screen: tell the server now, not at the
          // next check-in, since notice periods count from the display.
          await this.checkin(epoch).catch((e: unknown) => {
            if (!isOfflineError(e)) throw e;
          });
        }
        break;
      }
      await this.refresh();
      if (!this.terminal()) await this.openStream();
      // Whatever a failed nudge announced has now been fetched.
      this.cancelNudgeRetry();
      return { status: 'synced', enrolled, policy };
    } catch (e) {
      if (e instanceof Interrupted) return { status: 'interrupted' };
      if (isOfflineError(e)) return { status: 'offline' };
      throw e;
    }
  }

  private async enroll(epoch: number): Promise<
    { status: 'enrolled'; policy: PolicyOutcome } | { status: 'stop'; result: SyncResult }
  > {
    const p = this.booted();
    const nonce = await this.opts.network.nonce();
    this.checkEpoch(epoch);
    if (!nonce.ok) return { status: 'stop', result: failed('nonce', nonce) };
    const keys = this.deviceKeys();
    const { imeis, serial } = p.factory;
    const reply = checkEnrollReply(
      await this.opts.network.enroll({
        imeis,
        serial,
        nonce: nonce.body.nonce,
        proof: enrollProof(keys.authKey, nonce.body.nonce, imeis[0]!, serial),
        agentVersion: this.agentVersion,
      }),
    );
    this.checkEpoch(epoch);
    if (!reply.ok) return { status: 'stop', result: failed('enroll', reply) };
    const body = reply.body;
    if (body.status === 'retry') {
      const retryAt = clampRetry(body.retryAt, this.nowMs());
      await this.saveU('nextCheckinAt', retryAt);
      return { status: 'stop', result: { status: 'retry', retryAt } };
    }
    if (body.status === 'not_financed') {
      if (p.policy) {
        return {
          status: 'stop',
          result: {
            status: 'failed',
            step: 'enroll',
            httpStatus: 200,
            code: 'not_financed_refused',
            message: 'the server says this phone is not financed, but the phone holds a signed policy; only a signed release or a DISABLE_PAYG code ends it',
          },
        };
      }
      await this.saveP('dormant', { at: this.nowIso() });
      this.closeStream();
      await this.refresh();
      return { status: 'stop', result: { status: 'not_financed' } };
    }
    await this.saveU('session', { deviceId: body.deviceId, credential: body.credential });
    await this.saveU('requestCounter', 0);
    await this.noteServerTime(body.serverTime);
    await this.pinKeys(body.signingKeys, body.keyRotations);
    await this.saveU('nextCheckinAt', body.nextCheckinAt ?? null);
    const policy = await this.considerPolicy(body.policy, body.deviceId);
    return { status: 'enrolled', policy };
  }

  private async checkin(epoch: number): Promise<
    { status: 'ok'; policy: PolicyOutcome } | { status: 'revoked'; result: SyncResult } | { status: 'stop'; result: SyncResult }
  > {
    const p = this.booted();
    const session = this.u.session!;
    const batch = this.u.events.slice(0, MAX_EVENTS_PER_CHECKIN);
    const request: CheckinRequest = {
      agentVersion: this.agentVersion,
      policyVersion: p.policy?.policy.version ?? 0,
      tokenCounter: p.tokens.lastCount,
      events: batch.map((q) => q.event),
    };
    const body = JSON.stringify(request);
    const headers = await this.signedHeaders('POST', CHECKIN_PATH, body);
    const reply: Reply<CheckinResponse> = checkCheckinReply(await this.opts.network.checkin(session.deviceId, headers, body));
    this.checkEpoch(epoch);
    if (!reply.ok) {
      if (reply.status === 401 && REENROLL_CODES.has(reply.code)) {
        // Keep the events: they go out with the first check-in of the new credential.
        this.closeStream();
        await this.saveU('session', null);
        return { status: 'revoked', result: failed('checkin', reply) };
      }
      return { status: 'stop', result: failed('checkin', reply) };
    }
    const sent = new Set(batch.map((q) => q.seq));
    await this.saveU('events', this.u.events.filter((q) => !sent.has(q.seq)));
    const res = reply.body;
    await this.noteServerTime(res.serverTime);
    if (res.signingKeys || res.keyRotations) await this.pinKeys(res.signingKeys, res.keyRotations);
    await this.saveU('nextCheckinAt', res.nextCheckinAt ?? null);
    const policy = res.policy ? await this.considerPolicy(res.policy, session.deviceId) : 'none';
    return { status: 'ok', policy };
  }

  private async considerPolicy(signed: SignedPolicy, deviceId: string): Promise<PolicyOutcome> {
    const p = this.booted();
    const held = p.policy;
    if (held && stableJson(held) === stableJson(signed)) return 'unchanged';
    const verdict = verifySignedPolicy(signed, p.signingKeys, { deviceId, minVersionExclusive: held?.policy.version ?? 0 });
    if (!verdict.ok) {
      const version = (signed as { policy?: { version?: unknown } } | null)?.policy?.version;
      const kid = (signed as { kid?: unknown } | null)?.kid;
      await this.queue('policy_rejected', {
        reason: verdict.reason,
        ...(typeof version === 'number' ? { version } : {}),
        ...(typeof kid === 'string' ? { kid } : {}),
      });
      return 'rejected';
    }
    await this.saveP('policy', signed);
    if (verdict.policy.nextCheckinAt) await this.saveU('nextCheckinAt', verdict.policy.nextCheckinAt);
    if (verdict.policy.stage === 'released') await this.release('policy');
    await this.refresh();
    return 'applied';
  }

  /**
   * Signing keys (docs/protocol.md §6). A phone that pins no key yet (first enrollment, none from
   * the factory) pins the offered list: trust on first use. After that a key is added only by a
   * rotation statement signed by a pinned key, and a kid once pinned keeps its key forever.
   * Offered keys that no statement vouches for, and statements that do not hold, are reported.
   */
  private async pinKeys(offered: SigningKey[] | undefined, rotations: unknown): Promise<void> {
    const p = this.booted();
    let pinned = p.signingKeys;
    if (pinned.length === 0 && offered?.length) pinned = offered.map(({ kid, publicKey }) => ({ kid, publicKey }));
    const outcome = acceptKeyRotations(pinned, rotations ?? []);
    if (outcome.pinned.length !== p.signingKeys.length) await this.saveP('signingKeys', outcome.pinned);
    const known = new Set(outcome.pinned.map((k) => k.kid));
    const rejected = [
      ...outcome.refused.filter((r) => r.kid === null || !known.has(r.kid)),
      ...(offered ?? []).filter((k) => !known.has(k.kid) && !outcome.refused.some((r) => r.kid === k.kid)).map((k) => ({ kid: k.kid, reason: 'unsigned' as const })),
    ];
    for (const r of rejected) await this.queue('key_rejected', { kid: r.kid, reason: r.reason });
  }

  private async signedHeaders(method: string, path: string, body: string): Promise<Record<string, string>> {
    const session = this.u.session!;
    const counter = this.u.requestCounter + 1;
    await this.saveU('requestCounter', counter);
    return signRequest({
      deviceId: session.deviceId,
      authKey: Buffer.from(session.credential, 'base64url'),
      method,
      path,
      body,
      timestamp: this.nowMs() + this.u.serverClockOffsetMs,
      counter,
    });
  }

  private async noteServerTime(serverTime: string | undefined): Promise<void> {
    const server = typeof serverTime === 'string' ? Date.parse(serverTime) : NaN;
    if (Number.isFinite(server)) await this.saveU('serverClockOffsetMs', server - this.nowMs());
  }

  private async openStream(): Promise<void> {
    if (this.stopped || this.opts.stream === false || this.stream || this.connecting || !this.u.session || this.terminal()) return;
    const epoch = this.epoch;
    const deviceId = this.u.session.deviceId;
    this.connecting = true;
    try {
      const headers = await this.signedHeaders('GET', STREAM_PATH, '');
      const holder: { close: CloseStream } = { close: () => undefined };
      holder.close = await this.opts.network.connectStream(
        deviceId,
        headers,
        () => this.syncOnNudge(),
        () => {
          if (this.stream !== holder) return;
          this.stream = null;
          this.scheduleReconnect();
        },
      );
      if (this.stopped || epoch !== this.epoch || this.terminal() || this.u.session?.deviceId !== deviceId) holder.close();
      else this.stream = holder;
    } catch (e) {
      // No stream is not an error: periodic check-ins still happen; the next sync tries again.
      if (!isOfflineError(e)) this.opts.onBackgroundError?.(e);
    } finally {
      this.connecting = false;
    }
  }

  /**
   * The far side closed the stream (a server restart, a dropped connection): sync again after a
   * jittered, growing wait. The sync reopens the stream and fetches whatever a nudge sent while it
   * was closed would have announced; until one succeeds, attempts continue with wider windows.
   */
  private scheduleReconnect(): void {
    if (this.stopped || this.opts.stream === false || this.reconnectTimer !== null || this.terminal()) return;
    const timers = this.opts.timers ?? platformTimers;
    const delay = reconnectDelayMs(this.reconnectAttempts++, this.opts.random);
    this.reconnectTimer = timers.setTimeout(() => {
      this.reconnectTimer = null;
      this.sync()
        .catch((e: unknown) => this.opts.onBackgroundError?.(e))
        .finally(() => {
          if (this.stream) this.reconnectAttempts = 0;
          else this.scheduleReconnect();
        });
    }, delay);
  }

  /**
   * A nudge means the server holds something newer, often an unlock. When the sync it starts
   * fails for the network or a busy server (a timeout, a 5xx, a 429: one sweep or bulk action
   * nudges thousands of phones at once), the phone tries again after a jittered wait that widens
   * like a reconnect's, not at its next routine check-in hours away (guardrail 5). Only while the
   * stream is open: once it drops, the reconnect's sync fetches the same news.
   */
  private syncOnNudge(): void {
    this.cancelNudgeRetry();
    this.runNudgedSync(0);
  }

  /** `retries`: how many of this nudge's syncs failed before this one. */
  private runNudgedSync(retries: number): void {
    this.sync().then(
      (r) => {
        if (worthRetrying(r)) this.scheduleNudgeRetry(retries);
      },
      (e: unknown) => this.opts.onBackgroundError?.(e),
    );
  }

  private scheduleNudgeRetry(retries: number): void {
    if (this.stopped || !this.stream || this.nudgeRetryTimer !== null || this.terminal()) return;
    const timers = this.opts.timers ?? platformTimers;
    this.nudgeRetryTimer = timers.setTimeout(() => {
      this.nudgeRetryTimer = null;
      if (this.stream) this.runNudgedSync(retries + 1);
    }, reconnectDelayMs(retries, this.opts.random));
  }

  private cancelNudgeRetry(): void {
    if (this.nudgeRetryTimer === null) return;
    (this.opts.timers ?? platformTimers).clearTimeout(this.nudgeRetryTimer);
    this.nudgeRetryTimer = null;
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer === null) return;
    (this.opts.timers ?? platformTimers).clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  /** Whether the nudge stream is open (for the simulator and tests). */
  streamOpen(): boolean {
    return this.stream !== null;
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = null;
    s?.close();
  }

  // -------------------------------------------------------------------------------------------
  // State changes

  private async release(via: 'policy' | 'token'): Promise<void> {
    const p = this.booted();
    if (!p.released) await this.saveP('released', { at: this.nowIso(), via });
    this.closeStream();
  }

  /**
   * Recomputes what the phone must do, reports transitions (lock shown, unlocked, notice shown)
   * once, and redraws the screen when the view changed.
   */
  private async refresh(): Promise<LockScreenView> {
    const p = this.booted();
    const now = this.nowMs();
    let e = decideEnforcement(this.enforcementInput(p, now));
    const policy = this.policy();
    if (e.offlineNotice && e.offlineNotice.lockAt === null && policy && !this.terminal()) {
      // The offline notice goes on screen now: its minimum time counts from this moment.
      await this.saveP('offlineNotice', { policyVersion: policy.version, shownAt: new Date(now).toISOString() });
      e = decideEnforcement(this.enforcementInput(p, now));
      await this.queue('offline_notice_shown', { policyVersion: policy.version, lockAt: e.offlineNotice?.lockAt ?? null });
    }
    if (!this.terminal()) await this.reportTransitions(e, policy);
    const view = buildView({ mode: e.mode, offlineNotice: e.offlineNotice, policy, creditUntil: p.creditUntil, nowMs: now, backoffSeconds: secondsRemaining(p.backoff, now) });
    const text = JSON.stringify(view);
    if (text !== this.lastRendered) {
      this.lastRendered = text;
      this.opts.screen.render(view);
    }
    return view;
  }

  private async reportTransitions(e: Enforcement, policy: Policy | null): Promise<void> {
    const before = this.u.shownMode;
    if (e.mode === 'locked' && before !== 'locked') {
      await this.queue('lock_shown', { policyVersion: policy?.version ?? 0, lockReference: policy?.lockReference ?? null, cause: e.lockCause });
    }
    if (before === 'locked' && e.mode !== 'locked') {
      await this.queue('unlocked', { cause: e.creditOverride ? 'credit' : 'policy', policyVersion: policy?.version ?? 0 });
    }
    if (before !== e.mode) await this.saveU('shownMode', e.mode);

    // A notice counts once per overdue episode; leaving the notice/restricted/locked range ends it.
    const inEpisode = policy !== null && (policy.stage === 'notice' || policy.stage === 'restricted' || policy.stage === 'locked');
    if (!inEpisode && this.u.noticesReported.length) await this.saveU('noticesReported', []);
    // The profile's notices only: the offline notice is reported on its own (offline_notice_shown).
    if (e.mode === 'notice' && policy && policy.stage === 'notice') {
      const index = noticeIndex(policy);
      const key = String(index);
      if (!this.u.noticesReported.includes(key)) {
        await this.queue('notice_shown', { index, policyVersion: policy.version });
        await this.saveU('noticesReported', [...this.u.noticesReported, key]);
      }
    }
  }

  private async queue(kind: DeviceEvent['kind'], detail?: Record<string, unknown>): Promise<void> {
    const seq = this.u.nextEventSeq;
    const event: DeviceEvent = detail === undefined ? { kind, at: this.nowIso() } : { kind, at: this.nowIso(), detail };
    const max = this.opts.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
    const events = [...this.u.events, { seq, event }];
    await this.saveU('nextEventSeq', seq + 1);
    await this.saveU('events', events.slice(Math.max(0, events.length - max)));
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private async saveP<K extends keyof PersistentState>(key: K, value: PersistentState[K]): Promise<void> {
    const p = this.booted();
    p[key] = value;
    if (value === null) await this.opts.persistent.delete(key);
    else await this.opts.persistent.set(key, value);
  }

  private async saveU<K extends keyof UserdataState>(key: K, value: UserdataState[K]): Promise<void> {
    this.u[key] = value;
    if (value === null) await this.opts.userdata.delete(key);
    else await this.opts.userdata.set(key, value);
  }

  private booted(): PersistentState {
    if (!this.p) throw new LienError('conflict', 'the agent has not booted yet: call boot() first');
    return this.p;
  }

  private deviceKeys(): DeviceKeys {
    this.booted();
    return this.keys!;
  }

  private terminal(): boolean {
    const p = this.p;
    return p !== null && (p.released !== null || p.dormant !== null);
  }

  private enforcementInput(p: PersistentState, nowMs: number) {
    const policy = p.policy?.policy ?? null;
    const shown = policy && p.offlineNotice?.policyVersion === policy.version ? p.offlineNotice.shownAt : null;
    return { policy, nowMs, creditUntil: p.creditUntil, released: p.released !== null, dormant: p.dormant !== null, offlineNoticeShownAt: shown };
  }

  private checkEpoch(epoch: number): void {
    if (epoch !== this.epoch) throw new Interrupted();
  }

  private nowMs(): number {
    return this.opts.clock.now().getTime();
  }

  private nowIso(): string {
    return this.opts.clock.now().toISOString();
  }
}

function failed(step: 'nonce' | 'enroll' | 'checkin', reply: { status: number; code: string; message: string }): SyncResult {
  return { status: 'failed', step, httpStatus: reply.status, code: reply.code, message: reply.message };
}

/** A server-given retry time, kept within a minute and a week from now whatever the server says. */
function clampRetry(retryAt: string, nowMs: number): string {
  const at = Date.parse(retryAt);
  return new Date(Math.min(Math.max(Number.isFinite(at) ? at : nowMs, nowMs + 60_000), nowMs + 7 * DAY_MS)).toISOString();
}

/** A sync worth trying again soon: the network failed, or the server was busy or broken. */
function worthRetrying(r: SyncResult): boolean {
  return r.status === 'offline' || (r.status === 'failed' && (r.httpStatus >= 500 || r.httpStatus === 429));
}

function combine(a: PolicyOutcome, b: PolicyOutcome): PolicyOutcome {
  const rank: Record<PolicyOutcome, number> = { none: 0, unchanged: 1, rejected: 2, applied: 3 };
  return rank[b] > rank[a] ? b : a;
}

/**
 * Which notice of the lender's profile is on screen. The signed Policy has no notice index yet, so
 * every notice reports as index 0 unless a future policy field `noticeIndex` says otherwise.
 */
function noticeIndex(policy: Policy): number {
  const index = (policy as { noticeIndex?: unknown }).noticeIndex;
  return typeof index === 'number' && Number.isInteger(index) && index >= 0 ? index : 0;
}

/** JSON with sorted keys, to tell an identical re-sent policy from a different one. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
