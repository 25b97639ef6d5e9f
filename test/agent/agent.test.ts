import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/domain/clock.ts';
import { FileStore } from '../../src/agent/file-store.ts';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { MemoryNetwork, MemoryScreen, MemoryStore, RecordingDialer } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { generateSigningKey, type Policy, type SignedPolicy } from '../../src/protocol/index.ts';
import { FakeServer, LENDER } from './fake-server.ts';

const T0 = '2026-03-01T08:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

async function world(opts: { financed?: boolean; registered?: boolean; policy?: Partial<Policy> } = {}) {
  const clock = new ManualClock(T0);
  const server = new FakeServer(clock);
  const phone = server.manufacture(opts);
  const persistent = new MemoryStore();
  const userdata = new MemoryStore();
  await provisionDevice(persistent, phone);
  const network = new MemoryNetwork(server);
  const screen = new MemoryScreen();
  const make = () => new DeviceAgent({ persistent, userdata, clock, network, screen });
  const agent = make();
  await agent.boot();
  return { clock, server, deviceId: phone.deviceId, persistent, userdata, network, screen, agent, make };
}

const kinds = (events: { kind: string }[]) => events.map((e) => e.kind);

describe('device agent', () => {
  it('enrolls, applies the signed policy and reports its boot', async () => {
    const w = await world({ policy: { stage: 'reminder', amountDue: 250000, message: 'Installment due on 3 March' } });
    expect(w.agent.view().mode).toBe('normal'); // nothing to enforce before enrolling
    const r = await w.agent.sync();
    expect(r).toEqual({ status: 'synced', enrolled: true, policy: 'applied' });
    expect(w.agent.deviceId()).toBe(w.deviceId);
    expect(w.agent.policy()?.version).toBe(1);
    expect(w.screen.current).toMatchObject({ mode: 'reminder', lender: LENDER, amountDue: '2,500.00', currency: 'KES', message: 'Installment due on 3 March' });
    expect(kinds(w.server.eventsOf(w.deviceId))).toEqual(['boot']);
    expect(w.agent.streamOpen()).toBe(true);
    expect(w.network.calls.map((c) => c.kind)).toEqual(['nonce', 'enroll', 'checkin', 'stream']);
  });

  it('stopped while its nudge stream is still opening: the stream is closed once it opens, and never reopened', async () => {
    const w = await world();
    const connect = w.network.connectStream.bind(w.network);
    w.network.connectStream = async (...args) => {
      w.agent.stop(); // the shell shuts down during the handshake
      return connect(...args);
    };
    expect(await w.agent.sync()).toMatchObject({ status: 'synced' });
    expect(w.agent.streamOpen()).toBe(false);
    expect(w.network.openStreams()).toBe(0);
    w.network.connectStream = connect;
    await w.agent.sync();
    expect(w.network.openStreams()).toBe(0);
  });

  it('locks on its own when lockAt passes while offline', async () => {
    const w = await world({ policy: { stage: 'notice', lockAt: at(2 * DAY), amountDue: 100000 } });
    await w.agent.sync();
    w.network.setOnline(false);
    w.clock.advance(2 * DAY - 1);
    expect((await w.agent.tick()).mode).toBe('notice');
    w.clock.advance(1);
    const v = await w.agent.tick();
    expect(v).toMatchObject({ mode: 'locked', lender: LENDER, lockReference: `LR-${w.deviceId}-1`, amountDue: '1,000.00' });
    expect(w.agent.pendingEvents().find((e) => e.kind === 'lock_shown')?.detail).toMatchObject({ cause: 'lock_at', policyVersion: 1 });
    expect(await w.agent.sync()).toEqual({ status: 'offline' });
  });

  it('locks when offlineLockAt passes, and only a newer signed policy moves it', async () => {
    const w = await world({ policy: { offlineLockAt: at(14 * DAY) } });
    await w.agent.sync();
    // The server's clock runs a month ahead: the agent stamps its requests with server time to
    // be let in (its first check-in is refused as stale, so it enrolls again and learns the
    // offset), but enforces with its own clock.
    w.server.serverTimeSkewMs = 30 * DAY;
    w.clock.advance(13 * DAY);
    expect(await w.agent.sync()).toEqual({ status: 'synced', enrolled: true, policy: 'unchanged' });
    expect(await w.agent.sync()).toEqual({ status: 'synced', enrolled: false, policy: 'none' });
    expect(w.server.device(w.deviceId).enrollments).toBe(2);
    expect((await w.agent.tick()).mode).toBe('normal');
    w.server.setPolicy(w.deviceId, { offlineLockAt: at(27 * DAY) });
    await w.agent.sync();
    w.network.setOnline(false);
    w.clock.set(at(27 * DAY - 1));
    expect((await w.agent.tick()).mode).toBe('normal');
    w.clock.set(at(27 * DAY));
    expect((await w.agent.tick()).mode).toBe('locked');
    expect(w.agent.pendingEvents().find((e) => e.kind === 'lock_shown')?.detail).toMatchObject({ cause: 'offline', policyVersion: 2 });
  });

  it('an ADD_TIME code unlocks for its days, stacks on remaining credit, then the lock returns', async () => {
    const w = await world({ policy: { stage: 'locked', amountDue: 300000 } });
    await w.agent.sync();
    expect(w.agent.view().mode).toBe('locked');
    const three = w.server.issueToken(w.deviceId, 'ADD_TIME', 3);
    const r = await w.agent.enterCode(three);
    expect(r).toMatchObject({ ok: true, type: 'ADD_TIME', value: 3, creditUntil: at(3 * DAY) });
    expect(w.screen.current).toMatchObject({ mode: 'normal', creditUntil: at(3 * DAY) });
    // One day in, two more days: they start when the first three end, not today.
    w.clock.advance(DAY);
    const two = w.server.issueToken(w.deviceId, 'ADD_TIME', 2);
    expect(await w.agent.enterCode(`${two.slice(0, 3)} ${two.slice(3, 6)} ${two.slice(6)}`)).toMatchObject({ ok: true, creditUntil: at(5 * DAY) });
    w.clock.set(at(5 * DAY - 1000));
    expect((await w.agent.tick()).mode).toBe('normal');
    w.clock.set(at(5 * DAY));
    expect((await w.agent.tick()).mode).toBe('locked');
    await w.agent.sync();
    const events = w.server.eventsOf(w.deviceId);
    expect(kinds(events)).toEqual(['boot', 'lock_shown', 'token_accepted', 'unlocked', 'token_accepted', 'lock_shown']);
    expect(w.server.received.at(-1)!.request.tokenCounter).toBe(w.server.device(w.deviceId).tokenCount);
    // The same code again is refused and does not add time.
    expect(await w.agent.enterCode(two)).toMatchObject({ ok: false, reason: 'already_used' });
    expect(w.agent.view().mode).toBe('locked');
  });

  it('SET_TIME replaces the credit rather than adding to it', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    await w.agent.enterCode(w.server.issueToken(w.deviceId, 'ADD_TIME', 10));
    expect(await w.agent.enterCode(w.server.issueToken(w.deviceId, 'SET_TIME', 1))).toMatchObject({ ok: true, creditUntil: at(DAY) });
    w.clock.advance(DAY);
    expect((await w.agent.tick()).mode).toBe('locked');
  });

  it('DISABLE_PAYG releases the phone for good: no lock, no network, across reboots', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    expect(await w.agent.enterCode(w.server.issueToken(w.deviceId, 'DISABLE_PAYG'))).toMatchObject({ ok: true, type: 'DISABLE_PAYG', released: true });
    expect(w.screen.current?.mode).toBe('released');
    expect(w.agent.streamOpen()).toBe(false);
    const callsBefore = w.network.calls.length;
    w.server.setPolicy(w.deviceId, { stage: 'locked' });
    expect(w.network.pushSync(w.deviceId)).toBe(0); // the stream is closed
    expect(await w.agent.sync()).toEqual({ status: 'inactive', reason: 'released' });
    w.clock.advance(400 * DAY);
    expect((await w.agent.tick()).mode).toBe('released');
    const rebooted = w.make();
    expect((await rebooted.boot()).mode).toBe('released');
    expect(await rebooted.sync()).toEqual({ status: 'inactive', reason: 'released' });
    expect(await rebooted.enterCode('123456789')).toEqual({ ok: false, reason: 'inactive', retryAfterSeconds: 0 });
    expect(w.network.calls.length).toBe(callsBefore);
  });

  it('a released policy releases the phone and ends all syncing', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    w.server.setPolicy(w.deviceId, { stage: 'released', lockAt: null, offlineLockAt: null, amountDue: 0, message: 'Paid in full. Thank you!' });
    expect(w.network.pushSync(w.deviceId)).toBe(1);
    await w.agent.sync(); // the nudge's sync is already running; this one waits for it
    expect(w.screen.current).toMatchObject({ mode: 'released', lender: LENDER, amountDue: null });
    expect(w.agent.streamOpen()).toBe(false);
    const callsBefore = w.network.calls.length;
    w.clock.advance(30 * DAY);
    expect(await w.agent.sync()).toEqual({ status: 'inactive', reason: 'released' });
    await w.agent.factoryReset();
    expect(w.agent.view().mode).toBe('released');
    expect(await w.agent.sync()).toEqual({ status: 'inactive', reason: 'released' });
    expect(w.network.calls.length).toBe(callsBefore);
    expect(w.agent.canCall('+254 722 999 888')).toBe(true);
  });

  describe('refuses policies it cannot trust, and says why', () => {
    type World = Awaited<ReturnType<typeof world>>;
    async function refused(forge: (w: World) => SignedPolicy, reason: string) {
      // The phone holds version 3 (locked); the server has a genuine version 4 waiting.
      const w = await world({ policy: { stage: 'locked', version: 3 } });
      await w.agent.sync();
      w.server.setPolicy(w.deviceId, { stage: 'current' });
      w.server.nextCheckinPolicy = forge(w);
      expect(await w.agent.sync()).toMatchObject({ status: 'synced', policy: 'rejected' });
      expect(w.agent.policy()?.version).toBe(3);
      expect(w.agent.view().mode).toBe('locked');
      expect(w.agent.pendingEvents()).toEqual([expect.objectContaining({ kind: 'policy_rejected', detail: expect.objectContaining({ reason }) })]);
      await w.agent.sync(); // delivers the report, and takes the genuine version 4
      expect(w.server.eventsOf(w.deviceId).filter((e) => e.kind === 'policy_rejected').map((e) => e.detail?.reason)).toEqual([reason]);
      expect(w.agent.policy()?.version).toBe(4);
      expect(w.agent.view().mode).toBe('normal');
    }
    const genuine = (w: World) => w.server.device(w.deviceId).signed;

    it('a forged signature', () => refused((w) => ({ ...genuine(w), policy: { ...genuine(w).policy, stage: 'released' } }), 'bad_signature'));

    it('another key under a pinned key id', () =>
      refused((w) => w.server.sign({ ...genuine(w).policy, stage: 'released' }, generateSigningKey('platform-2026')), 'bad_signature'));

    it('a key it never pinned', () => refused((w) => w.server.sign({ ...genuine(w).policy, stage: 'released' }, generateSigningKey('rogue')), 'unknown_key'));

    it('a policy for another phone', () =>
      refused((w) => w.server.sign({ ...genuine(w).policy, deviceId: 'dev_someone_else', stage: 'released' }), 'wrong_device'));

    it('an older genuine version (a replay)', () => refused((w) => w.server.sign(w.server.basePolicy(w.deviceId, 2, { stage: 'current' })), 'rollback'));

    it('a different policy under the version it holds', () =>
      refused((w) => w.server.sign(w.server.basePolicy(w.deviceId, 3, { stage: 'current' })), 'rollback'));

    it('something that is not a policy', () => refused((w) => ({ ...genuine(w), policy: { ...genuine(w).policy, stage: 'unlocked' } }) as unknown as SignedPolicy, 'malformed'));
  });

  it('backs off wrong codes exponentially, and neither a reboot nor a reset clears it', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    const good = w.server.issueToken(w.deviceId, 'ADD_TIME', 7);
    const wrong = good.startsWith('1') ? '2' + good.slice(1) : '1' + good.slice(1);
    expect(await w.agent.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 0 });
    expect(await w.agent.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 0 });
    expect(await w.agent.enterCode('12')).toEqual({ ok: false, reason: 'malformed', retryAfterSeconds: 0 }); // a slip, not a guess
    expect(await w.agent.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 30 });
    expect(w.agent.view()).toMatchObject({ codeEntryEnabled: false, backoffSecondsRemaining: 30 });
    // During the wait even the right code is refused unread: it stays valid for later.
    w.clock.advance(10_000);
    expect(await w.agent.enterCode(good)).toEqual({ ok: false, reason: 'backoff', retryAfterSeconds: 20 });
    await w.agent.factoryReset();
    expect(await w.agent.enterCode(good)).toEqual({ ok: false, reason: 'backoff', retryAfterSeconds: 20 });
    const rebooted = w.make();
    await rebooted.boot();
    expect(rebooted.view().backoffSecondsRemaining).toBe(20);
    w.clock.advance(20_000);
    expect(await rebooted.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 60 });
    w.clock.advance(60_000);
    expect(await rebooted.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 120 });
    w.clock.advance(120_000);
    expect(await rebooted.enterCode(good)).toMatchObject({ ok: true, type: 'ADD_TIME', value: 7 });
    // A right code starts the count again.
    expect(await rebooted.enterCode(wrong)).toEqual({ ok: false, reason: 'invalid', retryAfterSeconds: 0 });
    expect(rebooted.pendingEvents().filter((e) => e.kind === 'token_rejected').length).toBeGreaterThan(0);
  });

  it('a factory reset keeps the lock on screen, and the phone re-enrolls and stays locked', async () => {
    const w = await world({ policy: { stage: 'locked', amountDue: 180000 } });
    await w.agent.sync();
    const oldCredential = w.server.device(w.deviceId).credential;
    const view = await w.agent.factoryReset();
    expect(view).toMatchObject({ mode: 'locked', lender: LENDER, amountDue: '1,800.00' });
    expect(w.agent.deviceId()).toBeNull();
    expect(await w.userdata.get('session')).toBeUndefined();
    expect(kinds(w.agent.pendingEvents())).toEqual(['factory_reset', 'boot', 'lock_shown']);
    expect(w.agent.canCall('+254 722 999 888')).toBe(false);
    const r = await w.agent.sync();
    expect(r).toEqual({ status: 'synced', enrolled: true, policy: 'unchanged' });
    expect(w.server.device(w.deviceId).enrollments).toBe(2);
    expect(w.server.device(w.deviceId).credential).not.toBe(oldCredential);
    expect(w.agent.view().mode).toBe('locked');
    expect(kinds(w.server.eventsOf(w.deviceId))).toEqual(['boot', 'lock_shown', 'factory_reset', 'boot', 'lock_shown']);
  });

  it('enrolls again when the server revokes its credential', async () => {
    const w = await world({ policy: { stage: 'notice' } });
    await w.agent.sync();
    await w.agent.simChanged({ slot: 1 });
    w.server.revoke(w.deviceId);
    expect(await w.agent.sync()).toEqual({ status: 'synced', enrolled: true, policy: 'unchanged' });
    expect(w.server.revokedAttempts).toEqual([w.deviceId]);
    expect(w.server.device(w.deviceId).enrollments).toBe(2);
    // The event queued before the revocation still arrives, once.
    expect(kinds(w.server.eventsOf(w.deviceId)).filter((k) => k === 'sim_change')).toHaveLength(1);
  });

  it('a phone sold without credit goes dormant for good: never locks, never calls again', async () => {
    const w = await world({ financed: false });
    expect(await w.agent.sync()).toEqual({ status: 'not_financed' });
    expect(w.screen.current).toMatchObject({ mode: 'dormant', lender: null, codeEntryEnabled: false });
    const calls = w.network.calls.length;
    expect(calls).toBe(2); // nonce and enroll
    w.clock.advance(365 * DAY);
    expect((await w.agent.tick()).mode).toBe('dormant');
    expect(await w.agent.sync()).toEqual({ status: 'inactive', reason: 'dormant' });
    await w.agent.factoryReset();
    const rebooted = w.make();
    expect((await rebooted.boot()).mode).toBe('dormant');
    expect(await rebooted.sync()).toEqual({ status: 'inactive', reason: 'dormant' });
    expect(w.network.calls.length).toBe(calls);
    expect(rebooted.canCall('+254 722 999 888')).toBe(true);
  });

  it('an unknown phone goes dormant too', async () => {
    const w = await world({ registered: false });
    expect(await w.agent.sync()).toEqual({ status: 'not_financed' });
    expect(w.agent.view().mode).toBe('dormant');
  });

  it('an unsigned not_financed answer cannot lift a signed lock', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    await w.agent.factoryReset();
    w.server.device(w.deviceId).financed = false; // or a fake server after the reset
    expect(await w.agent.sync()).toMatchObject({ status: 'failed', step: 'enroll', code: 'not_financed_refused' });
    expect(w.agent.view().mode).toBe('locked');
    expect(await w.persistent.get('dormant')).toBeUndefined();
  });

  it('a locked phone still calls emergencies, the lender and the allowed numbers', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    const dialer = new RecordingDialer(w.agent);
    for (const n of ['112', '911', '999', '000', '100', '101', '102', '108', '0700 000 111', '+254711222333', '+254722999888']) dialer.dial(n);
    expect(dialer.calls.filter((c) => !c.placed).map((c) => c.number)).toEqual(['+254722999888']);
    expect(w.agent.view().emergencyNumbers).toEqual(expect.arrayContaining(['112', '911', '999', '000', '100', '101', '102', '108']));
    expect(w.agent.view().allowedNumbers).toEqual([LENDER.phone, '+254711222333']);
  });

  it('delivers each queued event once, then clears the queue', async () => {
    const w = await world({ policy: { stage: 'notice', noticeUntil: at(3 * DAY) } as Partial<Policy> });
    await w.agent.sync();
    await w.agent.tick();
    await w.agent.sync();
    await w.agent.sync();
    const requests = w.server.received.filter((r) => r.deviceId === w.deviceId).map((r) => r.request.events);
    expect(requests.map(kinds)).toEqual([['boot', 'notice_shown'], [], []]);
    expect(requests[0]![1]).toEqual({ kind: 'notice_shown', at: T0, detail: { index: 0, policyVersion: 1 } });
    expect(w.agent.pendingEvents()).toEqual([]);
    expect(await w.userdata.get('events')).toEqual([]);
    // A new notice version of the same notice is not reported again.
    w.server.setPolicy(w.deviceId, { stage: 'notice', message: 'Second reminder of the same notice' });
    await w.agent.sync();
    expect(w.agent.pendingEvents()).toEqual([]);
  });

  it('keeps events while offline and sends them when the network returns', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    w.network.setOnline(false);
    await w.agent.enterCode(w.server.issueToken(w.deviceId, 'ADD_TIME', 1));
    expect(await w.agent.sync()).toEqual({ status: 'offline' });
    expect(kinds(w.agent.pendingEvents())).toEqual(['token_accepted', 'unlocked']);
    w.network.setOnline(true);
    await w.agent.sync();
    expect(kinds(w.server.eventsOf(w.deviceId)).slice(-2)).toEqual(['token_accepted', 'unlocked']);
    expect(w.agent.pendingEvents()).toEqual([]);
  });

  it('applies a newer policy pushed through the stream', async () => {
    const w = await world({ policy: { stage: 'locked' } });
    await w.agent.sync();
    w.server.setPolicy(w.deviceId, { stage: 'current' });
    w.network.pushSync(w.deviceId);
    await w.agent.sync();
    expect(w.agent.policy()?.version).toBe(2);
    expect(w.screen.current?.mode).toBe('normal');
    expect(kinds(w.server.eventsOf(w.deviceId))).toContain('unlocked');
  });

  it('keeps its state in files across a restart of the process (the simulator)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lien-phone-'));
    try {
      const clock = new ManualClock(T0);
      const server = new FakeServer(clock);
      const phone = server.manufacture({ policy: { stage: 'locked', amountDue: 5000 } });
      const stores = () => ({ persistent: new FileStore(join(dir, 'persistent.json')), userdata: new FileStore(join(dir, 'userdata.json')) });
      const network = new MemoryNetwork(server);
      const first = stores();
      await provisionDevice(first.persistent, phone);
      const a = new DeviceAgent({ ...first, clock, network, screen: new MemoryScreen(), stream: false });
      await a.boot();
      await a.sync();
      await a.enterCode('111111111');
      const b = new DeviceAgent({ ...stores(), clock, network, screen: new MemoryScreen(), stream: false });
      expect(await b.boot()).toMatchObject({ mode: 'locked', amountDue: '50.00' });
      expect(b.deviceId()).toBe(phone.deviceId);
      expect(await b.sync()).toEqual({ status: 'synced', enrolled: false, policy: 'none' });
      expect(server.device(phone.deviceId).enrollments).toBe(1);
      expect(server.eventsOf(phone.deviceId).map((e) => e.kind)).toEqual(['boot', 'lock_shown', 'token_rejected', 'boot']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
