/** Issuing tokens (server side): OpenPAYGO-python `token_encode.py`. */
import { TokenInputError } from './errors.ts';
import {
  COUNTER_SYNC_VALUE,
  MAX_ACTIVATION_VALUE,
  MAX_ACTIVATION_VALUE_EXTENDED,
  PAYG_DISABLE_VALUE,
  TOKEN_TYPES,
  type TokenType,
} from './constants.ts';
import { baseOf, formatOf, toRestrictedDigits, withBase } from './format.ts';
import { checkCount, checkKey, checkStartingCode } from './inputs.ts';
import { isEncodableDays, nextTokenCount } from './values.ts';

export interface EncodeOptions {
  key: Uint8Array;
  startingCode: number;
  /** The server's counter for this device before issuing. */
  count: number;
  type: TokenType;
  /** Days, for ADD_TIME and SET_TIME only. */
  value?: number;
  /** Digits 1–4 only (15 or 20 digits long), for 4-key keypads. */
  restrictedDigitSet?: boolean;
  /** 12-digit token, values up to 999 999 days. */
  extended?: boolean;
}

export interface EncodedToken {
  token: string;
  /** The counter to store after issuing; the token is bound to this count. */
  newCount: number;
}

export function encodeToken(opts: EncodeOptions): EncodedToken {
  checkKey(opts.key);
  checkStartingCode(opts.startingCode);
  checkCount(opts.count, 'count');
  const format = formatOf(opts.extended);
  const value = valueToEncode(opts.type, opts.value, opts.extended === true);

  const tokenBase = (baseOf(opts.startingCode, format) + value) % format.valueOffset;
  const newCount = nextTokenCount(opts.count, opts.type);
  let code = withBase(opts.startingCode, tokenBase, format);
  for (let i = 0; i < newCount; i += 1) code = format.nextCode(code, opts.key);
  const finalCode = withBase(code, tokenBase, format);

  const token = opts.restrictedDigitSet
    ? toRestrictedDigits(finalCode, format)
    : String(finalCode).padStart(format.digits, '0');
  return { token, newCount };
}

function valueToEncode(type: TokenType, value: number | undefined, extended: boolean): number {
  if (!TOKEN_TYPES.includes(type)) {
    throw new TokenInputError(`Unknown token type "${String(type)}".`, { field: 'type', value: type });
  }
  if (type === 'DISABLE_PAYG' || type === 'COUNTER_SYNC') {
    if (value !== undefined && value !== null) {
      throw new TokenInputError(`A ${type} token carries no number of days; leave the value out.`, {
        field: 'value',
        value,
      });
    }
    return type === 'DISABLE_PAYG' ? PAYG_DISABLE_VALUE : COUNTER_SYNC_VALUE;
  }
  if (value === undefined || value === null || !isEncodableDays(value, extended)) {
    const max = extended ? MAX_ACTIVATION_VALUE_EXTENDED : MAX_ACTIVATION_VALUE;
    const reserved = extended ? ` except ${PAYG_DISABLE_VALUE} and ${COUNTER_SYNC_VALUE}` : '';
    throw new TokenInputError(
      `A ${type} token needs a whole number of days from 0 to ${max}${reserved}.`,
      { field: 'value', value, max },
    );
  }
  return value;
}
