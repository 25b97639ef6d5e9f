import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, COMPONENTS, componentsTotal, type PaymentInput } from '../../src/domain/allocation.ts';
import { LienError } from '../../src/domain/errors.ts';
import { buildSchedule, type Installment } from '../../src/domain/schedule.ts';

function lienError(fn: () => unknown): LienError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LienError) return e;
    throw e;
  }
  throw new Error('expected a LienError');
}

// Totals: 1,250 / 1,225 / 1,150 = 3,625.
const SCHEDULE: Installment[] = [
  { n: 1, dueDate: '2026-01-31', principal: 1_000, interest: 200, fee: 50, penalty: 0 },
  { n: 2, dueDate: '2026-02-28', principal: 1_000, interest: 150, fee: 50, penalty: 25 },
  { n: 3, dueDate: '2026-03-31', principal: 1_000, interest: 100, fee: 50, penalty: 0 },
];

const c = (penalty: number, fee: number, interest: number, principal: number) => ({ penalty, fee, interest, principal });

describe('allocation', () => {
  it('a partial payment pays fee, then interest, then principal of the oldest installment', () => {
    const a = allocate({ installments: SCHEDULE, payments: [{ id: 'p1', amount: 700, receivedAt: '2026-01-20T09:00:00Z' }] });
    expect(a.installments.map((i) => i.paid)).toEqual([c(0, 50, 200, 450), c(0, 0, 0, 0), c(0, 0, 0, 0)]);
    expect(a.installments.map((i) => i.outstanding)).toEqual([550, 1_225, 1_150]);
    expect(a.payments).toEqual([{ id: 'p1', amount: 700, receivedAt: '2026-01-20T09:00:00Z', reversed: false, splits: [{ n: 1, amounts: c(0, 50, 200, 450) }], toCredit: 0 }]);
    expect(a.outstanding).toBe(2_925);
    expect(a.credit).toBe(0);
    expect(a.installments[0]!.paidOffAt).toBeNull();
  });

  it('a payment that spans installments finishes the oldest first, then pays the next by the order', () => {
    const a = allocate({
      installments: SCHEDULE,
      // Ids sort the other way round ("r10" < "r9"): the date decides.
      payments: [
        { id: 'r10', amount: 1_000, receivedAt: '2026-02-10' },
        { id: 'r9', amount: 700, receivedAt: '2026-01-20' },
      ],
    });
    // r9 (first by date): 50 fee + 200 interest + 450 principal of #1.
    // r10: the last 550 principal of #1, then #2: 25 penalty, 50 fee, 150 interest, 225 principal.
    expect(a.payments.map((p) => [p.id, p.splits])).toEqual([
      ['r9', [{ n: 1, amounts: c(0, 50, 200, 450) }]],
      ['r10', [{ n: 1, amounts: c(0, 0, 0, 550) }, { n: 2, amounts: c(25, 50, 150, 225) }]],
    ]);
    expect(a.installments[0]!.paidOffAt).toBe('2026-02-10');
    expect(a.installments[1]!.outstanding).toBe(775);
    expect(a.outstanding).toBe(1_925);
  });

  it('payments received at the same instant apply in id order', () => {
    const a = allocate({
      installments: SCHEDULE,
      payments: [
        { id: 'b', amount: 100, receivedAt: '2026-01-20T10:00:00+05:30' },
        { id: 'a', amount: 100, receivedAt: '2026-01-20T04:30:00Z' }, // the same instant
      ],
    });
    expect(a.payments.map((p) => [p.id, p.splits])).toEqual([
      ['a', [{ n: 1, amounts: c(0, 50, 50, 0) }]],
      ['b', [{ n: 1, amounts: c(0, 0, 100, 0) }]],
    ]);
  });

  it('an overpayment pays every installment and keeps the rest as credit', () => {
    const a = allocate({ installments: SCHEDULE, payments: [{ id: 'big', amount: 4_000, receivedAt: '2026-01-05T00:00:00+05:30' }] });
    expect(a.installments.map((i) => i.outstanding)).toEqual([0, 0, 0]);
    expect(a.installments.map((i) => i.paid)).toEqual(SCHEDULE.map((i) => c(i.penalty, i.fee, i.interest, i.principal)));
    expect(a.credit).toBe(375); // 4,000 − 3,625
    expect(a.payments[0]!.toCredit).toBe(375);
    expect(a.payments[0]!.splits.map((s) => s.n)).toEqual([1, 2, 3]);
    expect(a.outstanding).toBe(0);
  });

  it('reversing the middle of three payments re-plays the other two', () => {
    const payments: PaymentInput[] = [
      { id: 'p1', amount: 600, receivedAt: '2026-01-20' },
      { id: 'p2', amount: 700, receivedAt: '2026-02-20' },
      { id: 'p3', amount: 500, receivedAt: '2026-03-20' },
    ];
    const before = allocate({ installments: SCHEDULE, payments });
    // 1,800 in: #1 in full (1,250), #2 gets 550 = 25 penalty + 50 fee + 150 interest + 325 principal.
    expect(before.installments.map((i) => i.paid)).toEqual([c(0, 50, 200, 1_000), c(25, 50, 150, 325), c(0, 0, 0, 0)]);
    expect(before.payments.map((p) => p.splits)).toEqual([
      [{ n: 1, amounts: c(0, 50, 200, 350) }],
      [{ n: 1, amounts: c(0, 0, 0, 650) }, { n: 2, amounts: c(25, 25, 0, 0) }],
      [{ n: 2, amounts: c(0, 25, 150, 325) }],
    ]);

    const after = allocate({ installments: SCHEDULE, payments: payments.map((p) => (p.id === 'p2' ? { ...p, reversed: true } : p)) });
    // 1,100 in: #1 gets 50 fee + 200 interest + 850 principal; 150 of it still owed.
    expect(after.installments.map((i) => i.paid)).toEqual([c(0, 50, 200, 850), c(0, 0, 0, 0), c(0, 0, 0, 0)]);
    expect(after.payments.map((p) => [p.id, p.reversed, p.splits])).toEqual([
      ['p1', false, [{ n: 1, amounts: c(0, 50, 200, 350) }]],
      ['p3', false, [{ n: 1, amounts: c(0, 0, 0, 500) }]],
      ['p2', true, []],
    ]);
    expect(after.totalPaid).toBe(1_100);
    expect(after.outstanding).toBe(3_625 - 1_100);
    // Marking reversed and leaving the payment out are the same thing.
    const dropped = allocate({ installments: SCHEDULE, payments: payments.filter((p) => p.id !== 'p2') });
    expect(dropped.installments).toEqual(after.installments);
  });

  it('follows a lender-specific component order', () => {
    const a = allocate({ installments: SCHEDULE, payments: [{ id: 'p', amount: 1_100, receivedAt: '2026-01-31' }], order: ['principal', 'interest', 'fee', 'penalty'] });
    expect(a.installments[0]!.paid).toEqual(c(0, 0, 100, 1_000));
  });

  it('pays on an EMI schedule built by buildSchedule', () => {
    const s = buildSchedule({ principal: 2_400_000, currency: 'INR', annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-01-31' });
    // Two EMIs and 100.00 more.
    const a = allocate({ installments: s.installments, payments: [{ id: 'x', amount: 2 * 226_943 + 10_000, receivedAt: '2026-02-27' }] });
    expect(a.installments.slice(0, 3).map((i) => i.paid)).toEqual([c(0, 0, 48_000, 178_943), c(0, 0, 44_421, 182_522), c(0, 0, 10_000, 0)]);
  });

  it('rejects bad payments with a clear message', () => {
    const zero = lienError(() => allocate({ installments: SCHEDULE, payments: [{ id: 'p', amount: 0, receivedAt: '2026-01-01' }] }));
    expect(zero.code).toBe('invalid_amount');
    expect(zero.message).toBe('Amount "payment p amount" must be greater than zero.');
    expect(lienError(() => allocate({ installments: SCHEDULE, payments: [{ id: 'p', amount: -5, receivedAt: '2026-01-01' }] })).message).toBe(
      'Amount "payment p amount" must not be negative; got -5.',
    );
    const when = lienError(() => allocate({ installments: SCHEDULE, payments: [{ id: 'p', amount: 5, receivedAt: '2026-03-01T10:00:00' }] }));
    expect(when.code).toBe('invalid_input');
    expect(when.message).toBe('Payment p: receivedAt must be an ISO instant with Z or an offset (2026-03-01T10:15:00Z) or a date (2026-03-01); got "2026-03-01T10:00:00".');
    expect(lienError(() => allocate({ installments: SCHEDULE, payments: [{ id: 'p', amount: 5, receivedAt: '2026-02-30' }] })).code).toBe('invalid_input');
    const dup = [
      { id: 'p', amount: 5, receivedAt: '2026-01-01' },
      { id: 'p', amount: 6, receivedAt: '2026-01-02' },
    ];
    expect(lienError(() => allocate({ installments: SCHEDULE, payments: dup })).message).toBe('Each payment needs its own non-empty id; got "p".');
    expect(lienError(() => allocate({ installments: SCHEDULE, payments: [], order: ['fee', 'interest', 'principal'] as never })).message).toBe(
      'The allocation order must list penalty, fee, interest and principal, each once; got ["fee","interest","principal"].',
    );
  });
});

describe('allocation properties', () => {
  const installments = fc
    .array(
      fc.record({
        principal: fc.integer({ min: 0, max: 50_000 }),
        interest: fc.integer({ min: 0, max: 5_000 }),
        fee: fc.integer({ min: 0, max: 500 }),
        penalty: fc.integer({ min: 0, max: 500 }),
        gap: fc.integer({ min: 0, max: 40 }),
      }),
      { minLength: 1, maxLength: 12 },
    )
    .map((rows) => {
      let day = Date.UTC(2026, 0, 1);
      return rows.map(({ gap, ...r }, i): Installment => {
        day += gap * 86_400_000;
        return { n: i + 1, dueDate: new Date(day).toISOString().slice(0, 10), ...r };
      });
    });
  // Few distinct dates so that ties (broken by id) are common.
  const payments = fc.uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      amount: fc.integer({ min: 1, max: 80_000 }),
      receivedAt: fc.constantFrom('2026-01-01', '2026-01-01T00:00:00Z', '2026-02-15T12:00:00+01:00', '2026-02-15T11:00:00Z', '2026-04-01'),
      reversed: fc.boolean(),
    }),
    { selector: (p) => p.id, maxLength: 10 },
  );
  const order = fc.shuffledSubarray([...COMPONENTS], { minLength: 4, maxLength: 4 });

  it('never creates or loses money, and never pays more than is due', () => {
    fc.assert(
      fc.property(installments, payments, order, (is, ps, o) => {
        const a = allocate({ installments: is, payments: ps, order: o });
        const standing = ps.filter((p) => !p.reversed).reduce((s, p) => s + p.amount, 0);
        const paid = a.installments.reduce((s, i) => s + componentsTotal(i.paid), 0);
        expect(paid + a.credit).toBe(standing);
        expect(a.totalPaid).toBe(standing);
        for (const p of a.payments) expect(p.splits.reduce((s, x) => s + componentsTotal(x.amounts), 0) + p.toCredit).toBe(p.reversed ? 0 : p.amount);
        is.forEach((inst, k) => {
          const row = a.installments[k]!;
          for (const comp of COMPONENTS) {
            expect(row.paid[comp]).toBeGreaterThanOrEqual(0);
            expect(row.paid[comp]).toBeLessThanOrEqual(inst[comp]);
          }
          expect(row.outstanding).toBe(componentsTotal(row.due) - componentsTotal(row.paid));
        });
        expect(a.outstanding).toBe(is.reduce((s, i) => s + i.principal + i.interest + i.fee + i.penalty, 0) - paid);
        if (a.credit > 0) expect(a.outstanding).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('pays oldest due first: nothing is paid on an installment while an earlier one still owes', () => {
    fc.assert(
      fc.property(installments, payments, (is, ps) => {
        const a = allocate({ installments: is, payments: ps });
        const firstOwing = a.installments.findIndex((i) => i.outstanding > 0);
        if (firstOwing === -1) return;
        for (const later of a.installments.slice(firstOwing + 1)) expect(componentsTotal(later.paid)).toBe(0);
      }),
    );
  });

  it('does not depend on the order payments are listed in: date, then id, decides', () => {
    fc.assert(
      fc.property(installments, payments, fc.func(fc.integer()), (is, ps, key) => {
        const shuffled = [...ps].sort((x, y) => key(x.id) - key(y.id));
        expect(allocate({ installments: is, payments: shuffled })).toEqual(allocate({ installments: is, payments: ps }));
      }),
    );
  });

  it('a reversal is the same as never having had the payment', () => {
    fc.assert(
      fc.property(installments, payments, (is, ps) => {
        const flagged = allocate({ installments: is, payments: ps });
        const removed = allocate({ installments: is, payments: ps.filter((p) => !p.reversed) });
        expect(flagged.installments).toEqual(removed.installments);
        expect(flagged.credit).toBe(removed.credit);
        expect(flagged.payments.filter((p) => !p.reversed)).toEqual(removed.payments);
      }),
    );
  });
});
