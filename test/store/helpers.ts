import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { imeiCheckDigit } from '../../src/domain/imei.ts';
import { openDatabase, type Database } from '../../src/store/connection.ts';
import { newId } from '../../src/store/ids.ts';
import { migrate } from '../../src/store/migrations/index.ts';
import type { Contract, Device, Installment, Lender, NewContract, NewInstallment, NewLender } from '../../src/store/schema.ts';
import { aad, seal } from '../../src/store/secrets.ts';
import { auditKeyFor, useAuditKey } from '../../src/store/repos/audit.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../src/store/schema.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { startServices } from '../../src/services/bootstrap.ts';
import type { Actor, Services } from '../../src/services/context.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const MIGRATIONS_DIR = join(ROOT, 'src/store/migrations');

/**
 * A migrated in-memory PGlite starts in ~1.5 s from a dump of a migrated data directory versus
 * ~6 s through initdb. The dump is cached in the temp directory under a hash of the migration
 * sources and the PGlite version, so it is rebuilt exactly when the schema changes.
 */
let template: Promise<Blob> | null = null;

function templateFile(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  for (const f of readdirSync(MIGRATIONS_DIR).sort()) h.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  return join(tmpdir(), `lien-test-pglite-${h.digest('hex').slice(0, 16)}.tar`);
}

async function pgliteTemplate(): Promise<Blob> {
  const file = templateFile();
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const fresh = await openDatabase({ memory: true });
  try {
    await migrate(fresh.db, fresh.schema);
    const dump = await fresh.dump!();
    const bytes = Buffer.from(await dump.arrayBuffer());
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    // Templates of older schemas are dead weight (~40 MB each).
    for (const f of readdirSync(tmpdir())) {
      if (/^lien-test-pglite-[0-9a-f]{16}\.tar$/.test(f) && join(tmpdir(), f) !== file) rmSync(join(tmpdir(), f), { force: true });
    }
    return new Blob([bytes]);
  } finally {
    await fresh.close();
  }
}

/**
 * A migrated database for one test file: in-memory PGlite, or — when LIEN_TEST_DATABASE_URL is
 * set (CI runs the suite both ways) — a fresh PostgreSQL schema per call, dropped on close.
 */
export async function openTestDb(): Promise<Database> {
  const url = process.env.LIEN_TEST_DATABASE_URL;
  if (!url) return openPgliteTestDb();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({ databaseUrl: url, schema, poolSize: 4 });
  await migrate(db.db, db.schema);
  await useAuditKey(db, TEST_AUDIT_KEY);
  return {
    ...db,
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated in-memory PGlite, whatever the environment says. */
export async function openPgliteTestDb(): Promise<Database> {
  template ??= pgliteTemplate().catch((e) => {
    template = null;
    throw e;
  });
  const db = await openDatabase({ memory: true, pgliteTemplate: await template });
  await migrate(db.db, db.schema);
  await useAuditKey(db, TEST_AUDIT_KEY);
  return db;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

let imeiSeq = 0;

/** A fresh IMEI with a correct check digit, unique within the test process. */
export function testImei(): string {
  const body = `35${String(process.pid % 10000).padStart(4, '0')}${String(++imeiSeq).padStart(8, '0')}`;
  return body + imeiCheckDigit(body);
}

export const TEST_KEY = Buffer.alloc(32, 7);
/** The audit chain key of test databases (a server built on one sets its own, from its master key). */
export const TEST_AUDIT_KEY = auditKeyFor(TEST_KEY);

export async function seedLender(db: Kysely<DB>, name = 'Acme Credit'): Promise<Lender> {
  return insertLender(db, {
    id: newId('lnd'),
    name,
    support_phone: '+254700000000',
    support_url: 'https://acme.example/help',
    support_hours: null,
    how_to_pay: 'M-Pesa paybill 123456',
    currency: 'KES',
    time_zone: 'Africa/Nairobi',
    compliance_profile: { id: 'retail-short-cycle' },
    allocation_order: JSON.stringify(['penalty', 'fee', 'interest', 'principal']),
    created_at: new Date('2026-01-01T00:00:00Z'),
  });
}

export async function seedDevice(db: Kysely<DB>, patch: Partial<Device> = {}): Promise<Device> {
  const serial = patch.serial ?? `SN${randomBytes(5).toString('hex').toUpperCase()}`;
  return db
    .insertInto('devices')
    .values({
      id: newId('dev'),
      imei1: testImei(),
      imei2: null,
      serial,
      model: 'Lien One',
      factory_secret_enc: seal(TEST_KEY, randomBytes(32), aad.factorySecret(serial)),
      sale_status: 'unsold',
      created_at: new Date('2026-01-01T00:00:00Z'),
      ...patch,
    } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A lender row as given (tests that need one without the onboarding use case). */
function insertLender(db: Kysely<DB>, row: NewLender): Promise<Lender> {
  return db.insertInto('lenders').values(row).returningAll().executeTakeFirstOrThrow();
}

/** A contract and its installments, together or not at all, as rows (the use case is sellOnCredit). */
export async function insertContract(db: Kysely<DB>, contract: NewContract, installments: Omit<NewInstallment, 'contract_id'>[]): Promise<Contract & { installments: Installment[] }> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.insertInto('contracts').values(contract).returningAll().executeTakeFirstOrThrow();
    const rows = installments.length ? await tx.insertInto('installments').values(installments.map((i) => ({ ...i, contract_id: row.id }))).returningAll().execute() : [];
    return { ...row, installments: rows.sort((a, b) => a.n - b.n) };
  });
}

/** A financed device with a three-installment contract of 1,000.00 KES each. */
export async function seedContract(db: Kysely<DB>, lender: Lender, patch: Partial<Contract> = {}): Promise<Contract> {
  const device = await seedDevice(db, { sale_status: 'financed', lender_id: lender.id });
  const now = new Date('2026-01-05T09:00:00Z');
  const c = await insertContract(
    db,
    {
      id: newId('ctr'),
      lender_id: lender.id,
      device_id: device.id,
      borrower_ref: `B-${randomBytes(3).toString('hex')}`,
      borrower_phone: '+254711000000',
      currency: 'KES',
      financed: 300_000,
      terms: { frequency: 'monthly', installments: 3 },
      status: 'active',
      lock_reference: `LR-${randomBytes(6).toString('hex')}`,
      created_at: now,
      updated_at: now,
      ...patch,
    } as never,
    [1, 2, 3].map((n) => ({ n, due_date: `2026-0${n + 1}-05`, principal: 100_000 })),
  );
  return c;
}

/** The use cases' dependencies over a test database, on the given clock (a lender's actor: lenderActor). */
export async function servicesOver(database: Database, clock: Clock, masterKey: Buffer = TEST_KEY, opts: { webhookAllowHosts?: string[] } = {}): Promise<Services> {
  return startServices(database, { clock, dataDir: tmpdir(), masterKey: masterKey.toString('hex'), checkinIntervalSec: 21_600, publicUrl: 'http://127.0.0.1:8080', ...opts });
}

/** An API key of the lender, as the use cases see its caller. */
export function lenderActor(lenderId: string): Actor {
  return { kind: 'api_key', id: 'key_test', lenderId };
}
