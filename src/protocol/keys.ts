import { hkdfSync } from 'node:crypto';
import { LienError } from '../domain/errors.ts';

/** What the server and the agent both derive from a device's factory secret; never sent on the wire. */
export interface DeviceKeys {
  /** 32 bytes: proves possession of the factory secret at enrollment. */
  authKey: Uint8Array;
  /** 16 bytes: the OpenPAYGO Token key. */
  tokenKey: Uint8Array;
  /** 0..999 999 999: the OpenPAYGO starting code. */
  startingCode: number;
}

export const FACTORY_SECRET_BYTES = 32;

/** HKDF `info` labels: one per purpose, versioned, so no two keys are ever the same bytes. */
export const DERIVATION_LABELS = {
  authKey: 'lien/device-auth/v1',
  tokenKey: 'lien/openpaygo-key/v1',
  startingCode: 'lien/openpaygo-starting-code/v1',
} as const;

function hkdf(secret: Uint8Array, info: string, length: number): Buffer {
  // Empty salt: the factory secret is already uniformly random, so extraction needs no salt (RFC 5869 §3.1).
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), info, length));
}

/** Derives the device's keys from its 32-byte factory secret (HKDF-SHA256). */
export function deriveDeviceKeys(factorySecret: Uint8Array): DeviceKeys {
  if (!(factorySecret instanceof Uint8Array) || factorySecret.length !== FACTORY_SECRET_BYTES) {
    const got = factorySecret instanceof Uint8Array ? `${factorySecret.length} bytes` : typeof factorySecret;
    throw new LienError('invalid_input', `A factory secret is ${FACTORY_SECRET_BYTES} bytes (got ${got}).`);
  }
  return {
    authKey: hkdf(factorySecret, DERIVATION_LABELS.authKey, 32),
    tokenKey: hkdf(factorySecret, DERIVATION_LABELS.tokenKey, 16),
    // 64 bits reduced mod 10^9: with only 32 bits the lowest ~29% of codes would be 25% likelier.
    startingCode: Number(hkdf(factorySecret, DERIVATION_LABELS.startingCode, 8).readBigUInt64BE(0) % 1_000_000_000n),
  };
}
