import { Type } from 'typebox';

/**
 * Schema building blocks shared by the policy and the wire messages. Bounds are generous but
 * finite so that a hostile peer cannot make either side hold an unbounded document.
 */

/** An RFC 3339 instant with time and offset, as `Date.prototype.toISOString()` writes it. */
export const IsoDateTime = Type.String({ format: 'date-time', maxLength: 40 });

/** 32 bytes as unpadded base64url (43 characters): session credentials, Ed25519 public keys. */
export const Base64Url32 = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

/** A key id: short, printable, safe in logs and URLs. */
export const KeyId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });

export const SafeCount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
