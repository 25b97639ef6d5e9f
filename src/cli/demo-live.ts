/**
 * The demo, live: a small simulated fleet syncing with the server on the real clock, and the
 * one demo phone that locks a minute after seeding, then pays (a scheduled demo payment) and
 * unlocks — what a newcomer watches in the console, the portal and /emulator.
 */
import { readFileSync } from 'node:fs';
import { HttpNetwork } from '../agent/http-network.ts';
import { Fleet, fleetFromManifest, summaryLine } from '../agent/sim/fleet.ts';
import { systemClock } from '../domain/clock.ts';
import type { DemoSeed } from './demo.ts';
import type { PhoneHandOff } from '../agent/sim/hand-off.ts';

export interface DemoLiveOptions {
  base: string;
  /** Runs a sweep now (in the server's own process). */
  sweep(): Promise<unknown>;
  lenderKey: string;
  seed: Pick<DemoSeed, 'manifestFile' | 'fleetSerials' | 'live'>;
  log: (line: string) => void;
  /** Seconds between the lock and the demo payment (default DEMO_LOCKED_SEC). */
  payAfterSec?: number;
  /** The emulator takes a fleet phone over from here when someone opens it (one copy per phone). */
  handOff?: PhoneHandOff;
}

/** How long the live demo phone stays locked before the demo payment: long enough to watch. */
export const DEMO_LOCKED_SEC = 120;

const SYNC_EVERY_MS = 60_000;
const TICK_EVERY_MS = 2_000;

async function api(base: string, key: string, method: string, path: string, body?: unknown) {
  const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function startDemoLive(o: DemoLiveOptions): Promise<{ stop(): void }> {
  const devices = fleetFromManifest(readFileSync(o.seed.manifestFile, 'utf8')).filter((d) => o.seed.fleetSerials.includes(d.serial));
  const fleet = new Fleet({ clock: systemClock, network: () => new HttpNetwork({ baseUrl: o.base }), concurrency: 4 });
  const withdraw = o.handOff?.offer((serial) => fleet.release(serial));
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const report = () => o.log(`demo fleet: ${summaryLine(fleet.counts())}`);
  void fleet.start(devices).then(report, (e) => o.log(`demo fleet failed to start: ${(e as Error).message}`));
  timers.push(setInterval(() => void fleet.tickAll().catch(() => undefined), TICK_EVERY_MS));
  timers.push(setInterval(() => void fleet.syncAll().then(report, () => undefined), SYNC_EVERY_MS));

  const live = o.seed.live;
  // A later restart of a demo directory: the show is over, the fleet still syncs.
  const showPending = live?.lockAt ? Date.parse(live.lockAt) > Date.now() - 120_000 : false;
  if (live?.lockAt && showPending) {
    const lockAt = Date.parse(live.lockAt);
    const payAt = lockAt + (o.payAfterSec ?? DEMO_LOCKED_SEC) * 1000;
    const after = (at: number, what: string, f: () => Promise<void>) =>
      timers.push(
        setTimeout(() => {
          if (!stopped) f().catch((e) => o.log(`demo: ${what} failed: ${(e as Error).message}`));
        }, Math.max(0, at - Date.now())),
      );
    o.log(`demo: phone ${live.serial} (lock ref ${live.reference}) locks at ${new Date(lockAt).toISOString()}; watch it at ${o.base}/emulator/${live.serial}`);
    // The phone locks itself at lockAt; the sweep makes the server agree without waiting for its interval.
    after(lockAt + 2_000, 'sweep', async () => {
      await o.sweep();
      const c = await api(o.base, o.lenderKey, 'GET', `/v1/contracts/${live.contractId}`);
      o.log(`demo: ${live.serial} is ${c.contract.stage}; a demo payment follows in ${Math.max(0, Math.round((payAt - Date.now()) / 1000))} s`);
    });
    after(payAt, 'payment', async () => {
      const c = await api(o.base, o.lenderKey, 'GET', `/v1/contracts/${live.contractId}`);
      const amount = Number(c.contract.amount_overdue);
      if (amount <= 0) return;
      await api(o.base, o.lenderKey, 'POST', '/v1/payments', { contractId: live.contractId, externalRef: `DEMO-LIVE-${Date.now()}`, channel: 'mpesa', amount, currency: c.contract.currency });
      const after = await api(o.base, o.lenderKey, 'GET', `/v1/contracts/${live.contractId}`);
      o.log(`demo: payment posted for ${live.serial}; it is ${after.contract.stage} and unlocks within seconds`);
    });
  } else if (live && !live.lockAt) {
    o.log(`demo: phone ${live.serial} has no lock scheduled; it is not part of the live show`);
  }
  return {
    stop() {
      stopped = true;
      withdraw?.();
      for (const t of timers) clearTimeout(t);
      fleet.stop();
    },
  };
}
