/** @jsxImportSource preact */
/**
 * Borrower messages of one device: the notes on its screen and the SMS about its contracts, each
 * with its delivery status, and the form that puts a new note on the screen (issue #15).
 */
import { can } from '../../domain/roles.ts';
import { fillTemplate, t, type MessageKey } from '../../i18n/index.ts';
import type { DeviceMessagesView, ScreenDelivery } from '../../services/views/messages.ts';
import { Csrf, money, render, Shell, when, type Viewer } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

// Lists rather than tables: a message and its status stay readable on a 360 px phone.
const LIST = 'list-style:none;padding:0;margin:0';
const ITEM = 'padding:8px 0;border-bottom:1px solid #e3e7eb;overflow-wrap:anywhere';

const TEMPLATE_LABELS: Record<string, string> = {
  call_us: 'Please call us (with your support number)',
  pay_by: 'Please pay an amount by a date',
  payment_received: 'We received your payment',
  visit_agent: 'Please visit a shop or agent',
  custom: 'Your own words (per language)',
};

const SCREEN_STATUS: Record<ScreenDelivery, string> = {
  on_screen: 'On the phone',
  waiting_for_phone: 'Waiting for the phone to sync',
  replaced: 'Replaced by a later note',
};

const SMS_STATUS: Record<DeviceMessagesView['sms'][number]['status'], string> = {
  queued: 'Queued',
  sent: 'Sent to the SMS provider',
  delivered: 'Delivered',
  failed: 'Failed',
};

const NOTE_KEYS: Record<string, MessageKey> = {
  call_us: 'lock.note.call_us',
  pay_by: 'lock.note.pay_by',
  payment_received: 'lock.note.payment_received',
  visit_agent: 'lock.note.visit_agent',
};

/** The note in English as the console user reads it; the phone words it in the borrower's language. */
function noteText(n: DeviceMessagesView['screen'][number], currency: string | null): string {
  if (n.template === 'custom') return n.texts.default ?? Object.values(n.texts)[0] ?? '';
  const key = Object.hasOwn(NOTE_KEYS, n.template) ? NOTE_KEYS[n.template] : undefined;
  if (!key) return n.template;
  return fillTemplate(t('en', key), {
    lender: 'us',
    phone: 'our support number',
    amount: n.params.amount !== undefined && currency ? money(n.params.amount, currency) : undefined,
    date: n.params.date,
  });
}

export function renderDeviceMessages(viewer: Viewer, v: DeviceMessagesView, flash: Flash): string {
  const base = `/console/devices/${v.device.id}`;
  const currency = v.contract?.currency ?? null;
  const canSend = can(viewer.role, 'manual') && v.contract?.status === 'active';
  return render(
    <Shell title={`Messages · ${v.device.serial}`} viewer={viewer} active="/console/devices" flash={flash}>
      <p>
        <a href={base}>← Device {v.device.serial}</a>
      </p>
      <h1>Borrower messages</h1>
      <p class="muted">
        Phone {v.device.serial} holds policy v{v.device.policyVersionHeld}; last check-in {when(v.device.lastSeenAt, viewer)}.
        {v.contract && <> Borrower's language: {v.contract.borrowerLanguage}.</>}
      </p>
      {canSend && (
        <form method="post" action={`${base}/messages`} class="forms" data-testid="message-form">
          <h2>Put a note on the phone's screen</h2>
          <Csrf token={viewer.csrf} />
          <p class="muted">The phone shows the note in the borrower's language until you send another. Amount in {currency} (major units), date as on the calendar.</p>
          <label>
            Note
            <select name="template" data-testid="message-template">
              {Object.entries(TEMPLATE_LABELS).map(([value, label]) => (
                <option value={value}>{label}</option>
              ))}
            </select>
          </label>
          <label>
            Amount ({currency}, for “pay by”)<input name="amount" inputmode="decimal" maxLength={20} />
          </label>
          <label>
            Date (for “pay by”)<input name="date" type="date" />
          </label>
          <label>
            Your words, default language (for “your own words”)<textarea name="text.default" maxLength={300} rows={2} />
          </label>
          {(['hi', 'sw', 'id', 'es'] as const).map((lang) => (
            <label>
              Your words in {lang} (optional)<textarea name={`text.${lang}`} maxLength={300} rows={2} lang={lang} />
            </label>
          ))}
          <button type="submit" data-testid="message-send">Send to the phone</button>
        </form>
      )}
      <section>
        <h2>Notes on the screen</h2>
        {v.screen.length === 0 ? (
          <p class="muted">No note sent yet.</p>
        ) : (
          <ul data-testid="screen-messages" style={LIST}>
            {v.screen.map((n) => (
              <li data-id={n.id} style={ITEM}>
                <div>{noteText(n, currency)}</div>
                <div class="muted">
                  {when(n.at, viewer)} · policy v{n.policyVersion} · by {n.sentBy} · <strong data-status={n.status}>{SCREEN_STATUS[n.status]}</strong>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h2>SMS to the borrower</h2>
        {v.sms.length === 0 ? (
          <p class="muted">No SMS sent about this phone.</p>
        ) : (
          <ul data-testid="sms-messages" style={LIST}>
            {v.sms.map((m) => (
              <li data-id={m.id} style={ITEM}>
                <div lang={m.language}>{m.body}</div>
                <div class="muted">
                  {when(m.at, viewer)} · to {m.recipient} · <strong data-status={m.status}>{SMS_STATUS[m.status]}</strong>
                  {m.sentAt && <> · {when(m.sentAt, viewer)}</>}
                </div>
                {m.reason && <div class="muted">{m.reason}</div>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </Shell>,
  );
}
