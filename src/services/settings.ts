/**
 * A lender's own settings: contact shown on every lock screen, how to pay, the compliance
 * profile, and the payment channels whose freshness gates new locks (guardrail 3).
 */
import type { Kysely } from 'kysely';
import { validateProfile, type ComplianceProfile } from '../domain/compliance.ts';
import { assertTimeZone } from '../domain/dates.ts';
import { validateDeviceLockSettings, type AndroidDeviceLockSettings } from '../domain/android-device-lock.ts';
import { LienError } from '../domain/errors.ts';
import { shippedProfile } from '../domain/profiles/index.ts';
import type { DB } from '../store/schema.ts';
import { feedFreshUntil } from '../domain/evaluation.ts';
import { CONSOLE_LOCALES } from '../i18n/labels.ts';
import { reissuePolicies } from './reissue.ts';
import type { Actor, Services } from './context.ts';
import { commit } from './unit-of-work.ts';
import { isLang } from '../i18n/index.ts';
import { LENDER_MESSAGE_MAX, type LenderText, type LenderTexts } from '../protocol/index.ts';

export interface PaymentChannelSetting {
  channel: string;
  freshnessMinutes: number;
}

export interface LenderSettings {
  name: string;
  supportPhone: string;
  supportUrl: string;
  supportHours: string | null;
  howToPay: string;
  /** The standing message on every enforcing lock screen, in the fallback language; null for none. */
  lockMessage: string | null;
  /** How to pay, support hours and message per borrower language; the fields above are the fallback. */
  texts: LenderTexts;
  currency: string;
  timeZone: string;
  /** How the console writes dates and numbers (migration 0050). */
  locale: string;
  complianceProfile: ComplianceProfile;
  paymentChannels: (PaymentChannelSetting & { lastReportedAt: Date | null; stale: boolean })[];
  /** What Android Device Lock hands phones (docs/android.md); null until set. */
  androidDeviceLock: AndroidDeviceLockSettings | null;
}

export interface SettingsPatch {
  supportPhone?: string;
  supportUrl?: string;
  supportHours?: string | null;
  howToPay?: string;
  lockMessage?: string | null;
  /** Replaces the texts per language; a language or text left out falls back to the default. */
  texts?: Record<string, Record<string, unknown>>;
  timeZone?: string;
  locale?: string;
  /** A shipped profile's id, or a whole profile. */
  complianceProfile?: string | Record<string, unknown>;
  /** Replaces the manual channel list: manual channels left out stop counting for freshness; rails are kept. */
  paymentChannels?: PaymentChannelSetting[];
  /** Replaces the Android Device Lock configuration; null removes it. */
  androidDeviceLock?: Record<string, unknown> | null;
}

export async function getSettings(db: Kysely<DB>, lenderId: string, now: Date): Promise<LenderSettings> {
  const l = await db.selectFrom('lenders').selectAll().where('id', '=', lenderId).executeTakeFirst();
  if (!l) throw new LienError('not_found', `No lender ${lenderId}`);
  const channels = await db.selectFrom('payment_channels').selectAll().where('lender_id', '=', lenderId).orderBy('channel').execute();
  return {
    name: l.name,
    supportPhone: l.support_phone,
    supportUrl: l.support_url,
    supportHours: l.support_hours,
    howToPay: l.how_to_pay,
    lockMessage: l.lock_message,
    texts: l.texts ?? {},
    currency: l.currency,
    timeZone: l.time_zone,
    locale: l.locale,
    // As stored (it was validated on the way in); the engine re-validates before use.
    complianceProfile: l.compliance_profile,
    androidDeviceLock: l.android_device_lock,
    paymentChannels: channels.map((c) => ({
      channel: c.channel,
      freshnessMinutes: c.freshness_minutes,
      lastReportedAt: c.last_reported_at,
      stale: isStale(c.last_reported_at, c.freshness_minutes, now),
    })),
  };
}

function assertConsoleLocale(locale: string): string {
  if (!CONSOLE_LOCALES.some(([code]) => code === locale)) throw new LienError('invalid_input', `locale must be one of: ${CONSOLE_LOCALES.map(([c]) => c).join(', ')}.`, { field: 'locale' });
  return locale;
}

export function isStale(lastReportedAt: Date | null, freshnessMinutes: number, now: Date): boolean {
  return feedFreshUntil(lastReportedAt, freshnessMinutes) < now.getTime();
}

function text(value: string | undefined, field: string, min: number, max: number): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v.length < min || v.length > max) throw new LienError('invalid_input', `${field} must be ${min} to ${max} characters.`, { field });
  return v;
}

/** Per-language limits: what a policy can carry (docs/protocol.md §7.1). */
const TEXT_LIMITS: Record<keyof LenderText, number> = { howToPay: 1000, supportHours: 120, message: LENDER_MESSAGE_MAX };

/**
 * The lender's texts per language, for the borrower languages the catalogs have. Empty texts are
 * dropped (the phone then falls back to the default language), and so is a language left empty.
 */
export function checkLenderTexts(raw: Record<string, Record<string, unknown>>): LenderTexts {
  const out: LenderTexts = {};
  for (const [lang, texts] of Object.entries(raw)) {
    if (!isLang(lang)) throw new LienError('invalid_input', `texts: "${lang.slice(0, 20)}" is not a borrower language (en, hi, sw, id, es).`, { field: 'texts' });
    if (!texts || typeof texts !== 'object') throw new LienError('invalid_input', `texts.${lang} must be an object of texts.`, { field: `texts.${lang}` });
    const kept: LenderText = {};
    for (const [name, value] of Object.entries(texts)) {
      if (!Object.hasOwn(TEXT_LIMITS, name)) throw new LienError('invalid_input', `texts.${lang}.${name.slice(0, 40)} is not a lender text (howToPay, supportHours, message).`, { field: `texts.${lang}` });
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string') throw new LienError('invalid_input', `texts.${lang}.${name} must be text.`, { field: `texts.${lang}.${name}` });
      const v = text(value, `texts.${lang}.${name}`, 0, TEXT_LIMITS[name as keyof LenderText]);
      if (v) kept[name as keyof LenderText] = v;
    }
    if (Object.keys(kept).length > 0) out[lang] = kept;
  }
  return out;
}

export function checkChannels(channels: PaymentChannelSetting[]): PaymentChannelSetting[] {
  const seen = new Set<string>();
  for (const c of channels) {
    const name = c.channel.trim();
    if (!/^[A-Za-z0-9_.-]{1,60}$/.test(name)) throw new LienError('invalid_input', `Payment channel names are 1–60 letters, digits, _ . or - (got ${JSON.stringify(c.channel)}).`, { field: 'paymentChannels' });
    if (seen.has(name)) throw new LienError('invalid_input', `Payment channel ${name} is listed twice.`, { field: 'paymentChannels' });
    if (!Number.isInteger(c.freshnessMinutes) || c.freshnessMinutes < 1 || c.freshnessMinutes > 60 * 24 * 31) {
      throw new LienError('invalid_input', `The freshness window of ${name} must be 1 minute to 31 days, in whole minutes.`, { field: 'paymentChannels' });
    }
    seen.add(name);
  }
  return channels.map((c) => ({ channel: c.channel.trim(), freshnessMinutes: c.freshnessMinutes }));
}

/**
 * Updates the fields given. The profile is validated by the domain (a profile that tries to
 * switch a guardrail off is refused with `invalid_profile`, details.guardrail = true). The support
 * number and payment instructions can be changed but never emptied: guardrail 1 puts them on
 * every lock screen.
 */
export async function updateSettings(s: Services, actor: Actor, lenderId: string, patch: SettingsPatch): Promise<LenderSettings> {
  const supportPhone = text(patch.supportPhone, 'supportPhone', 3, 32);
  const supportUrl = patch.supportUrl === undefined ? undefined : patch.supportUrl.trim();
  if (supportUrl !== undefined && supportUrl !== '' && !/^https?:\/\/\S{1,290}$/.test(supportUrl)) {
    throw new LienError('invalid_input', 'supportUrl must be an http:// or https:// address (or empty).', { field: 'supportUrl' });
  }
  const supportHours = patch.supportHours === undefined || patch.supportHours === null ? patch.supportHours : text(patch.supportHours, 'supportHours', 1, 120);
  const howToPay = text(patch.howToPay, 'howToPay', 1, 2000);
  const lockMessage = patch.lockMessage === undefined || patch.lockMessage === null ? patch.lockMessage : text(patch.lockMessage, 'lockMessage', 0, LENDER_MESSAGE_MAX) || null;
  const texts = patch.texts === undefined ? undefined : checkLenderTexts(patch.texts);
  const timeZone = patch.timeZone === undefined ? undefined : assertTimeZone(patch.timeZone);
  const locale = patch.locale === undefined ? undefined : assertConsoleLocale(patch.locale);
  const profile =
    patch.complianceProfile === undefined
      ? undefined
      : typeof patch.complianceProfile === 'string'
        ? shippedProfile(patch.complianceProfile)
        : validateProfile(patch.complianceProfile);
  const channels = patch.paymentChannels === undefined ? undefined : checkChannels(patch.paymentChannels);
  const deviceLock = patch.androidDeviceLock === undefined || patch.androidDeviceLock === null ? patch.androidDeviceLock : validateDeviceLockSettings(patch.androidDeviceLock);
  await commit(s, actor, async (tx, fx) => {
    const lender = await tx.selectFrom('lenders').select('id').where('id', '=', lenderId).forUpdate().executeTakeFirst();
    if (!lender) throw new LienError('not_found', `No lender ${lenderId}`);
    const set = {
      ...(supportPhone !== undefined ? { support_phone: supportPhone } : {}),
      ...(supportUrl !== undefined ? { support_url: supportUrl } : {}),
      ...(supportHours !== undefined ? { support_hours: supportHours } : {}),
      ...(howToPay !== undefined ? { how_to_pay: howToPay } : {}),
      ...(lockMessage !== undefined ? { lock_message: lockMessage } : {}),
      ...(texts !== undefined ? { texts: JSON.stringify(texts) } : {}),
      ...(timeZone !== undefined ? { time_zone: timeZone } : {}),
      ...(locale !== undefined ? { locale } : {}),
      ...(profile !== undefined ? { compliance_profile: JSON.stringify(profile) } : {}),
      ...(deviceLock !== undefined ? { android_device_lock: deviceLock === null ? null : JSON.stringify(deviceLock) } : {}),
    };
    if (Object.keys(set).length) await tx.updateTable('lenders').set(set).where('id', '=', lenderId).execute();
    if (channels !== undefined) {
      const keep = channels.map((c) => c.channel);
      // Only manual channels: a rail (M-Pesa, Razorpay, signed webhook) has callback URLs registered
      // with its provider and is removed on its own (DELETE /v1/payment-channels/{id}).
      let del = tx.deleteFrom('payment_channels').where('lender_id', '=', lenderId).where('type', '=', 'manual');
      if (keep.length) del = del.where('channel', 'not in', keep);
      await del.execute();
      for (const c of channels) {
        // A new channel starts fresh; an existing one keeps when it last reported.
        await tx
          .insertInto('payment_channels')
          .values({ lender_id: lenderId, channel: c.channel, freshness_minutes: c.freshnessMinutes, last_reported_at: fx.now })
          .onConflict((oc) => oc.columns(['lender_id', 'channel']).doUpdateSet({ freshness_minutes: c.freshnessMinutes }))
          .execute();
      }
    }
    await fx.audit({
      action: 'lender.settings_updated',
      subjectType: 'lender',
      subjectId: lenderId,
      lenderId,
      reason: `settings changed: ${[...Object.keys(set), ...(channels ? ['payment_channels'] : [])].join(', ') || 'nothing'}`,
      data: { ...patch, complianceProfile: profile ? profile.id : undefined },
    });
  });
  // What the lock screen shows, or what decides it, changed: every phone gets a new policy.
  const shown = [supportPhone, supportUrl, supportHours, howToPay, lockMessage, texts, timeZone, profile].some((v) => v !== undefined);
  if (shown) await reissuePolicies(s, actor, lenderId, 'lender settings changed');
  return getSettings(s.db, lenderId, s.clock.now());
}
