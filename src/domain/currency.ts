import { LienError } from './errors.ts';

export interface Currency {
  /** ISO 4217 alphabetic code. */
  code: string;
  /** Digits after the decimal point (ISO 4217 "minor unit"): 2 for INR, 0 for JPY, 3 for KWD. */
  exponent: number;
  name: string;
}

// Exponents as published in ISO 4217, not as shops round in practice: IDR and TZS keep two
// decimals in the standard even though cash has none, and amounts must round-trip with banks.
const TABLE: readonly (readonly [code: string, exponent: number, name: string])[] = [
  ['AED', 2, 'UAE Dirham'],
  ['ARS', 2, 'Argentine Peso'],
  ['AUD', 2, 'Australian Dollar'],
  ['BDT', 2, 'Taka'],
  ['BHD', 3, 'Bahraini Dinar'],
  ['BRL', 2, 'Brazilian Real'],
  ['CAD', 2, 'Canadian Dollar'],
  ['CDF', 2, 'Congolese Franc'],
  ['CHF', 2, 'Swiss Franc'],
  ['CLP', 0, 'Chilean Peso'],
  ['CNY', 2, 'Yuan Renminbi'],
  ['COP', 2, 'Colombian Peso'],
  ['EGP', 2, 'Egyptian Pound'],
  ['ETB', 2, 'Ethiopian Birr'],
  ['EUR', 2, 'Euro'],
  ['GBP', 2, 'Pound Sterling'],
  ['GHS', 2, 'Ghana Cedi'],
  ['GNF', 0, 'Guinean Franc'],
  ['IDR', 2, 'Rupiah'],
  ['INR', 2, 'Indian Rupee'],
  ['IQD', 3, 'Iraqi Dinar'],
  ['JOD', 3, 'Jordanian Dinar'],
  ['JPY', 0, 'Yen'],
  ['KES', 2, 'Kenyan Shilling'],
  ['KRW', 0, 'Won'],
  ['KWD', 3, 'Kuwaiti Dinar'],
  ['LKR', 2, 'Sri Lanka Rupee'],
  ['MAD', 2, 'Moroccan Dirham'],
  ['MWK', 2, 'Malawi Kwacha'],
  ['MXN', 2, 'Mexican Peso'],
  ['MYR', 2, 'Malaysian Ringgit'],
  ['MZN', 2, 'Mozambique Metical'],
  ['NGN', 2, 'Naira'],
  ['NPR', 2, 'Nepalese Rupee'],
  ['OMR', 3, 'Rial Omani'],
  ['PEN', 2, 'Sol'],
  ['PHP', 2, 'Philippine Peso'],
  ['PKR', 2, 'Pakistan Rupee'],
  ['PYG', 0, 'Guarani'],
  ['RWF', 0, 'Rwanda Franc'],
  ['SAR', 2, 'Saudi Riyal'],
  ['THB', 2, 'Baht'],
  ['TND', 3, 'Tunisian Dinar'],
  ['TRY', 2, 'Turkish Lira'],
  ['TZS', 2, 'Tanzanian Shilling'],
  ['UGX', 0, 'Uganda Shilling'],
  ['USD', 2, 'US Dollar'],
  ['VND', 0, 'Dong'],
  ['XAF', 0, 'CFA Franc BEAC'],
  ['XOF', 0, 'CFA Franc BCEAO'],
  ['ZAR', 2, 'Rand'],
  ['ZMW', 2, 'Zambian Kwacha'],
];

const BY_CODE: ReadonlyMap<string, Currency> = new Map(
  TABLE.map(([code, exponent, name]) => [code, Object.freeze({ code, exponent, name })]),
);

/** Every supported currency, sorted by code. */
export const CURRENCIES: readonly Currency[] = Object.freeze([...BY_CODE.values()]);

export function findCurrency(code: string): Currency | undefined {
  return BY_CODE.get(code);
}

/**
 * The currency for an ISO 4217 code, or LienError('unknown_currency'). Codes are matched exactly
 * (upper case) so that what is stored is what was checked.
 */
export function currency(code: unknown): Currency {
  const found = typeof code === 'string' ? BY_CODE.get(code) : undefined;
  if (found) return found;
  const shown = typeof code === 'string' ? `"${code}"` : String(code);
  const hint =
    typeof code === 'string' && BY_CODE.has(code.trim().toUpperCase())
      ? ` Did you mean "${code.trim().toUpperCase()}"?`
      : ' Use a three-letter ISO 4217 code such as INR, KES or USD.';
  throw new LienError('unknown_currency', `Unknown currency ${shown}.${hint}`, { currency: code });
}

/** Throws unless `code` is a supported ISO 4217 code; returns the code for chaining. */
export function assertCurrency(code: unknown): string {
  return currency(code).code;
}
