/**
 * The lock screen in the borrower's language, in Chromium (issue #15): on Hindi and Swahili
 * phones every sentence on the screen is one of that language's catalog sentences (values such
 * as amounts, dates and the lender's own texts sit in marked slots), the badge is translated, the
 * unlock-code placeholder fits its box, the notice shows its deadline in the lender's time zone,
 * and axe-core finds nothing serious or critical on the lock screen, the emulator and the portal.
 * Screenshots go to test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CATALOGS, formatDateTime, t, type Lang } from '../../src/i18n/index.ts';
import { axe, serious } from '../setup/axe.ts';
import { describeBrowser } from '../setup/browser.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { dataMode, launchChromium, until } from './helpers.ts';
import { addUser, ConsoleClient } from '../console/helpers.ts';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
const SLOT = '\u0000';

/** Each catalog sentence of a language with its placeholders as slots, as the screen marks them. */
function catalogSentences(lang: Lang): Set<string> {
  const out = new Set<string>();
  for (const template of Object.values(CATALOGS[lang])) out.add(template.replace(/\{[A-Za-z][A-Za-z0-9_]*\}/g, SLOT));
  // The emergency line is the catalog sentence followed by the list of numbers.
  out.add(`${t(lang, 'lock.emergency')} ${SLOT}`);
  return out;
}

/** Every text of the screen: sentences with their slots blanked, labels, values, the badge. */
async function screenTexts(page: Page) {
  return page.evaluate((slot) => {
    const screen = document.querySelector('[data-testid="screen"]')!;
    const sentence = (el: Element) =>
      Array.from(el.childNodes)
        .map((n) => (n.nodeType === Node.TEXT_NODE ? n.textContent : slot))
        .join('')
        .trim();
    return {
      badge: screen.querySelector('[data-testid="mode"]')!.textContent!.trim(),
      title: screen.querySelector('h1')?.textContent?.trim() ?? null,
      lines: Array.from(screen.querySelectorAll('[data-testid^="line-"]')).map((el) => ({ id: el.getAttribute('data-testid')!, text: sentence(el) })),
      labels: Array.from(screen.querySelectorAll('dt')).map((el) => el.textContent!.trim()),
      values: Array.from(screen.querySelectorAll('dd')).map((el) => el.textContent!.trim()),
      all: (screen as HTMLElement).innerText,
    };
  }, SLOT);
}

describeBrowser('lock screen in the borrower language, in Chromium', () => {
  const p = new TestPlatform();
  let browser: Browser;
  let d: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };
  const lenderValues = new Set<string>();

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const texts = {
      hi: { howToPay: 'M-Pesa पेबिल 123456 में भुगतान करें', supportHours: 'सोम–शनि 8:00–18:00' },
      sw: { howToPay: 'Lipa kwa M-Pesa paybill 123456', supportHours: 'Jumatatu–Jumamosi 8:00–18:00', message: 'Tupigie tukubaliane tarehe mpya.' },
    };
    const r = await p.api('PUT', '/v1/settings', { lockMessage: 'Call us to agree a new date.', texts });
    expect(r.status).toBe(200);
    for (const v of [...Object.values(texts.hi), ...Object.values(texts.sw), 'Call us to agree a new date.', r.body.supportPhone, r.body.name]) lenderValues.add(v);
    d = (await p.register(1))[0]!;
    sale = await p.sell(d);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  const url = () => `${p.url}/emulator/${d.serial}`;
  const modeOf = async () => dataMode(await (await fetch(url())).text());

  it("the notice says until when to pay, in the lender's time zone, and passes axe", async () => {
    expect(await modeOf()).toBe('normal');
    p.clock.set('2026-01-17T07:00:00Z');
    expect((await p.operator('POST', '/v1/operator/sweep')).status).toBe(200);
    await until('phone shows the notice', async () => (await modeOf()) === 'notice');
    // The lock is scheduled once the phone reported the notice on screen; its policy then carries the deadline.
    await until('notice_shown on the server', async () => (await p.events(sale.deviceId)).some((e) => e.kind === 'notice_shown'));
    await p.lien.gateway.idle();
    const contract = await until('lock scheduled', async () => {
      const c = await p.api('GET', `/v1/contracts/${sale.contractId}`);
      return c.body.contract.lock_at ? c.body.contract : null;
    });
    await fetch(`${url()}/sync`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });

    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(url());
    const shown = await page.getByTestId('notice-until').textContent();
    const lockAt = new Date(contract.lock_at);
    expect(shown).toBe(formatDateTime('en', lockAt, 'Africa/Nairobi'));
    expect(shown).not.toBe(formatDateTime('en', lockAt, 'UTC'));
    expect(await page.getByTestId('mode').textContent()).toBe('NOTICE');
    await page.screenshot({ path: `${SCREENSHOTS}lock-notice-en.png` });
    expect(serious(await axe(page))).toEqual([]);
    await page.close();
  });

  it('locked, in Hindi and Swahili: no sentence outside the catalog, a translated badge, a placeholder that fits, axe clean', async () => {
    expect((await p.api('POST', `/v1/devices/${sale.deviceId}/messages`, { template: 'call_us' })).status).toBe(201);
    p.clock.set('2026-01-22T07:00:00Z');
    expect((await p.operator('POST', '/v1/operator/sweep')).status).toBe(200);
    await until('phone shows the lock', async () => (await modeOf()) === 'locked');
    await until('the note reached the phone', async () => (await (await fetch(url())).text()).includes('line-note'));
    const policy = (await p.lien.services.db.selectFrom('policies').select('body').where('device_id', '=', sale.deviceId).orderBy('version', 'desc').executeTakeFirstOrThrow()).body as { policy: { message: string } };

    for (const lang of ['hi', 'sw'] as const) {
      const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
      await page.goto(`${url()}?lang=${lang}`);
      const s = await screenTexts(page);
      const sentences = catalogSentences(lang);
      const catalogValues = new Set(Object.values(CATALOGS[lang]) as string[]);
      expect(s.badge).toBe(t(lang, 'lock.badge.locked'));
      expect(catalogValues.has(s.title!)).toBe(true);
      expect(s.lines.length).toBeGreaterThanOrEqual(5);
      for (const line of s.lines) expect(sentences.has(line.text), `${lang} ${line.id}: ${JSON.stringify(line.text)}`).toBe(true);
      for (const label of s.labels) expect(catalogValues.has(label) || label === t(lang, 'lock.lenderMessage', { lender: 'Jamii Finance' }), `${lang} label ${label}`).toBe(true);
      // Values: the lender's own words (in this language where it gave them), its name and number, the amount.
      const amount = await page.getByTestId('amount-due').textContent();
      for (const value of s.values) expect(lenderValues.has(value) || value === amount, `${lang} value ${value}`).toBe(true);
      expect(await page.getByTestId('how-to-pay').textContent()).toBe(lang === 'hi' ? 'M-Pesa पेबिल 123456 में भुगतान करें' : 'Lipa kwa M-Pesa paybill 123456');
      expect(await page.getByTestId('lender-message').textContent()).toBe(lang === 'sw' ? 'Tupigie tukubaliane tarehe mpya.' : 'Call us to agree a new date.');
      expect(s.all).not.toContain(policy.policy.message);
      expect(s.all).not.toMatch(/overdue|locked|Emergency/i);

      // The placeholder of the code box is drawn whole: its text is narrower than the box's content area.
      const fit = await page.getByTestId('code-input').evaluate((el) => {
        const input = el as HTMLInputElement;
        const style = getComputedStyle(input, '::placeholder');
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const box = getComputedStyle(input);
        return { text: ctx.measureText(input.placeholder).width, room: input.clientWidth - parseFloat(box.paddingLeft) - parseFloat(box.paddingRight) };
      });
      expect(fit.text).toBeLessThan(fit.room);

      await page.screenshot({ path: `${SCREENSHOTS}lock-locked-${lang}.png`, fullPage: true });
      expect(serious(await axe(page)), lang).toEqual([]);
      await page.close();
    }
  });

  it('the emulator index and the portal pass axe (0 serious or critical)', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    for (const [name, path] of [
      ['emulator-index', '/emulator'],
      ['portal-home-sw', '/portal?lang=sw'],
      ['portal-lookup-hi', '/portal/lookup?lang=hi'],
      ['portal-lien', '/portal/lien'],
    ] as const) {
      await page.goto(`${p.url}${path}`);
      await page.screenshot({ path: `${SCREENSHOTS}axe-${name}.png`, fullPage: true });
      expect(serious(await axe(page)), name).toEqual([]);
    }
    await page.close();
  });

  it("the console's borrower-messages page passes axe and fits 360 px", async () => {
    await addUser(p, p.lenderId, 'support', 'support-axe@jamii.example');
    const client = new ConsoleClient(p.url);
    expect((await client.signIn('support-axe@jamii.example')).status).toBe(303);
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    await context.addCookies([...client.cookies].map(([name, value]) => ({ name, value, url: p.url })));
    const page = await context.newPage();
    await page.goto(`${p.url}/console/devices/${sale.deviceId}/messages`);
    expect(await page.locator('[data-testid="screen-messages"] li').count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${SCREENSHOTS}console-messages-360.png`, fullPage: true });
    expect(serious(await axe(page))).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await context.close();
  });
});
