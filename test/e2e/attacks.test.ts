import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveDeviceKeys, enrollProof, generateSigningKey, signPolicy, signRequest, type SignedPolicy } from '../../src/protocol/index.ts';
import { manInTheMiddle, TestPlatform, type TestDevice } from './in-process.ts';

/** Swaps the policy of check-in answers when `policy` returns one. */
function mitm(rewrite: { policy?: (p: SignedPolicy) => SignedPolicy | undefined }) {
  return manInTheMiddle(() => (answer) => {
    const swapped = rewrite.policy?.(answer.policy as SignedPolicy);
    return swapped ? { ...answer, policy: swapped } : undefined;
  });
}

describe('attacks on the device loop are refused and recorded', () => {
  const p = new TestPlatform();
  let devices: TestDevice[];
  beforeAll(async () => {
    await p.start();
    devices = await p.register(6);
  }, 60_000);
  afterAll(() => p.stop());

  async function rawEnroll(d: TestDevice) {
    const { nonce } = (await (await fetch(`${p.url}/v1/device/nonce`)).json()) as { nonce: string };
    const keys = deriveDeviceKeys(d.secret);
    const r = await fetch(`${p.url}/v1/device/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imeis: [d.imei], serial: d.serial, nonce, proof: enrollProof(keys.authKey, nonce, d.imei, d.serial), agentVersion: 'test' }),
    });
    return (await r.json()) as { deviceId: string; credential: string };
  }

  it('a replayed check-in and a tampered body are refused, with the reason recorded', async () => {
    const d = devices[0]!;
    await p.sell(d);
    const e = await rawEnroll(d);
    const body = JSON.stringify({ agentVersion: 'test', policyVersion: 0, tokenCounter: 0, events: [] });
    const headers = signRequest({ deviceId: e.deviceId, authKey: Buffer.from(e.credential, 'base64url'), method: 'POST', path: '/v1/device/checkin', body, timestamp: p.clock.now().getTime(), counter: 1 });
    const send = (b: string) => fetch(`${p.url}/v1/device/checkin`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: b });
    expect((await send(body)).status).toBe(200);
    const replay = await send(body);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: 'replay', details: { reason: 'replayed_counter' } });
    const tampered = await send(body.replace('"policyVersion":0', '"policyVersion":9'));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ details: { reason: 'bad_signature' } });
    const reasons = (await p.events(e.deviceId)).filter((x) => x.kind === 'request_rejected').map((x) => x.detail.reason);
    expect(reasons).toEqual(['replayed_counter', 'bad_signature']);
  });

  it('an enrollment nonce the server did not issue is refused', async () => {
    const d = devices[1]!;
    await p.sell(d);
    // (A proof without the factory secret is answered like an unknown phone: test/e2e/enrollment.test.ts.)
    const r2 = await fetch(`${p.url}/v1/device/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imeis: [d.imei], serial: d.serial, nonce: Buffer.alloc(40).toString('base64url'), proof: 'x', agentVersion: 'x' }),
    });
    expect(r2.status).toBe(401);
    expect(await r2.json()).toMatchObject({ code: 'unauthorized', details: { reason: 'nonce_forged' } });
  });

  it('a forged policy, another device’s policy and a rolled-back policy never reach the screen', async () => {
    const [victim, other] = [devices[2]!, devices[3]!];
    const sale = await p.sell(victim);
    await p.sell(other);
    const otherAgent = await p.agent(other);
    await otherAgent.agent.sync();
    const otherPolicy = otherAgent.agent.policy() ? ((await otherAgent.persistent.get('policy')) as SignedPolicy | undefined) : undefined;

    // Lock the victim: past due, notice shown, then locked.
    let attack: 'none' | 'forge' | 'other' | 'rollback' = 'none';
    let firstPolicy: SignedPolicy | undefined;
    const attacker = generateSigningKey('evil');
    const phone = await p.agent(
      victim,
      mitm({
        policy: (real) => {
          if (real) firstPolicy ??= real;
          if (attack === 'forge' && real) return signPolicy({ ...real.policy, stage: 'released', version: real.policy.version + 100 }, attacker);
          if (attack === 'other' && otherPolicy) return otherPolicy;
          if (attack === 'rollback') return firstPolicy;
          return undefined;
        },
      }),
    );
    await p.driveToLock(phone.agent);
    expect(phone.agent.view().mode).toBe('locked');
    const lockedVersion = phone.agent.policy()!.version;

    // The server issues a newer policy (a reminder of the same lock) so the MITM has one to swap.
    for (const a of ['forge', 'other', 'rollback'] as const) {
      attack = a;
      await p.api('POST', `/v1/contracts/${sale.contractId}/disputes`, { reason: `test ${a}` });
      const disputes = await p.lien.services.db.selectFrom('disputes').select('id').where('contract_id', '=', sale.contractId).where('resolved_at', 'is', null).execute();
      await p.api('POST', `/v1/disputes/${disputes[0]!.id}/resolve`, { reason: 'resolved' });
      await phone.agent.sync();
      expect(phone.agent.view().mode).toBe('locked');
      expect(phone.agent.policy()!.version).toBe(lockedVersion);
    }
    attack = 'none';
    await phone.agent.sync();
    const reasons = (await p.events(sale.deviceId)).filter((x) => x.kind === 'policy_rejected').map((x) => x.detail.reason);
    expect(reasons).toEqual(expect.arrayContaining(['unknown_key', 'wrong_device', 'rollback']));
  });

  it('brute-forced unlock codes back off exponentially and are recorded', async () => {
    const d = devices[4]!;
    const sale = await p.sell(d);
    const phone = await p.agent(d);
    await phone.agent.sync();
    const waits: number[] = [];
    let refusedDuringBackoff = 0;
    for (let i = 0; i < 6; i++) {
      const r = await phone.agent.enterCode(String(100000000 + i * 7919));
      if (!r.ok && r.reason === 'backoff') refusedDuringBackoff++;
      const again = await phone.agent.enterCode('123456789');
      if (!again.ok && again.reason === 'backoff') refusedDuringBackoff++;
      waits.push(again.ok ? 0 : again.retryAfterSeconds);
      p.clock.advance((again.ok ? 0 : again.retryAfterSeconds) * 1000 + 1000);
    }
    expect(refusedDuringBackoff).toBeGreaterThan(0);
    const positive = waits.filter((w) => w > 0);
    for (let i = 1; i < positive.length; i++) expect(positive[i]!).toBeGreaterThanOrEqual(positive[i - 1]!);
    expect(positive.at(-1)!).toBeGreaterThan(positive[0]!);
    await phone.agent.sync();
    const rejected = (await p.events(sale.deviceId)).filter((x) => x.kind === 'token_rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(3);
  });

  it('a real code from the lender is accepted once and audited with its reason', async () => {
    const d = devices[5]!;
    const sale = await p.sell(d);
    const phone = await p.agent(d);
    await phone.agent.sync();
    const code = await p.api('POST', `/v1/devices/${sale.deviceId}/codes`, { type: 'ADD_TIME', days: 3, reason: 'borrower paid cash at branch, feed delayed' });
    expect(code.status).toBe(201);
    const r = await phone.agent.enterCode(code.body.token);
    expect(r).toMatchObject({ ok: true, type: 'ADD_TIME', value: 3 });
    expect(await phone.agent.enterCode(code.body.token)).toMatchObject({ ok: false, reason: 'already_used' });
    const audit = await p.lien.services.db.selectFrom('audit_log').select(['action', 'reason']).where('subject_id', '=', sale.deviceId).execute();
    expect(audit).toContainEqual({ action: 'token.issued', reason: 'borrower paid cash at branch, feed delayed' });
  });
});
