/** @jsxImportSource preact */
import type { apiKeys, webhooks } from '../../services/views/console.ts';
import type { LenderSettings } from '../../services/settings.ts';
import { LENDER_ROLES } from '../../domain/roles.ts';
import { roleLabel } from '../../i18n/labels.ts';
import type { UserSummary } from '../../services/users.ts';
import { ConfirmField, Csrf, render, Shell, when, type Viewer } from './layout.tsx';
import { LockTextsForm } from './lock-texts.tsx';

export interface SettingsPageProps {
  settings: LenderSettings;
  profiles: { id: string; name: string }[];
  users: UserSummary[];
  keys: Awaited<ReturnType<typeof apiKeys>>;
  newKey?: { name: string; key: string } | null;
  webhooks: Awaited<ReturnType<typeof webhooks>>;
  eventTypes: readonly string[];
  newWebhook?: { url: string; secret: string } | null;
  flash: { text: string; bad?: boolean } | null;
  /** IANA zones to choose from (Intl.supportedValuesOf('timeZone')). */
  timeZones: readonly string[];
  locales: readonly (readonly [code: string, name: string])[];
  locale: string;
}

export function renderSettings(viewer: Viewer, p: SettingsPageProps): string {
  const s = p.settings;
  const currentProfile = (s.complianceProfile as { id?: string }).id ?? '';
  return render(
    <Shell title="Settings" viewer={viewer} active="/console/settings" flash={p.flash}>
      <h1>Settings · {s.name}</h1>
      {p.newKey && (
        <div class="flash" data-testid="new-key">
          New API key “{p.newKey.name}”: <span class="code">{p.newKey.key}</span>
          {'\n'}Copy it now; it is not shown again.
        </div>
      )}
      {p.newWebhook && (
        <div class="flash" data-testid="new-webhook">
          Webhook {p.newWebhook.url} registered. Signing secret: <span class="code">{p.newWebhook.secret}</span>
          {'\n'}Copy it now; it is not shown again.
        </div>
      )}
      <div class="forms">
        <form method="post" action="/console/settings" data-testid="settings-form">
          <h2>Contacts and payments</h2>
          <Csrf token={viewer.csrf} />
          <label>Support phone (on every lock screen)<input name="supportPhone" value={s.supportPhone} required minLength={3} maxLength={32} /></label>
          <label>Support web address<input name="supportUrl" value={s.supportUrl} maxLength={300} /></label>
          <label>Support hours<input name="supportHours" value={s.supportHours ?? ''} maxLength={120} /></label>
          <label>How to pay (shown to borrowers)<textarea name="howToPay" required maxLength={2000} rows={3}>{s.howToPay}</textarea></label>
          <label>
            Time zone (dates on the phones, in the console and in exports)
            <select name="timeZone" required data-testid="time-zone">
              {(p.timeZones.includes(s.timeZone) ? p.timeZones : [s.timeZone, ...p.timeZones]).map((z) => <option value={z} selected={z === s.timeZone}>{z.replaceAll('_', ' ')}</option>)}
            </select>
          </label>
          <label>
            Language and date format of the console
            <select name="locale" data-testid="locale">
              {p.locales.map(([code, name]) => <option value={code} selected={code === p.locale}>{name}</option>)}
            </select>
          </label>
          <label>
            Compliance profile
            <select name="complianceProfile" data-testid="profile">
              {!p.profiles.some((x) => x.id === currentProfile) && <option value="" selected>{`custom (${currentProfile || 'unnamed'}) — keep`}</option>}
              {p.profiles.map((x) => <option value={x.id} selected={x.id === currentProfile}>{x.name}</option>)}
            </select>
          </label>
          <button type="submit">Save</button>
        </form>
        <form method="post" action="/console/settings/channels" data-testid="channels-form">
          <h2>Payment channels</h2>
          <Csrf token={viewer.csrf} />
          <p class="muted">One per line: name and freshness window in minutes, e.g. “mpesa 60”. New locks are held while a channel has not reported within its window.</p>
          <textarea name="channels" rows={5} aria-label="Payment channels: one per line, name and minutes">{s.paymentChannels.map((c) => `${c.channel} ${c.freshnessMinutes}`).join('\n')}</textarea>
          <ul>
            {s.paymentChannels.map((c) => <li>{c.channel}: last report {when(c.lastReportedAt, viewer)}{c.stale ? ' — stale' : ''}</li>)}
          </ul>
          <button type="submit">Save channels</button>
        </form>
      </div>
      <LockTextsForm viewer={viewer} settings={s} />
      <section>
        <h2>Users</h2>
        <table data-testid="users">
          <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Added</th><th>Access</th></tr></thead>
          <tbody>
            {p.users.map((u) => (
              <tr>
                <td>{u.name}</td><td>{u.email}</td><td>{roleLabel(u.role)}</td><td>{when(u.createdAt, viewer)}</td>
                <td>
                  {u.disabledAt ? `disabled ${when(u.disabledAt, viewer)}` : u.email === viewer.email ? 'you' : (
                    <form method="post" action={`/console/settings/users/${u.id}/disable`} class="inline" hx-confirm={`Disable ${u.name}? They are signed out and cannot sign in again.`} data-testid="disable-form">
                      <Csrf token={viewer.csrf} />
                      <ConfirmField question={`Disable ${u.name}`} testId="disable-confirm" />
                      <button type="submit" class="quiet" data-testid="disable-submit">Disable</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/console/settings/users" class="forms" data-testid="user-form">
          <Csrf token={viewer.csrf} />
          <label>Name<input name="name" required maxLength={120} /></label>
          <label>Email<input name="email" type="email" required /></label>
          <label>Password (10+ characters)<input name="password" type="password" required minLength={10} autocomplete="new-password" /></label>
          <label>Role<select name="role" data-testid="new-user-role">{LENDER_ROLES.map((r) => <option value={r} selected={r === 'viewer'}>{roleLabel(r)}</option>)}</select></label>
          <button type="submit">Add user</button>
        </form>
      </section>
      <section>
        <h2>API keys</h2>
        <table data-testid="keys">
          <thead><tr><th>Name</th><th>Scopes</th><th>Created</th><th>Last used</th><th>Access</th></tr></thead>
          <tbody>
            {p.keys.map((k) => (
              <tr>
                <td>{k.name}</td><td>{(k.scopes as string[]).join(', ')}</td><td>{when(k.created_at, viewer)}</td><td>{when(k.last_used_at, viewer)}</td>
                <td>
                  {k.revoked_at ? `revoked ${when(k.revoked_at, viewer)}` : (
                    <form method="post" action={`/console/settings/keys/${k.id}/revoke`} class="inline" hx-confirm={`Revoke the key “${k.name}”? Every program using it stops working at once.`} data-testid="revoke-form">
                      <Csrf token={viewer.csrf} />
                      <ConfirmField question={`Revoke “${k.name}”`} testId="revoke-confirm" />
                      <button type="submit" class="quiet" data-testid="revoke-submit">Revoke</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/console/settings/keys" class="forms" data-testid="key-form" hx-boost="false">
          <Csrf token={viewer.csrf} />
          <label>Name<input name="name" required maxLength={80} /></label>
          <fieldset>
            <legend>Scopes</legend>
            {['read', 'write', 'codes'].map((sc) => (
              <label><input type="checkbox" name="scopes" value={sc} checked={sc === 'read'} style="display:inline;width:auto" /> {sc}</label>
            ))}
          </fieldset>
          <button type="submit">Create key</button>
        </form>
      </section>
      <section>
        <h2>Webhooks</h2>
        <table data-testid="webhooks">
          <thead><tr><th>Endpoint</th><th>Events</th><th>Created</th><th>State</th></tr></thead>
          <tbody>
            {p.webhooks.map((w) => (
              <tr>
                <td>{w.url}</td><td>{(w.events as string[]).join(', ')}</td><td>{when(w.created_at, viewer)}</td>
                <td>
                  {!w.active ? 'inactive' : (
                    <form method="post" action={`/console/settings/webhooks/${w.id}/deactivate`} class="inline">
                      <Csrf token={viewer.csrf} />
                      <button type="submit" class="quiet">Deactivate</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/console/settings/webhooks" class="forms" data-testid="webhook-form" hx-boost="false">
          <Csrf token={viewer.csrf} />
          <label>Endpoint (https://…)<input name="url" type="url" required maxLength={2000} /></label>
          <fieldset>
            <legend>Events</legend>
            {p.eventTypes.map((e) => (
              <label><input type="checkbox" name="events" value={e} style="display:inline;width:auto" /> {e}</label>
            ))}
          </fieldset>
          <button type="submit">Register webhook</button>
        </form>
      </section>
    </Shell>,
  );
}
