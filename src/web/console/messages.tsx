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

const SMS_STATUS: Record<string, string> = {
  pending: 'Queued',
  retrying: 'Retrying',
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
        Phone {v.device.serial} holds policy v{v.device.policyVersionHeld}; last check-in {when(v.device.lastSeenAt)}.
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
          <table data-testid="screen-messages">
            <thead>
              <tr><th>Sent</th><th>Note</th><th>Policy</th><th>Status</th><th>By</th></tr>
            </thead>
            <tbody>
              {v.screen.map((n) => (
                <tr data-id={n.id}>
                  <td>{when(n.at)}</td>
                  <td>{noteText(n, currency)}</td>
                  <td>v{n.policyVersion}</td>
                  <td data-status={n.status}>{SCREEN_STATUS[n.status]}</td>
                  <td>{n.sentBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>SMS to the borrower</h2>
        {v.sms.length === 0 ? (
          <p class="muted">No SMS sent about this phone.</p>
        ) : (
          <table data-testid="sms-messages">
            <thead>
              <tr><th>Queued</th><th>Message</th><th>To</th><th>Status</th></tr>
            </thead>
            <tbody>
              {v.sms.map((m) => (
                <tr data-id={m.id}>
                  <td>{when(m.at)}</td>
                  <td lang={m.language}>{m.body}</td>
                  <td>{m.recipient}</td>
                  <td data-status={m.status}>
                    {SMS_STATUS[m.status] ?? m.status}
                    {m.sentAt && <> · {when(m.sentAt)}</>}
                    {m.lastError && <div class="muted">{m.lastError}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Shell>,
  );
}
