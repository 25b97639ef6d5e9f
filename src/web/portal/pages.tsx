/** @jsxImportSource preact */
/** The help portal's pages; data comes from src/services/portal.ts and claims.ts, already filtered. */
import { formatDate, formatDateTime, formatMoney, t, type Lang } from '../../i18n/index.ts';
import type { PublicClaimStatus } from '../../services/claims.ts';
import type { LienStatus, LookupFound } from '../../services/portal.ts';
import { Field, Layout, type Frame } from './layout.tsx';

export function HomePage({ frame }: { frame: Frame }) {
  const { lang } = frame;
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.home.title')}</h1>
      <p>{t(lang, 'portal.home.intro')}</p>
      <ul class="choices">
        <li>
          <a href="/portal/lookup">{t(lang, 'portal.home.locked')}</a>
          <br />
          {t(lang, 'portal.home.lockedHelp')}
        </li>
        <li>
          <a href="/portal/claim">{t(lang, 'portal.home.paid')}</a>
          <br />
          {t(lang, 'portal.home.paidHelp')}
        </li>
        <li>
          <a href="/portal/lien">{t(lang, 'portal.home.check')}</a>
          <br />
          {t(lang, 'portal.home.checkHelp')}
        </li>
      </ul>
    </Layout>
  );
}

export function LookupPage({ frame, imei = '', reference = '', error }: { frame: Frame; imei?: string; reference?: string; error?: string | undefined }) {
  const { lang } = frame;
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.lookup.title')}</h1>
      <p>{t(lang, 'portal.lookup.intro')}</p>
      {error && (
        <p class="alert" role="alert" data-testid="lookup-error">
          {error}
        </p>
      )}
      <form method="post" action="/portal/lookup">
        <Field id="reference" label={t(lang, 'portal.lookup.codeLabel')} help={t(lang, 'portal.lookup.codeHelp')}>
          {(d) => <input id="reference" name="reference" value={reference} required autocomplete="off" autocapitalize="characters" maxLength={20} aria-describedby={d} />}
        </Field>
        <Field id="imei" label={t(lang, 'portal.lookup.idLabel')} help={t(lang, 'portal.lookup.idHelp')}>
          {(d) => <input id="imei" name="imei" value={imei} inputMode="numeric" autocomplete="off" maxLength={24} aria-describedby={d} />}
        </Field>
        <button type="submit">{t(lang, 'portal.lookup.submit')}</button>
      </form>
    </Layout>
  );
}

function when(lang: Lang, date: string, timeZone: string) {
  return formatDate(lang, date, timeZone);
}

export function ResultPage({ frame, r }: { frame: Frame; r: LookupFound }) {
  const { lang } = frame;
  const money = (n: number) => formatMoney(lang, n, r.currency);
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.result.title')}</h1>
      <p class={r.stage === 'locked' || r.stage === 'restricted' ? 'alert big' : 'note big'} data-testid="stage" data-stage={r.stage}>
        {t(lang, `portal.stage.${r.stage}`)}
      </p>
      {r.openClaim && (
        <p class="ok" data-testid="open-claim">
          {r.openClaimNumber && <><a href={`/portal/claims/${encodeURIComponent(r.openClaimNumber)}?lang=${lang}`}>{t(lang, 'portal.result.claimNumber', { number: r.openClaimNumber })}</a>{' '}</>}
          {t(lang, 'portal.result.claimOpen')}
        </p>
      )}
      <dl>
        <dt>{t(lang, 'portal.result.reference')}</dt>
        <dd data-testid="lock-reference">{r.lockReference}</dd>
        <dt>{t(lang, 'portal.result.lender')}</dt>
        <dd data-testid="lender-name">{r.lender.name}</dd>
        <dt>{t(lang, 'portal.result.supportPhone')}</dt>
        <dd>
          <a href={`tel:${r.lender.supportPhone.replace(/[^\d+]/g, '')}`} data-testid="support-phone">
            {r.lender.supportPhone}
          </a>
        </dd>
        {r.lender.supportHours && (
          <>
            <dt>{t(lang, 'portal.result.supportHours')}</dt>
            <dd>{r.lender.supportHours}</dd>
          </>
        )}
        {r.stage !== 'released' && (
          <>
            <dt>{t(lang, 'portal.result.amountDue')}</dt>
            <dd data-testid="amount-due">{r.amountDue > 0 ? money(r.amountDue) : t(lang, 'portal.result.nothingDue')}</dd>
          </>
        )}
        {r.dueDate && (
          <>
            <dt>{t(lang, r.overdue ? 'portal.result.overdueSince' : 'portal.result.dueBy')}</dt>
            <dd data-testid="due-date">{when(lang, r.dueDate, r.timeZone)}</dd>
          </>
        )}
        {r.lockAt && (
          <>
            <dt>{t(lang, 'portal.result.lockAt')}</dt>
            <dd>{formatDateTime(lang, r.lockAt, r.timeZone)}</dd>
          </>
        )}
        {r.payoff && r.payoff.amount > 0 && (
          <>
            <dt>{t(lang, 'portal.result.payoff')}</dt>
            <dd data-testid="payoff" data-amount={String(r.payoff.amount)}>
              <strong>{money(r.payoff.amount)}</strong>. {t(lang, 'portal.result.payoffNote', { amount: money(r.payoff.amount) })}
              {r.payoff.saving > 0 ? ` ${t(lang, 'portal.result.payoffSaving', { saving: money(r.payoff.saving) })}` : ''}
            </dd>
          </>
        )}
      </dl>
      {r.stage !== 'released' && (
        <>
          <h2>{t(lang, 'portal.result.howToPay')}</h2>
          <p data-testid="how-to-pay">{r.lender.howToPay}</p>
          <p>{t(lang, 'portal.result.afterPay')}</p>
          <p>
            <a href={`/portal/claim?reference=${encodeURIComponent(r.lockReference)}`}>{t(lang, 'portal.result.paid')}</a>
          </p>
          <h2>{t(lang, 'portal.result.stillWorks')}</h2>
          <ul>
            <li>{t(lang, 'portal.result.worksEmergency')}</li>
            <li>{t(lang, 'portal.result.worksLender', { lender: r.lender.name, phone: r.lender.supportPhone })}</li>
            <li>{t(lang, 'portal.result.worksCharging')}</li>
          </ul>
          <h2>{t(lang, 'portal.result.resetTitle')}</h2>
          <p>{t(lang, 'portal.result.resetBody')}</p>
        </>
      )}
    </Layout>
  );
}

export interface ClaimValues {
  reference: string;
  transactionRef: string;
  amount: string;
  paidOn: string;
  channel: string;
}

export const EMPTY_CLAIM: ClaimValues = { reference: '', transactionRef: '', amount: '', paidOn: '', channel: '' };

const CHANNELS = [
  ['mobile_money', 'portal.claim.channel.mobileMoney'],
  ['bank', 'portal.claim.channel.bank'],
  ['agent', 'portal.claim.channel.agent'],
  ['other', 'portal.claim.channel.other'],
] as const;

export function ClaimPage({ frame, values, errors = {}, today }: { frame: Frame; values: ClaimValues; errors?: Partial<Record<keyof ClaimValues | 'receipt' | 'form', string>>; today: string }) {
  const { lang } = frame;
  const fieldErrors = Object.keys(errors).some((k) => k !== 'form');
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.claim.title')}</h1>
      <p>{t(lang, 'portal.claim.intro')}</p>
      {(errors.form || fieldErrors) && (
        <p class="alert" role="alert" data-testid="claim-error">
          {errors.form ?? t(lang, 'portal.error.formErrors')}
        </p>
      )}
      <form method="post" action="/portal/claim" enctype="multipart/form-data">
        <Field id="reference" label={t(lang, 'portal.claim.reference')} help={t(lang, 'portal.lookup.codeHelp')} error={errors.reference}>
          {(d, bad) => <input id="reference" name="reference" value={values.reference} required maxLength={20} autocomplete="off" aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <Field id="transactionRef" label={t(lang, 'portal.claim.transactionId')} help={t(lang, 'portal.claim.transactionIdHelp')} error={errors.transactionRef}>
          {(d, bad) => <input id="transactionRef" name="transactionRef" value={values.transactionRef} required maxLength={64} autocomplete="off" aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <Field id="amount" label={t(lang, 'portal.claim.amount')} error={errors.amount}>
          {(d, bad) => <input id="amount" name="amount" value={values.amount} required inputMode="decimal" maxLength={20} aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <Field id="paidOn" label={t(lang, 'portal.claim.datePaid')} error={errors.paidOn}>
          {(d, bad) => <input id="paidOn" name="paidOn" type="date" value={values.paidOn} max={today} required aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <Field id="channel" label={t(lang, 'portal.claim.channel')} error={errors.channel}>
          {(d, bad) => (
            <select id="channel" name="channel" required aria-describedby={d} aria-invalid={bad ? 'true' : undefined}>
              {CHANNELS.map(([value, key]) => (
                <option value={value} selected={values.channel === value}>
                  {t(lang, key)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id="receipt" label={t(lang, 'portal.claim.receipt')} help={t(lang, 'portal.claim.receiptHelp')} error={errors.receipt}>
          {(d, bad) => <input id="receipt" name="receipt" type="file" accept="image/jpeg,image/png,image/webp,application/pdf" aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <button type="submit">{t(lang, 'portal.claim.submit')}</button>
      </form>
    </Layout>
  );
}

export function ClaimReceiptPage({ frame, number }: { frame: Frame; number: string }) {
  const { lang } = frame;
  const [before, after] = t(lang, 'portal.claimSubmitted.body').split('{claimNumber}');
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.claimSubmitted.title')}</h1>
      <p class="ok">
        {before}
        <strong data-testid="claim-number">{number}</strong>
        {after}
      </p>
      <p>{t(lang, 'portal.result.claimOpen')}</p>
      <p>
        <a href={`/portal/claims/${encodeURIComponent(number)}`}>{t(lang, 'portal.claimSubmitted.statusLink')}</a>
      </p>
    </Layout>
  );
}

export function ClaimStatusPage({ frame, number = '', status, error }: { frame: Frame; number?: string; status?: PublicClaimStatus | undefined; error?: string | undefined }) {
  const { lang } = frame;
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.claimStatus.title')}</h1>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {status && (
        <>
          <p>
            {t(lang, 'portal.claimStatus.numberLabel')}: <strong>{status.number}</strong>
          </p>
          <p class={status.status === 'rejected' ? 'alert' : status.status === 'approved' ? 'ok' : 'note'} data-testid="claim-status" data-status={status.status}>
            {status.status === 'rejected' ? t(lang, 'portal.claimStatus.rejected', { message: status.message ?? '' }) : t(lang, `portal.claimStatus.${status.status}`)}
          </p>
          <p>{t(lang, 'portal.claimStatus.help', { lender: status.lender.name, phone: status.lender.supportPhone })}</p>
        </>
      )}
      <form method="get" action="/portal/claims">
        <Field id="number" label={t(lang, 'portal.claimStatus.numberLabel')}>
          {(d) => <input id="number" name="number" value={number} required maxLength={20} autocomplete="off" aria-describedby={d} />}
        </Field>
        <button type="submit">{t(lang, 'portal.claimStatus.submit')}</button>
      </form>
    </Layout>
  );
}

const LIEN_TEXT = {
  lien: ['portal.lien.result.lien', 'portal.lien.result.lienHelp', 'alert'],
  none: ['portal.lien.result.none', 'portal.lien.result.noneHelp', 'note'],
  released: ['portal.lien.result.released', 'portal.lien.result.releasedHelp', 'ok'],
} as const;

export function LienPage({ frame, imei = '', result, error }: { frame: Frame; imei?: string; result?: LienStatus | undefined; error?: string | undefined }) {
  const { lang } = frame;
  const text = result ? LIEN_TEXT[result] : undefined;
  return (
    <Layout frame={frame}>
      <h1>{t(lang, 'portal.lien.title')}</h1>
      {text && (
        <div class={text[2]} role="status" data-testid="lien-result" data-result={result}>
          <p class="big">
            <strong>{t(lang, text[0])}</strong>
          </p>
          <p>{t(lang, text[1])}</p>
        </div>
      )}
      <p>{t(lang, 'portal.lien.intro')}</p>
      <form method="post" action="/portal/lien">
        <Field id="imei" label={t(lang, 'portal.lien.imeiLabel')} error={error}>
          {(d, bad) => <input id="imei" name="imei" value={imei} inputMode="numeric" required maxLength={24} autocomplete="off" aria-describedby={d} aria-invalid={bad ? 'true' : undefined} />}
        </Field>
        <button type="submit">{t(lang, 'portal.lien.submit')}</button>
      </form>
    </Layout>
  );
}

export function MessagePage({ frame, title, message, role = 'alert' }: { frame: Frame; title: string; message: string; role?: 'alert' | 'status' }) {
  return (
    <Layout frame={frame}>
      <h1>{title}</h1>
      <p class="alert" role={role} data-testid="message">
        {message}
      </p>
      <p>
        <a href="/portal">{frame.lang && t(frame.lang, 'portal.back')}</a>
      </p>
    </Layout>
  );
}
