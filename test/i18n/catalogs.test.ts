import { describe, expect, it } from 'vitest';
import {
  CATALOGS,
  LANGUAGES,
  formatDate,
  formatMoney,
  messageKeys,
  missingKeys,
  placeholderMismatches,
  placeholdersOf,
  t,
  type Catalog,
  type Lang,
  type MessageKey,
} from '../../src/i18n/index.ts';

const TRANSLATIONS = LANGUAGES.map((l) => l.code).filter((c) => c !== 'en');

function withCatalog(lang: Lang, catalog: Partial<Catalog>): Record<Lang, Partial<Catalog>> {
  return { ...CATALOGS, [lang]: catalog };
}

describe('catalog completeness', () => {
  it('no language misses a key', () => {
    expect(missingKeys()).toEqual([]);
  });

  it('missingKeys reports a key a translation lacks or leaves empty', () => {
    const { 'lock.title': _dropped, ...withoutTitle } = CATALOGS.sw;
    expect(missingKeys(withCatalog('sw', withoutTitle))).toEqual([{ lang: 'sw', key: 'lock.title' }]);
    expect(missingKeys(withCatalog('hi', { ...CATALOGS.hi, 'lock.emergency': '' }))).toEqual([
      { lang: 'hi', key: 'lock.emergency' },
    ]);
  });

  it('every translation has exactly the English keys, no extras', () => {
    const english = Object.keys(CATALOGS.en).sort();
    for (const lang of TRANSLATIONS) expect(Object.keys(CATALOGS[lang]).sort(), lang).toEqual(english);
  });

  it('translations are translated, not English copies', () => {
    // Only words that really are the same in that language may match English.
    const sameEverywhere = new Set<MessageKey>(['portal.lien.imeiLabel']);
    const sameInIndonesian = new Set<MessageKey>(['portal.result.status']); // "Status" is Indonesian too
    for (const lang of TRANSLATIONS) {
      const copies = messageKeys().filter((k) => CATALOGS[lang][k] === CATALOGS.en[k]);
      const allowed = (k: MessageKey) => sameEverywhere.has(k) || (lang === 'id' && sameInIndonesian.has(k));
      expect(copies.filter((k) => !allowed(k)), lang).toEqual([]);
    }
  });
});

describe('placeholders', () => {
  it('each translation uses exactly the placeholders of the English template', () => {
    expect(placeholderMismatches()).toEqual([]);
  });

  it('placeholderMismatches reports a dropped and an invented placeholder', () => {
    const broken = { ...CATALOGS.es, 'lock.contact': 'Llama a {lender} al {telefono}.' };
    expect(placeholderMismatches(withCatalog('es', broken))).toEqual([
      { lang: 'es', key: 'lock.contact', missing: ['phone'], unknown: ['telefono'] },
    ]);
  });

  it('placeholdersOf lists names once, in order', () => {
    expect(placeholdersOf('{a} and {b}, then {a} again; {not closed')).toEqual(['a', 'b']);
    expect(placeholdersOf('no placeholders')).toEqual([]);
  });

  it('the messages carry the facts the brief asks for', () => {
    const expected: Partial<Record<MessageKey, string[]>> = {
      'lock.reason': ['amount', 'date'],
      'lock.contact': ['lender', 'phone'],
      'lock.reference': ['reference'],
      'lock.codeBackoff': ['duration'],
      'lock.notice.body': ['amount', 'deadline'],
      'lock.reminder.body': ['amount', 'dueDate'],
      'lock.creditUntil': ['date'],
      'notify.reminder': ['lender', 'amount', 'date', 'reference'],
      'notify.notice': ['lender', 'amount', 'date', 'reference'],
      'notify.lock': ['lender', 'amount', 'reference'],
      'notify.claimRejected': ['lender', 'reference', 'message'],
      'portal.claimSubmitted.body': ['claimNumber'],
      'portal.claimStatus.rejected': ['message'],
      'portal.error.rateLimited': ['minutes'],
    };
    for (const [key, names] of Object.entries(expected) as [MessageKey, string[]][]) {
      expect(placeholdersOf(CATALOGS.en[key]).sort(), key).toEqual([...names].sort());
    }
  });
});

describe('reference texts', () => {
  it('uses the agreed English wording', () => {
    expect(t('en', 'lock.title')).toBe('This phone is locked');
    expect(t('en', 'lock.reference', { reference: 'LR-7K4Q' })).toBe('Lock reference: LR-7K4Q');
    expect(t('en', 'lock.codeBackoff', { duration: '5 minutes' })).toBe('Too many wrong codes. Try again in 5 minutes.');
    expect(t('en', 'lock.emergency')).toMatch(/^Emergency calls always work/);
    expect(t('en', 'portal.error.rateLimited', { minutes: 15 })).toBe(
      'Too many lookups from your connection. Try again in 15 minutes.',
    );
    expect(t('en', 'portal.lien.result.lien')).toBe('This phone carries a lien');
    expect(t('en', 'portal.lien.result.none')).toBe('No lien recorded for this phone');
    expect(t('en', 'portal.lien.result.released')).toBe('This phone was paid off and released');
    expect([t('en', 'portal.home.locked'), t('en', 'portal.home.paid'), t('en', 'portal.home.check')]).toEqual([
      'My phone is locked',
      'I have paid',
      'Check a phone before buying',
    ]);
  });

  it('has one neutral not-found message that does not say which detail was wrong', () => {
    const lookupErrors = messageKeys().filter((k) => /notFound|wrongReference|wrongCode/i.test(k));
    expect(lookupErrors).toEqual(['portal.error.notFound']);
    expect(t('en', 'portal.error.notFound')).not.toMatch(/IMEI|code|reference/i);
  });

  it('explains a factory reset honestly in every language: the lock stays and comes back', () => {
    expect(t('en', 'lock.resetNote')).toMatch(/does not remove the lock/);
    expect(t('en', 'portal.result.resetBody')).toMatch(/^No\./);
    for (const lang of TRANSLATIONS) expect(t(lang, 'lock.resetNote')).not.toBe(t('en', 'lock.resetNote'));
  });
});

describe('SMS length', () => {
  // Long but realistic values: a 20-character lender name, the longest English month, a
  // six-figure shilling amount and a rupiah amount with its long grouping.
  const amounts = [
    formatMoney('en', 1_234_500, 'KES'),
    formatMoney('en', 12_345_678, 'INR'),
    formatMoney('en', 2_500_000_000, 'IDR', 2),
    formatMoney('en', 1_234_567, 'MXN'),
  ];
  const base = {
    lender: 'Jamii Finance Kenya',
    date: formatDate('en', '2026-09-15'),
    reference: 'LR-7K4Q-9XTB',
    message: 'The transaction ID was not found in our records.',
  };

  it('every notify.* English text fits one 160-character SMS once filled in', () => {
    const notifyKeys = messageKeys().filter((k) => k.startsWith('notify.'));
    expect(notifyKeys.length).toBe(15);
    for (const key of notifyKeys) {
      for (const amount of amounts) {
        const text = t('en', key, { ...base, amount });
        expect(text, key).not.toMatch(/\{\w+\}/); // every placeholder was filled
        expect(text.length, `${key}: ${text}`).toBeLessThanOrEqual(160);
      }
    }
  });

  it('the values really are long ones', () => {
    expect(base.date).toBe('15 September 2026');
    expect(amounts.map((a) => a.length).some((n) => n >= 14)).toBe(true);
  });
});
