/**
 * The nudge stream after a server restart: the agent reconnects by itself, after a jittered wait
 * that widens while the server stays away, and its reconnecting sync fetches what a nudge sent
 * during the gap would have announced (a payment's unlock is not left to the next routine check-in).
 * Likewise a nudge whose check-in the network or a busy server failed is tried again soon.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceAgent, type Timers } from '../../src/agent/agent.ts';
import { MemoryNetwork, MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import { OfflineError } from '../../src/agent/ports.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { RECONNECT_FIRST_WINDOW_MS, RECONNECT_MAX_WINDOW_MS, reconnectDelayMs } from '../../src/agent/reconnect.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { FakeServer } from './fake-server.ts';

/** Timers the test fires by hand: what was scheduled, with which delay. */
class HandTimers implements Timers {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  private next = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.pending.push({ fn, ms, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }
  fire(): number {
    const t = this.pending.shift();
    if (!t) throw new Error('nothing scheduled');
    t.fn();
    return t.ms;
  }
}

/** Lets the promise chains a fired timer started run to their end (no wall-clock wait). */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

async function world() {
  const clock = new ManualClock('2026-03-01T08:00:00Z');
  const server = new FakeServer(clock);
  const phone = server.manufacture({ policy: { stage: 'locked' } });
  const persistent = new MemoryStore();
  await provisionDevice(persistent, phone);
  /** How the next check-ins fail, while set: a timeout on the way, or the server's answer. */
  const checkins: { fail: 'timeout' | 503 | 429 | 400 | null } = { fail: null };
  const network = new MemoryNetwork({
    nonce: () => server.nonce(),
    enroll: (req) => server.enroll(req),
    checkin: (id, headers, body) => {
      if (checkins.fail === 'timeout') throw new OfflineError();
      if (checkins.fail !== null) return { ok: false, status: checkins.fail, code: checkins.fail === 400 ? 'invalid_input' : 'unavailable', message: 'no' };
      return server.checkin(id, headers, body);
    },
  });
  const timers = new HandTimers();
  const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network, screen: new MemoryScreen(), timers, random: () => 0.5 });
  await agent.boot();
  await agent.sync();
  return { server, network, checkins, timers, agent, deviceId: phone.deviceId };
}

describe('stream reconnect', () => {
  it('full jitter: every delay lies in a window that doubles from the first up to the cap', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const window = Math.min(RECONNECT_FIRST_WINDOW_MS * 2 ** attempt, RECONNECT_MAX_WINDOW_MS);
        const d = reconnectDelayMs(attempt, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(window);
        expect(d).toBe(Math.floor(r * window));
      }),
    );
  });

  it('a stream dropped by the server is reopened after a jittered wait, widening while the server is away, and the missed change is fetched', async () => {
    const w = await world();
    expect(w.agent.view().mode).toBe('locked');
    expect(w.agent.streamOpen()).toBe(true);

    w.network.setOnline(false); // the server went away: its streams drop
    expect(w.agent.streamOpen()).toBe(false);
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS / 2]);

    expect(w.timers.fire()).toBe(RECONNECT_FIRST_WINDOW_MS / 2);
    await drain();
    expect(w.agent.streamOpen()).toBe(false); // still away: try again, in a window twice as wide
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS]);

    // A payment unlocked the phone while it was away; the nudge for it went nowhere.
    w.server.setPolicy(w.deviceId, { stage: 'current', lockAt: null, amountDue: 0 });
    w.network.setOnline(true);
    w.timers.fire();
    await drain();
    expect(w.agent.streamOpen()).toBe(true);
    expect(w.agent.view().mode).toBe('normal');
    expect(w.timers.pending).toEqual([]);

    // Back to the first window once a reconnect worked.
    w.network.setOnline(false);
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS / 2]);
  });

  it('stop() cancels a pending reconnect', async () => {
    const w = await world();
    w.network.setOnline(false);
    expect(w.timers.pending).toHaveLength(1);
    w.agent.stop();
    expect(w.timers.pending).toEqual([]);
  });

  it('a nudge whose check-in times out or meets a busy server is tried again after widening jittered waits, until it gets through', async () => {
    const w = await world();
    w.server.setPolicy(w.deviceId, { stage: 'current', lockAt: null, amountDue: 0 });
    w.checkins.fail = 'timeout';
    w.network.pushSync(w.deviceId);
    await drain();
    expect(w.agent.view().mode).toBe('locked');
    expect(w.agent.streamOpen()).toBe(true); // the stream is fine: no reconnect would fetch it
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS / 2]);

    w.checkins.fail = 503;
    w.timers.fire();
    await drain();
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS]);
    w.checkins.fail = 429;
    w.timers.fire();
    await drain();
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS * 2]);

    w.checkins.fail = null;
    w.timers.fire();
    await drain();
    expect(w.agent.view().mode).toBe('normal');
    expect(w.timers.pending).toEqual([]);
  });

  it('a new nudge starts the waits over; a refusal (4xx) is not retried; stop() and a dropped stream end the retries', async () => {
    const w = await world();
    w.checkins.fail = 503;
    w.network.pushSync(w.deviceId);
    await drain();
    w.timers.fire();
    await drain();
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS]);
    w.network.pushSync(w.deviceId);
    await drain();
    expect(w.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS / 2]);

    // Any sync that gets through (a routine check-in, say) fetched the news: the retry is dropped.
    w.checkins.fail = null;
    await w.agent.sync();
    expect(w.timers.pending).toEqual([]);

    w.checkins.fail = 400;
    w.network.pushSync(w.deviceId);
    await drain();
    expect(w.timers.pending).toEqual([]);

    w.checkins.fail = 'timeout';
    w.network.pushSync(w.deviceId);
    await drain();
    expect(w.timers.pending).toHaveLength(1);
    w.agent.stop();
    expect(w.timers.pending).toEqual([]);

    // The stream dropped: the reconnect is the one retry scheduled, and its sync fetches the news.
    const v = await world();
    v.checkins.fail = 'timeout';
    v.network.pushSync(v.deviceId);
    await drain();
    v.network.setOnline(false);
    v.timers.fire(); // the nudge retry: no stream now, so nothing; the reconnect remains
    await drain();
    expect(v.timers.pending.map((t) => t.ms)).toEqual([RECONNECT_FIRST_WINDOW_MS / 2]);
    v.server.setPolicy(v.deviceId, { stage: 'current', lockAt: null, amountDue: 0 });
    v.checkins.fail = null;
    v.network.setOnline(true);
    v.timers.fire();
    await drain();
    expect(v.agent.view().mode).toBe('normal');
    expect(v.timers.pending).toEqual([]);
  });
});
