import { expect } from 'vitest';
import type { TestDevice, TestPlatform } from '../e2e/in-process.ts';

export const SALE_HEADER = [
  'imei', 'borrower_ref', 'borrower_phone', 'borrower_language', 'principal', 'annual_rate_pct', 'term_count', 'frequency',
  'method', 'first_due_date', 'down_payment', 'fee', 'consent_at', 'consent_channel', 'terms_version',
] as const;
export type SaleCols = Partial<Record<(typeof SALE_HEADER)[number], string>>;

/** A good sales row for the device, in the columns' order; `over` replaces fields. */
export function saleLine(d: TestDevice | string, over: SaleCols = {}): string {
  const row: Record<string, string> = {
    imei: typeof d === 'string' ? d : d.imei,
    borrower_ref: `B-${typeof d === 'string' ? d : d.serial}`,
    borrower_phone: '+254711000222',
    borrower_language: 'sw',
    principal: '30000.00',
    annual_rate_pct: '24',
    term_count: '6',
    frequency: 'monthly',
    method: 'declining',
    first_due_date: '2026-02-01',
    down_payment: '2000.00',
    fee: '50.00',
    consent_at: '2026-01-01T06:00:00Z',
    consent_channel: 'in_store_signature',
    terms_version: 'v1',
    ...over,
  };
  return SALE_HEADER.map((c) => row[c]).join(',');
}

export function csv(header: readonly string[], lines: string[]): string {
  return [header.join(','), ...lines].join('\n') + '\n';
}

export const PAYMENT_HEADER = ['contract_id', 'lock_reference', 'external_ref', 'channel', 'amount', 'currency', 'received_at'] as const;

export interface ImportReport {
  id: string;
  state: string;
  phase: string;
  total: number;
  processed: number;
  written: number;
  policiesIssued: number;
  errors: { line: number; reason: string }[];
  message: string | null;
}

/** Uploads a file and waits for its job to finish. */
export async function importCsv(p: TestPlatform, kind: 'sales' | 'payments', body: string, opts: { dryRun?: boolean; key?: string } = {}): Promise<ImportReport> {
  const started = await p.api('POST', `/v1/imports/${kind}${opts.dryRun ? '?dryRun=true' : ''}`, body, opts.key ?? p.lenderKey, 'text/csv');
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  for (let i = 0; i < 600; i++) {
    const r = await p.api('GET', `/v1/imports/${started.body.id}`, undefined, opts.key ?? p.lenderKey);
    expect(r.status).toBe(200);
    if (r.body.state !== 'running') return r.body;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('import did not finish');
}

/** Row counts of everything an import writes, to show that nothing was. */
export async function counts(p: TestPlatform): Promise<{ contracts: number; installments: number; payments: number; audit: number; policies: number; financed: number }> {
  const db = p.lien.services.db;
  const n = async (t: 'contracts' | 'installments' | 'payments' | 'audit_log' | 'policies') =>
    Number((await db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const financed = await db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).where('sale_status', '=', 'financed').executeTakeFirstOrThrow();
  return {
    contracts: await n('contracts'),
    installments: await n('installments'),
    payments: await n('payments'),
    audit: await n('audit_log'),
    policies: await n('policies'),
    financed: Number(financed.n),
  };
}
