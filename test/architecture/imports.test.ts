/**
 * The rings of docs/architecture.md, enforced: every import between top-level folders of src/
 * must be an edge of this table. `type` edges may carry types only (`import type`), never
 * values, so the importing ring does not run the other's code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');

type Kind = 'value' | 'type';

/** folder → folders it may import, and how. Anything missing here is forbidden. */
const ALLOWED: Record<string, Record<string, Kind>> = {
  domain: {},
  tokens: {},
  protocol: { domain: 'value', tokens: 'value' },
  i18n: { domain: 'value' },
  agent: { domain: 'value', protocol: 'value', tokens: 'value', i18n: 'value' },
  store: { domain: 'value', protocol: 'value' },
  services: { domain: 'value', tokens: 'value', protocol: 'value', i18n: 'value', store: 'value' },
  jobs: { services: 'value', store: 'value', domain: 'value', i18n: 'value' },
  // Pages render what the services' read models return; the emulator draws the agent's screen.
  web: { domain: 'value', i18n: 'value', services: 'type', agent: 'value' },
  server: { services: 'value', jobs: 'value', web: 'value', domain: 'value', i18n: 'value', protocol: 'value', agent: 'value', store: 'type' },
  cli: { server: 'value', services: 'value', jobs: 'value', store: 'value', domain: 'value', protocol: 'value', tokens: 'value', agent: 'value', i18n: 'value' },
};

/**
 * The composition root wires the process together (opens and migrates the database, starts the
 * services, the hub and the jobs): it alone may reach past the rings it would otherwise import.
 */
const COMPOSITION_ROOTS: Record<string, string[]> = { 'server/app.ts': ['store'] };

interface Edge {
  from: string;
  to: string;
  file: string;
  target: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

// Static imports and re-exports (`import type` and `export type` are type-only), and dynamic import().
const STATIC = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;
const DYNAMIC = /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split('/')[0]!;
    const text = readFileSync(file, 'utf8');
    const add = (spec: string, typeOnly: boolean) => {
      const target = normalize(join(dirname(file), spec));
      const to = relative(SRC, target).split('/')[0]!;
      if (to !== from) out.push({ from, to, file: relative(SRC, file), target: relative(SRC, target), typeOnly });
    };
    for (const m of text.matchAll(STATIC)) add(m[2]!, Boolean(m[1]));
    for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false);
  }
  return out;
}

describe('import graph of src/', () => {
  const all = edges();

  it('finds the imports it checks (the scanner itself works)', () => {
    expect(all.some((e) => e.from === 'server' && e.to === 'services')).toBe(true);
    expect(all.some((e) => e.from === 'web' && e.to === 'services' && e.typeOnly)).toBe(true);
  });

  it('has only the edges of the table', () => {
    const bad = all.filter((e) => {
      if (COMPOSITION_ROOTS[e.file]?.includes(e.to)) return false;
      const kind = ALLOWED[e.from]?.[e.to];
      return kind === undefined || (kind === 'type' && !e.typeOnly);
    });
    expect(bad.map((e) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}: ${e.file} imports ${e.target}`)).toEqual([]);
  });

  it('keeps the agent shippable: it imports only domain, protocol, tokens and i18n', () => {
    expect(Object.keys(ALLOWED.agent!).sort()).toEqual(['domain', 'i18n', 'protocol', 'tokens']);
    expect(Object.keys(ALLOWED.domain!)).toEqual([]);
    expect(Object.keys(ALLOWED.tokens!)).toEqual([]);
  });

  it('knows every top-level folder', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(folders.filter((f) => !(f in ALLOWED))).toEqual([]);
  });
});
