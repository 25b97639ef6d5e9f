/**
 * Finds device streams whose phone is gone without a goodbye. A phone that loses coverage, or a
 * mobile network's NAT that forgets an idle connection, leaves the server a socket that never
 * closes: it keeps its file descriptor, its buffers and its place in the nudge hub, and nudges
 * written to it vanish. Every interval each stream is sent a WebSocket ping (the client's stack
 * answers with a pong; the device code does nothing); a stream that has answered none of the
 * last MISSED_ROUNDS pings is terminated, which runs its close handler and unregisters it. One
 * late pong is forgiven: under load (bench/streams.ts on a busy machine, 5 s rounds) a live
 * phone's answer can miss one round, and closing it then would send it into a reconnect for
 * nothing. The ping also keeps NATs on the path from dropping a stream that is merely quiet.
 */

/** Rounds in a row without a pong after which a stream is taken for dead. */
export const MISSED_ROUNDS = 2;

/** What the keep-alive needs of a server-side WebSocket (`ws` provides it). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', fn: () => void): unknown;
  off(event: 'pong', fn: () => void): unknown;
}

export class StreamKeepAlive {
  /** Each tracked stream, and how many pings in a row it has left unanswered. */
  private readonly missed = new Map<PingableSocket, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Counters since start, for /metrics and the streams benchmark. */
  pings = 0;
  terminated = 0;

  track(socket: PingableSocket): () => void {
    const pong = () => {
      if (this.missed.has(socket)) this.missed.set(socket, 0);
    };
    this.missed.set(socket, 0);
    socket.on('pong', pong);
    return () => {
      socket.off('pong', pong);
      this.missed.delete(socket);
    };
  }

  get tracked(): number {
    return this.missed.size;
  }

  /** One round: ends the streams that left the last MISSED_ROUNDS pings unanswered, pings the rest. */
  round(): void {
    for (const [socket, missed] of this.missed) {
      if (missed >= MISSED_ROUNDS) {
        this.missed.delete(socket);
        this.terminated++;
        socket.terminate();
        continue;
      }
      this.missed.set(socket, missed + 1);
      this.pings++;
      try {
        socket.ping();
      } catch {
        // A socket closing under us: its close handler untracks it.
      }
    }
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.round(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
