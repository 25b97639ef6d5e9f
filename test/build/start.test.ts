import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../e2e/server-process.ts';
import { until } from '../sim/helpers.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PROBE = pathToFileURL(join(ROOT, 'test/build/module-probe.mjs')).href;

interface ProbeLine {
  pid: number;
  esm?: string;
  argv?: string[];
  execArgv?: string[];
  cjs?: string[];
}

/**
 * `npm start` as a user runs it after `npm ci`: the build (incremental, as `npm run build` does),
 * then the command through npm, with a probe preloaded that records every module the server
 * process loads.
 */
describe('npm start runs the compiled build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lien-build-'));
  const probeFile = join(dir, 'modules.jsonl');
  let child: ChildProcess | undefined;
  let out = '';

  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  }, 240_000);

  afterAll(async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(-child.pid, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads only JavaScript from dist/: no tsx, TypeScript or esbuild, no .ts source, no loader flags', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      LIEN_DATA_DIR: join(dir, 'data'),
      LIEN_LOG_FORMAT: 'json',
      NODE_OPTIONS: `--import=${PROBE}`,
      LIEN_MODULE_PROBE: probeFile,
    };
    for (const k of ['DATABASE_URL', 'LIEN_TEST_CLOCK', 'LIEN_EMULATOR', 'LIEN_PUBLIC_URL']) delete env[k];
    // Its own process group, so npm and the server it starts stop together.
    child = spawn('npm', ['start', '--', '--no-demo'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child!.once('exit', () => r()));

    await until('GET /readyz answers 200', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 120_000).catch((e: Error) => {
      throw new Error(`${e.message}; the server printed:\n${out}`);
    });
    const probe = (): ProbeLine[] => readFileSync(probeFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const pid = probe().find((l) => l.esm === pathToFileURL(join(ROOT, 'bin/lien.js')).href)?.pid;
    expect(pid, `the probe saw no process load bin/lien.js; the server printed:\n${out}`).toBeDefined();
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    // npm may be gone before the server it started has finished closing and written its record.
    await until('the server process exits', () => {
      try {
        process.kill(pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 60_000);
    const lines = probe();
    const esm = lines.filter((l) => l.pid === pid && l.esm).map((l) => l.esm!);
    expect(esm.filter((m) => /\/node_modules\/(tsx|typescript|esbuild|@esbuild)\//.test(m))).toEqual([]);
    const server = lines.find((l) => l.pid === pid && l.argv);
    expect(server, `the server process did not exit cleanly on SIGTERM; it printed:\n${out}`).toBeDefined();
    expect(server!.argv!.slice(2)).toEqual(['serve', '--no-demo']);
    expect(server!.execArgv).toEqual([]);
    const modules = [...esm, ...server!.cjs!].filter((m) => !m.includes('/test/build/module-probe'));
    expect(modules).toContain(pathToFileURL(join(ROOT, 'dist/cli/main.js')).href);
    expect(modules).toContain(pathToFileURL(join(ROOT, 'dist/server/app.js')).href);
    expect(modules.filter((m) => /\/node_modules\/(tsx|typescript|esbuild|@esbuild)\//.test(m))).toEqual([]);
    expect(modules.filter((m) => /\.(ts|tsx|mts|cts)$/.test(m))).toEqual([]);
    expect(modules.filter((m) => m.includes(`${ROOT}src/`))).toEqual([]);
  }, 240_000);

  it('bin/lien.js says how to build when dist/ is missing', () => {
    // A copy of the bin in a directory with no dist/ beside it.
    const bin = join(dir, 'bin/lien.js');
    execFileSync('mkdir', ['-p', join(dir, 'bin')]);
    execFileSync('cp', [join(ROOT, 'bin/lien.js'), bin]);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    let stderr = '';
    try {
      execFileSync(process.execPath, [bin, '--help'], { stdio: 'pipe' });
    } catch (e) {
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(stderr).toContain('npm run build');
  });
});
