import { createDlcKey, listDlcKeys, revokeDlcKey, type DlcKey } from '../services/android-device-lock.ts';
import type { Services } from '../services/context.ts';
import { UsageError, type Command } from './args.ts';
import { dataDirOption, withServices } from './db.ts';

const OPERATOR = { kind: 'operator', id: 'cli', lenderId: null } as const;

/** The two ways in: a running server's operator API (--url), or the database directly. */
interface Backend {
  create(name: string): Promise<DlcKey & { value: string }>;
  list(): Promise<DlcKey[]>;
  revoke(id: string): Promise<void>;
}

function apiBackend(url: string, key: string): Backend {
  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${url.replace(/\/+$/, '')}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new UsageError(`cannot reach the server at ${url}: ${(e as Error).message}`);
    }
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!res.ok) throw new UsageError(`the server refused (HTTP ${res.status}): ${parsed?.message ?? text.slice(0, 200)}`);
    return parsed;
  };
  return {
    create: (name) => call('POST', '/v1/operator/dlc-keys', { name }),
    list: () => call('GET', '/v1/operator/dlc-keys'),
    revoke: async (id) => void (await call('DELETE', `/v1/operator/dlc-keys/${encodeURIComponent(id)}`)),
  };
}

function dbBackend(s: Services): Backend {
  return { create: (name) => createDlcKey(s, OPERATOR, name), list: () => listDlcKeys(s.db), revoke: (id) => revokeDlcKey(s, OPERATOR, id) };
}

export const dlcKeyCommand: Command = {
  name: 'dlc-key',
  summary: 'operator: API keys for Android Device Lock (OEM builds\' overlays)',
  usage: 'create --name <metadata name> | list | revoke <id>  [--url URL --key OPERATOR_KEY | --data-dir DIR]',
  options: {
    name: { type: 'string', description: 'gRPC metadata name the phone sends the key under, e.g. x-lien-dlc-key' },
    url: { type: 'string', description: 'a running server (default $LIEN_API_URL); without it the database is opened directly' },
    key: { type: 'string', description: 'operator API key for --url (default $LIEN_OPERATOR_KEY)' },
    'data-dir': dataDirOption,
  },
  help: [
    'create prints the metadata name and the key once: they go into the build\'s overlay as',
    'check_in_service_api_key_name/_value and finalize_service_api_key_name/_value (docs/android.md).',
    'Only a hash is stored. With an embedded database a running server holds it: pass --url then.',
  ],
  async run({ values, positionals }) {
    const [sub, arg] = positionals;
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError('say create, list or revoke');
    const url = typeof values.url === 'string' ? values.url : process.env.LIEN_API_URL;
    const key = typeof values.key === 'string' ? values.key : process.env.LIEN_OPERATOR_KEY;
    if (url && !key) throw new UsageError('--url needs the operator API key: --key or $LIEN_OPERATOR_KEY');
    const work = async (b: Backend) => {
      if (sub === 'create') {
        if (typeof values.name !== 'string') throw new UsageError('name the metadata entry: lien dlc-key create --name x-lien-dlc-key');
        const k = await b.create(values.name);
        console.log(`Android Device Lock API key ${k.id} (shown once; only its hash is kept):`);
        console.log(`  metadata name   ${k.metadataName}`);
        console.log(`  metadata value  ${k.value}`);
        return 0;
      }
      if (sub === 'list') {
        const keys = await b.list();
        if (!keys.length) console.log('no Android Device Lock API keys');
        for (const k of keys) console.log(`${k.id}  ${k.metadataName}  created ${k.createdAt}  ${k.revokedAt ? `revoked ${k.revokedAt}` : `last used ${k.lastUsedAt ?? 'never'}`}`);
        return 0;
      }
      if (!arg) throw new UsageError('name the key to revoke: lien dlc-key revoke <id>');
      await b.revoke(arg);
      console.log(`revoked ${arg}: calls carrying it now get UNAUTHENTICATED`);
      return 0;
    };
    return url ? work(apiBackend(url, key!)) : withServices(values, (s) => work(dbBackend(s)));
  },
};
