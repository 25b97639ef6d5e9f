import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, businessDateIn } from '../domain/dates.ts';
import { imeiCheckDigit } from '../domain/imei.ts';
import { ManualClock } from '../domain/clock.ts';
import { buildLien } from '../server/app.ts';
import { loadConfig, type Config } from '../server/config.ts';
import { createApiKey } from '../services/apikeys.ts';
import { createUser } from '../services/users.ts';
import type { Actor, Services } from '../services/context.ts';
import { UsageError, type Command } from './args.ts';
import { DemoPhone } from './demo-phone.ts';

const TZ = 'Africa/Nairobi';

interface Scenario {
  name: string;
  /** First due date relative to the last day of the demo history (days). */
  dueInDays: number;
  termCount?: number;
  dispute?: boolean;
  pay?: 'arrears' | 'all';
  /**
   * The phone stays silent through the history and shows its notice so late that the notice
   * period runs out a minute after seeding: it locks live, then a scheduled payment unlocks it.
   */
  live?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'current', dueInDays: 20 },
  { name: 'reminder', dueInDays: 2 },
  { name: 'notice', dueInDays: -2 },
  { name: 'restricted', dueInDays: -4 },
  { name: 'locked', dueInDays: -10 },
  { name: 'locked (second phone)', dueInDays: -12 },
  { name: 'held: open dispute', dueInDays: -10, dispute: true },
  { name: 'paid the arrears', dueInDays: -10, pay: 'arrears' },
  { name: 'released (paid off)', dueInDays: -40, termCount: 1, pay: 'all' },
  { name: 'locks live, then pays', dueInDays: -10, live: true },
];

/** Days of history the demo replays on a manual clock, and the step between sweeps. */
const HISTORY_DAYS = 14;
const STEP_MS = 8 * 3600_000;
/** How long after the end of the history the live phone locks (LIEN_DEMO_LOCK_DELAY_SEC, default 60). */
export function liveLockDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LIEN_DEMO_LOCK_DELAY_SEC;
  const sec = raw === undefined || raw === '' ? 60 : Number(raw);
  if (!Number.isInteger(sec) || sec < 5 || sec > 3600) throw new Error(`LIEN_DEMO_LOCK_DELAY_SEC must be whole seconds from 5 to 3600, got "${raw}"`);
  return sec * 1000;
}

export const DEMO_USERS = [
  { role: 'admin', email: 'admin@demo-finance.example', name: 'Demo Admin', password: 'demo-admin-pass' },
  { role: 'support', email: 'support@demo-finance.example', name: 'Demo Support', password: 'demo-support-pass' },
  { role: 'agent', email: 'dealer@demo-finance.example', name: 'Demo Dealer', password: 'demo-dealer-pass' },
] as const;

function demoImei(): string {
  const body = `35${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

async function call(base: string, key: string, method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${parsed?.message ?? text}`);
  return parsed;
}

export interface DemoSeed {
  lenderId: string;
  lenderKey: string;
  rows: { scenario: string; imei: string; serial: string; stage: string; reference: string; contractId: string }[];
  manifestFile: string;
  /** Phones for the live fleet (every financed and retail demo phone but the live one). */
  fleetSerials: string[];
  live: { contractId: string; serial: string; reference: string; lockAt: string | null } | null;
}

/**
 * Fills a server with a demo lender and one contract in each stage, through its own API.
 *
 * On a server with a manual clock (`/v1/operator/clock`) it replays two weeks of history: the
 * phones check in, show their notices, the sweep runs, so the locks are real ones that respected
 * every notice period. `end` is where the history stops (the real "now" of the server that will
 * serve the data). On a live clock nothing can be replayed: overdue contracts stop at `notice`.
 */
export async function seedDemo(base: string, operatorKey: string, dataDir: string, log: (s: string) => void = console.log, opts: { end?: Date } = {}): Promise<DemoSeed> {
  const clockRes = await fetch(`${base}/v1/operator/clock`, { headers: { authorization: `Bearer ${operatorKey}` } });
  const manual = clockRes.ok;
  const start = manual ? new Date(((await clockRes.json()) as { now: string }).now) : new Date();
  const end = manual ? (opts.end ?? new Date(start.getTime() + HISTORY_DAYS * 86_400_000)) : start;
  const setClock = async (at: Date) => {
    if (manual) await call(base, operatorKey, 'POST', '/v1/operator/clock', { set: at.toISOString() });
  };
  const today = businessDateIn(TZ, end);
  const lender = await call(base, operatorKey, 'POST', '/v1/operator/lenders', {
    name: 'Demo Finance',
    supportPhone: '+254 700 000 111',
    supportUrl: 'https://demo-finance.example',
    supportHours: 'Mon–Sat 8:00–18:00',
    howToPay: 'M-Pesa Paybill 123456, account number = your lock reference',
    currency: 'KES',
    timeZone: TZ,
    profile: 'retail-short-cycle',
    paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 60 * 24 * 30 }],
  });
  const devices = [...SCENARIOS.map(() => 'unsold'), 'retail', 'unsold', 'unsold', 'unsold'].map((status, i) => ({
    imei: demoImei(),
    serial: `DEMO-${String(i + 1).padStart(3, '0')}-${randomBytes(2).toString('hex')}`,
    secret: randomBytes(32),
    status,
  }));
  const manifest = ['imei1,imei2,serial,model,factory_secret,sale_status', ...devices.map((d) => `${d.imei},,${d.serial},Demo Phone X1,${d.secret.toString('hex')},${d.status}`)].join('\n');
  await call(base, operatorKey, 'POST', '/v1/operator/manifests', manifest, 'text/csv');
  mkdirSync(dataDir, { recursive: true });
  const manifestFile = join(dataDir, 'demo-manifest.csv');
  writeFileSync(manifestFile, manifest + '\n', { mode: 0o600 });

  const rows: DemoSeed['rows'] = [];
  const phones: { phone: DemoPhone; scenario: Scenario; shownNotices: Set<number> }[] = [];
  for (const [i, s] of SCENARIOS.entries()) {
    const d = devices[i]!;
    const sale = await call(base, lender.apiKey, 'POST', '/v1/sales', {
      imei: d.imei,
      borrowerRef: `DEMO-BORROWER-${i + 1}`,
      borrowerPhone: `+2547110000${String(i).padStart(2, '0')}`,
      borrowerLanguage: ['en', 'sw', 'hi', 'es', 'id'][i % 5],
      schedule: { principal: 24_000_00, annualRatePct: 24, termCount: s.termCount ?? 6, frequency: 'monthly', method: 'declining', firstDueDate: addDays(today, s.dueInDays) },
      consent: { at: start.toISOString(), channel: 'in_store_signature', termsVersion: 'demo-v1' },
    });
    const phone = new DemoPhone(base, d);
    await phone.enroll();
    phones.push({ phone, scenario: s, shownNotices: new Set() });
    rows.push({ scenario: s.name, imei: d.imei, serial: d.serial, stage: '', reference: sale.lockReference, contractId: sale.contractId });
  }

  // A phone reports a notice as shown at the time it first receives it, as the agent does.
  const checkin = async (p: (typeof phones)[number], at: Date) => {
    const res = await p.phone.checkin([], at);
    const index = res.policy?.policy.noticeIndex;
    if (typeof index === 'number' && !p.shownNotices.has(index)) {
      p.shownNotices.add(index);
      await p.phone.checkin([{ kind: 'notice_shown', at: at.toISOString(), detail: { index } }], at);
    }
  };
  if (manual) {
    // The retail profile's notice runs 2 cure days (longer than its 24 h minimum).
    const liveShowAt = end.getTime() + liveLockDelayMs() - 48 * 3600_000;
    const steps = new Set<number>([liveShowAt]);
    for (let t = start.getTime() + STEP_MS; t < end.getTime(); t += STEP_MS) steps.add(t);
    for (const t of [...steps].sort((a, b) => a - b)) {
      const at = new Date(t);
      await setClock(at);
      await call(base, operatorKey, 'POST', '/v1/operator/sweep');
      for (const p of phones) if (!p.scenario.live || t >= liveShowAt) await checkin(p, at);
    }
    await setClock(end);
  }
  for (const [i, s] of SCENARIOS.entries()) {
    const sale = rows[i]!;
    if (s.dispute) await call(base, lender.apiKey, 'POST', `/v1/contracts/${sale.contractId}/disputes`, { reason: 'Borrower says the phone was returned for repair' });
    if (s.pay) {
      const c = await call(base, lender.apiKey, 'GET', `/v1/contracts/${sale.contractId}`);
      const amount = s.pay === 'all' ? c.contract.outstanding : c.contract.amount_overdue;
      if (amount > 0) await call(base, lender.apiKey, 'POST', '/v1/payments', { contractId: sale.contractId, externalRef: `DEMO-MPESA-${i}-${randomBytes(3).toString('hex')}`, channel: 'mpesa', amount, currency: 'KES' });
    }
  }
  await call(base, operatorKey, 'POST', '/v1/operator/sweep');
  for (const p of phones) await checkin(p, end);
  let live: DemoSeed['live'] = null;
  for (const [i, row] of rows.entries()) {
    const c = await call(base, lender.apiKey, 'GET', `/v1/contracts/${row.contractId}`);
    row.stage = c.contract.stage;
    if (SCENARIOS[i]!.live) live = { contractId: row.contractId, serial: row.serial, reference: row.reference, lockAt: c.contract.lock_at ?? null };
  }
  const retail = devices[SCENARIOS.length]!;
  log('');
  log(`Demo lender "Demo Finance" (${lender.id})`);
  log(`  lender API key: ${lender.apiKey}`);
  log('');
  log('  scenario                  stage        IMEI             serial           lock ref');
  for (const r of rows) log(`  ${r.scenario.padEnd(26)}${r.stage.padEnd(13)}${r.imei}  ${r.serial.padEnd(17)}${r.reference}`);
  log(`  ${'retail (never financed)'.padEnd(26)}${'—'.padEnd(13)}${retail.imei}  ${retail.serial}`);
  log('');
  log(`Factory secrets of these phones: ${manifestFile}`);
  const fleetSerials = devices.filter((d, i) => d.status === 'retail' || (i < SCENARIOS.length && !SCENARIOS[i]!.live)).map((d) => d.serial);
  return { lenderId: lender.id as string, lenderKey: lender.apiKey as string, rows, manifestFile, fleetSerials, live };
}

/** Console logins for the demo lender (there is no sign-up), created by the demo as the platform. */
export async function createDemoUsers(s: Services, lenderId: string): Promise<typeof DEMO_USERS> {
  for (const u of DEMO_USERS) await createUser(s, DEMO_ACTOR, { lenderId, email: u.email, name: u.name, password: u.password, role: u.role });
  return DEMO_USERS;
}

const DEMO_ACTOR: Actor = { kind: 'operator', id: 'lien-demo', lenderId: null };

export function credentialLines(lenderKey: string, operatorKey: string | null): string[] {
  return [
    'Demo credentials (console at /console/login):',
    ...DEMO_USERS.map((u) => `  ${u.role.padEnd(8)} ${u.email.padEnd(30)} password: ${u.password}`),
    `  lender API key:   ${lenderKey}`,
    ...(operatorKey ? [`  operator API key: ${operatorKey}`] : []),
  ];
}

export const DEMO_STATE_FILE = 'demo.json';

/** What `lien serve` needs to run the demo live on a data directory the demo seeded. */
export type DemoState = Pick<DemoSeed, 'lenderKey' | 'manifestFile' | 'fleetSerials' | 'live'>;

export function readDemoState(dataDir: string): DemoState | null {
  const file = join(dataDir, DEMO_STATE_FILE);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
}

/**
 * Seeds the data directory on a private, manual-clock server that is closed afterwards; the
 * history ends at the real time of the call, so a server started next continues from it.
 */
export async function seedDataDir(config: Config, log: (s: string) => void = console.log): Promise<{ seed: DemoSeed; credentials: string[]; operatorKey: string | null }> {
  const end = new Date();
  const clock = new ManualClock(end.getTime() - HISTORY_DAYS * 86_400_000);
  const lien = await buildLien({ ...config, port: 0 }, { clock, logger: false, jobs: false });
  try {
    await lien.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = lien.app.server.address() as { port: number };
    const key = await createApiKey(lien.services, DEMO_ACTOR, { name: 'demo seeding', scopes: ['operator'] });
    const seed = await seedDemo(`http://127.0.0.1:${port}`, key.key, config.dataDir, log, { end });
    await createDemoUsers(lien.services, seed.lenderId);
    // On a fresh directory the operator key is born here, not in the server started next. It is
    // printed once (the caller shows `credentials`) and kept nowhere but as a hash in the database.
    const credentials = credentialLines(seed.lenderKey, lien.newOperatorKey);
    writeFileSync(join(config.dataDir, 'demo-credentials.txt'), [...credentialLines(seed.lenderKey, null), ''].join('\n'), { mode: 0o600 });
    const state: DemoState = { lenderKey: seed.lenderKey, manifestFile: seed.manifestFile, fleetSerials: seed.fleetSerials, live: seed.live };
    writeFileSync(join(config.dataDir, DEMO_STATE_FILE), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    return { seed, credentials, operatorKey: lien.newOperatorKey };
  } finally {
    await lien.close();
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'seed a demo lender with a contract in every stage, console users and phones',
  usage: '[--server URL --operator-key KEY] [--data-dir DIR]',
  options: {
    server: { type: 'string', description: 'seed a running server (default: start one on the data directory for the seeding)' },
    'operator-key': { type: 'string', description: 'operator API key (default $LIEN_OPERATOR_KEY)' },
    'data-dir': { type: 'string', description: 'embedded database directory (default ./data)' },
  },
  help: [
    'Everything goes through the public API, so the demo data obeys the same rules as real data.',
    'Without --server, two weeks of history are replayed on a private manual clock (phones show their notices, sweeps run), so the demo holds real locks.',
    'With --server (a live clock), overdue contracts stop at notice: notice periods cannot be skipped.',
  ],
  async run({ values }) {
    const config = loadConfig(process.env, typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {});
    if (typeof values.server === 'string') {
      const key = (values['operator-key'] as string | undefined) ?? process.env.LIEN_OPERATOR_KEY;
      if (!key) throw new UsageError('give the operator key: --operator-key KEY or LIEN_OPERATOR_KEY (printed once, on the first `lien serve`)');
      await seedDemo(values.server.replace(/\/+$/, ''), key, config.dataDir);
      return;
    }
    const { credentials } = await seedDataDir(config);
    console.log(['', ...credentials, '', 'Start the server with `npm start`: the demo phones sync live and one of them locks and unlocks.'].join('\n'));
  },
};
