/**
 * The independent client (written from docs/protocol.md only) against the vectors and a real
 * server: it enrolls, checks in, verifies policies, accepts a rotated key, refuses an unsigned
 * one, and redeems a code the lender issued.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VECTORS } from '../fixtures/vectors.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { acceptRotations, canonical, checkPolicy, derive, IndependentClient, proof, redeem, signedHeaders, type Key } from './client.ts';

describe('the independent client', () => {
  it('imports nothing of the project', () => {
    for (const f of readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const imports = [...readFileSync(join(import.meta.dirname, f), 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      expect(imports.filter((i) => !i.startsWith('node:')), f).toEqual([]);
    }
  });

  it('reproduces every vector', () => {
    const k = derive(Buffer.from(VECTORS.keyDerivation.factorySecretHex, 'hex'));
    expect(k.authKey.toString('hex')).toBe(VECTORS.keyDerivation.authKeyHex);
    expect(k.tokenKey.toString('hex')).toBe(VECTORS.keyDerivation.tokenKeyHex);
    expect(k.startingCode).toBe(VECTORS.keyDerivation.startingCode);
    const e = VECTORS.enrollProof;
    expect(proof(k.authKey, e.nonce, e.imei, e.serial)).toBe(e.proof);
    for (const r of [VECTORS.checkin, VECTORS.streamHandshake]) {
      expect(signedHeaders(Buffer.from(r.credential, 'base64url'), r.deviceId, r.method, r.path, r.body, r.timestamp, r.counter)).toEqual(r.headers);
    }
    expect(canonical(VECTORS.policy.policy)).toBe(VECTORS.policy.canonicalJson);
    expect(canonical(VECTORS.keyRotation.statement.statement)).toBe(VECTORS.keyRotation.canonicalJson);
    const pinned: Key[] = [{ kid: VECTORS.keyRotation.pinnedKey.kid, publicKey: VECTORS.keyRotation.pinnedKey.publicKey }];
    expect(checkPolicy(VECTORS.policy.signed, pinned, VECTORS.policy.policy.deviceId, 0)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(acceptRotations(pinned, [VECTORS.keyRotation.statement])).toEqual([]);
    expect(checkPolicy(VECTORS.policy.signed, pinned, VECTORS.policy.policy.deviceId, 0)).toEqual({ ok: true, policy: VECTORS.policy.policy });
    const state = { lastCount: 0, usedCounts: [] as number[] };
    for (const t of VECTORS.openPaygo.issued) expect(redeem(t.token, k, state)).toEqual({ ok: true, type: t.type, value: t.value, count: t.count });
    expect(redeem(VECTORS.openPaygo.issued[0].token, k, state)).toEqual({ ok: false, reason: 'already_used' });
    expect(redeem(VECTORS.openPaygo.restrictedDigitSet.token, k, { lastCount: 0, usedCounts: [] })).toMatchObject({ ok: true, type: 'ADD_TIME', value: 7 });
  });

  describe('against a server', () => {
    const p = new TestPlatform();
    beforeAll(() => p.start(), 60_000);
    afterAll(() => p.stop());

    it('enrolls, checks in, verifies policies, accepts a rotated key and redeems a code', async () => {
      const [d] = await p.register(1);
      const sale = await p.sell(d!);
      const phone = new IndependentClient(p.url, { factorySecret: d!.secret, imeis: [d!.imei], serial: d!.serial }, () => p.clock.now().getTime());
      expect(await phone.enroll()).toBe('enrolled');
      expect(phone.deviceId).toBe(sale.deviceId);
      expect(phone.policy).toMatchObject({ deviceId: sale.deviceId, stage: 'current', lockReference: sale.lockReference });
      const firstVersion = phone.policy!.version;
      phone.events.push({ kind: 'boot', at: p.clock.now().toISOString(), detail: { agentVersion: 'independent/1.0' } });
      expect(await phone.checkin()).toEqual({ status: 200, policyApplied: false });
      expect((await p.events(sale.deviceId)).map((e) => e.kind)).toContain('boot');

      // The operator rotates the signing key; the next policy comes signed by it, with its statement.
      const rotated = await p.operator('POST', '/v1/operator/signing-keys');
      await p.api('POST', `/v1/contracts/${sale.contractId}/disputes`, { reason: 'independent client test' });
      expect(await phone.checkin()).toEqual({ status: 200, policyApplied: true });
      expect(phone.pinned.map((k) => k.kid)).toContain(rotated.body.kid);
      expect(phone.policy!.version).toBeGreaterThan(firstVersion);
      expect(phone.rejected).toEqual([]);

      // A code the lender issues for the phone decodes and is reported back.
      const code = await p.api('POST', `/v1/devices/${sale.deviceId}/codes`, { type: 'ADD_TIME', days: 5, reason: 'goodwill' });
      expect(code.status).toBe(201);
      expect(phone.enterCode(code.body.token)).toEqual({ ok: true, type: 'ADD_TIME', value: 5, count: code.body.count });
      expect(phone.enterCode(code.body.token)).toEqual({ ok: false, reason: 'already_used' });
      expect((await phone.checkin()).status).toBe(200);
      const reported = (await p.events(sale.deviceId)).filter((e) => e.kind === 'token_accepted');
      expect(reported.map((e) => e.detail)).toEqual([{ type: 'ADD_TIME', value: 5, count: code.body.count }]);
    });
  });
});
