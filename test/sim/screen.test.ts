import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildView } from '../../src/agent/enforcement.ts';
import { MemoryNetwork } from '../../src/agent/memory.ts';
import { isOfflineError } from '../../src/agent/ports.ts';
import { OffsetClock, applyClockChange, parseClockChange } from '../../src/agent/sim/offset-clock.ts';
import { describeScreen, lineText, type ScreenModel } from '../../src/agent/sim/screen-model.ts';
import { SwitchableNetwork } from '../../src/agent/sim/switchable-network.ts';
import { renderTerminalScreen, wrap } from '../../src/agent/sim/terminal-screen.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { ScreenMode } from '../../src/agent/ports.ts';
import type { Policy } from '../../src/protocol/index.ts';

const NOW = Date.parse('2026-01-22T07:00:00Z');

function policy(over: Partial<Policy> = {}): Policy {
  return {
    deviceId: 'dev_1',
    version: 3,
    issuedAt: '2026-01-22T07:00:00Z',
    stage: 'locked',
    lockAt: null,
    offlineLockAt: null,
    lender: { name: 'Jamii Finance', phone: '+254700000111', url: 'https://jamii.example', howToPay: 'M-Pesa paybill 123456' },
    amountDue: 1_000_000,
    currency: 'KES',
    message: 'Your phone is locked.',
    allowedNumbers: [],
    lockReference: 'AB12CD34',
    ...over,
  };
}

function screen(mode: ScreenMode, p: Policy | null, opts: { creditUntil?: string; backoff?: number; lang?: 'en' | 'hi' | 'sw' | 'id' | 'es' } = {}): ScreenModel {
  const view = buildView({ mode, policy: p, creditUntil: opts.creditUntil ?? null, nowMs: NOW, backoffSeconds: opts.backoff ?? 0 });
  return describeScreen(view, p, { lang: opts.lang ?? 'en' });
}

const slot = (m: ScreenModel, id: string) =>
  [...m.lines, ...(m.emergency ? [m.emergency] : [])].flatMap((l) => l.parts).find((s) => typeof s !== 'string' && s.id === id) as { text: string } | undefined;
const field = (m: ScreenModel, id: string) => m.fields.find((f) => f.id === id)?.value;

describe('lock screen model (shared by terminal and browser)', () => {
  it('locked: lender, amount with the currency exponent, reference, emergency line, code entry', () => {
    const m = screen('locked', policy());
    expect(m.modeLabel).toBe('LOCKED');
    expect(m.title).toBe('This phone is locked');
    expect(field(m, 'lender-name')).toBe('Jamii Finance');
    expect(field(m, 'support-phone')).toBe('+254700000111');
    expect(field(m, 'amount-due')).toBe('Ksh\u00a010,000.00');
    expect(field(m, 'how-to-pay')).toBe('M-Pesa paybill 123456');
    expect(slot(m, 'lock-reference')?.text).toBe('AB12CD34');
    expect(m.emergency && lineText(m.emergency)).toBe('Emergency calls always work. 112 · 911 · 999 …');
    expect(m.codeEntry).toEqual({ enabled: true, label: 'Enter unlock code', submit: 'Unlock' });
  });

  it('reads minor units with the ISO exponent, not Intl display digits (IDR: 2 vs 0)', () => {
    // 1,500,000 sen = Rp 15,000; Intl's digits alone would show a hundred times that.
    expect(field(screen('locked', policy({ currency: 'IDR', amountDue: 1_500_000 }), { lang: 'id' }), 'amount-due')).toBe('Rp\u00a015.000');
    expect(field(screen('locked', policy({ currency: 'UGX', amountDue: 50_000 })), 'amount-due')).toBe('USh\u00a050,000');
  });

  it('notice: the deadline and the amount sit where each language puts them', () => {
    const p = policy({ stage: 'notice', noticeUntil: '2026-01-24T07:00:00Z' });
    const en = screen('notice', p);
    expect(en.title).toBe('Pay now to avoid a lock');
    const line = (m: ScreenModel, id: string) => m.lines.find((l) => l.id === id)!;
    expect(lineText(line(en, 'reason'))).toBe('A payment to Jamii Finance is overdue.');
    expect(lineText(line(en, 'notice-body'))).toBe('Ksh\u00a010,000.00 is overdue. Pay it by 24 January 2026 at 07:00 UTC or this phone will be locked.');
    expect(slot(en, 'notice-until')?.text).toBe('24 January 2026 at 07:00 UTC');
    const hi = screen('notice', p, { lang: 'hi' });
    const parts = line(hi, 'notice-body').parts.filter((s) => typeof s !== 'string').map((s) => (s as { id: string }).id);
    expect(parts).toEqual(['notice-amount', 'notice-until']);
    expect(hi.title).toBe('लॉक से बचने के लिए अभी भुगतान करें');
    expect(hi.emergency).toBeNull();
  });

  it('a code\'s credit: NORMAL with the end of the credit and without the stage\'s lock message', () => {
    const m = screen('normal', policy(), { creditUntil: '2026-01-29T07:00:00Z' });
    expect(m.modeLabel).toBe('NORMAL');
    expect(slot(m, 'credit-until')?.text).toBe('29 January 2026 at 07:00 UTC');
    expect(m.lines.some((l) => l.id === 'message')).toBe(false);
    expect(m.emergency).toBeNull();
  });

  it('backoff disables code entry and says how long to wait', () => {
    const m = screen('locked', policy(), { backoff: 90 });
    expect(m.codeEntry?.enabled).toBe(false);
    expect(slot(m, 'backoff')?.text).toBe('1 minute and 30 seconds');
    expect(lineText(m.lines.find((l) => l.id === 'backoff')!)).toBe('Too many wrong codes. Try again in 1 minute and 30 seconds.');
  });

  it('released and dormant phones take no codes and show no debt', () => {
    const released = screen('released', policy({ stage: 'released' }));
    expect(released.title).toBe('Your phone is paid off');
    expect(released.codeEntry).toBeNull();
    expect(field(released, 'amount-due')).toBeUndefined();
    const dormant = screen('dormant', null);
    expect(dormant).toMatchObject({ modeLabel: 'NOT FINANCED', title: null, fields: [], codeEntry: null, emergency: null });
  });
});

describe('terminal screen', () => {
  it('draws a box of even width with the mode on its edge and keeps amounts on one line', () => {
    const text = renderTerminalScreen(screen('locked', policy({ message: 'x'.repeat(120) })), {
      online: false,
      streamOpen: false,
      now: new Date(NOW),
      deviceId: 'dev_1',
      outcome: { ok: false, text: 'That code did not work.' },
    });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^╭─\[ LOCKED \]─+╮$/);
    const box = lines.slice(0, lines.findIndex((l) => l.startsWith('╰')) + 1);
    expect(new Set(box.map((l) => l.length)).size).toBe(1);
    expect(text).toContain('│ Amount due: Ksh\u00a010,000.00');
    expect(text).toContain('network OFFLINE · stream closed · phone clock 2026-01-22T07:00:00Z · dev_1');
    expect(text).toContain('  ! That code did not work.');
  });

  it('wrap never loses or reorders text and never exceeds the width', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z\u00a0]{1,30}$/), { maxLength: 30 }), fc.integer({ min: 5, max: 40 }), (words, width) => {
        const text = words.join(' ');
        const out = wrap(text, width);
        expect(out.every((l) => l.length <= width)).toBe(true);
        expect(out.join('').replace(/ /g, '')).toBe(text.replace(/ /g, ''));
      }),
    );
  });
});

describe('phone clock', () => {
  it('parses moves and instants, and refuses anything else in words', () => {
    expect(parseClockChange('+3d')).toEqual({ kind: 'advance', ms: 3 * 86_400_000 });
    expect(parseClockChange('+5h')).toEqual({ kind: 'advance', ms: 5 * 3_600_000 });
    expect(parseClockChange('-30m')).toEqual({ kind: 'advance', ms: -30 * 60_000 });
    expect(parseClockChange('2026-02-01T00:00:00Z')).toEqual({ kind: 'set', at: new Date('2026-02-01T00:00:00Z') });
    for (const bad of ['3d', '+3w', '2026-02-01', 'tomorrow', '']) expect(() => parseClockChange(bad)).toThrow(/not a clock change/);
  });

  it('keeps running with the clock under it after a move', () => {
    const base = new ManualClock('2026-11-25T08:00:00Z');
    const phone = new OffsetClock(base);
    applyClockChange(phone, parseClockChange('2026-01-01T06:00:00Z'));
    base.advance(90_000);
    expect(phone.now().toISOString()).toBe('2026-01-01T06:01:30.000Z');
    applyClockChange(phone, parseClockChange('+3d'));
    expect(phone.now().toISOString()).toBe('2026-01-04T06:01:30.000Z');
  });
});

describe('airplane mode', () => {
  it('offline: requests throw OfflineError and open streams close from the far side; online: they work again', async () => {
    const inner = new MemoryNetwork({
      nonce: () => ({ ok: true, body: { nonce: 'n', expiresAt: '2026-01-01T00:05:00Z' } }),
      enroll: () => ({ ok: false, status: 400, code: 'x', message: 'x' }),
      checkin: () => ({ ok: false, status: 400, code: 'x', message: 'x' }),
    });
    const net = new SwitchableNetwork(inner);
    let closed = 0;
    await net.connectStream('dev_1', {}, () => undefined, () => closed++);
    expect(net.openStreams).toBe(1);
    net.setOnline(false);
    expect(closed).toBe(1);
    expect(net.openStreams).toBe(0);
    await expect(net.nonce()).rejects.toSatisfy(isOfflineError);
    await expect(net.connectStream('dev_1', {}, () => undefined)).rejects.toSatisfy(isOfflineError);
    net.setOnline(true);
    expect(await net.nonce()).toMatchObject({ ok: true, body: { nonce: 'n' } });
  });

  it('never shows the English fallback sentence of the policy: every sentence is the catalog\'s (#15)', () => {
    const p = policy({ message: 'This phone is locked because a payment to Jamii Finance is overdue.', facts: { reason: 'overdue', dueDate: '2026-01-10', timeZone: 'Africa/Nairobi' } });
    for (const lang of ['hi', 'sw'] as const) {
      const m = screen('locked', p, { lang });
      const all = [...m.lines, ...m.notes].map(lineText).join('\n');
      expect(all).not.toContain('overdue');
      expect(m.modeLabel).toBe(lang === 'hi' ? 'लॉक' : 'IMEFUNGWA');
      expect(slot(m, 'overdue-since')?.text).toBe(lang === 'hi' ? '10 जनवरी 2026' : '10 Januari 2026');
    }
    // A 1.0 policy (no facts) is worded from its stage, still in the borrower's language.
    const old = screen('locked', policy({ message: 'Your phone is locked.' }), { lang: 'sw' });
    expect(lineText(old.lines.find((l) => l.id === 'reason')!)).toBe('Malipo kwa Jamii Finance yamechelewa.');
  });

  it("shows the notice deadline in the lender's zone from the policy's facts", () => {
    const p = policy({ stage: 'notice', noticeUntil: '2026-01-24T07:00:00Z', facts: { reason: 'overdue', dueDate: '2026-01-20', timeZone: 'Africa/Nairobi' } });
    expect(slot(screen('notice', p), 'notice-until')?.text).toBe('24 January 2026 at 10:00');
  });

  it("the lender's texts in the borrower's language, each falling back to the default on its own", () => {
    const p = policy({
      lender: { name: 'Jamii Finance', phone: '+254700000111', url: '', howToPay: 'M-Pesa paybill 123456', supportHours: 'Mon–Fri 8–17', message: 'Default message' },
      lenderTexts: { sw: { howToPay: 'Lipa kwa M-Pesa 123456', message: 'Ujumbe wetu' } },
    });
    const sw = screen('locked', p, { lang: 'sw' });
    expect(field(sw, 'how-to-pay')).toBe('Lipa kwa M-Pesa 123456');
    expect(field(sw, 'support-hours')).toBe('Mon–Fri 8–17');
    expect(field(sw, 'lender-message')).toBe('Ujumbe wetu');
    expect(sw.fields.find((f) => f.id === 'lender-message')?.label).toBe('Ujumbe kutoka Jamii Finance');
    const hi = screen('locked', p, { lang: 'hi' });
    expect(field(hi, 'how-to-pay')).toBe('M-Pesa paybill 123456');
    expect(field(hi, 'lender-message')).toBe('Default message');
  });

  it('the lender note: a catalog template with its values, or the lender\'s own text per language', () => {
    const note = { id: 'msg_1', template: 'pay_by' as const, params: { amount: 250_000, date: '2026-02-01' }, sentAt: '2026-01-22T07:00:00Z' };
    const hi = screen('locked', policy({ note }), { lang: 'hi' });
    expect(lineText(hi.lines.find((l) => l.id === 'note')!)).toBe('कृपया 1 फ़रवरी 2026 तक KES\u00a02,500.00 चुका दें।');
    const custom = { id: 'msg_2', template: 'custom' as const, params: {}, texts: { default: 'Come to the shop', sw: 'Njoo dukani' }, sentAt: '2026-01-22T07:00:00Z' };
    expect(slot(screen('notice', policy({ stage: 'notice', note: custom }), { lang: 'sw' }), 'note-text')?.text).toBe('Njoo dukani');
    expect(slot(screen('notice', policy({ stage: 'notice', note: custom }), { lang: 'hi' }), 'note-text')?.text).toBe('Come to the shop');
    expect(screen('released', policy({ stage: 'released', note: custom })).lines.some((l) => l.id === 'note')).toBe(false);
  });
});
