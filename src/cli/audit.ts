import { verifyAudit } from '../store/repos/audit.ts';
import { UsageError, type Command } from './args.ts';
import { dataDirOption, withDatabase } from './db.ts';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'audit log tools: `lien audit verify` checks the hash chain',
  usage: 'verify [--data-dir DIR]',
  options: { 'data-dir': dataDirOption },
  async run({ values, positionals }) {
    if (positionals[0] !== 'verify') throw new UsageError('the only audit subcommand is `verify`');
    return withDatabase(values, async (db) => {
      const r = await verifyAudit(db.db, {});
      if (r.ok) {
        console.log(`audit log intact: ${r.checked} entries verified`);
        return 0;
      }
      console.error(`audit log BROKEN at entry ${r.firstBadSeq} (${r.checked} entries checked before it)`);
      return 1;
    });
  },
};
