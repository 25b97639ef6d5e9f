/**
 * Early payoff of a contract: the quote (domain/payoff.ts) over what the contract stores, for the
 * API, the console and the portal; and, inside a payment's unit of work, the settlement: a
 * payment that covers the quote of its day rewrites the installments not yet due to what the
 * quote charged for them (principal and earned interest, no future fees), so that the allocation
 * that follows pays the contract off and the evaluation releases the phone.
 */
import type { Selectable } from 'kysely';
import { validateProfile } from '../domain/compliance.ts';
import { businessDateIn, isPlainDate, type PlainDate } from '../domain/dates.ts';
import { LienError } from '../domain/errors.ts';
import { installmentOf } from '../domain/evaluation.ts';
import { payoffQuote, type PayoffQuote } from '../domain/payoff.ts';
import type { AmortizationMethod, Frequency } from '../domain/schedule.ts';
import type { DB } from '../store/schema.ts';
import type { Effects, Executor } from './unit-of-work.ts';

type ContractRow = Selectable<DB['contracts']>;

export interface ContractPayoff extends Omit<PayoffQuote, 'settled'> {
  contractId: string;
  currency: string;
}

/**
 * The quote for a contract on a business date, or on the business date an instant falls on in
 * the lender's zone, with the settled schedule.
 */
export async function quoteContract(db: Executor, contract: ContractRow, asOf: PlainDate | Date): Promise<PayoffQuote> {
  if (!(asOf instanceof Date) && !isPlainDate(asOf)) throw new LienError('invalid_input', 'The payoff date must be a date such as 2026-03-01.', { field: 'date' });
  const lender = await db.selectFrom('lenders').select(['time_zone', 'compliance_profile']).where('id', '=', contract.lender_id).executeTakeFirstOrThrow();
  const installments = await db.selectFrom('installments').selectAll().where('contract_id', '=', contract.id).orderBy('n').execute();
  const terms = contract.terms as { method: AmortizationMethod; frequency: Frequency };
  return payoffQuote({
    method: terms.method,
    frequency: terms.frequency,
    payoffDate: asOf instanceof Date ? businessDateIn(lender.time_zone, asOf) : asOf,
    rebate: validateProfile(lender.compliance_profile).earlyPayoffRebate,
    installments: installments.map(installmentOf),
  });
}

/** The quote as the API and pages show it (without the settled schedule). */
export async function contractPayoff(db: Executor, contract: ContractRow, asOf: PlainDate | Date): Promise<ContractPayoff> {
  if (contract.status !== 'active') {
    throw new LienError('conflict', `Contract ${contract.id} is ${contract.status}; there is nothing to pay off.`, { contractId: contract.id, status: contract.status });
  }
  const { settled: _settled, ...q } = await quoteContract(db, contract, asOf);
  return { contractId: contract.id, currency: contract.currency, ...q };
}

/**
 * Inside a payment's unit of work, before the payments are allocated: when this payment of
 * `amount`, made on business date `paidOn`, covers the payoff quote of that day and the quote
 * saves the borrower something, the installments not yet due are rewritten as the quote settled
 * them. Returns the quote applied, or null.
 */
export async function settleIfPaidOff(tx: Executor, fx: Effects, contract: ContractRow, amount: number, paidOn: PlainDate): Promise<PayoffQuote | null> {
  if (contract.status !== 'active') return null;
  const q = await quoteContract(tx, contract, paidOn);
  if (q.saving <= 0 || amount < q.amount) return null;
  for (const row of q.settled) {
    await tx
      .updateTable('installments')
      .set({ principal: row.principal, interest: row.interest, fee: row.fee, penalty: row.penalty })
      .where('contract_id', '=', contract.id)
      .where('n', '=', row.n)
      .execute();
  }
  await fx.audit({
    action: 'contract.paid_off_early',
    subjectType: 'contract',
    subjectId: contract.id,
    lenderId: contract.lender_id,
    reason: `paid off early on ${paidOn}: ${q.amount} settles it (${q.saving} of unearned interest and future fees waived, rule ${q.rule})`,
    data: { asOf: paidOn, amount: q.amount, outstanding: q.outstanding, saving: q.saving, rule: q.rule, breakdown: q.breakdown },
  });
  return q;
}
