import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser } from '../setup/browser.ts';
import { approveClaim, rejectClaim } from '../../src/services/claim-review.ts';
import { createUser } from '../../src/services/users.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { dataMode, driveToLock, launchChromium, until } from '../sim/helpers.ts';
import { PNG_1PX } from './helpers.ts';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

describeBrowser('help portal in Chromium', () => {
  const p = new TestPlatform();
  let browser: Browser;
  let locked: TestDevice;
  let paidOff: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    const devs = await p.register(2);
    locked = devs[0]!;
    paidOff = devs[1]!;
    sale = await p.sell(locked!);
    const paid = await p.sell(paidOff!, { schedule: { principal: 2_000_00, annualRatePct: 0, termCount: 1, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' } });
    expect((await p.api('POST', '/v1/payments', { contractId: paid.contractId, externalRef: 'PAID-IN-FULL', channel: 'mpesa', amount: 2_000_00, currency: 'KES' })).status).toBe(201);
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  const shot = (page: Page, name: string, lang: string) => page.screenshot({ path: `${SCREENSHOTS}portal-${name}-${lang}.png`, fullPage: true });

  /** No template key or placeholder leaks into what the reader sees. */
  async function noRawKeys(page: Page): Promise<void> {
    const body = await page.locator('body').innerText();
    expect(body).not.toMatch(/portal\.[a-zA-Z]+/);
    expect(body).not.toMatch(/\{[a-zA-Z]+\}/);
  }

  it('a locked borrower finds the lender, claims a payment, is unlocked on approval; a buyer sees released', async () => {
    const emulator = `${p.url}/emulator/${locked.serial}`;
    const modeOf = async () => dataMode(await (await fetch(emulator)).text());
    expect(await modeOf()).toBe('normal');
    await driveToLock(p, sale.deviceId, { shows: (mode) => until(`phone shows ${mode}`, async () => (await modeOf()) === mode).then(() => undefined) });

    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    for (const lang of ['en', 'sw', 'hi']) {
      await page.goto(`${p.url}/portal?lang=${lang}`);
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      await noRawKeys(page);
      await shot(page, 'home', lang);
      await page.goto(`${p.url}/portal/lookup`);
      await noRawKeys(page);
      await shot(page, 'lookup', lang);
      await page.locator('#reference').fill(sale.lockReference);
      await page.locator('#imei').fill(locked.imei);
      await page.locator('button[type=submit]').click();
      await page.getByTestId('lender-name').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      expect(await page.getByTestId('lender-name').textContent()).toBe('Jamii Finance');
      expect(await page.getByTestId('stage').getAttribute('data-stage')).toBe('locked');
      expect(await page.getByTestId('amount-due').textContent()).toMatch(/10,000/);
      await noRawKeys(page);
      await shot(page, 'result', lang);
    }

    // Without the lock reference: the same neutral answer, nothing about the borrower.
    await page.goto(`${p.url}/portal/lookup?lang=en`);
    await page.locator('#reference').fill('ZZZZ9999');
    await page.locator('#imei').fill(locked.imei);
    await page.locator('button[type=submit]').click();
    await page.getByTestId('lookup-error').waitFor();
    const body = await page.locator('body').innerText();
    expect(body).not.toContain('Jamii');
    expect(body).not.toMatch(/10,000/);
    await shot(page, 'lookup-error', 'en');

    // "I have paid" with a receipt, in Swahili and Hindi.
    const numbers: string[] = [];
    for (const [i, lang] of (['sw', 'hi'] as const).entries()) {
      await page.goto(`${p.url}/portal/claim?lang=${lang}&reference=${sale.lockReference}`);
      await noRawKeys(page);
      await shot(page, 'claim', lang);
      await page.locator('#transactionRef').fill(`QKX${i}7Y2Z`);
      await page.locator('#amount').fill('10000');
      await page.locator('#paidOn').fill('2026-01-21');
      await page.locator('#channel').selectOption('mobile_money');
      await page.locator('#receipt').setInputFiles({ name: 'mpesa.png', mimeType: 'image/png', buffer: PNG_1PX });
      await page.locator('button[type=submit]').click();
      await page.getByTestId('claim-number').waitFor();
      numbers.push((await page.getByTestId('claim-number').textContent())!);
      await noRawKeys(page);
      await shot(page, 'claim-receipt', lang);
      await page.locator(`a[href^="/portal/claims/"]`).click();
      await page.getByTestId('claim-status').waitFor();
      expect(await page.getByTestId('claim-status').getAttribute('data-status')).toBe('open');
      await noRawKeys(page);
      await shot(page, 'claim-status', lang);
    }

    // The claim shows in the lender's console.
    await createUser(p.lien.services, { kind: 'operator', id: 'test', lenderId: null }, { lenderId: p.lenderId, email: 'support@jamii.example', name: 'Support', password: 'correct horse battery', role: 'support' });
    const consolePage = await browser.newPage();
    await consolePage.goto(`${p.url}/console/login`);
    await consolePage.getByTestId('email').fill('support@jamii.example');
    await consolePage.getByTestId('password').fill('correct horse battery');
    await consolePage.getByTestId('sign-in').click();
    await consolePage.waitForURL((u) => !u.pathname.endsWith('/login'));
    await consolePage.goto(`${p.url}/console/claims`);
    const claimsTable = await consolePage.getByTestId('claims').innerText();
    expect(claimsTable).toContain('QKX07Y2Z');
    expect(claimsTable).toContain('view receipt');
    await consolePage.close();

    // An open claim holds the lock (guardrail 2), so the phone is already let go meanwhile.
    await until('open claim lifts the lock on the phone', async () => (await modeOf()) !== 'locked', 20_000);
    // The lender rejects one claim and approves the other: the payment is posted, and with no
    // claim open any more the phone stays unlocked because nothing is overdue, even after a sweep.
    const support = { kind: 'user' as const, id: 'usr_support', lenderId: p.lenderId };
    const [approved, rejected] = await Promise.all(numbers.map((n) => p.lien.services.db.selectFrom('claims').select('id').where('number', '=', n).executeTakeFirstOrThrow()));
    await rejectClaim(p.lien.services, support, rejected!.id, 'Same payment as the other claim.');
    await approveClaim(p.lien.services, support, approved!.id);
    p.clock.advance(3600_000);
    expect((await p.operator('POST', '/v1/operator/sweep')).status).toBe(200);
    await until('emulated phone unlocked', async () => (await modeOf()) === 'normal', 20_000);
    const contract = await p.lien.services.db.selectFrom('contracts').select(['stage', 'amount_overdue']).where('id', '=', sale.contractId).executeTakeFirstOrThrow();
    expect([contract.stage, Number(contract.amount_overdue)]).toEqual(['current', 0]);
    await page.goto(`${p.url}/portal/claims/${numbers[0]}?lang=sw`);
    expect(await page.getByTestId('claim-status').getAttribute('data-status')).toBe('approved');

    // A buyer checks the paid-off phone.
    for (const lang of ['sw', 'hi']) {
      await page.goto(`${p.url}/portal/lien?lang=${lang}`);
      await noRawKeys(page);
      await shot(page, 'lien', lang);
      await page.locator('#imei').fill(paidOff.imei);
      await page.locator('button[type=submit]').click();
      await page.getByTestId('lien-result').waitFor();
      expect(await page.getByTestId('lien-result').getAttribute('data-result')).toBe('released');
      expect(await page.locator('body').innerText()).not.toContain('Jamii');
      await noRawKeys(page);
      await shot(page, 'lien-result', lang);
    }

    // Too many lookups from this address: a clear page in the reader's language.
    let tries = 0;
    while ((await fetch(`${p.url}/portal/lien`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `imei=${paidOff.imei}` })).status !== 429) {
      if (++tries > 100) throw new Error('the portal never throttled this address');
    }
    for (const lang of ['sw', 'hi']) {
      await page.goto(`${p.url}/portal/lien?lang=${lang}`);
      await page.locator('#imei').fill(paidOff.imei);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/portal/lien') && r.request().method() === 'POST'), page.locator('button[type=submit]').click()]);
      expect(response.status()).toBe(429);
      expect(Number(response.headers()['retry-after'])).toBeGreaterThan(0);
      await page.getByTestId('message').waitFor();
      await noRawKeys(page);
      await shot(page, 'rate-limited', lang);
    }
    await page.close();
  }, 120_000);
});
