// npm runs this after `npm ci` / `npm install` (package.json "prepare"): it builds dist/ with tsc,
// so a fresh clone is ready for `npm start`. An install without dev dependencies has no compiler:
// it keeps a dist/ built beforehand (build, then `npm prune --omit=dev`, as docs/operations.md
// says) and says so, or explains how to get one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc = null;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // dev dependencies left out
}
if (!tsc) {
  if (existsSync(new URL('../dist/cli/bin.js', import.meta.url))) {
    console.log('prepare: TypeScript is not installed (an install without dev dependencies); keeping the dist/ built before.');
    process.exit(0);
  }
  console.error('prepare: dist/ is missing and TypeScript is not installed to build it.\nInstall with dev dependencies and build (npm ci), then drop them if you like (npm prune --omit=dev).');
  process.exit(1);
}
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
