import { LienError } from '../domain/errors.ts';
import { deriveDeviceKeys } from '../protocol/index.ts';
import { encodeToken, MAX_ACTIVATION_VALUE, TokenInputError, type TokenType } from '../tokens/index.ts';
import { newId } from '../store/ids.ts';
import { open } from '../store/secrets.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { evaluateContractTx } from './evaluate.ts';
import { commit } from './unit-of-work.ts';

export interface IssueCodeInput {
  deviceId: string;
  type: Extract<TokenType, 'ADD_TIME' | 'DISABLE_PAYG' | 'COUNTER_SYNC'>;
  /** Days of credit for ADD_TIME (1–MAX_CODE_DAYS). */
  days?: number;
  reason: string;
}

/** The most days one ADD_TIME code carries: a standard 9-digit token stops at 995 (OpenPAYGO). */
export const MAX_CODE_DAYS = MAX_ACTIVATION_VALUE;

export interface IssuedCode {
  id: string;
  token: string;
  type: IssueCodeInput['type'];
  days: number | null;
  count: number;
}

/**
 * Issues an OpenPAYGO unlock code for a lender's device. The server holds the token counter; each
 * code is audited with its reason. DISABLE_PAYG releases the device for good, so the contract
 * leaves enforcement too (paid off when nothing is outstanding, otherwise written off).
 */
export async function issueCode(s: Services, actor: Actor, input: IssueCodeInput): Promise<IssuedCode> {
  if (!input.reason?.trim()) throw new LienError('invalid_input', 'Every unlock code needs a reason (it is written to the audit log).', { field: 'reason' });
  if (input.type === 'ADD_TIME' && (!Number.isInteger(input.days) || input.days! < 1 || input.days! > MAX_CODE_DAYS)) {
    throw new LienError('invalid_input', `days must be a whole number from 1 to ${MAX_CODE_DAYS} for an ADD_TIME code.`, { field: 'days' });
  }
  return commit(s, actor, async (tx, fx) => {
    const device = await tx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!device || (actor.lenderId !== null && device.lender_id !== actor.lenderId)) throw new LienError('not_found', `No device ${input.deviceId}`);
    const contract = await tx.selectFrom('contracts').selectAll().where('device_id', '=', device.id).orderBy('created_at', 'desc').executeTakeFirst();
    if (!contract) throw new LienError('conflict', 'This device carries no contract; it needs no unlock code.');
    const keys = deriveDeviceKeys(open(s.masterKey, device.factory_secret_enc, `factory-secret:${device.serial}`));
    const days = input.type === 'ADD_TIME' ? input.days! : null;
    const { token, newCount } = encodeOrRefuse({
      key: keys.tokenKey,
      startingCode: keys.startingCode,
      count: device.token_counter,
      type: input.type,
      ...(days !== null ? { value: days } : {}),
    });
    const id = newId('tok');
    await tx.updateTable('devices').set({ token_counter: newCount }).where('id', '=', device.id).execute();
    await tx
      .insertInto('tokens_issued')
      .values({ id, device_id: device.id, lender_id: contract.lender_id, type: input.type, value: days, count: newCount, token, reason: input.reason, issued_by: actorName(actor), issued_at: fx.now })
      .execute();
    await fx.audit({
      action: 'token.issued',
      subjectType: 'device',
      subjectId: device.id,
      lenderId: contract.lender_id,
      reason: input.reason,
      data: { tokenId: id, type: input.type, days, count: newCount },
    });
    if (input.type === 'DISABLE_PAYG' && contract.status === 'active') {
      const status = contract.outstanding === 0 ? 'paid_off' : 'written_off';
      await tx.updateTable('contracts').set({ status }).where('id', '=', contract.id).execute();
      await evaluateContractTx(s, tx, fx, contract.id, `released with a DISABLE_PAYG code: ${input.reason}`, { unlockCause: 'code' });
    }
    return { id, token, type: input.type, days, count: newCount };
  });
}

/** The codec's refusal of an input, as the 400 the caller gets. */
function encodeOrRefuse(...args: Parameters<typeof encodeToken>): ReturnType<typeof encodeToken> {
  try {
    return encodeToken(...args);
  } catch (e) {
    if (e instanceof TokenInputError) throw new LienError('invalid_input', e.message, e.details);
    throw e;
  }
}
