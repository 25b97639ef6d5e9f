/** @jsxImportSource preact */
/**
 * The settings form for what the lock screen says in the lender's own words, per borrower
 * language: how to pay, support hours and a standing message. Each text left empty falls back to
 * the default one (the first column), so a lender fills in only the languages its borrowers read.
 */
import { LANGUAGES } from '../../i18n/index.ts';
import type { LenderSettings } from '../../services/settings.ts';
import { Csrf, type Viewer } from './layout.tsx';

export function LockTextsForm({ viewer, settings }: { viewer: Viewer; settings: LenderSettings }) {
  return (
    <form method="post" action="/console/settings/texts" data-testid="lock-texts-form" class="lock-texts">
      <h2>Lock screen texts per language</h2>
      <Csrf token={viewer.csrf} />
      <p class="muted">
        The phone shows the borrower's language. A text left empty here shows the default: “How to pay” and “Support hours” above, and the default message below.
      </p>
      <label>
        Default message on the lock screen (optional)
        <textarea name="lockMessage" maxLength={500} rows={2}>{settings.lockMessage ?? ''}</textarea>
      </label>
      {LANGUAGES.map((l) => {
        const t = settings.texts[l.code] ?? {};
        return (
          <fieldset lang={l.code} data-lang={l.code}>
            <legend>{l.name}</legend>
            <label>
              How to pay ({l.name})<textarea name={`howToPay.${l.code}`} maxLength={1000} rows={2}>{t.howToPay ?? ''}</textarea>
            </label>
            <label>
              Support hours ({l.name})<input name={`supportHours.${l.code}`} value={t.supportHours ?? ''} maxLength={120} />
            </label>
            <label>
              Message ({l.name})<textarea name={`message.${l.code}`} maxLength={500} rows={2}>{t.message ?? ''}</textarea>
            </label>
          </fieldset>
        );
      })}
      <button type="submit">Save texts</button>
    </form>
  );
}
