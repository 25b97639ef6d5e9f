import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LANGUAGES, isLang, matchLanguage, negotiateLanguage, parseAcceptLanguage } from '../../src/i18n/index.ts';

describe('LANGUAGES', () => {
  it('lists the five languages with native names', () => {
    expect(LANGUAGES.map((l) => [l.code, l.name, l.dir])).toEqual([
      ['en', 'English', 'ltr'],
      ['hi', 'हिन्दी', 'ltr'],
      ['sw', 'Kiswahili', 'ltr'],
      ['id', 'Bahasa Indonesia', 'ltr'],
      ['es', 'Español', 'ltr'],
    ]);
  });

  it('isLang accepts exactly the codes', () => {
    for (const l of LANGUAGES) expect(isLang(l.code)).toBe(true);
    for (const s of ['EN', 'fr', 'sw-KE', '', 'toString', '__proto__', undefined, 1]) expect(isLang(s)).toBe(false);
  });
});

describe('matchLanguage', () => {
  it('matches on the base language, in any case and with underscores', () => {
    expect(matchLanguage('sw-KE')).toBe('sw');
    expect(matchLanguage('sw-TZ')).toBe('sw');
    expect(matchLanguage('es-MX')).toBe('es');
    expect(matchLanguage('ES_mx')).toBe('es');
    expect(matchLanguage('hi-Latn-IN')).toBe('hi');
    expect(matchLanguage(' id ')).toBe('id');
  });

  it('reads the legacy Java code for Indonesian', () => {
    expect(matchLanguage('in-ID')).toBe('id');
    expect(matchLanguage('in_ID')).toBe('id');
  });

  it('rejects what it does not support', () => {
    for (const tag of ['fr-FR', 'eng', 'swa', '', '-', 'hasOwnProperty']) expect(matchLanguage(tag)).toBeUndefined();
  });
});

describe('parseAcceptLanguage', () => {
  it('orders by q-value, keeping the sender order for ties, and drops q=0, malformed q and *', () => {
    expect(parseAcceptLanguage('en;q=0.5, sw-KE, fr;q=0, es;q=0.5, hi;q=x, *;q=0.1, id;q=1.0')).toEqual([
      'sw-KE',
      'id',
      'en',
      'es',
    ]);
  });
});

describe('negotiateLanguage', () => {
  const cases: [header: string | undefined, preferred: string | null | undefined, expected: string][] = [
    [undefined, undefined, 'en'],
    ['', undefined, 'en'],
    ['sw-KE,sw;q=0.9,en;q=0.8', undefined, 'sw'],
    ['es-MX', undefined, 'es'],
    ['hi-IN,hi;q=0.9,en-US;q=0.8,en;q=0.7', undefined, 'hi'],
    ['id-ID,id;q=0.9', undefined, 'id'],
    ['en;q=0.5, sw;q=0.9', undefined, 'sw'],
    ['fr-FR, es-MX;q=0.8, en;q=0.7', undefined, 'es'], // unsupported first choice is skipped
    ['fr, de;q=0.9', undefined, 'en'],
    ['sw;q=0', undefined, 'en'],
    ['en;q=0, hi;q=0.001', undefined, 'hi'],
    ['sw;q=abc, es', undefined, 'es'],
    ['es, hi', undefined, 'es'],
    ['*', undefined, 'en'],
    ['en-US,en;q=0.9', 'sw', 'sw'], // the explicit choice wins
    ['en-US', 'es-MX', 'es'],
    ['en-US', 'in_ID', 'id'], // an Android locale string passed by the agent
    ['hi', 'fr', 'hi'], // an unsupported preference falls through to the header
    ['hi', '', 'hi'],
    ['hi', null, 'hi'],
    [undefined, 'zz', 'en'],
  ];

  it.each(cases)('header %j with preference %j → %s', (header, preferred, expected) => {
    expect(negotiateLanguage(header, preferred)).toBe(expected);
  });

  it('always answers with a supported language, whatever arrives', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 300 }), { nil: undefined }), fc.option(fc.string(), { nil: null }), (header, pref) => {
        expect(isLang(negotiateLanguage(header, pref))).toBe(true);
      }),
    );
  });

  it('bounds the work on an absurd header', () => {
    const huge = `${'xx;q=0.9,'.repeat(100_000)}sw`;
    expect(negotiateLanguage(huge)).toBe('en'); // 'sw' lies beyond the parsed prefix
  });
});
