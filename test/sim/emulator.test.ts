import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/domain/clock.ts';
import { buildLien } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import { emulatorEnabled } from '../../src/server/routes/emulator.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { openTestDb } from '../store/helpers.ts';
import { dataMode, driveToLock, issueCode, testId, until } from './helpers.ts';

describe('browser device emulator (server-rendered pages)', () => {
  const p = new TestPlatform();
  let financed: TestDevice;
  let retail: TestDevice;
  let sale: { deviceId: string; lockReference: string };

  const page = async (path: string) => {
    const r = await fetch(`${p.url}${path}`);
    return { status: r.status, type: r.headers.get('content-type'), html: await r.text() };
  };
  const post = async (path: string, form: Record<string, string>) => {
    const r = await fetch(`${p.url}${path}`, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' });
    return { status: r.status, location: r.headers.get('location') };
  };
  const modeOf = async (serial: string) => dataMode((await page(`/emulator/${serial}`)).html);

  beforeAll(async () => {
    await p.start();
    financed = (await p.register(1))[0]!;
    retail = (await p.register(1, 'retail'))[0]!;
    sale = await p.sell(financed);
  }, 60_000);
  afterAll(() => p.stop());

  it('is on only with LIEN_EMULATOR=1 or a manual test clock', async () => {
    const database = await openTestDb();
    const saved = process.env.LIEN_EMULATOR;
    delete process.env.LIEN_EMULATOR;
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'lien-emu-'));
      const production = await buildLien(loadConfig({ LIEN_DATA_DIR: dataDir } as NodeJS.ProcessEnv), { clock: systemClock, database, logger: false });
      expect((await production.app.inject({ method: 'GET', url: '/emulator' })).statusCode).toBe(404);
      await production.close();
      rmSync(dataDir, { recursive: true, force: true });
    } finally {
      if (saved !== undefined) process.env.LIEN_EMULATOR = saved;
      await database.close();
    }
    expect(emulatorEnabled(systemClock, {})).toBe(false);
    expect(emulatorEnabled(systemClock, { LIEN_EMULATOR: '1' })).toBe(true);
    expect(emulatorEnabled(new ManualClock(), {})).toBe(true);
    expect(emulatorEnabled(new ManualClock(), { LIEN_EMULATOR: '0' })).toBe(false);
  });

  it('starts a phone on first visit and shows NORMAL with the lender', async () => {
    const r = await page(`/emulator/${financed.serial}`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/html/);
    expect(dataMode(r.html)).toBe('normal');
    expect(testId(r.html, 'lender-name')).toBe('Jamii Finance');
    expect(testId(r.html, 'support-phone')).toBe('+254700000111');
    expect(testId(r.html, 'outcome')).toMatch(/^synced \(enrolled\)/);
    const index = await page('/emulator');
    expect(index.html).toContain(`data-serial="${financed.serial}"`);
  });

  it('an unknown serial is a 404 page, and a start form redirects to the phone', async () => {
    const missing = await page('/emulator/NO-SUCH-SERIAL');
    expect(missing.status).toBe(404);
    expect(testId(missing.html, 'error')).toContain('NO-SUCH-SERIAL');
    const start = await post('/emulator', { serial: retail.serial });
    expect(start).toEqual({ status: 303, location: `/emulator/${retail.serial}` });
    expect(await modeOf(retail.serial)).toBe('dormant');
  });

  it('follows the contract to LOCKED with reference and amount, in the chosen language; a code unlocks it', async () => {
    await driveToLock(p, sale.deviceId, {
      shows: async (mode) => {
        await until(`emulated phone shows ${mode}`, async () => (await modeOf(financed.serial)) === mode);
      },
    });
    const locked = await page(`/emulator/${financed.serial}`);
    expect(testId(locked.html, 'lock-reference')).toBe(sale.lockReference);
    expect(testId(locked.html, 'title')).toBe('This phone is locked');
    // 3 monthly installments of KES 10,000.00, the first overdue; formatMoney with en-KE.
    expect(testId(locked.html, 'amount-due')).toBe('Ksh\u00a010,000.00');
    expect(testId(locked.html, 'line-emergency')).toContain('Emergency calls always work.');
    expect(locked.html).toContain('data-testid="code-form"');

    const sw = await page(`/emulator/${financed.serial}?lang=sw`);
    expect(sw.html).toContain('<html lang="sw"');
    expect(testId(sw.html, 'title')).toBe('Simu hii imefungwa');
    expect(testId(sw.html, 'lock-reference')).toBe(sale.lockReference);

    // A call to an ordinary number is blocked; the lender's line is not.
    await post(`/emulator/${financed.serial}/call`, { number: '+254799999999' });
    expect(testId((await page(`/emulator/${financed.serial}`)).html, 'outcome')).toMatch(/blocked/);
    await post(`/emulator/${financed.serial}/call`, { number: '0700000111' });
    expect(testId((await page(`/emulator/${financed.serial}`)).html, 'outcome')).toMatch(/allowed/);

    // A wrong code is refused and the phone stays locked.
    expect(await post(`/emulator/${financed.serial}/code`, { code: '123456789' })).toMatchObject({ status: 303 });
    const refused = await page(`/emulator/${financed.serial}`);
    expect(dataMode(refused.html)).toBe('locked');
    expect(testId(refused.html, 'outcome')).toMatch(/did not work/);

    const token = await issueCode(p, sale.deviceId);
    const done = await post(`/emulator/${financed.serial}/code`, { code: token, lang: 'en' });
    expect(done).toEqual({ status: 303, location: `/emulator/${financed.serial}` });
    const unlocked = await page(`/emulator/${financed.serial}`);
    expect(dataMode(unlocked.html)).toBe('normal');
    expect(testId(unlocked.html, 'outcome')).toMatch(/^Code accepted/);
    expect(testId(unlocked.html, 'credit-until')).toBe('29 January 2026 at 10:00');
  });

  it('offline, factory reset and online: the lock of a phone stays through a reset', async () => {
    const serial = financed.serial;
    await post(`/emulator/${serial}/offline`, {});
    const offline = await page(`/emulator/${serial}`);
    expect(testId(offline.html, 'network')).toBe('offline');
    await post(`/emulator/${serial}/reset`, {});
    const reset = await page(`/emulator/${serial}`);
    expect(testId(reset.html, 'outcome')).toMatch(/factory reset done .*no network/);
    // The credit the code bought lives in the persistent partition: a reset does not lose it.
    expect(dataMode(reset.html)).toBe('normal');
    await post(`/emulator/${serial}/online`, {});
    const online = await page(`/emulator/${serial}`);
    expect(testId(online.html, 'network')).toBe('online');
    expect(testId(online.html, 'outcome')).toMatch(/^synced \(enrolled\)/);
    // Past the credit, the server's lock is back.
    p.clock.set('2026-01-30T07:00:00Z');
    expect(await modeOf(serial)).toBe('locked');
  });

  it('the poller answers 204 while nothing changed, and asks for a reload when the page would change', async () => {
    const html = (await page(`/emulator/${financed.serial}`)).html;
    const poll = /hx-get="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    expect((await fetch(`${p.url}${poll}`)).status).toBe(204);
    await post(`/emulator/${financed.serial}/sync`, {});
    const changed = await fetch(`${p.url}${poll}`);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('hx-refresh')).toBe('true');
    const script = /<script src="([^"]+)"/.exec(html)![1]!;
    expect(script).toMatch(/^\/assets\/htmx\.min\.[\w-]{16}\.js$/);
    const js = await fetch(`${p.url}${script}`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it('escapes what it shows', async () => {
    const r = await post('/emulator', { serial: '<script>alert(1)</script>' });
    const missing = await page(r.location!);
    expect(missing.status).toBe(404);
    expect(missing.html).not.toContain('<script>alert(1)</script>');
    expect(missing.html).toContain('&lt;script');
  });
});
