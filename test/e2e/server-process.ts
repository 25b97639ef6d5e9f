import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * `lien` from the sources, through tsx: what tests start is the code under test, never a dist/
 * build that may be older (test/build/start.test.ts checks the build itself).
 */
export const LIEN_FROM_SOURCES: readonly string[] = [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'src/cli/bin.ts')];

export interface ServerProcess {
  url: string;
  operatorKey: string;
  masterKey: string;
  /** The PostgreSQL schema it serves from; absent on embedded PGlite. */
  schema?: string;
  proc: ChildProcess;
  output: () => string;
  api<T = any>(method: string, path: string, body?: unknown, key?: string, contentType?: string): Promise<{ status: number; body: T }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts `lien serve` as a real child process on a manual clock (LIEN_TEST_CLOCK): embedded
 * PGlite in a temporary directory, or — when LIEN_TEST_DATABASE_URL is set — PostgreSQL in a
 * fresh schema (pass `schema` to make several processes share one).
 */
export async function startServer(opts: { clockStart: string; schema?: string; masterKey?: string; operatorKey?: string; port?: number; env?: Record<string, string> }): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'lien-e2e-'));
  const operatorKey = opts.operatorKey ?? `op_${randomBytes(16).toString('hex')}`;
  const masterKey = opts.masterKey ?? randomBytes(32).toString('hex');
  const pg = process.env.LIEN_TEST_DATABASE_URL;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    LIEN_DATA_DIR: dataDir,
    LIEN_TEST_CLOCK: '1',
    LIEN_TEST_CLOCK_START: opts.clockStart,
    LIEN_OPERATOR_KEY: operatorKey,
    LIEN_MASTER_KEY: masterKey,
    LIEN_CHECKIN_FLUSH_MS: '20',
    LIEN_SWEEP_INTERVAL: '0',
    LOG_LEVEL: 'warn',
    ...(pg ? { DATABASE_URL: pg, LIEN_DATABASE_SCHEMA: opts.schema ?? `e2e_${randomBytes(6).toString('hex')}` } : {}),
    ...opts.env,
  };
  if (!pg) delete env.DATABASE_URL;
  const proc = spawn(process.execPath, [...LIEN_FROM_SOURCES, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${out}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const api: ServerProcess['api'] = async (method, path, body, key = operatorKey, contentType = 'application/json') => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  return {
    url,
    operatorKey,
    masterKey,
    ...(pg ? { schema: env.LIEN_DATABASE_SCHEMA! } : {}),
    proc,
    output: () => out,
    api,
    async stop(signal = 'SIGTERM') {
      // A process killed by a signal has exitCode null but signalCode set: it already exited.
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill(signal);
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
