import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhook } from '../../src/services/webhooks.ts';
import { approveClaim, rejectClaim } from '../../src/services/claim-review.ts';
import { MAX_RECEIPT_BYTES, sniffReceiptType, submitClaim } from '../../src/services/claims.ts';
import type { Actor } from '../../src/services/context.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { driveToLock, until } from '../sim/helpers.ts';
import { PNG_1PX, get, postClaim, resetRateLimits, testId, text } from './helpers.ts';

describe('payment claims from the portal', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let d: TestDevice;
  let sale: { contractId: string; deviceId: string; lockReference: string };
  let lender: Actor;
  const db = () => p.lien.services.db;

  beforeAll(async () => {
    await p.start();
    d = (await p.register(1))[0]!;
    sale = await p.sell(d!);
    lender = { kind: 'user', id: 'usr_test', lenderId: p.lenderId };
    await createWebhook(p.lien.services, lender, { url: 'https://hooks.example/lien', events: ['claim.submitted'] });
  }, 60_000);
  afterAll(() => p.stop());
  beforeEach(() => resetRateLimits(p));

  const valid = () => ({ reference: sale.lockReference, transactionRef: `QK${Math.floor(Math.random() * 1e8)}`, amount: '10000', paidOn: '2026-01-20', channel: 'mobile_money' });

  it('a claim with a receipt holds the lock, notifies the borrower and the lender, and is audited', async () => {
    const { agent, screen } = await p.agent(d!);
    await agent.sync();
    // Wait for each screen and for the server to hold the notice report before time moves on.
    await driveToLock(p, sale.deviceId, { shows: (mode) => until(`phone shows ${mode}`, async () => (await agent.sync(), screen.current?.mode === mode)).then(() => undefined) });
    expect(screen.current?.mode).toBe('locked');
    expect((await db().selectFrom('contracts').select('stage').where('id', '=', sale.contractId).executeTakeFirstOrThrow()).stage).toBe('locked');

    const fields = valid();
    const r = await postClaim(p, fields, { bytes: PNG_1PX, name: 'receipt.jpg', type: 'image/jpeg' });
    expect(r.status).toBe(201);
    const number = testId(r.html, 'claim-number')!;
    expect(number).toMatch(/^C-[0-9A-HJKMNP-TV-Z]{8}$/);

    const claim = await db().selectFrom('claims').selectAll().where('number', '=', number).executeTakeFirstOrThrow();
    expect(claim).toMatchObject({ contract_id: sale.contractId, lender_id: p.lenderId, transaction_ref: fields.transactionRef, currency: 'KES', paid_on: '2026-01-20', channel: 'mobile_money', status: 'open', receipt_type: 'image/png' });
    expect(Number(claim.amount)).toBe(10_000_00);
    expect(Buffer.from(claim.receipt!).equals(PNG_1PX)).toBe(true);

    // The open claim pauses escalation: re-evaluated at once, the phone is told to unlock.
    const c = await db().selectFrom('contracts').select('stage').where('id', '=', sale.contractId).executeTakeFirstOrThrow();
    expect(c.stage).not.toBe('locked');
    await agent.sync();
    expect(screen.current?.mode).not.toBe('locked');

    const note = await db().selectFrom('notifications').select(['kind', 'body']).where('contract_id', '=', sale.contractId).where('kind', '=', 'claim_received').executeTakeFirstOrThrow();
    expect(note.body).toContain(number);
    const hook = await db().selectFrom('webhook_deliveries').select(['event_type', 'payload']).where('event_type', '=', 'claim.submitted').executeTakeFirstOrThrow();
    expect(JSON.stringify(hook.payload)).toContain(claim.id);
    const a = await db().selectFrom('audit_log').select(['lender_id', 'actor']).where('action', '=', 'claim.submitted').where('subject_id', '=', claim.id).executeTakeFirstOrThrow();
    expect(a.lender_id).toBe(p.lenderId);
    expect(a.actor).toMatch(/^portal:/);

    // Status page: status, no personal data; then the lender rejects it with a message.
    const open = await get(p, `/portal/claims/${number.toLowerCase()}`);
    expect(open.status).toBe(200);
    expect(/data-status="([a-z]+)"/.exec(open.html)?.[1]).toBe('open');
    expect(open.html).not.toContain('+254711000222');
    expect(open.html).not.toContain(fields.transactionRef);
    await rejectClaim(p.lien.services, lender, claim.id, 'No such M-Pesa transaction on 20 January.');
    const rejected = await get(p, `/portal/claims?number=${encodeURIComponent(number)}&lang=en`);
    expect(testId(rejected.html, 'claim-status')).toBe('Not accepted. Reason: No such M-Pesa transaction on 20 January.');
  });

  it('approving a claim posts the payment and shows approved', async () => {
    const r = await postClaim(p, { ...valid(), amount: '10,000.00', channel: 'bank' });
    expect(r.status).toBe(201);
    const number = testId(r.html, 'claim-number')!;
    const claim = await db().selectFrom('claims').select(['id', 'receipt']).where('number', '=', number).executeTakeFirstOrThrow();
    expect(claim.receipt).toBeNull();
    await approveClaim(p.lien.services, lender, claim.id);
    const page = await get(p, `/portal/claims/${number}?lang=en`);
    expect(/data-status="([a-z]+)"/.exec(page.html)?.[1]).toBe('approved');
    const contract = await db().selectFrom('contracts').select(['amount_overdue']).where('id', '=', sale.contractId).executeTakeFirstOrThrow();
    expect(Number(contract.amount_overdue)).toBe(0);
  });

  it('refuses a receipt over 5 MB, or one that is not an image or PDF by content, and writes nothing', async () => {
    const before = await db().selectFrom('claims').select(db().fn.countAll().as('n')).executeTakeFirstOrThrow();
    const big = Buffer.alloc(MAX_RECEIPT_BYTES + 1, 0);
    PNG_1PX.copy(big);
    const tooBig = await postClaim(p, valid(), { bytes: big, name: 'big.png', type: 'image/png' });
    expect(tooBig.status).toBe(413);
    expect(text(tooBig.html)).toContain('The photo is bigger than 5 MB');
    const exact = Buffer.alloc(MAX_RECEIPT_BYTES, 0);
    Buffer.from('%PDF-1.4\n').copy(exact);
    expect(sniffReceiptType(exact)).toBe('application/pdf');
    const fake = await postClaim(p, valid(), { bytes: Buffer.from('<html>not a photo</html>'), name: 'receipt.png', type: 'image/png' });
    expect(fake.status).toBe(400);
    expect(text(fake.html)).toContain('The receipt must be a photo (JPEG, PNG or WebP) or a PDF.');
    const after = await db().selectFrom('claims').select(db().fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    // A 5 MB PDF exactly is fine.
    const ok = await postClaim(p, valid(), { bytes: exact, name: 'statement.pdf', type: 'application/pdf' });
    expect(ok.status).toBe(201);
  }, 30_000);

  it('sniffs JPEG, PNG, WebP and PDF by their first bytes only', () => {
    expect(sniffReceiptType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).toBe('image/jpeg');
    expect(sniffReceiptType(PNG_1PX)).toBe('image/png');
    expect(sniffReceiptType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
    expect(sniffReceiptType(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1'))).toBeNull();
    expect(sniffReceiptType(Buffer.from('GIF89a'))).toBeNull();
  });

  it('checks amount, date, transaction id, reference and duplicates with a message per field', async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ amount: 'ten' }, 400, 'Enter the amount in numbers'],
      [{ amount: '0' }, 400, 'Enter the amount in numbers'],
      [{ amount: '10000.555' }, 400, 'Enter the amount in numbers'],
      [{ amount: '999999999' }, 400, 'Enter the amount in numbers'],
      [{ paidOn: '2026-02-30' }, 400, 'Enter the date you paid'],
      [{ paidOn: '2027-01-01' }, 400, 'It cannot be in the future'],
      [{ transactionRef: 'x' }, 400, 'Enter the transaction ID'],
      [{ channel: 'cheque' }, 400, 'Please fill in this field'],
      [{ reference: 'ABC' }, 400, 'A lock reference has 8 letters and digits'],
      [{ reference: 'ZZZZ9999' }, 404, 'We could not find a phone with these details'],
      [{ amount: '' }, 400, 'Please fill in this field'],
    ];
    for (const [over, status, message] of cases) {
      await resetRateLimits(p);
      const r = await postClaim(p, { ...valid(), ...over }, undefined, { 'accept-language': 'en' });
      expect(r.status, JSON.stringify(over)).toBe(status);
      expect(text(r.html), JSON.stringify(over)).toContain(message);
      expect(r.html).toContain('aria-invalid="true"');
    }
    await resetRateLimits(p);
    const first = valid();
    expect((await postClaim(p, first)).status).toBe(201);
    const dupe = await postClaim(p, first);
    expect(dupe.status).toBe(409);
    expect(text(dupe.html)).toContain('We are already checking a claim for this transaction ID.');
  });

  it('submitClaim is usable directly and refuses a released contract like an unknown one', async () => {
    const out = await submitClaim(p.lien.services, { lockReference: sale.lockReference, transactionRef: 'DIRECT-1', amount: '100', paidOn: '2026-01-21', channel: 'agent' });
    expect(out).toMatchObject({ contractId: sale.contractId, lenderId: p.lenderId, amount: 100_00, currency: 'KES' });
    const [other] = await p.register(1);
    const s2 = await p.sell(other!, { schedule: { principal: 1_000_00, annualRatePct: 0, termCount: 1, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-15' } });
    expect((await p.api('POST', '/v1/payments', { contractId: s2.contractId, externalRef: 'PAYOFF-2', channel: 'mpesa', amount: 1_000_00, currency: 'KES' })).status).toBe(201);
    await expect(submitClaim(p.lien.services, { lockReference: s2.lockReference, transactionRef: 'DIRECT-2', amount: '100', paidOn: '2026-01-21', channel: 'agent' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('limits claims per address and unknown claim numbers say so without detail', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await postClaim(p, { ...valid(), amount: '1' })).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    const unknown = await get(p, '/portal/claims/C-ZZZZ9999?lang=en');
    expect(unknown.status).toBe(404);
    expect(text(unknown.html)).toContain('We could not find a claim with this number.');
    const malformed = await get(p, '/portal/claims/hello?lang=en');
    expect(malformed.status).toBe(400);
  });
});
