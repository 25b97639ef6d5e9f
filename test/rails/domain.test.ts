import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDarajaTime, normalizeReference, parseDarajaTime } from '../../src/domain/rails.ts';
import { deliveryState } from '../../src/services/notifications.ts';
import { africasTalkingReport, twilioReport, twilioSignature } from '../../src/services/sms.ts';

describe('Daraja TransTime', () => {
  it('is East Africa Time, UTC+3 all year', () => {
    expect(parseDarajaTime('20260117230512')!.toISOString()).toBe('2026-01-17T20:05:12.000Z');
    expect(parseDarajaTime('20260701000000')!.toISOString()).toBe('2026-06-30T21:00:00.000Z');
  });
  it('refuses what is not a real date and time', () => {
    for (const bad of ['20260231120000', '20261301120000', '20260101240000', '2026011723051', '2026-01-17 23:05', '']) expect(parseDarajaTime(bad), bad).toBeNull();
  });
  it('round-trips every second', () => {
    fc.assert(fc.property(fc.integer({ min: Date.UTC(2000, 0, 1) / 1000, max: Date.UTC(2099, 11, 31) / 1000 }), (sec) => {
      const at = new Date(sec * 1000);
      expect(parseDarajaTime(formatDarajaTime(at))!.getTime()).toBe(at.getTime());
    }));
  });
});

describe('account references', () => {
  it('ignore case and spaces', () => {
    expect(normalizeReference(' ab12 cd34 ')).toBe('AB12CD34');
    fc.assert(fc.property(fc.string(), (s) => normalizeReference(normalizeReference(s)) === normalizeReference(s)));
  });
});

describe('delivery reports and states', () => {
  it("reads Africa's Talking statuses", () => {
    expect(africasTalkingReport(new URLSearchParams('id=a&status=Success'))).toEqual({ messageId: 'a', outcome: 'delivered' });
    expect(africasTalkingReport(new URLSearchParams('id=a&status=Rejected&failureReason=InsufficientCredit'))).toEqual({ messageId: 'a', outcome: 'failed', reason: 'Rejected: InsufficientCredit' });
    expect(africasTalkingReport(new URLSearchParams('id=a&status=Buffered'))).toMatchObject({ outcome: 'pending' });
    expect(africasTalkingReport(new URLSearchParams('status=Success'))).toBeNull();
  });
  it('reads Twilio statuses', () => {
    expect(twilioReport(new URLSearchParams('MessageSid=SM1&MessageStatus=delivered'))).toEqual({ messageId: 'SM1', outcome: 'delivered' });
    expect(twilioReport(new URLSearchParams('MessageSid=SM1&MessageStatus=failed&ErrorCode=30008'))).toEqual({ messageId: 'SM1', outcome: 'failed', reason: 'failed (Twilio error 30008)' });
  });
  it("signs like Twilio's documented example", () => {
    // Twilio's security documentation example: this URL, these parameters and auth token 12345.
    const params = new URLSearchParams({ CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' });
    expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });
  it('queued → sent → delivered or failed with a reason', () => {
    const base = { status: 'pending', last_error: null, delivery_status: null, delivery_detail: null } as const;
    expect(deliveryState(base)).toEqual({ state: 'queued', reason: null });
    expect(deliveryState({ ...base, last_error: 'HTTP 503' })).toEqual({ state: 'queued', reason: 'HTTP 503' });
    expect(deliveryState({ ...base, status: 'sent' })).toEqual({ state: 'sent', reason: null });
    expect(deliveryState({ ...base, status: 'sent', delivery_status: 'delivered' })).toEqual({ state: 'delivered', reason: null });
    expect(deliveryState({ ...base, status: 'sent', delivery_status: 'failed', delivery_detail: 'Failed: UserInBlacklist' })).toEqual({ state: 'failed', reason: 'Failed: UserInBlacklist' });
    expect(deliveryState({ ...base, status: 'failed', last_error: 'refused' })).toEqual({ state: 'failed', reason: 'refused' });
  });
});
