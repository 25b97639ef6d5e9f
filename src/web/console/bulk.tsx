/** @jsxImportSource preact */
/** Bulk actions: the preview of a filtered selection, the typed confirmation, and a job's progress. */
import { reasonLabel, stageLabel, words } from '../../i18n/labels.ts';
import type { BulkAction, BulkJob, BulkPreview } from '../../services/bulk-actions.ts';
import { Csrf, money, render, Shell, Stage, when, type Viewer } from './layout.tsx';

type Flash = { text: string; bad?: boolean } | null;

export const BULK_LABEL: Record<BulkAction, string> = {
  message: 'Send a message (SMS) to each borrower',
  pause: 'Pause escalation (a dispute campaign)',
  add_time: 'Issue an ADD_TIME code to each phone',
};

export interface BulkPageProps {
  preview: BulkPreview;
  actions: BulkAction[];
  /** The filter, as hidden fields and a query string. */
  filter: [string, string][];
  filterQs: string;
  maxDays: number;
  values: Record<string, string>;
  jobs: BulkJob[];
  names: Map<string, string>;
}

export function renderBulk(viewer: Viewer, p: BulkPageProps, flash: Flash): string {
  const { preview } = p;
  const filterText = p.filter.filter(([k]) => k !== 'sort' && k !== 'dir').map(([k, v]) => `${k} ${k === 'stage' ? stageLabel(v) : k === 'held' && v !== 'any' ? reasonLabel(v) : v}`).join(', ') || 'all devices';
  return render(
    <Shell title="Bulk action" viewer={viewer} active="/console/devices" flash={flash}>
      <h1>Bulk action</h1>
      <p>
        Selection: <strong>{filterText}</strong> · <a href={`/console/devices${p.filterQs ? `?${p.filterQs}` : ''}`}>change it on the device list</a>
      </p>
      <form method="get" action="/console/bulk" class="filters" data-testid="bulk-choose">
        {p.filter.map(([k, v]) => <input type="hidden" name={k} value={v} />)}
        <label>
          Action
          <select name="action" data-testid="bulk-action">
            {p.actions.map((a) => <option value={a} selected={a === preview.action}>{BULK_LABEL[a]}</option>)}
          </select>
        </label>
        <button type="submit" class="quiet" data-testid="bulk-preview">Preview</button>
      </form>
      <section data-testid="preview">
        <h2>
          <span data-testid="preview-count">{preview.total}</span> device{preview.total === 1 ? '' : 's'} with an active contract
        </h2>
        {preview.total === 0 ? <p class="muted">Nothing to do: no device of this selection has an active contract.</p> : (
          <div class="scroll">
            <table data-testid="preview-devices">
              <thead><tr><th>Serial</th><th>Stage</th><th class="num">Days past due</th><th class="num">Overdue</th><th>Borrower</th></tr></thead>
              <tbody>
                {preview.sample.map((r) => (
                  <tr data-device={r.deviceId}>
                    <td><a href={`/console/devices/${r.deviceId}`}>{r.serial}</a></td>
                    <td>{r.stage && <Stage stage={r.stage} />}</td>
                    <td class="num">{r.dpd}</td>
                    <td class="num">{r.currency ? money(r.amountOverdue, r.currency) : '—'}</td>
                    <td class="wrap">{r.borrowerRef}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {preview.total > preview.sample.length && <p class="muted">…and {preview.total - preview.sample.length} more.</p>}
          </div>
        )}
      </section>
      {preview.total > 0 && (
        <form method="post" action="/console/bulk" data-testid="bulk-form">
          <h2>{BULK_LABEL[preview.action]}</h2>
          <Csrf token={viewer.csrf} />
          {p.filter.map(([k, v]) => <input type="hidden" name={k} value={v} />)}
          <input type="hidden" name="action" value={preview.action} />
          {preview.action === 'message' && (
            <label>Message (each borrower gets it in an SMS, after your name and before their lock reference)<textarea name="message" required minLength={3} maxLength={120} rows={3} data-testid="bulk-message">{p.values.message ?? ''}</textarea></label>
          )}
          {preview.action === 'add_time' && (
            <label>Days of credit per phone<input name="days" type="number" min={1} max={p.maxDays} value={p.values.days ?? '3'} required data-testid="bulk-days" /></label>
          )}
          {preview.action === 'pause' && (
            <label>Pause until ({viewer.timeZone} time)<input name="until" type="datetime-local" required value={p.values.until ?? ''} data-testid="bulk-until" /></label>
          )}
          <label>Reason (written to every device’s audit)<input name="reason" required minLength={3} maxLength={500} value={p.values.reason ?? ''} data-testid="bulk-reason" /></label>
          <label>
            To confirm, type <strong class="code" data-testid="bulk-expected">{preview.confirmation}</strong>
            <input name="confirm" required autocomplete="off" data-testid="bulk-confirm" />
          </label>
          <button type="submit" data-testid="bulk-submit">Start on {preview.total} device{preview.total === 1 ? '' : 's'}</button>
        </form>
      )}
      {p.jobs.length > 0 && (
        <section>
          <h2>Recent bulk jobs</h2>
          <div class="scroll">
            <table data-testid="bulk-jobs">
              <thead><tr><th>Started</th><th>Action</th><th>By</th><th>Progress</th></tr></thead>
              <tbody>
                {p.jobs.map((j) => (
                  <tr><td><a href={`/console/bulk/jobs/${j.id}`}>{when(j.createdAt, viewer)}</a></td><td>{BULK_LABEL[j.action] ?? words(j.action)}</td><td>{p.names.get(j.createdBy) ?? j.createdBy}</td><td>{j.processed} of {j.total} · {words(j.state)}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </Shell>,
  );
}

export function renderBulkJob(viewer: Viewer, j: BulkJob, serials: Map<string, string>, by: string, flash: Flash): string {
  const pct = j.total ? Math.round((j.processed / j.total) * 100) : 100;
  const running = j.state === 'running';
  return render(
    <Shell title="Bulk job" viewer={viewer} active="/console/devices" flash={flash}>
      <h1>{BULK_LABEL[j.action] ?? words(j.action)}</h1>
      <section
        data-testid="job"
        data-state={j.state}
        {...(running ? { 'hx-get': `/console/bulk/jobs/${j.id}`, 'hx-trigger': 'every 1s', 'hx-select': 'main', 'hx-target': 'main', 'hx-swap': 'outerHTML' } : {})}
      >
        <p>
          Started {when(j.createdAt, viewer)} by {by}.{' '}
          {running ? 'Running…' : j.state === 'interrupted' ? 'Interrupted: the server stopped while it ran. The devices counted as done were changed; filter the list again and start a new job for the rest.' : `Finished ${when(j.finishedAt, viewer)}.`}
        </p>
        <progress max={j.total} value={j.processed} aria-label="Progress" style="width:100%" />
        <p data-testid="job-progress">
          {j.processed} of {j.total} devices ({pct}%): {j.succeeded} done, {j.failed} failed.
        </p>
        {running && <p><a href={`/console/bulk/jobs/${j.id}`}>Refresh</a></p>}
        {j.errors.length > 0 && (
          <ul data-testid="job-errors">
            {j.errors.map((e) => <li>{e.deviceId ? <a href={`/console/devices/${e.deviceId}`}>{serials.get(e.deviceId) ?? e.deviceId}</a> : 'Job'}: {e.message}</li>)}
          </ul>
        )}
      </section>
      <p><a href="/console/devices">Back to the devices</a></p>
    </Shell>,
  );
}
