/**
 * The nudge stream after a server restart: the agent reconnects by itself, after a jittered wait
 * that widens while the server stays away, and its reconnecting sync fetches what a nudge sent
 * during the gap would have announced (a payment's unlock is not left to the next routine check-in).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceAgent, type Timers } from '../../src/agent/agent.ts';
import { MemoryNetwork, MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
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
  const network = new MemoryNetwork(server);
  const timers = new HandTimers();
  const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network, screen: new MemoryScreen(), timers, random: () => 0.5 });
  await agent.boot();
  await agent.sync();
  return { server, network, timers, agent, deviceId: phone.deviceId };
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
});
