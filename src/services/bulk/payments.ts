import { sql, type Selectable } from 'kysely';
import { allocate } from '../../domain/allocation.ts';
import { validateProfile } from '../../domain/compliance.ts';
import { businessDateIn, type PlainDate } from '../../domain/dates.ts';
import { payoffQuote } from '../../domain/payoff.ts';
import type { AmortizationMethod, Frequency } from '../../domain/schedule.ts';
import { findCurrency, parseAmount } from '../../domain/money.ts';
import { LOCK_REFERENCE_PATTERN } from '../../protocol/index.ts';
import { newId } from '../../store/ids.ts';
import type { DB } from '../../store/schema.ts';
import { actorName } from '../context.ts';
import type { Effects, Executor } from '../unit-of-work.ts';
import { RowError, instant, rowCheck, text, type CsvRow, type CsvSpec, type RowProblem } from './csv.ts';
import { chunks, insertMany, updateMany, yieldToLoop, CHUNK } from './sql.ts';
import { groupBy } from '../../domain/collections.ts';
import { installmentsByContract } from '../../store/repos/contracts.ts';

type ContractRow = Pick<Selectable<DB['contracts']>, 'id' | 'lender_id' | 'currency' | 'lock_reference' | 'device_id'>;

export const PAYMENTS_SPEC: CsvSpec = {
  label: 'payments',
  columns: ['contract_id', 'lock_reference', 'external_ref', 'channel', 'amount', 'currency', 'received_at'],
  required: ['external_ref', 'channel', 'amount', 'currency', 'received_at'],
  maxRows: 100_000,
};

export interface PaymentRow {
  line: number;
  contractId: string | null;
  lockReference: string | null;
  externalRef: string;
  channel: string;
  amount: number;
  currency: string;
  receivedAt: Date;
}

/** Checks one row on its own: a contract named, a positive amount in a known currency, a zoned instant. */
export function checkPaymentRow({ line, rec }: CsvRow): PaymentRow {
  const contractId = (rec.contract_id ?? '').trim() || null;
  const lockReference = (rec.lock_reference ?? '').trim().toUpperCase() || null;
  if (!contractId && !lockReference) throw new RowError('name the contract: contract_id or lock_reference is needed');
  if (contractId && !/^[A-Za-z0-9_-]{1,80}$/.test(contractId)) throw new RowError(`contract_id "${contractId}" is not a contract id`);
  if (lockReference && !LOCK_REFERENCE_PATTERN.test(lockReference)) throw new RowError(`lock_reference must be the 8-character code shown on the lock screen; got "${lockReference}"`);
  const externalRef = text(rec, 'external_ref', 120);
  const channel = text(rec, 'channel', 60);
  const currency = (rec.currency ?? '').trim().toUpperCase();
  if (!findCurrency(currency)) throw new RowError(`currency "${rec.currency ?? ''}" is not an ISO 4217 currency code`);
  const raw = (rec.amount ?? '').trim();
  if (!raw) throw new RowError('amount is empty');
  const amount = rowCheck(() => parseAmount(raw, currency, { allowNegative: true }), 'amount');
  if (amount <= 0) throw new RowError(`amount must be greater than zero; got ${raw}`);
  return { line, contractId, lockReference, externalRef, channel, amount, currency, receivedAt: instant(rec, 'received_at') };
}

/**
 * Resolves every row's contract among the lender's own (another lender's contract is "unknown",
 * never "not yours"), checks currencies and external references (unique in the file and not
 * already posted). With `lock`, the contracts are locked until commit. Returns the contract per
 * row (index-aligned) and the problems.
 */
export async function checkContracts(tx: Executor, lenderId: string, rows: PaymentRow[], lock: boolean): Promise<{ contracts: ContractRow[]; errors: RowProblem[] }> {
  const byId = new Map<string, ContractRow>();
  const byRef = new Map<string, ContractRow>();
  const ids = [...new Set(rows.flatMap((r) => (r.contractId ? [r.contractId] : [])))];
  const refs = [...new Set(rows.flatMap((r) => (r.lockReference ? [r.lockReference] : [])))];
  const cols = ['id', 'lender_id', 'currency', 'lock_reference', 'device_id'] as const;
  for (const [column, values] of [['id', ids], ['lock_reference', refs]] as const) {
    for (const part of chunks(values)) {
      let q = tx.selectFrom('contracts').select([...cols]).where('lender_id', '=', lenderId).where(column, '=', sql<string>`ANY(${part}::text[])`);
      if (lock) q = q.orderBy('id').forUpdate();
      for (const c of await q.execute()) {
        byId.set(c.id, c);
        byRef.set(c.lock_reference, c);
      }
    }
  }
  const posted = new Map<string, Date>();
  for (const part of chunks([...new Set(rows.map((r) => r.externalRef))])) {
    const found = await tx.selectFrom('payments').select(['external_ref', 'posted_at']).where('lender_id', '=', lenderId).where('external_ref', '=', sql<string>`ANY(${part}::text[])`).execute();
    for (const p of found) posted.set(p.external_ref, p.posted_at);
  }
  const errors: RowProblem[] = [];
  const contracts: ContractRow[] = [];
  const firstLine = new Map<string, number>();
  for (const r of rows) {
    const fail = (reason: string) => errors.push({ line: r.line, reason });
    const c = r.contractId ? byId.get(r.contractId) : byRef.get(r.lockReference!);
    contracts.push(c!);
    if (!c) {
      fail(r.contractId ? `unknown contract ${r.contractId}` : `unknown lock reference ${r.lockReference}`);
      continue;
    }
    if (r.contractId && r.lockReference && c.lock_reference !== r.lockReference) {
      fail(`lock_reference ${r.lockReference} is not the lock reference of contract ${r.contractId}`);
      continue;
    }
    if (c.currency !== r.currency) {
      fail(`currency mismatch: the contract is in ${c.currency}, the payment in ${r.currency}`);
      continue;
    }
    const postedAt = posted.get(r.externalRef);
    if (postedAt) {
      fail(`payment reference ${r.externalRef} was already posted on ${postedAt.toISOString().slice(0, 10)}`);
      continue;
    }
    const first = firstLine.get(r.externalRef);
    if (first !== undefined) fail(`payment reference ${r.externalRef} already appears on line ${first}`);
    else firstLine.set(r.externalRef, r.line);
  }
  return { contracts, errors };
}

const PAYMENT_COLUMNS = {
  id: 'text', lender_id: 'text', contract_id: 'text', external_ref: 'text', channel: 'text', amount: 'int8', currency: 'text',
  received_at: 'timestamptz', posted_at: 'timestamptz', posted_by: 'text',
};
const PAID_COLUMNS = { contract_id: 'text', n: 'int4', paid_principal: 'int8', paid_interest: 'int8', paid_fee: 'int8', paid_penalty: 'int8' };

const SCHEDULE_COLUMNS = { contract_id: 'text', n: 'int4', principal: 'int8', interest: 'int8', fee: 'int8', penalty: 'int8' };

type LenderForPayments = Pick<Selectable<DB['lenders']>, 'id' | 'allocation_order' | 'time_zone' | 'compliance_profile'>;

/** What a file paid into one contract: the sum and the business date of its last payment. */
interface FilePaid {
  sum: number;
  lastOn: PlainDate;
}

/**
 * Re-plays every standing payment of the given contracts over their schedules, as
 * payments.ts's reallocate does per contract, and stores what changed in one UPDATE per chunk.
 * A contract whose payments in this file cover its early payoff quote (on the day of the last
 * of them) is settled first, as postPayment settles it (services/payoff.ts): its installments not
 * yet due are cut to what the quote charged, so the allocation pays it off.
 */
async function reallocateMany(tx: Executor, fx: Effects, lender: LenderForPayments, contractIds: string[], filePaid: Map<string, FilePaid>): Promise<void> {
  const order = lender.allocation_order;
  const rebate = validateProfile(lender.compliance_profile).earlyPayoffRebate;
  for (const part of chunks(contractIds, 2000)) {
    const ids = sql<string>`ANY(${part}::text[])`;
    const insts = await installmentsByContract(tx, part);
    const payments = await tx.selectFrom('payments').select(['id', 'contract_id', 'amount', 'received_at']).where('contract_id', '=', ids).where('reversed_at', 'is', null).execute();
    const terms = new Map((await tx.selectFrom('contracts').select(['id', 'terms', 'status']).where('id', '=', ids).execute()).map((c) => [c.id, c]));
    const pays = groupBy(payments, (p) => p.contract_id);
    const changed: Record<string, unknown>[] = [];
    const settledRows: Record<string, unknown>[] = [];
    for (const id of part) {
      let own = insts.get(id) ?? [];
      const paid = filePaid.get(id);
      const contract = terms.get(id);
      if (paid && contract?.status === 'active') {
        const t = contract.terms as { method: AmortizationMethod; frequency: Frequency };
        const q = payoffQuote({
          method: t.method,
          frequency: t.frequency,
          payoffDate: paid.lastOn,
          rebate,
          installments: own.map((i) => ({ n: i.n, dueDate: i.due_date, principal: i.principal, interest: i.interest, fee: i.fee, penalty: i.penalty, paid: { principal: i.paid_principal, interest: i.paid_interest, fee: i.paid_fee, penalty: i.paid_penalty } })),
        });
        if (q.saving > 0 && paid.sum >= q.amount) {
          const byN = new Map(q.settled.map((r) => [r.n, r]));
          own = own.map((i) => ({ ...i, ...byN.get(i.n)! }));
          settledRows.push(...q.settled.map((r) => ({ contract_id: id, ...r })));
          await fx.audit({
            action: 'contract.paid_off_early',
            subjectType: 'contract',
            subjectId: id,
            lenderId: lender.id,
            reason: `paid off early on ${paid.lastOn}: ${q.amount} settles it (${q.saving} of unearned interest and future fees waived, rule ${q.rule})`,
            data: { asOf: paid.lastOn, amount: q.amount, outstanding: q.outstanding, saving: q.saving, rule: q.rule, breakdown: q.breakdown },
          });
        }
      }
      const result = allocate({
        installments: own.map((i) => ({ n: i.n, dueDate: i.due_date, principal: i.principal, interest: i.interest, fee: i.fee, penalty: i.penalty })),
        payments: (pays.get(id) ?? []).map((p) => ({ id: p.id, amount: p.amount, receivedAt: p.received_at.toISOString() })),
        ...(Array.isArray(order) ? { order: order as never } : {}),
      });
      for (const inst of result.installments) {
        const before = own.find((i) => i.n === inst.n)!;
        const p = inst.paid;
        if (p.principal !== before.paid_principal || p.interest !== before.paid_interest || p.fee !== before.paid_fee || p.penalty !== before.paid_penalty) {
          changed.push({ contract_id: id, n: inst.n, paid_principal: p.principal, paid_interest: p.interest, paid_fee: p.fee, paid_penalty: p.penalty });
        }
      }
    }
    await updateMany(tx, 'installments', ['contract_id', 'n'], SCHEDULE_COLUMNS, settledRows);
    await updateMany(tx, 'installments', ['contract_id', 'n'], PAID_COLUMNS, changed);
  }
}

/**
 * Posts checked, contract-resolved payments in the caller's transaction: per payment what
 * postPayment writes (payment row, reallocation, channel freshness, payment.posted audit entry
 * and webhook event). Evaluation of the contracts is the caller's next step.
 */
export async function writePayments(
  tx: Executor,
  fx: Effects,
  lender: LenderForPayments,
  rows: PaymentRow[],
  contracts: ContractRow[],
  onProgress: (done: number) => void,
): Promise<{ paymentIds: string[] }> {
  const now = fx.now;
  const paymentIds = rows.map(() => newId('pay'));
  const hooks = await tx.selectFrom('webhooks').select('events').where('lender_id', '=', lender.id).where('active', '=', true).execute();
  const subscribed = hooks.some((h) => Array.isArray(h.events) && (h.events as unknown[]).includes('payment.posted'));
  for (let start = 0; start < rows.length; start += CHUNK) {
    const part = rows.slice(start, start + CHUNK);
    const ids = paymentIds.slice(start, start + CHUNK);
    const owners = contracts.slice(start, start + CHUNK);
    await insertMany(tx, 'payments', PAYMENT_COLUMNS, part.map((r, i) => ({
      id: ids[i],
      lender_id: lender.id,
      contract_id: owners[i]!.id,
      external_ref: r.externalRef,
      channel: r.channel,
      amount: r.amount,
      currency: r.currency,
      received_at: r.receivedAt,
      posted_at: now,
      posted_by: actorName(fx.actor),
    })));
    await fx.auditMany(part.map((r, i) => ({
      action: 'payment.posted',
      subjectType: 'payment',
      subjectId: ids[i]!,
      lenderId: lender.id,
      reason: `payment ${r.externalRef} via ${r.channel}`,
      data: { contractId: owners[i]!.id, amount: r.amount, currency: r.currency, externalRef: r.externalRef },
    })));
    // Deliveries exist only for subscribed endpoints; the common case (none) costs one query in all.
    if (subscribed) {
      for (const [i, r] of part.entries()) {
        await fx.webhook({ lenderId: lender.id, type: 'payment.posted', data: { paymentId: ids[i], contractId: owners[i]!.id, amount: r.amount, currency: r.currency, externalRef: r.externalRef, channel: r.channel } });
      }
    }
    onProgress(start + part.length);
    await yieldToLoop();
  }
  const filePaid = new Map<string, FilePaid>();
  rows.forEach((r, i) => {
    const id = contracts[i]!.id;
    const on = businessDateIn(lender.time_zone, r.receivedAt);
    const seen = filePaid.get(id);
    filePaid.set(id, { sum: (seen?.sum ?? 0) + r.amount, lastOn: seen && seen.lastOn > on ? seen.lastOn : on });
  });
  await reallocateMany(tx, fx, lender, [...filePaid.keys()], filePaid);
  // The contracts' derived figures (outstanding, overdue, stage) are computed after this commits,
  // in batches. Until each is, it is pending work on record: an evaluation due now, which the
  // sweep's time-driven pass takes up — so a crash between the two phases is repaired by the next
  // sweep (one runs at start-up) instead of leaving stale balances (issue #12 M6).
  await tx
    .updateTable('contracts')
    .set({ next_evaluation_at: now })
    .where('id', '=', sql<string>`ANY(${[...filePaid.keys()]}::text[])`)
    .where('status', '=', 'active')
    .execute();
  // Payments are proof that their channels are reporting.
  const channels = [...new Set(rows.map((r) => r.channel))];
  await tx.updateTable('payment_channels').set({ last_reported_at: now }).where('lender_id', '=', lender.id).where('channel', '=', sql<string>`ANY(${channels}::text[])`).execute();
  return { paymentIds };
}
