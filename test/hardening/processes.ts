/** Real `lien serve` processes for tests that stop, kill or restart a server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../e2e/server-process.ts';

const BIN = new URL('../../bin/lien.js', import.meta.url).pathname;

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9), and wait for the exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts `lien serve` with `env` on top of a cleaned environment (no inherited database, keys or
 * clock settings unless given) and resolves once it says it is running.
 */
export async function startServe(env: NodeJS.ProcessEnv, args: string[] = []): Promise<ServeProcess> {
  const port = await freePort();
  const base: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'LIEN_MASTER_KEY', 'LIEN_OPERATOR_KEY', 'LIEN_TEST_CLOCK', 'LIEN_DEMO', 'LIEN_DATABASE_SCHEMA', 'LIEN_EMULATOR', 'LIEN_PUBLIC_URL']) delete base[k];
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('Lien is running')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`lien serve exited with ${code} before it was ready:\n${out}`)));
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => out, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), exited };
}
