/**
 * A simulated phone: the reference DeviceAgent with an airplane-mode switch, and the things a
 * person does to a phone (type a code, reset it, place a call) answered in words. Shared by
 * `lien device` and the browser emulator, so both behave and read the same.
 */
import type { Clock } from '../../domain/clock.ts';
import { formatDateTime, formatDuration, t, type Lang } from '../../i18n/index.ts';
import { DeviceAgent, type SyncResult } from '../agent.ts';
import type { KeyValueStore, LockScreenView, Network } from '../ports.ts';
import { describeScreen, type ScreenModel } from './screen-model.ts';
import { SwitchableNetwork } from './switchable-network.ts';

export interface SimPhoneOptions {
  persistent: KeyValueStore;
  userdata: KeyValueStore;
  clock: Clock;
  network: Network;
  lang: Lang;
  timeZone?: string;
  /** Keep the nudge stream open (default true). */
  stream?: boolean;
  /** The screen changed: after a sync (also one a nudge started), a code, a reset, a clock move. */
  onChange?: (view: LockScreenView) => void;
  /** A sync started by a nudge failed; nobody else would hear of it. */
  onBackgroundError?: (error: unknown) => void;
}

/** The answer to something done on the phone, in words. */
export interface Outcome {
  ok: boolean;
  text: string;
}

export class SimPhone {
  readonly agent: DeviceAgent;
  readonly network: SwitchableNetwork;
  readonly lang: Lang;
  /** What the last action said, for a screen to show under the lock screen. */
  lastOutcome: Outcome | null = null;
  private readonly timeZone: string;
  private answeredCheckinAt: string | null = null;

  constructor(private readonly opts: SimPhoneOptions) {
    this.lang = opts.lang;
    this.timeZone = opts.timeZone ?? 'UTC';
    this.network = new SwitchableNetwork(opts.network);
    this.agent = new DeviceAgent({
      persistent: opts.persistent,
      userdata: opts.userdata,
      clock: opts.clock,
      network: this.network,
      screen: { render: (view) => opts.onChange?.(view) },
      stream: opts.stream ?? true,
      onBackgroundError: (e) => {
        this.lastOutcome = { ok: false, text: `background sync failed: ${errorText(e)}` };
        opts.onBackgroundError?.(e);
      },
    });
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  async boot(): Promise<void> {
    await this.agent.boot();
  }

  /** The lock screen as of now, in words. */
  model(lang: Lang = this.lang): ScreenModel {
    return describeScreen(this.agent.view(), this.agent.policy(), { lang, timeZone: this.zone() });
  }

  /** The lender's zone as its policy says (1.1), else the one this phone was given. */
  private zone(): string {
    return this.agent.policy()?.facts?.timeZone ?? this.timeZone;
  }

  /**
   * Whether the server asked to hear from the phone by now (on the phone's clock). A time already
   * answered by a successful sync does not count again: on a phone whose clock runs ahead of the
   * server's, the server's next check-in time stays in the past and would ask for a sync forever.
   */
  checkinDue(): boolean {
    const next = this.agent.nextCheckinAt();
    return next !== null && next !== this.answeredCheckinAt && Date.parse(next) <= this.opts.clock.now().getTime();
  }

  sync(): Promise<Outcome> {
    return this.record(async () => {
      const outcome = describeSync(await this.agent.sync());
      if (outcome.ok) this.answeredCheckinAt = this.agent.nextCheckinAt();
      return outcome;
    });
  }

  enterCode(code: string, lang: Lang = this.lang): Promise<Outcome> {
    return this.record(async () => {
      const r = await this.agent.enterCode(code);
      if (r.ok) {
        const extra = r.released ? t(lang, 'lock.released.body') : r.creditUntil ? t(lang, 'lock.creditUntil', { date: this.when(r.creditUntil, lang) }) : '';
        return { ok: true, text: `${t(lang, 'lock.codeAccepted')} ${extra}`.trim() };
      }
      if (r.reason === 'backoff') return { ok: false, text: t(lang, 'lock.codeBackoff', { duration: formatDuration(lang, r.retryAfterSeconds) }) };
      if (r.reason === 'inactive') return { ok: false, text: 'This phone is released or dormant: it takes no codes.' };
      return { ok: false, text: `${t(lang, 'lock.codeRejected')} (${r.reason.replace('_', ' ')})` };
    });
  }

  /** Airplane mode off syncs at once, as a phone does when its signal comes back. */
  setOnline(online: boolean): Promise<Outcome> {
    this.network.setOnline(online);
    if (online) return this.sync();
    return this.record(async () => ({ ok: true, text: 'offline: no network; the phone keeps enforcing its last policy' }));
  }

  /** Wipes userdata as a factory reset does, then connects again (which brings the lock back). */
  factoryReset(): Promise<Outcome> {
    return this.record(async () => {
      await this.agent.factoryReset();
      const after = describeSync(await this.agent.sync());
      return { ok: after.ok, text: `factory reset done (userdata wiped); ${after.text}` };
    });
  }

  call(number: string): Outcome {
    const n = number.trim();
    if (!/^\+?[\d\s()*#-]{1,32}$/.test(n)) return (this.lastOutcome = { ok: false, text: `"${number}" is not a phone number` });
    const allowed = this.agent.canCall(n);
    return (this.lastOutcome = allowed
      ? { ok: true, text: `call to ${n}: allowed` }
      : { ok: false, text: `call to ${n}: blocked while locked (emergency numbers and the lender still work)` });
  }

  /** Re-reads enforcement at the phone's clock (a lock may fall due without any network). */
  async tick(): Promise<void> {
    await this.agent.tick();
  }

  stop(): void {
    this.agent.stop();
  }

  private when(iso: string, lang: Lang): string {
    const zone = this.zone();
    return `${formatDateTime(lang, new Date(iso), zone)}${zone === 'UTC' ? ' UTC' : ''}`;
  }

  private async record(run: () => Promise<Outcome>): Promise<Outcome> {
    let outcome: Outcome;
    try {
      outcome = await run();
    } catch (e) {
      outcome = { ok: false, text: errorText(e) };
    }
    this.lastOutcome = outcome;
    return outcome;
  }
}

export function describeSync(r: SyncResult): Outcome {
  switch (r.status) {
    case 'synced': {
      const what = r.policy === 'applied' ? 'new policy applied' : r.policy === 'rejected' ? 'a policy was refused (it did not verify)' : 'nothing new';
      return { ok: true, text: `synced${r.enrolled ? ' (enrolled)' : ''}: ${what}` };
    }
    case 'not_financed':
      // The server answers an unknown phone and a wrong factory secret alike (the registry is no oracle).
      return { ok: true, text: 'the server does not know this phone as financed (or its factory secret is not the registered one): it goes dormant for good' };
    case 'retry':
      return { ok: true, text: `registered for financing, but the sale is not recorded yet: the phone asks again at ${r.retryAt}` };
    case 'inactive':
      return { ok: true, text: `this phone is ${r.reason}: it no longer talks to the server` };
    case 'offline':
      return { ok: false, text: 'no network: the phone keeps enforcing its last policy' };
    case 'interrupted':
      return { ok: false, text: 'a factory reset interrupted the sync' };
    case 'failed':
      if (r.step === 'enroll' && r.httpStatus === 401) {
        return { ok: false, text: `the server refused this phone's identity (${r.message}); is the factory secret right?` };
      }
      return { ok: false, text: `${r.step} failed: ${r.httpStatus ? `HTTP ${r.httpStatus} ` : ''}${r.code}: ${r.message}` };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
