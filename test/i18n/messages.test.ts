import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOGS, fillTemplate, messageKeys, t, type Lang, type MessageKey } from '../../src/i18n/index.ts';

describe('t()', () => {
  it('fills placeholders in each language', () => {
    expect(t('en', 'lock.contact', { lender: 'Jamii Finance', phone: '0700 123 456' })).toBe(
      'Questions? Call Jamii Finance on 0700 123 456.',
    );
    expect(t('sw', 'lock.contact', { lender: 'Jamii Finance', phone: '0700 123 456' })).toBe(
      'Una swali? Piga Jamii Finance kwa nambari 0700 123 456.',
    );
    expect(t('hi', 'lock.reason', { amount: '₹2,269.42', date: '15 मार्च 2026' })).toBe(
      '15 मार्च 2026 से ₹2,269.42 का भुगतान बाकी है।',
    );
    expect(t('es', 'lock.reminder.body', { amount: '$2,269.42', dueDate: '15 de marzo de 2026' })).toBe(
      'Tu pago de $2,269.42 vence el 15 de marzo de 2026. Paga a tiempo para seguir usando tu celular.',
    );
  });

  it('returns the template unchanged without params, and accepts numbers and bigints', () => {
    expect(t('id', 'lock.title')).toBe('Ponsel ini terkunci');
    expect(t('en', 'portal.error.rateLimited', { minutes: 15 })).toContain('in 15 minutes');
    expect(t('en', 'lock.reference', { reference: 12345678901234567890n })).toBe('Lock reference: 12345678901234567890');
  });

  it('leaves a missing parameter visible instead of throwing', () => {
    expect(t('en', 'lock.contact', { lender: 'Jamii' })).toBe('Questions? Call Jamii on {phone}.');
    expect(t('en', 'lock.contact', { lender: 'Jamii', phone: undefined })).toBe('Questions? Call Jamii on {phone}.');
    expect(t('en', 'lock.contact', {})).toBe('Questions? Call {lender} on {phone}.');
  });

  it('never expands placeholders inside values, and escapes nothing', () => {
    expect(t('en', 'lock.contact', { lender: '{phone} <b>&amp;</b>', phone: '"1"' })).toBe(
      'Questions? Call {phone} <b>&amp;</b> on "1".',
    );
  });

  it('falls back to English only when a translation is missing', () => {
    const hi = CATALOGS.hi as Record<string, string>;
    const saved = hi['lock.title'] as string;
    try {
      delete hi['lock.title'];
      expect(t('hi', 'lock.title')).toBe('This phone is locked');
    } finally {
      hi['lock.title'] = saved;
    }
    expect(t('hi', 'lock.title')).toBe('यह फ़ोन लॉक है');
  });

  it('survives callers that bypass the types', () => {
    expect(t('fr' as Lang, 'lock.title')).toBe('This phone is locked');
    expect(t('__proto__' as Lang, 'lock.title')).toBe('This phone is locked');
    expect(t('en', 'no.such.key' as MessageKey)).toBe('no.such.key');
    expect(t('en', 'constructor' as MessageKey)).toBe('constructor');
  });

  it('never throws, whatever the language, key and values', () => {
    const keys = [...messageKeys(), 'toString', '__proto__', 'x'] as MessageKey[];
    fc.assert(
      fc.property(
        fc.constantFrom<string>('en', 'hi', 'sw', 'id', 'es', 'fr', 'hasOwnProperty'),
        fc.constantFrom(...keys),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string()),
        (lang, key, params) => {
          expect(typeof t(lang as Lang, key, params as never)).toBe('string');
        },
      ),
    );
  });
});

describe('fillTemplate', () => {
  it('puts every given value in verbatim, once per use', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(fillTemplate('[{a}|{b}|{a}]', { a, b })).toBe(`[${a}|${b}|${a}]`);
      }),
    );
  });

  it('ignores braces that are not placeholders', () => {
    expect(fillTemplate('{ a } {1x} {a', { a: 'no' })).toBe('{ a } {1x} {a');
  });
});
