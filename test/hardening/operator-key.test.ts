/**
 * Issue #12 L7: the operator key is printed once and stored only as a hash; nothing in the data
 * directory holds it in plaintext.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe } from './processes.ts';

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe('issue #12 L7: the operator key', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lien-opkey-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('L7: is printed once on the first start, works, and no file of the data directory holds it (--no-demo)', async () => {
    const env = { LIEN_DATA_DIR: dataDir, LIEN_SWEEP_INTERVAL: '0' };
    const first = await startServe(env, ['--no-demo']);
    const key = /Operator API key \(shown once, keep it\): (lien_op_\S+)/.exec(first.output())?.[1];
    try {
      expect(key, first.output()).toBeTruthy();
      const r = await fetch(`${first.url}/v1/operator/sweep`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
    } finally {
      await first.stop();
    }
    for (const f of allFiles(dataDir)) expect(readFileSync(f).includes(Buffer.from(key!)), f).toBe(false);

    const second = await startServe(env, ['--no-demo']);
    try {
      expect(second.output()).not.toContain(key!);
      expect(second.output()).not.toMatch(/Operator API key/);
      const r = await fetch(`${second.url}/v1/operator/sweep`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
