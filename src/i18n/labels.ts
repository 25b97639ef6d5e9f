/**
 * Human labels for the codes the console and its exports show: stages, the reasons behind a
 * stage, contract statuses, payment channels, audit actions and device events. The console is
 * for the lender's staff; a code that has no label yet reads as its words, never as snake_case.
 */

const STAGE: Record<string, string> = {
  current: 'Current',
  reminder: 'Reminder',
  notice: 'Notice',
  restricted: 'Restricted',
  locked: 'Locked',
  released: 'Released',
  written_off: 'Written off',
  returned: 'Returned',
  none: 'No contract',
};

const STATUS: Record<string, string> = {
  active: 'Active',
  paid_off: 'Paid off',
  written_off: 'Written off',
  returned: 'Returned',
};

const REASON: Record<string, string> = {
  paid_off: 'Paid off',
  written_off: 'Written off',
  returned: 'Device returned',
  not_past_due: 'Nothing past due',
  reminder_window: 'Payment due soon',
  in_grace: 'In the grace period',
  arrears_cleared: 'Arrears cleared',
  dpd_below_notice: 'Past due, not yet at the notice',
  notice_issued: 'Notice issued',
  dpd_restricted: 'Restricted for days past due',
  dpd_locked: 'Locked for days past due',
  manual_lock: 'Locked by hand',
  manual_lock_before_profile_dpd: 'Lock asked by hand; the profile does not allow it yet',
  manual_unlock: 'Kept unlocked by hand',
  manual_pause: 'Escalation paused by hand',
  kept_stale_feed: 'Kept as it was: a payment channel is not reporting',
  kept_open_claim: 'Kept as it was: a payment claim is open',
  held_stale_feed: 'Lock held: a payment channel is not reporting',
  held_open_dispute: 'Lock held: an open dispute',
  held_open_claim: 'Lock held: an open payment claim',
  no_consent: 'Lock held: no recorded consent',
  awaiting_notice_display: 'Waiting for the phone to show the notice',
  awaiting_notice_period: 'Notice period running',
};

const CHANNEL: Record<string, string> = {
  cash: 'Cash',
  mpesa: 'M-Pesa',
  mobile_money: 'Mobile money',
  airtel: 'Airtel Money',
  bank: 'Bank transfer',
  bank_transfer: 'Bank transfer',
  card: 'Card',
  console: 'Console',
  api: 'API',
  in_store_signature: 'Signed in store',
};

const ACTION: Record<string, string> = {
  'api_key.created': 'API key created',
  'api_key.revoked': 'API key revoked',
  'claim.approved': 'Payment claim approved',
  'claim.rejected': 'Payment claim rejected',
  'claim.submitted': 'Payment claim filed',
  'contract.created': 'Sold on credit',
  'contract.paid_off_early': 'Paid off early',
  'contract.manual_pause': 'Escalation paused',
  'contract.manual_unlock': 'Kept unlocked',
  'contract.manual_lock': 'Locked by hand',
  'contract.manual_clear': 'Manual action cleared',
  'contract.manual_release': 'Released for good',
  'contract.bulk_message': 'Message sent (bulk action)',
  'device.enrolled': 'Phone enrolled',
  'device.locked': 'Phone locked',
  'device.unlocked': 'Phone unlocked',
  'device.released': 'Phone released',
  'device.stage_changed': 'Stage changed',
  'device.provision_state_changed': 'Provisioning state changed',
  'device.program_completed': 'Device Lock program completed',
  'dispute.opened': 'Dispute opened',
  'dispute.resolved': 'Dispute resolved',
  'payment.posted': 'Payment posted',
  'payment.reversed': 'Payment reversed',
  'token.issued': 'Unlock code issued',
  'user.created': 'User added',
  'user.disabled': 'User disabled',
  'lender.settings_updated': 'Settings changed',
  'portal.lookup': 'Borrower looked the phone up',
};

const EVENT: Record<string, string> = {
  boot: 'The phone started',
  notice_shown: 'The phone showed the notice',
  offline_notice_shown: 'The phone showed the offline notice',
  lock_shown: 'The phone showed the lock screen',
  unlocked: 'The phone unlocked',
  token_accepted: 'An unlock code was accepted',
  token_rejected: 'An unlock code was refused',
  sim_change: 'The SIM card changed',
  factory_reset: 'The phone was factory reset',
  policy_rejected: 'The phone refused a policy',
  key_rejected: 'The phone refused a signing key',
  released: 'The phone was released',
};

const CODE_TYPE: Record<string, string> = {
  ADD_TIME: 'Days of credit',
  SET_TIME: 'Credit set',
  DISABLE_PAYG: 'Release for good',
  COUNTER_SYNC: 'Resynchronise',
};

const ROLE: Record<string, string> = {
  admin: 'Admin',
  support: 'Support',
  agent: 'Dealer / sales agent',
  viewer: 'Viewer',
  operator: 'Platform operator',
};

/** Locales the console offers for dates and numbers (the labels themselves are English). */
export const CONSOLE_LOCALES = [
  ['en-GB', 'English (day month year)'],
  ['en-US', 'English (month day year)'],
  ['en-KE', 'English (Kenya)'],
  ['en-NG', 'English (Nigeria)'],
  ['en-IN', 'English (India)'],
  ['sw-KE', 'Kiswahili (Kenya)'],
  ['hi-IN', 'हिन्दी (भारत)'],
  ['es-CO', 'Español (Colombia)'],
  ['es-MX', 'Español (México)'],
  ['id-ID', 'Bahasa Indonesia'],
  ['fr-FR', 'Français'],
  ['pt-BR', 'Português (Brasil)'],
] as const;

/** `some_code.other` → "Some code other": the fallback for codes without a label yet. */
export function words(code: string): string {
  const t = code.replace(/[._]+/g, ' ').trim();
  return t ? t[0]!.toUpperCase() + t.slice(1) : t;
}

const lookup = (table: Record<string, string>) => (code: string | null | undefined): string => (code ? (table[code] ?? words(code)) : '—');

export const stageLabel = lookup(STAGE);
export const statusLabel = lookup(STATUS);
export const reasonLabel = lookup(REASON);
export const channelLabel = lookup(CHANNEL);
export const actionLabel = lookup(ACTION);
export const eventLabel = lookup(EVENT);
export const codeTypeLabel = lookup(CODE_TYPE);
export const roleLabel = lookup(ROLE);

/** A device event and its detail as one sentence (the detail's fields the phone reports). */
export function eventSentence(kind: string, detail: unknown): string {
  const base = eventLabel(kind);
  if (!detail || typeof detail !== 'object') return `${base}.`;
  const d = detail as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof d.policyVersion === 'number') parts.push(`on policy v${d.policyVersion}`);
  if (typeof d.noticeIndex === 'number') parts.push(`notice ${d.noticeIndex + 1}`);
  if (typeof d.count === 'number') parts.push(`code #${d.count}`);
  if (typeof d.reason === 'string') parts.push(`because ${words(d.reason).toLowerCase()}`);
  if (typeof d.type === 'string') parts.push(`(${codeTypeLabel(d.type).toLowerCase()})`);
  if (typeof d.days === 'number') parts.push(`for ${d.days} day${d.days === 1 ? '' : 's'}`);
  const known = new Set(['policyVersion', 'noticeIndex', 'count', 'reason', 'type', 'days']);
  const rest = Object.entries(d).filter(([k, v]) => !known.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'));
  for (const [k, v] of rest.slice(0, 4)) parts.push(`${words(k.replace(/([A-Z])/g, '_$1')).toLowerCase()} ${String(v)}`);
  return parts.length ? `${base}, ${parts.join(', ')}.` : `${base}.`;
}
