import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate } from '../../src/domain/allocation.ts';
import { addDays, businessDateIn } from '../../src/domain/dates.ts';
import { delinquency } from '../../src/domain/delinquency.ts';
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

const inst = (n: number, dueDate: string, principal: number, interest = 0): Installment => ({ n, dueDate, principal, interest, fee: 0, penalty: 0 });

describe('days past due', () => {
  it('counts across a month end, one day more in a leap year', () => {
    // Due Jan 31, business date Mar 2: Feb 1…Mar 2 is 28 + 2 = 30 days in 2026, 29 + 2 = 31 in 2024.
    const plain = delinquency({ installments: [inst(1, '2026-01-31', 10_000)], businessDate: '2026-03-02', graceDays: 0 });
    expect(plain).toEqual({
      overdueSince: '2026-01-31',
      daysPastDue: 30,
      daysPastDueRaw: 30,
      amountOverdue: 10_000,
      oldestUnpaidDueDate: '2026-01-31',
      nextDueDate: null,
      nextDueAmount: 0,
      bucket: '1-30',
      paidOff: false,
      outstanding: 10_000,
    });
    const leap = delinquency({ installments: [inst(1, '2024-01-31', 10_000)], businessDate: '2024-03-02', graceDays: 0 });
    expect(leap.daysPastDue).toBe(31);
    expect(leap.bucket).toBe('31-60');
  });

  it('subtracts grace days and days paused by a dispute, never below zero', () => {
    const base = { installments: [inst(1, '2026-01-31', 10_000)], businessDate: '2026-03-02' };
    expect(delinquency({ ...base, graceDays: 3 })).toMatchObject({ daysPastDue: 27, daysPastDueRaw: 30 });
    expect(delinquency({ ...base, graceDays: 3, pausedDays: 5 })).toMatchObject({ daysPastDue: 22, daysPastDueRaw: 30 });
    // Still in grace: overdue (the arrears are real) but zero days past due and no bucket.
    const inGrace = delinquency({ ...base, graceDays: 45 });
    expect(inGrace).toMatchObject({ overdueSince: '2026-01-31', daysPastDue: 0, daysPastDueRaw: 30, amountOverdue: 10_000, bucket: null });
  });

  it('an installment due today is not overdue yet; the day after it is 1 DPD', () => {
    const installments = [inst(1, '2026-02-28', 5_000), inst(2, '2026-03-31', 5_000)];
    const today = delinquency({ installments, businessDate: '2026-02-28', graceDays: 0 });
    expect(today).toMatchObject({ overdueSince: null, daysPastDue: 0, amountOverdue: 0, nextDueDate: '2026-02-28', nextDueAmount: 5_000, oldestUnpaidDueDate: '2026-02-28' });
    const tomorrow = delinquency({ installments, businessDate: '2026-03-01', graceDays: 0 });
    expect(tomorrow).toMatchObject({ overdueSince: '2026-02-28', daysPastDue: 1, amountOverdue: 5_000, nextDueDate: '2026-03-31', nextDueAmount: 5_000 });
  });

  it('the lender time zone decides the business date, and with it whether a due date has passed', () => {
    const instant = new Date('2026-03-01T20:00:00Z');
    const installments = [inst(1, '2026-03-01', 5_000)];
    const kolkata = delinquency({ installments, businessDate: businessDateIn('Asia/Kolkata', instant), graceDays: 0 });
    expect(kolkata).toMatchObject({ overdueSince: '2026-03-01', daysPastDue: 1, amountOverdue: 5_000 });
    const mexico = delinquency({ installments, businessDate: businessDateIn('America/Mexico_City', instant), graceDays: 0 });
    expect(mexico).toMatchObject({ overdueSince: null, daysPastDue: 0, nextDueDate: '2026-03-01' });
  });
});

describe('delinquency over allocated payments', () => {
  const schedule = buildSchedule({ principal: 2_400_000, currency: 'INR', annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-01-31' });
  const emi = 226_943;

  it('a partial payment keeps the oldest installment overdue, for the part still owed', () => {
    const allocation = allocate({ installments: schedule.installments, payments: [{ id: 'p1', amount: 200_000, receivedAt: '2026-02-01T05:00:00Z' }] });
    const d = delinquency({ installments: schedule.installments, allocation, businessDate: '2026-03-10', graceDays: 5 });
    // #1 (Jan 31) owes 26,943 more; #2 (Feb 28) owes all of it. Mar 10 − Jan 31 = 38 days, − 5 grace.
    expect(d).toMatchObject({
      overdueSince: '2026-01-31',
      daysPastDueRaw: 38,
      daysPastDue: 33,
      amountOverdue: emi - 200_000 + emi,
      nextDueDate: '2026-03-31',
      nextDueAmount: emi,
      bucket: '31-60',
      paidOff: false,
    });
    expect(d.outstanding).toBe(allocation.outstanding);
  });

  it('once the oldest is paid, the next unpaid one sets overdueSince', () => {
    const allocation = allocate({ installments: schedule.installments, payments: [{ id: 'p1', amount: emi + 1, receivedAt: '2026-02-01' }] });
    const d = delinquency({ installments: schedule.installments, allocation, businessDate: '2026-03-10', graceDays: 0 });
    expect(d).toMatchObject({ overdueSince: '2026-02-28', daysPastDue: 10, amountOverdue: emi - 1 });
  });

  it('a payment ahead of time moves the next due date forward', () => {
    const allocation = allocate({ installments: schedule.installments, payments: [{ id: 'p1', amount: 2 * emi, receivedAt: '2026-01-15' }] });
    const d = delinquency({ installments: schedule.installments, allocation, businessDate: '2026-01-20', graceDays: 0 });
    expect(d).toMatchObject({ overdueSince: null, nextDueDate: '2026-03-31', nextDueAmount: emi, oldestUnpaidDueDate: '2026-03-31', amountOverdue: 0 });
  });

  it('paid off when nothing is owed, even with credit left', () => {
    const total = schedule.installments.reduce((a, i) => a + i.principal + i.interest, 0);
    const allocation = allocate({ installments: schedule.installments, payments: [{ id: 'all', amount: total + 99, receivedAt: '2026-06-01' }] });
    const d = delinquency({ installments: schedule.installments, allocation, businessDate: '2027-06-01', graceDays: 0 });
    expect(d).toMatchObject({ paidOff: true, overdueSince: null, daysPastDue: 0, outstanding: 0, nextDueDate: null, oldestUnpaidDueDate: null });
    expect(allocation.credit).toBe(99);
  });

  it('takes inline paid amounts as the services pass them from the database', () => {
    const d = delinquency({
      installments: [
        { ...inst(1, '2026-01-10', 1_000, 100), paid: { principal: 1_000, interest: 100 } },
        { ...inst(2, '2026-02-10', 1_000, 100), paid: { interest: 100 } },
      ],
      businessDate: '2026-02-11',
      graceDays: 0,
    });
    expect(d).toMatchObject({ overdueSince: '2026-02-10', daysPastDue: 1, amountOverdue: 1_000, outstanding: 1_000 });
  });
});

describe('buckets and errors', () => {
  it('puts days past due into named ranges', () => {
    const buckets = [
      { name: 'current', minDays: 0, maxDays: 0 },
      { name: 'early', minDays: 1, maxDays: 7 },
      { name: 'late', minDays: 8, maxDays: null },
    ];
    const at = (businessDate: string) => delinquency({ installments: [inst(1, '2026-01-31', 1)], businessDate, graceDays: 0, buckets }).bucket;
    expect(at('2026-01-31')).toBe('current');
    expect(at('2026-02-07')).toBe('early');
    expect(at('2026-02-08')).toBe('late');
    expect(at('2027-02-08')).toBe('late');
    // Default ranges: 90 / 91 is the edge between 61-90 and 91-180.
    const dflt = (dpd: number) => delinquency({ installments: [inst(1, '2026-01-31', 1)], businessDate: addDays('2026-01-31', dpd), graceDays: 0 }).bucket;
    expect([dflt(0), dflt(1), dflt(30), dflt(31), dflt(90), dflt(91), dflt(181)]).toEqual([null, '1-30', '1-30', '31-60', '61-90', '91-180', '181+']);
  });

  it('rejects inconsistent input with a clear message', () => {
    const installments = [inst(1, '2026-01-31', 1_000)];
    const grace = lienError(() => delinquency({ installments, businessDate: '2026-03-02', graceDays: -1 }));
    expect(grace.code).toBe('invalid_input');
    expect(grace.message).toBe('graceDays must be a whole number of days, 0 or more; got -1.');
    expect(lienError(() => delinquency({ installments, businessDate: '2026-3-2', graceDays: 0 })).message).toBe(
      'businessDate must be a calendar date written YYYY-MM-DD (e.g. 2026-03-31); got "2026-3-2".',
    );
    expect(lienError(() => delinquency({ installments: [{ ...installments[0]!, paid: { principal: 1_001 } }], businessDate: '2026-03-02', graceDays: 0 })).message).toBe(
      'Installment 1 shows 1001 paid of principal but only 1000 is due; re-run the allocation.',
    );
    const overlap = [
      { name: 'a', minDays: 1, maxDays: 30 },
      { name: 'b', minDays: 30, maxDays: null },
    ];
    expect(lienError(() => delinquency({ installments, businessDate: '2026-03-02', graceDays: 0, buckets: overlap })).message).toBe('Delinquency bucket "b": overlaps bucket "a".');
  });
});

describe('delinquency properties', () => {
  it('overdue and not-yet-due amounts add up to the allocation outstanding; DPD follows its formula', () => {
    const arb = fc.record({
      principal: fc.integer({ min: 1_000, max: 10_000_000 }),
      termCount: fc.integer({ min: 1, max: 24 }),
      frequency: fc.constantFrom('weekly' as const, 'biweekly' as const, 'monthly' as const),
      paid: fc.array(fc.integer({ min: 1, max: 2_000_000 }), { maxLength: 6 }),
      offset: fc.integer({ min: -30, max: 800 }),
      grace: fc.integer({ min: 0, max: 10 }),
      paused: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(arb, (t) => {
        const s = buildSchedule({ principal: t.principal, currency: 'KES', annualRatePct: 30, termCount: t.termCount, frequency: t.frequency, method: 'declining', firstDueDate: '2026-01-31' });
        const allocation = allocate({ installments: s.installments, payments: t.paid.map((amount, i) => ({ id: `p${i}`, amount, receivedAt: '2026-01-01' })) });
        const businessDate = addDays('2026-01-31', t.offset);
        const d = delinquency({ installments: s.installments, allocation, businessDate, graceDays: t.grace, pausedDays: t.paused });
        const notYetDue = allocation.installments.filter((i) => i.dueDate >= businessDate).reduce((a, i) => a + i.outstanding, 0);
        expect(d.amountOverdue + notYetDue).toBe(allocation.outstanding);
        expect(d.outstanding).toBe(allocation.outstanding);
        expect(d.overdueSince === null).toBe(d.amountOverdue === 0);
        expect(d.paidOff).toBe(allocation.outstanding === 0);
        expect(d.daysPastDue).toBe(Math.max(0, d.daysPastDueRaw - t.grace - t.paused));
        if (d.overdueSince !== null) expect(addDays(d.overdueSince, d.daysPastDueRaw)).toBe(businessDate);
      }),
      { numRuns: 200 },
    );
  });
});
