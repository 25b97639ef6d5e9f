import type { Command } from './args.ts';
import { dataDirOption, withDatabase } from './db.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply database migrations (embedded PGlite or $DATABASE_URL)',
  usage: '[--data-dir DIR]',
  options: { 'data-dir': dataDirOption },
  async run({ values }) {
    await withDatabase(values, async (db) => {
      console.log(`migrations applied (${db.kind})`);
    });
  },
};
