/**
 * In-memory ports for tests and the device simulator. Values cross every boundary as JSON text,
 * as they would on a phone, so code that keeps a reference to a stored or received object
 * cannot pass here and fail there.
 */
import type { CheckinResponse, EnrollRequest, EnrollResponse, NonceResponse } from '../protocol/index.ts';
import {
  OfflineError,
  type CloseStream,
  type KeyValueStore,
  type LockScreenView,
  type Network,
  type Reply,
  type RequestHeaders,
  type Screen,
  type Telephony,
} from './ports.ts';

function roundTrip<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export class MemoryStore implements KeyValueStore {
  private readonly data = new Map<string, string>();

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const text = this.data.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) throw new TypeError(`cannot store undefined under "${key}"; delete the key instead`);
    this.data.set(key, JSON.stringify(value));
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
  async clear(): Promise<void> {
    this.data.clear();
  }
  /** Keys currently held (for tests and the simulator's inspector). */
  keys(): string[] {
    return [...this.data.keys()].sort();
  }
}

/** Remembers every view rendered; `current` is what the phone shows now. */
export class MemoryScreen implements Screen {
  readonly history: LockScreenView[] = [];
  render(view: LockScreenView): void {
    this.history.push(roundTrip(view));
  }
  get current(): LockScreenView | undefined {
    return this.history[this.history.length - 1];
  }
}

/** A dialer that asks the agent before each call and records what happened. */
export class RecordingDialer {
  readonly calls: { number: string; placed: boolean }[] = [];
  constructor(private readonly policy: Telephony) {}
  dial(number: string): boolean {
    const placed = this.policy.canCall(number);
    this.calls.push({ number, placed });
    return placed;
  }
}

/** The server side of the device API, as a MemoryNetwork reaches it. */
export interface DeviceApi {
  nonce(): Promise<Reply<NonceResponse>> | Reply<NonceResponse>;
  enroll(req: EnrollRequest): Promise<Reply<EnrollResponse>> | Reply<EnrollResponse>;
  checkin(deviceId: string, headers: RequestHeaders, body: string): Promise<Reply<CheckinResponse>> | Reply<CheckinResponse>;
  /** Decides whether a stream may open; absent = always. */
  authorizeStream?(deviceId: string, headers: RequestHeaders): Promise<Reply<true>> | Reply<true>;
}

export interface NetworkCall {
  kind: 'nonce' | 'enroll' | 'checkin' | 'stream';
  deviceId?: string;
}

interface OpenStream {
  deviceId: string;
  onSync: () => void;
  onClose: (() => void) | undefined;
}

/**
 * A network that delivers requests to an in-process DeviceApi. Switch `online` off to simulate no
 * signal (every call throws OfflineError and open streams drop); `calls` counts what was
 * attempted, online or not.
 */
export class MemoryNetwork implements Network {
  online = true;
  readonly calls: NetworkCall[] = [];
  private readonly streams = new Set<OpenStream>();

  constructor(private readonly api: DeviceApi) {}

  setOnline(online: boolean): void {
    this.online = online;
    if (!online) for (const s of [...this.streams]) this.drop(s);
  }

  /** What the server does when a policy changes: tells each open stream of the device to sync. */
  pushSync(deviceId: string): number {
    let n = 0;
    for (const s of this.streams) {
      if (s.deviceId === deviceId) {
        n++;
        s.onSync();
      }
    }
    return n;
  }

  openStreams(deviceId?: string): number {
    return [...this.streams].filter((s) => deviceId === undefined || s.deviceId === deviceId).length;
  }

  async nonce(): Promise<Reply<NonceResponse>> {
    this.reach({ kind: 'nonce' });
    return roundTrip(await this.api.nonce());
  }

  async enroll(req: EnrollRequest): Promise<Reply<EnrollResponse>> {
    this.reach({ kind: 'enroll' });
    return roundTrip(await this.api.enroll(roundTrip(req)));
  }

  async checkin(deviceId: string, headers: RequestHeaders, body: string): Promise<Reply<CheckinResponse>> {
    this.reach({ kind: 'checkin', deviceId });
    return roundTrip(await this.api.checkin(deviceId, { ...headers }, body));
  }

  async connectStream(deviceId: string, headers: RequestHeaders, onSync: () => void, onClose?: () => void): Promise<CloseStream> {
    this.reach({ kind: 'stream', deviceId });
    const allowed = this.api.authorizeStream ? await this.api.authorizeStream(deviceId, { ...headers }) : { ok: true as const, body: true as const };
    if (!allowed.ok) throw new Error(`stream refused: ${allowed.status} ${allowed.code}`);
    const stream: OpenStream = { deviceId, onSync, onClose };
    this.streams.add(stream);
    return () => {
      this.streams.delete(stream);
    };
  }

  private reach(call: NetworkCall): void {
    this.calls.push(call);
    if (!this.online) throw new OfflineError();
  }

  private drop(stream: OpenStream): void {
    this.streams.delete(stream);
    stream.onClose?.();
  }
}
