#!/usr/bin/env node
// Entry for the `lien` command: runs the compiled JavaScript in dist/, which `npm run build`
// writes (and `npm ci` runs it, through the prepare script). No TypeScript loader in production;
// `npm run dev -- <command>` runs the sources through tsx instead.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('lien: the compiled build (dist/) is missing. Run `npm run build` (npm ci does it),\nor run the sources with `npm run dev -- <command>`.');
  process.exit(1);
}
await import(entry.href);
