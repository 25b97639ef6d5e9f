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
 *
 * A round is spread over its interval in SLICES_PER_ROUND ticks, each taking the streams pinged
 * longest ago: one loop over 10,000 streams holds the event loop for 100-150 ms (5,000 pings
 * measured at 50-73 ms on the 2-core bench machine), which every payment and check-in arriving
 * then would wait out, every interval — a p99 latency bench:unlock and bench:rails would show.
 */

/** Rounds in a row without a pong after which a stream is taken for dead. */
export const MISSED_ROUNDS = 2;

/** Ticks a round is spread over. */
export const SLICES_PER_ROUND = 20;

/** What the keep-alive needs of a server-side WebSocket (`ws` provides it). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', fn: () => void): unknown;
  off(event: 'pong', fn: () => void): unknown;
}

export class StreamKeepAlive {
  /**
   * Each tracked stream, and how many pings in a row it has left unanswered; in the order they
   * are due (a pinged stream moves to the end), so a tick takes the first ones.
   */
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

  /** One whole round at once: ends the streams that left the last MISSED_ROUNDS pings unanswered, pings the rest. */
  round(): void {
    this.visit(this.missed.size);
  }

  /** One tick: the share of a round that is due. */
  slice(): void {
    this.visit(Math.ceil(this.missed.size / SLICES_PER_ROUND));
  }

  private visit(count: number): void {
    const due: [PingableSocket, number][] = [];
    for (const entry of this.missed) {
      if (due.length >= count) break;
      due.push(entry);
    }
    for (const [socket, missed] of due) {
      this.missed.delete(socket);
      if (missed >= MISSED_ROUNDS) {
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
    this.timer = setInterval(() => this.slice(), intervalMs / SLICES_PER_ROUND);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
