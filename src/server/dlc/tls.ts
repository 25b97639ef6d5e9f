/**
 * The Device Lock port's certificate. DeviceLockController dials with TLS and no way to accept
 * an unknown certificate, so production needs a certificate the phones trust (a public CA's, or
 * the OEM's own CA baked into the build): LIEN_DLC_TLS_CERT / LIEN_DLC_TLS_KEY, as file paths or
 * PEM text. Without them a self-signed certificate is made once into the data directory, which
 * serves development, emulators and conformance tests, and a warning says so on every start.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface DlcTls {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the start-up line. */
  source: 'configured' | 'self-signed (created now)' | 'self-signed';
  /** The certificate's SHA-256 fingerprint (to pin in a test build). */
  fingerprint: string;
}

function pem(value: string, what: string): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value, 'utf8');
  if (!existsSync(value)) throw new Error(`${what} names no file and holds no PEM text: ${value}`);
  return readFileSync(value);
}

function describe(cert: Buffer, key: Buffer, source: DlcTls['source']): DlcTls {
  const x = new X509Certificate(cert);
  return { cert, key, source, fingerprint: x.fingerprint256 };
}

export async function loadDlcTls(opts: { certEnv?: string; keyEnv?: string; dataDir: string; hostNames: string[]; warn: (msg: string) => void }): Promise<DlcTls> {
  if (opts.certEnv || opts.keyEnv) {
    if (!opts.certEnv || !opts.keyEnv) throw new Error('Set both LIEN_DLC_TLS_CERT and LIEN_DLC_TLS_KEY, or neither (a self-signed certificate is made then).');
    return describe(pem(opts.certEnv, 'LIEN_DLC_TLS_CERT'), pem(opts.keyEnv, 'LIEN_DLC_TLS_KEY'), 'configured');
  }
  const dir = join(opts.dataDir, 'dlc-tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  let source: DlcTls['source'] = 'self-signed';
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const names = [...new Set(['localhost', '127.0.0.1', '::1', ...opts.hostNames.filter(Boolean)])];
    const pems = await generate([{ name: 'commonName', value: names.find((n) => !isIP(n)) ?? 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 5 * 365 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
      ],
    });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    writeFileSync(certFile, pems.cert, { mode: 0o644 });
    source = 'self-signed (created now)';
  }
  const tls = describe(readFileSync(certFile), readFileSync(keyFile), source);
  opts.warn(
    `Android Device Lock port: using the self-signed certificate ${certFile} (SHA-256 ${tls.fingerprint}). ` +
      'Phones trust it only if the build does; set LIEN_DLC_TLS_CERT and LIEN_DLC_TLS_KEY for production.',
  );
  return tls;
}
