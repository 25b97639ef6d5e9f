import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LienError } from '../domain/errors.ts';

const VERSION = 1;

function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new LienError('invalid_input', 'LIEN_MASTER_KEY must be 32 bytes, as 64 hex characters or base64');
  return key;
}

/**
 * The key that seals factory secrets, device credentials and signing keys at rest. From
 * LIEN_MASTER_KEY; in embedded mode without it, generated once into <dataDir>/master.key.
 */
export async function loadMasterKey(opts: { env: string | undefined; dataDir: string; required?: boolean }): Promise<Buffer> {
  if (opts.env) return parseKey(opts.env);
  if (opts.required) {
    throw new LienError('invalid_input', 'LIEN_MASTER_KEY is required with DATABASE_URL (every server process must share it); generate one with `openssl rand -hex 32`');
  }
  const dir = resolve(opts.dataDir);
  const file = join(dir, 'master.key');
  if (existsSync(file)) return parseKey(readFileSync(file, 'utf8'));
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/**
 * AES-256-GCM. `aad` binds a ciphertext to its row (e.g. the device serial), so a sealed value
 * copied into another row does not open.
 */
export function seal(key: Buffer, plaintext: Uint8Array, aad: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Uint8Array, aad: string): Buffer {
  const b = Buffer.from(sealed);
  if (b.length < 29 || b[0] !== VERSION) throw new LienError('invalid_input', 'sealed value is malformed');
  try {
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(1, 13));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(b.subarray(13, 29));
    return Buffer.concat([d.update(b.subarray(29)), d.final()]);
  } catch {
    throw new LienError('unauthorized', 'sealed value does not open with this master key (wrong key, or tampered)');
  }
}
