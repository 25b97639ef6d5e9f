import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, businessDateIn } from '../domain/dates.ts';
import { imeiCheckDigit } from '../domain/imei.ts';
import { buildLien } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { createApiKey } from '../services/apikeys.ts';
import { UsageError, type Command } from './args.ts';
import { DemoPhone } from './demo-phone.ts';

const TZ = 'Africa/Nairobi';

interface Scenario {
  name: string;
  /** First due date relative to today (days). */
  dueInDays: number;
  termCount?: number;
  /** Days ago the device displayed the first notice. */
  noticeShownDaysAgo?: number;
  dispute?: boolean;
  /** Pay this many minor units (null: nothing). */
  pay?: 'arrears' | 'all';
}

const SCENARIOS: Scenario[] = [
  { name: 'current', dueInDays: 20 },
  { name: 'reminder', dueInDays: 2 },
  { name: 'notice', dueInDays: -3 },
  { name: 'restricted', dueInDays: -5, noticeShownDaysAgo: 3 },
  { name: 'locked', dueInDays: -10, noticeShownDaysAgo: 7 },
  { name: 'locked (second phone)', dueInDays: -12, noticeShownDaysAgo: 9 },
  { name: 'held: open dispute', dueInDays: -10, noticeShownDaysAgo: 7, dispute: true },
  { name: 'paid the arrears', dueInDays: -10, noticeShownDaysAgo: 7, pay: 'arrears' },
  { name: 'released (paid off)', dueInDays: -40, termCount: 1, pay: 'all' },
];

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

/** Fills a server with a demo lender and one contract in each stage, through its own API. */
export async function seedDemo(base: string, operatorKey: string, dataDir: string, log: (s: string) => void = console.log) {
  const clock = await fetch(`${base}/v1/operator/clock`, { headers: { authorization: `Bearer ${operatorKey}` } });
  const now = clock.ok ? new Date(((await clock.json()) as { now: string }).now) : new Date();
  const today = businessDateIn(TZ, now);
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

  const rows: { scenario: string; imei: string; serial: string; stage: string; reference: string }[] = [];
  for (const [i, s] of SCENARIOS.entries()) {
    const d = devices[i]!;
    const sale = await call(base, lender.apiKey, 'POST', '/v1/sales', {
      imei: d.imei,
      borrowerRef: `DEMO-BORROWER-${i + 1}`,
      borrowerPhone: `+2547110000${String(i).padStart(2, '0')}`,
      borrowerLanguage: ['en', 'sw', 'hi', 'es', 'id'][i % 5],
      schedule: { principal: 24_000_00, annualRatePct: 24, termCount: s.termCount ?? 6, frequency: 'monthly', method: 'declining', firstDueDate: addDays(today, s.dueInDays) },
      consent: { at: now.toISOString(), channel: 'in_store_signature', termsVersion: 'demo-v1' },
    });
    const phone = new DemoPhone(base, d);
    await phone.enroll();
    if (s.noticeShownDaysAgo !== undefined) {
      const at = new Date(now.getTime() - s.noticeShownDaysAgo * 86_400_000).toISOString();
      await phone.checkin([{ kind: 'notice_shown', at, detail: { index: 0 } }], now);
    }
    if (s.dispute) await call(base, lender.apiKey, 'POST', `/v1/contracts/${sale.contractId}/disputes`, { reason: 'Borrower says the phone was returned for repair' });
    if (s.pay) {
      const c = await call(base, lender.apiKey, 'GET', `/v1/contracts/${sale.contractId}`);
      const amount = s.pay === 'all' ? c.contract.outstanding : c.contract.amount_overdue;
      if (amount > 0) await call(base, lender.apiKey, 'POST', '/v1/payments', { contractId: sale.contractId, externalRef: `DEMO-MPESA-${i}-${randomBytes(3).toString('hex')}`, channel: 'mpesa', amount, currency: 'KES' });
    }
    rows.push({ scenario: s.name, imei: d.imei, serial: d.serial, stage: '', reference: sale.lockReference });
  }
  await call(base, operatorKey, 'POST', '/v1/operator/sweep');
  for (const [i, row] of rows.entries()) {
    const found = await call(base, lender.apiKey, 'GET', `/v1/devices?imei=${row.imei}`);
    const dev = await call(base, lender.apiKey, 'GET', `/v1/devices/${found.items[0].id}`);
    rows[i]!.stage = dev.contract.stage;
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
  log(`Run one: lien device --server ${base} --manifest ${manifestFile} --serial <serial>`);
  return { lenderId: lender.id as string, lenderKey: lender.apiKey as string, rows, manifestFile };
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'seed a demo lender with a contract in every stage',
  usage: '[--server URL --operator-key KEY] [--data-dir DIR]',
  options: {
    server: { type: 'string', description: 'seed a running server (default: start one on the data directory for the seeding)' },
    'operator-key': { type: 'string', description: 'operator API key (default $LIEN_OPERATOR_KEY or <data-dir>/operator.key)' },
    'data-dir': { type: 'string', description: 'embedded database directory (default ./data)' },
  },
  help: ['Everything goes through the public API, so the demo data obeys the same rules as real data.'],
  async run({ values }) {
    const config = loadConfig(process.env, typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {});
    if (typeof values.server === 'string') {
      const keyFile = join(config.dataDir, 'operator.key');
      const key = (values['operator-key'] as string | undefined) ?? process.env.LIEN_OPERATOR_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
      if (!key) throw new UsageError('give the operator key: --operator-key KEY (printed on the first `lien serve`, kept in <data-dir>/operator.key)');
      await seedDemo(values.server.replace(/\/+$/, ''), key, config.dataDir);
      return;
    }
    const lien = await buildLien({ ...config, port: 0 }, { logger: false });
    try {
      await lien.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = lien.app.server.address() as { port: number };
      const key = await createApiKey(lien.services.db, { lenderId: null, name: 'demo seeding', scopes: ['operator'], now: lien.services.clock.now() });
      await seedDemo(`http://127.0.0.1:${port}`, key.key, config.dataDir);
      console.log('\nStart the server with `npm start` to see them.');
    } finally {
      await lien.close();
    }
  },
};
