/** @jsxImportSource preact */
import type { contractPage } from '../../services/views/console.ts';
import { can } from '../../domain/roles.ts';
import { channelLabel } from '../../i18n/labels.ts';
import { Csrf, day, money, render, Shell, Stage, when, type Viewer } from './layout.tsx';

export function renderContract(viewer: Viewer, p: Awaited<ReturnType<typeof contractPage>>, flash: { text: string; bad?: boolean } | null): string {
  const { contract: c, device, installments, payments } = p;
  const m = (v: number) => money(v, c.currency);
  return render(
    <Shell title={`Contract ${c.id}`} viewer={viewer} active="/console/devices" flash={flash}>
      <h1>
        Contract {c.id} <Stage stage={c.status === 'active' ? c.stage : c.status} />
      </h1>
      <section>
        <dl class="facts">
          <dt>Device</dt><dd><a href={`/console/devices/${device.id}`}>{device.serial}</a> · {device.model} · IMEI {device.imei1}</dd>
          <dt>Borrower</dt><dd>{c.borrower_ref} · {c.borrower_phone} · {c.borrower_language}</dd>
          <dt>Financed</dt><dd>{m(c.financed)}</dd>
          <dt>Outstanding</dt><dd data-testid="outstanding">{m(c.outstanding)}</dd>
          <dt>Overdue</dt><dd>{m(c.amount_overdue)}{c.oldest_unpaid_due_date ? ` since ${day(c.oldest_unpaid_due_date, viewer)}` : ''}</dd>
          {p.payoff && (
            <>
              <dt>Pay off today</dt>
              <dd data-testid="payoff">
                {m(p.payoff.amount)} settles it on {p.payoff.asOf}
                {p.payoff.saving > 0 ? ` (${m(p.payoff.saving)} less than the rest of the schedule: ${p.payoff.rule === 'accrued_to_date' ? 'interest accrued to the date' : `rebate rule ${p.payoff.rule.replaceAll('_', ' ')}`})` : ''}
              </dd>
            </>
          )}
          <dt>Consent</dt><dd>{c.consent_at ? `${when(c.consent_at, viewer)} via ${channelLabel(c.consent_channel)} (terms ${c.consent_terms_version})` : 'none recorded: this contract can never lock'}</dd>
        </dl>
      </section>
      <section>
        <h2>Schedule and allocations</h2>
        <table data-testid="schedule">
          <thead>
            <tr><th>#</th><th>Due</th><th class="num">Principal</th><th class="num">Interest</th><th class="num">Fee</th><th class="num">Penalty</th><th class="num">Due total</th><th class="num">Paid</th><th class="num">Left</th></tr>
          </thead>
          <tbody>
            {installments.map((i) => {
              const due = i.principal + i.interest + i.fee + i.penalty;
              const paid = i.paid_principal + i.paid_interest + i.paid_fee + i.paid_penalty;
              return (
                <tr data-n={String(i.n)}>
                  <td>{i.n}</td><td>{day(i.due_date, viewer)}</td>
                  <td class="num">{m(i.paid_principal)} / {m(i.principal)}</td>
                  <td class="num">{m(i.paid_interest)} / {m(i.interest)}</td>
                  <td class="num">{m(i.paid_fee)} / {m(i.fee)}</td>
                  <td class="num">{m(i.paid_penalty)} / {m(i.penalty)}</td>
                  <td class="num">{m(due)}</td><td class="num" data-testid="paid">{m(paid)}</td><td class="num">{m(due - paid)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Payments</h2>
        {payments.length === 0 ? <p class="muted">No payments yet.</p> : (
          <table data-testid="payments">
            <thead><tr><th>Received</th><th>Reference</th><th>Channel</th><th class="num">Amount</th><th>Posted by</th><th>Status</th></tr></thead>
            <tbody>
              {payments.map((pay) => (
                <tr data-payment={pay.id}>
                  <td>{when(pay.received_at, viewer)}</td><td>{pay.external_ref}</td><td>{channelLabel(pay.channel)}</td><td class="num">{m(pay.amount)}</td><td>{p.names.get(pay.posted_by) ?? pay.posted_by}</td>
                  <td>
                    {pay.reversed_at ? (
                      <span>reversed {when(pay.reversed_at, viewer)}: {pay.reversal_reason}</span>
                    ) : can(viewer.role, 'reverse') ? (
                      <form method="post" action={`/console/contracts/${c.id}/payments/${pay.id}/reverse`} class="inline">
                        <Csrf token={viewer.csrf} />
                        <input name="reason" required minLength={3} maxLength={500} placeholder="why (audited)" />
                        <button type="submit" class="quiet">Reverse</button>
                      </form>
                    ) : 'standing'}
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
