/**
 * The agent's state and where each piece lives. `persistent` holds what must survive a factory
 * reset (anything whose loss would lift a lock or reopen guessing); `userdata` holds what a reset
 * may lose because re-enrolling rebuilds it.
 */
import type { DeviceEvent, SignedPolicy, SigningKey } from '../protocol/index.ts';
import { NO_BACKOFF, type BackoffState } from './backoff.ts';
import type { KeyValueStore, ScreenMode } from './ports.ts';

/** Written at the factory; the agent only reads it. */
export interface FactoryIdentity {
  /** 32-byte factory secret, base64url. */
  factorySecret: string;
  imeis: string[];
  serial: string;
}

export interface TokenCounterState {
  lastCount: number;
  usedCounts: number[];
}

export interface PersistentState {
  factory: FactoryIdentity;
  signingKeys: SigningKey[];
  policy: SignedPolicy | null;
  tokens: TokenCounterState;
  creditUntil: string | null;
  released: { at: string; via: 'policy' | 'token' } | null;
  dormant: { at: string } | null;
  backoff: BackoffState;
  /** First boot of the agent on this phone; present + empty userdata = a reset happened. */
  installedAt: string | null;
  /**
   * When the offline notice of the policy held was first on screen: the offline lock counts its
   * minimum time from here, so it survives a reset (a reset must not restart the notice either way).
   */
  offlineNotice: { policyVersion: number; shownAt: string } | null;
}

export interface QueuedEvent {
  /** Local sequence number, so delivery can clear exactly what was sent. */
  seq: number;
  event: DeviceEvent;
}

export interface UserdataState {
  session: { deviceId: string; credential: string } | null;
  requestCounter: number;
  events: QueuedEvent[];
  nextEventSeq: number;
  /** Notice keys already reported as shown in the current overdue episode. */
  noticesReported: string[];
  /** The mode last put on screen, to report transitions (lock shown, unlocked) once. */
  shownMode: ScreenMode | null;
  nextCheckinAt: string | null;
  /**
   * Server clock minus phone clock at the last answer. Used only to timestamp signed requests
   * (so a phone with a wrong clock can still check in), never to decide a lock.
   */
  serverClockOffsetMs: number;
  initializedAt: string | null;
}

export const FACTORY_KEY = 'factory';

const PERSISTENT_DEFAULTS: Omit<PersistentState, 'factory'> = {
  signingKeys: [],
  policy: null,
  tokens: { lastCount: 0, usedCounts: [] },
  creditUntil: null,
  released: null,
  dormant: null,
  backoff: NO_BACKOFF,
  installedAt: null,
  offlineNotice: null,
};

const USERDATA_DEFAULTS: UserdataState = {
  session: null,
  requestCounter: 0,
  events: [],
  nextEventSeq: 1,
  noticesReported: [],
  shownMode: null,
  nextCheckinAt: null,
  serverClockOffsetMs: 0,
  initializedAt: null,
};

async function loadArea<T extends object>(store: KeyValueStore, defaults: T): Promise<T> {
  const out = structuredClone(defaults);
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const v = await store.get<T[typeof key]>(key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export async function loadPersistent(store: KeyValueStore): Promise<PersistentState | null> {
  const factory = await store.get<FactoryIdentity>(FACTORY_KEY);
  if (!factory) return null;
  return { factory, ...(await loadArea(store, PERSISTENT_DEFAULTS)) };
}

export function loadUserdata(store: KeyValueStore): Promise<UserdataState> {
  return loadArea(store, USERDATA_DEFAULTS);
}

export function freshUserdata(): UserdataState {
  return structuredClone(USERDATA_DEFAULTS);
}
