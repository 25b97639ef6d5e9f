/** @jsxImportSource preact */
import type { ClaimSummary } from '../../services/claim-review.ts';
import { can } from '../../domain/roles.ts';
import { channelLabel } from '../../i18n/labels.ts';
import { Csrf, day, money, render, Shell, when, type Viewer } from './layout.tsx';

/** How long a claim has waited (or waited until decided): what a queue is sorted by in people's heads. */
function age(from: Date, to: Date): string {
  const min = Math.max(0, Math.round((to.getTime() - from.getTime()) / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

export function renderClaims(viewer: Viewer, opts: { status: string; claims: ClaimSummary[]; serials: Map<string, string>; overdue: Map<string, number>; now: Date; nextCursor: string | null; flash: { text: string; bad?: boolean } | null }): string {
  const decide = can(viewer.role, 'claims');
  return render(
    <Shell title="Claims" viewer={viewer} active="/console/claims" flash={opts.flash}>
      <h1>Payment claims</h1>
      <p>
        {['open', 'approved', 'rejected'].map((s) => (
          <>
            {s === opts.status ? <strong>{s}</strong> : <a href={`/console/claims?status=${s}`}>{s}</a>}{' '}
          </>
        ))}
      </p>
      {opts.claims.length === 0 ? (
        <p class="muted" data-testid="claims-empty">No {opts.status} claims.</p>
      ) : (
        <table data-testid="claims">
          <thead>
            <tr><th>Filed</th><th>Waiting</th><th>Claim</th><th>Device</th><th>Transaction</th><th class="num">Amount / overdue now</th><th>Paid on</th><th>Receipt</th><th>{opts.status === 'open' ? 'Decision' : 'Outcome'}</th></tr>
          </thead>
          <tbody>
            {opts.claims.map((c) => (
              <tr data-claim={c.id}>
                <td>{when(c.createdAt, viewer)}</td>
                <td data-testid="claim-age">{age(c.createdAt, c.decidedAt ?? opts.now)}</td>
                <td>{c.number ?? '—'}<div data-testid="claim-lock">{c.liftedLock ? <strong data-testid="lifted-lock">Lifted the lock while checked</strong> : <span class="muted">Did not lift a lock</span>}</div></td>
                <td><a href={`/console/devices/${c.deviceId}`}>{opts.serials.get(c.deviceId) ?? c.deviceId}</a></td>
                <td class="wrap">{c.transactionRef} · {channelLabel(c.channel)}</td>
                <td class="num" data-testid="claim-amount">
                  {money(c.amount, c.currency)}
                  {opts.overdue.has(c.contractId) && (
                    <div class="muted">
                      of {money(opts.overdue.get(c.contractId)!, c.currency)} overdue{c.status === 'open' ? (c.amount >= opts.overdue.get(c.contractId)! ? ': covers it' : ': partial') : ''}
                    </div>
                  )}
                </td>
                <td>{day(c.paidOn, viewer)}</td>
                <td>{c.hasReceipt ? <a href={`/console/claims/${c.id}/receipt`} hx-boost="false" target="_blank" rel="noopener">view receipt</a> : <span class="muted">none</span>}</td>
                <td>
                  {c.status !== 'open' ? (
                    <span>{c.status} {when(c.decidedAt, viewer)}{c.message ? `: ${c.message}` : ''}</span>
                  ) : decide ? (
                    <>
                      <form method="post" action={`/console/claims/${c.id}/approve`} class="inline">
                        <Csrf token={viewer.csrf} />
                        <button type="submit" data-testid="claim-approve">Approve and post</button>
                      </form>
                      <form method="post" action={`/console/claims/${c.id}/reject`} style="margin-top:6px">
                        <Csrf token={viewer.csrf} />
                        <input name="message" required minLength={3} maxLength={500} placeholder="message to the borrower" data-testid="claim-message" />
                        <button type="submit" class="quiet" data-testid="claim-reject">Reject</button>
                      </form>
                    </>
                  ) : 'open'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {opts.nextCursor && <p><a href={`/console/claims?status=${opts.status}&cursor=${encodeURIComponent(opts.nextCursor)}`}>Older claims</a></p>}
    </Shell>,
  );
}
