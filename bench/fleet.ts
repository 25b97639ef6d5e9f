/**
 * A fleet of phones for the latency benchmarks: a lender on a server in a child process, N
 * registered and sold phones, each an enrolled DeviceAgent holding its nudge stream open, all
 * walked to a lock (notice shown, period over, sweep). bench/unlock.ts and bench/rails.ts time
 * what happens after that.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DeviceAgent } from '../src/agent/agent.ts';
import { HttpNetwork } from '../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../src/agent/memory.ts';
import { provisionDevice } from '../src/agent/provision.ts';
import { ManualClock } from '../src/domain/clock.ts';
import { imeiCheckDigit } from '../src/domain/imei.ts';
import pg from 'pg';
import type { ServerProcess } from '../test/e2e/server-process.ts';

export interface Phone {
  imei: string;
  serial: string;
  secret: Buffer;
  contractId?: string;
  lockReference?: string;
  agent?: DeviceAgent;
  /** Index of the server process the phone streams from. */
  home: number;
}

export const FLEET_START = '2026-01-01T06:00:00Z';

function imeiOf(n: number): string {
  const body = `35${String(500000000000 + n).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

/** Runs fn over items with at most n at once (setup only). */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
  }));
}

export async function until(what: string, ok: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits for the sweep's nudges to bring every agent to `mode`; agents whose nudged sync failed
 * (10,000 check-ins arriving at once can time out on a small machine) are synced by hand.
 */
export async function settle(phones: Phone[], mode: string): Promise<number> {
  const deadline = Date.now() + 90_000;
  const behind = () => phones.filter((p) => p.agent!.view().mode !== mode);
  while (Date.now() < deadline && behind().length) await new Promise((r) => setTimeout(r, 200));
  const stragglers = behind();
  if (stragglers.length) console.log(`${stragglers.length} agents not ${mode} after the nudges; syncing them`);
  await pool(stragglers, 16, async (p) => void (await p.agent!.sync()));
  await until(`every phone ${mode}`, () => behind().length === 0);
  return stragglers.length;
}

export interface Fleet {
  key: string;
  phones: Phone[];
  setupStragglers: { notice: number; locked: number };
  /** How long after the last phone showed its lock the servers saw their last check-in. */
  restMs: number;
  backgroundErrors: string[];
}

export interface FleetOptions {
  /** The `lien serve` processes, sharing one database; phones stream from one each (`homeOf`). */
  servers: ServerProcess[];
  devices: number;
  /** Which server phone i streams from; default the first. */
  homeOf?: (i: number) => number;
  /** Runs once the lender exists, before the phones are locked (payment channels, say). */
  beforeLock?: (key: string) => Promise<void>;
  /** Prefixes the progress lines. */
  label?: string;
}

/** Sets up `devices` locked phones across `servers`. */
export async function lockedFleet(o: FleetOptions): Promise<Fleet> {
  const { servers, devices } = o;
  const server = servers[0]!;
  const say = (line: string) => console.log(o.label ? `${o.label} ${line}` : line);
  const clock = new ManualClock(FLEET_START);
  const backgroundErrors: string[] = [];
  const setClock = async (iso: string) => {
    clock.set(iso);
    for (const s of servers) await s.api('POST', '/v1/operator/clock', { set: iso });
  };
  const lender = await server.api('POST', '/v1/operator/lenders', {
    name: 'Bench Credit', supportPhone: '+254700000000', supportUrl: 'https://bench.example', howToPay: 'M-Pesa', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle',
  });
  const key: string = lender.body.apiKey;
  await o.beforeLock?.(key);
  const phones: Phone[] = Array.from({ length: devices }, (_, i) => ({ imei: imeiOf(i), serial: `FLT-${i}`, secret: randomBytes(32), home: o.homeOf?.(i) ?? 0 }));
  const agentFetch = limitedFetch(AGENT_REQUESTS_AT_ONCE);
  let t = performance.now();
  for (let i = 0; i < phones.length; i += 2000) {
    const csv = ['imei1,imei2,serial,model,factory_secret,sale_status', ...phones.slice(i, i + 2000).map((d) => `${d.imei},,${d.serial},Bench,${d.secret.toString('hex')},unsold`)].join('\n');
    const r = await server.api('POST', '/v1/operator/manifests', csv, server.operatorKey, 'text/csv');
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  }
  // On PostgreSQL sales go in by CSV import (thousands a second) and their ids are read back.
  if (server.schema) await sellByImport(server, key, server.schema, phones);
  else {
    await pool(phones, 16, async (p, i) => {
      const r = await servers[i % servers.length]!.api('POST', '/v1/sales', {
        imei: p.imei, borrowerRef: p.serial, borrowerPhone: '+254711000222',
        schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' },
        consent: { at: FLEET_START, channel: 'in_store_signature', termsVersion: 'v1' },
      }, key);
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      p.contractId = r.body.contractId;
      p.lockReference = r.body.lockReference;
    });
  }
  say(`sold ${devices} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await pool(phones, 16, async (p) => {
    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: p.secret, imeis: [p.imei], serial: p.serial });
    p.agent = new DeviceAgent({
      persistent, userdata: new MemoryStore(), clock, network: new HttpNetwork({ baseUrl: servers[p.home]!.url, fetch: agentFetch }), screen: new MemoryScreen(),
      onBackgroundError: (e) => void backgroundErrors.push(String(e)),
    });
    await p.agent.boot();
    const r = await p.agent.sync();
    if (r.status !== 'synced') throw new Error(`enroll: ${JSON.stringify(r)}`);
  });
  await until('every stream open', () => phones.every((p) => p.agent!.streamOpen()));
  say(`enrolled ${devices} agents with open streams in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  // Overdue: the notice is issued; the sweep's nudges make every agent sync and show it.
  await setClock('2026-01-17T07:00:00Z');
  await server.api('POST', '/v1/operator/sweep');
  const setupStragglers = { notice: await settle(phones, 'notice'), locked: 0 };
  // The next check-in reports the notice as displayed.
  await pool(phones, 16, async (p) => void (await p.agent!.sync()));
  await new Promise((r) => setTimeout(r, 1000));
  await setClock('2026-01-22T07:00:00Z');
  await server.api('POST', '/v1/operator/sweep');
  setupStragglers.locked = await settle(phones, 'locked');
  say(`locked: ${JSON.stringify(modes(phones))}`);
  const restMs = await atRest(servers);
  say(`at rest ${(restMs / 1000).toFixed(1)} s later`);
  return { key, phones, setupStragglers, restMs, backgroundErrors };
}

/**
 * Ms from `from` until the phone shows the normal screen, or null after 30 s. Checked on every
 * turn of the event loop, so the wait adds no polling interval.
 */
export async function untilNormal(p: Phone, from: number): Promise<number | null> {
  while (p.agent!.view().mode !== 'normal') {
    if (performance.now() - from > 30_000) return null;
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - from;
}

/**
 * Warm-up before timing: the first requests after a start pay for compiling their code paths
 * (one cold confirmation took 554 ms, the next ones 24-36 ms), a restart's cost and not the steady
 * latency measured. Runs `use` on up to `count` spare phones one after the other; each one's ms.
 */
export async function warmUp(spare: readonly Phone[], count: number, use: (p: Phone, i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < Math.min(count, spare.length); i++) {
    const t0 = performance.now();
    await use(spare[i]!, i);
    ms.push(Number((performance.now() - t0).toFixed(1)));
  }
  return ms;
}

/** A server's /metrics, as name{labels} → value. */
async function scrape(server: ServerProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.operatorKey}` } })).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([-\d.e+]+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/**
 * What the server process spent between two scrapes on garbage collection (seconds, by kind), and
 * its worst event-loop delay in that time: where a latency tail comes from when the payment path
 * itself is fast.
 */
export async function serverPauses(server: ServerProcess): Promise<() => Promise<Record<string, number>>> {
  const before = await scrape(server);
  return async () => {
    const after = await scrape(server);
    const out: Record<string, number> = {};
    for (const [k, v] of after) {
      const kind = /^nodejs_gc_duration_seconds_sum\{kind="(\w+)"\}$/.exec(k)?.[1];
      if (kind) out[`gc_${kind}_sec`] = Number((v - (before.get(k) ?? 0)).toFixed(3));
    }
    // prom-client's event-loop delay histogram restarts at each scrape: this is the window's own.
    out.eventLoopDelayMaxMs = Number(((after.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000).toFixed(1));
    out.eventLoopDelayP99Ms = Number(((after.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000).toFixed(1));
    return out;
  };
}

/**
 * Waits until the servers have seen no check-in for two seconds. A phone shows its lock and then
 * reports the display in a second check-in, so when the last one shows it, thousands of those
 * reports are still queued; measuring then timed the first payments behind them (13 s).
 */
async function atRest(servers: ServerProcess[]): Promise<number> {
  const checkins = async () => {
    let n = 0;
    for (const s of servers) for (const [k, v] of await scrape(s)) if (k.startsWith('lien_device_checkins_total')) n += v;
    return n;
  };
  const start = Date.now();
  let seen = await checkins();
  let quietSince = Date.now();
  while (Date.now() - quietSince < 2000) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await checkins();
    if (now !== seen) [seen, quietSince] = [now, Date.now()];
  }
  return quietSince - start;
}

/**
 * Real phones each have their own connections; here 10,000 agents share one process, whose
 * 20,000 open files also hold their 10,000 streams. A sweep nudges them all at once, and fetch
 * keeps every socket it opened for the server's keep-alive (72 s): unbounded, the next request
 * of the benchmark itself failed with EMFILE. So the agents' requests go this many at a time
 * (never reached while measuring, where a few dozen are in flight).
 */
const AGENT_REQUESTS_AT_ONCE = 2000;

function limitedFetch(max: number): typeof fetch {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (input, init) => {
    while (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fetch(input, init);
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** How many phones show each screen mode. */
export function modes(phones: readonly Phone[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const p of phones) {
    const mode = p.agent!.view().mode;
    m[mode] = (m[mode] ?? 0) + 1;
  }
  return m;
}

async function sellByImport(server: ServerProcess, key: string, schema: string, phones: Phone[]): Promise<void> {
  const lines = ['imei,borrower_ref,borrower_phone,principal,annual_rate_pct,term_count,frequency,method,first_due_date,consent_at,consent_channel,terms_version'];
  for (const p of phones) lines.push(`${p.imei},${p.serial},+254711000222,30000.00,0,3,monthly,flat,2026-01-15,${FLEET_START},in_store_signature,v1`);
  const imp = await server.api('POST', '/v1/imports/sales', lines.join('\n'), key, 'text/csv');
  if (imp.status !== 202) throw new Error(JSON.stringify(imp.body));
  const deadline = Date.now() + 600_000;
  for (;;) {
    const r = await server.api('GET', `/v1/imports/${imp.body.id}`, undefined, key);
    if (r.body.state === 'succeeded') break;
    if (r.body.state !== 'running' || Date.now() > deadline) throw new Error(`sales import: ${JSON.stringify(r.body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const db = new pg.Client({ connectionString: process.env.LIEN_TEST_DATABASE_URL });
  await db.connect();
  try {
    const rows = (await db.query(`SELECT d.imei1, c.id, c.lock_reference FROM "${schema}".contracts c JOIN "${schema}".devices d ON d.id = c.device_id`)).rows as { imei1: string; id: string; lock_reference: string }[];
    const byImei = new Map(rows.map((r) => [r.imei1, r]));
    for (const p of phones) {
      p.contractId = byImei.get(p.imei)?.id;
      p.lockReference = byImei.get(p.imei)?.lock_reference;
    }
  } finally {
    await db.end();
  }
}

/** Drops a benchmark's PostgreSQL schema; a failure is printed, never thrown over the run's own error. */
export async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.LIEN_TEST_DATABASE_URL });
  admin.on('error', (e) => console.error(`cleanup: ${e.message}`));
  await admin.connect().then(() => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch((e: Error) => console.error(`cleanup: ${e.message}`));
  await admin.end().catch(() => undefined);
}
