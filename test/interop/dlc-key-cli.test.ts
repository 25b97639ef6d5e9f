import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dlcKeyCommand } from '../../src/cli/dlc-key.ts';
import { TestPlatform } from '../e2e/in-process.ts';

describe('lien dlc-key', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  async function run(...argv: string[]): Promise<{ code: unknown; out: string }> {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      const [sub, ...rest] = argv;
      const values: Record<string, string> = { url: p.url, key: process.env.LIEN_OPERATOR_KEY! };
      const positionals = [sub!];
      for (let i = 0; i < rest.length; i++) {
        if (rest[i]!.startsWith('--')) values[rest[i]!.slice(2)] = rest[++i]!;
        else positionals.push(rest[i]!);
      }
      const code = await dlcKeyCommand.run({ values, positionals });
      return { code, out: lines.join('\n') };
    } finally {
      log.mockRestore();
    }
  }

  it('create prints the metadata name and value once and keeps only a hash; list and revoke', async () => {
    const created = await run('create', '--name', 'X-Lien-DLC-Key');
    expect(created.code).toBe(0);
    const name = /metadata name\s+(\S+)/.exec(created.out)![1];
    const value = /metadata value\s+(\S+)/.exec(created.out)![1]!;
    expect(name).toBe('x-lien-dlc-key');
    const rows = await p.lien.services.db.selectFrom('dlc_api_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.key_hash)).toEqual(createHash('sha256').update(value).digest());
    expect(JSON.stringify(rows)).not.toContain(value);
    expect((await run('list')).out).toMatch(new RegExp(`${rows[0]!.id}  x-lien-dlc-key  created .* last used never`));
    expect((await run('revoke', rows[0]!.id)).out).toContain('now get UNAUTHENTICATED');
    expect((await run('list')).out).toMatch(/revoked/);
  });

  it('refuses metadata names gRPC reserves or cannot carry', async () => {
    await expect(run('create', '--name', 'grpc-timeout')).rejects.toThrow(/may not start with "grpc-"/);
    await expect(run('create', '--name', 'key-bin')).rejects.toThrow(/end with "-bin"/);
    await expect(run('create', '--name', 'two words')).rejects.toThrow(/lower-case letters/);
  });
});
