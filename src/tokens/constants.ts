/** Numbers fixed by the OpenPAYGO Token specification (EnAccess/OpenPAYGO-python). */

export type TokenType = 'ADD_TIME' | 'SET_TIME' | 'DISABLE_PAYG' | 'COUNTER_SYNC';

export const TOKEN_TYPES: readonly TokenType[] = ['ADD_TIME', 'SET_TIME', 'DISABLE_PAYG', 'COUNTER_SYNC'];

/** Largest number of days one standard (9-digit) ADD_TIME / SET_TIME token carries. */
export const MAX_ACTIVATION_VALUE = 995;
/** Largest number of days one extended (12-digit) token carries (998 and 999 excepted, see below). */
export const MAX_ACTIVATION_VALUE_EXTENDED = 999_999;
/** Value encoded by DISABLE_PAYG tokens (odd count). */
export const PAYG_DISABLE_VALUE = 998;
/** Value encoded by COUNTER_SYNC tokens (odd count). */
export const COUNTER_SYNC_VALUE = 999;

/** How far past the device's last count a token may be and still be recognised. */
export const MAX_TOKEN_JUMP = 64;
/** COUNTER_SYNC tokens exist to resynchronise a device left far behind, so they look further. */
export const MAX_TOKEN_JUMP_COUNTER_SYNC = 100;
/** ADD_TIME tokens this far below the last count are still accepted once, if entered out of order. */
export const MAX_UNUSED_OLDER_TOKENS = 16;

/** Token lengths by layout: [digits 0–9, digits 1–4]. */
export const TOKEN_LENGTHS = {
  standard: { full: 9, restricted: 15 },
  extended: { full: 12, restricted: 20 },
} as const;
