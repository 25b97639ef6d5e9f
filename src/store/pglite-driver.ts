import type { PGlite, Results } from '@electric-sql/pglite';
import {
  AbortedTransactionError,
  CompiledQuery,
  createQueryId,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  IdentifierNode,
  RawNode,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { dropStatementValues } from './loggable.ts';
import type { PoolStats } from './connection.ts';

/** FIFO mutex: waiters get the lock in the order they asked for it. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** Callers that asked for the lock, the holder included, and have not released it. */
  private users = 0;

  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    this.users++;
    const done = () => {
      this.users--;
      release();
    };
    const acquired = this.tail.then(() => done);
    this.tail = this.tail.then(() => next);
    return acquired;
  }

  /** How many callers wait for the lock and whether someone holds it (metrics). */
  get state(): { held: boolean; waiting: number } {
    return { held: this.users > 0, waiting: Math.max(0, this.users - 1) };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.lock();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pg: PGlite) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    // COPY … FROM '/dev/blob' takes its rows as a Blob beside the statement (see copyRows).
    const blob = q.sql.startsWith('COPY ') && q.parameters.length === 1 && q.parameters[0] instanceof Blob ? q.parameters[0] : null;
    // PGlite attaches the statement's parameters to its errors: tokens, hashes, phone numbers.
    let r: Results<R>;
    try {
      r = blob ? await this.pg.query<R>(q.sql, [], { blob }) : await this.pg.query<R>(q.sql, q.parameters as unknown[]);
    } catch (e) {
      throw dropStatementValues(e);
    }
    const command = r.command ?? '';
    if (command === 'COMMIT' || command === 'ROLLBACK') return { rows: [{ command } as R] };
    const writes = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
    return writes ? { rows: r.rows, numAffectedRows: BigInt(r.affectedRows ?? 0) } : { rows: r.rows };
  }

  /** PGlite has no cursors over the wire: the result is read whole, then handed out in chunks. */
  async *streamQuery<R>(q: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(q);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}

function savepointQuery(command: string, name: string, compile: QueryCompiler['compileQuery']): CompiledQuery {
  return compile(RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]), createQueryId());
}

/**
 * A Kysely driver over one PGlite instance, which is one Postgres session. Every acquire takes
 * the mutex and a transaction keeps it from BEGIN to COMMIT/ROLLBACK, so statements of other
 * callers wait instead of landing inside someone else's transaction (and being rolled back
 * with it, or committing half of it) — the failure of kysely-pglite.
 *
 * Consequence: inside `db.transaction().execute(tx => …)` use `tx`, never `db`; a query on `db`
 * there waits for the transaction that waits for it.
 */
export class PgliteDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly conn: PgliteConnection;
  private held: (() => void) | null = null;
  private closed = false;

  constructor(readonly pg: PGlite) {
    this.conn = new PgliteConnection(pg);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.closed) throw new Error('the database is closed');
    const release = await this.mutex.lock();
    if (this.closed) {
      release();
      throw new Error('the database is closed');
    }
    this.held = release;
    return this.conn;
  }

  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let q = 'begin';
    if (settings.isolationLevel) q += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) q += ` ${settings.accessMode}`;
    await c.executeQuery(CompiledQuery.raw(q));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    const { rows } = await c.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'));
    // An earlier failed statement left the transaction aborted: Postgres answers COMMIT with ROLLBACK.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(savepointQuery('savepoint', name, compile));
  }

  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(savepointQuery('rollback to', name, compile));
  }

  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(savepointQuery('release', name, compile));
  }

  async releaseConnection(): Promise<void> {
    const release = this.held;
    this.held = null;
    release?.();
  }

  /** The one session as a pool of one: in use or not, and how many wait for it. */
  poolStats(): PoolStats {
    const { held, waiting } = this.mutex.state;
    return { size: 1, inUse: held ? 1 : 0, waiting };
  }

  /** Runs work that talks to PGlite directly (LISTEN, close) with the session to itself. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    return this.mutex.run(fn);
  }

  /** Waits for the transaction in flight, then refuses new work. Closing PGlite is the owner's job. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    await this.mutex.run(async () => {
      this.closed = true;
    });
  }
}

/** PostgreSQL's adapter, marked as able to run `COPY … FROM '/dev/blob'` (PGlite's bulk load). */
export class PgliteAdapter extends PostgresAdapter {
  readonly copiesFromBlob = true;
}

export function pgliteDialect(driver: PgliteDriver): Dialect {
  return {
    createAdapter: () => new PgliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}
