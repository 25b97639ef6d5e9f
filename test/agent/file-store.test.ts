import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/agent/file-store.ts';
import { MemoryStore } from '../../src/agent/memory.ts';
import type { KeyValueStore } from '../../src/agent/ports.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lien-agent-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function contract(store: KeyValueStore): Promise<void> {
  expect(await store.get('missing')).toBeUndefined();
  await store.set('policy', { version: 3, lender: { name: 'Acme' }, list: [1, 2] });
  const got = await store.get<{ version: number; list: number[] }>('policy');
  expect(got).toEqual({ version: 3, lender: { name: 'Acme' }, list: [1, 2] });
  got!.list.push(3); // a caller changing its copy must not change the stored value
  expect(await store.get('policy')).toEqual({ version: 3, lender: { name: 'Acme' }, list: [1, 2] });
  await store.set('counter', 7);
  await store.delete('policy');
  expect(await store.get('policy')).toBeUndefined();
  expect(await store.get('counter')).toBe(7);
  await store.clear();
  expect(await store.get('counter')).toBeUndefined();
}

describe('key-value stores', () => {
  it('MemoryStore keeps JSON values, hands out copies, deletes and clears', async () => {
    await contract(new MemoryStore());
  });

  it('FileStore keeps the same contract', async () => {
    await contract(new FileStore(join(await tempDir(), 'userdata.json')));
  });

  it('FileStore survives a restart and leaves no temporary files behind', async () => {
    const dir = await tempDir();
    const path = join(dir, 'persistent.json');
    const a = new FileStore(path);
    await Promise.all([a.set('x', 1), a.set('y', 'two'), a.set('x', 3)]);
    const b = new FileStore(path);
    expect(await b.get('x')).toBe(3);
    expect(await b.get('y')).toBe('two');
    expect(await readdir(dir)).toEqual(['persistent.json']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ x: 3, y: 'two' });
  });

  it('FileStore says which file is broken instead of starting empty', async () => {
    const path = join(await tempDir(), 'persistent.json');
    await writeFile(path, '{"x": 1', 'utf8');
    await expect(new FileStore(path).get('x')).rejects.toThrow(/persistent\.json is not valid JSON/);
  });
});
