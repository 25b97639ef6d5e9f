import { randomUUID } from 'node:crypto';

/** What the hub needs of the database: PostgreSQL LISTEN/NOTIFY (PGlite has it too). */
export interface NotifyChannel {
  notify(channel: string, payload: string): Promise<void>;
  listen?(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface NudgeSocket {
  send(data: string): void;
}

const CHANNEL = 'lien_nudge';
// NOTIFY payloads must stay under 8000 bytes; device ids are ~30 chars.
const IDS_PER_NOTIFY = 200;

/**
 * Pushes "sync now" to devices connected to the device stream. A nudge is delivered to the
 * sockets of this process at once and fanned out to other processes through NOTIFY; each
 * process ignores its own notifications so a device is nudged once.
 */
export class NudgeHub {
  private readonly sockets = new Map<string, Set<NudgeSocket>>();
  private readonly origin = randomUUID().slice(0, 8);
  private unlisten: (() => Promise<void>) | undefined;
  private readonly watchers = new Set<(deviceId: string) => void>();

  constructor(private readonly channel: NotifyChannel) {}

  async start(): Promise<void> {
    if (!this.channel.listen) return;
    this.unlisten = await this.channel.listen(CHANNEL, (payload) => {
      const [origin, ids] = splitOnce(payload, ':');
      if (origin === this.origin || !ids) return;
      for (const id of ids.split(',')) this.deliverLocal(id);
    });
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = undefined;
  }

  register(deviceId: string, socket: NudgeSocket): () => void {
    let set = this.sockets.get(deviceId);
    if (!set) this.sockets.set(deviceId, (set = new Set()));
    set.add(socket);
    return () => {
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(deviceId) === set) this.sockets.delete(deviceId);
    };
  }

  get connected(): number {
    return this.sockets.size;
  }

  async nudge(deviceIds: string | string[]): Promise<void> {
    const ids = typeof deviceIds === 'string' ? [deviceIds] : deviceIds;
    if (ids.length === 0) return;
    for (const id of ids) this.deliverLocal(id);
    for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) {
      await this.channel.notify(CHANNEL, `${this.origin}:${ids.slice(i, i + IDS_PER_NOTIFY).join(',')}`);
    }
  }

  /** Called for every nudge, local or from another process: caches drop what the nudge outdates. */
  onNudge(fn: (deviceId: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private deliverLocal(deviceId: string): void {
    for (const fn of this.watchers) fn(deviceId);
    const set = this.sockets.get(deviceId);
    if (!set) return;
    for (const socket of set) {
      try {
        socket.send(JSON.stringify({ type: 'sync' }));
      } catch {
        // A socket closing mid-send is dropped by its own close handler.
      }
    }
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
