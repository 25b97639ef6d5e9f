/**
 * Browser tests drive Debian's Chromium (never a downloaded one). A machine without it skips
 * them, saying so once; CI (CI=true) must run them, so there a missing browser fails the run.
 * LIEN_CHROMIUM names another executable (tests of this very rule point it at nothing).
 */
import { existsSync } from 'node:fs';
import { describe } from 'vitest';

export const CHROMIUM_PATH = process.env.LIEN_CHROMIUM || '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM_PATH);
const required = process.env.CI === 'true';

export const skipLine = (path: string) =>
  `browser tests skipped: no Chromium at ${path} (install Debian's chromium: apt-get install chromium; set LIEN_CHROMIUM for another path; under CI=true a missing browser fails)`;

/** `describe` for a file of browser tests: skipped without Chromium, except under CI. */
export const describeBrowser: typeof describe = chromiumPresent || required ? describe : (describe.skip as typeof describe);

/** Vitest global setup: prints the skip line once per run, or fails the run under CI. */
export default function setup(): void {
  if (chromiumPresent) return;
  if (required) throw new Error(`CI=true and no Chromium at ${CHROMIUM_PATH}: browser tests cannot run (apt-get install chromium)`);
  console.log(skipLine(CHROMIUM_PATH));
}
