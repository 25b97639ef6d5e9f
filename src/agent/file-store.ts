/**
 * A KeyValueStore kept in one JSON file per area, for the CLI simulator: `persistent.json` and
 * `userdata.json` side by side play the two partitions of a phone. Each write goes to a temporary
 * file that is renamed over the old one, so a crash leaves either the old or the new content,
 * never half of each. Writes are serialised so a slow write cannot land after a newer one. The file
 * is read once and then cached: one process owns an area at a time.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LienError } from '../domain/errors.ts';
import type { KeyValueStore } from './ports.ts';

type Data = Record<string, unknown>;

export class FileStore implements KeyValueStore {
  private cache: Data | undefined;
  private queue: Promise<void> = Promise.resolve();
  private writes = 0;

  constructor(readonly path: string) {}

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const data = await this.load();
    return data[key] === undefined ? undefined : (structuredClone(data[key]) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) throw new TypeError(`cannot store undefined under "${key}"; delete the key instead`);
    // Through JSON now, so a value that cannot be stored fails here rather than at write time.
    const copy = JSON.parse(JSON.stringify(value)) as unknown;
    await this.mutate((data) => {
      data[key] = copy;
    });
  }

  async delete(key: string): Promise<void> {
    await this.mutate((data) => {
      delete data[key];
    });
  }

  async clear(): Promise<void> {
    await this.mutate((data) => {
      for (const k of Object.keys(data)) delete data[k];
    });
  }

  private async load(): Promise<Data> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (this.cache = {});
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LienError('invalid_input', `${this.path} is not valid JSON; restore it or delete it to start this storage area empty`, { path: this.path });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new LienError('invalid_input', `${this.path} must hold a JSON object of keys and values`, { path: this.path });
    }
    return (this.cache = parsed as Data);
  }

  private mutate(change: (data: Data) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const data = await this.load();
      change(data);
      try {
        await this.persist(data);
      } catch (e) {
        this.cache = undefined; // the change did not reach the disk: read the file again next time
        throw e;
      }
    });
    // Keep the chain alive after a failed write; the caller still sees the failure.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async persist(data: Data): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++this.writes}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', 'utf8');
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
