import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { axe } from '../setup/axe.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';
import { launchChromium } from '../sim/helpers.ts';
import { describeBrowser } from '../setup/browser.ts';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

describeBrowser('API reference in Chromium', () => {
  const p = new TestPlatform();
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  for (const [device, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 375, height: 740 }],
  ] as const) {
    it(`is axe clean and fits the screen on a ${device}`, async () => {
      const page = await browser.newPage({ viewport, ...(device === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      const res = await page.goto(`${p.url}/docs/api`);
      expect(res?.status()).toBe(200);
      // The stylesheet loaded (a CSP or asset mistake would leave the page unstyled).
      expect(await page.locator('header').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(20, 40, 60)');
      expect(errors.filter((e) => !e.includes('favicon'))).toEqual([]);

      expect(await axe(page)).toEqual([]);

      // Nothing wider than the screen: long code scrolls inside its own box.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      // Text is readable without zooming.
      const size = await page.locator('main p').first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      expect(size).toBeGreaterThanOrEqual(15);
      // No literal Markdown: `code` is rendered as code.
      expect(await page.locator('header').innerText()).not.toContain('`');
      await page.screenshot({ path: `${SCREENSHOTS}api-reference-${device}.png` });
      await page.close();
    }, 120_000);
  }

  it('lets a keyboard reach and scroll a code example', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    await page.goto(`${p.url}/docs/api#guide-webhooks`);
    const pre = page.locator('section[aria-labelledby="guide-webhooks"] pre').last();
    await pre.focus();
    expect(await pre.evaluate((el) => el === document.activeElement)).toBe(true);
    const before = await pre.evaluate((el) => el.scrollLeft);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await pre.evaluate((el) => el.scrollLeft)).toBeGreaterThan(before);
    await page.close();
  }, 60_000);
});
