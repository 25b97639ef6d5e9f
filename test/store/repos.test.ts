import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/connection.ts';
import { newId, ulid } from '../../src/store/ids.ts';
import { installmentsByContract } from '../../src/store/repos/contracts.ts';
import { insertPayment } from '../../src/store/repos/payments.ts';
import type { Lender, NewPayment } from '../../src/store/schema.ts';
import { listContracts } from '../../src/services/views/api.ts';
import { insertContract, openTestDb, seedContract, seedDevice, seedLender, testImei } from './helpers.ts';

describe('ids', () => {
  it('are prefixed, 26 characters of Crockford base32, unique, and sort by creation time', () => {
    const ids = Array.from({ length: 1000 }, () => newId('dev'));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^dev_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(ulid(1, new Uint8Array(10)) < ulid(2, new Uint8Array(10).fill(255))).toBe(true);
    // 2026-01-01T00:00:00Z = 1767225600000 ms = 01KDVDNA00 in Crockford base32 (computed independently); zero randomness.
    expect(ulid(Date.UTC(2026, 0, 1), new Uint8Array(10))).toBe('01kdvdna00' + '0'.repeat(16));
    expect(ulid(0, new Uint8Array(10).fill(255))).toBe('0000000000' + 'z'.repeat(16));
    expect(() => newId('Bad-Prefix')).toThrow();
  });
});

describe('repositories', () => {
  let d: Database;
  let lender: Lender;
  beforeAll(async () => {
    d = await openTestDb();
    lender = await seedLender(d.db);
  });
  afterAll(() => d.close());

  describe('lenders', () => {
    it('reads jsonb columns back parsed', async () => {
      const got = await d.db.selectFrom('lenders').selectAll().where('id', '=', lender.id).executeTakeFirstOrThrow();
      expect(got).toEqual(lender);
      expect(got.allocation_order).toEqual(['penalty', 'fee', 'interest', 'principal']);
      expect(got.compliance_profile).toEqual({ id: 'retail-short-cycle' });
    });
  });

  describe('devices', () => {
    it('refuses a financed device without a lender, and one IMEI in both slots', async () => {
      await expect(seedDevice(d.db, { sale_status: 'financed', lender_id: null })).rejects.toThrow();
      const imei = testImei();
      await expect(seedDevice(d.db, { imei1: imei, imei2: imei })).rejects.toThrow();
    });
  });

  describe('contracts', () => {
    it('stores a contract with its installments; installmentsByContract reads them back in order', async () => {
      const c = await seedContract(d.db, lender, { consent_at: new Date('2026-01-05T08:59:00Z') } as never);
      const got = (await installmentsByContract(d.db, [c.id])).get(c.id)!;
      expect(got.map((i) => [i.n, i.due_date, i.principal, i.paid_principal])).toEqual([
        [1, '2026-02-05', 100_000, 0],
        [2, '2026-03-05', 100_000, 0],
        [3, '2026-04-05', 100_000, 0],
      ]);
      const row = await d.db.selectFrom('contracts').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ stage: 'current', borrower_language: 'en', amount_overdue: 0, policy_version: 0, financed: 300_000, oldest_unpaid_due_date: null });
      expect(row.terms).toEqual({ frequency: 'monthly', installments: 3 });
      expect((await installmentsByContract(d.db, ['ctr_missing'])).size).toBe(0);
    });

    it('a device carries at most one active contract, and a failed create leaves nothing behind', async () => {
      const c = await seedContract(d.db, lender);
      const stored = await d.db.selectFrom('contracts').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
      const again = insertContract(d.db, { ...stored, id: newId('ctr'), lock_reference: `LR-${randomBytes(6).toString('hex')}` } as never, [{ n: 1, due_date: '2026-02-01', principal: 1 }]);
      await expect(again).rejects.toThrow();
      // Installments that cannot be stored (n repeated): the contract must not be left without them.
      const device = await seedDevice(d.db, { sale_status: 'financed', lender_id: lender.id });
      const id = newId('ctr');
      const broken = insertContract(d.db, { ...stored, id, device_id: device.id, lock_reference: `LR-${randomBytes(6).toString('hex')}` } as never, [
        { n: 1, due_date: '2026-02-01', principal: 1 },
        { n: 1, due_date: '2026-03-01', principal: 1 },
      ]);
      await expect(broken).rejects.toThrow();
      expect(await d.db.selectFrom('contracts').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
      const orphans = await d.db.selectFrom('installments').leftJoin('contracts', 'contracts.id', 'installments.contract_id').where('contracts.id', 'is', null).selectAll().execute();
      expect(orphans).toEqual([]);
    });

    it('cursor pagination visits every contract of the lender exactly once, newest first', async () => {
      const mine = await seedLender(d.db, 'Paginated');
      const other = await seedLender(d.db, 'Other');
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) ids.push((await seedContract(d.db, mine, i % 4 === 0 ? ({ status: 'written_off' } as never) : {})).id);
      await seedContract(d.db, other);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await listContracts(d.db, mine.id, { limit: 5, cursor: cursor ?? undefined });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
        // A contract created mid-walk is newer than the cursor: it does not disturb the walk.
        if (pages === 2) await seedContract(d.db, mine);
      } while (cursor);
      expect(pages).toBe(5);
      expect(seen).toEqual([...ids].sort().reverse());
      const active: string[] = [];
      cursor = null;
      do {
        const page = await listContracts(d.db, mine.id, { status: 'written_off', limit: 2, cursor: cursor ?? undefined });
        active.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(active).toEqual(ids.filter((_, i) => i % 4 === 0).sort().reverse());
    });

    it('refuses a forged cursor and an impossible page size', async () => {
      await expect(listContracts(d.db, lender.id, { cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(listContracts(d.db, lender.id, { cursor: Buffer.from('[1]').toString('base64url') })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(listContracts(d.db, lender.id, { limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    });
  });

  describe('payments', () => {
    const paymentsOf = (contractId: string) => d.db.selectFrom('payments').selectAll().where('contract_id', '=', contractId).orderBy('received_at').orderBy('id').execute();
    const payment = (contractId: string, ref: string, over: Partial<NewPayment> = {}): NewPayment => ({
      id: newId('pay'),
      lender_id: lender.id,
      contract_id: contractId,
      external_ref: ref,
      channel: 'mpesa',
      amount: 50_000,
      currency: 'KES',
      received_at: new Date('2026-02-04T10:00:00Z'),
      posted_at: new Date('2026-02-04T10:05:00Z'),
      posted_by: 'api_key:key_1',
      ...over,
    });

    it('a duplicate reference posts nothing the second time and says when it was first posted', async () => {
      const c = await seedContract(d.db, lender);
      const first = await insertPayment(d.db, payment(c.id, 'QK7H2J9'));
      expect(first.amount).toBe(50_000);
      // The way the service posts: payment and its effects in one transaction.
      const again = d.db.transaction().execute(async (tx) => {
        await tx.updateTable('installments').set({ paid_principal: 50_000 }).where('contract_id', '=', c.id).where('n', '=', 1).execute();
        await insertPayment(tx, payment(c.id, 'QK7H2J9', { amount: 50_000 }));
      });
      await expect(again).rejects.toMatchObject({
        code: 'duplicate_payment_reference',
        message: 'Payment reference QK7H2J9 was already posted on 2026-02-04; nothing was posted again.',
        details: { paymentId: first.id, contractId: c.id },
      });
      expect(await paymentsOf(c.id)).toEqual([first]);
      expect((await installmentsByContract(d.db, [c.id])).get(c.id)![0]!.paid_principal).toBe(0);
    });

    it('the duplicate check does not abort the transaction it runs in', async () => {
      const c = await seedContract(d.db, lender);
      await insertPayment(d.db, payment(c.id, 'REF-1'));
      const out = await d.db.transaction().execute(async (tx) => {
        const err = await insertPayment(tx, payment(c.id, 'REF-1')).catch((e: Error) => e);
        await insertPayment(tx, payment(c.id, 'REF-2'));
        return err;
      });
      expect(out).toMatchObject({ code: 'duplicate_payment_reference' });
      expect((await paymentsOf(c.id)).map((p) => p.external_ref)).toEqual(['REF-1', 'REF-2']);
    });

    it('the same reference is fine at another lender', async () => {
      const other = await seedLender(d.db, 'Another lender');
      const [c1, c2] = [await seedContract(d.db, lender), await seedContract(d.db, other)];
      await insertPayment(d.db, payment(c1.id, 'SHARED-9'));
      await insertPayment(d.db, payment(c2.id, 'SHARED-9', { lender_id: other.id }));
      expect(await paymentsOf(c2.id)).toHaveLength(1);
    });
  });
});
