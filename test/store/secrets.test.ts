import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { aad, loadMasterKey, open, parseMasterKey, seal, UnsealError } from '../../src/store/secrets.ts';

const key = randomBytes(32);

describe('seal / open', () => {
  it('round-trips any bytes with any additional data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), (bytes, ad) => {
        const sealed = seal(key, bytes, ad);
        expect(open(key, sealed, ad)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('hides the plaintext and never repeats a ciphertext', () => {
    const secret = Buffer.alloc(32, 0xab);
    const a = seal(key, secret, 'x');
    const b = seal(key, secret, 'x');
    expect(a.equals(b)).toBe(false);
    expect(a.includes(secret)).toBe(false);
    expect(a.length).toBe(1 + 12 + 16 + 32);
  });

  it('refuses a ciphertext with any byte changed', () => {
    const sealed = seal(key, Buffer.from('factory secret of one phone'), aad.factorySecret('SN1'));
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i]! ^= 0x01;
      expect(() => open(key, tampered, aad.factorySecret('SN1'))).toThrow(UnsealError);
    }
  });

  it('refuses a ciphertext moved to another row (other additional data), a wrong key, or a truncated value', () => {
    const sealed = seal(key, Buffer.from('credential'), aad.credential('dev_a'));
    expect(() => open(key, sealed, aad.credential('dev_b'))).toThrow(/wrong LIEN_MASTER_KEY, or the stored data was altered or moved/);
    expect(() => open(randomBytes(32), sealed, aad.credential('dev_a'))).toThrow(UnsealError);
    expect(() => open(key, sealed.subarray(0, 20), aad.credential('dev_a'))).toThrow(/malformed/);
    expect(open(key, sealed, aad.credential('dev_a')).toString()).toBe('credential');
  });

  it('opens a value read back as a Uint8Array (PGlite bytea) the same as a Buffer', () => {
    const sealed = seal(key, 'text plaintext', 'row');
    expect(open(key, new Uint8Array(sealed), 'row').toString()).toBe('text plaintext');
  });
});

describe('master key', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'lien-key-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads LIEN_MASTER_KEY as hex, base64 or base64url', async () => {
    const k = randomBytes(32);
    const dataDir = tmp();
    expect(await loadMasterKey({ env: k.toString('hex'), dataDir })).toEqual(k);
    expect(await loadMasterKey({ env: k.toString('base64'), dataDir })).toEqual(k);
    expect(await loadMasterKey({ env: k.toString('base64url'), dataDir })).toEqual(k);
    expect(await loadMasterKey({ env: ` ${k.toString('hex')}\n`, dataDir, required: true })).toEqual(k);
  });

  it('rejects a key that is not 32 bytes, saying how to make one', async () => {
    const dataDir = tmp();
    for (const bad of ['abc', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)]) {
      await expect(loadMasterKey({ env: bad, dataDir })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('openssl rand -hex 32') });
    }
    expect(() => parseMasterKey(randomBytes(33).toString('base64'))).toThrow(/32 bytes/);
  });

  it('in embedded mode generates <dataDir>/master.key once, readable by the owner only', async () => {
    const dataDir = join(tmp(), 'nested', 'data');
    const first = await loadMasterKey({ dataDir });
    const file = join(dataDir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('hex'));
    expect(await loadMasterKey({ dataDir })).toEqual(first);
    expect(await loadMasterKey({ env: '', dataDir })).toEqual(first);
  });

  it('requires the environment variable when told to (PostgreSQL: every process must share the key)', async () => {
    const dataDir = tmp();
    await expect(loadMasterKey({ dataDir, required: true })).rejects.toThrow(/LIEN_MASTER_KEY is required/);
  });

  it('refuses a damaged key file instead of silently making a new key', async () => {
    const dataDir = tmp();
    writeFileSync(join(dataDir, 'master.key'), 'not a key');
    await expect(loadMasterKey({ dataDir })).rejects.toThrow(/master\.key does not hold a 32-byte key/);
  });
});
