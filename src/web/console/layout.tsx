/** @jsxImportSource preact */
/**
 * The console's page shell. Server-rendered, inline CSS, no external assets. Every action is a
 * plain form POST that redirects, so the console works without JavaScript; with htmx, links and
 * forms are boosted (no full page reloads), and error pages are swapped in like any other.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { formatMoney } from '../../domain/money.ts';
import { can, type Permission, type UserRole } from '../../domain/roles.ts';
import { stageLabel } from '../../i18n/labels.ts';
import { HTMX } from '../assets.ts';


/** Who is looking at the page, as the pages need it. */
export interface Viewer {
  name: string;
  email: string;
  role: UserRole;
  lenderName: string | null;
  csrf: string;
  /** The lender's time zone and locale: every date on every page is shown in them. */
  timeZone: string;
  locale: string;
}

/** Where and how dates are shown: the viewer's lender zone and locale. */
export type Zone = Pick<Viewer, 'timeZone' | 'locale'>;

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f5f7;color:#1d232a}
a{color:#0b5cad}
nav{display:flex;gap:14px;align-items:center;flex-wrap:wrap;padding:10px 18px;background:#1f3a56;color:#fff}
nav a{color:#fff;text-decoration:none}nav a.on{font-weight:700;text-decoration:underline}
nav .who{margin-left:auto;opacity:.9}
nav form{display:inline}nav button{background:transparent;color:#fff;border:1px solid #9fb3c8;padding:3px 8px}
main{max-width:1100px;margin:0 auto;padding:18px}
.scroll{overflow-x:auto;max-width:100%}
.filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-end}.filters label{margin:0;flex:1 1 140px;min-width:0}
.pager{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:10px 0}
label.confirm{display:flex;gap:8px;align-items:flex-start}label.confirm input{width:auto;margin-top:3px}
.wrap{overflow-wrap:anywhere}
@media (max-width:600px){main{padding:10px;overflow-wrap:anywhere}table{display:block;overflow-x:auto;max-width:100%}nav{padding:8px 10px;gap:8px 12px}nav .who{margin-left:0;flex-basis:100%}.forms form{min-width:0;flex-basis:100%}.card{min-width:0;flex:1 1 130px}dl.facts{grid-template-columns:1fr}dl.facts dd{margin:0 0 6px}td,th{padding:4px 5px}}
h1{font-size:22px;margin:4px 0 14px}h2{font-size:17px;margin:22px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #dbe1e7;border-radius:10px;padding:12px 14px;min-width:150px}
.card .n{font-size:22px;font-weight:700}a.tile{color:inherit;text-decoration:none;display:block}a.tile:hover,a.tile:focus{border-color:#0b5cad;outline:2px solid #0b5cad}.card .l{font-size:12px;color:#58616a;text-transform:uppercase;letter-spacing:.04em}
section{background:#fff;border:1px solid #dbe1e7;border-radius:10px;padding:12px 16px;margin:0 0 16px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{font-size:12px;color:#58616a;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:inline}
.forms{display:flex;flex-wrap:wrap;gap:14px}
.forms form{background:#f7f9fb;border:1px solid #dbe1e7;border-radius:10px;padding:10px 12px;flex:1;min-width:260px}
label{display:block;margin:0 0 8px;font-size:13px;color:#38414a}
input,select,textarea{display:block;width:100%;font:inherit;padding:6px 8px;border:1px solid #a9b3bd;border-radius:6px;background:#fff;margin-top:2px}
button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid #1f3a56;background:#1f3a56;color:#fff;cursor:pointer}
button.quiet{background:#fff;color:#1f3a56}
.flash{padding:9px 12px;border-radius:8px;background:#eaf5ea;border:1px solid #9cc79c;margin:0 0 14px;white-space:pre-line}
.flash.bad{background:#fbeeee;border-color:#d49a9a}
.stage{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;background:#e3e9ef}
.stage-locked,.stage-restricted{background:#f6d5d8;color:#7a1420}.stage-notice{background:#f8ecc6;color:#6b5106}
.stage-released,.stage-paid_off{background:#d6efdd;color:#1d6b3a}
.muted{color:#5c656e}.code{font:600 17px ui-monospace,monospace;letter-spacing:.06em}
.login{max-width:360px;margin:60px auto;background:#fff;border:1px solid #dbe1e7;border-radius:12px;padding:20px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dl.facts dt{color:#58616a}dl.facts dd{margin:0}
svg text{font:20px system-ui,sans-serif;fill:#4a535c}
`;

const NAV: [href: string, label: string, need: Permission][] = [
  ['/console', 'Dashboard', 'read'],
  ['/console/devices', 'Devices', 'find'],
  ['/console/sell', 'Sell', 'sell'],
  ['/console/claims', 'Claims', 'read'],
  ['/console/suspense', 'Suspense', 'read'],
  ['/console/payment-channels', 'Channels', 'settings'],
  ['/console/settings', 'Settings', 'settings'],
  ['/console/registry', 'Registry', 'registry'],
];

export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

export function Stage({ stage }: { stage: string }) {
  return <span class={`stage stage-${stage}`} data-testid="stage" data-stage-code={stage}>{stageLabel(stage)}</span>;
}

/**
 * A button that asks before an irreversible action: the form carries `hx-confirm` (htmx asks in
 * a dialog) and, for a browser without JavaScript, the server insists on the `confirm` field the
 * checkbox sets (see `confirmed` in the routes).
 */
export function ConfirmField({ question, testId }: { question: string; testId: string }) {
  return (
    <label class="confirm">
      <input type="checkbox" name="confirm" value="yes" required data-testid={testId} /> {question}
    </label>
  );
}

export function money(minor: number, currency: string): string {
  return formatMoney({ amount: minor, currency });
}

/** An instant as the lender's staff read it: their locale, their zone, with the zone's short name. */
export function when(d: Date | string | null | undefined, z: Zone): string {
  if (!d) return '—';
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(z.locale, { timeZone: z.timeZone, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(date)
    + ` ${zoneName(date, z)}`;
}

/** A calendar date ('2026-03-01') in the lender's locale; it has no zone. */
export function day(d: string | null | undefined, z: Zone): string {
  if (!d) return '—';
  return new Intl.DateTimeFormat(z.locale, { timeZone: 'UTC', dateStyle: 'medium' }).format(new Date(`${d}T00:00:00Z`));
}

function zoneName(d: Date, z: Zone): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: z.timeZone, timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? z.timeZone;
}

export function Shell({ title, viewer, active, flash, children }: { title: string; viewer: Viewer | null; active?: string; flash?: { text: string; bad?: boolean } | null; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}],"historyCacheSize":0}' />
        <title>{`${title} · Lien console`}</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
        <script src={HTMX.path} defer />
      </head>
      <body hx-boost="true">
        {viewer && (
          <nav>
            <strong>Lien</strong>
            {NAV.filter(([, , need]) => can(viewer.role, need)).map(([href, label]) => (
              <a href={href} class={active === href ? 'on' : undefined}>
                {label}
              </a>
            ))}
            <span class="who" data-testid="who">
              {viewer.name} · {viewer.role}
              {viewer.lenderName ? ` · ${viewer.lenderName}` : ''}
            </span>
            <form method="post" action="/console/logout">
              <Csrf token={viewer.csrf} />
              <button type="submit">Sign out</button>
            </form>
          </nav>
        )}
        <main>
          {flash && (
            <div class={flash.bad ? 'flash bad' : 'flash'} data-testid="flash" role="status">
              {flash.text}
            </div>
          )}
          {children}
        </main>
      </body>
    </html>
  );
}

export function render(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}

/** 403, 404, 400 and friends, as a page inside the shell. */
export function renderProblem(viewer: Viewer | null, status: number, title: string, text: string): string {
  return render(
    <Shell title={title} viewer={viewer}>
      <h1 data-testid="problem" data-status={String(status)}>
        {title}
      </h1>
      <p>{text}</p>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Shell>,
  );
}
