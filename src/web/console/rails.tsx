/** @jsxImportSource preact */
import type { PaymentChannelView } from '../../services/rails/channels.ts';
import type { SuspenseItem } from '../../services/rails/suspense.ts';
import { can } from '../../domain/roles.ts';
import { Csrf, money, render, Shell, when, type Viewer } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

/** Payment channels: their callback URLs to register with the provider, and a form to add one. */
export function renderChannels(viewer: Viewer, channels: readonly PaymentChannelView[], flash: Flash): string {
  return render(
    <Shell title="Payment channels" viewer={viewer} active="/console/payment-channels" flash={flash}>
      <h1>Payment channels</h1>
      <p class="muted">
        A channel that has not reported within its freshness window holds new locks (guardrail 3). Register the callback URLs with the
        provider: M-Pesa with <code>lien mpesa register-urls --channel ID</code>, Razorpay and aggregators in their dashboards.
      </p>
      <table data-testid="channels">
        <thead><tr><th>Channel</th><th>Type</th><th>Account</th><th>Freshness</th><th>Last report</th><th>Callback URLs</th><th /></tr></thead>
        <tbody>
          {channels.map((c) => (
            <tr data-channel={c.channel}>
              <td><strong>{c.channel}</strong><br /><span class="muted">{c.id}</span></td>
              <td>{c.type}</td>
              <td>{c.account.shortCode ?? c.account.accountId ?? '—'}{c.options.allowFrom?.length ? <><br /><span class="muted">from {c.options.allowFrom.join(', ')}</span></> : null}</td>
              <td>{c.freshnessMinutes} min{c.stale ? ' (stale)' : ''}</td>
              <td>{when(c.lastReportedAt, viewer)}</td>
              <td class="code" data-testid="callback-urls">
                {Object.entries(c.callbackUrls).map(([k, url]) => <div>{k}: <code>{url}</code></div>)}
                {c.secretsSet.length ? <div class="muted">secrets set: {c.secretsSet.join(', ')}</div> : null}
                {(c.webhookSecretsAccepted ?? 0) > 1 ? <div data-testid="rotation">{c.webhookSecretsAccepted} webhook secrets accepted: rotation under way</div> : null}
              </td>
              <td>
                <ChangeChannel viewer={viewer} c={c} />
                <form method="post" action={`/console/payment-channels/${c.id}/delete`}>
                  <Csrf token={viewer.csrf} />
                  <button type="submit">Remove</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/console/payment-channels" data-testid="channel-form" class="forms">
        <h2>Add a channel</h2>
        <Csrf token={viewer.csrf} />
        <label>Name<input name="channel" required maxLength={60} pattern="[A-Za-z0-9_.\-]+" placeholder="mpesa" /></label>
        <label>
          Type
          <select name="type">
            <option value="mpesa_c2b">M-Pesa C2B (Daraja)</option>
            <option value="razorpay">Razorpay</option>
            <option value="signed_webhook">Signed payment webhook</option>
            <option value="manual">Manual (API, CSV, console)</option>
          </select>
        </label>
        <label>Freshness window (minutes)<input name="freshnessMinutes" type="number" min={1} max={44640} value="360" required /></label>
        <label>M-Pesa short code (paybill)<input name="shortCode" inputmode="numeric" maxLength={7} /></label>
        <label>
          Daraja
          <select name="environment"><option value="sandbox">sandbox</option><option value="production">production</option></select>
        </label>
        <label>Daraja consumer key<input name="consumerKey" autocomplete="off" /></label>
        <label>Daraja consumer secret<input name="consumerSecret" type="password" autocomplete="off" /></label>
        <label>Razorpay account id<input name="accountId" maxLength={64} /></label>
        <label>Webhook secret (Razorpay, or the signed webhook's)<input name="webhookSecret" type="password" autocomplete="off" /></label>
        <label>Accept callbacks only from (IPs or CIDR blocks, comma-separated; empty: any)<input name="allowFrom" /></label>
        <button type="submit">Add channel</button>
      </form>
    </Shell>,
  );
}

/** A channel's change form, folded away: only what its type uses; secrets left blank are kept. */
function ChangeChannel({ viewer, c }: { viewer: Viewer; c: PaymentChannelView }) {
  return (
    <details data-testid="channel-change">
      <summary>Change</summary>
      <form method="post" action={`/console/payment-channels/${c.id}`} class="forms">
        <Csrf token={viewer.csrf} />
        <label>Freshness window (minutes)<input name="freshnessMinutes" type="number" min={1} max={44640} value={String(c.freshnessMinutes)} required /></label>
        {c.type === 'mpesa_c2b' && (
          <>
            <label>M-Pesa short code (paybill)<input name="shortCode" inputmode="numeric" maxLength={7} value={c.account.shortCode ?? ''} required /></label>
            <label>
              Daraja
              <select name="environment">
                {(['sandbox', 'production'] as const).map((e) => <option value={e} selected={(c.options.environment ?? 'sandbox') === e}>{e}</option>)}
              </select>
            </label>
            <label>New Daraja consumer key (blank: keep)<input name="consumerKey" autocomplete="off" /></label>
            <label>New Daraja consumer secret (blank: keep)<input name="consumerSecret" type="password" autocomplete="off" /></label>
          </>
        )}
        {c.type === 'razorpay' && (
          <>
            <label>Razorpay account id<input name="accountId" maxLength={64} value={c.account.accountId ?? ''} /></label>
            <label>New webhook secret (blank: keep)<input name="webhookSecret" type="password" autocomplete="off" /></label>
          </>
        )}
        {c.type === 'signed_webhook' && (
          <>
            <label>New webhook secret (blank: keep)<input name="webhookSecret" type="password" autocomplete="off" /></label>
            <label><input type="radio" name="rotation" value="add" checked /> Accept it alongside the current ones while senders move over</label>
            <label><input type="radio" name="rotation" value="replace" /> Replace the current ones now</label>
            {(c.webhookSecretsAccepted ?? 0) > 1 && <label><input type="checkbox" name="retireOlder" value="1" /> Every sender uses the newest secret: stop accepting the older ones</label>}
          </>
        )}
        {c.type !== 'manual' && (
          <label>Accept callbacks only from (IPs or CIDR blocks, comma-separated; empty: any)<input name="allowFrom" value={(c.options.allowFrom ?? []).join(', ')} /></label>
        )}
        <button type="submit">Save</button>
      </form>
    </details>
  );
}

/** The suspense queue: each entry with its raw payload, and forms to assign it or mark it refunded. */
export function renderSuspense(viewer: Viewer, status: string, items: readonly SuspenseItem[], nextCursor: string | null, flash: Flash): string {
  return render(
    <Shell title="Suspense" viewer={viewer} active="/console/suspense" flash={flash}>
      <h1>Payments in suspense</h1>
      <p>
        {['open', 'assigned', 'refunded'].map((s) => (s === status ? <strong>{s} </strong> : <a href={`/console/suspense?status=${s}`}>{s} </a>))}
      </p>
      {items.length === 0 ? <p class="muted" data-testid="suspense-empty">Nothing {status}.</p> : (
        <table data-testid="suspense">
          <thead><tr><th>Received</th><th>Channel</th><th>Transaction</th><th>Reference given</th><th>Amount</th><th>Why</th><th /></tr></thead>
          <tbody>
            {items.map((i) => (
              <tr data-id={i.id}>
                <td>{when(i.receivedAt, viewer)}</td>
                <td>{i.channel}</td>
                <td>{i.externalRef}<details><summary>payload</summary><pre>{JSON.stringify(i.payload, null, 2)}</pre></details></td>
                <td>{i.reference || '—'}</td>
                <td class="num">{money(i.amount, i.currency)}</td>
                <td>{i.reason.replaceAll('_', ' ')}</td>
                <td>
                  {i.status === 'open' && can(viewer.role, 'pay') ? (
                    <>
                      <form method="post" action={`/console/suspense/${i.id}/assign`} data-testid="assign-form">
                        <Csrf token={viewer.csrf} />
                        <label>Contract (lock reference, IMEI or contract id)<input name="contract" required maxLength={80} /></label>
                        <label>Note (audited)<input name="note" required minLength={3} maxLength={500} /></label>
                        <button type="submit">Assign and post</button>
                      </form>
                      <form method="post" action={`/console/suspense/${i.id}/refund`}>
                        <Csrf token={viewer.csrf} />
                        <label>Refund note (audited)<input name="note" required minLength={3} maxLength={500} /></label>
                        <button type="submit">Mark refunded</button>
                      </form>
                    </>
                  ) : (
                    <span class="muted">{i.status}{i.resolvedAt ? ` ${when(i.resolvedAt, viewer)} by ${i.resolvedBy}` : ''}{i.note ? `: ${i.note}` : ''}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor && <a href={`/console/suspense?status=${status}&cursor=${encodeURIComponent(nextCursor)}`}>Older</a>}
    </Shell>,
  );
}
