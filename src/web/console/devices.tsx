/** @jsxImportSource preact */
/** The support desk's device list: one search box, filters, sorting, cursor pages, export and bulk actions. */
import { can } from '../../domain/roles.ts';
import { channelLabel, reasonLabel, stageLabel } from '../../i18n/labels.ts';
import type { DeviceListQuery, DeviceListRow } from '../../services/views/device-list.ts';
import { money, render, Shell, Stage, when, type Viewer } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

export interface DeviceListPage {
  query: DeviceListQuery;
  rows: DeviceListRow[];
  nextCursor: string | null;
  choices: { channels: string[]; dealers: { id: string; name: string }[] };
  stages: readonly string[];
  dpd: readonly string[];
  held: readonly string[];
  sorts: readonly string[];
  /** The filter as a query string (without cursor), for the export, bulk and page links. */
  filterQs: string;
  filtered: boolean;
}

const DPD_LABEL: Record<string, string> = {
  '0': 'Not past due', '1+': '1 day or more (PAR 1)', '1-29': '1–29 days', '30+': '30 days or more (PAR 30)', '30-59': '30–59 days',
  '60+': '60 days or more (PAR 60)', '60-89': '60–89 days', '90+': '90 days or more (PAR 90)',
};
const SORT_LABEL: Record<string, string> = { newest: 'Newest first', dpd: 'Days past due', overdue: 'Amount overdue', last_seen: 'Last check-in', serial: 'Serial' };

function Select({ name, label, value, options, testId }: { name: string; label: string; value: string | undefined; options: [string, string][]; testId: string }) {
  return (
    <label>
      {label}
      <select name={name} data-testid={testId}>
        <option value="">Any</option>
        {options.map(([v, l]) => <option value={v} selected={v === value}>{l}</option>)}
      </select>
    </label>
  );
}

export function renderDeviceList(viewer: Viewer, p: DeviceListPage, flash: Flash): string {
  const q = p.query;
  return render(
    <Shell title="Devices" viewer={viewer} active="/console/devices" flash={flash}>
      <h1>Devices</h1>
      <form method="get" action="/console/devices" class="search" role="search">
        <label>
          Lock reference, IMEI (or its last 4 digits), serial, borrower phone or reference, contract id
          <input name="q" value={q.q ?? ''} maxLength={64} autofocus data-testid="search" />
        </label>
        <div class="filters">
          <Select name="stage" label="Stage" value={q.stage} testId="filter-stage" options={p.stages.map((s) => [s, stageLabel(s)])} />
          <Select name="dpd" label="Days past due" value={q.dpd} testId="filter-dpd" options={p.dpd.map((d) => [d, DPD_LABEL[d] ?? d])} />
          <Select name="held" label="Lock held" value={q.held} testId="filter-held" options={p.held.map((h) => [h, h === 'any' ? 'Any reason' : reasonLabel(h)])} />
          <Select name="channel" label="Paid through" value={q.channel} testId="filter-channel" options={p.choices.channels.map((c) => [c, channelLabel(c)])} />
          <Select name="dealer" label="Sold by" value={q.dealer} testId="filter-dealer" options={p.choices.dealers.map((d) => [d.id, d.name])} />
          <label>
            Sort by
            <select name="sort" data-testid="sort">
              {p.sorts.map((s) => <option value={s} selected={s === (q.sort ?? 'newest')}>{SORT_LABEL[s] ?? s}</option>)}
            </select>
          </label>
          <label>
            Order
            <select name="dir" data-testid="dir">
              <option value="">Usual</option>
              <option value="asc" selected={q.dir === 'asc'}>Ascending</option>
              <option value="desc" selected={q.dir === 'desc'}>Descending</option>
            </select>
          </label>
          <button type="submit" data-testid="search-submit">Find</button>
        </div>
      </form>
      <div class="pager">
        <a href={`/console/devices.csv${p.filterQs ? `?${p.filterQs}` : ''}`} hx-boost="false" download data-testid="export">Export this list (CSV)</a>
        {can(viewer.role, 'manual') && <a href={`/console/bulk${p.filterQs ? `?${p.filterQs}` : ''}`} data-testid="bulk-link">Bulk action on this list</a>}
        {p.filtered && <a href="/console/devices">Clear the filters</a>}
      </div>
      {p.rows.length === 0 ? (
        <p data-testid="no-results">{q.q ? `No device of yours matches “${q.q}”.` : 'No device matches these filters.'}</p>
      ) : (
        <div class="scroll">
          <table data-testid="results">
            <thead>
              <tr><th>Serial</th><th>IMEI</th><th>Stage</th><th class="num">Days past due</th><th class="num">Overdue</th><th>Borrower</th><th>Last check-in</th></tr>
            </thead>
            <tbody>
              {p.rows.map((r) => (
                <tr data-device={r.deviceId}>
                  <td><a href={`/console/devices/${r.deviceId}`} data-testid="row-serial">{r.serial}</a></td>
                  <td>{r.imei1}</td>
                  <td>
                    {r.stage ? <Stage stage={r.stage} /> : <span class="muted">no contract</span>}
                    {r.heldReason && <div class="muted" data-testid="row-held">{reasonLabel(r.heldReason)}</div>}
                  </td>
                  <td class="num" data-testid="row-dpd">{r.dpd}</td>
                  <td class="num">{r.currency ? money(r.amountOverdue, r.currency) : '—'}</td>
                  <td class="wrap">{r.borrowerRef ?? '—'}{r.borrowerPhone ? <div class="muted">{r.borrowerPhone}</div> : null}</td>
                  <td>{when(r.lastSeenAt, viewer)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        {q.cursor && <a href={`/console/devices${p.filterQs ? `?${p.filterQs}` : ''}`} data-testid="first-page">First page</a>}
        {p.nextCursor && (
          <a href={`/console/devices?${p.filterQs ? `${p.filterQs}&` : ''}cursor=${encodeURIComponent(p.nextCursor)}`} data-testid="next-page">Next page</a>
        )}
      </div>
    </Shell>,
  );
}
