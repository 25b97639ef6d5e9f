/**
 * Check-ins per second of the real endpoint (HMAC-authenticated, signed policy in the answer for
 * a device behind on versions), on PGlite and on PostgreSQL, beside a bare node:http hello-world
 * measured in the same run with the same load generator. Servers run in child processes; the
 * load runs here. Target: ≥ 0.25 of the bare server's rate.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../src/domain/clock.ts';
import { imeiCheckDigit } from '../src/domain/imei.ts';
import { deriveDeviceKeys, enrollProof, signRequest } from '../src/protocol/index.ts';
import { freePort, startServer, type ServerProcess } from '../test/e2e/server-process.ts';
import { machine, printTable, writeResult } from './lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
// Slack for requests that time out (their device is never returned to the pool).
const DEVICES = CONNECTIONS + 16;

interface Run {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  statusCodes?: Record<string, { count: number }>;
}

interface Setup {
  build(ctx: Record<string, unknown>): { headers: Record<string, string>; body?: string };
  done?(ctx: Record<string, unknown>): void;
}

async function load(url: string, path: string, method: 'GET' | 'POST', setup?: Setup): Promise<Omit<Run, 'name'>> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method,
        path,
        setupRequest: (req: Record<string, unknown>, ctx: Record<string, unknown>) => {
          if (!setup) return req;
          const { headers, body } = setup.build(ctx);
          return { ...req, headers: { ...(req.headers as object), ...headers }, ...(body !== undefined ? { body } : {}) };
        },
        onResponse: (_status: number, _body: string, ctx: Record<string, unknown>) => setup?.done?.(ctx),
      },
    ],
  } as never);
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statusCodes: (result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats,
  };
}

async function bare(): Promise<Omit<Run, 'name'>> {
  const port = await freePort();
  const code = `require('node:http').createServer((q,s)=>{s.setHeader('content-type','application/json');s.end('{"hello":"world"}')}).listen(${port},'127.0.0.1',()=>console.log('ready'))`;
  const proc: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => proc.stdout!.once('data', r));
  try {
    return await load(`http://127.0.0.1:${port}`, '/', 'GET');
  } finally {
    proc.kill();
  }
}

function imei(n: number): string {
  const body = `35${String(900000000000 + n).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

async function lienCheckins(pg: boolean): Promise<Omit<Run, 'name'>> {
  if (pg) process.env.LIEN_TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  else delete process.env.LIEN_TEST_DATABASE_URL;
  const clock = new ManualClock('2026-03-01T08:00:00Z');
  const server: ServerProcess = await startServer({ clockStart: clock.now().toISOString(), env: { LIEN_CHECKIN_FLUSH_MS: '250' } });
  try {
    const lender = await server.api('POST', '/v1/operator/lenders', {
      name: 'Bench Lender', supportPhone: '+254700000000', howToPay: 'M-Pesa', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle', supportUrl: '',
    });
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ imei: imei(i), serial: `BENCH-${i}`, secret: randomBytes(32) }));
    const csv = ['imei1,imei2,serial,model,factory_secret,sale_status', ...devices.map((d) => `${d.imei},,${d.serial},Bench,${d.secret.toString('hex')},unsold`)].join('\n');
    await server.api('POST', '/v1/operator/manifests', csv, server.operatorKey, 'text/csv');
    const enrolled: { id: string; credential: Buffer; counter: number }[] = [];
    for (const d of devices) {
      await server.api('POST', '/v1/sales', {
        imei: d.imei, borrowerRef: d.serial, borrowerPhone: '+254711000000',
        schedule: { principal: 12_000_00, annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-04-01' },
        consent: { at: '2026-03-01T08:00:00Z', channel: 'app', termsVersion: 'v1' },
      }, lender.body.apiKey);
      const { nonce } = (await (await fetch(`${server.url}/v1/device/nonce`)).json()) as { nonce: string };
      const keys = deriveDeviceKeys(d.secret);
      const r = await fetch(`${server.url}/v1/device/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ imeis: [d.imei], serial: d.serial, nonce, proof: enrollProof(keys.authKey, nonce, d.imei, d.serial), agentVersion: 'bench' }),
      });
      const body = (await r.json()) as { deviceId: string; credential: string };
      enrolled.push({ id: body.deviceId, credential: Buffer.from(body.credential, 'base64url'), counter: 0 });
    }
    // A device's requests must reach the server in counter order, so a device is never in two
    // requests at once: autocannon clears its per-connection context before every request, so
    // devices are lent from a pool and returned when their answer arrives.
    const free = [...enrolled];
    // The device reports policy version 0, so every answer carries the signed policy.
    return await load(server.url, '/v1/device/checkin', 'POST', {
      build: (ctx) => {
        const dev = free.pop();
        if (!dev) throw new Error('more requests in flight than devices');
        ctx.device = dev;
        const body = JSON.stringify({ agentVersion: 'bench', policyVersion: 0, tokenCounter: 0, events: [] });
        dev.counter++;
        const headers = signRequest({ deviceId: dev.id, authKey: dev.credential, method: 'POST', path: '/v1/device/checkin', body, timestamp: clock.now().getTime(), counter: dev.counter });
        return { headers: { ...headers, 'content-type': 'application/json' }, body };
      },
      done: (ctx) => free.push(ctx.device as (typeof enrolled)[number]),
    });
  } finally {
    await server.stop();
  }
}

const runs: Run[] = [];
runs.push({ name: 'bare node:http hello-world', ...(await bare()) });
runs.push({ name: 'Lien check-in (PGlite)', ...(await lienCheckins(false)) });
runs.push({ name: 'Lien check-in (PostgreSQL)', ...(await lienCheckins(true)) });
const baseline = runs[0]!.requestsPerSec;
const rows = runs.map((r) => ({ ...r, ratio: Number((r.requestsPerSec / baseline).toFixed(3)) }));
console.log(JSON.stringify(rows.map((r) => r.statusCodes)));
printTable(rows.map((r) => ({ run: r.name, 'req/s': Math.round(r.requestsPerSec), ratio: r.ratio, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors, non2xx: r.non2xx })));
const file = writeResult('checkin', {
  target: 'ratio >= 0.25 against the bare server',
  durationSec: DURATION_S,
  connections: CONNECTIONS,
  runs: rows,
  ratio: { pglite: rows[1]!.ratio, postgres: rows[2]!.ratio },
  pass: rows[1]!.ratio >= 0.25 && rows[2]!.ratio >= 0.25,
  machine: machine(),
});
console.log(`written ${file}`);
