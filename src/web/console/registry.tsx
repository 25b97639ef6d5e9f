/** @jsxImportSource preact */
import type { registry } from '../../services/views/console.ts';
import { render, Shell, when, type Viewer } from './layout.tsx';

/** The operator's registry: devices and who finances them; no contract or borrower data. */
export function renderRegistry(viewer: Viewer, q: string, rows: Awaited<ReturnType<typeof registry>>): string {
  return render(
    <Shell title="Device registry" viewer={viewer} active="/console/registry">
      <h1>Device registry</h1>
      <form method="get" action="/console/registry">
        <label>IMEI or serial<input name="q" value={q} data-testid="registry-search" /></label>
        <button type="submit">Find</button>
      </form>
      <table data-testid="registry">
        <thead><tr><th>Serial</th><th>IMEI</th><th>Model</th><th>Sale</th><th>Lender</th><th>Enrolled</th><th>Last seen</th><th>Released</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>{r.serial}</td><td>{r.imei1}{r.imei2 ? `, ${r.imei2}` : ''}</td><td>{r.model}</td><td>{r.sale_status}</td>
              <td>{r.lender ?? '—'}</td><td>{when(r.enrolled_at, viewer)}</td><td>{when(r.last_seen_at, viewer)}</td><td>{when(r.released_at, viewer)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Shell>,
  );
}
