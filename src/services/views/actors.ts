/**
 * Actors as people read them: the audit log stores `user:usr_…` or `api_key:key_…`; the console
 * shows the user's name or the key's name. Scoped to the lender: another lender's user or key
 * is never named.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';

const FIXED: Record<string, string> = {
  system: 'Lien (automatic)',
  device: 'the phone',
  portal: 'the borrower (help portal)',
  operator: 'the platform operator',
};

/** `kind:id` → a readable name, for every actor given (unknown ones read as their kind). */
export async function actorNames(db: Kysely<DB>, lenderId: string, actors: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(actors)];
  const ids = (kind: string) => wanted.filter((a) => a.startsWith(`${kind}:`)).map((a) => a.slice(kind.length + 1));
  const [users, keys] = await Promise.all([
    ids('user').length ? db.selectFrom('users').select(['id', 'name']).where('lender_id', '=', lenderId).where('id', 'in', ids('user')).execute() : [],
    ids('api_key').length ? db.selectFrom('api_keys').select(['id', 'name']).where('lender_id', '=', lenderId).where('id', 'in', ids('api_key')).execute() : [],
  ]);
  const userName = new Map(users.map((u) => [u.id, u.name]));
  const keyName = new Map(keys.map((k) => [k.id, k.name]));
  const out = new Map<string, string>();
  for (const a of wanted) {
    const colon = a.indexOf(':');
    const kind = colon < 0 ? a : a.slice(0, colon);
    const id = colon < 0 ? '' : a.slice(colon + 1);
    const name = kind === 'user' ? userName.get(id) : kind === 'api_key' ? (keyName.has(id) ? `API key “${keyName.get(id)}”` : undefined) : FIXED[kind];
    out.set(a, name ?? (kind === 'user' ? 'a former user' : kind === 'api_key' ? 'an API key' : kind.replaceAll('_', ' ')));
  }
  return out;
}
