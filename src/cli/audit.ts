import { readFileSync } from 'node:fs';
import { systemClock } from '../domain/clock.ts';
import { checkAuditHead, signedAuditHead, type SignedAuditHead } from '../services/audit-head.ts';
import { verifyAudit } from '../store/repos/audit.ts';
import { UsageError, type Command } from './args.ts';
import { dataDirOption, withServices } from './db.ts';

function readHead(file: string): SignedAuditHead {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SignedAuditHead;
  } catch (e) {
    throw new UsageError(`cannot read the audit head ${file}: ${(e as Error).message}`);
  }
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'audit log tools: `verify` checks the keyed hash chain, `head` prints a signed head to keep',
  usage: 'verify [--head FILE] [--public-key KEY] [--lender ID] [--data-dir DIR] | head [--lender ID] [--data-dir DIR]',
  options: {
    'data-dir': dataDirOption,
    lender: { type: 'string', description: "one lender's chain only (default: every chain)" },
    head: { type: 'string', description: 'verify: also check a head printed earlier by `lien audit head`' },
    'public-key': { type: 'string', description: 'verify --head: the public key you pinned (default: the one in the head, if the platform publishes it)' },
  },
  help: [
    'The chain is keyed with a key derived from LIEN_MASTER_KEY (or the data directory\'s master.key), never stored in the',
    'database: rows rewritten with recomputed hashes do not verify without it. `lien audit head` prints where every chain ends,',
    "signed with the platform's Ed25519 key; keep it outside the database. `lien audit verify --head FILE` later proves the",
    'history it covers is unchanged, even against someone who holds the key.',
  ],
  async run({ values, positionals }) {
    const sub = positionals[0];
    if (sub !== 'verify' && sub !== 'head') throw new UsageError('audit subcommands: `verify` and `head`');
    const lenderId = typeof values.lender === 'string' ? values.lender : undefined;
    return withServices(values, async (s) => {
      if (sub === 'head') {
        console.log(JSON.stringify(await signedAuditHead(s.db, s.keyring, systemClock.now(), lenderId ?? null), null, 2));
        return 0;
      }
      const r = await verifyAudit(s.db, lenderId !== undefined ? { lenderId } : {});
      let ok = r.ok;
      if (r.ok) console.log(`audit log intact: ${r.checked} entries verified`);
      else console.error(`audit log BROKEN at entry ${r.firstBadSeq} (${r.checked} entries checked before it)`);
      if (typeof values.head === 'string') {
        const pinned = typeof values['public-key'] === 'string' ? values['public-key'] : undefined;
        const check = await checkAuditHead(s.db, readHead(values.head), s.keyring.publicKeys(), pinned);
        if (check.ok) console.log(`the kept head (${values.head}) still holds`);
        else for (const p of check.problems) console.error(`kept head: ${p}`);
        ok &&= check.ok;
      }
      return ok ? 0 : 1;
    });
  },
};
