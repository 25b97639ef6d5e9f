import type { ComplianceProfile } from '../domain/compliance.ts';
import { assertCurrency } from '../domain/money.ts';
import { businessDateIn } from '../domain/dates.ts';
import { newId } from '../store/ids.ts';
import { createApiKeyTx } from './apikeys.ts';
import type { Actor, Services } from './context.ts';
import { commit } from './unit-of-work.ts';

export interface LenderInput {
  name: string;
  supportPhone: string;
  supportUrl: string;
  supportHours: string | null;
  howToPay: string;
  currency: string;
  timeZone: string;
  profile: ComplianceProfile;
  paymentChannels: { channel: string; freshnessMinutes: number }[];
}

/** Onboards a lender and hands back its first admin API key (shown once). */
export async function createLender(s: Services, actor: Actor, input: LenderInput): Promise<{ id: string; apiKey: string }> {
  assertCurrency(input.currency);
  businessDateIn(input.timeZone, s.clock.now()); // rejects an unknown time zone with a clear error
  const id = newId('lnd');
  return commit(s, actor, async (tx, fx) => {
    await tx
      .insertInto('lenders')
      .values({
        id,
        name: input.name,
        support_phone: input.supportPhone,
        support_url: input.supportUrl,
        support_hours: input.supportHours,
        how_to_pay: input.howToPay,
        currency: input.currency,
        time_zone: input.timeZone,
        compliance_profile: JSON.stringify(input.profile),
        allocation_order: JSON.stringify(['penalty', 'fee', 'interest', 'principal']),
        created_at: fx.now,
      })
      .execute();
    if (input.paymentChannels.length) {
      await tx
        .insertInto('payment_channels')
        .values(input.paymentChannels.map((c) => ({ lender_id: id, channel: c.channel, freshness_minutes: c.freshnessMinutes, last_reported_at: fx.now })))
        .execute();
    }
    await fx.audit({ action: 'lender.created', subjectType: 'lender', subjectId: id, lenderId: id, reason: 'onboarded', data: { name: input.name } });
    const key = await createApiKeyTx(tx, fx, { lenderId: id, name: 'admin (created with the lender)', scopes: ['read', 'write', 'codes'] });
    return { id, apiKey: key.key };
  });
}
