/**
 * Issue #15 in Chromium: a support desk finds the caller's phone by whatever they read out,
 * filters, sorts, pages and exports the device list, runs a bulk action with its preview and
 * typed confirmation, and every console and portal page fits a 360 px phone and passes axe.
 * Screenshots go to test-results/screenshots/ (kept by the run).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser } from '../setup/browser.ts';
import { submitClaim } from '../../src/services/claims.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { launchChromium } from '../sim/helpers.ts';
import { addUser, PASSWORD } from './helpers.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: { target: string[]; html: string }[];
}

/** axe-core's WCAG 2.1 A/AA rules and best practices; what the issue counts: serious and critical. */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const all = await page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, html: n.html.slice(0, 160) })) }));
  });
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describeBrowser('support desk console in Chromium (#15)', () => {
  const p = new TestPlatform('2026-03-01T09:00:00Z');
  let browser: Browser;
  let ds: TestDevice[];
  let sales: { contractId: string; deviceId: string; lockReference: string }[];
  let claimNumber: string;

  const db = () => p.lien.services.db;

  async function signedIn(email: string, viewport = { width: 1280, height: 900 }): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await ctx.newPage();
    await page.goto(`${p.url}/console/login`);
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
    return { ctx, page };
  }

  async function search(page: Page, term: string): Promise<void> {
    await page.goto(`${p.url}/console/devices`);
    await page.getByTestId('search').fill(term);
    await page.getByTestId('search-submit').click();
    await page.waitForLoadState('networkidle');
  }

  beforeAll(async () => {
    browser = await launchChromium();
    await p.start();
    mkdirSync(SCREENSHOTS, { recursive: true });
    ds = await p.register(7);
    sales = [];
    for (const [i, d] of ds.entries()) sales.push(await p.sell(d, { borrowerRef: `CUST-${100 + i}`, borrowerPhone: `+2547220000${10 + i}` }));
    // Arrears as the sweep leaves them: three locked at different depths, one held by a dispute.
    const set = (i: number, v: Record<string, unknown>) => db().updateTable('contracts').set(v).where('id', '=', sales[i]!.contractId).execute();
    await set(0, { stage: 'locked', stage_reason: 'dpd_locked', oldest_unpaid_due_date: '2025-11-15', amount_overdue: 30_000_00 });
    await set(1, { stage: 'locked', stage_reason: 'dpd_locked', oldest_unpaid_due_date: '2026-01-15', amount_overdue: 20_000_00 });
    await set(2, { stage: 'locked', stage_reason: 'dpd_locked', oldest_unpaid_due_date: '2026-02-15', amount_overdue: 10_000_00 });
    await set(3, { stage: 'notice', stage_reason: 'held_open_dispute', oldest_unpaid_due_date: '2026-02-20', amount_overdue: 5_000_00 });
    await addUser(p, p.lenderId, 'admin', 'admin@jamii.example');
    await addUser(p, p.lenderId, 'support', 'support@jamii.example');
    await addUser(p, null, 'operator', 'operator@lien.example');
    const claim = await submitClaim(p.lien.services, { lockReference: sales[5]!.lockReference, transactionRef: 'MP-CLAIM-1', amount: '10,000.00', paidOn: '2026-02-28', channel: 'mobile_money' });
    claimNumber = claim.claimNumber!;
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await p.stop();
  });

  it('finds a device by each identifier the borrower reads out', async () => {
    const { ctx, page } = await signedIn('support@jamii.example');
    const d = ds[4]!;
    const sale = sales[4]!;
    const ref = sale.lockReference;
    const identifiers: [string, string][] = [
      ['lock reference', ref],
      ['lock reference read aloud', `${ref.slice(0, 4).toLowerCase()} ${ref.slice(4).toLowerCase()}`],
      ['IMEI', d.imei],
      ['IMEI last digits', d.imei.slice(-6)],
      ['serial', d.serial],
      ['borrower phone', '0722000014'],
      ['borrower reference', 'cust-104'],
      ['contract id', sale.contractId],
    ];
    for (const [what, term] of identifiers) {
      await search(page, term);
      expect(await page.getByTestId('serial').textContent(), what).toBe(d.serial);
    }
    await page.screenshot({ path: `${SCREENSHOTS}console15-device-found.png`, fullPage: true });
    // Four digits shared by several IMEIs: a list that holds the phone.
    await search(page, d.imei.slice(-4));
    if (await page.getByTestId('results').count()) expect(await page.getByTestId('row-serial').allTextContents()).toContain(d.serial);
    else expect(await page.getByTestId('serial').textContent()).toBe(d.serial);
    // Another lender's reference finds nothing.
    await search(page, 'ZZZZ9999');
    expect(await page.getByTestId('no-results').textContent()).toContain('No device of yours matches');
    await ctx.close();
  }, 120_000);

  it('filters, sorts, pages and exports the device list', async () => {
    const { ctx, page } = await signedIn('support@jamii.example');
    await page.goto(`${p.url}/console/devices`);
    expect(await page.getByTestId('row-serial').count()).toBe(7);
    await page.getByTestId('filter-stage').selectOption('locked');
    await page.getByTestId('sort').selectOption('dpd');
    await page.getByTestId('search-submit').click();
    await page.waitForURL(/stage=locked/);
    await page.waitForLoadState('networkidle');
    expect(await page.getByTestId('row-serial').allTextContents()).toEqual([ds[0]!.serial, ds[1]!.serial, ds[2]!.serial]);
    expect(await page.getByTestId('row-dpd').allTextContents()).toEqual(['106', '45', '14']);
    await page.screenshot({ path: `${SCREENSHOTS}console15-devices-filtered.png`, fullPage: true });

    // Two to a page: the cursor walks through all three in the same order.
    await page.goto(`${p.url}/console/devices?stage=locked&sort=dpd&limit=2`);
    const seen = await page.getByTestId('row-serial').allTextContents();
    expect(seen.length).toBe(2);
    await page.getByTestId('next-page').click();
    await page.getByTestId('first-page').waitFor();
    seen.push(...(await page.getByTestId('row-serial').allTextContents()));
    expect(seen).toEqual([ds[0]!.serial, ds[1]!.serial, ds[2]!.serial]);
    expect(await page.getByTestId('next-page').count()).toBe(0);

    // Held locks and a days-past-due bucket.
    await page.goto(`${p.url}/console/devices?held=held_open_dispute`);
    expect(await page.getByTestId('row-serial').allTextContents()).toEqual([ds[3]!.serial]);
    await page.goto(`${p.url}/console/devices?held=any`);
    expect(await page.getByTestId('row-serial').allTextContents()).toContain(ds[3]!.serial);
    await page.goto(`${p.url}/console/devices?dpd=30-59`);
    const bucket = await page.getByTestId('row-serial').allTextContents();
    expect(bucket).toContain(ds[1]!.serial);
    expect(bucket).not.toContain(ds[0]!.serial);
    expect(bucket).not.toContain(ds[2]!.serial);
    for (const dpd of await page.getByTestId('row-dpd').allTextContents()) expect(Number(dpd)).toBeGreaterThanOrEqual(30);

    // The export of the filtered list, as the browser downloads it.
    await page.goto(`${p.url}/console/devices?stage=locked&sort=dpd`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const rows: string[][] = parse(csv.replace(/^\uFEFF/, ''));
    expect(rows[0]).toContain('Lock reference');
    expect(rows.slice(1).map((r) => r[0])).toEqual([ds[0]!.serial, ds[1]!.serial, ds[2]!.serial]);
    await ctx.close();
  }, 120_000);

  it('runs a bulk action after a preview and a typed confirmation, with progress, each device audited', async () => {
    const { ctx, page } = await signedIn('support@jamii.example');
    await page.goto(`${p.url}/console/devices?stage=locked`);
    await page.getByTestId('bulk-link').click();
    await page.getByTestId('bulk-action').selectOption('pause');
    await page.getByTestId('bulk-preview').click();
    await page.getByTestId('bulk-until').waitFor();
    expect(await page.getByTestId('preview-count').textContent()).toBe('3');
    expect(new Set(await page.locator('[data-testid="preview-devices"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-device'))))).toEqual(
      new Set(sales.slice(0, 3).map((s) => s.deviceId)),
    );
    expect(await page.getByTestId('bulk-expected').textContent()).toBe('PAUSE 3');
    await page.getByTestId('bulk-until').fill('2026-03-20T18:00');
    await page.getByTestId('bulk-reason').fill('dispute campaign: network outage in Kisumu');
    // A wrong confirmation starts nothing.
    await page.getByTestId('bulk-confirm').fill('PAUSE 30');
    await page.getByTestId('bulk-submit').click();
    await page.getByText('Type “PAUSE 3” to confirm').waitFor();
    expect(await db().selectFrom('bulk_jobs').select('id').execute()).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}console15-bulk-preview.png`, fullPage: true });

    await page.getByTestId('bulk-reason').fill('dispute campaign: network outage in Kisumu');
    await page.getByTestId('bulk-until').fill('2026-03-20T18:00');
    await page.getByTestId('bulk-confirm').fill('pause 3');
    await page.getByTestId('bulk-submit').click();
    await page.locator('[data-testid="job"][data-state="done"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('job-progress').textContent()).toContain('3 of 3 devices (100%): 3 done, 0 failed');
    await page.screenshot({ path: `${SCREENSHOTS}console15-bulk-job.png`, fullPage: true });

    const audits = await db().selectFrom('audit_log').select(['action', 'subject_id', 'reason', 'actor']).where('action', '=', 'contract.manual_pause').execute();
    expect(new Set(audits.map((a) => a.subject_id))).toEqual(new Set(sales.slice(0, 3).map((s) => s.contractId)));
    for (const a of audits) {
      expect(a.reason).toMatch(/dispute campaign: network outage in Kisumu \(bulk job bulk_/);
      expect(a.actor).toMatch(/^user:/);
    }
    const paused = await db().selectFrom('contracts').select(['manual_action']).where('id', 'in', sales.slice(0, 3).map((s) => s.contractId)).execute();
    // 18:00 in Nairobi (UTC+3) is 15:00 UTC.
    for (const c of paused) expect(c.manual_action).toEqual({ action: 'pause', until: '2026-03-20T15:00:00.000Z' });
    await ctx.close();
  }, 120_000);

  it('asks before releasing, revoking a key or disabling a user; new users are viewers by default', async () => {
    const { ctx, page } = await signedIn('admin@jamii.example');
    await page.goto(`${p.url}/console/devices/${sales[6]!.deviceId}`);
    page.on('dialog', (d) => void d.accept());
    await page.getByTestId('release-reason').fill('goodwill release');
    // The form cannot be sent without its confirmation box (required), and the server insists too.
    const missing = await page.request.post(`${p.url}/console/devices/${sales[6]!.deviceId}/manual`, {
      form: { _csrf: await page.locator('input[name="_csrf"]').first().inputValue(), action: 'release', reason: 'goodwill release' },
      maxRedirects: 0,
    });
    expect(missing.status()).toBe(303);
    expect((await db().selectFrom('contracts').select('status').where('id', '=', sales[6]!.contractId).executeTakeFirstOrThrow()).status).toBe('active');
    await page.getByTestId('release-confirm').check();
    await page.getByTestId('release-submit').click();
    await page.getByTestId('flash').waitFor();
    expect((await db().selectFrom('contracts').select('status').where('id', '=', sales[6]!.contractId).executeTakeFirstOrThrow()).status).not.toBe('active');

    await page.goto(`${p.url}/console/settings`);
    expect(await page.getByTestId('new-user-role').inputValue()).toBe('viewer');
    expect(await page.getByTestId('time-zone').inputValue()).toBe('Africa/Nairobi');
    expect(await page.locator('[data-testid="time-zone"] option').count()).toBeGreaterThan(300);
    await ctx.close();
  }, 120_000);

  it('every console page fits a 360 px phone and has no serious or critical axe violation', async () => {
    const pages: [name: string, path: string][] = [
      ['dashboard', '/console'],
      ['devices', '/console/devices'],
      ['devices-filtered', '/console/devices?stage=locked&sort=dpd'],
      ['device', `/console/devices/${sales[0]!.deviceId}`],
      ['contract', `/console/contracts/${sales[0]!.contractId}`],
      ['sell', '/console/sell'],
      ['claims', '/console/claims'],
      ['settings', '/console/settings'],
      ['bulk', '/console/bulk?stage=locked&action=message'],
    ];
    const job = await db().selectFrom('bulk_jobs').select('id').executeTakeFirst();
    if (job) pages.push(['bulk-job', `/console/bulk/jobs/${job.id}`]);
    const problems: string[] = [];
    for (const viewport of [{ width: 360, height: 740 }, { width: 1366, height: 900 }]) {
      const { ctx, page } = await signedIn('admin@jamii.example', viewport);
      for (const [name, path] of pages) {
        const r = await page.goto(`${p.url}${path}`);
        expect(r?.status(), path).toBe(200);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        if (viewport.width === 360 && width > 360) problems.push(`${path}: ${width} px wide at 360`);
        for (const v of await seriousViolations(page)) problems.push(`${path} @${viewport.width}: axe ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
        await page.screenshot({ path: `${SCREENSHOTS}console15-${name}-${viewport.width}.png`, fullPage: true });
      }
      await ctx.close();
    }
    // Signed out and the operator's pages.
    for (const viewport of [{ width: 360, height: 740 }]) {
      const ctx = await browser.newContext({ viewport });
      const page = await ctx.newPage();
      await page.goto(`${p.url}/console/login`);
      if ((await page.evaluate(() => document.documentElement.scrollWidth)) > 360) problems.push('/console/login too wide');
      for (const v of await seriousViolations(page)) problems.push(`/console/login: axe ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
      await page.screenshot({ path: `${SCREENSHOTS}console15-login-360.png`, fullPage: true });
      await ctx.close();
      const op = await signedIn('operator@lien.example', viewport);
      await op.page.goto(`${p.url}/console/registry`);
      if ((await op.page.evaluate(() => document.documentElement.scrollWidth)) > 360) problems.push('/console/registry too wide');
      for (const v of await seriousViolations(op.page)) problems.push(`/console/registry: axe ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
      await op.page.screenshot({ path: `${SCREENSHOTS}console15-registry-360.png`, fullPage: true });
      await op.ctx.close();
    }
    expect(problems).toEqual([]);
  }, 240_000);

  it('every portal page has no serious or critical axe violation, in three languages, and fits 360 px', async () => {
    const ref = sales[5]!.lockReference;
    const pages: [string, string][] = [
      ['home', '/portal'],
      ['lookup', '/portal/lookup'],
      ['claim', `/portal/claim?reference=${ref}`],
      ['claim-status', `/portal/claims/${claimNumber}`],
      ['lien', '/portal/lien'],
    ];
    const problems: string[] = [];
    for (const lang of ['en', 'sw', 'hi']) {
      const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
      const page = await ctx.newPage();
      for (const [name, path] of pages) {
        const r = await page.goto(`${p.url}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        expect(r?.status(), path).toBeLessThan(500);
        if ((await page.evaluate(() => document.documentElement.scrollWidth)) > 360) problems.push(`${path} (${lang}) too wide`);
        for (const v of await seriousViolations(page)) problems.push(`${path} (${lang}): axe ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
        await page.screenshot({ path: `${SCREENSHOTS}portal15-${name}-${lang}.png`, fullPage: true });
      }
      // The lookup's answer page (a POST).
      await page.goto(`${p.url}/portal/lookup?reference=${ref}&lang=${lang}`);
      await page.locator('form button[type="submit"]').first().click();
      await page.getByTestId('open-claim').waitFor();
      if ((await page.evaluate(() => document.documentElement.scrollWidth)) > 360) problems.push(`lookup result (${lang}) too wide`);
      for (const v of await seriousViolations(page)) problems.push(`lookup result (${lang}): axe ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
      await page.screenshot({ path: `${SCREENSHOTS}portal15-lookup-result-${lang}.png`, fullPage: true });
      await ctx.close();
    }
    expect(problems).toEqual([]);
  }, 240_000);

  it("the borrower's lookup shows their open claim's number and status", async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(`${p.url}/portal/lookup?reference=${sales[5]!.lockReference}&lang=en`);
    await page.locator('form button[type="submit"]').first().click();
    await page.getByTestId('open-claim').waitFor();
    expect(await page.getByTestId('open-claim').textContent()).toContain(claimNumber);
    await page.close();
  }, 60_000);
});
