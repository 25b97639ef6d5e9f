import { hkdfSync } from 'node:crypto';
import { LienError } from '../domain/errors.ts';

export interface DeviceKeys {
  authKey: Uint8Array;
  tokenKey: Uint8Array;
  startingCode: number;
}

function hkdf(secret: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, length));
}

/** Everything the server and the agent derive from a device's 32-byte factory secret. */
export function deriveDeviceKeys(factorySecret: Uint8Array): DeviceKeys {
  if (factorySecret.length !== 32) throw new LienError('invalid_input', `a factory secret is 32 bytes (got ${factorySecret.length})`);
  return {
    authKey: hkdf(factorySecret, 'lien/device-auth/v1', 32),
    tokenKey: hkdf(factorySecret, 'lien/openpaygo-key/v1', 16),
    startingCode: hkdf(factorySecret, 'lien/openpaygo-starting-code/v1', 4).readUInt32BE(0) % 1_000_000_000,
  };
}
