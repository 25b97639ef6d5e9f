import { describe, expect, it } from 'vitest';
import { amountText as formatAmount, buildView, callAllowed, decideEnforcement, isEmergencyNumber } from '../../src/agent/enforcement.ts';
import type { Policy } from '../../src/protocol/index.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');

function policy(over: Partial<Policy> = {}): Policy {
  return {
    deviceId: 'dev_1',
    version: 4,
    issuedAt: '2026-03-01T00:00:00Z',
    stage: 'current',
    lockAt: null,
    offlineLockAt: '2026-03-20T00:00:00Z',
    lender: { name: 'Acme Credit', phone: '+254 700 000 111', url: 'https://acme.example/pay', howToPay: 'M-Pesa paybill 123456' },
    amountDue: 125000,
    currency: 'KES',
    message: 'Please pay your installment',
    allowedNumbers: ['+254711222333'],
    lockReference: 'LK-42',
    ...over,
  } as Policy;
}

const decide = (p: Policy | null, creditUntil: string | null = null, nowMs = NOW) =>
  decideEnforcement({ policy: p, nowMs, creditUntil, released: false, dormant: false });

describe('enforcement', () => {
  it('follows the stage while no lock time has passed', () => {
    expect(decide(null).mode).toBe('normal');
    expect(decide(policy({ stage: 'current' })).mode).toBe('normal');
    expect(decide(policy({ stage: 'reminder' })).mode).toBe('reminder');
    expect(decide(policy({ stage: 'notice' })).mode).toBe('notice');
    expect(decide(policy({ stage: 'restricted' })).mode).toBe('restricted');
    expect(decide(policy({ stage: 'locked' }))).toEqual({ mode: 'locked', lockCause: 'stage', creditOverride: false });
    expect(decide(policy({ stage: 'released' })).mode).toBe('released');
  });

  it('locks on its own when lockAt or offlineLockAt passes, to the millisecond', () => {
    const lockAt = '2026-03-10T12:00:00Z';
    expect(decide(policy({ stage: 'notice', lockAt }), null, NOW - 1).mode).toBe('notice');
    expect(decide(policy({ stage: 'notice', lockAt }), null, NOW)).toEqual({ mode: 'locked', lockCause: 'lock_at', creditOverride: false });
    expect(decide(policy({ offlineLockAt: lockAt }), null, NOW)).toEqual({ mode: 'locked', lockCause: 'offline', creditOverride: false });
  });

  it('lets unlock-code credit hold back a lock or restriction until it runs out', () => {
    const credit = '2026-03-12T12:00:00Z';
    expect(decide(policy({ stage: 'locked' }), credit)).toEqual({ mode: 'normal', lockCause: null, creditOverride: true });
    expect(decide(policy({ stage: 'restricted' }), credit).mode).toBe('normal');
    expect(decide(policy({ stage: 'locked' }), credit, Date.parse(credit)).mode).toBe('locked');
  });

  it('never locks written-off or returned contracts, whatever their times say', () => {
    const past = '2026-03-01T00:00:00Z';
    expect(decide(policy({ stage: 'written_off', lockAt: past, offlineLockAt: past })).mode).toBe('normal');
    expect(decide(policy({ stage: 'returned', lockAt: past, offlineLockAt: past })).mode).toBe('normal');
  });

  it('lets a locked phone call emergencies, the lender and allowed numbers in any written form', () => {
    const p = policy({ stage: 'locked' });
    for (const n of ['112', '911', '999', '000', '100', '101', '102', '108', '1 1 2']) expect(callAllowed(n, 'locked', p)).toBe(true);
    expect(callAllowed('0700 000 111', 'locked', p)).toBe(true); // national form of the lender's line
    expect(callAllowed('+254700000111', 'locked', p)).toBe(true);
    expect(callAllowed('0711-222-333', 'locked', p)).toBe(true);
    expect(callAllowed('+254 722 999 888', 'locked', p)).toBe(false);
    expect(callAllowed('1', 'locked', p)).toBe(false);
    expect(callAllowed('', 'locked', p)).toBe(false);
    expect(callAllowed('+254 722 999 888', 'normal', p)).toBe(true);
    expect(isEmergencyNumber('11')).toBe(false);
  });

  it('keeps calls on while restricted', () => {
    expect(callAllowed('+254 722 999 888', 'restricted', policy({ stage: 'restricted' }))).toBe(true);
  });

  it('formats minor units with the currency decimals, without floats', () => {
    expect(formatAmount(125000, 'KES')).toBe('1,250.00');
    expect(formatAmount(5000, 'UGX')).toBe('5,000');
    expect(formatAmount(7, 'USD')).toBe('0.07');
    expect(formatAmount(1234567, 'KWD')).toBe('1,234.567');
    expect(formatAmount('900719925474099312', 'INR')).toBe('9,007,199,254,740,993.12');
    expect(formatAmount(-250, 'EUR')).toBe('-2.50');
  });

  it('puts the lender on every enforcing screen and takes codes unless backing off', () => {
    const p = policy({ stage: 'locked' });
    const v = buildView({ mode: 'locked', policy: p, creditUntil: null, nowMs: NOW, backoffSeconds: 0 });
    expect(v).toMatchObject({
      mode: 'locked',
      lender: p.lender,
      amountDue: '1,250.00',
      currency: 'KES',
      lockReference: 'LK-42',
      codeEntryEnabled: true,
      allowedNumbers: ['+254 700 000 111', '+254711222333'],
    });
    expect(v.emergencyNumbers).toContain('112');
    const waiting = buildView({ mode: 'locked', policy: p, creditUntil: null, nowMs: NOW, backoffSeconds: 30 });
    expect(waiting).toMatchObject({ codeEntryEnabled: false, backoffSecondsRemaining: 30 });
    const dormant = buildView({ mode: 'dormant', policy: null, creditUntil: null, nowMs: NOW, backoffSeconds: 0 });
    expect(dormant).toMatchObject({ lender: null, codeEntryEnabled: false, amountDue: null });
  });
});
