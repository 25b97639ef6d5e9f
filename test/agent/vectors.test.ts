/**
 * The agent side of test/fixtures/protocol-vectors.json: a phone made at the factory with the
 * vectors' secret and first platform key enrolls against an answer built from the vectors, pins
 * the rotated key from the statement, applies the signed policy, accepts the codes in order and
 * enforces the offline cases as the table says.
 */
import { describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { buildView, decideEnforcement } from '../../src/agent/enforcement.ts';
import { describeScreen, lineText } from '../../src/agent/sim/screen-model.ts';
import { MemoryNetwork, MemoryScreen, MemoryStore, type DeviceApi } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { VECTORS } from '../fixtures/vectors.ts';

describe('protocol vectors, agent side', () => {
  it('enrolls, pins the rotated key from its statement, applies the policy and takes the codes in order', async () => {
    const clock = new ManualClock('2026-03-01T09:00:00Z');
    const persistent = new MemoryStore();
    const { keyRotation, policy, enrollProof, openPaygo } = VECTORS;
    await provisionDevice(persistent, {
      factorySecret: Buffer.from(VECTORS.keyDerivation.factorySecretHex, 'hex'),
      imeis: [enrollProof.imei],
      serial: enrollProof.serial,
      signingKeys: [{ kid: keyRotation.pinnedKey.kid, publicKey: keyRotation.pinnedKey.publicKey }],
    });
    const seenProofs: string[] = [];
    const api: DeviceApi = {
      nonce: () => ({ ok: true, body: { nonce: enrollProof.nonce, expiresAt: '2026-03-01T09:05:00.000Z' } }),
      enroll: (req) => {
        seenProofs.push(req.proof);
        return {
          ok: true,
          body: {
            status: 'enrolled',
            deviceId: policy.policy.deviceId,
            credential: VECTORS.checkin.credential,
            policy: policy.signed,
            signingKeys: [keyRotation.pinnedKey, keyRotation.newKey].map(({ kid, publicKey }: { kid: string; publicKey: string }) => ({ kid, publicKey })),
            keyRotations: [keyRotation.statement],
            serverTime: '2026-03-01T09:00:00.000Z',
            nextCheckinAt: '2026-03-01T15:00:00.000Z',
          },
        };
      },
      checkin: () => ({ ok: true, body: { nextCheckinAt: '2026-03-01T15:00:00.000Z', serverTime: clock.now().toISOString() } }),
    };
    const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network: new MemoryNetwork(api), screen: new MemoryScreen(), stream: false });
    await agent.boot();
    expect(await agent.sync()).toEqual({ status: 'synced', enrolled: true, policy: 'applied' });
    expect(seenProofs).toEqual([enrollProof.proof]);
    expect(agent.policy()).toEqual(policy.policy);
    expect(((await persistent.get('signingKeys')) as { kid: string }[]).map((k) => k.kid)).toEqual([keyRotation.pinnedKey.kid, keyRotation.newKey.kid]);

    for (const t of openPaygo.issued) {
      const r = await agent.enterCode(t.token);
      expect(r).toMatchObject({ ok: true, type: t.type, value: t.value, count: t.count });
    }
    expect(agent.isTerminal()).toBe(true); // the last code is DISABLE_PAYG
  });

  it('enforces the offline table: the notice first, the lock only after its minimum time', () => {
    const { offline, policy } = VECTORS;
    const p = { ...policy.policy, stage: 'current', offlineLockAt: offline.offlineLockAt, offlineNotice: offline.offlineNotice };
    for (const c of offline.cases) {
      const e = decideEnforcement({ policy: p, nowMs: Date.parse(c.now), creditUntil: null, released: false, dormant: false, offlineNoticeShownAt: c.noticeShownAt });
      const expected = c.locked ? 'locked' : c.noticeDue ? 'notice' : 'normal';
      expect(e.mode, c.now).toBe(expected);
      if (c.noticeDue && !c.locked) expect(e.offlineNotice?.lockAt ?? null, c.now).toBe(c.lockAt);
    }
  });

  it('words the 1.1 policy in Hindi and Swahili exactly as the vectors say (#15)', () => {
    const { policy11 } = VECTORS;
    for (const lang of ['hi', 'sw'] as const) {
      const view = buildView({ mode: 'locked', policy: policy11.policy, creditUntil: null, nowMs: Date.parse('2026-03-01T09:00:00Z'), backoffSeconds: 0 });
      const m = describeScreen(view, policy11.policy, { lang });
      expect({ badge: m.modeLabel, lines: m.lines.map(lineText), fields: m.fields.map((f) => ({ label: f.label, value: f.value })) }).toEqual(policy11.screen[lang]);
      expect(m.lines.map(lineText).join(' ')).not.toContain(policy11.policy.message);
    }
  });
});
