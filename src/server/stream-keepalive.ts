/**
 * Finds device streams whose phone is gone without a goodbye. A phone that loses coverage, or a
 * mobile network's NAT that forgets an idle connection, leaves the server a socket that never
 * closes: it keeps its file descriptor, its buffers and its place in the nudge hub, and nudges
 * written to it vanish. Every interval each stream is sent a WebSocket ping (the client's stack
 * answers with a pong; the device code does nothing); a stream that has not answered the previous
 * ping by the next round is terminated, which runs its close handler and unregisters it. The
 * ping also keeps NATs on the path from dropping a stream that is merely quiet.
 */

/** What the keep-alive needs of a server-side WebSocket (`ws` provides it). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', fn: () => void): unknown;
  off(event: 'pong', fn: () => void): unknown;
}

export class StreamKeepAlive {
  /** Each tracked stream, and whether it answered since the last round. */
  private readonly answered = new Map<PingableSocket, boolean>();
  private timer: NodeJS.Timeout | undefined;
  /** Counters since start, for /metrics and the streams benchmark. */
  pings = 0;
  terminated = 0;

  track(socket: PingableSocket): () => void {
    const pong = () => void this.answered.set(socket, true);
    this.answered.set(socket, true);
    socket.on('pong', pong);
    return () => {
      socket.off('pong', pong);
      this.answered.delete(socket);
    };
  }

  get tracked(): number {
    return this.answered.size;
  }

  /** One round: ends the streams that did not answer the last ping, pings the rest. */
  round(): void {
    for (const [socket, ok] of this.answered) {
      if (!ok) {
        this.answered.delete(socket);
        this.terminated++;
        socket.terminate();
        continue;
      }
      this.answered.set(socket, false);
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
