import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

// The agent ships on phones: it may use the protocol, the token codec and three domain files only
// (money: the amount due is shown in its currency's ISO precision, as the server computed it).
const ALLOWED = [/^\.\/[\w-]+\.ts$/, /^\.\.\/protocol\//, /^\.\.\/tokens\//, /^\.\.\/domain\/clock\.ts$/, /^\.\.\/domain\/errors\.ts$/, /^\.\.\/domain\/money\.ts$/, /^node:/, /^ws$/];

describe('agent import boundary', () => {
  it('imports nothing of the server, store, jobs, CLI or web', async () => {
    const dir = join(import.meta.dirname, '../../src/agent');
    const offending: string[] = [];
    let seen = 0;
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('agent.ts');
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
        seen++;
        if (!ALLOWED.some((re) => re.test(m[1]!))) offending.push(`${f}: ${m[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });
});
