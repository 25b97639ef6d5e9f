import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { getBulkJob, previewBulk, startBulk } from '../../src/services/bulk-actions.ts';
import { deviceCsv, neutraliseCell } from '../../src/services/views/device-export.ts';
import { listDevicePage, parseDeviceListQuery, type DeviceListQuery } from '../../src/services/views/device-list.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';

/** Four phones of one lender with different borrowers, stages and arrears, and one of another lender. */
describe('device list: search, filters, sorting, pages and export', () => {
  const p = new TestPlatform('2026-03-01T09:00:00Z');
  let ds: TestDevice[];
  let sales: { contractId: string; deviceId: string; lockReference: string }[];
  let other: { key: string; id: string; device: TestDevice; sale: { contractId: string; lockReference: string } };

  const db = () => p.lien.services.db;
  const list = (q: DeviceListQuery, lenderId = p.lenderId) => listDevicePage(db(), lenderId, p.clock.now(), q);
  const serials = async (q: DeviceListQuery) => (await list(q)).items.map((r) => r.serial);

  beforeAll(async () => {
    await p.start();
    ds = await p.register(5);
    sales = [];
    const borrowers = [
      ['ACME-001', '+254 711 000 001'],
      ['=HYPERLINK("http://evil")', '+254711000002'],
      ['BR-3', '0711000003'],
      ['@SUM(A1)', '+254711000004'],
    ] as const;
    for (const [i, [ref, phone]] of borrowers.entries()) sales.push(await p.sell(ds[i]!, { borrowerRef: ref, borrowerPhone: phone }));
    // Arrears as the sweep would leave them (today is 1 March in Nairobi).
    const set = (i: number, v: Record<string, unknown>) => db().updateTable('contracts').set(v).where('id', '=', sales[i]!.contractId).execute();
    await set(0, { stage: 'locked', stage_reason: 'dpd_locked', oldest_unpaid_due_date: '2025-11-15', amount_overdue: 40_000_00 }); // 106 days
    await set(1, { stage: 'notice', stage_reason: 'notice_issued', oldest_unpaid_due_date: '2026-01-15', amount_overdue: 10_000_00 }); // 45 days
    await set(2, { stage: 'reminder', stage_reason: 'held_open_dispute', oldest_unpaid_due_date: '2026-02-20', amount_overdue: 5_000_00 }); // 9 days
    await set(3, { stage: 'current', stage_reason: 'not_past_due', oldest_unpaid_due_date: '2026-03-15', amount_overdue: 0 });
    await p.api('POST', '/v1/payments', { contractId: sales[1]!.contractId, externalRef: 'MP-1', channel: 'mpesa', amount: 100, currency: 'KES' });

    const lender = await p.operator('POST', '/v1/operator/lenders', {
      name: 'Other Finance', supportPhone: '+254700000999', supportUrl: 'https://other.example', howToPay: 'cash', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle',
    });
    const device = ds[4]!;
    const r = await p.api('POST', '/v1/sales', {
      imei: device.imei, borrowerRef: 'ACME-001', borrowerPhone: '+254711000001',
      schedule: { principal: 1_000_00, annualRatePct: 0, termCount: 1, frequency: 'monthly', method: 'flat', firstDueDate: '2026-04-01' },
      consent: { at: p.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    }, lender.body.apiKey);
    other = { key: lender.body.apiKey, id: lender.body.id, device, sale: r.body };
  }, 60_000);
  afterAll(() => p.stop());

  it('finds a device by each identifier the caller may read out, and only the lender’s own', async () => {
    const [d0, d1, d2] = ds as [TestDevice, TestDevice, TestDevice];
    expect(await serials({ q: sales[0]!.lockReference })).toEqual([d0.serial]);
    // Read aloud: lower case, with a dash, O for 0 and I or L for 1.
    const spoken = sales[0]!.lockReference.toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l');
    expect(await serials({ q: `${spoken.slice(0, 4)}-${spoken.slice(4)}` })).toEqual([d0.serial]);
    expect(await serials({ q: d1.imei })).toEqual([d1.serial]);
    expect(await serials({ q: d1.imei.slice(-6) })).toEqual([d1.serial]);
    expect(await serials({ q: d2.serial })).toEqual([d2.serial]);
    expect(await serials({ q: d2.serial.toLowerCase().slice(0, -2) })).toEqual([d2.serial]);
    expect(await serials({ q: '0711 000 003' })).toEqual([d2.serial]);
    expect(await serials({ q: '+254711000001' })).toEqual([d0.serial]);
    expect(await serials({ q: 'acme-001' })).toEqual([d0.serial]);
    expect(await serials({ q: sales[2]!.contractId })).toEqual([d2.serial]);
    expect(await serials({ q: sales[2]!.deviceId })).toEqual([d2.serial]);
    // Another lender's lock reference, contract and IMEI find nothing here; its own borrower ref finds only its own.
    expect(await serials({ q: other.sale.lockReference })).toEqual([]);
    expect(await serials({ q: other.sale.contractId })).toEqual([]);
    expect(await serials({ q: other.device.imei })).toEqual([]);
    expect((await list({ q: 'ACME-001' }, other.id)).items.map((r) => r.serial)).toEqual([other.device.serial]);
    // Three digits are too few to mean an IMEI's tail.
    expect(await serials({ q: d1.imei.slice(-3) })).toEqual([]);
  });

  it('filters by stage, days-past-due bucket, held reason, payment channel and dealer', async () => {
    const [d0, d1, d2, d3] = ds as [TestDevice, TestDevice, TestDevice, TestDevice];
    expect(await serials({ stage: 'locked' })).toEqual([d0.serial]);
    expect(await serials({ dpd: '90+' })).toEqual([d0.serial]);
    expect(await serials({ dpd: '30-59' })).toEqual([d1.serial]);
    expect(await serials({ dpd: '1-29' })).toEqual([d2.serial]);
    expect(new Set(await serials({ dpd: '30+' }))).toEqual(new Set([d0.serial, d1.serial]));
    expect(await serials({ dpd: '0' })).toEqual([d3.serial]);
    expect(await serials({ held: 'any' })).toEqual([d2.serial]);
    expect(await serials({ held: 'held_open_dispute' })).toEqual([d2.serial]);
    expect(await serials({ held: 'held_stale_feed' })).toEqual([]);
    expect(await serials({ channel: 'mpesa' })).toEqual([d1.serial]);
    const dealer = (await list({ q: d3.serial })).items[0]!.soldBy!;
    expect(dealer).toMatch(/^api_key:/);
    expect((await serials({ dealer })).length).toBe(4);
    expect(await serials({ dealer: 'user:usr_nobody' })).toEqual([]);
    const row = (await list({ q: d0.serial })).items[0]!;
    expect(row).toMatchObject({ dpd: 106, stage: 'locked', amountOverdue: 40_000_00, heldReason: null });
  });

  it('sorts and pages with a cursor, in every order, without gaps or repeats', async () => {
    const [d0, d1, d2, d3] = ds as [TestDevice, TestDevice, TestDevice, TestDevice];
    expect(await serials({ sort: 'dpd' })).toEqual([d0.serial, d1.serial, d2.serial, d3.serial]);
    expect(await serials({ sort: 'dpd', dir: 'asc' })).toEqual([d3.serial, d2.serial, d1.serial, d0.serial]);
    expect(await serials({ sort: 'overdue' })).toEqual([d0.serial, d1.serial, d2.serial, d3.serial]);
    for (const sort of ['newest', 'dpd', 'overdue', 'last_seen', 'serial'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const all = await serials({ sort, dir });
        const paged: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await list({ sort, dir, limit: 1, cursor });
          paged.push(...page.items.map((r) => r.serial));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(paged, `${sort} ${dir}`).toEqual(all);
        expect(paged.length).toBe(4);
      }
    }
  });

  it('rejects filters it does not know with a clear message', () => {
    expect(() => parseDeviceListQuery({ stage: 'exploded' })).toThrow(/stage must be one of/);
    expect(() => parseDeviceListQuery({ dpd: '5-9' })).toThrow(/dpd must be one of/);
    expect(() => parseDeviceListQuery({ q: 'x'.repeat(65) })).toThrow(/at most 64/);
    expect(parseDeviceListQuery({ stage: 'locked', dpd: '90+', q: '  ab  ', limit: '20' })).toMatchObject({ stage: 'locked', dpd: '90+', q: 'ab', limit: 20 });
  });

  it('exports the filtered list as CSV with formula-looking cells neutralised', async () => {
    const chunks: Buffer[] = [];
    for await (const c of deviceCsv(db(), p.lenderId, p.clock.now(), { sort: 'dpd' })) chunks.push(Buffer.from(c));
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    const rows: string[][] = parse(text.slice(1));
    const header = rows[0]!;
    const col = (name: string) => header.indexOf(name);
    expect(rows.length).toBe(5);
    const byRef = new Map(rows.slice(1).map((r) => [r[col('Serial')], r]));
    expect(byRef.get(ds[1]!.serial)![col('Borrower reference')]).toBe(`'=HYPERLINK("http://evil")`);
    expect(byRef.get(ds[3]!.serial)![col('Borrower reference')]).toBe("'@SUM(A1)");
    expect(byRef.get(ds[0]!.serial)![col('Borrower phone')]).toBe("'+254 711 000 001");
    expect(byRef.get(ds[0]!.serial)![col('Stage')]).toBe('Locked');
    expect(byRef.get(ds[0]!.serial)![col('Overdue')]).toBe('40000.00');
    expect(byRef.get(ds[0]!.serial)![col('Sold by')]).toMatch(/^API key “/);
    // No cell of the file starts a formula.
    for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    // The filter applies to the export too.
    const locked: Buffer[] = [];
    for await (const c of deviceCsv(db(), p.lenderId, p.clock.now(), { stage: 'locked' })) locked.push(Buffer.from(c));
    expect(parse(Buffer.concat(locked).toString('utf8').slice(1)).length).toBe(2);
  });

  it('GET /v1/devices takes the same filters and sorts, documented, and refuses unknown values', async () => {
    const r = await p.api('GET', '/v1/devices?dpd=30%2B&sort=dpd&limit=1');
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: { serial: string }) => i.serial)).toEqual([ds[0]!.serial]);
    expect(r.body.items[0]).toMatchObject({ stage: 'locked', days_past_due: 106, amount_overdue: 40_000_00, lock_reference: sales[0]!.lockReference });
    const next = await p.api('GET', `/v1/devices?dpd=30%2B&sort=dpd&limit=1&cursor=${r.body.nextCursor}`);
    expect(next.body.items.map((i: { serial: string }) => i.serial)).toEqual([ds[1]!.serial]);
    expect((await p.api('GET', `/v1/devices?q=${sales[2]!.lockReference}`)).body.items.map((i: { id: string }) => i.id)).toEqual([sales[2]!.deviceId]);
    expect((await p.api('GET', `/v1/devices?q=${sales[2]!.lockReference}`, undefined, other.key)).body.items).toEqual([]);
    expect((await p.api('GET', '/v1/devices?stage=exploded')).status).toBe(400);
    expect((await p.api('GET', `/v1/devices?imei=${ds[3]!.imei}`)).body.items.map((i: { serial: string }) => i.serial)).toEqual([ds[3]!.serial]);
  });

  it('a bulk message: preview, typed confirmation, one SMS and one audit entry per device', async () => {
    const s = p.lien.services;
    const actor = { kind: 'api_key' as const, id: 'key_bulk_test', lenderId: p.lenderId };
    const preview = await previewBulk(s.db, p.lenderId, p.clock.now(), { dpd: '30+' }, 'message');
    expect(preview.total).toBe(2);
    expect(preview.confirmation).toBe('MESSAGE 2');
    await expect(startBulk(s, actor, { dpd: '30+' }, { action: 'message', reason: 'outage notice', message: 'Pay at any agent this week.' }, 'MESSAGE 3')).rejects.toThrow(/Type “MESSAGE 2”/);
    const { jobId, done } = await startBulk(s, actor, { dpd: '30+' }, { action: 'message', reason: 'outage notice', message: 'Pay at any agent this week.' }, 'message 2');
    const job = await done;
    expect(job).toMatchObject({ id: jobId, state: 'done', total: 2, processed: 2, succeeded: 2, failed: 0 });
    const sms = await s.db.selectFrom('notifications').select(['contract_id', 'body']).where('kind', '=', 'lender_message').execute();
    expect(new Set(sms.map((m) => m.contract_id))).toEqual(new Set([sales[0]!.contractId, sales[1]!.contractId]));
    for (const m of sms) expect(m.body).toMatch(/^Jamii Finance: Pay at any agent this week\. Ref [0-9A-Z]{8}$/);
    const audits = await s.db.selectFrom('audit_log').select(['subject_id', 'reason']).where('action', '=', 'contract.bulk_message').execute();
    expect(audits.length).toBe(2);
    for (const a of audits) expect(a.reason).toBe(`outage notice (bulk job ${jobId})`);
    await expect(startBulk(s, actor, { dpd: '30+' }, { action: 'message', reason: 'x', message: 'hi there' }, 'MESSAGE 2')).rejects.toThrow(/reason of 3/);
    // A job whose process died mid-way (still 'running', no progress for long) reads as interrupted.
    await s.db.updateTable('bulk_jobs').set({ state: 'running', progress_at: new Date(p.clock.now().getTime() - 10 * 60_000) }).where('id', '=', jobId).execute();
    expect((await getBulkJob(s.db, p.lenderId, jobId, p.clock.now())).state).toBe('interrupted');
    await expect(getBulkJob(s.db, other.id, jobId, p.clock.now())).rejects.toThrow(/No bulk job/);
  });

  it('neutralises each dangerous first character and nothing else', () => {
    for (const c of ['=', '+', '-', '@', '\t', '\r']) expect(neutraliseCell(`${c}1+1`)).toBe(`'${c}1+1`);
    for (const v of ['1+1', 'ACME', '', ' =x', "'=x"]) expect(neutraliseCell(v)).toBe(v);
  });
});
