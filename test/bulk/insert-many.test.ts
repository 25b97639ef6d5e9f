import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMany } from '../../src/services/bulk/sql.ts';
import type { Database } from '../../src/store/connection.ts';
import { openTestDb } from '../store/helpers.ts';

// The bulk writer takes COPY on PGlite and INSERT … unnest on PostgreSQL (CI runs both): the
// values that come back must be the values given, whatever the CSV encoding has to escape.
describe('insertMany', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
    await sql`CREATE TABLE bulk_values (n int4 PRIMARY KEY, t text, big int8, at timestamptz, day date, flag boolean, doc jsonb)`.execute(d.db);
  });
  afterAll(() => d.close());

  it('stores every value as given: NULL and empty text, quotes, separators, line breaks, backslashes, JSON', async () => {
    const texts = [null, '', ' ', '"', '""', 'a,b', 'line\nbreak', 'cr\r\nlf', '\\', '\\.', 'back\\slash "and" quote', 'é中😀', 'NULL', '\\N'];
    const rows = texts.map((t, n) => ({
      n,
      t,
      big: n === 0 ? null : 9_007_199_254_740_991 - n,
      at: n === 1 ? null : new Date(Date.UTC(2026, 2, 1, 8, 0, n, 123)),
      day: n === 2 ? null : '2026-04-01',
      flag: n === 3 ? null : n % 2 === 0,
      doc: n === 4 ? null : { text: t, quote: '"x"', nested: [1, { comma: 'a,b', nl: 'x\ny' }] },
    }));
    await d.db.transaction().execute((tx) => insertMany(tx, 'bulk_values' as never, { n: 'int4', t: 'text', big: 'int8', at: 'timestamptz', day: 'date', flag: 'bool', doc: 'jsonb' }, rows));
    const back = await sql<Record<string, unknown>>`SELECT n, t, big, at, day, flag, doc FROM bulk_values ORDER BY n`.execute(d.db);
    expect(back.rows).toEqual(rows);
  });
});
