import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/connection.ts';
import { takePidLock } from '../../src/store/lockfile.ts';
import { migrate } from '../../src/store/migrations/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

describe('embedded data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lien-data-'));
  const pidFile = join(dir, 'lien.pid');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second open while the first is open, and releases the lock on close', async () => {
    const first = await openDatabase({ dataDir: dir });
    try {
      expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(process.pid));
      await expect(openDatabase({ dataDir: dir })).rejects.toMatchObject({
        code: 'conflict',
        message: `data directory ${dir} is in use by process ${process.pid}; stop it or use --data-dir`,
      });
    } finally {
      await first.close();
    }
    expect(existsSync(pidFile)).toBe(false);
  }, 120_000);

  it('refuses while another live process holds it, naming the directory as given', async () => {
    const holder = spawn('sleep', ['60']);
    children.push(holder);
    writeFileSync(pidFile, `${holder.pid}\n`);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(`data directory ${dir} is in use by process ${holder.pid}; stop it or use --data-dir`);
    // The holder's lock is left alone.
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(holder.pid));
    holder.kill('SIGKILL');
    rmSync(pidFile);
  });

  it('takes over a lock left by a process that died', async () => {
    writeFileSync(pidFile, `${deadPid()}\n`);
    const db = await openDatabase({ dataDir: dir });
    try {
      expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(process.pid));
    } finally {
      await db.close();
    }
    expect(existsSync(pidFile)).toBe(false);
  }, 120_000);

  it('takes over an unreadable lock file, and never removes a lock it does not own', () => {
    const d = mkdtempSync(join(tmpdir(), 'lien-lock-'));
    try {
      writeFileSync(join(d, 'lien.pid'), 'garbage');
      const lock = takePidLock(d, d);
      // A successor took the directory over meanwhile: releasing must not delete its lock.
      writeFileSync(join(d, 'lien.pid'), '1\n');
      lock.release();
      expect(readFileSync(join(d, 'lien.pid'), 'utf8')).toBe('1\n');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a process that opens, writes and closes exits on its own, and the data persists', async () => {
    const script = join(dir, 'child.mts');
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(join(ROOT, 'src/store/connection.ts'))};
import { migrate } from ${JSON.stringify(join(ROOT, 'src/store/migrations/index.ts'))};
const d = await openDatabase({ dataDir: ${JSON.stringify(dir)} });
await migrate(d.db, d.schema);
await d.listen('lien_nudge', () => {});
await d.db.insertInto('signing_keys').values({ kid: 'k-child', public_key: 'pk', private_key_enc: Buffer.from([1, 2, 3]), active: true, created_at: new Date() }).execute();
await d.close();
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    expect(stderr).toBe('');
    // Killed by the timer would be signal SIGKILL: the event loop was kept alive by an open handle.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
    const db = await openDatabase({ dataDir: dir });
    try {
      expect(await migrate(db.db, db.schema)).toEqual([]);
      const key = await db.db.selectFrom('signing_keys').selectAll().where('kid', '=', 'k-child').executeTakeFirstOrThrow();
      expect(key.private_key_enc).toEqual(Buffer.from([1, 2, 3]));
    } finally {
      await db.close();
    }
  }, 180_000);
});
