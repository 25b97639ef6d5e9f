/**
 * The borrower-facing languages and how a request picks one. Pure: used by the server, the web
 * pages and the device agent alike.
 */

export interface LanguageInfo {
  /** ISO 639-1 code; also what `<html lang>` and `?lang=` carry. */
  readonly code: string;
  /** The language's name in itself, for the language picker (a reader looks for their own word). */
  readonly name: string;
  readonly dir: 'ltr' | 'rtl';
  /**
   * The BCP 47 locale handed to Intl for numbers and dates. Each language is pinned to the
   * market it serves: hi-IN, sw-KE, id-ID, es-MX. English uses en-GB for day-month-year dates
   * and Western grouping, which all our English-reading markets share (en-US writes the month
   * first, which nobody there does); money in English is refined by currency, see `localeFor`.
   */
  readonly locale: string;
}

export const LANGUAGES = [
  { code: 'en', name: 'English', dir: 'ltr', locale: 'en-GB' },
  { code: 'hi', name: 'हिन्दी', dir: 'ltr', locale: 'hi-IN' },
  { code: 'sw', name: 'Kiswahili', dir: 'ltr', locale: 'sw-KE' },
  { code: 'id', name: 'Bahasa Indonesia', dir: 'ltr', locale: 'id-ID' },
  { code: 'es', name: 'Español', dir: 'ltr', locale: 'es-MX' },
] as const satisfies readonly LanguageInfo[];

export type Lang = (typeof LANGUAGES)[number]['code'];

export const DEFAULT_LANG: Lang = 'en';

const BY_CODE: ReadonlyMap<string, LanguageInfo & { code: Lang }> = new Map(
  LANGUAGES.map((l) => [l.code, l]),
);

export function isLang(s: unknown): s is Lang {
  return typeof s === 'string' && BY_CODE.has(s);
}

export function languageInfo(lang: Lang): LanguageInfo {
  return BY_CODE.get(lang) ?? LANGUAGES[0];
}

// Java and older Android report Indonesian as "in" (the pre-1989 ISO code); the agent passes
// the phone's locale through, so accept it.
const LEGACY_ALIASES: Readonly<Record<string, Lang>> = { in: 'id' };

/**
 * The supported language a tag means, matching on the base language: 'sw-KE' → sw, 'es_MX' →
 * es, 'in-ID' → id. Undefined for anything unsupported or malformed.
 */
export function matchLanguage(tag: string): Lang | undefined {
  const base = tag.trim().toLowerCase().replace(/_/g, '-').split('-')[0] ?? '';
  if (isLang(base)) return base;
  return Object.hasOwn(LEGACY_ALIASES, base) ? LEGACY_ALIASES[base] : undefined;
}

// Accept-Language comes from anyone; bound the work spent on it.
const MAX_HEADER_CHARS = 1024;
const MAX_ENTRIES = 32;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

interface Weighted {
  tag: string;
  q: number;
  order: number;
}

/** Language ranges from an Accept-Language header, most wanted first; q=0 and malformed q dropped. */
export function parseAcceptLanguage(header: string): string[] {
  const entries: Weighted[] = [];
  const parts = header.slice(0, MAX_HEADER_CHARS).split(',').slice(0, MAX_ENTRIES);
  parts.forEach((part, order) => {
    const [rawTag = '', ...rawParams] = part.split(';');
    const tag = rawTag.trim();
    if (tag === '' || tag === '*') return;
    let q = 1;
    for (const param of rawParams) {
      const [name = '', value = ''] = param.split('=').map((s) => s.trim());
      if (name.toLowerCase() !== 'q') continue;
      q = QVALUE.test(value) ? Number(value) : 0;
    }
    if (q > 0) entries.push({ tag, q, order });
  });
  // Array.prototype.sort is stable, but say what ties mean: the sender's order wins.
  entries.sort((a, b) => b.q - a.q || a.order - b.order);
  return entries.map((e) => e.tag);
}

/**
 * The language to answer in. An explicit choice (the borrower's saved preference, or `?lang=`)
 * wins when it names a supported language; then the Accept-Language ranges by q-value, matched
 * on base language; then English.
 */
export function negotiateLanguage(acceptLanguageHeader: string | undefined, preferred?: string | null): Lang {
  if (typeof preferred === 'string') {
    const explicit = matchLanguage(preferred);
    if (explicit) return explicit;
  }
  if (typeof acceptLanguageHeader === 'string') {
    for (const tag of parseAcceptLanguage(acceptLanguageHeader)) {
      const match = matchLanguage(tag);
      if (match) return match;
    }
  }
  return DEFAULT_LANG;
}
