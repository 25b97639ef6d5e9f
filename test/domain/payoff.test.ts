/**
 * Issue #12 B4: the early payoff quote (src/domain/payoff.ts), by hand and by property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate } from '../../src/domain/allocation.ts';
import { REBATE_RULES, type RebateRule } from '../../src/domain/compliance.ts';
import { addDays } from '../../src/domain/dates.ts';
import { effectiveRate, payoffQuote, type PayoffInput, type PayoffInstallment } from '../../src/domain/payoff.ts';
import { buildSchedule, type ScheduleInput } from '../../src/domain/schedule.ts';

const EMI_24K: ScheduleInput = { principal: 2_400_000, currency: 'KES', annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'declining', firstDueDate: '2026-02-01' };

/** The schedule with what `payments` (amount, date) paid of it, as the contract stores it. */
function withPayments(terms: ScheduleInput, payments: { amount: number; on: string }[]): PayoffInstallment[] {
  const s = buildSchedule(terms);
  const a = allocate({ installments: s.installments, payments: payments.map((p, i) => ({ id: `p${String(i).padStart(4, '0')}`, amount: p.amount, receivedAt: p.on })) });
  return s.installments.map((i, k) => ({ ...i, paid: a.installments[k]!.paid }));
}

function quote(terms: ScheduleInput, payments: { amount: number; on: string }[], payoffDate: string, rebate: RebateRule = 'actuarial') {
  const input: PayoffInput = { method: terms.method, frequency: terms.frequency, installments: withPayments(terms, payments), payoffDate, rebate };
  return payoffQuote(input);
}

describe('B4: early payoff quote', () => {
  it('B4: declining 24,000.00 at 24 %/12 months paid off after one month costs principal outstanding plus accrued interest, not the rest of the schedule', () => {
    // After installment 1 (2,269.43: 480.00 interest, 1,789.43 principal) is paid on its due date,
    // the schedule still asks 11 × 2,269.43 (+ the last one's rounding) = 24,963.73; paying off that
    // day costs the principal outstanding, 22,210.57, with no interest accrued yet.
    const paidFirst = [{ amount: 226_943, on: '2026-02-01' }];
    const onDueDate = quote(EMI_24K, paidFirst, '2026-02-01');
    expect(onDueDate).toMatchObject({ rule: 'accrued_to_date', amount: 2_221_057, outstanding: 2_496_373, saving: 275_316 });
    expect(onDueDate.breakdown).toEqual({ due: 0, principal: 2_221_057, interest: 0, paidAhead: 0 });
    // Two weeks into February (14 of 28 days): half of installment 2's 444.21 interest has accrued.
    const midPeriod = quote(EMI_24K, paidFirst, '2026-02-15');
    expect(midPeriod.breakdown.interest).toBe(22_211);
    expect(midPeriod.amount).toBe(2_221_057 + 22_211);
    // Without installment 1 paid, it is due in full on top.
    expect(quote(EMI_24K, [], '2026-02-01').amount).toBe(226_943 + 2_221_057);
  });

  const FLAT: ScheduleInput = { principal: 1_200_000, currency: 'KES', annualRatePct: 24, termCount: 12, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-01' };

  it('B4: flat contracts follow the lender’s rebate rule: none, rule of 78, actuarial', () => {
    // 12,000.00 flat at 24 %: 240.00 interest a month (2,880.00 in all), 1,000.00 principal.
    const paid3 = [{ amount: 3 * 124_000, on: '2026-04-01' }];
    const none = quote(FLAT, paid3, '2026-04-01', 'none');
    expect(none).toMatchObject({ amount: 9 * 124_000, saving: 0 });
    // Rule of 78 on the 4th period's first day: m = 8 full periods left after it; rebate =
    // 2,880.00 × 8·9 / (12·13) = 1,329.23; 9 × 240.00 − 1,329.23 = 830.77 earned.
    const r78 = quote(FLAT, paid3, '2026-04-01', 'rule_of_78');
    expect(r78.breakdown.interest).toBe(216_000 - 132_923);
    expect(r78.amount).toBe(900_000 + 83_077);
    // Actuarial: nothing of the 4th period has passed, so the balance is the remaining payments
    // discounted to that date at the contract's effective rate (~3.48 % a month for 24 % flat).
    const act = quote(FLAT, paid3, '2026-04-01', 'actuarial');
    const r = effectiveRate(Array(12).fill(124_000), 1_200_000);
    expect(r).toBeGreaterThan(0.0345);
    expect(r).toBeLessThan(0.035);
    const expected = Math.round(Array.from({ length: 9 }, (_, k) => 124_000 / (1 + r) ** (k + 1)).reduce((a, b) => a + b, 0));
    expect(act.amount).toBe(expected);
    expect(act.amount).toBeLessThan(r78.amount);
  });

  it('B4: the settled schedule, paid with the quote, leaves nothing owed', () => {
    const installments = withPayments(EMI_24K, [{ amount: 226_943, on: '2026-02-01' }]);
    const q = payoffQuote({ method: 'declining', frequency: 'monthly', installments, payoffDate: '2026-02-20', rebate: 'none' });
    const settled = q.settled.map((s, k) => ({ ...s, dueDate: installments[k]!.dueDate }));
    const after = allocate({ installments: settled, payments: [{ id: 'a', amount: 226_943, receivedAt: '2026-02-01' }, { id: 'b', amount: q.amount, receivedAt: '2026-02-20' }] });
    expect(after.outstanding).toBe(0);
    expect(after.credit).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random contracts, payment histories and payoff dates.

const termsArb = fc.record({
  principal: fc.integer({ min: 10_000, max: 50_000_000 }),
  annualRatePct: fc.integer({ min: 0, max: 60 }),
  termCount: fc.integer({ min: 1, max: 24 }),
  frequency: fc.constantFrom('weekly' as const, 'biweekly' as const, 'monthly' as const),
  method: fc.constantFrom('flat' as const, 'declining' as const),
  fee: fc.integer({ min: 0, max: 5_000 }),
});

const caseArb = fc
  .tuple(termsArb, fc.array(fc.tuple(fc.integer({ min: 1, max: 2_000_000 }), fc.integer({ min: 0, max: 400 })), { maxLength: 6 }), fc.integer({ min: 0, max: 800 }), fc.constantFrom(...REBATE_RULES))
  .map(([t, pays, day, rebate]) => {
    const terms: ScheduleInput = { ...t, currency: 'KES', firstDueDate: '2026-02-01' };
    const payments = pays.map(([amount, d]) => ({ amount, on: addDays('2026-01-01', d) })).sort((a, b) => a.on.localeCompare(b.on));
    const payoffDate = addDays('2026-01-01', day);
    // A payoff is quoted after the payments made by then.
    return { terms, payments: payments.filter((p) => p.on <= payoffDate), payoffDate, rebate };
  });

describe('B4: payoff properties', () => {
  it('B4 property: 0 ≤ quote ≤ outstanding; principal is never rebated', () => {
    fc.assert(
      fc.property(caseArb, ({ terms, payments, payoffDate, rebate }) => {
        const installments = withPayments(terms, payments);
        const q = payoffQuote({ method: terms.method, frequency: terms.frequency, installments, payoffDate, rebate });
        expect(q.amount).toBeGreaterThanOrEqual(0);
        expect(q.amount).toBeLessThanOrEqual(q.outstanding);
        expect(q.saving).toBe(q.outstanding - q.amount);
        const unpaidPrincipal = installments.reduce((a, i) => a + i.principal - i.paid.principal, 0);
        const paidAheadNotPrincipal = installments.filter((i) => i.dueDate > payoffDate).reduce((a, i) => a + i.paid.interest + i.paid.fee + i.paid.penalty, 0);
        expect(q.amount + paidAheadNotPrincipal).toBeGreaterThanOrEqual(unpaidPrincipal);
      }),
      { numRuns: 300 },
    );
  });

  it('B4 property: paying the quote on its date settles the contract exactly', () => {
    fc.assert(
      fc.property(caseArb, ({ terms, payments, payoffDate, rebate }) => {
        const installments = withPayments(terms, payments);
        const q = payoffQuote({ method: terms.method, frequency: terms.frequency, installments, payoffDate, rebate });
        const settled = q.settled.map((s, k) => ({ ...s, dueDate: installments[k]!.dueDate }));
        const all = [...payments.map((p, i) => ({ id: `p${String(i).padStart(4, '0')}`, amount: p.amount, receivedAt: p.on })), ...(q.amount > 0 ? [{ id: 'zpayoff', amount: q.amount, receivedAt: payoffDate }] : [])];
        const after = allocate({ installments: settled, payments: all });
        expect(after.outstanding).toBe(0);
        // And no less would do: one minor unit short leaves the contract open.
        if (q.amount > 0) {
          const short = allocate({ installments: settled, payments: [...all.slice(0, -1), { id: 'zpayoff', amount: q.amount - 1, receivedAt: payoffDate }].filter((p) => p.amount > 0) });
          expect(short.outstanding).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('B4 property: with nothing paid in between, a later payoff never costs less', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 60 }), ({ terms, payments, payoffDate, rebate }, later) => {
        const installments = withPayments(terms, payments);
        const q1 = payoffQuote({ method: terms.method, frequency: terms.frequency, installments, payoffDate, rebate });
        const q2 = payoffQuote({ method: terms.method, frequency: terms.frequency, installments, payoffDate: addDays(payoffDate, later), rebate });
        expect(q2.amount).toBeGreaterThanOrEqual(q1.amount);
      }),
      { numRuns: 300 },
    );
  });

  it('B4 property: declining on a due date with the past paid costs exactly the principal outstanding; flat without rebate costs all but future fees', () => {
    fc.assert(
      fc.property(termsArb, fc.integer({ min: 0, max: 23 }), (t, k) => {
        const terms: ScheduleInput = { ...t, currency: 'KES', firstDueDate: '2026-02-01' };
        const s = buildSchedule(terms);
        const at = s.installments[Math.min(k, s.installments.length - 1)]!;
        const pastTotal = s.installments.filter((i) => i.dueDate <= at.dueDate).reduce((a, i) => a + i.principal + i.interest + i.fee, 0);
        const installments = withPayments(terms, pastTotal > 0 ? [{ amount: pastTotal, on: at.dueDate }] : []);
        const future = installments.filter((i) => i.dueDate > at.dueDate);
        const q = payoffQuote({ method: terms.method, frequency: terms.frequency, installments, payoffDate: at.dueDate, rebate: 'none' });
        if (terms.method === 'declining') expect(q.amount).toBe(future.reduce((a, i) => a + i.principal, 0));
        else expect(q.amount).toBe(future.reduce((a, i) => a + i.principal + i.interest, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('B4 property: for flat contracts the rule of 78 never rebates more than the actuarial rule (up to rounding), nor less than none', () => {
    fc.assert(
      fc.property(caseArb, ({ terms, payments, payoffDate }) => {
        const installments = withPayments({ ...terms, method: 'flat' }, payments);
        const q = (rebate: RebateRule) => payoffQuote({ method: 'flat', frequency: terms.frequency, installments, payoffDate, rebate }).amount;
        expect(q('rule_of_78')).toBeLessThanOrEqual(q('none'));
        expect(q('actuarial')).toBeLessThanOrEqual(q('rule_of_78') + installments.length);
      }),
      { numRuns: 300 },
    );
  });
});
