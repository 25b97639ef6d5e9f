import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('Node.js versions', () => {
  it('every package installed for production supports every Node.js version package.json promises', () => {
    const promised = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    expect(semver.satisfies(process.version, promised)).toBe(true);
    const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').slice(1);
    expect(paths.length).toBeGreaterThan(20);
    const narrower: string[] = [];
    for (const dir of paths) {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } };
      const needs = pkg.engines?.node;
      if (needs && !semver.subset(promised, needs)) narrower.push(`${pkg.name}@${pkg.version} needs node ${needs}`);
    }
    // e.g. cookie@2 (node >= 22), pulled in by @fastify/cookie and light-my-request: overridden to 1.1.1.
    expect(narrower).toEqual([]);
  });
});
