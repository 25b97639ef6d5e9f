/** @jsxImportSource preact */
import type { Dashboard } from '../../services/views/dashboard.ts';
import { BarChart } from './charts.tsx';
import { money, render, Shell, when, type Viewer } from './layout.tsx';

const STAGES = ['current', 'reminder', 'notice', 'restricted', 'locked'];

function seconds(v: number | null): string {
  if (v === null) return '—';
  return v < 120 ? `${v.toFixed(1)} s` : `${(v / 60).toFixed(1)} min`;
}

export function renderDashboard(viewer: Viewer, d: Dashboard, flash?: { text: string; bad?: boolean } | null): string {
  const stages = [...STAGES, ...Object.keys(d.stages).filter((s) => !STAGES.includes(s))];
  return render(
    <Shell title="Dashboard" viewer={viewer} active="/console" flash={flash ?? null}>
      <h1>Dashboard</h1>
      <div class="cards" data-testid="stage-counts">
        {stages.map((s) => (
          <div class="card" data-stage={s}>
            <div class="n">{d.stages[s] ?? 0}</div>
            <div class="l">{s}</div>
          </div>
        ))}
        <div class="card">
          <div class="n" data-testid="overdue-amount">{money(d.overdue.amount, d.currency)}</div>
          <div class="l">overdue on {d.overdue.contracts} contracts</div>
        </div>
        <div class="card">
          <div class="n" data-testid="latency-p50">{seconds(d.unlockLatency.p50)}</div>
          <div class="l">payment → unlock p50</div>
        </div>
        <div class="card">
          <div class="n" data-testid="latency-p95">{seconds(d.unlockLatency.p95)}</div>
          <div class="l">p95 ({d.unlockLatency.samples} unlocks, 30 days)</div>
        </div>
      </div>
      <p class="muted">
        Closed contracts: {Object.entries(d.statuses).filter(([k]) => k !== 'active').map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}. Days in {d.timeZone}.
      </p>
      <section>
        <h2>Locks and unlocks per day, last 30 days</h2>
        <BarChart title="Locks" color="#b23a48" testId="chart-locks" bars={d.perDay.map((p) => ({ label: p.day, value: p.locks }))} />
        <BarChart title="Unlocks" color="#2f7d4f" testId="chart-unlocks" bars={d.perDay.map((p) => ({ label: p.day, value: p.unlocks }))} />
      </section>
      <section>
        <h2>Locks held back by a guardrail</h2>
        {d.held.length === 0 ? (
          <p class="muted" data-testid="held-none">No lock is held back.</p>
        ) : (
          <table data-testid="held">
            <thead>
              <tr><th>Device</th><th>Why held</th><th class="num">Overdue</th><th>Since</th></tr>
            </thead>
            <tbody>
              {d.held.map((h) => (
                <tr>
                  <td><a href={`/console/devices/${h.deviceId}`}>{h.serial}</a></td>
                  <td>{h.reason.replace(/^held_/, '').replaceAll('_', ' ')}</td>
                  <td class="num">{money(h.amountOverdue, d.currency)}</td>
                  <td>{when(h.since, viewer)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2>Payment channels</h2>
        {d.staleChannels.length === 0 ? (
          <p class="muted">Every payment channel has reported within its freshness window.</p>
        ) : (
          <ul data-testid="stale-channels">
            {d.staleChannels.map((c) => (
              <li>
                <strong>{c.channel}</strong> is stale: last report {when(c.lastReportedAt, viewer)}, window {c.freshnessMinutes} min. New locks are held until it reports.
              </li>
            ))}
          </ul>
        )}
      </section>
    </Shell>,
  );
}
