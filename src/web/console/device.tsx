/** @jsxImportSource preact */
import type { devicePage, searchDevices } from '../../services/views/console.ts';
import { can } from '../../domain/roles.ts';
import { Csrf, money, render, Shell, Stage, when, type Viewer } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

export function renderSearch(viewer: Viewer, q: string, rows: Awaited<ReturnType<typeof searchDevices>>, flash: Flash): string {
  return render(
    <Shell title="Devices" viewer={viewer} active="/console/devices" flash={flash}>
      <h1>Devices</h1>
      <form method="get" action="/console/devices" class="search">
        <label>
          IMEI or serial number
          <input name="q" value={q} autofocus data-testid="search" />
        </label>
        <button type="submit" data-testid="search-submit">Find</button>
      </form>
      {q && rows.length === 0 && <p data-testid="no-results">No device of yours matches “{q}”.</p>}
      {rows.length > 0 && (
        <table data-testid="results">
          <thead>
            <tr><th>Serial</th><th>IMEI</th><th>Model</th><th>Stage</th><th>Borrower</th><th>Last seen</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td><a href={`/console/devices/${r.id}`}>{r.serial}</a></td>
                <td>{r.imei1}</td>
                <td>{r.model}</td>
                <td>{r.stage ? <Stage stage={r.stage} /> : <span class="muted">no active contract</span>}</td>
                <td>{r.borrower_ref ?? '—'}</td>
                <td>{when(r.last_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Shell>,
  );
}

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
          <dt>Enrolled</dt><dd>{when(d.enrolled_at)}</dd>
          <dt>Last check-in</dt><dd data-testid="last-seen">{when(d.last_seen_at)}</dd>
          <dt>Agent</dt><dd>{d.agent_version ?? '—'}, holds policy v{d.policy_version_held}</dd>
          <dt>Messages</dt><dd><a href={`/console/devices/${d.id}/messages`} data-testid="messages-link">Borrower messages (SMS and screen notes)</a></dd>
          {c && (
            <>
              <dt>Contract</dt>
              <dd><a href={`/console/contracts/${c.id}`} data-testid="contract-link">{c.id}</a> ({c.status})</dd>
              <dt>Borrower</dt><dd>{c.borrower_ref} · {c.borrower_phone}</dd>
              <dt>Stage reason</dt><dd data-testid="stage-reason">{c.stage_reason ?? '—'}</dd>
              <dt>Overdue</dt><dd data-testid="overdue">{money(c.amount_overdue, c.currency)}</dd>
              <dt>Outstanding</dt><dd>{money(c.outstanding, c.currency)}</dd>
              <dt>Lock reference</dt><dd>{c.lock_reference}</dd>
              <dt>Policy</dt><dd>v{c.policy_version}{c.lock_at ? `, locks on its own at ${when(c.lock_at)}` : ''}</dd>
              {manual?.action && (<><dt>Manual action</dt><dd>{manual.action}{manual.until ? ` until ${when(manual.until)}` : ''}</dd></>)}
            </>
          )}
        </dl>
      </section>
      {p.deviceLock && <DeviceLockSection dl={p.deviceLock} />}
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
                  <option value="release">Release for good</option>
                </select>
              </label>
              <label>Until (optional, UTC)<input type="datetime-local" name="until" /></label>
              <label>Reason (audited)<input name="reason" required minLength={3} maxLength={500} data-testid="manual-reason" /></label>
              <button type="submit" data-testid="manual-submit">Apply</button>
            </form>
          )}
        </div>
      )}
      <section>
        <h2>Unlock codes issued</h2>
        {p.codes.length === 0 ? <p class="muted">None.</p> : (
          <table data-testid="codes">
            <thead><tr><th>Issued</th><th>Code</th><th>Kind</th><th>Reason</th><th>By</th></tr></thead>
            <tbody>
              {p.codes.map((t) => (
                <tr>
                  <td>{when(t.issued_at)}</td>
                  <td class="code" data-testid="code-token">{can(viewer.role, 'codes') ? t.token : '•••'}</td>
                  <td>{t.type}{t.value ? ` ${t.value} days` : ''}</td>
                  <td>{t.reason}</td>
                  <td>{t.issued_by}</td>
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
            <thead><tr><th>On the device</th><th>Received</th><th>Event</th><th>Detail</th></tr></thead>
            <tbody>
              {p.events.map((e) => (
                <tr data-kind={e.kind}>
                  <td>{when(e.at)}</td><td>{when(e.received_at)}</td><td>{e.kind.replaceAll('_', ' ')}</td>
                  <td class="muted">{e.detail ? JSON.stringify(e.detail) : ''}</td>
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
              <tr><td>v{pol.version}</td><td><Stage stage={pol.stage} /></td><td>{when(pol.issued_at)}</td><td>{pol.version <= d.policy_version_held ? 'yes' : 'not yet'}</td></tr>
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
              <tr><td>{when(h.at)}</td><td>{h.actor}</td><td>{h.action}</td><td>{h.reason}</td></tr>
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
function DeviceLockSection({ dl }: { dl: NonNullable<Awaited<ReturnType<typeof devicePage>>['deviceLock']> }) {
  return (
    <section data-testid="device-lock">
      <h2>Android Device Lock</h2>
      <dl class="facts">
        <dt>Provisioning</dt>
        <dd data-testid="provision-state">
          {dl.provision_state} — {PROVISION_STATE_TEXT[dl.provision_state] ?? ''}
          {dl.days_left_until_reset !== null && dl.provision_state !== 'SUCCESS' ? `, ${dl.days_left_until_reset} day(s) left before the reset` : ''}
        </dd>
        {dl.failure_reason && (<><dt>Last failure</dt><dd data-testid="provision-failure">{dl.failure_reason} ({dl.failures} failure(s) since {when(dl.first_failure_at)})</dd></>)}
        <dt>Last check-in</dt><dd>{when(dl.last_checkin_at)}{dl.checkin_status ? ` (answered ${dl.checkin_status})` : ''}</dd>
        {dl.provisioned_at && (<><dt>Provisioned</dt><dd>{when(dl.provisioned_at)}</dd></>)}
        {dl.pauses > 0 && (<><dt>Paused by the borrower</dt><dd>{dl.pauses} time(s), last {when(dl.paused_at)}</dd></>)}
        <dt>Push token (FCM)</dt><dd>{dl.fcm_token ? `on file since ${when(dl.fcm_token_at)}` : 'none'}</dd>
        {dl.device_model && (<><dt>Reported model</dt><dd>{[dl.device_manufacturer, dl.device_model].filter(Boolean).join(' ')}{dl.carrier_mccmnc ? `, SIM ${dl.carrier_mccmnc}` : ''}</dd></>)}
        {dl.program_completed_at && (<><dt>Program complete</dt><dd data-testid="program-complete">{when(dl.program_completed_at)}</dd></>)}
      </dl>
    </section>
  );
}
