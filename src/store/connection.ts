import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { LienError } from '../domain/errors.ts';
import { takePidLock, type PidLock } from './lockfile.ts';
import { PgliteDriver, pgliteDialect } from './pglite-driver.ts';
import type { DB } from './schema.ts';
import { OID, parseByteaHex, parseDate, parseInt8, parseNumeric } from './types.ts';

export type Unlisten = () => Promise<void>;

/** Connections open (`size`), handed out (`inUse`), and queries queued for one (`waiting`). */
export interface PoolStats {
  size: number;
  inUse: number;
  waiting: number;
}

export interface Database {
  db: Kysely<DB>;
  kind: 'pglite' | 'postgres';
  /** The schema the tables live in ('public' unless a PostgreSQL schema was asked for). */
  schema: string;
  close(): Promise<void>;
  /**
   * Subscribes to NOTIFY on `channel` (lowercase letters, digits, underscores). On PostgreSQL
   * with a `schema`, channels are namespaced by it, so tenants sharing a database do not hear
   * each other.
   */
  listen(channel: string, fn: (payload: string) => void): Promise<Unlisten>;
  notify(channel: string, payload: string): Promise<void>;
  /** The channel name on the wire, for a NOTIFY sent inside a transaction (`SELECT pg_notify(name, …)`), delivered only if it commits. */
  channelName(channel: string): string;
  /** The connection pool's occupancy (PGlite: its one session). */
  poolStats(): PoolStats;
  /** PGlite only: a tarball of the whole data directory, taken with the session to itself (backups, test templates). */
  dump?(): Promise<Blob>;
  /**
   * Sets a custom setting (`lien.something`) on every session of this database, now and on every
   * connection opened later, with set_config(): kept in the sessions' memory, never in a table.
   */
  setSessionSetting(name: string, value: string): Promise<void>;
}

const SETTING = /^lien\.[a-z_]{1,40}$/;

function checkSetting(name: string): void {
  if (!SETTING.test(name)) throw new LienError('invalid_input', `session setting "${name}" must be lien. and lowercase letters or underscores`);
}

export interface OpenOptions {
  /** PostgreSQL connection string; unset → embedded PGlite. */
  databaseUrl?: string;
  /** Embedded data directory (default ./data): PGlite files, the pid lock, the generated master key. */
  dataDir?: string;
  /** Embedded, in memory (tests). */
  memory?: boolean;
  /** PostgreSQL only: the schema to work in (the connection's search_path; created if missing). */
  schema?: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** Embedded in memory only: start from a dumped data directory (PGlite.dumpDataDir) instead of initdb. */
  pgliteTemplate?: Blob;
  /** Connection errors that no query is waiting for (a dropped idle connection); default: a process warning. */
  onError?(e: Error): void;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!IDENT.test(channel)) {
    throw new LienError('invalid_input', `notification channel "${channel}" must be lowercase letters, digits and underscores`);
  }
}

function warn(e: Error): void {
  process.emitWarning(`database connection: ${e.message}`);
}

/** A listener that throws must not break the connection that delivered the notification. */
function guarded(fn: (payload: string) => void, payload: string, onError: (e: Error) => void): void {
  try {
    fn(payload);
  } catch (e) {
    onError(e instanceof Error ? e : new Error(String(e)));
  }
}

export async function openDatabase(opts: OpenOptions = {}): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format !== 'binary') {
      if (oid === OID.int8) return parseInt8;
      if (oid === OID.date) return parseDate;
      if (oid === OID.numeric) return parseNumeric;
    }
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

async function ensureSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
  } catch (e) {
    // Two processes creating it at the same moment: the loser sees a duplicate, which is fine.
    const code = (e as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw e;
  } finally {
    await c.end();
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

function unreachable(url: string, e: unknown): LienError {
  return new LienError('unavailable', `cannot use PostgreSQL at ${redact(url)}: ${e instanceof Error ? e.message : String(e)}`);
}

async function openPostgres(url: string, opts: OpenOptions): Promise<Database> {
  const schema = opts.schema;
  if (schema !== undefined && !IDENT.test(schema)) {
    throw new LienError('invalid_input', `schema name "${schema}" must be lowercase letters, digits and underscores (at most 63)`);
  }
  if (schema) await ensureSchema(url, schema).catch((e) => Promise.reject(unreachable(url, e)));
  const onError = opts.onError ?? warn;
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    types: pgTypes,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 10 });
  // An idle client dropped by the server emits 'error' on the pool; unhandled it would kill the process.
  pool.on('error', onError);
  // So does a client that is checked out when its connection dies (terminated by an operator, a
  // failover, a restart) while no query of it is running, e.g. between two statements of a
  // transaction: pg-pool listens only to idle clients, so without this the process exits. The
  // transaction's next statement fails, the request answers 503 (services/connection-loss.ts), and the pool
  // drops the dead client when it is released.
  pool.on('connect', (client) => client.on('error', onError));
  // Session settings reach each pooled client before its next use: the set_config() is queued on
  // the client as it is handed out, so it runs ahead of whatever query it was taken for.
  const settings = new Map<string, string>();
  let settingsVersion = 0;
  const settingsApplied = new WeakMap<pg.PoolClient, number>();
  pool.on('acquire', (client) => {
    if (settings.size === 0 || settingsApplied.get(client) === settingsVersion) return;
    settingsApplied.set(client, settingsVersion);
    for (const [name, value] of settings) client.query('SELECT set_config($1, $2, false)', [name, value]).catch(() => undefined);
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const qualify = (channel: string) => {
    checkChannel(channel);
    const name = schema ? `${schema}.${channel}` : channel;
    if (Buffer.byteLength(name) > 63) throw new LienError('invalid_input', `notification channel "${name}" is longer than 63 bytes`);
    return name;
  };
  const listener = new PgListener(clientConfig, onError);
  let current = schema;
  if (!current) {
    // Where unqualified tables land for this role (usually public): migrations need to know.
    const { rows } = await sql<{ s: string | null }>`SELECT current_schema() AS s`.execute(db).catch(async (e) => {
      await db.destroy();
      throw unreachable(url, e);
    });
    current = rows[0]?.s ?? 'public';
  }
  let closing: Promise<void> | null = null;
  return {
    db,
    kind: 'postgres',
    schema: current,
    listen: async (channel, fn) => listener.listen(qualify(channel), fn),
    channelName: qualify,
    poolStats: () => ({ size: pool.totalCount, inUse: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }),
    async notify(channel, payload) {
      await sql`SELECT pg_notify(${qualify(channel)}, ${payload})`.execute(db);
    },
    async setSessionSetting(name, value) {
      checkSetting(name);
      settings.set(name, value);
      settingsVersion++;
    },
    close() {
      closing ??= (async () => {
        await listener.close();
        await db.destroy();
      })();
      return closing;
    },
  };
}

/**
 * LISTEN needs a session of its own that stays open (pooled clients come and go). If the
 * connection drops, it reconnects with backoff and listens again; notifications sent while it
 * was away are lost, which callers must tolerate (devices also check in on a timer).
 */
class PgListener {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onError: (e: Error) => void,
  ) {}

  async listen(channel: string, fn: (payload: string) => void): Promise<Unlisten> {
    if (this.closed) throw new Error('the database is closed');
    const client = await this.connect();
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(fn);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current?.delete(fn) || current.size > 0) return;
      this.handlers.delete(channel);
      if (this.client && !this.closed) await this.client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
    };
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client(this.config);
      client.on('error', (e) => this.lost(client, e));
      client.on('notification', (n) => {
        for (const h of this.handlers.get(n.channel) ?? []) guarded(h, n.payload ?? '', this.onError);
      });
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (e) {
        client.end().catch(() => undefined);
        throw e;
      } finally {
        this.connecting = null;
      }
      this.client = client;
      this.retryMs = 100;
      return client;
    })();
    return this.connecting;
  }

  private lost(client: pg.Client, e: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.onError(e);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer || this.handlers.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((e: Error) => {
        this.onError(e);
        this.retryMs = Math.min(this.retryMs * 2, 30_000);
        this.scheduleReconnect();
      });
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.handlers.clear();
    const pending = this.connecting;
    const client = this.client ?? (pending ? await pending.catch(() => null) : null);
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite

const pgliteParsers = {
  [OID.int8]: parseInt8,
  [OID.date]: parseDate,
  [OID.numeric]: parseNumeric,
  [OID.bytea]: parseByteaHex,
};

async function openPglite(opts: OpenOptions): Promise<Database> {
  let lock: PidLock | null = null;
  let pglite: PGlite;
  try {
    if (opts.memory) {
      pglite = new PGlite({ parsers: pgliteParsers, ...(opts.pgliteTemplate ? { loadDataDir: opts.pgliteTemplate } : {}) });
    } else {
      const shown = opts.dataDir ?? './data';
      const dir = resolve(shown);
      mkdirSync(dir, { recursive: true });
      lock = takePidLock(dir, shown);
      pglite = new PGlite(join(dir, 'pg'), { parsers: pgliteParsers });
    }
    await pglite.waitReady;
  } catch (e) {
    lock?.release();
    throw e;
  }
  const driver = new PgliteDriver(pglite);
  const db = new Kysely<DB>({ dialect: pgliteDialect(driver) });
  let closing: Promise<void> | null = null;
  return {
    db,
    kind: 'pglite',
    schema: 'public',
    async listen(channel, fn) {
      checkChannel(channel);
      // LISTEN goes through the session lock: run bare it could land inside (and roll back with) a transaction.
      const onError = opts.onError ?? warn;
      const unsub = await driver.exclusive(() => pglite.listen(channel, (payload) => guarded(fn, payload, onError)));
      return async () => {
        if (!pglite.closed) await driver.exclusive(() => unsub()).catch(() => undefined);
      };
    },
    async notify(channel, payload) {
      checkChannel(channel);
      await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
    },
    channelName(channel) {
      checkChannel(channel);
      return channel;
    },
    poolStats: () => driver.poolStats(),
    dump: () => driver.exclusive(() => pglite.dumpDataDir('none')),
    async setSessionSetting(name, value) {
      checkSetting(name);
      // One session: set it once, between transactions.
      await driver.exclusive(() => pglite.query('SELECT set_config($1, $2, false)', [name, value]));
    },
    close() {
      closing ??= (async () => {
        try {
          await db.destroy();
          await pglite.close();
        } finally {
          lock?.release();
        }
      })();
      return closing;
    },
  };
}
