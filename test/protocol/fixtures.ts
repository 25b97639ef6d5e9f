import fc from 'fast-check';
import { newLockReference, STAGE_VALUES, type Policy } from '../../src/protocol/index.ts';

export function policy(over: Partial<Policy> = {}): Policy {
  return {
    deviceId: 'dev_1',
    version: 3,
    issuedAt: '2026-03-01T08:00:00.000Z',
    stage: 'locked',
    lockAt: null,
    offlineLockAt: '2026-04-01T00:00:00.000Z',
    lender: { name: 'Jamii Credit', phone: '+254700000111', url: 'https://jamii.example', howToPay: 'M-Pesa paybill 123456' },
    amountDue: 250000,
    currency: 'KES',
    message: 'Pay to unlock',
    allowedNumbers: ['+254700000111'],
    lockReference: 'AB12CD34',
    ...over,
  };
}

const instant = fc
  .integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') })
  .map((ms) => new Date(ms).toISOString());
// Whole graphemes from all of Unicode: accents, scripts, emoji (binary units cost a second to set up).
// Lengths stay well under the schema bounds: one grapheme can be a dozen UTF-16 units.
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const nonEmpty = (maxLength: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength });
const phone = fc.stringMatching(/^\+[1-9]\d{6,13}$/);

/** Valid policies for `deviceId`, versions within [minVersion, maxVersion]. */
export function arbitraryPolicy(deviceId: string, minVersion = 1, maxVersion = 1_000_000): fc.Arbitrary<Policy> {
  return fc.record(
    {
      deviceId: fc.constant(deviceId),
      version: fc.integer({ min: minVersion, max: maxVersion }),
      issuedAt: instant,
      stage: fc.constantFrom(...STAGE_VALUES),
      lockAt: fc.option(instant, { nil: null }),
      offlineLockAt: fc.option(instant, { nil: null }),
      lender: fc.record(
        { name: nonEmpty(8), phone, url: text(20), howToPay: text(60), supportHours: text(10) },
        { requiredKeys: ['name', 'phone', 'url', 'howToPay'] },
      ),
      amountDue: fc.maxSafeNat(),
      currency: fc.constantFrom('KES', 'INR', 'IDR', 'USD', 'NGN'),
      message: text(100),
      allowedNumbers: fc.array(phone, { maxLength: 4 }),
      lockReference: fc.uint8Array({ minLength: 5, maxLength: 5 }).map(newLockReference),
      noticeUntil: fc.option(instant, { nil: null }),
      noticeIndex: fc.option(fc.nat(5), { nil: null }),
      nextCheckinAt: instant,
    },
    { requiredKeys: ['deviceId', 'version', 'issuedAt', 'stage', 'lockAt', 'offlineLockAt', 'lender', 'amountDue', 'currency', 'message', 'allowedNumbers', 'lockReference'] },
  );
}

/** The same JSON value with every object's keys in reverse order, as another JSON library might send it. */
export function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  return value;
}
