/**
 * What a simulated lock screen says, in words, for one LockScreenView: shared by the terminal
 * screen of `lien device` and the browser emulator so both show the same texts. Pure.
 *
 * Sentences come from the i18n catalog; the values inside them (amount, reference, dates) are
 * kept as separate slots so the browser can mark them for tests and the terminal can just join.
 */
import { findCurrency } from '../../domain/currency.ts';
import { formatDateTime, formatDuration, formatMoney, t, type Lang, type MessageKey } from '../../i18n/index.ts';
import type { Policy } from '../../protocol/index.ts';
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
  /** NORMAL, LOCKED…: the same word in every language, so a demo audience and a test can read it. */
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
  /** Zone deadlines are shown in (default UTC). */
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
  const zone = opts.timeZone ?? 'UTC';
  const mode = view.mode;
  const terminal = mode === 'released' || mode === 'dormant';
  const amount = view.amountDue !== null && view.currency !== null && policy ? money(lang, policy.amountDue, view.currency) : view.amountDue;
  const when = (iso: string) => `${formatDateTime(lang, new Date(iso), zone)}${zone === 'UTC' ? ' UTC' : ''}`;

  const lines: ScreenLine[] = [];
  if (view.offlineNotice && view.lender) {
    const deadline = view.offlineNotice.lockAt ?? view.offlineNotice.deadline;
    lines.push(sentence(lang, 'offline-body', 'lock.offline.body', { lender: { id: 'offline-lender', text: view.lender.name }, deadline: { id: 'offline-until', text: when(deadline) } }));
  } else if (mode === 'notice' && amount !== null && view.noticeUntil) {
    lines.push(sentence(lang, 'notice-body', 'lock.notice.body', { amount: { id: 'notice-amount', text: amount }, deadline: { id: 'notice-until', text: when(view.noticeUntil) } }));
  }
  if (mode === 'restricted') lines.push(sentence(lang, 'restricted-body', 'lock.restricted.body', {}));
  if (mode === 'released') lines.push(sentence(lang, 'released-body', 'lock.released.body', {}));
  // The message describes the contract's stage; while a code's credit holds a lock off, it would
  // tell a borrower whose phone works that it is locked.
  if (view.message && !(mode === 'normal' && view.creditUntil)) lines.push({ id: 'message', parts: [{ id: 'message-text', text: view.message }] });
  if (view.creditUntil) lines.push(sentence(lang, 'credit', 'lock.creditUntil', { date: { id: 'credit-until', text: when(view.creditUntil) } }));
  if (view.lockReference) lines.push(sentence(lang, 'reference', 'lock.reference', { reference: { id: 'lock-reference', text: view.lockReference } }));
  if (view.backoffSecondsRemaining > 0) {
    lines.push(sentence(lang, 'backoff', 'lock.codeBackoff', { duration: { id: 'backoff', text: formatDuration(lang, view.backoffSecondsRemaining) } }));
  }

  const fields: ScreenField[] = [];
  if (view.lender) {
    fields.push({ id: 'lender-name', label: t(lang, 'portal.result.lender'), value: view.lender.name });
    fields.push({ id: 'support-phone', label: t(lang, 'portal.result.supportPhone'), value: view.lender.phone });
    if (view.lender.supportHours && !terminal) fields.push({ id: 'support-hours', label: t(lang, 'portal.result.supportHours'), value: view.lender.supportHours });
  }
  if (amount !== null) fields.push({ id: 'amount-due', label: t(lang, 'portal.result.amountDue'), value: amount });
  if (view.lender?.howToPay && mode !== 'normal' && !terminal) fields.push({ id: 'how-to-pay', label: t(lang, 'portal.result.howToPay'), value: view.lender.howToPay });

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
    modeLabel: mode.toUpperCase(),
    title: TITLES[mode] ? t(lang, TITLES[mode]) : null,
    lines,
    fields,
    emergency,
    notes,
    codeEntry: terminal ? null : { enabled: view.codeEntryEnabled, label: t(lang, 'lock.enterCode'), submit: t(lang, 'lock.submitCode') },
  };
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
