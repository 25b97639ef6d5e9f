/** @jsxImportSource preact */
import { reasonLabel, stageLabel } from '../../i18n/labels.ts';
import type { Dashboard } from '../../services/views/dashboard.ts';
import { BarChart } from './charts.tsx';
import { money, render, Shell, when, type Viewer } from './layout.tsx';

const STAGES = ['current', 'reminder', 'notice', 'restricted', 'locked'];

function seconds(v: number): string {
  return v < 120 ? `${v.toFixed(1)} s` : `${(v / 60).toFixed(1)} min`;
}

const list = (params: Record<string, string>) => `/console/devices?${new URLSearchParams(params).toString()}`;

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '0%';
}

export function renderDashboard(viewer: Viewer, d: Dashboard, flash?: { text: string; bad?: boolean } | null): string {
  const stages = [...STAGES, ...Object.keys(d.stages).filter((s) => !STAGES.includes(s))];
  const locks = d.perDay.reduce((a, p) => a + p.locks, 0);
  const unlocks = d.perDay.reduce((a, p) => a + p.unlocks, 0);
  return render(
    <Shell title="Dashboard" viewer={viewer} active="/console" flash={flash ?? null}>
      <h1>Dashboard</h1>
      <h2>Active contracts by stage</h2>
      <div class="cards" data-testid="stage-counts">
        {stages.map((s) => (
          <a class="card tile" href={list({ stage: s })} data-stage={s}>
            <div class="n">{d.stages[s] ?? 0}</div>
            <div class="l">{stageLabel(s)}</div>
          </a>
        ))}
        <a class="card tile" href={list({ dpd: '1+', sort: 'overdue' })}>
          <div class="n" data-testid="overdue-amount">{money(d.overdue.amount, d.currency)}</div>
          <div class="l">overdue on {d.overdue.contracts} contracts</div>
        </a>
        <a class="card tile" href={list({ held: 'any' })} data-testid="held-tile">
          <div class="n">{d.held.length}</div>
          <div class="l">locks held back</div>
        </a>
      </div>
      <section>
        <h2>Arrears ageing (portfolio at risk)</h2>
        <div class="scroll">
          <table data-testid="par">
            <thead><tr><th>Days past due</th><th class="num">Contracts</th><th class="num">Outstanding at risk</th><th class="num">Share of the book</th><th class="num">Overdue</th></tr></thead>
            <tbody>
              {d.par.map((b) => (
                <tr data-par={String(b.days)}>
                  <td><a href={list({ dpd: `${b.days}+`, sort: 'dpd' })}>PAR {b.days}</a></td>
                  <td class="num"><a href={list({ dpd: `${b.days}+`, sort: 'dpd' })} data-testid={`par-${b.days}-count`}>{b.contracts}</a></td>
                  <td class="num"><a href={list({ dpd: `${b.days}+`, sort: 'overdue' })}>{money(b.outstanding, d.currency)}</a></td>
                  <td class="num">{pct(b.outstanding, d.bookOutstanding)}</td>
                  <td class="num">{money(b.overdue, d.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">Outstanding on active contracts: {money(d.bookOutstanding, d.currency)}. Days counted in {d.timeZone}.</p>
      </section>
      <section>
        <h2>Payment to unlock, last 30 days</h2>
        {d.unlockLatency.samples === 0 || d.unlockLatency.p50 === null || d.unlockLatency.p95 === null ? (
          <p class="muted" data-testid="latency-none">No payment unlocked a phone in the last 30 days, so there is no waiting time to show.</p>
        ) : (
          <p data-testid="latency">
            Half of the {d.unlockLatency.samples} phones unlocked by a payment did so within <strong data-testid="latency-p50">{seconds(d.unlockLatency.p50)}</strong> of
            the payment being posted; 95 in 100 within <strong data-testid="latency-p95">{seconds(d.unlockLatency.p95)}</strong>.
          </p>
        )}
      </section>
      <section>
        <h2>Locks and unlocks per day, last 30 days</h2>
        <p>
          <a href={list({ stage: 'locked' })}>{locks} locks</a> and {unlocks} unlocks in 30 days. Phones locked now: <a href={list({ stage: 'locked' })}>{d.stages.locked ?? 0}</a>.
        </p>
        <BarChart title="Locks" color="#b23a48" testId="chart-locks" bars={d.perDay.map((p) => ({ label: p.day, value: p.locks }))} />
        <BarChart title="Unlocks" color="#2f7d4f" testId="chart-unlocks" bars={d.perDay.map((p) => ({ label: p.day, value: p.unlocks }))} />
      </section>
      <section>
        <h2>Locks held back by a guardrail</h2>
        {d.held.length === 0 ? (
          <p class="muted" data-testid="held-none">No lock is held back.</p>
        ) : (
          <div class="scroll">
            <table data-testid="held">
              <thead>
                <tr><th>Device</th><th>Why held</th><th class="num">Overdue</th><th>Since</th></tr>
              </thead>
              <tbody>
                {d.held.map((h) => (
                  <tr>
                    <td><a href={`/console/devices/${h.deviceId}`}>{h.serial}</a></td>
                    <td><a href={list({ held: h.reason })}>{reasonLabel(h.reason)}</a></td>
                    <td class="num">{money(h.amountOverdue, d.currency)}</td>
                    <td>{when(h.since, viewer)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <h2>Payment channels</h2>
        <p data-testid="suspense-count">
          {d.suspenseOpen === 0 ? 'No payments in suspense.' : <a href="/console/suspense">{d.suspenseOpen} payment{d.suspenseOpen === 1 ? '' : 's'} in suspense</a>}
          {d.suspenseOpen === 0 ? '' : ': money that matched no open contract, waiting to be assigned or refunded.'}
        </p>
        {d.staleChannels.length === 0 ? (
          <p class="muted">Every payment channel has reported within its freshness window.</p>
        ) : (
          <ul data-testid="stale-channels">
            {d.staleChannels.map((c) => (
              <li>
                <strong>{c.channel}</strong> is stale: last report {when(c.lastReportedAt, viewer)}, window {c.freshnessMinutes} min. New locks are held until it reports: <a href={list({ held: 'held_stale_feed' })}>see them</a>.
              </li>
            ))}
          </ul>
        )}
        <p class="muted">
          Closed contracts: {Object.entries(d.statuses).filter(([k]) => k !== 'active').map(([k, v]) => `${stageLabel(k === 'paid_off' ? 'released' : k)} ${v}`).join(', ') || 'none'}.
        </p>
      </section>
    </Shell>,
  );
}
