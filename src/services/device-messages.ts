/**
 * A short note from the lender on the borrower's phone screen (issue #15). The note is a template
 * of the device catalogs (so the phone words it in the borrower's language) with an amount and a
 * date, or the lender's own words per language with a fallback. It travels in the signed policy:
 * sending one re-issues the device's policy in the same unit of work, which nudges the phone.
 */
import { isPlainDate } from '../domain/dates.ts';
import { LienError } from '../domain/errors.ts';
import { decide } from '../domain/evaluation.ts';
import { isLang } from '../i18n/index.ts';
import { NOTE_TEMPLATES, NOTE_TEXT_MAX, type NoteTemplate, type ScreenNote } from '../protocol/index.ts';
import { newId } from '../store/ids.ts';
import type { Actor, Services } from './context.ts';
import { applyOutcome, loadFacts } from './evaluate.ts';
import { commit } from './unit-of-work.ts';

export interface DeviceMessageInput {
  template: string;
  params?: { amount?: unknown; date?: unknown };
  /** For `custom`: the lender's words per language tag, and `default` for any other language. */
  texts?: Record<string, unknown>;
}

export interface SentDeviceMessage {
  id: string;
  deviceId: string;
  contractId: string;
  /** The policy version that carries the note: the phone shows it once it holds this version. */
  policyVersion: number;
  note: ScreenNote;
}

/** Templates whose sentence names each value: the value must be given. */
const NEEDS: Partial<Record<NoteTemplate, ('amount' | 'date')[]>> = { pay_by: ['amount', 'date'] };

function bad(message: string, field: string): never {
  throw new LienError('invalid_input', message, { field });
}

/** The note as the policy will carry it, from untrusted input; `id` and `sentAt` come from the caller. */
export function checkNote(input: DeviceMessageInput, id: string, sentAt: Date): ScreenNote {
  const template = input.template as NoteTemplate;
  if (!NOTE_TEMPLATES.includes(template)) bad(`template must be one of ${NOTE_TEMPLATES.join(', ')}.`, 'template');
  const params: ScreenNote['params'] = {};
  const { amount, date } = input.params ?? {};
  if (amount !== undefined && amount !== null && amount !== '') {
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) bad('params.amount must be a whole number of minor units (cents), 0 or more.', 'params.amount');
    params.amount = amount;
  }
  if (date !== undefined && date !== null && date !== '') {
    if (!isPlainDate(date)) bad('params.date must be a date as YYYY-MM-DD.', 'params.date');
    params.date = date;
  }
  for (const need of NEEDS[template] ?? []) if (params[need] === undefined) bad(`The ${template} note needs params.${need}.`, `params.${need}`);
  const note: ScreenNote = { id, template, params, sentAt: sentAt.toISOString() };
  if (template === 'custom') {
    const texts: Record<string, string> = {};
    for (const [lang, raw] of Object.entries(input.texts ?? {})) {
      if (lang !== 'default' && !isLang(lang)) bad(`texts: "${lang.slice(0, 20)}" is not a borrower language or "default".`, 'texts');
      if (raw === undefined || raw === null) continue;
      if (typeof raw !== 'string') bad(`texts.${lang} must be text.`, `texts.${lang}`);
      const text = raw.trim();
      if (text.length > NOTE_TEXT_MAX) bad(`texts.${lang} is longer than ${NOTE_TEXT_MAX} characters: a note must fit on a lock screen.`, `texts.${lang}`);
      if (text) texts[lang] = text;
    }
    if (!texts.default) bad('A custom note needs texts.default, shown to borrowers whose language has no text of its own.', 'texts.default');
    note.texts = texts;
  } else if (input.texts !== undefined && Object.keys(input.texts).length > 0) {
    bad('texts apply only to the custom template; the other templates are worded by the phone in its language.', 'texts');
  }
  return note;
}

/**
 * Puts a note on the screen of a lender's device (its active contract), replacing the one it
 * showed: audited, recorded for the borrower-messages page, carried in a new signed policy whose
 * issue nudges the phone.
 */
export async function sendDeviceMessage(s: Services, actor: Actor, deviceId: string, input: DeviceMessageInput): Promise<SentDeviceMessage> {
  const id = newId('msg');
  const note = checkNote(input, id, s.clock.now());
  return commit(s, actor, async (tx, fx) => {
    note.sentAt = fx.now.toISOString();
    let q = tx.selectFrom('contracts').selectAll().where('device_id', '=', deviceId).where('status', '=', 'active');
    if (actor.lenderId !== null) q = q.where('lender_id', '=', actor.lenderId);
    const contract = await q.forUpdate().executeTakeFirst();
    if (!contract) throw new LienError('not_found', `No active contract of yours on device ${deviceId}: a note goes only to a phone under an active contract.`, { deviceId });
    await tx.updateTable('contracts').set({ screen_note: JSON.stringify(note) }).where('id', '=', contract.id).execute();
    const [facts] = await loadFacts(tx, [{ ...contract, screen_note: note }], fx.now);
    const evaluation = await applyOutcome(s, tx, fx, { ...decide(facts!, fx.now), changed: true }, `lender note ${id}`);
    await tx
      .insertInto('device_messages')
      .values({
        id,
        lender_id: contract.lender_id,
        device_id: deviceId,
        contract_id: contract.id,
        template: note.template,
        params: note.params,
        texts: note.texts ?? {},
        policy_version: evaluation.policyVersion,
        created_by: `${actor.kind}:${actor.id}`,
        created_at: fx.now,
      })
      .execute();
    await fx.audit({
      action: 'device.message_sent',
      subjectType: 'device',
      subjectId: deviceId,
      lenderId: contract.lender_id,
      reason: `lender note (${note.template}) on the phone's screen`,
      data: { messageId: id, contractId: contract.id, template: note.template, params: note.params, policyVersion: evaluation.policyVersion },
    });
    return { id, deviceId, contractId: contract.id, policyVersion: evaluation.policyVersion, note };
  });
}
