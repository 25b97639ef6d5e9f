/**
 * The public help portal's read side: a borrower looks up their locked phone, a buyer checks a
 * used phone for a lien. Nobody is authenticated, so what comes back is decided here:
 *
 * - A lookup answers only when the lock reference (shown on the lock screen) matches; an IMEI
 *   alone never reveals anything, and a wrong reference answers exactly like an unknown IMEI.
 * - A lien check answers one of three words and nothing about the borrower or the amounts.
 *
 * Every attempt is audited: in the lender's chain when it touched one of their contracts, in the
 * platform chain otherwise.
 */
import type { Kysely, Selectable } from 'kysely';
import { validateImei } from '../domain/imei.ts';
import { LienError } from '../domain/errors.ts';
import { LOCK_REFERENCE_PATTERN } from '../protocol/policy.ts';
import { matchLanguage, type Lang } from '../i18n/index.ts';
import type { DB } from '../store/schema.ts';
import type { Actor, Services } from './context.ts';
import { contractPayoff } from './payoff.ts';
import { recordAudit } from './unit-of-work.ts';

export function portalActor(ip: string): Actor {
  return { kind: 'portal', id: ip, lenderId: null };
}

/**
 * A lock reference as typed by a person: case, spaces and dashes forgiven, and the letters
 * Crockford base32 leaves out read as the digits they look like.
 */
export function normaliseLockReference(raw: string): string | null {
  const s = raw.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return LOCK_REFERENCE_PATTERN.test(s) ? s : null;
}

export type PortalStage = 'current' | 'reminder' | 'notice' | 'restricted' | 'locked' | 'released';

export interface LookupFound {
  found: true;
  contractId: string;
  lockReference: string;
  stage: PortalStage;
  lender: { name: string; supportPhone: string; supportHours: string | null; supportUrl: string; howToPay: string };
  currency: string;
  /** What to pay now: the arrears when overdue, else the next installment still open (minor units). */
  amountDue: number;
  overdue: boolean;
  /** Overdue: the oldest unpaid due date. Otherwise the next due date. Null when nothing is owed. */
  dueDate: string | null;
  /** When a notice runs out and the phone may lock. */
  lockAt: Date | null;
  timeZone: string;
  borrowerLanguage: Lang;
  openClaim: boolean;
  /** The number the borrower holds for that claim (null on claims older than numbers). */
  openClaimNumber: string | null;
  /** What settles the whole contract today (early payoff), while it is active. */
  payoff: { amount: number; saving: number; asOf: string } | null;
}

export type LookupResult = LookupFound | { found: false };

type ContractRow = Selectable<DB['contracts']>;

function portalStage(c: ContractRow, deviceReleased: boolean): PortalStage {
  if (c.status === 'paid_off' || deviceReleased) return 'released';
  const s = c.stage as string;
  return s === 'reminder' || s === 'notice' || s === 'restricted' || s === 'locked' ? s : 'current';
}

/** Devices whose IMEI (either slot) is `imei`. */
function deviceByImei(db: Kysely<DB>, imei: string) {
  return db
    .selectFrom('devices')
    .select(['id', 'lender_id', 'sale_status', 'released_at'])
    .where((eb) => eb.or([eb('imei1', '=', imei), eb('imei2', '=', imei)]))
    .executeTakeFirst();
}

async function nextDue(db: Kysely<DB>, contractId: string): Promise<{ amount: number; dueDate: string } | null> {
  const rows = await db.selectFrom('installments').selectAll().where('contract_id', '=', contractId).orderBy('n').execute();
  for (const i of rows) {
    const owed = Number(i.principal) + Number(i.interest) + Number(i.fee) + Number(i.penalty);
    const paid = Number(i.paid_principal) + Number(i.paid_interest) + Number(i.paid_fee) + Number(i.paid_penalty);
    if (owed > paid) return { amount: owed - paid, dueDate: i.due_date };
  }
  return null;
}

export interface LookupInput {
  /** Optional: when given it must be an IMEI of the device the reference belongs to. */
  imei?: string | undefined;
  reference: string;
  ip: string;
}

/**
 * "My phone is locked". Throws invalid_imei / invalid_input only for malformed input (which says
 * nothing about the registry); every well-formed miss is `{ found: false }`.
 */
export async function lookupLock(s: Services, input: LookupInput): Promise<LookupResult> {
  const imeiRaw = input.imei?.trim() ?? '';
  const imei = imeiRaw === '' ? null : validateImei(imeiRaw);
  const reference = normaliseLockReference(input.reference ?? '');
  if (!reference) {
    throw new LienError('invalid_input', 'A lock reference has 8 letters and digits, as shown on the lock screen.', { field: 'reference' });
  }
  const now = s.clock.now();
  const actor = portalActor(input.ip);
  const contract = await s.db.selectFrom('contracts').selectAll().where('lock_reference', '=', reference).executeTakeFirst();
  const device = contract ? await s.db.selectFrom('devices').select(['id', 'imei1', 'imei2', 'released_at']).where('id', '=', contract.device_id).executeTakeFirst() : undefined;
  const matches = contract && device && (imei === null || imei === device.imei1 || imei === device.imei2);
  if (!matches) {
    // Attribute the attempt to the lender whose phone the IMEI names, so they see probing of
    // their devices; the borrower-facing answer is the same either way.
    const byImei = imei ? await deviceByImei(s.db, imei) : undefined;
    const lenderId = byImei?.lender_id ?? null;
    await recordAudit(s, actor, {
      action: 'portal.lookup_failed',
      subjectType: byImei?.lender_id ? 'device' : 'portal',
      subjectId: byImei?.lender_id ? byImei.id : 'lookup',
      lenderId,
      reason: contract ? 'lock reference does not belong to this IMEI' : 'no contract has this lock reference',
      data: { imei, referenceGiven: true },
    });
    return { found: false };
  }
  const lender = await s.db.selectFrom('lenders').selectAll().where('id', '=', contract.lender_id).executeTakeFirstOrThrow();
  const openClaim = await s.db.selectFrom('claims').select(['id', 'number']).where('contract_id', '=', contract.id).where('status', '=', 'open').orderBy('created_at', 'desc').executeTakeFirst();
  const overdue = Number(contract.amount_overdue) > 0;
  const upcoming = overdue ? null : await nextDue(s.db, contract.id);
  const stage = portalStage(contract, device.released_at !== null);
  const payoff = contract.status === 'active' && stage !== 'released' ? await contractPayoff(s.db, contract, now) : null;
  await recordAudit(s, actor, {
    action: 'portal.lookup',
    subjectType: 'contract',
    subjectId: contract.id,
    lenderId: contract.lender_id,
    reason: `borrower looked up the phone ${imei ? 'by IMEI and lock reference' : 'by lock reference'}`,
    data: { imei, stage },
  });
  return {
    found: true,
    contractId: contract.id,
    lockReference: contract.lock_reference,
    stage,
    lender: { name: lender.name, supportPhone: lender.support_phone, supportHours: lender.support_hours, supportUrl: lender.support_url, howToPay: lender.how_to_pay },
    currency: contract.currency,
    amountDue: stage === 'released' ? 0 : overdue ? Number(contract.amount_overdue) : (upcoming?.amount ?? 0),
    overdue: stage !== 'released' && overdue,
    dueDate: stage === 'released' ? null : overdue ? contract.oldest_unpaid_due_date : (upcoming?.dueDate ?? null),
    lockAt: stage === 'notice' ? contract.lock_at : null,
    timeZone: lender.time_zone,
    borrowerLanguage: matchLanguage(contract.borrower_language) ?? 'en',
    openClaim: openClaim !== undefined,
    openClaimNumber: openClaim?.number ?? null,
    payoff: payoff ? { amount: payoff.amount, saving: payoff.saving, asOf: payoff.asOf } : null,
  };
}

export type LienStatus = 'lien' | 'none' | 'released';

/**
 * "Check a phone before buying". Unknown, unsold and retail phones all read `none`, so the
 * answer cannot be used to learn which IMEIs a maker registered.
 */
export async function lienStatus(s: Services, rawImei: string, ip: string): Promise<LienStatus> {
  const imei = validateImei(rawImei);
  const now = s.clock.now();
  const device = await deviceByImei(s.db, imei);
  let status: LienStatus = 'none';
  if (device?.sale_status === 'financed') {
    const active = await s.db.selectFrom('contracts').select('id').where('device_id', '=', device.id).where('status', '=', 'active').executeTakeFirst();
    if (active && device.released_at === null) status = 'lien';
    else {
      const paidOff = await s.db.selectFrom('contracts').select('id').where('device_id', '=', device.id).where('status', '=', 'paid_off').executeTakeFirst();
      status = device.released_at !== null || paidOff ? 'released' : 'none';
    }
  }
  await recordAudit(s, portalActor(ip), {
    action: 'portal.lien_check',
    subjectType: device?.lender_id ? 'device' : 'portal',
    subjectId: device?.lender_id ? device.id : 'lien_check',
    lenderId: device?.lender_id ?? null,
    reason: `lien check answered ${status}`,
    data: { imei, status },
  });
  return status;
}
