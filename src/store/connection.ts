import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from 'kysely';
import pg from 'pg';
import { LienError } from '../domain/errors.ts';
import type { DB } from './schema.ts';

export interface Database {
  db: Kysely<DB>;
  kind: 'pglite' | 'postgres';
  /** The PostgreSQL schema the tables live in. */
  schema: string;
  close(): Promise<void>;
  listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Embedded data directory (default ./data). */
  dataDir?: string;
  /** Embedded, in memory: tests. */
  memory?: boolean;
  /** PostgreSQL only: the schema to work in (created if missing). */
  schema?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

const OID = { int8: 20, bytea: 17, date: 1082, numeric: 1700 } as const;

export async function openDatabase(opts: OpenOptions = {}): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

async function openPostgres(url: string, opts: OpenOptions): Promise<Database> {
  const schema = opts.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new LienError('invalid_input', `schema name "${schema}" must be lowercase letters, digits and underscores`);
  }
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === OID.int8) return (v: string) => Number(v);
      if (oid === OID.date) return (v: string) => v;
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const base = { connectionString: url, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  if (schema) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await c.end();
    }
  }
  const pool = new pg.Pool({ ...base, max: opts.poolSize ?? 10 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let listener: pg.Client | null = null;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  return {
    db,
    kind: 'postgres',
    schema: schema ?? 'public',
    async listen(channel, fn) {
      if (!listener) {
        listener = new pg.Client(base);
        await listener.connect();
        listener.on('notification', (n) => {
          for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? '');
        });
      }
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        await listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      set.add(fn);
      return async () => {
        set.delete(fn);
      };
    },
    async notify(channel, payload) {
      await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
    },
    async close() {
      await listener?.end();
      listener = null;
      await db.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PGlite

/** FIFO lock: PGlite has one session, so a transaction must own it until commit or rollback. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const acquired = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return acquired;
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pg: PGlite) {}
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const r = await this.pg.query<R>(q.sql, q.parameters as unknown[]);
    const affected = r.affectedRows ?? 0;
    const cmd = r.command ?? '';
    return cmd === 'INSERT' || cmd === 'UPDATE' || cmd === 'DELETE' || cmd === 'MERGE'
      ? { rows: r.rows, numAffectedRows: BigInt(affected) }
      : { rows: r.rows };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite');
  }
}

/**
 * A Kysely driver over one PGlite instance. Every acquire takes the mutex, and a transaction
 * keeps its connection until commit/rollback, so statements from other callers wait instead of
 * landing inside someone else's transaction (what kysely-pglite gets wrong).
 */
class PgliteDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly conn: PgliteConnection;
  private release: (() => void) | null = null;
  constructor(pg: PGlite) {
    this.conn = new PgliteConnection(pg);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    this.release = await this.mutex.lock();
    return this.conn;
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('BEGIN'));
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('COMMIT'));
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }
  async releaseConnection(): Promise<void> {
    const r = this.release;
    this.release = null;
    r?.();
  }
  async destroy(): Promise<void> {}
}

function pgliteDialect(pg: PGlite): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PgliteDriver(pg),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PGlite does not lock its data directory; two processes on one directory corrupt it. */
function takePidLock(dir: string): string {
  const file = join(dir, 'lien.pid');
  if (heldLocks.has(file)) throw new LienError('conflict', `data directory ${dir} is already open in this process`);
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new LienError('conflict', `data directory ${dir} is in use by process ${pid}; stop it or use --data-dir`, { pid });
    }
  }
  writeFileSync(file, String(process.pid));
  heldLocks.add(file);
  return file;
}

async function openPglite(opts: OpenOptions): Promise<Database> {
  let lockFile: string | null = null;
  let dataDir: string | undefined;
  if (!opts.memory) {
    dataDir = resolve(opts.dataDir ?? './data');
    mkdirSync(dataDir, { recursive: true });
    lockFile = takePidLock(dataDir);
  }
  const parsers = {
    [OID.int8]: (v: string) => Number(v),
    [OID.date]: (v: string) => v,
    [OID.bytea]: (v: string) => Buffer.from(v.slice(2), 'hex'),
  };
  let pglite: PGlite;
  try {
    pglite = dataDir ? new PGlite(join(dataDir, 'pg'), { parsers }) : new PGlite({ parsers });
    await pglite.waitReady;
  } catch (e) {
    if (lockFile) {
      rmSync(lockFile, { force: true });
      heldLocks.delete(lockFile);
    }
    throw e;
  }
  const db = new Kysely<DB>({ dialect: pgliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    schema: 'public',
    async listen(channel, fn) {
      const unsub = await pglite.listen(channel, fn);
      return async () => {
        await unsub();
      };
    },
    async notify(channel, payload) {
      await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
    },
    async close() {
      await db.destroy();
      await pglite.close();
      if (lockFile) {
        rmSync(lockFile, { force: true });
        heldLocks.delete(lockFile);
      }
    },
  };
}
