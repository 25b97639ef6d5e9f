/** @jsxImportSource preact */
import type { devicePage } from '../../services/views/console.ts';
import { can } from '../../domain/roles.ts';
import { MessagesSection } from './sms-messages.tsx';
import { actionLabel, codeTypeLabel, eventSentence, reasonLabel, statusLabel } from '../../i18n/labels.ts';
import { ConfirmField, Csrf, money, render, Shell, Stage, when, type Viewer, type Zone } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

export function renderDevice(viewer: Viewer, p: Awaited<ReturnType<typeof devicePage>>, flash: Flash, today: string): string {
  const { device: d, contract: c } = p;
  const active = c?.status === 'active';
  const manual = c?.manual_action;
  return render(
    <Shell title={`Device ${d.serial}`} viewer={viewer} active="/console/devices" flash={flash}>
      <h1>
        Device <span data-testid="serial">{d.serial}</span> {c && <Stage stage={c.status === 'active' ? c.stage : c.status} />}
      </h1>
      <section>
        <dl class="facts">
          <dt>IMEI</dt><dd>{d.imei1}{d.imei2 ? `, ${d.imei2}` : ''}</dd>
          <dt>Model</dt><dd>{d.model}</dd>
          <dt>Enrolled</dt><dd>{when(d.enrolled_at, viewer)}</dd>
          <dt>Last check-in</dt><dd data-testid="last-seen">{when(d.last_seen_at, viewer)}</dd>
          <dt>Agent</dt><dd>{d.agent_version ?? '—'}, holds policy v{d.policy_version_held}</dd>
          <dt>Messages</dt><dd><a href={`/console/devices/${d.id}/messages`} data-testid="messages-link">Borrower messages (SMS and screen notes)</a></dd>
          {c && (
            <>
              <dt>Contract</dt>
              <dd><a href={`/console/contracts/${c.id}`} data-testid="contract-link">{c.id}</a> ({statusLabel(c.status)})</dd>
              <dt>Borrower</dt><dd>{c.borrower_ref} · {c.borrower_phone}</dd>
              <dt>Why</dt><dd data-testid="stage-reason" data-reason={c.stage_reason ?? ''}>{reasonLabel(c.stage_reason)}</dd>
              <dt>Overdue</dt><dd data-testid="overdue">{money(c.amount_overdue, c.currency)}</dd>
              <dt>Outstanding</dt><dd>{money(c.outstanding, c.currency)}</dd>
              <dt>Lock reference</dt><dd>{c.lock_reference}</dd>
              <dt>Policy</dt><dd>v{c.policy_version}{c.lock_at ? `, locks on its own at ${when(c.lock_at, viewer)}` : ''}</dd>
              {manual?.action && (<><dt>Manual action</dt><dd data-testid="manual">{actionLabel(`contract.manual_${manual.action}`)}{manual.until ? ` until ${when(manual.until, viewer)}` : ''}</dd></>)}
            </>
          )}
        </dl>
      </section>
      {p.deviceLock && <DeviceLockSection dl={p.deviceLock} viewer={viewer} />}
      {active && c && (
        <div class="forms">
          {can(viewer.role, 'pay_cash') && (
            <form method="post" action={`/console/devices/${d.id}/payment`} data-testid="payment-form">
              <h2>Record a payment</h2>
              <Csrf token={viewer.csrf} />
              <label>Amount ({c.currency})<input name="amount" required inputmode="decimal" placeholder="2,500.00" data-testid="pay-amount" /></label>
              <label>Receipt or transaction reference<input name="reference" required maxLength={120} data-testid="pay-reference" /></label>
              <label>
                Channel
                {can(viewer.role, 'pay') ? <input name="channel" value="cash" required maxLength={60} data-testid="pay-channel" /> : <input name="channel" value="cash" readOnly />}
              </label>
              <label>Received on<input type="date" name="receivedOn" value={today} max={today} /></label>
              <button type="submit" data-testid="pay-submit">Post payment</button>
            </form>
          )}
          {can(viewer.role, 'codes') && (
            <form method="post" action={`/console/devices/${d.id}/code`} data-testid="code-form">
              <h2>Issue an unlock code</h2>
              <Csrf token={viewer.csrf} />
              <label>
                Kind
                <select name="type" data-testid="code-type">
                  <option value="ADD_TIME">Add days of credit (ADD_TIME)</option>
                  <option value="DISABLE_PAYG">Release for good (DISABLE_PAYG)</option>
                  <option value="COUNTER_SYNC">Resynchronise (COUNTER_SYNC)</option>
                </select>
              </label>
              <label>Days (ADD_TIME)<input name="days" type="number" min={1} max={p.maxCodeDays} value="7" data-testid="code-days" /></label>
              <label>Reason (audited)<input name="reason" required minLength={3} maxLength={500} data-testid="code-reason" /></label>
              <label class="confirm"><input type="checkbox" name="confirm" value="yes" data-testid="code-confirm" /> For a release code: I want to free this phone for good</label>
              <button type="submit" data-testid="code-submit">Issue code</button>
            </form>
          )}
          {can(viewer.role, 'manual') && (
            <form method="post" action={`/console/devices/${d.id}/manual`} data-testid="manual-form">
              <h2>Manual action</h2>
              <Csrf token={viewer.csrf} />
              <label>
                Action
                <select name="action" data-testid="manual-action">
                  <option value="pause">Pause escalation</option>
                  <option value="unlock">Keep unlocked</option>
                  <option value="lock">Lock (guardrails still apply)</option>
                  <option value="clear">Clear the manual action</option>
                </select>
              </label>
              <label>Until (optional, {viewer.timeZone} time)<input type="datetime-local" name="until" /></label>
              <label>Reason (audited)<input name="reason" required minLength={3} maxLength={500} data-testid="manual-reason" /></label>
              <button type="submit" data-testid="manual-submit">Apply</button>
            </form>
          )}
          {can(viewer.role, 'manual') && (
            <form method="post" action={`/console/devices/${d.id}/manual`} data-testid="release-form" hx-confirm={`Release ${d.serial} for good? The lien ends and cannot be put back.`}>
              <h2>Release for good</h2>
              <Csrf token={viewer.csrf} />
              <input type="hidden" name="action" value="release" />
              <p class="muted">Ends the lien: the phone is never locked again, whatever is still owed.</p>
              <label>Reason (audited)<input name="reason" required minLength={3} maxLength={500} data-testid="release-reason" /></label>
              <ConfirmField question={`I want to release ${d.serial} for good`} testId="release-confirm" />
              <button type="submit" class="quiet" data-testid="release-submit">Release for good</button>
            </form>
          )}
        </div>
      )}
      <MessagesSection messages={p.messages} zone={viewer} />
      <section>
        <h2>Unlock codes issued</h2>
        {p.codes.length === 0 ? <p class="muted">None.</p> : (
          <table data-testid="codes">
            <thead><tr><th>Issued</th><th>Code</th><th>Kind</th><th>Reason</th><th>By</th></tr></thead>
            <tbody>
              {p.codes.map((t) => (
                <tr>
                  <td>{when(t.issued_at, viewer)}</td>
                  <td class="code" data-testid="code-token">{can(viewer.role, 'codes') ? t.token : '•••'}</td>
                  <td>{codeTypeLabel(t.type)}{t.value ? `: ${t.value} days` : ''}</td>
                  <td>{t.reason}</td>
                  <td>{p.names.get(t.issued_by) ?? t.issued_by}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Device events (check-ins)</h2>
        {p.events.length === 0 ? <p class="muted">The device has reported nothing yet.</p> : (
          <table data-testid="events">
            <thead><tr><th>On the device</th><th>Received</th><th>What happened</th></tr></thead>
            <tbody>
              {p.events.map((e) => (
                <tr data-kind={e.kind}>
                  <td>{when(e.at, viewer)}</td><td>{when(e.received_at, viewer)}</td><td data-testid="event-sentence">{eventSentence(e.kind, e.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Policies</h2>
        <table data-testid="policies">
          <thead><tr><th>Version</th><th>Stage</th><th>Issued</th><th>On the device</th></tr></thead>
          <tbody>
            {p.policies.map((pol) => (
              <tr><td>v{pol.version}</td><td><Stage stage={pol.stage} /></td><td>{when(pol.issued_at, viewer)}</td><td>{pol.version <= d.policy_version_held ? 'yes' : 'not yet'}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>History</h2>
        <table data-testid="history">
          <thead><tr><th>When</th><th>Who</th><th>What</th><th>Why</th></tr></thead>
          <tbody>
            {p.history.map((h) => (
              <tr><td>{when(h.at, viewer)}</td><td data-testid="history-actor">{p.names.get(h.actor) ?? h.actor}</td><td>{actionLabel(h.action)}</td><td>{h.reason}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </Shell>,
  );
}

const PROVISION_STATE_TEXT: Record<string, string> = {
  UNSPECIFIED: 'not reported yet',
  RETRY: 'failed once; retrying',
  DISMISSIBLE_UI: 'failing; the borrower was told (dismissible)',
  PERSISTENT_UI: 'failing; the borrower was told a reset is near',
  FACTORY_RESET: 'failed; the phone was told to factory reset',
  SUCCESS: 'provisioned',
};

/** What AOSP's DeviceLockController last reported for this phone (docs/android.md). */
function DeviceLockSection({ dl, viewer }: { dl: NonNullable<Awaited<ReturnType<typeof devicePage>>['deviceLock']>; viewer: Zone }) {
  return (
    <section data-testid="device-lock">
      <h2>Android Device Lock</h2>
      <dl class="facts">
        <dt>Provisioning</dt>
        <dd data-testid="provision-state">
          {dl.provision_state} — {PROVISION_STATE_TEXT[dl.provision_state] ?? ''}
          {dl.days_left_until_reset !== null && dl.provision_state !== 'SUCCESS' ? `, ${dl.days_left_until_reset} day(s) left before the reset` : ''}
        </dd>
        {dl.failure_reason && (<><dt>Last failure</dt><dd data-testid="provision-failure">{dl.failure_reason} ({dl.failures} failure(s) since {when(dl.first_failure_at, viewer)})</dd></>)}
        <dt>Last check-in</dt><dd>{when(dl.last_checkin_at, viewer)}{dl.checkin_status ? ` (answered ${dl.checkin_status})` : ''}</dd>
        {dl.provisioned_at && (<><dt>Provisioned</dt><dd>{when(dl.provisioned_at, viewer)}</dd></>)}
        {dl.pauses > 0 && (<><dt>Paused by the borrower</dt><dd>{dl.pauses} time(s), last {when(dl.paused_at, viewer)}</dd></>)}
        <dt>Push token (FCM)</dt><dd>{dl.fcm_token ? `on file since ${when(dl.fcm_token_at, viewer)}` : 'none'}</dd>
        {dl.device_model && (<><dt>Reported model</dt><dd>{[dl.device_manufacturer, dl.device_model].filter(Boolean).join(' ')}{dl.carrier_mccmnc ? `, SIM ${dl.carrier_mccmnc}` : ''}</dd></>)}
        {dl.program_completed_at && (<><dt>Program complete</dt><dd data-testid="program-complete">{when(dl.program_completed_at, viewer)}</dd></>)}
      </dl>
    </section>
  );
}
