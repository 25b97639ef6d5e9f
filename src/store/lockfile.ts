import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LienError } from '../domain/errors.ts';

/** Lock files held by this process: a second open of the same directory here is refused too. */
const held = new Set<string>();

export interface PidLock {
  file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function createExclusive(file: string): boolean {
  try {
    const fd = openSync(file, 'wx', 0o644);
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * PGlite takes no lock on its data directory and two processes writing one directory corrupt
 * it, so the directory gets an exclusive `lien.pid`. A live holder is refused with a message
 * saying who holds it; a lock left by a dead process (crash, kill -9, a container restarted
 * with the same pid) is taken over.
 *
 * @param shownDir the directory as the user wrote it, for the message.
 */
export function takePidLock(dir: string, shownDir: string): PidLock {
  const file = join(dir, 'lien.pid');
  const refuse = (pid: number) =>
    new LienError('conflict', `data directory ${shownDir} is in use by process ${pid}; stop it or use --data-dir`, { pid, dataDir: shownDir });
  if (held.has(file)) throw refuse(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file)) {
      held.add(file);
      return {
        file,
        release() {
          if (!held.delete(file)) return;
          // Only remove our own lock: never one a successor wrote after taking ours over.
          if (readPid(file) === process.pid) rmSync(file, { force: true });
        },
      };
    }
    const pid = readPid(file);
    // Our own pid in a file this process did not write is a previous incarnation (pid reuse).
    if (pid !== null && pid !== process.pid && alive(pid)) throw refuse(pid);
    rmSync(file, { force: true });
  }
  const pid = readPid(file);
  throw pid ? refuse(pid) : new LienError('conflict', `could not take the lock ${file}; another process keeps replacing it`);
}
