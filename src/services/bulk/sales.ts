import { randomBytes } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { validateImei } from '../../domain/imei.ts';
import { parseAmount } from '../../domain/money.ts';
import { assertPlainDate } from '../../domain/dates.ts';
import { buildSchedule, type Frequency, type AmortizationMethod, type ScheduleInput, type Schedule } from '../../domain/schedule.ts';
import { newLockReference } from '../../protocol/index.ts';
import { newId } from '../../store/ids.ts';
import type { DB } from '../../store/schema.ts';
import { actorName, type Services } from '../context.ts';
import type { Effects, Executor } from '../unit-of-work.ts';
import type { Evaluation } from '../evaluate.ts';
import { RowError, instant, rowCheck, text, type CsvRow, type CsvSpec, type RowProblem } from './csv.ts';
import { isQuiet, quietEvaluation } from './outcomes.ts';
import { decide } from '../../domain/evaluation.ts';
import { applyOutcome, evaluatedColumns, loadFacts, signedPolicyRows } from '../evaluate.ts';
import { CHUNK, chunks, insertMany, yieldToLoop } from './sql.ts';

type LenderRow = Selectable<DB['lenders']>;
type ContractRow = Selectable<DB['contracts']>;

export const SALES_SPEC: CsvSpec = {
  label: 'sales',
  columns: [
    'imei', 'borrower_ref', 'borrower_phone', 'borrower_language', 'principal', 'annual_rate_pct', 'term_count', 'frequency',
    'method', 'first_due_date', 'down_payment', 'fee', 'consent_at', 'consent_channel', 'terms_version',
  ],
  required: [
    'imei', 'borrower_ref', 'borrower_phone', 'principal', 'annual_rate_pct', 'term_count', 'frequency', 'method',
    'first_due_date', 'consent_at', 'consent_channel', 'terms_version',
  ],
  maxRows: 100_000,
};

/** The same bounds the single-sale API enforces (routes/lender/payments.ts SaleBody). */
const MAX_RATE_PCT = 200;
const MAX_TERMS = 520;

export interface SaleRow {
  line: number;
  imei: string;
  borrowerRef: string;
  borrowerPhone: string;
  borrowerLanguage: string;
  /** What sellOnCredit stores as the contract's terms: the schedule input as given, without currency. */
  terms: Omit<ScheduleInput, 'currency'>;
  schedule: Schedule;
  consent: { at: Date; channel: string; termsVersion: string };
}

function amount(rec: Record<string, string>, column: string, currency: string, positive: boolean): number {
  const v = (rec[column] ?? '').trim();
  if (!v) throw new RowError(`${column} is empty`);
  const minor = rowCheck(() => parseAmount(v, currency, { field: column, allowZero: !positive }), column);
  if (minor < 0) throw new RowError(`${column} must not be negative; got ${v}`);
  return minor;
}

function optionalAmount(rec: Record<string, string>, column: string, currency: string): number | undefined {
  return (rec[column] ?? '').trim() ? amount(rec, column, currency, false) : undefined;
}

function oneOf<T extends string>(rec: Record<string, string>, column: string, allowed: readonly T[]): T {
  const v = (rec[column] ?? '').trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) throw new RowError(`${column} must be one of ${allowed.join(', ')}; got "${rec[column] ?? ''}"`);
  return v as T;
}

function wholeNumber(rec: Record<string, string>, column: string, min: number, max: number): number {
  const v = (rec[column] ?? '').trim();
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new RowError(`${column} must be a whole number from ${min} to ${max}; got "${v}"`);
  return Number(v);
}

/** Checks one row on its own (no database): fields, dates, amounts, consent and the schedule they make. */
export function checkSaleRow({ line, rec }: CsvRow, currency: string): SaleRow {
  const imei = rowCheck(() => validateImei(rec.imei ?? ''), 'imei');
  const borrowerRef = text(rec, 'borrower_ref', 120);
  const borrowerPhone = text(rec, 'borrower_phone', 32);
  if (borrowerPhone.length < 3) throw new RowError('borrower_phone is shorter than 3 characters');
  const lang = (rec.borrower_language ?? '').trim();
  if (lang && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,4})?$/.test(lang)) throw new RowError(`borrower_language must be a language code such as en or sw; got "${lang}"`);
  const principal = amount(rec, 'principal', currency, true);
  const rateText = (rec.annual_rate_pct ?? '').trim();
  const annualRatePct = Number(rateText);
  if (!/^\d+(\.\d+)?$/.test(rateText) || annualRatePct > MAX_RATE_PCT) throw new RowError(`annual_rate_pct must be a number from 0 to ${MAX_RATE_PCT} (percent a year, 24 for 24 %); got "${rateText}"`);
  const termCount = wholeNumber(rec, 'term_count', 1, MAX_TERMS);
  const frequency = oneOf<Frequency>(rec, 'frequency', ['weekly', 'biweekly', 'monthly']);
  const method = oneOf<AmortizationMethod>(rec, 'method', ['flat', 'declining']);
  const firstDueDate = rowCheck(() => assertPlainDate((rec.first_due_date ?? '').trim(), 'first_due_date'));
  const downPayment = optionalAmount(rec, 'down_payment', currency);
  const fee = optionalAmount(rec, 'fee', currency);
  const consentAt = (rec.consent_at ?? '').trim() ? instant(rec, 'consent_at') : null;
  const channel = (rec.consent_channel ?? '').trim();
  const termsVersion = (rec.terms_version ?? '').trim();
  if (!consentAt || !channel || !termsVersion) {
    throw new RowError('missing consent: consent_at, consent_channel and terms_version are all needed (a device is never locked without recorded consent)');
  }
  // Same key order and optional members as the single-sale API body, so `terms` is stored identically.
  const terms: Omit<ScheduleInput, 'currency'> = {
    principal,
    annualRatePct,
    termCount,
    frequency,
    method,
    firstDueDate,
    ...(downPayment !== undefined ? { downPayment } : {}),
    ...(fee !== undefined ? { fee } : {}),
  };
  const schedule = rowCheck(() => buildSchedule({ ...terms, currency }));
  return {
    line,
    imei,
    borrowerRef,
    borrowerPhone,
    borrowerLanguage: lang || 'en',
    terms,
    schedule,
    consent: { at: consentAt, channel: text(rec, 'consent_channel', 60), termsVersion: text(rec, 'terms_version', 60) },
  };
}

interface DeviceHit {
  id: string;
  imei1: string;
  imei2: string | null;
  sale_status: string;
}

/**
 * Checks the rows against the registry: every IMEI registered, unsold, and each device sold
 * once in the file. With `lock`, the devices are locked (FOR UPDATE) so the check holds until
 * commit. Returns the device id per row (index-aligned) and the problems.
 */
export async function checkDevices(tx: Executor, rows: SaleRow[], lock: boolean): Promise<{ deviceIds: string[]; errors: RowProblem[] }> {
  const byImei = new Map<string, DeviceHit>();
  for (const part of chunks(rows.map((r) => r.imei))) {
    let q = tx
      .selectFrom('devices')
      .select(['id', 'imei1', 'imei2', 'sale_status'])
      .where((eb) => eb.or([eb('imei1', '=', sql<string>`ANY(${part}::text[])`), eb('imei2', '=', sql<string>`ANY(${part}::text[])`)]));
    if (lock) q = q.orderBy('id').forUpdate();
    for (const d of await q.execute()) {
      byImei.set(d.imei1, d);
      if (d.imei2) byImei.set(d.imei2, d);
    }
  }
  const errors: RowProblem[] = [];
  const deviceIds: string[] = [];
  const firstLine = new Map<string, number>();
  for (const r of rows) {
    const d = byImei.get(r.imei);
    deviceIds.push(d?.id ?? '');
    if (!d) errors.push({ line: r.line, reason: `unknown device: IMEI ${r.imei} is not in the factory registry; only registered devices can be financed` });
    else if (d.sale_status === 'retail') errors.push({ line: r.line, reason: `IMEI ${r.imei} was sold as a retail unit and cannot carry a lien` });
    else if (d.sale_status === 'financed') errors.push({ line: r.line, reason: `IMEI ${r.imei} already carries a lien (device already financed)` });
    else {
      const first = firstLine.get(d.id);
      if (first !== undefined) errors.push({ line: r.line, reason: `the same device (IMEI ${r.imei}) is already sold on line ${first}` });
      else firstLine.set(d.id, r.line);
    }
  }
  return { deviceIds, errors };
}

/** Lock references for new contracts: random, and unique against each other and the database. */
async function lockReferences(tx: Executor, count: number): Promise<string[]> {
  const refs = new Set<string>();
  for (;;) {
    // One draw of random bytes for all the references still needed, 5 bytes each (a call per reference costs more than the bytes).
    while (refs.size < count) {
      const need = count - refs.size;
      const pool = randomBytes(5 * need);
      for (let i = 0; i < need; i++) refs.add(newLockReference(pool.subarray(5 * i, 5 * i + 5)));
    }
    const taken: string[] = [];
    for (const part of chunks([...refs])) {
      const rows = await tx.selectFrom('contracts').select('lock_reference').where('lock_reference', '=', sql<string>`ANY(${part}::text[])`).execute();
      taken.push(...rows.map((r) => r.lock_reference));
    }
    if (taken.length === 0) return [...refs];
    for (const t of taken) refs.delete(t);
  }
}

const CONTRACT_COLUMNS = {
  id: 'text', lender_id: 'text', device_id: 'text', borrower_ref: 'text', borrower_phone: 'text', borrower_language: 'text',
  currency: 'text', financed: 'int8', terms: 'jsonb', consent_at: 'timestamptz', consent_channel: 'text',
  consent_terms_version: 'text', status: 'text', stage: 'text', lock_reference: 'text', outstanding: 'int8',
  amount_overdue: 'int8', policy_version: 'int4', created_at: 'timestamptz', updated_at: 'timestamptz',
  stage_reason: 'text', lock_at: 'timestamptz', notice_index: 'int4', oldest_unpaid_due_date: 'date', next_evaluation_at: 'timestamptz',
  last_evaluated_on: 'date', sold_by: 'text',
};
const INSTALLMENT_COLUMNS = {
  contract_id: 'text', n: 'int4', due_date: 'date', principal: 'int8', interest: 'int8', fee: 'int8', penalty: 'int8',
  paid_principal: 'int8', paid_interest: 'int8', paid_fee: 'int8', paid_penalty: 'int8',
};
export interface WrittenSale {
  line: number;
  contractId: string;
  deviceId: string;
  lockReference: string;
}

/**
 * Writes checked, device-resolved rows in the caller's transaction: per contract exactly what
 * sellOnCredit writes (contract, installments, device financed for the lender, a
 * contract.created audit entry, then the first evaluation and signed policy), but a statement
 * per few thousand rows instead of a transaction per row. The first evaluation is decided before
 * the insert (a new contract's facts are its schedule plus what loadFacts finds for its device
 * and lender), so a contract that stays `current` is inserted evaluated, not inserted and updated.
 */
export async function writeSales(
  s: Services,
  tx: Executor,
  fx: Effects,
  lender: LenderRow,
  rows: SaleRow[],
  deviceIds: string[],
  onProgress: (done: number) => void,
): Promise<{ sales: WrittenSale[]; evaluations: Evaluation[] }> {
  const now = fx.now;
  const refs = await lockReferences(tx, rows.length);
  const sales: WrittenSale[] = rows.map((r, i) => ({ line: r.line, contractId: newId('ctr'), deviceId: deviceIds[i]!, lockReference: refs[i]! }));
  const evaluations: Evaluation[] = [];
  const lenders = new Map([[lender.id, lender]]);
  for (let start = 0; start < rows.length; start += CHUNK) {
    const part = rows.slice(start, start + CHUNK);
    const written = sales.slice(start, start + CHUNK);
    const fresh: ContractRow[] = part.map((r, i) => ({
      id: written[i]!.contractId,
      lender_id: lender.id,
      device_id: written[i]!.deviceId,
      borrower_ref: r.borrowerRef,
      borrower_phone: r.borrowerPhone,
      borrower_language: r.borrowerLanguage,
      currency: lender.currency,
      financed: r.schedule.financed,
      terms: r.terms,
      consent_at: r.consent.at,
      consent_channel: r.consent.channel,
      consent_terms_version: r.consent.termsVersion,
      status: 'active',
      stage: 'current',
      stage_reason: null,
      stage_changed_at: null,
      lock_reference: written[i]!.lockReference,
      lock_at: null,
      notice_index: null,
      oldest_unpaid_due_date: null,
      amount_overdue: 0,
      outstanding: r.schedule.installments.reduce((a, x) => a + x.principal + x.interest + x.fee + x.penalty, 0),
      next_evaluation_at: null,
      last_evaluated_on: null,
      manual_action: null,
      screen_note: null,
      policy_version: 0,
      created_at: now,
      updated_at: now,
      sold_by: actorName(fx.actor),
    }));
    const installments = part.map((r, i) => r.schedule.installments.map((x) => ({
      contract_id: written[i]!.contractId,
      n: x.n,
      due_date: x.dueDate,
      principal: x.principal,
      interest: x.interest,
      fee: x.fee,
      penalty: x.penalty,
      paid_principal: 0,
      paid_interest: 0,
      paid_fee: 0,
      paid_penalty: 0,
    })));
    const facts = await loadFacts(tx, fresh, now, lenders);
    const outcomes = facts.map((f, i) => decide({ ...f, installments: installments[i]! }, now));
    // A new contract's policy_version is 0, so its first evaluation always issues version 1.
    // Signed on the signing thread while this one writes the other rows.
    const policies = signedPolicyRows(s, outcomes.filter(isQuiet), now);
    await insertMany(tx, 'contracts', CONTRACT_COLUMNS, outcomes.map((o) => ({ ...o.facts.contract, ...(isQuiet(o) ? evaluatedColumns(o, now) : {}) })));
    await insertMany(tx, 'installments', INSTALLMENT_COLUMNS, installments.flat());
    // Every device of the chunk gets the same two values: a plain UPDATE … WHERE id = ANY, no join with unnest.
    await tx.updateTable('devices').set({ sale_status: 'financed', lender_id: lender.id }).where('id', '=', sql<string>`ANY(${written.map((w) => w.deviceId)}::text[])`).execute();
    await fx.auditMany(part.map((r, i) => ({
      action: 'contract.created',
      subjectType: 'contract',
      subjectId: written[i]!.contractId,
      lenderId: lender.id,
      reason: `sold on credit: ${r.schedule.installments.length} installments`,
      data: { deviceId: written[i]!.deviceId, financed: r.schedule.financed, consent: { channel: r.consent.channel, termsVersion: r.consent.termsVersion } },
    })));
    await fx.issuePolicies(await policies);
    for (const o of outcomes) {
      evaluations.push(isQuiet(o) ? quietEvaluation(o) : await applyOutcome(s, tx, fx, o, 'contract created'));
    }
    onProgress(start + part.length);
    await yieldToLoop();
  }
  return { sales, evaluations };
}
