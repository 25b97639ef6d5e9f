import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LienError } from '../../src/domain/errors.ts';
import { buildSchedule, installmentTotal, type ScheduleInput } from '../../src/domain/schedule.ts';

function lienError(fn: () => unknown): LienError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LienError) return e;
    throw e;
  }
  throw new Error('expected a LienError');
}

const rows = (s: ReturnType<typeof buildSchedule>) => s.installments.map((i) => [i.dueDate, i.principal, i.interest]);

const EMI_24K: ScheduleInput = {
  principal: 2_400_000,
  currency: 'INR',
  annualRatePct: 24,
  termCount: 12,
  frequency: 'monthly',
  method: 'declining',
  firstDueDate: '2026-01-31',
};

describe('declining-balance (EMI) schedule', () => {
  it('12 months at 24 % on INR 24,000.00, checked by hand', () => {
    // r = 24 / 12 / 100 = 0.02. (1.02)^12 = 1.268241795…, so
    // EMI = 24000 × 0.02 × 1.268241795 / 0.268241795 = 2269.4303… → 2,269.43.
    // Each month: interest = balance × 2 % rounded half-up to the paisa; principal = 2,269.43 − interest.
    //  n  balance     × 2 %      interest  principal
    //  1  24,000.00   480.0000   480.00    1,789.43
    //  2  22,210.57   444.2114   444.21    1,825.22
    //  3  20,385.35   407.7070   407.71    1,861.72
    //  4  18,523.63   370.4726   370.47    1,898.96
    //  5  16,624.67   332.4934   332.49    1,936.94
    //  6  14,687.73   293.7546   293.75    1,975.68
    //  7  12,712.05   254.2410   254.24    2,015.19
    //  8  10,696.86   213.9372   213.94    2,055.49
    //  9   8,641.37   172.8274   172.83    2,096.60
    // 10   6,544.77   130.8954   130.90    2,138.53
    // 11   4,406.24    88.1248    88.12    2,181.31
    // 12   2,224.93    44.4986    44.50    2,224.93 (the rest; 2,224.93 + 44.50 = 2,269.43, no leftover)
    // Total interest 3,233.16.
    const s = buildSchedule(EMI_24K);
    expect(s.installmentAmount).toBe(226_943);
    expect(s.financed).toBe(2_400_000);
    expect(rows(s)).toEqual([
      ['2026-01-31', 178_943, 48_000],
      ['2026-02-28', 182_522, 44_421],
      ['2026-03-31', 186_172, 40_771],
      ['2026-04-30', 189_896, 37_047],
      ['2026-05-31', 193_694, 33_249],
      ['2026-06-30', 197_568, 29_375],
      ['2026-07-31', 201_519, 25_424],
      ['2026-08-31', 205_549, 21_394],
      ['2026-09-30', 209_660, 17_283],
      ['2026-10-31', 213_853, 13_090],
      ['2026-11-30', 218_131, 8_812],
      ['2026-12-31', 222_493, 4_450],
    ]);
    expect(s.totalInterest).toBe(323_316);
    expect(s.installments.every((i) => installmentTotal(i) === 226_943 && i.fee === 0 && i.penalty === 0)).toBe(true);
    expect(s.installments.map((i) => i.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Cross-check the exact EMI against the textbook float formula.
    const r = 0.02;
    expect(Math.round((2_400_000 * r) / (1 - (1 + r) ** -12))).toBe(226_943);
  });

  it('weekly: KES 5,000.00 at 52 % over 4 weeks, the last installment takes the rounding leftover', () => {
    // r = 52 / 52 / 100 = 1 %; EMI = 5000 × 0.01 / (1 − 1.01^−4) = 1281.4053 → 1,281.41.
    // 1: 50.00 interest, 1,231.41 principal → 3,768.59 left
    // 2: 37.6859 → 37.69, 1,243.72 → 2,524.87 left
    // 3: 25.2487 → 25.25, 1,256.16 → 1,268.71 left
    // 4: 12.6871 → 12.69, 1,268.71 (the rest): 1,281.40, one cent under the EMI.
    const s = buildSchedule({ principal: 500_000, currency: 'KES', annualRatePct: 52, termCount: 4, frequency: 'weekly', method: 'declining', firstDueDate: '2026-03-02' });
    expect(s.installmentAmount).toBe(128_141);
    expect(rows(s)).toEqual([
      ['2026-03-02', 123_141, 5_000],
      ['2026-03-09', 124_372, 3_769],
      ['2026-03-16', 125_616, 2_525],
      ['2026-03-23', 126_871, 1_269],
    ]);
    expect(installmentTotal(s.installments[3]!)).toBe(128_140);
    expect(s.totalInterest).toBe(12_563);
  });

  it('biweekly: 10,000.00 at 36 % over 6 fortnights uses r = 36 / 26 / 100', () => {
    // r = 0.0138461538…; EMI = 10000 × r / (1 − (1 + r)^−6) = 1748.3597 → 1,748.36.
    // Interest 1 = 10,000.00 × r = 138.4615 → 138.46; principal 1,609.90; 8,390.10 left; 8,390.10 × r = 116.17 …
    const s = buildSchedule({ principal: 1_000_000, currency: 'PHP', annualRatePct: 36, termCount: 6, frequency: 'biweekly', method: 'declining', firstDueDate: '2026-01-05' });
    expect(s.installmentAmount).toBe(174_836);
    expect(rows(s)).toEqual([
      ['2026-01-05', 160_990, 13_846],
      ['2026-01-19', 163_219, 11_617],
      ['2026-02-02', 165_479, 9_357],
      ['2026-02-16', 167_770, 7_066],
      ['2026-03-02', 170_093, 4_743],
      ['2026-03-16', 172_449, 2_388],
    ]);
    expect(s.totalInterest).toBe(49_017);
  });

  it('a down payment comes off the principal; a fee is added to every installment', () => {
    // Price 30,000.00 − 6,000.00 down = 24,000.00 financed: the same amortization as above.
    const s = buildSchedule({ ...EMI_24K, principal: 3_000_000, downPayment: 600_000, fee: 5_000 });
    expect(s.downPayment).toBe(600_000);
    expect(s.financed).toBe(2_400_000);
    expect(s.installments.map((i) => i.principal)).toEqual(buildSchedule(EMI_24K).installments.map((i) => i.principal));
    expect(s.totalInterest).toBe(323_316);
    expect(s.installments.every((i) => i.fee === 5_000)).toBe(true);
    expect(s.totalFees).toBe(60_000);
  });

  it('keeps the anchor day through a leap February', () => {
    const s = buildSchedule({ ...EMI_24K, firstDueDate: '2024-01-31', termCount: 4 });
    expect(s.installments.map((i) => i.dueDate)).toEqual(['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30']);
  });

  it('zero interest splits evenly, leftovers last', () => {
    const s = buildSchedule({ principal: 1_000, currency: 'USD', annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'declining', firstDueDate: '2026-05-15' });
    expect(s.installments.map((i) => [i.principal, i.interest])).toEqual([[333, 0], [333, 0], [334, 0]]);
  });
});

describe('flat schedule', () => {
  it('INR 10,000.00 at 18 % flat over 7 months', () => {
    // Interest = 10,000.00 × 18 % / 12 × 7 = 1,050.00 → 150.00 a month.
    // Principal 10,000.00 / 7 = 1,428.57 r 0.01 → 1,428.57 × 6 + 1,428.58.
    const s = buildSchedule({ principal: 1_000_000, currency: 'INR', annualRatePct: 18, termCount: 7, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-10' });
    expect(s.totalInterest).toBe(105_000);
    expect(s.installmentAmount).toBe(157_857);
    expect(s.installments.map((i) => [i.principal, i.interest])).toEqual([
      ...Array.from({ length: 6 }, () => [142_857, 15_000]),
      [142_858, 15_000],
    ]);
    expect(s.installments.map((i) => i.dueDate)).toEqual(['2026-02-10', '2026-03-10', '2026-04-10', '2026-05-10', '2026-06-10', '2026-07-10', '2026-08-10']);
  });

  it('rounds total interest half-up once and gives the leftover to the last installment', () => {
    // 9,999.99 × 20 % / 12 × 3 = 499.9995 → 500.00; 500.00 / 3 = 166.66 × 2 + 166.68.
    const s = buildSchedule({ principal: 999_999, currency: 'USD', annualRatePct: 20, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-10' });
    expect(s.totalInterest).toBe(50_000);
    expect(s.installments.map((i) => [i.principal, i.interest])).toEqual([
      [333_333, 16_666],
      [333_333, 16_666],
      [333_333, 16_668],
    ]);
  });

  it('uses the rate as an exact decimal, not a float', () => {
    // 3.75 × 9.2 % = 0.345 exactly → 0.35 half-up; in floats 375 * 9.2 / 100 is 34.49999999999999 and would round to 0.34.
    const s = buildSchedule({ principal: 375, currency: 'USD', annualRatePct: 9.2, termCount: 12, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-01' });
    expect(s.totalInterest).toBe(35);
    // 1,000.00 × 29.99 % over 52 weeks = 299.90; 299.90 / 52 = 5.76 × 51 + 6.14.
    const w = buildSchedule({ principal: 100_000, currency: 'USD', annualRatePct: 29.99, termCount: 52, frequency: 'weekly', method: 'flat', firstDueDate: '2026-01-01' });
    expect(w.totalInterest).toBe(29_990);
    expect(w.installments[0]!.interest).toBe(576);
    expect(w.installments[51]!.interest).toBe(614);
    expect(w.installments[51]!.dueDate).toBe('2026-12-24');
  });
});

describe('schedule input errors', () => {
  it('names the field and the problem', () => {
    const neg = lienError(() => buildSchedule({ ...EMI_24K, principal: -5 }));
    expect(neg.code).toBe('invalid_amount');
    expect(neg.message).toBe('Amount "principal" must not be negative; got -5.');
    expect(lienError(() => buildSchedule({ ...EMI_24K, principal: 100.5 })).message).toBe(
      'Amount "principal" must be a whole number of minor units (e.g. 250000 for 2,500.00); got 100.5.',
    );
    expect(lienError(() => buildSchedule({ ...EMI_24K, currency: 'RUPEE' })).code).toBe('unknown_currency');
    const down = lienError(() => buildSchedule({ ...EMI_24K, downPayment: 2_400_000 }));
    expect(down.code).toBe('invalid_amount');
    expect(down.message).toBe('The down payment (2400000) must be less than the principal (2400000); otherwise there is nothing to finance.');
    expect(lienError(() => buildSchedule({ ...EMI_24K, termCount: 0 })).message).toBe('termCount must be a whole number of installments from 1 to 1000; got 0.');
    expect(lienError(() => buildSchedule({ ...EMI_24K, annualRatePct: 2400 })).message).toBe(
      'annualRatePct must be a percentage between 0 and 1000 (24 for 24 % a year); got 2400.',
    );
    expect(lienError(() => buildSchedule({ ...EMI_24K, annualRatePct: Number.NaN })).code).toBe('invalid_input');
    expect(lienError(() => buildSchedule({ ...EMI_24K, frequency: 'daily' as never })).message).toBe('frequency must be weekly, biweekly or monthly; got "daily".');
    expect(lienError(() => buildSchedule({ ...EMI_24K, method: 'balloon' as never })).message).toBe('method must be flat or declining; got "balloon".');
    expect(lienError(() => buildSchedule({ ...EMI_24K, firstDueDate: '31/01/2026' })).message).toBe(
      'firstDueDate must be a calendar date written YYYY-MM-DD (e.g. 2026-03-31); got "31/01/2026".',
    );
  });
});

describe('schedule properties', () => {
  const terms = fc.record({
    principal: fc.integer({ min: 1, max: 10_000_000_000 }),
    downShare: fc.double({ min: 0, max: 0.9, noNaN: true }),
    rateBp: fc.integer({ min: 0, max: 20_000 }), // basis points: 0 % … 200 %
    termCount: fc.integer({ min: 1, max: 156 }),
    frequency: fc.constantFrom('weekly' as const, 'biweekly' as const, 'monthly' as const),
    method: fc.constantFrom('flat' as const, 'declining' as const),
    fee: fc.integer({ min: 0, max: 10_000 }),
  });

  it('principal sums to the financed amount exactly; no component is negative; dates strictly increase', () => {
    fc.assert(
      fc.property(terms, (t) => {
        const downPayment = Math.floor(t.principal * t.downShare);
        const s = buildSchedule({
          principal: t.principal,
          downPayment,
          currency: 'INR',
          annualRatePct: t.rateBp / 100,
          termCount: t.termCount,
          frequency: t.frequency,
          method: t.method,
          firstDueDate: '2026-01-31',
          fee: t.fee,
        });
        const is = s.installments;
        expect(s.financed).toBe(t.principal - downPayment);
        expect(is.length).toBe(t.termCount);
        expect(is.reduce((a, i) => a + i.principal, 0)).toBe(s.financed);
        expect(is.reduce((a, i) => a + i.interest, 0)).toBe(s.totalInterest);
        for (const i of is) {
          expect(Number.isSafeInteger(i.principal) && i.principal >= 0).toBe(true);
          expect(Number.isSafeInteger(i.interest) && i.interest >= 0).toBe(true);
          expect(i.fee).toBe(t.fee);
        }
        for (let k = 1; k < is.length; k++) expect(is[k]!.dueDate > is[k - 1]!.dueDate).toBe(true);
        if (t.rateBp === 0) expect(s.totalInterest).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('declining installments before the last all equal the EMI, which matches the textbook formula within a minor unit', () => {
    fc.assert(
      fc.property(terms, (t) => {
        fc.pre(t.rateBp > 0);
        const ppy = { weekly: 52, biweekly: 26, monthly: 12 }[t.frequency];
        const r = t.rateBp / 10_000 / ppy;
        const textbook = (t.principal * r) / (1 - (1 + r) ** -t.termCount);
        // Rounding the EMI and each interest is off by up to one minor unit a period, and that error
        // compounds at (1 + r) a period. Where it could eat the whole last installment (absurd rates
        // over long terms: 15 % a month for ten years) the equal-installment shape cannot hold.
        const drift = ((1 + r) ** t.termCount - 1) / r;
        fc.pre(drift < textbook / (1 + r) / 2);
        const s = buildSchedule({
          principal: t.principal,
          currency: 'USD',
          annualRatePct: t.rateBp / 100,
          termCount: t.termCount,
          frequency: t.frequency,
          method: 'declining',
          firstDueDate: '2026-01-01',
        });
        expect(Math.abs(s.installmentAmount - textbook)).toBeLessThanOrEqual(1);
        for (const i of s.installments.slice(0, -1)) expect(i.principal + i.interest).toBe(s.installmentAmount);
        // Declining balance never charges more interest than flat on the same terms.
        const flat = buildSchedule({ principal: t.principal, currency: 'USD', annualRatePct: t.rateBp / 100, termCount: t.termCount, frequency: t.frequency, method: 'flat', firstDueDate: '2026-01-01' });
        expect(s.totalInterest).toBeLessThanOrEqual(flat.totalInterest + t.termCount);
      }),
      { numRuns: 300 },
    );
  });
});
