import { CompiledQuery, sql, type Insertable, type Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';

/** Rows per statement: one array parameter per column, so the row count is not bound by the 65,535-parameter limit. */
export const CHUNK = 5000;

/** Column name → PostgreSQL type of its array element (fixed by the code, never by input). */
export type Columns = Record<string, string>;

/** A table of the schema. */
export type Table = keyof DB & string;
/** The columns of `T` a bulk statement names, each with its PostgreSQL element type. */
export type ColumnsOf<T extends Table> = { [C in keyof DB[T] & string]?: string };
/** One row for a bulk statement into `T`: values of its columns, as they are written. */
export type RowOf<T extends Table> = { [C in keyof Insertable<DB[T]> & string]?: Insertable<DB[T]>[C] };

function cell(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v ?? null;
}

function arrays(cols: Columns, rows: readonly Record<string, unknown>[]) {
  return Object.entries(cols).map(([name, type]) => sql`${rows.map((r) => cell(r[name]))}::${sql.raw(type)}[]`);
}

// Quoted only when it must be: empty (unquoted empty is NULL), or holding a quote, comma, line
// break or backslash (a lone `\.` line ends the data).
const NEEDS_QUOTES = /^$|[",\r\n\\]/;

/** One CSV field as COPY reads it: the value the unnest form would bind, as CSV text. */
function csvField(v: unknown): string {
  const c = cell(v);
  if (c === null) return '';
  const text = typeof c === 'boolean' ? (c ? 't' : 'f') : String(c);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function copiesFromBlob(tx: Kysely<DB>): boolean {
  return (tx.getExecutor().adapter as { copiesFromBlob?: boolean }).copiesFromBlob === true;
}

/**
 * PGlite: COPY … FROM '/dev/blob' in CSV, which Postgres parses in C, where the unnest form's
 * array literals cost about twice as much per row (bench/import.ts).
 */
async function copyRows(tx: Kysely<DB>, table: string, cols: Columns, rows: readonly Record<string, unknown>[]): Promise<void> {
  const names = Object.keys(cols);
  const statement = `COPY "${table}" (${names.map((c) => `"${c}"`).join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`;
  for (let i = 0; i < rows.length; i += CHUNK) {
    let text = '';
    for (const r of rows.slice(i, i + CHUNK)) {
      let line = csvField(r[names[0]!]);
      for (let k = 1; k < names.length; k++) line += ',' + csvField(r[names[k]!]);
      text += line + '\n';
    }
    await tx.executeQuery(CompiledQuery.raw(statement, [new Blob([text])]));
  }
}

/**
 * Thousands of rows in one round trip: COPY on PGlite, INSERT … SELECT FROM unnest(col1[],
 * col2[], …) on PostgreSQL (node-postgres has no COPY without another package, and the unnest
 * form is fast enough there).
 */
export async function insertMany<T extends Table>(tx: Kysely<DB>, table: T, cols: ColumnsOf<T>, rows: readonly RowOf<T>[]): Promise<void> {
  if (copiesFromBlob(tx)) return copyRows(tx, table, cols as Columns, rows as readonly Record<string, unknown>[]);
  const names = sql.join(Object.keys(cols).map((c) => sql.id(c)));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    await sql`INSERT INTO ${sql.id(table)} (${names}) SELECT * FROM unnest(${sql.join(arrays(cols as Columns, part as readonly Record<string, unknown>[]))})`.execute(tx);
  }
}

/**
 * UPDATE table SET col = u.col … FROM unnest(…) u WHERE table.key = u.key, in chunks. `keys` are
 * the columns matched on; every other column of `cols` is set.
 */
export async function updateMany<T extends Table>(tx: Kysely<DB>, table: T, keys: readonly (keyof DB[T] & string)[], cols: ColumnsOf<T>, rows: readonly RowOf<T>[]): Promise<void> {
  const names = Object.keys(cols);
  const matched = new Set<string>(keys);
  const sets = sql.join(names.filter((c) => !matched.has(c)).map((c) => sql`${sql.id(c)} = u.${sql.id(c)}`));
  const match = sql.join(keys.map((k) => sql`t.${sql.id(k)} = u.${sql.id(k)}`), sql` AND `);
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    await sql`UPDATE ${sql.id(table)} AS t SET ${sets} FROM unnest(${sql.join(arrays(cols as Columns, part as readonly Record<string, unknown>[]))}) AS u(${sql.join(names.map((c) => sql.id(c)))}) WHERE ${match}`.execute(tx);
  }
}

/** Splits a list for `= ANY($1)` lookups of bounded size. */
export function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Lets queued requests run between chunks (PGlite shares this thread). */
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
