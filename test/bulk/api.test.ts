import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { PAYMENT_HEADER, SALE_HEADER, counts, csv, saleLine } from './fixtures.ts';

const p = new TestPlatform('2026-01-01T06:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'lien-import-'));
beforeAll(() => p.start(), 120_000);
afterAll(async () => {
  await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('import API: files that cannot be read', () => {
  it('answers 400 with the reason for garbled CSV, a bad header, an empty file and a non-CSV body', async () => {
    const before = await counts(p);
    const garbled = await p.api('POST', '/v1/imports/sales', `${SALE_HEADER.join(',')}\n"unclosed,quote\n`, p.lenderKey, 'text/csv');
    expect(garbled.status).toBe(400);
    expect(garbled.body.code).toBe('invalid_input');
    expect(garbled.body.message).toMatch(/not valid CSV/);

    const unknown = await p.api('POST', '/v1/imports/payments', 'contract_id,external_ref,channel,amount,currency,received_at,colour\n', p.lenderKey, 'text/csv');
    expect(unknown.status).toBe(400);
    expect(unknown.body.details.errors[0]).toEqual({ line: 1, reason: expect.stringMatching(/unknown column "colour"/) });

    const missing = await p.api('POST', '/v1/imports/sales', 'imei,principal\n1,2\n', p.lenderKey, 'text/csv');
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/missing columns borrower_ref, borrower_phone/);

    const empty = await p.api('POST', '/v1/imports/sales', '\n', p.lenderKey, 'text/csv');
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/empty/);

    const noRows = await p.api('POST', '/v1/imports/payments', `${PAYMENT_HEADER.join(',')}\n`, p.lenderKey, 'text/csv');
    expect(noRows.status).toBe(400);
    expect(noRows.body.message).toMatch(/no rows/);

    const json = await p.api('POST', '/v1/imports/sales', { imei: '1' });
    expect(json.status).toBe(400);
    expect(json.body.message).toMatch(/text\/csv/);

    const other = await p.api('POST', '/v1/imports/sales', 'a;b', p.lenderKey, 'application/vnd.ms-excel');
    expect(other.status).toBe(400);
    expect(other.body.message).toMatch(/text\/csv/);
    expect(await counts(p)).toEqual(before);
  });

  it('answers 413 for a body over 64 MB', async () => {
    const big = `${SALE_HEADER.join(',')}\n` + 'x'.repeat(64 * 1024 * 1024 + 10);
    const r = await p.api('POST', '/v1/imports/sales', big, p.lenderKey, 'text/csv');
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('payload_too_large');
  });

  it('answers 400 for more than 100,000 rows', async () => {
    const rows = Array.from({ length: 100_001 }, (_, i) => `c,,R${i},m,1.00,KES,2026-01-01T00:00:00Z`);
    const r = await p.api('POST', '/v1/imports/payments', csv(PAYMENT_HEADER, rows), p.lenderKey, 'text/csv');
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/100001 rows; at most 100000/);
  });

  it('needs a lender key: none is 401, the operator key 403, an unknown job 404', async () => {
    const none = await p.api('POST', '/v1/imports/sales', 'x', 'nope', 'text/csv');
    expect(none.status).toBe(401);
    const op = await p.operator('GET', '/v1/imports/imp_x');
    expect(op.status).toBe(403);
    const missing = await p.api('GET', '/v1/imports/imp_doesnotexist');
    expect(missing.status).toBe(404);
  });

  it('answers a poll by the key that started the job without the database (a PGlite import holds it)', async () => {
    const [d] = await p.register(1);
    const started = await p.api('POST', '/v1/imports/sales?dryRun=true', csv(SALE_HEADER, [saleLine(d!)]), p.lenderKey, 'text/csv');
    expect(started.status).toBe(202);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    // Wait for the dry run to finish first: it needs the database too.
    for (let i = 0; i < 200 && (await p.api('GET', `/v1/imports/${started.body.id}`)).body.state === 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    const tx = p.lien.services.db.transaction().execute(async (t) => {
      await t.selectFrom('lenders').select('id').execute();
      entered();
      await held;
    });
    await inside;
    try {
      const poll = await Promise.race([
        p.api('GET', `/v1/imports/${started.body.id}`),
        new Promise<null>((r) => setTimeout(() => r(null), 3000)),
      ]);
      expect(poll?.status).toBe(200);
      expect(poll?.body.state).toBe('succeeded');
    } finally {
      release();
      await tx;
    }
  });

  it('is in the OpenAPI document with its query and response schemas', async () => {
    const doc = await p.api('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    const post = doc.body.paths['/v1/imports/sales'].post;
    expect(post.tags).toEqual(['imports']);
    expect(post.summary).toMatch(/Import sales/);
    expect(post.parameters.map((x: { name: string }) => x.name)).toContain('dryRun');
    expect(doc.body.paths['/v1/imports/{id}'].get.responses['200']).toBeDefined();
  });
});

describe('lien import', () => {
  async function cli(args: string[]) {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' ')));
    process.exitCode = 0;
    try {
      await main(['import', ...args, '--url', p.url, '--key', p.lenderKey]);
      return { code: process.exitCode, out: out.join('\n') };
    } finally {
      log.mockRestore();
      err.mockRestore();
      process.exitCode = 0;
    }
  }

  it('prints every bad row on a dry run, then imports the fixed file', async () => {
    const devices = await p.register(3);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, csv(SALE_HEADER, [saleLine(devices[0]!), saleLine(devices[1]!, { term_count: '0' }), saleLine(devices[2]!, { method: 'balloon' })]));
    const dry = await cli(['sales', bad, '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.out).toMatch(/line 3: term_count must be a whole number from 1 to 520/);
    expect(dry.out).toMatch(/line 4: method must be one of flat, declining/);
    expect(dry.out).toMatch(/rejected/);

    const good = join(dir, 'good.csv');
    writeFileSync(good, csv(SALE_HEADER, devices.map((d) => saleLine(d))));
    const before = await counts(p);
    const run = await cli(['sales', good]);
    expect(run.out).toMatch(/succeeded — 3 contracts imported/);
    expect(run.code).toBe(0);
    expect((await counts(p)).contracts).toBe(before.contracts + 3);
  });

  it('reports a file the server refuses', async () => {
    const f = join(dir, 'hdr.csv');
    writeFileSync(f, 'imei,colour\n1,red\n');
    const r = await cli(['payments', f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^lien import: the server cannot read .*hdr.csv; nothing was imported\nline 1: the header has unknown columns "imei", "colour"; missing columns external_ref/);
  });
});
