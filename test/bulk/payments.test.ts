import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';
import { PAYMENT_HEADER, counts, csv, importCsv } from './fixtures.ts';

const p = new TestPlatform('2026-01-01T06:00:00Z');
beforeAll(() => p.start(), 120_000);
afterAll(() => p.stop());

/** Two contracts on identical terms: one gets payments through the API, its twin through an import. */
async function twins(firstDueDate: string) {
  const [a, b] = await p.register(2);
  const schedule = { principal: 30_000_00, annualRatePct: 12, termCount: 3, frequency: 'monthly', method: 'declining', firstDueDate, fee: 10_00 };
  const sa = await p.sell(a!, { borrowerRef: 'same', schedule });
  const sb = await p.sell(b!, { borrowerRef: 'same', schedule });
  return [sa, sb] as const;
}

async function snapshot(contractId: string) {
  const db = p.lien.services.db;
  const { id: _i, device_id: _d, lock_reference: _l, ...contract } = await db.selectFrom('contracts').selectAll().where('id', '=', contractId).executeTakeFirstOrThrow();
  const installments = (await db.selectFrom('installments').selectAll().where('contract_id', '=', contractId).orderBy('n').execute()).map(({ contract_id: _c, ...i }) => i);
  const payments = (await db.selectFrom('payments').selectAll().where('contract_id', '=', contractId).orderBy('received_at').execute()).map(
    ({ id: _i2, contract_id: _c, ...pay }) => pay,
  );
  const ids = (await db.selectFrom('payments').select('id').where('contract_id', '=', contractId).execute()).map((x) => x.id);
  const audit = ids.length
    ? (await db.selectFrom('audit_log').select(['action', 'actor', 'reason', 'data', 'at']).where('subject_id', 'in', ids).orderBy('seq').execute()).map((a) => ({
        ...a,
        data: { ...(a.data as object), contractId: undefined },
      }))
    : [];
  return { contract, installments, payments, audit };
}

describe('payments import', () => {
  it('posts exactly what postPayment posts: allocation, audit, stage and policy', async () => {
    // Overdue since 15 Dec: both contracts start restricted or worse on the retail profile.
    p.clock.set('2026-01-01T06:00:00Z');
    const [a, b] = await twins('2025-11-15');
    const pays = [
      { ref: 'R1', amount: 5_000_00, at: '2025-12-20T10:00:00Z', channel: 'mpesa' },
      { ref: 'R2', amount: 12_345_67, at: '2025-12-31T10:00:00Z', channel: 'bank' },
    ];
    for (const x of pays) {
      const r = await p.api('POST', '/v1/payments', { contractId: a.contractId, externalRef: `A-${x.ref}`, channel: x.channel, amount: x.amount, currency: 'KES', receivedAt: x.at });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const file = csv(PAYMENT_HEADER, [
      `,${b.lockReference},A-R1-twin,mpesa,5000.00,KES,2025-12-20T13:00:00+03:00`,
      `${b.contractId},,A-R2-twin,bank,"12,345.67",KES,2025-12-31T10:00:00Z`,
    ]);
    const r = await importCsv(p, 'payments', file);
    expect(r.state, JSON.stringify(r)).toBe('succeeded');
    expect(r.written).toBe(2);
    const want = await snapshot(a.contractId);
    const got = await snapshot(b.contractId);
    expect(want.audit).toHaveLength(2);
    // External references differ by design; everything else must be identical.
    // One evaluation per contract after the whole file: two payments make one new policy, not two.
    expect(got.contract.policy_version).toBe(want.contract.policy_version - 1);
    const strip = (s: typeof want) => ({ ...s, contract: { ...s.contract, policy_version: 0 }, payments: s.payments.map(({ external_ref: _e, ...x }) => x), audit: s.audit.map((x) => ({ ...x, reason: x.reason.replace(/-twin/, ''), data: { ...x.data, externalRef: undefined } })) });
    expect(strip(got)).toEqual(strip(want));
    expect(want.installments.some((i) => i.paid_principal > 0)).toBe(true);
  });

  it('one payment per contract: identical to postPayment down to the policy version', async () => {
    p.clock.set('2026-01-01T06:00:00Z');
    const [a, b] = await twins('2025-12-10');
    const r1 = await p.api('POST', '/v1/payments', { contractId: a.contractId, externalRef: 'ONE', channel: 'mpesa', amount: 7_777_77, currency: 'KES', receivedAt: '2025-12-30T08:00:00Z' });
    expect(r1.status).toBe(201);
    const r = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [`${b.contractId},,ONE-twin,mpesa,7777.77,KES,2025-12-30T08:00:00Z`]));
    expect(r.state).toBe('succeeded');
    const want = await snapshot(a.contractId);
    const got = await snapshot(b.contractId);
    const strip = (s: typeof want) => ({ ...s, payments: s.payments.map(({ external_ref: _e, ...x }) => x), audit: s.audit.map((x) => ({ ...x, reason: x.reason.replace(/-twin/, ''), data: { ...x.data, externalRef: undefined } })) });
    expect(strip(got)).toEqual(strip(want));
    const policies = async (id: string) => {
      const c = await p.lien.services.db.selectFrom('contracts').select('device_id').where('id', '=', id).executeTakeFirstOrThrow();
      return (await p.lien.services.db.selectFrom('policies').select(['version', 'stage', 'body']).where('device_id', '=', c.device_id).orderBy('version').execute()).map((x) => {
        const { deviceId: _d, lockReference: _l, ...rest } = (x.body as { policy: Record<string, unknown> }).policy;
        return { version: x.version, stage: x.stage, rest };
      });
    };
    expect(await policies(b.contractId)).toEqual(await policies(a.contractId));
  });

  it('a contract under dispute gets what postPayment gives it (no offline lock in its policy)', async () => {
    p.clock.set('2026-01-01T06:00:00Z');
    const [a, b] = await twins('2025-12-10');
    for (const c of [a, b]) expect((await p.api('POST', `/v1/contracts/${c.contractId}/disputes`, { reason: 'borrower disputes a fee' })).status).toBe(201);
    expect((await p.api('POST', '/v1/payments', { contractId: a.contractId, externalRef: 'DSP', channel: 'mpesa', amount: 1_000_00, currency: 'KES', receivedAt: '2025-12-30T08:00:00Z' })).status).toBe(201);
    const r = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [`${b.contractId},,DSP-twin,mpesa,1000.00,KES,2025-12-30T08:00:00Z`]));
    expect(r.state).toBe('succeeded');
    const latest = async (id: string) => {
      const c = await p.lien.services.db.selectFrom('contracts').select(['device_id', 'policy_version', 'stage', 'amount_overdue']).where('id', '=', id).executeTakeFirstOrThrow();
      const pol = await p.lien.services.db.selectFrom('policies').select('body').where('device_id', '=', c.device_id).orderBy('version', 'desc').executeTakeFirstOrThrow();
      const { deviceId: _d, lockReference: _l, ...rest } = (pol.body as { policy: Record<string, unknown> }).policy;
      return { version: c.policy_version, stage: c.stage, overdue: c.amount_overdue, policy: rest };
    };
    const want = await latest(a.contractId);
    expect(want.policy.offlineLockAt).toBeNull();
    expect(await latest(b.contractId)).toEqual(want);
  });

  it('rejects duplicate references (in the file and already posted), unknown contracts and currency mismatches, writing nothing', async () => {
    const [a] = await twins('2026-03-01');
    const ok = await p.api('POST', '/v1/payments', { contractId: a.contractId, externalRef: 'DUP-OLD', channel: 'mpesa', amount: 100, currency: 'KES' });
    expect(ok.status).toBe(201);
    const before = await counts(p);
    const r = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [
      `${a.contractId},,N-1,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 2 good
      `${a.contractId},,N-1,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 3 dup in file
      `${a.contractId},,DUP-OLD,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 4 already posted
      `ctr_nope,,N-2,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 5 unknown contract
      `,ZZZZZZZZ,N-3,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 6 unknown lock reference
      `${a.contractId},,N-4,mpesa,10.00,UGX,2026-01-01T05:00:00Z`, // 7 currency mismatch
      `${a.contractId},,N-5,mpesa,-10.00,KES,2026-01-01T05:00:00Z`, // 8 negative
      `${a.contractId},,N-6,mpesa,0.00,KES,2026-01-01T05:00:00Z`, // 9 zero
      `${a.contractId},,N-7,mpesa,10.00,KES,2026-01-01 05:00`, // 10 no zone
      `,,N-8,mpesa,10.00,KES,2026-01-01T05:00:00Z`, // 11 no contract
      `${a.contractId},,N-9,mpesa,10.00,XXQ,2026-01-01T05:00:00Z`, // 12 bad currency
    ]));
    expect(r.state).toBe('rejected');
    const byLine = Object.fromEntries(r.errors.map((e) => [e.line, e.reason]));
    expect(Object.keys(byLine).map(Number)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(byLine[3]).toMatch(/N-1 already appears on line 2/);
    expect(byLine[4]).toMatch(/DUP-OLD was already posted on 2026-01-01/);
    expect(byLine[5]).toMatch(/unknown contract ctr_nope/);
    expect(byLine[6]).toMatch(/unknown lock reference ZZZZZZZZ/);
    expect(byLine[7]).toMatch(/currency mismatch: the contract is in KES, the payment in UGX/);
    expect(byLine[8]).toMatch(/greater than zero/);
    expect(byLine[9]).toMatch(/greater than zero/);
    expect(byLine[10]).toMatch(/received_at must be a date and time with its zone/);
    expect(byLine[11]).toMatch(/contract_id or lock_reference is needed/);
    expect(byLine[12]).toMatch(/not an ISO 4217 currency/);
    expect(await counts(p)).toEqual(before);
  });

  it("never sees another lender's contracts or imports", async () => {
    const [a] = await twins('2026-03-01');
    const other = await p.operator('POST', '/v1/operator/lenders', {
      name: 'Other Credit', supportPhone: '+254700000999', howToPay: 'Cash', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle',
    });
    expect(other.status).toBe(201);
    const before = await counts(p);
    const r = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [`${a.contractId},,X-1,mpesa,10.00,KES,2026-01-01T05:00:00Z`, `,${a.lockReference},X-2,mpesa,10.00,KES,2026-01-01T05:00:00Z`]), { key: other.body.apiKey });
    expect(r.errors).toEqual([
      { line: 2, reason: `unknown contract ${a.contractId}` },
      { line: 3, reason: `unknown lock reference ${a.lockReference}` },
    ]);
    expect(await counts(p)).toEqual(before);
    // The job itself is the first lender's secret too.
    const mine = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [`${a.contractId},,X-3,mpesa,10.00,KES,2026-01-01T05:00:00Z`]), { dryRun: true });
    const peek = await p.api('GET', `/v1/imports/${mine.id}`, undefined, other.body.apiKey);
    expect(peek.status).toBe(404);
    expect(peek.body.code).toBe('not_found');
  });

  it('a payment that clears the arrears unlocks through the import', async () => {
    p.clock.set('2026-01-01T06:00:00Z');
    const [a] = await twins('2025-11-15');
    const db = p.lien.services.db;
    const before = await db.selectFrom('contracts').select(['stage', 'amount_overdue', 'policy_version']).where('id', '=', a.contractId).executeTakeFirstOrThrow();
    expect(before.amount_overdue).toBeGreaterThan(0);
    const r = await importCsv(p, 'payments', csv(PAYMENT_HEADER, [`${a.contractId},,CLEAR-1,mpesa,${(before.amount_overdue / 100).toFixed(2)},KES,2026-01-01T05:00:00Z`]));
    expect(r.state).toBe('succeeded');
    expect(r.policiesIssued).toBe(1);
    const after = await db.selectFrom('contracts').select(['stage', 'amount_overdue', 'policy_version']).where('id', '=', a.contractId).executeTakeFirstOrThrow();
    expect(after.amount_overdue).toBe(0);
    expect(after.stage).toBe('current');
    expect(after.policy_version).toBe(before.policy_version + 1);
  });
});
