import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imeiCheckDigit } from '../../src/domain/imei.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { SALE_HEADER, counts, csv, importCsv, saleLine } from './fixtures.ts';

const p = new TestPlatform('2026-01-01T06:00:00Z');
beforeAll(() => p.start(), 120_000);
afterAll(() => p.stop());

function unregisteredImei(): string {
  const body = `49${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

describe('sales import: bad rows', () => {
  let good: TestDevice[];
  let retail: TestDevice;
  let sold: TestDevice;
  let file: string;

  beforeAll(async () => {
    good = await p.register(8);
    [retail] = (await p.register(1, 'retail')) as [TestDevice];
    [sold] = (await p.register(1)) as [TestDevice];
    await p.sell(sold);
    const badImei = good[1]!.imei.slice(0, 14) + String((Number(good[1]!.imei[14]) + 1) % 10);
    file = csv(SALE_HEADER, [
      saleLine(good[0]!), // line 2: good
      saleLine(badImei), // 3
      saleLine(unregisteredImei()), // 4
      saleLine(retail), // 5
      saleLine(sold), // 6
      saleLine(good[2]!, { first_due_date: '2026-02-30' }), // 7
      saleLine(good[3]!, { principal: '-100.00' }), // 8
      saleLine(good[4]!, { principal: '0' }), // 9
      saleLine(good[5]!, { consent_at: '' }), // 10
      saleLine(good[0]!), // 11: same device again
      saleLine(good[6]!) + ',extra', // 12
      saleLine(good[7]!, { frequency: 'daily' }), // 13
      saleLine(good[7]!, { principal: '12.345' }), // 14
    ]);
  });

  it('a dry run reports every bad row with its line and writes nothing', async () => {
    const before = await counts(p);
    const r = await importCsv(p, 'sales', file, { dryRun: true });
    expect(r.state).toBe('rejected');
    expect(r.written).toBe(0);
    expect(r.total).toBe(13);
    const byLine = Object.fromEntries(r.errors.map((e) => [e.line, e.reason]));
    expect(Object.keys(byLine).map(Number)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(byLine[3]).toMatch(/imei.*check digit/i);
    expect(byLine[4]).toMatch(/unknown device.*not in the factory registry/);
    expect(byLine[5]).toMatch(/retail unit/);
    expect(byLine[6]).toMatch(/already carries a lien/);
    expect(byLine[7]).toMatch(/first_due_date/);
    expect(byLine[8]).toMatch(/principal.*negative/);
    expect(byLine[9]).toMatch(/principal.*greater than zero/i);
    expect(byLine[10]).toMatch(/missing consent/);
    expect(byLine[11]).toMatch(/already sold on line 2/);
    expect(byLine[12]).toMatch(/16 fields; the header has 15/);
    expect(byLine[13]).toMatch(/frequency must be one of weekly, biweekly, monthly; got "daily"/);
    expect(byLine[14]).toMatch(/principal.*at most 2 decimal places/);
    expect(await counts(p)).toEqual(before);
  });

  it('a real run with one bad row among good ones writes nothing either', async () => {
    const before = await counts(p);
    const r = await importCsv(p, 'sales', csv(SALE_HEADER, [saleLine(good[2]!), saleLine(good[3]!), saleLine(retail), saleLine(good[4]!)]));
    expect(r.state).toBe('rejected');
    expect(r.errors).toEqual([{ line: 4, reason: expect.stringMatching(/retail unit/) }]);
    expect(r.message).toMatch(/nothing was imported/);
    expect(await counts(p)).toEqual(before);
    const d = await p.lien.services.db.selectFrom('devices').select('sale_status').where('imei1', '=', good[2]!.imei).executeTakeFirstOrThrow();
    expect(d.sale_status).toBe('unsold');
  });

  it('a clean dry run succeeds and still writes nothing', async () => {
    const before = await counts(p);
    const r = await importCsv(p, 'sales', csv(SALE_HEADER, [saleLine(good[2]!), saleLine(good[3]!)]), { dryRun: true });
    expect(r.state).toBe('succeeded');
    expect(r.written).toBe(0);
    expect(r.errors).toEqual([]);
    expect(await counts(p)).toEqual(before);
  });
});

/** What sellOnCredit and the import must agree on, with per-contract identities taken out. */
async function snapshot(contractId: string) {
  const db = p.lien.services.db;
  const c = await db.selectFrom('contracts').selectAll().where('id', '=', contractId).executeTakeFirstOrThrow();
  const installments = await db.selectFrom('installments').selectAll().where('contract_id', '=', contractId).orderBy('n').execute();
  const device = await db.selectFrom('devices').select(['sale_status', 'lender_id']).where('id', '=', c.device_id).executeTakeFirstOrThrow();
  const policies = await db.selectFrom('policies').selectAll().where('device_id', '=', c.device_id).orderBy('version').execute();
  const audit = await db.selectFrom('audit_log').select(['at', 'actor', 'action', 'subject_type', 'lender_id', 'reason', 'data'])
    .where((eb) => eb.or([eb('subject_id', '=', contractId), eb('subject_id', '=', c.device_id)])).orderBy('seq').execute();
  const { id: _i, device_id: _d, lock_reference: _l, borrower_ref: _b, ...contract } = c;
  return {
    contract,
    installments: installments.map(({ contract_id: _c, ...i }) => i),
    device,
    policies: policies.map((pol) => {
      const body = pol.body as { policy: Record<string, unknown>; kid: string };
      const { deviceId: _dd, lockReference: _ll, ...rest } = body.policy;
      return { version: pol.version, stage: pol.stage, issued_at: pol.issued_at, kid: body.kid, policy: rest };
    }),
    audit: audit.map((a) => ({ ...a, data: { ...(a.data as object), deviceId: undefined, contractId: undefined } })),
  };
}

describe('sales import: all good', () => {
  it('writes exactly what sellOnCredit writes, for current and already-overdue contracts', async () => {
    const cases = [
      {},
      { first_due_date: '2025-11-20', method: 'flat', annual_rate_pct: '0', down_payment: '', fee: '' },
      { frequency: 'weekly', term_count: '12', first_due_date: '2025-12-28', borrower_language: '' },
    ];
    const devices = await p.register(cases.length * 2);
    const bySale: string[] = [];
    for (const [i, over] of cases.entries()) {
      const d = devices[2 * i]!;
      const money = (v: string | undefined) => Math.round(Number(v) * 100);
      const o = { ...Object.fromEntries(SALE_HEADER.map((c, k) => [c, saleLine(d, over).split(',')[k]!])) } as Record<string, string>;
      const sale = await p.sell(d, {
        borrowerRef: `B-${d.serial}`,
        ...(o.borrower_language ? { borrowerLanguage: o.borrower_language } : {}),
        schedule: {
          principal: money(o.principal),
          annualRatePct: Number(o.annual_rate_pct),
          termCount: Number(o.term_count),
          frequency: o.frequency,
          method: o.method,
          firstDueDate: o.first_due_date,
          ...(o.down_payment ? { downPayment: money(o.down_payment) } : {}),
          ...(o.fee ? { fee: money(o.fee) } : {}),
        },
        consent: { at: o.consent_at, channel: o.consent_channel, termsVersion: o.terms_version },
      });
      bySale.push(sale.contractId);
    }
    const before = await counts(p);
    const r = await importCsv(p, 'sales', csv(SALE_HEADER, cases.map((over, i) => saleLine(devices[2 * i + 1]!, over))));
    expect(r.state, JSON.stringify(r)).toBe('succeeded');
    expect(r.written).toBe(cases.length);
    const after = await counts(p);
    expect(after.contracts - before.contracts).toBe(cases.length);
    const db = p.lien.services.db;
    for (const [i] of cases.entries()) {
      const dev = await db.selectFrom('devices').select('id').where('imei1', '=', devices[2 * i + 1]!.imei).executeTakeFirstOrThrow();
      const imported = await db.selectFrom('contracts').select(['id', 'lock_reference']).where('device_id', '=', dev.id).executeTakeFirstOrThrow();
      expect(imported.lock_reference).toMatch(/^[0-9A-Z]{8}$/);
      const want = await snapshot(bySale[i]!);
      const got = await snapshot(imported.id);
      expect(want.policies.length).toBeGreaterThan(0);
      expect(want.audit.map((a) => a.action)).toContain('contract.created');
      expect(got).toEqual(want);
    }
    // The overdue ones really took the stage engine's per-contract path (a stage change).
    const stages = await db.selectFrom('contracts').select('stage').where('id', 'in', bySale).execute();
    expect(new Set(stages.map((s) => s.stage)).size).toBeGreaterThan(1);
  });

  it('keeps the audit chain intact', async () => {
    const { verifyAudit } = await import('../../src/store/repos/audit.ts');
    expect((await verifyAudit(p.lien.services.db)).ok).toBe(true);
  });
});
