/**
 * A fresh clone runs its own suite: everything a test reads is inside the repository, and a
 * machine without Chromium skips the browser tests with one line instead of failing them
 * (CI=true, where the browser is installed on purpose, still fails without it).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { skipLine } from './setup/browser.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('a fresh clone', () => {
  it('carries the OpenPAYGO vectors under test/fixtures with their MIT notice and source, and no test reads outside the repository', () => {
    const dir = join(ROOT, 'test/fixtures/openpaygo');
    expect(readFileSync(join(dir, 'test_tokens.jsonl'), 'utf8').trim().split('\n')).toHaveLength(80);
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License\s+Copyright \(c\) 2023 OpenPAYGO/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('https://github.com/EnAccess/OpenPAYGO-python');
    const outside = files(join(ROOT, 'test'))
      .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('fresh-clone.test.ts'))
      .filter((f) => /\.\.\/shared\/|\/work\/shared/.test(readFileSync(f, 'utf8')));
    expect(outside).toEqual([]);
  });

  const runBrowserFile = (ci: boolean) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LIEN_CHROMIUM: '/nonexistent/chromium' };
    delete env.CI;
    if (ci) env.CI = 'true';
    delete env.VITEST; // the child is a vitest run of its own
    return spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'test/sim/emulator-browser.test.ts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  };

  it('skips browser tests with one clear line when Chromium is missing', () => {
    const r = runBrowserFile(false);
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out.split(skipLine('/nonexistent/chromium')).length - 1).toBe(1);
    expect(out).toMatch(/skipped/);
  }, 150_000);

  it('fails the browser tests under CI=true when Chromium is missing', () => {
    const r = runBrowserFile(true);
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('no Chromium at /nonexistent/chromium');
  }, 150_000);
});
