import { randomBytes } from 'node:crypto';
import { LienError } from '../domain/errors.ts';
import { validateImei } from '../domain/imei.ts';
import { buildSchedule, type ScheduleInput } from '../domain/schedule.ts';
import { newLockReference } from '../protocol/index.ts';
import { newId } from '../store/ids.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { evaluateContractTx, type Evaluation } from './evaluate.ts';
import { commit } from './unit-of-work.ts';

export interface SaleInput {
  imei: string;
  borrowerRef: string;
  borrowerPhone: string;
  borrowerLanguage?: string;
  schedule: Omit<ScheduleInput, 'currency'>;
  consent: { at: Date; channel: string; termsVersion: string } | null;
}

export interface Sale {
  contractId: string;
  deviceId: string;
  lockReference: string;
  evaluation: Evaluation;
}

/**
 * Sells a manifest device on credit: a contract with its schedule and consent puts a lien on the
 * device. Only a device that is in the registry and still unsold can be financed; a retail unit
 * (sold for cash) is never touched.
 */
export async function sellOnCredit(s: Services, actor: Actor, input: SaleInput): Promise<Sale> {
  if (!actor.lenderId) throw new LienError('forbidden', 'Only a lender can sell a device on credit.');
  const imei = validateImei(input.imei);
  return commit(s, actor, async (tx, fx) => {
    const now = fx.now;
    const lender = await tx.selectFrom('lenders').selectAll().where('id', '=', actor.lenderId!).executeTakeFirstOrThrow();
    const device = await tx
      .selectFrom('devices')
      .selectAll()
      .where((eb) => eb.or([eb('imei1', '=', imei), eb('imei2', '=', imei)]))
      .forUpdate()
      .executeTakeFirst();
    if (!device) throw new LienError('not_found', `IMEI ${imei} is not in the factory registry; only registered devices can be financed.`, { imei });
    if (device.sale_status === 'retail') throw new LienError('conflict', `IMEI ${imei} was sold as a retail unit and cannot carry a lien.`, { imei });
    if (device.sale_status === 'financed') throw new LienError('conflict', `IMEI ${imei} already carries a lien.`, { imei });
    const schedule = buildSchedule({ ...input.schedule, currency: lender.currency });
    const contractId = newId('ctr');
    const lockReference = newLockReference(randomBytes(8));
    await tx
      .insertInto('contracts')
      .values({
        id: contractId,
        lender_id: lender.id,
        device_id: device.id,
        borrower_ref: input.borrowerRef,
        borrower_phone: input.borrowerPhone,
        borrower_language: input.borrowerLanguage ?? 'en',
        currency: lender.currency,
        financed: schedule.financed,
        terms: JSON.parse(JSON.stringify(input.schedule)),
        consent_at: input.consent?.at ?? null,
        consent_channel: input.consent?.channel ?? null,
        consent_terms_version: input.consent?.termsVersion ?? null,
        status: 'active',
        stage: 'current',
        lock_reference: lockReference,
        outstanding: schedule.installments.reduce((a, i) => a + i.principal + i.interest + i.fee + i.penalty, 0),
        amount_overdue: 0,
        policy_version: 0,
        created_at: now,
        updated_at: now,
        sold_by: actorName(actor),
      })
      .execute();
    await tx
      .insertInto('installments')
      .values(
        schedule.installments.map((i) => ({
          contract_id: contractId,
          n: i.n,
          due_date: i.dueDate,
          principal: i.principal,
          interest: i.interest,
          fee: i.fee,
          penalty: i.penalty,
          paid_principal: 0,
          paid_interest: 0,
          paid_fee: 0,
          paid_penalty: 0,
        })),
      )
      .execute();
    await tx.updateTable('devices').set({ sale_status: 'financed', lender_id: lender.id }).where('id', '=', device.id).execute();
    await fx.audit({
      action: 'contract.created',
      subjectType: 'contract',
      subjectId: contractId,
      lenderId: lender.id,
      reason: `sold on credit: ${schedule.installments.length} installments`,
      data: { deviceId: device.id, financed: schedule.financed, consent: input.consent ? { channel: input.consent.channel, termsVersion: input.consent.termsVersion } : null },
    });
    const evaluation = await evaluateContractTx(s, tx, fx, contractId, 'contract created');
    return { contractId, deviceId: device.id, lockReference, evaluation };
  });
}
