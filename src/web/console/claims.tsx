/** @jsxImportSource preact */
import type { ClaimSummary } from '../../services/claim-review.ts';
import { can } from '../../domain/roles.ts';
import { Csrf, money, render, Shell, when, type Viewer } from './layout.tsx';

export function renderClaims(viewer: Viewer, opts: { status: string; claims: ClaimSummary[]; serials: Map<string, string>; nextCursor: string | null; flash: { text: string; bad?: boolean } | null }): string {
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
            <tr><th>Filed</th><th>Claim</th><th>Device</th><th>Transaction</th><th class="num">Amount</th><th>Paid on</th><th>Receipt</th><th>{opts.status === 'open' ? 'Decision' : 'Outcome'}</th></tr>
          </thead>
          <tbody>
            {opts.claims.map((c) => (
              <tr data-claim={c.id}>
                <td>{when(c.createdAt, viewer)}</td>
                <td>{c.number ?? '—'}{c.liftedLock ? <> <strong data-testid="lifted-lock" title="This claim covered the overdue amount and lifted the lock while it is checked">lifted the lock</strong></> : null}</td>
                <td><a href={`/console/devices/${c.deviceId}`}>{opts.serials.get(c.deviceId) ?? c.deviceId}</a></td>
                <td>{c.transactionRef} · {c.channel}</td>
                <td class="num">{money(c.amount, c.currency)}</td>
                <td>{c.paidOn}</td>
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
