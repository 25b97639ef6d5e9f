/**
 * A phone gone without a goodbye must not hold its stream forever: with real WebSockets, a
 * client that answers pings keeps its stream and one whose pongs never come (a dead phone, a NAT
 * that forgot the connection) is terminated once it has missed MISSED_ROUNDS in a row, and untracked.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { MISSED_ROUNDS, SLICES_PER_ROUND, StreamKeepAlive, type PingableSocket } from '../../src/server/stream-keepalive.ts';

describe('stream keep-alive', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((c) => c()));

  it('terminates the stream that left a ping unanswered and keeps the one that answered', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    closers.push(() => wss.close());
    await once(wss, 'listening');
    const keepAlive = new StreamKeepAlive();
    const byPath = new Map<string, WebSocket>();
    const connected = new Promise<void>((resolve) => {
      wss.on('connection', (socket, req) => {
        byPath.set(req.url!, socket);
        const untrack = keepAlive.track(socket);
        socket.on('close', untrack);
        if (byPath.size === 2) resolve();
      });
    });
    const base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const alive = new WebSocket(`${base}/alive`);
    const silent = new WebSocket(`${base}/silent`, { autoPong: false });
    closers.push(() => alive.terminate(), () => silent.terminate());
    await connected;
    expect(keepAlive.tracked).toBe(2);

    // MISSED_ROUNDS rounds in which both are pinged and only one answers; the silent one survives them.
    for (let i = 0; i < MISSED_ROUNDS; i++) {
      const pong = once(byPath.get('/alive')!, 'pong');
      const silentPinged = once(silent, 'ping');
      keepAlive.round();
      await Promise.all([pong, silentPinged]);
      expect(keepAlive.tracked).toBe(2);
    }

    const silentClosed = once(silent, 'close');
    keepAlive.round();
    await silentClosed;
    expect(keepAlive.terminated).toBe(1);
    expect(keepAlive.tracked).toBe(1);
    expect(alive.readyState).toBe(WebSocket.OPEN);
    expect(keepAlive.pings).toBe(2 * MISSED_ROUNDS + 1);
  });

  it('a stream closed by its phone is no longer pinged', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    closers.push(() => wss.close());
    await once(wss, 'listening');
    const keepAlive = new StreamKeepAlive();
    const closed = new Promise<void>((resolve) => {
      wss.on('connection', (socket) => {
        const untrack = keepAlive.track(socket);
        socket.on('close', () => {
          untrack();
          resolve();
        });
      });
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    await once(client, 'open');
    client.close();
    await closed;
    keepAlive.round();
    expect(keepAlive.tracked).toBe(0);
    expect(keepAlive.pings).toBe(0);
  });

  it('spreads a round over its ticks: each pings its share, the ones pinged longest ago, every stream once a round', () => {
    const keepAlive = new StreamKeepAlive();
    const pings = new Map<PingableSocket, number>();
    const sockets = Array.from({ length: 1000 }, () => {
      const socket: PingableSocket = { ping: () => void pings.set(socket, (pings.get(socket) ?? 0) + 1), terminate: () => undefined, on: () => socket, off: () => socket };
      keepAlive.track(socket);
      return socket;
    });
    keepAlive.slice();
    expect(pings.size).toBe(1000 / SLICES_PER_ROUND);
    for (let i = 1; i < SLICES_PER_ROUND; i++) keepAlive.slice();
    expect(sockets.map((s) => pings.get(s))).toEqual(sockets.map(() => 1));
    keepAlive.slice();
    expect([...pings.values()].filter((n) => n === 2)).toHaveLength(1000 / SLICES_PER_ROUND);
  });
});
