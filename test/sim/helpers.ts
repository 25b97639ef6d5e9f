import { chromium, type Browser } from 'playwright-core';
import type { TestPlatform } from '../e2e/in-process.ts';
import { CHROMIUM_PATH, chromiumPresent } from '../setup/browser.ts';

export async function until<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Walks a contract sold with its first installment due 2026-01-15 (TestPlatform.sell) from notice
 * to lock on the retail profile: DPD 2 → notice, which the phone must show and report; DPD 7 →
 * lock. `phoneShows` waits until the simulated phone displays a mode. A phone with its own clock
 * gets `moveClock` first: the server counts the notice period from the time the phone says it
 * showed the notice, so a phone two weeks behind would never have shown it.
 */
export async function driveToLock(
  p: TestPlatform,
  deviceId: string,
  phone: { shows: (mode: 'notice' | 'locked') => Promise<void>; moveClock?: (iso: string) => Promise<void> },
): Promise<void> {
  for (const [at, mode] of [['2026-01-17T07:00:00Z', 'notice'], ['2026-01-22T07:00:00Z', 'locked']] as const) {
    p.clock.set(at);
    await phone.moveClock?.(at);
    expect200(await p.operator('POST', '/v1/operator/sweep'));
    await phone.shows(mode);
    if (mode === 'notice') {
      // The cure period counts from the display; the phone reports it right after the policy arrives.
      await until('notice_shown on the server', async () => (await p.events(deviceId)).some((e) => e.kind === 'notice_shown'));
      await p.lien.gateway.idle();
    }
  }
}

function expect200(r: { status: number; body: unknown }): void {
  if (r.status !== 200) throw new Error(`sweep failed: ${r.status} ${JSON.stringify(r.body)}`);
}

/** An unlock code from the lender API, as support would read it out. */
export async function issueCode(p: TestPlatform, deviceId: string, body: Record<string, unknown> = { type: 'ADD_TIME', days: 7, reason: 'borrower paid at the shop' }): Promise<string> {
  const r = await p.api('POST', `/v1/devices/${deviceId}/codes`, body);
  if (r.status !== 201) throw new Error(`code not issued: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

/** The value of the element with `data-testid`, from server-rendered HTML. */
export function testId(html: string, id: string): string | null {
  const m = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html);
  return m ? decodeEntities(m[1]!) : null;
}

export function dataMode(html: string): string | null {
  return /data-mode="([a-z]+)"[^>]*data-testid="screen"/.exec(html)?.[1] ?? null;
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/** Debian's Chromium, headless; the project never downloads a browser. */
export function launchChromium(): Promise<Browser> {
  if (!chromiumPresent) return Promise.reject(new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium)`));
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
