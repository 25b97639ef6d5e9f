/**
 * What bench/streams.ts and bench/fanout.ts share: phones seeded straight into a server's schema
 * (enrolled, with a sealed credential, no contract: the stream needs nothing else), the client
 * processes that hold their streams (bench/stream-clients.ts), and reading a process's memory and
 * CPU time from /proc.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { imeiCheckDigit } from '../src/domain/imei.ts';
import { seal } from '../src/store/secrets.ts';

const ROOT = new URL('../', import.meta.url).pathname;
/** Streams one client process holds at most (its descriptors and one source address's ports). */
export const PER_CLIENT_PROCESS = 15_000;

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The soft limit on open files of this process (children inherit it). */
export function fdLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.trim().split(/\s+/)[3] ?? 1024);
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** User + system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function imeiOf(n: number): string {
  const body = `35${String(700000000000 + n).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

/** Inserts `n` enrolled devices sharing one credential (each sealed under its own id). */
export async function seedDevices(url: string, schema: string, masterKeyHex: string, n: number, prefix = 'dev_stream_'): Promise<{ ids: string[]; credentialHex: string }> {
  const key = Buffer.from(masterKeyHex, 'hex');
  const credential = randomBytes(32);
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(7, '0')}`);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    for (let i = 0; i < n; i += 2000) {
      const chunk = ids.slice(i, i + 2000);
      const values: unknown[] = [];
      const rows = chunk.map((id, j) => {
        values.push(id, imeiOf(i + j), `SER-${id}`, randomBytes(60), seal(key, credential, `credential:${id}`));
        const b = j * 5;
        return `($${b + 1}, $${b + 2}, $${b + 3}, 'Bench', $${b + 4}, now(), now(), $${b + 5})`;
      });
      await db.query(`INSERT INTO "${schema}".devices (id, imei1, serial, model, factory_secret_enc, created_at, enrolled_at, credential_enc) VALUES ${rows.join(',')}`, values);
    }
  } finally {
    await db.end();
  }
  return { ids, credentialHex: credential.toString('hex') };
}

export class ClientProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (m: any) => void>();

  constructor(readonly index: number) {
    this.child = fork(join(ROOT, 'bin/run-ts.js'), [join(ROOT, 'bench/stream-clients.ts')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: any) => {
      const fn = this.waiting.get(m.type);
      this.waiting.delete(m.type);
      fn?.(m);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends a command and resolves with the first answer of type `reply`. */
  ask<T = any>(msg: Record<string, unknown>, reply: string): Promise<T> {
    return new Promise((resolve) => {
      this.waiting.set(reply, resolve);
      this.child.send(msg);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.ask({ type: 'close' }, 'closed');
    await exited;
  }
}

/** Starts client processes for `ids`, PER_CLIENT_PROCESS each, each from its own loopback address. */
export async function startClients(ids: string[], o: { url: string; credentialHex: string; clockMs: number; signed: boolean; firstAddress?: number }): Promise<ClientProcess[]> {
  const clients: ClientProcess[] = [];
  for (let i = 0, k = 0; i < ids.length; i += PER_CLIENT_PROCESS, k++) {
    const c = new ClientProcess(k);
    await c.ask({ type: 'init', url: o.url, localAddress: `127.0.0.${(o.firstAddress ?? 10) + k}`, deviceIds: ids.slice(i, i + PER_CLIENT_PROCESS), credentialHex: o.credentialHex, clockMs: o.clockMs, signed: o.signed }, 'ready');
    clients.push(c);
  }
  return clients;
}

/** Opens `count` more streams, spread over the client processes. */
export async function connectMore(clients: ClientProcess[], count: number, concurrency = 100): Promise<{ opened: number; failed: number; open: number }> {
  const per = Math.ceil(count / clients.length);
  const rs = await Promise.all(clients.map((c) => c.ask<{ opened: number; failed: number; open: number }>({ type: 'connect', count: per, concurrency }, 'connected')));
  return rs.reduce((a, r) => ({ opened: a.opened + r.opened, failed: a.failed + r.failed, open: a.open + r.open }), { opened: 0, failed: 0, open: 0 });
}
