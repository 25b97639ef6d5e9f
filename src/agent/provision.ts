/**
 * What the factory writes into the `persistent` partition before the phone ships: the per-device
 * factory secret, the IMEIs and the serial. Optionally the platform's signing keys, so the
 * agent need not trust the first server it talks to with them.
 */
import { LienError } from '../domain/errors.ts';
import type { SigningKey } from '../protocol/index.ts';
import type { KeyValueStore } from './ports.ts';
import { FACTORY_KEY, type FactoryIdentity } from './state.ts';

export interface Provisioning {
  /** 32 bytes, raw or base64url. */
  factorySecret: Uint8Array | string;
  imeis: string[];
  serial: string;
  signingKeys?: SigningKey[];
}

const FACTORY_SECRET_BYTES = 32;

export async function provisionDevice(persistent: KeyValueStore, p: Provisioning): Promise<void> {
  const secret = typeof p.factorySecret === 'string' ? Buffer.from(p.factorySecret, 'base64url') : Buffer.from(p.factorySecret);
  if (secret.length !== FACTORY_SECRET_BYTES) {
    throw new LienError('invalid_input', `the factory secret must be ${FACTORY_SECRET_BYTES} bytes (got ${secret.length})`, { field: 'factorySecret' });
  }
  if (p.imeis.length < 1 || p.imeis.length > 2 || p.imeis.some((i) => !/^\d{15}$/.test(i))) {
    throw new LienError('invalid_input', 'a phone has one or two IMEIs of 15 digits', { field: 'imeis' });
  }
  if (p.serial.trim() === '') throw new LienError('invalid_input', 'the serial number is empty', { field: 'serial' });
  if (await persistent.get(FACTORY_KEY)) {
    throw new LienError('conflict', 'this phone is already provisioned; its factory identity never changes', { field: 'factory' });
  }
  const identity: FactoryIdentity = { factorySecret: secret.toString('base64url'), imeis: [...p.imeis], serial: p.serial.trim() };
  if (p.signingKeys) await persistent.set('signingKeys', p.signingKeys);
  await persistent.set(FACTORY_KEY, identity);
}
