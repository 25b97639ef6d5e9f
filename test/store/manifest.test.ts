import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/connection.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { importManifest } from '../../src/services/manifest.ts';
import { insertManifestRows } from '../../src/store/repos/devices.ts';
import { aad, open } from '../../src/store/secrets.ts';
import { newId } from '../../src/store/ids.ts';
import { openTestDb, servicesOver, testImei, TEST_KEY } from './helpers.ts';

const OPERATOR = { kind: 'operator', id: 'test', lenderId: null } as const;

const findByImei = (db: Database['db'], imei: string) =>
  db.selectFrom('devices').selectAll().where((eb) => eb.or([eb('imei1', '=', imei), eb('imei2', '=', imei)])).executeTakeFirst();

const HEADER = 'imei1,imei2,serial,model,factory_secret,sale_status';

interface Phone {
  imei1: string;
  imei2: string;
  serial: string;
  model: string;
  secret: string;
  status: string;
}

function phone(over: Partial<Phone> = {}): Phone {
  return { imei1: testImei(), imei2: '', serial: `SN-${randomBytes(4).toString('hex')}`, model: 'Lien One', secret: randomBytes(32).toString('hex'), status: '', ...over };
}

function csv(rows: Phone[], header = HEADER): string {
  return [header, ...rows.map((p) => [p.imei1, p.imei2, p.serial, p.model, p.secret, p.status].join(','))].join('\n') + '\n';
}

/** An IMEI whose check digit is off by one. */
function badCheckDigit(imei: string): string {
  return imei.slice(0, 14) + ((Number(imei[14]) + 1) % 10);
}

describe('manifest import', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openTestDb();
  });
  afterAll(() => d.close());
  const svc = () => servicesOver(d, new ManualClock('2026-05-01T00:00:00Z'), TEST_KEY);

  const count = async () => Number((await d.db.selectFrom('devices').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('registers good rows with their factory secrets sealed to the serial', async () => {
    const rows = [phone({ imei2: testImei() }), phone({ status: 'retail' }), phone({ status: 'UNSOLD', model: '"Lien, Pro"' })];
    const result = await importManifest(await svc(), OPERATOR, csv(rows), { now: new Date('2026-05-01T00:00:00Z') });
    expect(result).toEqual({ inserted: 3, skipped: 0, errors: [], duplicates: [] });
    const first = (await findByImei(d.db, rows[0]!.imei2))!;
    expect(first.imei1).toBe(rows[0]!.imei1);
    expect(first.sale_status).toBe('unsold');
    expect(first.id).toMatch(/^dev_[0-9a-z]{26}$/);
    expect(first.created_at.toISOString()).toBe('2026-05-01T00:00:00.000Z');
    expect(open(TEST_KEY, first.factory_secret_enc, aad.factorySecret(rows[0]!.serial)).toString('hex')).toBe(rows[0]!.secret);
    expect(() => open(TEST_KEY, first.factory_secret_enc, aad.factorySecret(rows[1]!.serial))).toThrow();
    expect((await findByImei(d.db, rows[1]!.imei1))!.sale_status).toBe('retail');
    expect((await findByImei(d.db, rows[2]!.imei1))!.model).toBe('Lien, Pro');
  });

  it('reports every bad row with its line and reason, and imports nothing', async () => {
    const before = await count();
    const good = phone();
    const rows = [
      good,
      phone({ imei1: badCheckDigit(testImei()) }), // line 3
      phone({ secret: 'abcd' }), // line 4
      phone({ status: 'financed' }), // line 5
      phone({ imei1: good.imei1 }), // line 6: repeats line 2
      phone({ imei1: testImei().replace(/^(\d{2})(\d{6})(\d{6})(\d)$/, '$1-$2-$3-$4') }), // line 7: printed with dashes, valid
    ];
    const result = await importManifest(await svc(), OPERATOR, csv(rows));
    expect(result.inserted).toBe(0);
    expect(result.errors.map((e) => e.line)).toEqual([3, 4, 5, 6]);
    expect(result.errors[0]!.reason).toMatch(/^imei1: IMEI \d{15} fails its check digit/);
    expect(result.errors[1]!.reason).toMatch(/factory_secret must be 64 hex characters/);
    expect(result.errors[2]!.reason).toMatch(/sale_status must be unsold or retail, not "financed"/);
    expect(result.errors[3]!.reason).toBe(`IMEI ${good.imei1} already appears on line 2`);
    expect(await count()).toBe(before);
  });

  it('skips and reports devices already in the registry, matching IMEIs in either slot', async () => {
    const [a, b, c] = [phone({ imei2: testImei() }), phone({ imei2: testImei() }), phone()];
    await importManifest(await svc(), OPERATOR, csv([a, b, c]));
    const fresh = phone();
    const rows = [
      fresh,
      a, // line 3: the same device again
      phone({ imei1: b.imei2 }), // line 4: b's second IMEI as someone's first
      phone({ serial: c.serial }), // line 5: c's serial
    ];
    const result = await importManifest(await svc(), OPERATOR, csv(rows));
    expect(result.inserted).toBe(1);
    expect(result.skipped).toBe(3);
    expect(result.errors).toEqual([]);
    expect(result.duplicates.map((x) => x.line)).toEqual([3, 4, 5]);
    expect(result.duplicates[1]!.reason).toMatch(new RegExp(`IMEI ${b.imei2} is already registered \\(device dev_`));
    expect(result.duplicates[2]!.reason).toMatch(new RegExp(`serial ${c.serial} is already registered`));
    expect(await findByImei(d.db, fresh.imei1)).toBeDefined();
  });

  it('reports progress per batch and reads a stream split anywhere', async () => {
    const rows = Array.from({ length: 7 }, () => phone());
    const text = csv(rows);
    // Chunks that cut through lines and fields.
    const chunks = text.match(/[\s\S]{1,37}/g)!;
    const progress: [number, number | undefined][] = [];
    const result = await importManifest(await svc(), OPERATOR, Readable.from(chunks), { batchSize: 3, onProgress: (done, total) => progress.push([done, total]) });
    expect(result).toMatchObject({ inserted: 7, skipped: 0, errors: [] });
    expect(progress).toEqual([
      [3, 7],
      [6, 7],
      [7, 7],
    ]);
  });

  it('checks the header: unknown or missing columns are reported on line 1', async () => {
    const r1 = await importManifest(await svc(), OPERATOR, csv([phone()], 'imei1,imei_2,serial,model,factory_secret,sale_status'));
    expect(r1.errors).toEqual([{ line: 1, reason: expect.stringMatching(/unknown column "imei_2"/) }]);
    const r2 = await importManifest(await svc(), OPERATOR, 'imei1,serial\n');
    expect(r2.errors[0]!.reason).toMatch(/missing columns model, factory_secret/);
    const r3 = await importManifest(await svc(), OPERATOR, '');
    expect(r3.errors).toEqual([{ line: 1, reason: expect.stringMatching(/empty/) }]);
  });

  it('accepts columns in any order, a BOM, CRLF line ends and blank lines; reports broken CSV', async () => {
    const p = phone();
    const text = `\uFEFFserial,model,factory_secret,imei1\r\n\r\n${p.serial},M,${p.secret},${p.imei1}\r\n`;
    expect(await importManifest(await svc(), OPERATOR, text)).toMatchObject({ inserted: 1, errors: [] });
    const broken = `${HEADER}\n${testImei()},,"SN-unclosed,M,${'a'.repeat(64)},\n`;
    const r = await importManifest(await svc(), OPERATOR, broken);
    expect(r.inserted).toBe(0);
    expect(r.errors[0]!.reason).toMatch(/not valid CSV/);
  });

  it('inserts more than one statement of rows in one call, reporting duplicates by index', async () => {
    const now = new Date();
    const rows = Array.from({ length: 2100 }, (_, i) => ({
      id: newId('dev'),
      imei1: testImei(),
      imei2: null,
      serial: `BULK-${i}-${randomBytes(3).toString('hex')}`,
      model: 'Bulk',
      factory_secret_enc: Buffer.from([i % 256]),
      created_at: now,
    }));
    const before = await count();
    const first = await d.db.transaction().execute((tx) => insertManifestRows(tx, rows));
    expect(first).toEqual({ inserted: 2100, duplicates: [] });
    const again = await d.db.transaction().execute((tx) => insertManifestRows(tx, [rows[5]!, { ...rows[0]!, id: newId('dev'), imei1: testImei(), serial: `NEW-${randomBytes(3).toString('hex')}` }, rows[2099]!]));
    expect(again.inserted).toBe(1);
    expect(again.duplicates.map((x) => x.index)).toEqual([0, 2]);
    expect(await count()).toBe(before + 2101);
  });
});
