#!/usr/bin/env node
// Entry for the `lien` command: loads the TypeScript sources through tsx's ESM hook.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
