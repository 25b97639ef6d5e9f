/** @jsxImportSource preact */
/**
 * Pages of the browser device emulator (development and demos only; see
 * src/server/routes/emulator.ts). Server-rendered, inline CSS, no external assets; every action
 * is a plain form POST that redirects back, so the pages work without JavaScript. With htmx the
 * page polls and reloads itself when the phone's screen changes.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { ScreenModel } from '../agent/sim/screen-model.ts';
import { LANGUAGES, type Lang } from '../i18n/index.ts';
import { LockScreen } from './lock-screen.tsx';
import { HTMX } from './assets.ts';


const CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#e9ecef;color:#1d232a}
main{max-width:900px;margin:0 auto;padding:16px;display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
a{color:#0b5cad}
header{max-width:900px;margin:0 auto;padding:12px 16px 0;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
.phone{width:340px;min-height:680px;border-radius:36px;background:#111;padding:18px 12px 24px;box-shadow:0 10px 30px rgba(0,0,0,.35);display:flex;flex-direction:column}
.notch{width:90px;height:6px;border-radius:3px;background:#333;margin:0 auto 10px}
.screen{flex:1;border-radius:20px;padding:18px 16px;color:#fff;background:#1f4e79;overflow-wrap:anywhere}
.screen h1{font-size:20px;margin:6px 0 12px}
.screen p{margin:0 0 10px}
.screen small{display:block;margin:8px 0 0;font-size:12px}
.screen dl{margin:12px 0;padding:10px;border-radius:10px;background:rgba(0,0,0,.22)}
.screen .field{margin:0 0 6px}
.screen dt{font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.screen dd{margin:0;font-weight:600}
.mode{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.12em;padding:3px 8px;border-radius:999px;background:rgba(0,0,0,.3)}
.mode-locked{background:#7a1420}.mode-restricted{background:#8a4b08}.mode-notice{background:#5c4700}
.mode-reminder{background:#2d5f8a}.mode-released{background:#1d6b3a}.mode-dormant{background:#4a4f55}
.emergency{margin-top:12px;padding:8px 10px;border-radius:10px;background:rgba(0,0,0,.35)}
.code{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}
.code input{flex:1 1 100%;min-width:0;font:inherit;font-size:18px;letter-spacing:.08em;padding:10px;border-radius:10px;border:0}
.code input::placeholder{font-size:15px;letter-spacing:normal;color:#4a525a}
button{font:inherit;padding:8px 12px;border-radius:10px;border:1px solid #8a939c;background:#fff;cursor:pointer}
.code button{flex:1 1 100%;background:#fff;font-weight:700}
.panel{flex:1;min-width:260px;background:#fff;border-radius:12px;padding:16px}
.panel form{display:inline-block;margin:0 6px 8px 0}
.panel input{font:inherit;padding:7px;border-radius:8px;border:1px solid #8a939c;width:150px}
.outcome{padding:8px 10px;border-radius:8px;background:#eef6ee;border:1px solid #9cc79c;white-space:pre-line}
.outcome.bad{background:#fbeeee;border-color:#d49a9a}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:6px;border-bottom:1px solid #dde}
.status{font-size:13px;color:#4a525a}
`;

function Page({ title, lang = 'en', pollUrl, children }: { title: string; lang?: Lang; pollUrl?: string; children: ComponentChildren }) {
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
        {pollUrl && <script src={HTMX.path} defer />}
        {pollUrl && (
          <noscript>
            <meta http-equiv="refresh" content="10" />
          </noscript>
        )}
      </head>
      <body>
        <header>
          <strong>Lien device emulator</strong>
          <a href="/emulator">all phones</a>
          <span class="status">development tool: phones emulated inside this server</span>
        </header>
        {children}
        {pollUrl && <div hx-get={pollUrl} hx-trigger="every 2s" hx-swap="none" aria-hidden="true" />}
      </body>
    </html>
  );
}

export interface PhonePageProps {
  serial: string;
  model: ScreenModel;
  lang: Lang;
  online: boolean;
  streamOpen: boolean;
  deviceId: string | null;
  now: string;
  outcome: { ok: boolean; text: string } | null;
  /** Changes whenever anything on the page would; the poller reloads the page when it does. */
  version: string;
}

export function renderPhonePage(p: PhonePageProps): string {
  const base = `/emulator/${encodeURIComponent(p.serial)}`;
  const langField = <input type="hidden" name="lang" value={p.lang} />;
  const action = (path: string, label: string, testid: string) => (
    <form method="post" action={`${base}/${path}`}>
      {langField}
      <button type="submit" data-testid={testid}>
        {label}
      </button>
    </form>
  );
  return doc(
    <Page title={`${p.serial} — ${p.model.modeLabel}`} lang={p.lang} pollUrl={`${base}/screen?lang=${p.lang}&v=${p.version}`}>
      <main>
        <div class="phone" data-testid="phone">
          <div class="notch" />
          <LockScreen model={p.model} />
          {p.model.codeEntry && (
            <form class="code" method="post" action={`${base}/code`} data-testid="code-form">
              {langField}
              <input
                name="code"
                inputmode="numeric"
                autocomplete="off"
                placeholder={p.model.codeEntry.label}
                aria-label={p.model.codeEntry.label}
                disabled={!p.model.codeEntry.enabled}
                data-testid="code-input"
              />
              <button type="submit" disabled={!p.model.codeEntry.enabled} data-testid="code-submit">
                {p.model.codeEntry.submit}
              </button>
            </form>
          )}
        </div>
        <section class="panel">
          <h2>Phone {p.serial}</h2>
          <p class="status" data-testid="status">
            network <b data-testid="network">{p.online ? 'online' : 'offline'}</b> · stream {p.streamOpen ? 'open' : 'closed'} · clock {p.now}
            {p.deviceId && <> · {p.deviceId}</>}
          </p>
          {p.outcome && (
            <p class={p.outcome.ok ? 'outcome' : 'outcome bad'} data-testid="outcome">
              {p.outcome.text}
            </p>
          )}
          <div>
            {action('sync', 'Sync now', 'sync')}
            {p.online ? action('offline', 'Go offline', 'offline') : action('online', 'Go online', 'online')}
            {action('reset', 'Factory reset', 'reset')}
          </div>
          <form method="post" action={`${base}/call`}>
            {langField}
            <input name="number" placeholder="number to call" aria-label="number to call" data-testid="call-input" />
            <button type="submit" data-testid="call">
              Call
            </button>
          </form>
          <p class="status">
            Language:{' '}
            {LANGUAGES.map((l) => (
              <>
                <a href={`${base}?lang=${l.code}`} lang={l.code}>
                  {l.name}
                </a>{' '}
              </>
            ))}
          </p>
        </section>
      </main>
    </Page>,
  );
}

export interface IndexRow {
  serial: string;
  /** What the emulated phone's screen shows; null for a phone not started here. */
  mode: string | null;
  /** The stage of the phone's contract on the server (or its status once closed); null if never sold on credit. */
  stage: string | null;
  lender: string | null;
}

const stageText = (stage: string | null) => (stage ? stage.replace(/_/g, ' ') : 'not sold on credit');

export function renderIndexPage({ running, registered, error }: { running: IndexRow[]; registered: IndexRow[]; error?: string }): string {
  return doc(
    <Page title="Lien device emulator">
      <main>
        <section class="panel">
          <h2>Emulated phones</h2>
          {error && (
            <p class="outcome bad" data-testid="error">
              {error}
            </p>
          )}
          {running.length === 0 ? (
            <p class="status">None yet. Start one by serial number.</p>
          ) : (
            <table data-testid="running">
              <tr>
                <th>serial</th>
                <th>screen</th>
                <th>stage</th>
                <th>lender</th>
              </tr>
              {running.map((r) => (
                <tr data-serial={r.serial}>
                  <td>
                    <a href={`/emulator/${encodeURIComponent(r.serial)}`}>{r.serial}</a>
                  </td>
                  <td data-mode={r.mode ?? ''}>{r.mode?.toUpperCase()}</td>
                  <td data-stage={r.stage ?? ''}>{stageText(r.stage)}</td>
                  <td>{r.lender}</td>
                </tr>
              ))}
            </table>
          )}
          <h3>Start a phone</h3>
          <form method="post" action="/emulator" data-testid="start-form">
            <input name="serial" placeholder="serial number" aria-label="serial number" required />{' '}
            <button type="submit">Start</button>
          </form>
          {registered.length > 0 && (
            <>
              <h3>Recently registered devices</h3>
              <table data-testid="registered">
                <tr>
                  <th>serial</th>
                  <th>stage</th>
                  <th>lender</th>
                </tr>
                {registered.map((r) => (
                  <tr data-serial={r.serial}>
                    <td>
                      <a href={`/emulator/${encodeURIComponent(r.serial)}`}>{r.serial}</a>
                    </td>
                    <td data-stage={r.stage ?? ''}>{stageText(r.stage)}</td>
                    <td>{r.lender ?? '—'}</td>
                  </tr>
                ))}
              </table>
            </>
          )}
        </section>
      </main>
    </Page>,
  );
}

export function renderNotFoundPage(message: string): string {
  return doc(
    <Page title="No such phone">
      <main>
        <section class="panel">
          <h2>No such phone</h2>
          <p class="outcome bad" data-testid="error">
            {message}
          </p>
          <p>
            <a href="/emulator">Back to the emulator</a>
          </p>
        </section>
      </main>
    </Page>,
  );
}

function doc(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}
