/**
 * Borrower-facing text: the lock screen, SMS notifications and the help portal, in English,
 * Hindi, Swahili, Indonesian and Spanish. Pure and runtime-neutral (server, web pages, device
 * agent); imports nothing of the project but LienError.
 */
export {
  LANGUAGES,
  DEFAULT_LANG,
  isLang,
  languageInfo,
  matchLanguage,
  parseAcceptLanguage,
  negotiateLanguage,
  type Lang,
  type LanguageInfo,
} from './languages.ts';
export {
  CATALOGS,
  t,
  fillTemplate,
  placeholdersOf,
  messageKeys,
  missingKeys,
  placeholderMismatches,
  type Catalog,
  type MessageKey,
  type MessageParams,
  type MissingKey,
  type PlaceholderMismatch,
} from './messages.ts';
export {
  formatMoney,
  formatDate,
  formatDateTime,
  formatDuration,
  formatDurationWords,
  localeFor,
} from './format.ts';
