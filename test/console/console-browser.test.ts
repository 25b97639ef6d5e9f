import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser } from '../setup/browser.ts';
import { SYSTEM } from '../../src/services/context.ts';
import { dashboard } from '../../src/services/views/dashboard.ts';
import { evaluateContract } from '../../src/services/evaluate.ts';
import { submitClaim } from '../../src/services/claims.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { dataMode, driveToLock, launchChromium, until } from '../sim/helpers.ts';
import { addUser, PASSWORD } from './helpers.ts';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
/** A 1×1 PNG, as a borrower's receipt photo. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

describeBrowser('lender console in Chromium', () => {
  const p = new TestPlatform();
  let browser: Browser;
  let d: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${p.url}/console/login`);
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
  }

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    [d] = (await p.register(1)) as [TestDevice];
    sale = await p.sell(d);
    await addUser(p, p.lenderId, 'support', 'support@jamii.example');
    await addUser(p, p.lenderId, 'agent', 'dealer@jamii.example');
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  it('support finds the locked device, takes a payment that unlocks the phone, issues a code and approves a claim', async () => {
    const emulator = `${p.url}/emulator/${d.serial}`;
    const modeOf = async () => dataMode(await (await fetch(emulator)).text());
    expect(await modeOf()).toBe('normal');
    await driveToLock(p, sale.deviceId, { shows: (mode) => until(`phone shows ${mode}`, async () => (await modeOf()) === mode).then(() => undefined) });
    // On PostgreSQL the sweep skips a contract row a concurrent check-in holds (SKIP LOCKED) and
    // the phone locks on its own at lockAt; the next evaluation records the lock on the server.
    const stage = async () => (await p.lien.services.db.selectFrom('contracts').select('stage').where('id', '=', sale.contractId).executeTakeFirstOrThrow()).stage;
    if ((await stage()) !== 'locked') await evaluateContract(p.lien.services, sale.contractId, SYSTEM, 'test: catch up with the skipped sweep');
    expect(await stage()).toBe('locked');

    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    await signIn(page, 'support@jamii.example');
    expect(await page.locator('[data-stage="locked"] .n').textContent()).toBe('1');
    expect(await page.getByTestId('chart-locks').getAttribute('data-total')).toBe('1');
    await page.screenshot({ path: `${SCREENSHOTS}console-dashboard.png`, fullPage: true });

    // Search by IMEI: one match goes straight to the device page.
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByTestId('search').fill(d.imei);
    await page.getByTestId('search-submit').click();
    await page.getByTestId('serial').waitFor();
    expect(await page.getByTestId('serial').textContent()).toBe(d.serial);
    expect(await page.locator('h1 [data-testid="stage"]').getAttribute('data-stage-code')).toBe('locked');
    expect(await page.getByTestId('overdue').textContent()).toBe('KES 10,000.00');
    await page.screenshot({ path: `${SCREENSHOTS}console-device.png`, fullPage: true });

    // Record the overdue installment; the phone, open in another tab, unlocks by itself.
    const phone = await browser.newPage({ viewport: { width: 900, height: 820 } });
    await phone.goto(emulator);
    expect(await phone.getByTestId('screen').getAttribute('data-mode')).toBe('locked');
    await page.getByTestId('pay-amount').fill('10,000.00');
    await page.getByTestId('pay-reference').fill('MPESA-QX123');
    await page.getByTestId('pay-channel').fill('mpesa');
    await page.getByTestId('pay-submit').click();
    await page.getByText('Payment MPESA-QX123 posted.').waitFor();
    expect(await page.getByTestId('flash').textContent()).toMatch(/The device is now (current|reminder)/);
    await phone.locator('[data-testid="screen"][data-mode="normal"]').waitFor({ timeout: 15_000 });

    // Payment → device reports the unlock: the dashboard measures it.
    const latency = await until('unlock reported', async () => {
      await p.lien.gateway.bookkeeping.flush();
      const dash = await dashboard(p.lien.services.db, p.lenderId, p.clock.now());
      return dash.unlockLatency.samples > 0 ? dash.unlockLatency : null;
    });
    expect(latency.p50).toBeGreaterThanOrEqual(0);

    // An unlock code with its reason, shown once in the flash and listed on the page.
    await page.reload();
    await page.getByTestId('code-days').fill('5');
    await page.getByTestId('code-reason').fill('borrower travelling, paid at branch');
    await page.getByTestId('code-submit').click();
    await page.getByText(/^Code \d+ issued/).waitFor();
    const token = /Code (\d+) issued/.exec((await page.getByTestId('flash').textContent())!)![1]!;
    expect(await page.getByTestId('code-token').first().textContent()).toBe(token);
    const issued = await p.lien.services.db.selectFrom('tokens_issued').select(['reason', 'value']).where('device_id', '=', sale.deviceId).executeTakeFirstOrThrow();
    expect(issued).toEqual({ reason: 'borrower travelling, paid at branch', value: 5 });

    // A borrower's payment claim with a receipt: view it, approve it.
    const { claimId } = await submitClaim(p.lien.services, { lockReference: sale.lockReference, transactionRef: 'AIRTEL-777', amount: '5,000.00', paidOn: '2026-01-21', channel: 'mobile_money', receipt: PNG });
    await page.getByRole('link', { name: 'Claims' }).click();
    const row = page.locator(`tr[data-claim="${claimId}"]`);
    await row.waitFor();
    const receipt = await page.request.get(`${p.url}/console/claims/${claimId}/receipt`);
    expect(receipt.status()).toBe(200);
    expect(receipt.headers()['content-type']).toBe('image/png');
    expect(Buffer.from(await receipt.body()).equals(PNG)).toBe(true);
    await row.getByTestId('claim-approve').click();
    await page.getByText(/^Claim approved: payment pay/).waitFor();
    const claim = await p.lien.services.db.selectFrom('claims').select(['status', 'decided_by']).where('id', '=', claimId).executeTakeFirstOrThrow();
    expect(claim.status).toBe('approved');
    expect(claim.decided_by).toMatch(/^user:/);
    const posted = await p.lien.services.db.selectFrom('payments').select('amount').where('external_ref', '=', 'AIRTEL-777').executeTakeFirstOrThrow();
    expect(posted.amount).toBe(5_000_00);
    await page.close();
    await phone.close();
  }, 120_000);

  it('a dealer gets a 403 page for settings, but can open the sell form', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'dealer@jamii.example');
    const r = await page.goto(`${p.url}/console/settings`);
    expect(r!.status()).toBe(403);
    expect(await page.getByTestId('problem').textContent()).toBe('Not allowed');
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Sell' }).click();
    await page.getByTestId('sell-form').waitFor();
    await ctx.close();
  }, 60_000);
});
