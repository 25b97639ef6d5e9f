/**
 * What a simulated lock screen says, in words, for one LockScreenView: shared by the terminal
 * screen of `lien device` and the browser emulator so both show the same texts. Pure.
 *
 * Sentences come from the i18n catalog; the values inside them (amount, reference, dates) are
 * kept as separate slots so the browser can mark them for tests and the terminal can just join.
 */
import { findCurrency } from '../../domain/currency.ts';
import { formatDate, formatDateTime, formatDuration, formatMoney, t, type Lang, type MessageKey } from '../../i18n/index.ts';
import { REASON_CODES, type Policy, type ScreenNote } from '../../protocol/index.ts';
import type { LockScreenView, ScreenMode } from '../ports.ts';

/** Plain text, or a value with a stable id (`data-testid` in the browser). */
export type Segment = string | { id: string; text: string };

export interface ScreenLine {
  id: string;
  parts: Segment[];
}

export interface ScreenField {
  id: string;
  label: string;
  value: string;
}

export interface ScreenModel {
  mode: ScreenMode;
  /** The badge (LOCKED, NOTICE…) in the borrower's language; `mode` is the word tests read. */
  modeLabel: string;
  title: string | null;
  lines: ScreenLine[];
  fields: ScreenField[];
  /** Shown whenever calls are limited: emergency calls always work. */
  emergency: ScreenLine | null;
  notes: ScreenLine[];
  /** Null on a released or dormant phone, which takes no codes. */
  codeEntry: { enabled: boolean; label: string; submit: string } | null;
}

export interface DescribeOptions {
  lang: Lang;
  /** Zone deadlines are shown in when the policy names none (default UTC). */
  timeZone?: string;
}

const TITLES: Partial<Record<ScreenMode, MessageKey>> = {
  reminder: 'lock.reminder.title',
  notice: 'lock.notice.title',
  restricted: 'lock.restricted.title',
  locked: 'lock.title',
  released: 'lock.released.title',
};

/** Emergency numbers named on screen; the dialer allows the whole list. */
const EMERGENCY_SHOWN = 3;

/**
 * `policy` is the one the agent enforces: the view carries the amount already formatted, the
 * policy the minor units, which formatMoney needs with the currency's ISO exponent.
 */
export function describeScreen(view: LockScreenView, policy: Policy | null, opts: DescribeOptions): ScreenModel {
  const { lang } = opts;
  // The lender's zone from the policy: a borrower reads the lender's deadlines on the lender's clock.
  const zone = view.facts?.timeZone ?? opts.timeZone ?? 'UTC';
  const mode = view.mode;
  const terminal = mode === 'released' || mode === 'dormant';
  const amount = view.amountDue !== null && view.currency !== null && policy ? money(lang, policy.amountDue, view.currency) : view.amountDue;
  const when = (iso: string) => `${formatDateTime(lang, new Date(iso), zone)}${zone === 'UTC' ? ' UTC' : ''}`;
  const day = (date: string) => formatDate(lang, date);
  const texts = lenderTexts(view, lang);
  const lender = view.lender ? { id: 'lender', text: view.lender.name } : null;

  const lines: ScreenLine[] = [];
  const why = lender && !terminal ? reasonLine(lang, view, policy, lender, day) : null;
  if (why && (mode === 'locked' || mode === 'restricted')) lines.push(why);
  if (view.offlineNotice && view.lender) {
    const deadline = view.offlineNotice.lockAt ?? view.offlineNotice.deadline;
    lines.push(sentence(lang, 'offline-body', 'lock.offline.body', { lender: { id: 'offline-lender', text: view.lender.name }, deadline: { id: 'offline-until', text: when(deadline) } }));
  } else if (mode === 'notice' && amount !== null) {
    if (why) lines.push(why);
    lines.push(
      view.noticeUntil
        ? sentence(lang, 'notice-body', 'lock.notice.body', { amount: { id: 'notice-amount', text: amount }, deadline: { id: 'notice-until', text: when(view.noticeUntil) } })
        : sentence(lang, 'notice-body', 'lock.notice.bodyNoDate', { amount: { id: 'notice-amount', text: amount } }),
    );
  }
  if (mode === 'reminder' && lender && view.facts?.dueDate) {
    const dueDate = { id: 'due-date', text: day(view.facts.dueDate) };
    lines.push(
      amount !== null
        ? sentence(lang, 'reminder-body', 'lock.reminder.body', { amount: { id: 'reminder-amount', text: amount }, dueDate })
        : sentence(lang, 'reminder-body', 'lock.reminder.bodyNoAmount', { lender, dueDate }),
    );
  }
  if (mode === 'restricted') lines.push(sentence(lang, 'restricted-body', 'lock.restricted.body', {}));
  if (mode === 'released') lines.push(sentence(lang, 'released-body', 'lock.released.body', {}));
  if (mode === 'dormant') lines.push(sentence(lang, 'dormant', 'lock.dormant', {}));
  const note = view.note && lender && !terminal ? noteLine(lang, view, lender, policy, day) : null;
  if (note) lines.push(note);
  if (view.creditUntil) lines.push(sentence(lang, 'credit', 'lock.creditUntil', { date: { id: 'credit-until', text: when(view.creditUntil) } }));
  if (view.lockReference) lines.push(sentence(lang, 'reference', 'lock.reference', { reference: { id: 'lock-reference', text: view.lockReference } }));
  if (view.backoffSecondsRemaining > 0) {
    lines.push(sentence(lang, 'backoff', 'lock.codeBackoff', { duration: { id: 'backoff', text: formatDuration(lang, view.backoffSecondsRemaining) } }));
  }

  const fields: ScreenField[] = [];
  if (view.lender) {
    fields.push({ id: 'lender-name', label: t(lang, 'portal.result.lender'), value: view.lender.name });
    fields.push({ id: 'support-phone', label: t(lang, 'portal.result.supportPhone'), value: view.lender.phone });
    if (texts.supportHours && !terminal) fields.push({ id: 'support-hours', label: t(lang, 'portal.result.supportHours'), value: texts.supportHours });
  }
  if (amount !== null) fields.push({ id: 'amount-due', label: t(lang, 'portal.result.amountDue'), value: amount });
  if (texts.howToPay && mode !== 'normal' && !terminal) fields.push({ id: 'how-to-pay', label: t(lang, 'portal.result.howToPay'), value: texts.howToPay });
  // The lender's standing message describes the debt; while a code's credit holds a lock off it
  // would tell a borrower whose phone works that it is locked.
  if (view.lender && texts.message && !terminal && !(mode === 'normal' && view.creditUntil)) {
    fields.push({ id: 'lender-message', label: t(lang, 'lock.lenderMessage', { lender: view.lender.name }), value: texts.message });
  }

  const limited = mode === 'locked' || mode === 'restricted';
  const emergency: ScreenLine | null = limited
    ? { id: 'emergency', parts: [t(lang, 'lock.emergency'), ' ', { id: 'emergency-numbers', text: emergencyList(view.emergencyNumbers) }] }
    : null;

  const notes: ScreenLine[] = [];
  if (mode === 'locked') {
    notes.push(sentence(lang, 'how-to-pay-note', 'lock.howToPay', {}));
    notes.push(sentence(lang, 'reset-note', 'lock.resetNote', {}));
  }

  return {
    mode,
    modeLabel: t(lang, BADGES[mode]),
    title: TITLES[mode] ? t(lang, TITLES[mode]) : null,
    lines,
    fields,
    emergency,
    notes,
    codeEntry: terminal ? null : { enabled: view.codeEntryEnabled, label: t(lang, 'lock.enterCode'), submit: t(lang, 'lock.submitCode') },
  };
}

const BADGES: Record<ScreenMode, MessageKey> = {
  normal: 'lock.badge.normal',
  reminder: 'lock.badge.reminder',
  notice: 'lock.badge.notice',
  restricted: 'lock.badge.restricted',
  locked: 'lock.badge.locked',
  released: 'lock.badge.released',
  dormant: 'lock.badge.dormant',
};

type Slot = { id: string; text: string };

/** The lender's texts in `lang`, each falling back on its own to the policy's default-language text. */
export function lenderTexts(view: Pick<LockScreenView, 'lender' | 'lenderTexts'>, lang: Lang): { howToPay: string | null; supportHours: string | null; message: string | null } {
  const own = view.lenderTexts && Object.hasOwn(view.lenderTexts, lang) ? view.lenderTexts[lang] : undefined;
  return {
    howToPay: own?.howToPay || view.lender?.howToPay || null,
    supportHours: own?.supportHours || view.lender?.supportHours || null,
    message: own?.message || view.lender?.message || null,
  };
}

/**
 * Why the phone is held, worded from the policy's reason code. A 1.0 policy has no facts: its
 * stage says as much, and the English `message` it carries is never shown.
 */
function reasonLine(lang: Lang, view: LockScreenView, policy: Policy | null, lender: Slot, day: (d: string) => string): ScreenLine | null {
  const known = view.facts && (REASON_CODES as readonly string[]).includes(view.facts.reason) ? view.facts.reason : null;
  const reason = known ?? (policy && ['notice', 'restricted', 'locked'].includes(policy.stage) ? 'overdue' : null);
  if (reason === 'manual_lock') return sentence(lang, 'reason', 'lock.why.manualLock', { lender });
  if (reason !== 'overdue') return null;
  const since = view.facts?.dueDate;
  return since ? sentence(lang, 'reason', 'lock.why.overdue', { lender, date: { id: 'overdue-since', text: day(since) } }) : sentence(lang, 'reason', 'lock.why.overdueNoDate', { lender });
}

const NOTE_KEYS: Record<Exclude<ScreenNote['template'], 'custom'>, MessageKey> = {
  call_us: 'lock.note.call_us',
  pay_by: 'lock.note.pay_by',
  payment_received: 'lock.note.payment_received',
  visit_agent: 'lock.note.visit_agent',
};

/** The lender note: a catalog template in the borrower's language, or the lender's own text for it. */
function noteLine(lang: Lang, view: LockScreenView, lender: Slot, policy: Policy | null, day: (d: string) => string): ScreenLine | null {
  const note = view.note!;
  if (note.template === 'custom') {
    const texts = note.texts ?? {};
    const text = (Object.hasOwn(texts, lang) ? texts[lang] : undefined) ?? texts.default ?? '';
    return { id: 'note', parts: [{ id: 'note-text', text }] };
  }
  // A template of a later minor version: nothing rather than a sentence outside the catalog.
  const key = Object.hasOwn(NOTE_KEYS, note.template) ? NOTE_KEYS[note.template as keyof typeof NOTE_KEYS] : null;
  if (!key) return null;
  const currency = policy?.currency ?? view.currency;
  const slots: Record<string, Slot> = { lender: { id: 'note-lender', text: lender.text } };
  if (view.lender) slots.phone = { id: 'note-phone', text: view.lender.phone };
  if (note.params.amount !== undefined && currency) slots.amount = { id: 'note-amount', text: money(lang, note.params.amount, currency) };
  if (note.params.date !== undefined) slots.date = { id: 'note-date', text: day(note.params.date) };
  return sentence(lang, 'note', key, slots);
}

/** The line's text with every slot filled in: what the terminal prints. */
export function lineText(line: ScreenLine): string {
  return line.parts.map((p) => (typeof p === 'string' ? p : p.text)).join('');
}

function money(lang: Lang, minor: number, currency: string): string {
  return formatMoney(lang, minor, currency, findCurrency(currency)?.exponent);
}

function emergencyList(numbers: readonly string[]): string {
  const shown = numbers.slice(0, EMERGENCY_SHOWN).join(' · ');
  return numbers.length > EMERGENCY_SHOWN ? `${shown} …` : shown;
}

/**
 * A catalog sentence cut at its placeholders, so each value stays a slot whatever word order the
 * translation uses.
 */
function sentence(lang: Lang, id: string, key: MessageKey, slots: Record<string, { id: string; text: string }>): ScreenLine {
  const template = t(lang, key);
  const parts: Segment[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([A-Za-z][A-Za-z0-9_]*)\}/g)) {
    const slot = Object.hasOwn(slots, m[1]!) ? slots[m[1]!] : undefined;
    if (!slot) continue;
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push(slot);
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return { id, parts };
}
