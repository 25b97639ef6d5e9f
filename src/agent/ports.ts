/**
 * What the device agent needs of the phone it runs on (DESIGN.md §5). The state machine in
 * agent.ts only talks to these ports, so the same code runs in tests, in the simulator and behind
 * a real Android shell.
 */
import type { Clock } from '../domain/clock.ts';
import type { CheckinResponse, EnrollRequest, EnrollResponse, LenderTexts, NonceResponse, ScreenFacts, ScreenNote } from '../protocol/index.ts';

export type { Clock };

/**
 * A small JSON key-value area. The agent uses two: `persistent` (a partition that survives a
 * factory reset) and `userdata` (wiped by a reset). Values must be JSON-serialisable.
 */
export interface KeyValueStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** Removes every key: what a factory reset does to `userdata`. */
  clear(): Promise<void>;
}

/** Thrown by a Network when the server cannot be reached (no signal, DNS, timeout, TLS). */
export class OfflineError extends Error {
  constructor(message = 'the server cannot be reached') {
    super(message);
    this.name = 'OfflineError';
  }
}

export function isOfflineError(e: unknown): e is OfflineError {
  return e instanceof OfflineError;
}

/**
 * The server's answer to a request that reached it: the body on success, or the HTTP status and
 * the machine code of a LienError body (`revoked`, `unauthorized`, `replay`, …).
 */
export type Reply<T> = { ok: true; body: T } | { ok: false; status: number; code: string; message: string };

export type RequestHeaders = Record<string, string>;

/** Closes a nudge stream; calling it twice is harmless. */
export type CloseStream = () => void;

export interface Network {
  /** `GET /v1/device/nonce`. */
  nonce(): Promise<Reply<NonceResponse>>;
  /** `POST /v1/device/enroll`. */
  enroll(req: EnrollRequest): Promise<Reply<EnrollResponse>>;
  /**
   * `POST /v1/device/checkin` with the exact `body` text the headers were signed over (the
   * adapter must send it byte for byte).
   */
  checkin(deviceId: string, headers: RequestHeaders, body: string): Promise<Reply<CheckinResponse>>;
  /**
   * `GET /v1/device/stream` (WebSocket): calls `onSync` for each `{type:'sync'}` message and
   * `onClose` when the connection ends from the far side.
   */
  connectStream(deviceId: string, headers: RequestHeaders, onSync: () => void, onClose?: () => void): Promise<CloseStream>;
}

export type ScreenMode = 'normal' | 'reminder' | 'notice' | 'restricted' | 'locked' | 'released' | 'dormant';

/** Everything the lock screen shows; plain data so any UI (Android, web emulator, CLI) can draw it. */
export interface LockScreenView {
  mode: ScreenMode;
  /** Guardrail 1: the lender's name and contact are on every screen that enforces anything. */
  lender: { name: string; phone: string; url: string; howToPay: string; supportHours?: string; message?: string } | null;
  /** Policy 1.1: the facts the screen is worded from, in the borrower's language; null from a 1.0 server. */
  facts: ScreenFacts | null;
  /** Policy 1.1: the lender's texts per language (`lender` holds the fallback). */
  lenderTexts: LenderTexts | null;
  /** Policy 1.1: the lender's note for this phone. */
  note: ScreenNote | null;
  /** Amount due in major units with the currency's decimals, e.g. "1,250.00"; null when nothing is due. */
  amountDue: string | null;
  currency: string | null;
  lockReference: string | null;
  /** Protocol 1.0's English fallback sentence; a translated screen words `facts` instead. */
  message: string | null;
  /** Until when the current notice runs, when the policy says (for the offline notice: when the phone locks). */
  noticeUntil: string | null;
  /**
   * The phone has not reached the server and will lock at `lockAt` unless it does (or a code
   * buys time); `deadline` is the policy's offline deadline. Null when no offline notice is up.
   */
  offlineNotice: { lockAt: string | null; deadline: string } | null;
  /** End of the time an unlock code bought, while it lasts. */
  creditUntil: string | null;
  codeEntryEnabled: boolean;
  /** Seconds before another unlock code may be tried after wrong entries; 0 = now. */
  backoffSecondsRemaining: number;
  emergencyNumbers: readonly string[];
  /** Numbers callable even while locked: the lender's phone and the policy's allowed numbers. */
  allowedNumbers: readonly string[];
}

export interface Screen {
  render(view: LockScreenView): void;
}

/** The dialer asks the agent before placing a call. */
export interface Telephony {
  canCall(number: string): boolean;
}
