/** The finance core's public API: money, currencies, IMEIs, schedules, allocation, delinquency, business dates. */
export { CURRENCIES, assertCurrency, currency, findCurrency, type Currency } from './currency.ts';
export {
  addMoney,
  assertMinor,
  assertPositiveMinor,
  formatAmount,
  formatMoney,
  money,
  parseAmount,
  sumMinor,
  type AmountRules,
  type Grouping,
  type Money,
} from './money.ts';
export { imeiCheckDigit, isValidImei, normaliseImei, validateImei } from './imei.ts';
export {
  addDays,
  addMonthsClamped,
  assertPlainDate,
  assertTimeZone,
  businessDateIn,
  compareDates,
  daysInMonth,
  diffDays,
  isLeapYear,
  isPlainDate,
  type PlainDate,
} from './dates.ts';
export {
  MAX_ANNUAL_RATE_PCT,
  MAX_TERM_COUNT,
  PERIODS_PER_YEAR,
  buildSchedule,
  dueDate,
  installmentTotal,
  periodicRate,
  type AmortizationMethod,
  type Frequency,
  type Installment,
  type Schedule,
  type ScheduleInput,
} from './schedule.ts';
export {
  COMPONENTS,
  DEFAULT_ALLOCATION_ORDER,
  allocate,
  componentsTotal,
  zeroComponents,
  type Allocation,
  type AllocationInput,
  type Component,
  type Components,
  type InstallmentAllocation,
  type PaymentAllocation,
  type PaymentInput,
  type PaymentSplit,
} from './allocation.ts';
export { DEFAULT_BUCKETS, bucketFor, delinquency, validateBuckets, type Bucket, type Delinquency, type DelinquencyInput, type DelinquencyInstallment } from './delinquency.ts';
