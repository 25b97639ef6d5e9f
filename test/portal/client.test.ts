import { describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../../src/server/routes/portal/client.ts';
import { normaliseClaimNumber } from '../../src/services/claims.ts';
import { normaliseLockReference } from '../../src/services/portal.ts';
import { loadConfig } from '../../src/server/config.ts';

const req = (remote: string, xff?: string) => ({ socket: { remoteAddress: remote }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as FastifyRequest;

describe('client address', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientIp(req('10.0.0.5', '203.0.113.9'), 0)).toBe('10.0.0.5');
  });

  it('takes the entry the outermost trusted proxy saw, not one the client wrote', () => {
    // The client sent a forged first entry; one trusted proxy appended the real address.
    expect(clientIp(req('10.0.0.5', '1.2.3.4, 203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', '1.2.3.4, 203.0.113.9, 10.0.0.4'), 2)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', '203.0.113.9'), 3)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5'), 1)).toBe('10.0.0.5');
  });

  it('reads LIEN_TRUST_PROXY as a count of proxies', () => {
    expect(loadConfig({} as NodeJS.ProcessEnv).trustProxy).toBe(0);
    expect(loadConfig({ LIEN_TRUST_PROXY: '2' } as NodeJS.ProcessEnv).trustProxy).toBe(2);
    expect(() => loadConfig({ LIEN_TRUST_PROXY: 'yes' } as NodeJS.ProcessEnv)).toThrow(/LIEN_TRUST_PROXY/);
  });
});

describe('codes typed by people', () => {
  it('forgives case, spaces, dashes and look-alike letters', () => {
    expect(normaliseLockReference('7k3m-9q2x')).toBe('7K3M9Q2X');
    expect(normaliseLockReference('O1IL 2345')).toBe('01112345');
    expect(normaliseLockReference('7K3M9Q2')).toBeNull();
    expect(normaliseLockReference('7K3M9Q2U')).toBeNull();
    expect(normaliseClaimNumber('c-7k3m9q2x')).toBe('C-7K3M9Q2X');
    expect(normaliseClaimNumber('7K3M9Q2X')).toBe('C-7K3M9Q2X');
    expect(normaliseClaimNumber('hello')).toBeNull();
  });
});
