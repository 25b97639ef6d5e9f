/** @jsxImportSource preact */
/**
 * The help portal's page frame. Borrowers reach it on cheap phones over slow, metered data: no
 * script, no web fonts, no images, inline CSS, every page well under 30 KB. Colours keep at
 * least 4.5:1 contrast; focus is always visible; the language switcher is plain links.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { LANGUAGES, languageInfo, t, type Lang } from '../../i18n/index.ts';

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Devanagari",sans-serif;background:#f4f6f8;color:#1b1f24}
a{color:#0a4f96}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #c25e00;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:2}
header,main,footer{max-width:40rem;margin:0 auto;padding:0 16px}
header{padding-top:12px}
.site{font-weight:700;font-size:1.1rem;text-decoration:none;color:#1b1f24}
nav ul,.langs ul{list-style:none;margin:8px 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px}
.langs{font-size:.9rem}
.langs [aria-current]{font-weight:700;color:#1b1f24;text-decoration:none}
main{background:#fff;border-radius:10px;padding:16px 18px;margin-top:8px;border:1px solid #d5dae0}
h1{font-size:1.4rem;margin:.2em 0 .6em}
h2{font-size:1.1rem;margin:1.2em 0 .4em}
label{display:block;font-weight:600;margin-top:14px}
.help{display:block;font-size:.9rem;color:#4a525c;margin:2px 0 4px}
input,select{font:inherit;width:100%;max-width:24rem;padding:9px;border:1px solid #6b7580;border-radius:6px;background:#fff;color:#1b1f24}
input[type=file]{border:0;padding:4px 0}
button{font:inherit;font-weight:700;margin-top:18px;padding:10px 22px;border:0;border-radius:6px;background:#0a4f96;color:#fff;cursor:pointer}
.error{color:#a4161a;font-weight:600;margin:4px 0}
.alert{border-left:5px solid #a4161a;background:#fdecec;padding:10px 12px;margin:8px 0}
.ok{border-left:5px solid #1e6b3a;background:#e8f5ec;padding:10px 12px;margin:8px 0}
.note{border-left:5px solid #0a4f96;background:#e9f1fb;padding:10px 12px;margin:8px 0}
dl{margin:0}dt{font-size:.85rem;color:#4a525c;margin-top:8px}dd{margin:0;font-weight:600}
.big{font-size:1.3rem}
.choices{list-style:none;padding:0}.choices li{margin:0 0 14px}.choices a{font-weight:700;font-size:1.1rem}
footer{font-size:.85rem;color:#4a525c;padding-bottom:24px}
`;

export interface Frame {
  lang: Lang;
  title: string;
  /** Path (no query) the language links point at, so switching keeps the reader where they are. */
  path: string;
}

function LanguageSwitcher({ lang, path }: { lang: Lang; path: string }) {
  return (
    <nav class="langs" aria-label={t(lang, 'portal.language')}>
      <ul>
        {LANGUAGES.map((l) => (
          <li>
            <a href={`${path}?lang=${l.code}`} lang={l.code} hreflang={l.code} {...(l.code === lang ? { 'aria-current': 'true' } : {})}>
              {l.name}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function Layout({ frame, children }: { frame: Frame; children: ComponentChildren }) {
  const { lang } = frame;
  return (
    <html lang={lang} dir={languageInfo(lang).dir}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${frame.title} · ${t(lang, 'portal.siteTitle')}`}</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <a class="skip" href="#main">
          {t(lang, 'portal.skip')}
        </a>
        <header>
          <a class="site" href="/portal">
            {t(lang, 'portal.siteTitle')}
          </a>
          <nav aria-label={t(lang, 'portal.nav.home')}>
            <ul>
              <li>
                <a href="/portal/lookup">{t(lang, 'portal.nav.lookup')}</a>
              </li>
              <li>
                <a href="/portal/claim">{t(lang, 'portal.nav.claim')}</a>
              </li>
              <li>
                <a href="/portal/lien">{t(lang, 'portal.nav.lienCheck')}</a>
              </li>
            </ul>
          </nav>
          <LanguageSwitcher lang={lang} path={frame.path} />
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
        <footer>
          <p>{t(lang, 'portal.footer')}</p>
        </footer>
      </body>
    </html>
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any page component
export function renderDocument(page: VNode<any>): string {
  return '<!doctype html>' + renderToString(page);
}

/** A labelled input with its help text and error tied to it (aria-describedby), for screen readers. */
export function Field(props: {
  id: string;
  label: string;
  help?: string | undefined;
  error?: string | undefined;
  children: (describedBy: string | undefined, invalid: boolean) => VNode;
}) {
  const ids = [props.help ? `${props.id}-help` : null, props.error ? `${props.id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      {props.help && (
        <span class="help" id={`${props.id}-help`}>
          {props.help}
        </span>
      )}
      {props.error && (
        <p class="error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
      {props.children(ids, Boolean(props.error))}
    </div>
  );
}
