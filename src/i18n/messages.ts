/**
 * Message lookup and placeholder filling, plus the runtime completeness checks that back up the
 * compile-time ones (a catalog built at runtime, or a JS caller, bypasses the types).
 */
import { en, type Catalog, type MessageKey } from './catalogs/en.ts';
import { hi } from './catalogs/hi.ts';
import { sw } from './catalogs/sw.ts';
import { id } from './catalogs/id.ts';
import { es } from './catalogs/es.ts';
import { DEFAULT_LANG, LANGUAGES, type Lang } from './languages.ts';

export type { Catalog, MessageKey };

export const CATALOGS: Readonly<Record<Lang, Catalog>> = Object.freeze({ en, hi, sw, id, es });

const MESSAGE_KEYS = Object.keys(en) as MessageKey[];

/** Every message key, in the order of the English catalog. */
export function messageKeys(): readonly MessageKey[] {
  return MESSAGE_KEYS;
}

/** The `{name}` placeholders a template uses, e.g. 'amount' for '{amount} is due'. */
type PlaceholdersOf<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PlaceholdersOf<Rest>
  : never;

type ParamValue = string | number | bigint;

/**
 * The parameters a message takes, derived from the English template, so a misspelt name is a
 * compile error. All optional: a missing one leaves its `{name}` visible rather than failing.
 */
export type MessageParams<K extends MessageKey> = Partial<Record<PlaceholdersOf<(typeof en)[K]>, ParamValue>>;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** Placeholder names in a template, each once, in order of first use. */
export function placeholdersOf(template: string): string[] {
  return [...new Set(Array.from(template.matchAll(PLACEHOLDER), (m) => m[1] as string))];
}

function templateFor(catalog: Catalog | undefined, key: string): string | undefined {
  if (catalog === undefined || !Object.hasOwn(catalog, key)) return undefined;
  const value = (catalog as Record<string, unknown>)[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Fill `{name}` placeholders in one pass, so text inside a value (a lender's name, a rejection
 * message) is never itself expanded. Nothing is escaped: the renderer (JSX, SMS, the agent's
 * screen) knows its own escaping.
 */
export function fillTemplate(template: string, params: Readonly<Record<string, ParamValue | null | undefined>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    return value === undefined || value === null ? whole : String(value);
  });
}

/**
 * The message `key` in `lang`. Falls back to English only if the translation is somehow missing
 * (and to the key itself if even English lacks it); never throws.
 */
export function t<K extends MessageKey>(lang: Lang, key: K, params?: MessageParams<K>): string {
  const catalog = Object.hasOwn(CATALOGS, lang) ? CATALOGS[lang] : undefined;
  const template = templateFor(catalog, key) ?? templateFor(CATALOGS[DEFAULT_LANG], key) ?? String(key);
  return params ? fillTemplate(template, params as Record<string, ParamValue | undefined>) : template;
}

export interface MissingKey {
  lang: Lang;
  key: MessageKey;
}

/** Keys of the English catalog that a language lacks or leaves empty. Empty means complete. */
export function missingKeys(catalogs: Readonly<Record<Lang, Partial<Catalog>>> = CATALOGS): MissingKey[] {
  const missing: MissingKey[] = [];
  for (const { code } of LANGUAGES) {
    for (const key of MESSAGE_KEYS) {
      if (templateFor(catalogs[code] as Catalog | undefined, key) === undefined) missing.push({ lang: code, key });
    }
  }
  return missing;
}

export interface PlaceholderMismatch {
  lang: Lang;
  key: MessageKey;
  /** Used in English but not in this translation: the reader would lose a fact. */
  missing: string[];
  /** Used in this translation but not in English: no caller passes it, so `{name}` would show. */
  unknown: string[];
}

/** Translations whose placeholders differ from the English template's. Empty means consistent. */
export function placeholderMismatches(catalogs: Readonly<Record<Lang, Partial<Catalog>>> = CATALOGS): PlaceholderMismatch[] {
  const mismatches: PlaceholderMismatch[] = [];
  for (const { code } of LANGUAGES) {
    for (const key of MESSAGE_KEYS) {
      const template = templateFor(catalogs[code] as Catalog | undefined, key);
      if (template === undefined) continue; // reported by missingKeys
      const expected = placeholdersOf(en[key]);
      const actual = placeholdersOf(template);
      const missing = expected.filter((p) => !actual.includes(p));
      const unknown = actual.filter((p) => !expected.includes(p));
      if (missing.length > 0 || unknown.length > 0) mismatches.push({ lang: code, key, missing, unknown });
    }
  }
  return mismatches;
}
