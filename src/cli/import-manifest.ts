import { createReadStream, existsSync } from 'node:fs';
import { importManifest } from '../services/manifest.ts';
import { UsageError, type Command } from './args.ts';
import { dataDirOption, withServices } from './db.ts';

/** The operator at the machine: manifests loaded from the command line are audited as theirs. */
const CLI_OPERATOR = { kind: 'operator', id: 'cli', lenderId: null } as const;

export const importManifestCommand: Command = {
  name: 'import-manifest',
  summary: 'operator: load a factory manifest CSV into the registry',
  usage: '<file.csv> [--data-dir DIR]',
  options: { 'data-dir': dataDirOption },
  help: [
    'CSV columns: imei1, imei2 (optional), serial, model, factory_secret (64 hex chars), sale_status (unsold|retail, optional).',
    'Every bad row is reported with its line number; devices already registered are skipped.',
  ],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new UsageError('name the manifest file: lien import-manifest <file.csv>');
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    return withServices(values, async (s) => {
      const tty = process.stderr.isTTY;
      const result = await importManifest(s, CLI_OPERATOR, createReadStream(file), {
        onProgress: (done, total) => {
          const msg = `  ${done}${total ? ` / ${total}` : ''} rows`;
          if (tty) process.stderr.write(`\r${msg}`);
          else if (done % 10_000 === 0) process.stderr.write(`${msg}\n`);
        },
      });
      if (tty) process.stderr.write('\n');
      for (const e of result.errors.slice(0, 50)) console.error(`line ${e.line}: ${e.reason}`);
      if (result.errors.length > 50) console.error(`… and ${result.errors.length - 50} more bad rows`);
      console.log(`${result.inserted} devices registered, ${result.skipped} already registered, ${result.errors.length} bad rows`);
      return result.errors.length ? 1 : 0;
    });
  },
};
