import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser } from '../setup/browser.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { dataMode, driveToLock, issueCode, launchChromium, until } from './helpers.ts';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

describeBrowser('browser device emulator in Chromium', () => {
  const p = new TestPlatform();
  let browser: Browser;
  let d: TestDevice;
  let sale: { deviceId: string; lockReference: string };

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    d = (await p.register(1))[0]!;
    sale = await p.sell(d);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  it('shows a locked phone, takes a code through the form and unlocks; the page follows the phone by itself', async () => {
    const url = `${p.url}/emulator/${d.serial}`;
    const modeOf = async () => dataMode(await (await fetch(url)).text());
    expect(await modeOf()).toBe('normal');
    await driveToLock(p, sale.deviceId, { shows: (mode) => until(`phone shows ${mode}`, async () => (await modeOf()) === mode).then(() => undefined) });

    const page = await browser.newPage({ viewport: { width: 900, height: 820 } });
    await page.goto(url);
    const screen = page.getByTestId('screen');
    expect(await screen.getAttribute('data-mode')).toBe('locked');
    expect(await page.getByTestId('lock-reference').textContent()).toBe(sale.lockReference);
    expect(await page.getByTestId('lender-name').textContent()).toBe('Jamii Finance');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}emulator-locked.png` });

    const token = await issueCode(p, sale.deviceId);
    await page.getByTestId('code-input').fill(token);
    await page.getByTestId('code-submit').click();
    await page.locator('[data-testid="screen"][data-mode="normal"]').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('outcome').textContent()).toMatch(/^Code accepted/);
    expect(await page.getByTestId('credit-until').textContent()).toBe('29 January 2026 at 10:00');

    // The credit runs out on the server's clock; htmx polling reloads the page without a click.
    expect(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx)).toBe('object');
    p.clock.set('2026-01-30T07:00:00Z');
    await page.locator('[data-testid="screen"][data-mode="locked"]').waitFor({ timeout: 10_000 });
    await page.close();
  }, 90_000);
});
