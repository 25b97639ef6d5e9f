/** @jsxImportSource preact */
import { Csrf, render, Shell, type Viewer } from './layout.tsx';

export function renderSell(viewer: Viewer, opts: { currency: string; today: string; values?: Record<string, string>; flash: { text: string; bad?: boolean } | null }): string {
  const v = opts.values ?? {};
  const field = (name: string, label: string, extra: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input name={name} value={v[name] ?? (extra.value as string | undefined) ?? ''} {...extra} data-testid={`sell-${name}`} />
    </label>
  );
  return render(
    <Shell title="Sell on credit" viewer={viewer} active="/console/sell" flash={opts.flash}>
      <h1>Sell a device on credit</h1>
      <div class="forms">
        <form method="post" action="/console/sell" data-testid="sell-form">
          <Csrf token={viewer.csrf} />
          {field('imei', 'IMEI (from the box or *#06#)', { required: true, inputmode: 'numeric', maxLength: 17 })}
          {field('borrowerRef', 'Borrower reference (your customer id)', { required: true, maxLength: 120 })}
          {field('borrowerPhone', 'Borrower phone', { required: true, type: 'tel', maxLength: 20 })}
          <label>
            Borrower language
            <select name="borrowerLanguage">
              {['en', 'sw', 'hi', 'es', 'id'].map((l) => <option value={l} selected={v.borrowerLanguage === l}>{l}</option>)}
            </select>
          </label>
          {field('principal', `Cash price (${opts.currency})`, { required: true, inputmode: 'decimal' })}
          {field('downPayment', `Down payment (${opts.currency}, optional)`, { inputmode: 'decimal' })}
          {field('annualRatePct', 'Annual rate (%)', { required: true, value: '0', inputmode: 'decimal' })}
          {field('termCount', 'Number of installments', { required: true, type: 'number', min: 1, max: 260, value: '6' })}
          <label>
            Frequency
            <select name="frequency">
              {['weekly', 'biweekly', 'monthly'].map((f) => <option value={f} selected={(v.frequency ?? 'monthly') === f}>{f}</option>)}
            </select>
          </label>
          <label>
            Method
            <select name="method">
              {['flat', 'declining'].map((f) => <option value={f} selected={(v.method ?? 'flat') === f}>{f}</option>)}
            </select>
          </label>
          {field('firstDueDate', 'First due date', { required: true, type: 'date', min: opts.today })}
          <label>
            <input type="checkbox" name="consent" value="yes" style="display:inline;width:auto" checked={v.consent === 'yes'} data-testid="sell-consent" /> The borrower signed the lock
            consent (without it the device can never lock)
          </label>
          {field('termsVersion', 'Consent terms version', { value: 'v1', maxLength: 40 })}
          <button type="submit" data-testid="sell-submit">Sell</button>
        </form>
      </div>
    </Shell>,
  );
}
