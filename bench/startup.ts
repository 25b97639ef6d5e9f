/**
 * Cold start to /readyz and idle memory on PGlite: the compiled build (`npm start`, dist/) against
 * the same sources run through tsx, as bin/lien.js ran them before the build change (the
 * baseline, measured in the same run). Two starts per variant and round: the first start on an
 * empty data directory (initdb, migrations) and a restart on that migrated, empty database. After
 * /readyz answers the process is left idle (its background jobs on, as in production) and its
 * resident memory read from /proc. Variants alternate within each round so a busy machine slows
 * both alike; each variant is started once beforehand to warm tsx's cache and the OS file cache.
 *
 *   npm run bench:startup -- [--rounds 5] [--idle-sec 5]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/e2e/server-process.ts';
import { percentile, printTable, writeResult } from './lib.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, 'idle-sec': { type: 'string', default: '5' } } });
const ROUNDS = Number(values.rounds);
const IDLE_MS = Number(values['idle-sec']) * 1000;

const VARIANTS = {
  'compiled (dist/)': [join(ROOT, 'bin/lien.js')],
  'sources through tsx (before)': [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'src/cli/bin.ts')],
} as const;
type Variant = keyof typeof VARIANTS;
type Scenario = 'first start (empty dir)' | 'restart (migrated, empty)';

function rssMiB(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Starts the server on `dataDir`, times it to a 200 from /readyz, idles, reads its RSS, stops it. */
async function start(variant: Variant, dataDir: string): Promise<{ readyMs: number; rssMiB: number }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LIEN_DATA_DIR: dataDir, LIEN_LOG_FORMAT: 'json', LOG_LEVEL: 'warn', LIEN_OPERATOR_KEY: 'lien_op_bench_0123456789abcdef' };
  for (const k of ['DATABASE_URL', 'LIEN_MASTER_KEY', 'LIEN_TEST_CLOCK', 'NODE_OPTIONS']) delete env[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...VARIANTS[variant], 'serve', '--no-demo'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', r));
  let readyMs = NaN;
  while (child.exitCode === null) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) {
      readyMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 120_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (Number.isNaN(readyMs)) {
    child.kill('SIGKILL');
    throw new Error(`${variant} did not become ready:\n${stderr}`);
  }
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = rssMiB(child.pid!);
  child.kill('SIGTERM');
  await exited;
  return { readyMs: Math.round(readyMs), rssMiB: rss };
}

console.log('building dist/ (npm run build)…');
execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

const samples: { variant: Variant; scenario: Scenario; readyMs: number; rssMiB: number }[] = [];
async function pair(variant: Variant, keep: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lien-bench-startup-'));
  try {
    const first = await start(variant, dir);
    const again = await start(variant, dir);
    if (keep) {
      samples.push({ variant, scenario: 'first start (empty dir)', ...first });
      samples.push({ variant, scenario: 'restart (migrated, empty)', ...again });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const variants = Object.keys(VARIANTS) as Variant[];
for (const v of variants) await pair(v, false); // warm-up, discarded
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) await pair(v, true);
  console.log(`round ${round + 1}/${ROUNDS} done`);
}

const scenarios: Scenario[] = ['first start (empty dir)', 'restart (migrated, empty)'];
const summary = scenarios.flatMap((scenario) =>
  variants.map((variant) => {
    const mine = samples.filter((s) => s.variant === variant && s.scenario === scenario);
    const ready = mine.map((s) => s.readyMs).sort((a, b) => a - b);
    const rss = mine.map((s) => s.rssMiB).sort((a, b) => a - b);
    return { scenario, variant, samples: mine.length, p50Ms: percentile(ready, 50), p99Ms: percentile(ready, 99), minMs: ready[0]!, rssMiBP50: percentile(rss, 50) };
  }),
);
const find = (scenario: Scenario, variant: Variant) => summary.find((s) => s.scenario === scenario && s.variant === variant)!;
const ratio = (f: (s: (typeof summary)[number]) => number, scenario: Scenario) =>
  Math.round((f(find(scenario, 'compiled (dist/)')) / f(find(scenario, 'sources through tsx (before)'))) * 1000) / 1000;
printTable(summary);
const result = {
  description: 'Start to GET /readyz 200 and resident memory after idling, on embedded PGlite, no demo data; compiled dist/ vs the same sources through tsx (before the build change)',
  rounds: ROUNDS,
  idleSec: IDLE_MS / 1000,
  summary,
  ratio: {
    readyFirstStart: ratio((s) => s.p50Ms, 'first start (empty dir)'),
    readyRestart: ratio((s) => s.p50Ms, 'restart (migrated, empty)'),
    idleRss: ratio((s) => s.rssMiBP50, 'restart (migrated, empty)'),
  },
  p50Ms: find('restart (migrated, empty)', 'compiled (dist/)').p50Ms,
  p99Ms: find('restart (migrated, empty)', 'compiled (dist/)').p99Ms,
  samples,
};
console.log(`ratio compiled/tsx: first start ${result.ratio.readyFirstStart}, restart ${result.ratio.readyRestart}, idle RSS ${result.ratio.idleRss}`);
console.log(`wrote ${writeResult('startup', result)}`);
