import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inApprovedCountry, nextProvisionState, PROVISION_STATES, validateDeviceLockSettings, type ProvisionState } from '../../src/domain/android-device-lock.ts';

const T0 = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

describe('Device Lock settings', () => {
  const valid = { kioskAppPackage: 'com.lender.kiosk', kioskAppMainActivity: 'com.lender.kiosk/.Pay', termsUrl: 'https://lender.example/terms' };
  it('fills defaults and refuses what a phone could not use, naming the field', () => {
    expect(validateDeviceLockSettings(valid)).toEqual({ ...valid, allowlistPackages: [], provisionType: 'DEFERRED', approvedCountries: [], daysUntilReset: 7 });
    expect(() => validateDeviceLockSettings({ ...valid, kioskAppMainActivity: 'com.other/.Pay' })).toThrow(/must be an activity of com.lender.kiosk/);
    expect(() => validateDeviceLockSettings({ ...valid, termsUrl: 'http://x' })).toThrow(/androidDeviceLock\.termsUrl/);
    expect(() => validateDeviceLockSettings({ ...valid, approvedCountries: ['KE'] })).toThrow(/androidDeviceLock\.approvedCountries\.0/);
    expect(() => validateDeviceLockSettings({ ...valid, wipe: true })).toThrow(/androidDeviceLock/);
  });
  it('approves a SIM by its mobile country code; an empty list approves any', () => {
    expect(inApprovedCountry('63902', ['639'])).toBe(true);
    expect(inApprovedCountry('310260', ['639'])).toBe(false);
    expect(inApprovedCountry(null, ['639'])).toBe(false);
    expect(inApprovedCountry(null, [])).toBe(true);
  });
});

describe('nextProvisionState', () => {
  const step = (previous: ProvisionState, days: number, firstFailureAt: Date | null = T0) =>
    nextProvisionState({ previous, success: false, firstFailureAt, now: new Date(T0.getTime() + days * DAY), daysUntilReset: 7 });

  it('retries quietly first, then tells the borrower, then asks for a reset when the days run out', () => {
    expect(step('UNSPECIFIED', 0, null)).toEqual({ next: 'RETRY', daysLeftUntilReset: 7, firstFailureAt: T0 });
    expect(step('RETRY', 0).next).toBe('DISMISSIBLE_UI');
    expect(step('DISMISSIBLE_UI', 5)).toMatchObject({ next: 'DISMISSIBLE_UI', daysLeftUntilReset: 2 });
    expect(step('DISMISSIBLE_UI', 6)).toMatchObject({ next: 'PERSISTENT_UI', daysLeftUntilReset: 1 });
    expect(step('PERSISTENT_UI', 7)).toMatchObject({ next: 'FACTORY_RESET', daysLeftUntilReset: 0 });
    expect(nextProvisionState({ previous: 'FACTORY_RESET', success: true, firstFailureAt: T0, now: T0, daysUntilReset: 7 })).toEqual({ next: 'SUCCESS', daysLeftUntilReset: null, firstFailureAt: null });
  });

  it('never resets before the days have passed, and never steps back towards less urgency', () => {
    const order: Record<ProvisionState, number> = { UNSPECIFIED: 0, SUCCESS: 0, RETRY: 1, DISMISSIBLE_UI: 2, PERSISTENT_UI: 3, FACTORY_RESET: 4 };
    fc.assert(
      fc.property(fc.constantFrom(...PROVISION_STATES), fc.double({ min: 0, max: 30, noNaN: true }), (previous, days) => {
        const r = step(previous, days);
        if (r.next === 'FACTORY_RESET' && previous !== 'FACTORY_RESET') expect(days).toBeGreaterThanOrEqual(7);
        if (previous !== 'SUCCESS' && previous !== 'UNSPECIFIED') expect(order[r.next]).toBeGreaterThanOrEqual(order[previous]);
      }),
    );
  });
});
