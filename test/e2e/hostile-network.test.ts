/**
 * A hostile network between the phone and a real server (#13): answers are not signed, so
 * anything a man in the middle adds to them must be refused. Keys come only through statements
 * signed by a pinned key; policies only when signed by a pinned key and newer; a captured stream
 * handshake cannot be replayed. And the genuine rotation goes through.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signKeyRotation, signPolicy, signRequest, type CheckinResponse, type SignedPolicy } from '../../src/protocol/index.ts';
import { manInTheMiddle, TestPlatform } from './in-process.ts';

type Rewrite = (r: CheckinResponse) => CheckinResponse;

describe('a hostile network', () => {
  const p = new TestPlatform();
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  async function enrolledPhone() {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const state: { rewrite: Rewrite | null } = { rewrite: null };
    const phone = await p.agent(d!, manInTheMiddle(() => state.rewrite));
    await phone.agent.sync();
    const held = (await phone.persistent.get('policy')) as SignedPolicy;
    return { ...phone, sale, state, held, pinned: async () => ((await phone.persistent.get('signingKeys')) as { kid: string }[]).map((k) => k.kid) };
  }

  const evil = generateSigningKey('evil');
  const released = (held: SignedPolicy) => signPolicy({ ...held.policy, stage: 'released', version: held.policy.version + 100 }, evil);

  it('an unsigned key in an answer is not pinned, and a policy signed with it is refused', async () => {
    const w = await enrolledPhone();
    const before = await w.pinned();
    w.state.rewrite = (r) => ({ ...r, policy: released(w.held), signingKeys: [...(r.signingKeys ?? []), { kid: evil.kid, publicKey: evil.publicKey }] });
    expect(await w.agent.sync()).toMatchObject({ status: 'synced', policy: 'rejected' });
    expect(await w.pinned()).toEqual(before);
    expect(w.agent.isTerminal()).toBe(false);
    expect(w.agent.policy()!.version).toBe(w.held.policy.version);
    w.state.rewrite = null;
    await w.agent.sync();
    const events = await p.events(w.sale.deviceId);
    expect(events.filter((e) => e.kind === 'key_rejected').map((e) => e.detail)).toEqual([{ kid: 'evil', reason: 'unsigned' }]);
    expect(events.filter((e) => e.kind === 'policy_rejected').map((e) => e.detail)).toEqual([expect.objectContaining({ reason: 'unknown_key', kid: 'evil' })]);
  });

  it('a key vouched for by a key the phone does not pin is refused, as is a forged statement under a pinned key id', async () => {
    const w = await enrolledPhone();
    const before = await w.pinned();
    const stranger = generateSigningKey('stranger');
    const byStranger = signKeyRotation(evil, stranger, p.clock.now());
    // A statement claiming the platform's key id, signed by the attacker's own key.
    const forged = { ...signKeyRotation(evil, stranger, p.clock.now()), signedBy: before[0]! };
    w.state.rewrite = (r) => ({ ...r, policy: released(w.held), keyRotations: [...(r.keyRotations ?? []), byStranger, { ...forged, statement: { ...forged.statement, kid: 'evil2' } }] });
    expect(await w.agent.sync()).toMatchObject({ status: 'synced', policy: 'rejected' });
    expect(await w.pinned()).toEqual(before);
    expect(w.agent.isTerminal()).toBe(false);
    w.state.rewrite = null;
    await w.agent.sync();
    const rejected = (await p.events(w.sale.deviceId)).filter((e) => e.kind === 'key_rejected').map((e) => e.detail);
    expect(rejected).toEqual(expect.arrayContaining([{ kid: 'evil', reason: 'unknown_signer' }, { kid: 'evil2', reason: 'bad_signature' }]));
  });

  it('a rolled-back policy version is refused', async () => {
    const w = await enrolledPhone();
    // A newer genuine policy reaches the phone (the lender records a dispute), then the old one is replayed.
    await p.api('POST', `/v1/contracts/${w.sale.contractId}/disputes`, { reason: 'newer policy for the test' });
    await w.agent.sync();
    const newer = w.agent.policy()!.version;
    expect(newer).toBeGreaterThan(w.held.policy.version);
    w.state.rewrite = (r) => ({ ...r, policy: w.held });
    expect(await w.agent.sync()).toMatchObject({ status: 'synced', policy: 'rejected' });
    expect(w.agent.policy()!.version).toBe(newer);
    w.state.rewrite = null;
    await w.agent.sync();
    expect((await p.events(w.sale.deviceId)).find((e) => e.kind === 'policy_rejected')?.detail).toMatchObject({ reason: 'rollback', version: w.held.policy.version });
  });

  it('a replayed stream handshake is refused', async () => {
    const w = await enrolledPhone();
    // The agents here run without a stream: one is opened by hand with the phone's credential.
    const session = (await w.userdata.get('session')) as { deviceId: string; credential: string };
    const headers = signRequest({ deviceId: session.deviceId, authKey: Buffer.from(session.credential, 'base64url'), method: 'GET', path: '/v1/device/stream', body: '', timestamp: p.clock.now().getTime(), counter: 1_000 });
    const open = (h: Record<string, string>) =>
      new Promise<{ first: string | null; code: number; reason: string }>((resolve) => {
        const ws = new WebSocket(`${p.url.replace('http', 'ws')}/v1/device/stream`, { headers: h });
        let first: string | null = null;
        ws.on('message', (m) => {
          first ??= String(m);
          ws.close(1000);
        });
        ws.on('close', (code, reason) => resolve({ first, code, reason: String(reason) }));
        ws.on('error', () => undefined);
      });
    expect(await open(headers)).toMatchObject({ first: '{"type":"hello"}' });
    // The same handshake again, as an eavesdropper would replay it.
    expect(await open(headers)).toEqual({ first: null, code: 4401, reason: 'replayed_counter' });
  });

  it('the genuine rotation: the phone pins the new key from the statement that comes with its next policy', async () => {
    const w = await enrolledPhone();
    const old = await w.pinned();
    const previous = p.lien.services.keyring.activeKid();
    const rotated = await p.operator('POST', '/v1/operator/signing-keys');
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ active: true, endorsement: { signedBy: previous, statement: { kid: rotated.body.kid } } });
    // The next change to the contract is signed with the new key.
    await p.api('POST', `/v1/contracts/${w.sale.contractId}/disputes`, { reason: 'first policy under the new key' });
    expect(await w.agent.sync()).toMatchObject({ status: 'synced', policy: 'applied' });
    expect(((await w.persistent.get('policy')) as SignedPolicy).kid).toBe(rotated.body.kid);
    expect(await w.pinned()).toEqual([...old, rotated.body.kid]);
    const listed = await p.operator('GET', '/v1/operator/signing-keys');
    expect(listed.body.map((k: { kid: string; active: boolean }) => [k.kid, k.active]).at(-1)).toEqual([rotated.body.kid, true]);
  });
});
