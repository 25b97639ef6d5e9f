import { NUDGE_CHANNEL, nudgedDevices } from '../services/unit-of-work.ts';

/** What the hub needs of the database: PostgreSQL LISTEN (PGlite has it too). */
export interface NudgeSource {
  listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface NudgeSocket {
  send(data: string): void;
}

const SYNC = JSON.stringify({ type: 'sync' });

/**
 * Pushes "sync now" to the devices connected to this process's device stream. Nudges are not
 * sent from here: a unit of work queues them with pg_notify and the database delivers them at
 * commit to every listening process, this one included, so a device is nudged exactly when the
 * change that concerns it has committed, wherever its stream is held.
 */
export class NudgeHub {
  private readonly sockets = new Map<string, Set<NudgeSocket>>();
  private unlisten: (() => Promise<void>) | undefined;
  private readonly watchers = new Set<(deviceId: string) => void>();

  constructor(private readonly source: NudgeSource) {}

  async start(): Promise<void> {
    this.unlisten = await this.source.listen(NUDGE_CHANNEL, (payload) => {
      for (const id of nudgedDevices(payload)) this.deliver(id);
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

  /** Called for every nudge heard, before the sockets are told: caches drop what it outdates. */
  onNudge(fn: (deviceId: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private deliver(deviceId: string): void {
    for (const fn of this.watchers) fn(deviceId);
    const set = this.sockets.get(deviceId);
    if (!set) return;
    for (const socket of set) {
      try {
        socket.send(SYNC);
      } catch {
        // A socket closing mid-send is dropped by its own close handler.
      }
    }
  }
}
