import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { LienError } from '../domain/errors.ts';

/**
 * Secrets at rest (factory secrets, device credentials, signing keys, webhook secrets) are
 * sealed with AES-256-GCM under one master key. The additional authenticated data names the
 * row a ciphertext belongs to (`factory-secret:<serial>`, `credential:<device id>`…), so a
 * ciphertext copied into another row does not open.
 *
 * Sealed layout: version (1 byte) ‖ nonce (12) ‖ tag (16) ‖ ciphertext.
 */
const VERSION = 1;
const NONCE = 12;
const TAG = 16;
const KEY_BYTES = 32;

/** The additional data each kind of sealed column uses; one place so writers and readers agree. */
export const aad = {
  factorySecret: (serial: string) => `factory-secret:${serial}`,
  credential: (deviceId: string) => `credential:${deviceId}`,
  signingKey: (kid: string) => `signing-key:${kid}`,
  webhookSecret: (webhookId: string) => `webhook-secret:${webhookId}`,
  paymentChannel: (channelId: string) => `payment-channel:${channelId}`,
  smsProvider: (lenderId: string) => `sms-provider:${lenderId}`,
};

/** A sealed value did not open: the master key is not the one it was sealed with, or the bytes changed. */
export class UnsealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsealError';
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`the master key must be ${KEY_BYTES} bytes, got ${key.length}`);
}

function bytes(v: Buffer | Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function seal(key: Buffer, plaintext: Buffer | Uint8Array | string, additionalData: string | Buffer): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(bytes(additionalData));
  const body = Buffer.concat([cipher.update(bytes(plaintext)), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer | Uint8Array, additionalData: string | Buffer): Buffer {
  checkKey(key);
  const data = bytes(sealed);
  if (data.length < 1 + NONCE + TAG || data[0] !== VERSION) throw new UnsealError('sealed value is malformed or of an unknown version');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(1, 1 + NONCE));
  decipher.setAAD(bytes(additionalData));
  decipher.setAuthTag(data.subarray(1 + NONCE, 1 + NONCE + TAG));
  try {
    return Buffer.concat([decipher.update(data.subarray(1 + NONCE + TAG)), decipher.final()]);
  } catch {
    throw new UnsealError('sealed value does not open: wrong LIEN_MASTER_KEY, or the stored data was altered or moved to another row');
  }
}

/**
 * A key for one purpose derived from the master key (HKDF-SHA256), so the master key itself
 * never leaves the process and each use has its own key.
 */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  checkKey(masterKey);
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `lien ${purpose}`, KEY_BYTES));
}

/** 64 hex characters, or base64 / base64url of 32 bytes. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new LienError('invalid_input', 'LIEN_MASTER_KEY must be 32 bytes written as 64 hex characters or base64 (make one with `openssl rand -hex 32`).');
  }
  return key;
}

export interface MasterKeyOptions {
  /** The LIEN_MASTER_KEY value, if set. */
  env?: string;
  /** Embedded data directory; `master.key` is generated here when no env key is given. */
  dataDir: string;
  /**
   * Refuse to generate a key file (PostgreSQL: several processes, possibly on several machines,
   * must share one key, so it has to come from the environment).
   */
  required?: boolean;
}

/**
 * The master key: LIEN_MASTER_KEY when set; otherwise, in embedded mode, `<dataDir>/master.key`
 * (created with mode 0600 on first run). Losing the key loses every sealed secret: back it up
 * with the data directory.
 */
export async function loadMasterKey(opts: MasterKeyOptions): Promise<Buffer> {
  if (opts.env !== undefined && opts.env.trim() !== '') return parseMasterKey(opts.env);
  if (opts.required) {
    throw new LienError(
      'invalid_input',
      'LIEN_MASTER_KEY is required with DATABASE_URL (every server process must use the same key); make one with `openssl rand -hex 32`.',
    );
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, 'master.key');
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(KEY_BYTES).toString('hex')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    // Already there (an earlier run, or another process that won the race): use it.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const text = readFileSync(file, 'utf8');
  try {
    return parseMasterKey(text);
  } catch {
    throw new LienError('invalid_input', `${file} does not hold a 32-byte key (64 hex characters); restore it from backup.`);
  }
}
