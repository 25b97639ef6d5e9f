/**
 * Whole-system properties: the real server in-process (HTTP, database, sweep) and the real device
 * agent, driven by random sequences of borrower, lender, feed, network and clock events. After
 * every step the guardrails of DESIGN.md §4 are checked against an oracle the test keeps itself
 * (schedule, payments, disputes, feed reports), not against the server's own bookkeeping.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { decideEnforcement } from '../../src/agent/enforcement.ts';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { OffsetClock } from '../../src/agent/sim/offset-clock.ts';
import { SwitchableNetwork } from '../../src/agent/sim/switchable-network.ts';
import { noticePeriodMs } from '../../src/domain/compliance.ts';
import { shippedProfile } from '../../src/domain/profiles/index.ts';
import { addDays, businessDateIn, startOfLocalDay } from '../../src/domain/dates.ts';
import { isLocking, type Stage } from '../../src/domain/stage.ts';

const localDate = (ms: number, timeZone: string) => businessDateIn(timeZone, new Date(ms));
import { sweep } from '../../src/jobs/sweep.ts';
import { SYSTEM } from '../../src/services/context.ts';
import { clampNoticeShownAt } from '../../src/domain/evaluation.ts';
import { evaluateContract } from '../../src/services/evaluate.ts';
import { TestPlatform, type TestDevice } from './in-process.ts';

const TZ = 'Africa/Nairobi';
const PROFILE = shippedProfile('retail-short-cycle');
const HOUR = 3_600_000;
const INSTALLMENT = 10_000_00;

// ---------------------------------------------------------------------------------------------
// The steps a run is made of. Plain data, so a shrunk counterexample prints as a readable list.

type Step =
  /** Time passes as in production: the server sweeps, an online phone checks in (twice: a shown notice is reported on the next one). */
  | { t: 'advance'; hours: number }
  /** Time passes with nothing else happening: no sweep, no check-in. */
  | { t: 'jump'; hours: number }
  | { t: 'sweep' }
  | { t: 'evaluate' }
  | { t: 'sync' }
  | { t: 'tick' }
  | { t: 'online'; on: boolean }
  | { t: 'pay'; what: 'arrears' | 'half' | 'all' }
  | { t: 'reverse' }
  | { t: 'dispute' }
  | { t: 'resolve' }
  | { t: 'report' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 240 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('jump' as const), hours: fc.integer({ min: 1, max: 240 }) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'sweep' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'evaluate' as const }) },
  { weight: 4, arbitrary: fc.constant({ t: 'sync' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('online' as const), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pay' as const), what: fc.constantFrom('arrears' as const, 'half' as const, 'all' as const) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reverse' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'dispute' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resolve' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'report' as const }) },
);

const scenarioArb = fc.record({
  consent: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  /** Payment feed freshness window in hours; null = the lender has no payment channel. */
  feedHours: fc.option(fc.integer({ min: 6, max: 24 * 20 }), { nil: null, freq: 3 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40, size: 'max' }),
});
type Scenario = { consent: boolean; feedHours: number | null; steps: Step[] };

// ---------------------------------------------------------------------------------------------
// The oracle: what the test itself knows happened, with times, so any instant can be judged.

interface World {
  installments: { due: string; amount: number }[];
  payments: { id: string; amount: number; at: number; reversedAt: number | null }[];
  disputes: { id: string; openedAt: number; resolvedAt: number | null }[];
  /** Instants the payment channel reported (payments count); empty with no channel. */
  reports: number[];
  feedMs: number | null;
  consent: boolean;
}

function paidAt(w: World, t: number): number {
  return w.payments.filter((p) => p.at <= t && (p.reversedAt === null || p.reversedAt > t)).reduce((a, p) => a + p.amount, 0);
}

/** Oldest installment due before the business date and not covered by what was paid by t. */
function overdueSinceAt(w: World, t: number): string | null {
  const bd = localDate(t, TZ);
  const paid = paidAt(w, t);
  let cum = 0;
  for (const i of w.installments) {
    cum += i.amount;
    if (cum > paid) return i.due < bd ? i.due : null;
  }
  return null;
}

/** Past due beyond grace: the weakest condition every lock needs (disputes only pause more). */
function pastDueAt(w: World, t: number): boolean {
  const since = overdueSinceAt(w, t);
  return since !== null && addDays(since, PROFILE.graceDays) < localDate(t, TZ);
}

function disputeOpenAt(w: World, t: number): boolean {
  return w.disputes.some((d) => d.openedAt <= t && (d.resolvedAt === null || d.resolvedAt > t));
}

function feedFreshAt(w: World, t: number): boolean {
  if (w.feedMs === null) return true;
  const last = Math.max(...w.reports.filter((r) => r <= t));
  return Number.isFinite(last) && t - last <= w.feedMs;
}

interface NoticeEvent {
  at: number;
  receivedAt: number;
}

/** Every notice of the profile was shown on the device in this overdue episode, for its full period, by t. */
function noticeRanAt(w: World, notices: NoticeEvent[], t: number): boolean {
  const since = overdueSinceAt(w, t);
  if (since === null) return false;
  const episodeStart = startOfLocalDay(since, TZ);
  const shown = notices.filter((n) => n.receivedAt <= t && n.at >= episodeStart).map((n) => n.at);
  return shown.length > 0 && Math.min(...shown) + noticePeriodMs(PROFILE, 0) <= t;
}

/** Why a lock at instant t breaks a guardrail, or null when it may stand. */
function lockViolation(w: World, notices: NoticeEvent[], t: number): string | null {
  if (!w.consent) return 'locked without consent';
  if (!pastDueAt(w, t)) return 'locked while not past due';
  if (disputeOpenAt(w, t)) return 'locked during an open dispute';
  if (!noticeRanAt(w, notices, t)) return 'locked before the notice was shown for its full period';
  return null;
}

// ---------------------------------------------------------------------------------------------

describe('whole-system guardrail properties (server + device agent)', () => {
  const p = new TestPlatform();
  let runNo = 0;
  /** How often the runs reached the states the property is about, so a vacuous run shows. */
  const seen = { serverLock: 0, deviceLock: 0, unlockAfterLock: 0, staleHeld: 0, disputeWhileOverdue: 0 };

  beforeAll(async () => {
    await p.start();
  }, 60_000);
  afterAll(() => p.stop());

  async function runScenario(sc: Scenario): Promise<{ contractId: string; deviceId: string }> {
    runNo++;
    const db = p.lien.services.db;
    // Each run starts on a fresh day after the previous one, with its own phone and contract.
    p.clock.set(startOfLocalDay(addDays(localDate(p.clock.now().getTime(), TZ), 2), TZ) + 9 * HOUR);
    const start = p.clock.now().getTime();
    // One lender for every run (the sweep walks every lender, so one per run would slow each
    // run down); its payment channel is set up afresh for the run's feed window.
    const key = p.lenderKey;
    await db.deleteFrom('payment_channels').where('lender_id', '=', p.lenderId).execute();
    if (sc.feedHours !== null) {
      await db.insertInto('payment_channels').values({ lender_id: p.lenderId, channel: 'mpesa', freshness_minutes: sc.feedHours * 60, last_reported_at: new Date(start) }).execute();
    }
    const [device] = (await p.register(1)) as [TestDevice];
    const firstDue = addDays(localDate(start, TZ), 10);
    const sale = await p.api('POST', '/v1/sales', {
      imei: device.imei,
      borrowerRef: `B-${runNo}`,
      borrowerPhone: '+254711000222',
      schedule: { principal: 3 * INSTALLMENT, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: firstDue },
      consent: sc.consent ? { at: new Date(start).toISOString(), channel: 'in_store_signature', termsVersion: 'v1' } : null,
    }, key);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const contractId = sale.body.contractId as string;
    const deviceId = sale.body.deviceId as string;
    const installments = await db.selectFrom('installments').select(['due_date', 'principal', 'interest', 'fee', 'penalty']).where('contract_id', '=', contractId).orderBy('n').execute();
    const w: World = {
      installments: installments.map((i) => ({ due: i.due_date, amount: i.principal + i.interest + i.fee + i.penalty })),
      payments: [],
      disputes: [],
      reports: sc.feedHours === null ? [] : [start],
      feedMs: sc.feedHours === null ? null : sc.feedHours * HOUR,
      consent: sc.consent,
    };

    let net!: SwitchableNetwork;
    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: device.secret, imeis: [device.imei], serial: device.serial });
    const agent = new DeviceAgent({
      persistent,
      userdata: new MemoryStore(),
      clock: p.clock,
      network: (net = new SwitchableNetwork(new HttpNetwork({ baseUrl: p.url }))),
      screen: new MemoryScreen(),
      stream: false,
    });
    await agent.boot();
    await agent.sync();

    const checkedLocks = new Set<string>();
    const trail: string[] = [];
    const fail = (msg: string): never => {
      throw new Error(`${msg}\n  at ${p.clock.now().toISOString()} (run start ${new Date(start).toISOString()}, first due ${firstDue})\n  trail:\n    ${trail.join('\n    ')}`);
    };

    const noticeEvents = async (): Promise<NoticeEvent[]> => {
      await p.lien.gateway.bookkeeping.flush();
      const rows = await db.selectFrom('device_events').select(['at', 'received_at']).where('device_id', '=', deviceId).where('kind', '=', 'notice_shown').execute();
      return rows.map((r) => ({ at: r.at.getTime(), receivedAt: r.received_at.getTime() }));
    };

    const check = async (synced: boolean): Promise<void> => {
      const now = p.clock.now().getTime();
      const notices = await noticeEvents();
      const c = await db.selectFrom('contracts').select(['stage', 'status']).where('id', '=', contractId).executeTakeFirstOrThrow();
      // The server's stage now.
      if (isLocking(c.stage as Stage)) {
        seen.serverLock++;
        const why = lockViolation(w, notices, now);
        if (why) fail(`server: stage ${c.stage}: ${why}`);
      }
      // Every transition into a lock, judged at the instant it was decided (audit time),
      // including evaluations the server ran on its own after a device event.
      const locks = await db
        .selectFrom('audit_log')
        .select(['seq', 'at', 'action'])
        .where('subject_id', '=', deviceId)
        .where('action', 'in', ['device.locked', 'device.restricted'])
        .execute();
      for (const l of locks) {
        const id = String(l.seq);
        if (checkedLocks.has(id)) continue;
        checkedLocks.add(id);
        const at = l.at.getTime();
        const why = lockViolation(w, notices, at) ?? (feedFreshAt(w, at) ? null : 'new lock on stale payment data');
        if (why) fail(`server: ${l.action} at ${l.at.toISOString()}: ${why}`);
      }
      // The phone. A lock it took on its own at the policy's lockAt is a new lock too.
      const policy = agent.policy();
      const e = decideEnforcement({ policy, nowMs: now, creditUntil: null, released: false, dormant: false });
      if (e.lockCause === 'lock_at' && policy?.lockAt && !feedFreshAt(w, Date.parse(policy.lockAt))) {
        fail(`device: locked itself at lockAt ${policy.lockAt} while the payment feed was stale`);
      }
      // Consent cannot change behind the phone's back: without it no lock of any kind, ever.
      if (!w.consent && (e.mode === 'locked' || e.mode === 'restricted')) fail(`device: shows ${e.mode} (${e.lockCause ?? 'stage'}) without consent`);
      // Right after a sync the phone holds the latest policy: what it shows must be allowed now.
      if (synced) {
        const mode = agent.view().mode;
        if (mode === 'locked' || mode === 'restricted') {
          seen.deviceLock++;
          const why = lockViolation(w, notices, now);
          if (why) fail(`device: shows ${mode} (${e.lockCause ?? 'stage'}) after sync: ${why}`);
        }
        if (c.status === 'paid_off' && mode !== 'released') fail(`device: paid off but shows ${mode} after sync`);
      }
    };

    const syncOnline = async (): Promise<boolean> => {
      if (!net.online) return false;
      const r = await agent.sync();
      if (r.status !== 'synced' && r.status !== 'inactive') fail(`sync failed: ${JSON.stringify(r)}`);
      await p.lien.gateway.bookkeeping.flush();
      return true;
    };

    try {
      for (const step of sc.steps) {
        const now = p.clock.now().getTime();
        trail.push(`${new Date(now).toISOString()} ${JSON.stringify(step)}`);
        let synced = false;
        const before = (await db.selectFrom('contracts').select('stage').where('id', '=', contractId).executeTakeFirstOrThrow()).stage as Stage;
        if (step.t === 'dispute' && pastDueAt(w, now)) seen.disputeWhileOverdue++;
        switch (step.t) {
          case 'advance':
            p.clock.advance(step.hours * HOUR);
            await sweep(p.lien.services, { batchSize: 50 });
            synced = (await syncOnline()) && (await syncOnline());
            break;
          case 'jump':
            p.clock.advance(step.hours * HOUR);
            break;
          case 'sweep':
            await sweep(p.lien.services, { batchSize: 50 });
            break;
          case 'evaluate':
            await evaluateContract(p.lien.services, contractId, SYSTEM, 'property test');
            break;
          case 'sync':
            synced = await syncOnline();
            break;
          case 'tick':
            await agent.tick();
            break;
          case 'online':
            net.setOnline(step.on);
            break;
          case 'pay': {
            const c = await db.selectFrom('contracts').select(['amount_overdue', 'outstanding', 'status']).where('id', '=', contractId).executeTakeFirstOrThrow();
            if (c.status !== 'active') break;
            const amount = step.what === 'all' ? c.outstanding : step.what === 'half' ? INSTALLMENT / 2 : c.amount_overdue || INSTALLMENT;
            if (amount <= 0) break;
            const r = await p.api('POST', '/v1/payments', { contractId, externalRef: `R${runNo}-${w.payments.length}`, channel: 'mpesa', amount, currency: 'KES' }, key);
            if (r.status !== 201) fail(`payment refused: ${JSON.stringify(r.body)}`);
            w.payments.push({ id: r.body.paymentId, amount, at: now, reversedAt: null });
            if (w.feedMs !== null) w.reports.push(now);
            // Arrears cleared must reach the phone at once: evaluate happened in the payment.
            synced = await syncOnline();
            break;
          }
          case 'reverse': {
            const last = [...w.payments].reverse().find((x) => x.reversedAt === null);
            const c = await db.selectFrom('contracts').select('status').where('id', '=', contractId).executeTakeFirstOrThrow();
            if (!last || c.status !== 'active') break;
            const r = await p.api('POST', `/v1/payments/${last.id}/reverse`, { reason: 'chargeback' }, key);
            if (r.status !== 200) fail(`reversal refused: ${JSON.stringify(r.body)}`);
            last.reversedAt = now;
            break;
          }
          case 'dispute': {
            if (w.disputes.some((d) => d.resolvedAt === null)) break;
            const r = await p.api('POST', `/v1/contracts/${contractId}/disputes`, { reason: 'borrower disputes the amount' }, key);
            if (r.status !== 201) fail(`dispute refused: ${JSON.stringify(r.body)}`);
            w.disputes.push({ id: r.body.disputeId, openedAt: now, resolvedAt: null });
            break;
          }
          case 'resolve': {
            const open = w.disputes.find((d) => d.resolvedAt === null);
            if (!open) break;
            const r = await p.api('POST', `/v1/disputes/${open.id}/resolve`, { reason: 'amount confirmed' }, key);
            if (r.status !== 200) fail(`resolve refused: ${JSON.stringify(r.body)}`);
            open.resolvedAt = now;
            break;
          }
          case 'report':
            if (w.feedMs === null) break;
            await db.updateTable('payment_channels').set({ last_reported_at: new Date(now) }).where('lender_id', '=', p.lenderId).execute();
            w.reports.push(now);
            break;
        }
        await check(synced);
        const after = await db.selectFrom('contracts').select(['stage', 'stage_reason']).where('id', '=', contractId).executeTakeFirstOrThrow();
        if (isLocking(before) && !isLocking(after.stage as Stage)) seen.unlockAfterLock++;
        if (after.stage_reason === 'held_stale_feed') seen.staleHeld++;
      }
    } finally {
      agent.stop();
      // Retire the contract so later runs' sweeps stay small.
      await db.updateTable('contracts').set({ status: 'returned' }).where('id', '=', contractId).execute();
    }
    return { contractId, deviceId };
  }

  it('never locks against a guardrail, and unlocks when arrears clear', async () => {
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => {
        await runScenario(sc);
      }),
      // The time limit keeps the file under a minute on a loaded machine; a failure still shrinks.
      { numRuns: Number(process.env.LIEN_PROPERTY_RUNS ?? 30), interruptAfterTimeLimit: Number(process.env.LIEN_PROPERTY_MS ?? 40_000) },
    );
    console.log(`property runs: ${runNo} in ${Math.round(performance.now() - started)} ms; reached: ${JSON.stringify(seen)}`);
  }, 240_000);

  it('a phone holding a lockAt does not lock on its own after the payment feed went stale', async () => {
    // The property's device check catches this, but random runs rarely line a notice, a restriction
    // and a feed window up this way, so the case is pinned: the server scheduled lockAt past the
    // moment its feed would go stale, and the phone escalated on its own while new locks were held.
    const steps: Step[] = [
      { t: 'jump', hours: 287 },
      { t: 'report' },
      { t: 'advance', hours: 1 }, // DPD 1: the notice is issued and shown
      { t: 'jump', hours: 49 },
      { t: 'report' }, // the feed is fresh for 24 h from here
      { t: 'advance', hours: 1 }, // DPD 3: restricted, with the lock scheduled for DPD 5
      { t: 'jump', hours: 38 }, // past DPD 5, the feed stale since 14 h
      { t: 'tick' },
      { t: 'sweep' },
      { t: 'sync' },
    ];
    const { contractId } = await runScenario({ consent: true, feedHours: 24, steps });
    const c = await p.lien.services.db.selectFrom('contracts').select(['stage', 'stage_reason']).where('id', '=', contractId).executeTakeFirstOrThrow();
    expect(c).toEqual({ stage: 'restricted', stage_reason: 'held_stale_feed' });
  }, 60_000);

  it('a scenario that should lock does lock (the property is not vacuous)', async () => {
    const steps: Step[] = [
      { t: 'advance', hours: 24 * 12 }, // two days past due: notice
      { t: 'sweep' },
      { t: 'sync' }, // policy with the notice arrives, the notice goes on screen
      { t: 'sync' }, // notice_shown reported
      { t: 'advance', hours: 24 * 5 },
      { t: 'sweep' },
      { t: 'sync' },
    ];
    const { deviceId } = await runScenario({ consent: true, feedHours: null, steps });
    const locks = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', deviceId).where('action', 'in', ['device.locked', 'device.restricted']).execute();
    expect(locks.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('a notice time reported on a wrong device clock cannot shorten the cure period', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  beforeAll(async () => {
    await p.start();
  }, 60_000);
  afterAll(() => p.stop());

  it('clamps shownAt into [issue of the carrying policy, server receive time]', () => {
    const pol = (version: number, iso: string, notice: number | null) => ({ version, issued_at: new Date(iso), notice_index: notice === null ? null : String(notice) });
    const policies = [pol(1, '2026-01-01T00:00:00Z', null), pol(2, '2026-01-10T00:00:00Z', 0), pol(3, '2026-01-11T00:00:00Z', 0), pol(4, '2026-01-20T00:00:00Z', null), pol(5, '2026-02-10T00:00:00Z', 0)];
    const at = (iso: string) => new Date(iso);
    // Device clock behind: raised to the issue of the first policy of the run carrying notice 0.
    expect(clampNoticeShownAt(policies, 0, at('2026-01-02T00:00:00Z'), at('2026-01-12T00:00:00Z'))?.toISOString()).toBe('2026-01-10T00:00:00.000Z');
    // Device clock ahead: lowered to the time the server received the report.
    expect(clampNoticeShownAt(policies, 0, at('2026-01-30T00:00:00Z'), at('2026-01-12T00:00:00Z'))?.toISOString()).toBe('2026-01-12T00:00:00.000Z');
    // A correct clock is left alone.
    expect(clampNoticeShownAt(policies, 0, at('2026-01-10T05:00:00Z'), at('2026-01-10T05:00:01Z'))?.toISOString()).toBe('2026-01-10T05:00:00.000Z');
    // A later episode's notice counts from its own policy, not the first episode's.
    expect(clampNoticeShownAt(policies, 0, at('2026-01-12T00:00:00Z'), at('2026-02-11T00:00:00Z'))?.toISOString()).toBe('2026-02-10T00:00:00.000Z');
    // A policy issued after the report arrived cannot carry it; a notice never issued does not count.
    expect(clampNoticeShownAt(policies, 0, at('2026-01-05T00:00:00Z'), at('2026-01-06T00:00:00Z'))).toBeNull();
    expect(clampNoticeShownAt(policies, 1, at('2026-01-12T00:00:00Z'), at('2026-01-12T00:00:00Z'))).toBeNull();
  });

  async function skewedPhone(d: TestDevice, skewMs: number) {
    const clock = new OffsetClock(p.clock);
    clock.advance(skewMs);
    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: d.secret, imeis: [d.imei], serial: d.serial });
    const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network: new HttpNetwork({ baseUrl: p.url }), screen: new MemoryScreen(), stream: false });
    await agent.boot();
    return agent;
  }

  it('a phone whose clock runs a day behind reports the notice early; the lock still waits the full period', async () => {
    const [behind, ahead] = await p.register(2);
    const a = await p.sell(behind!);
    const b = await p.sell(ahead!);
    const slow = await skewedPhone(behind!, -24 * HOUR);
    const fast = await skewedPhone(ahead!, 3 * 24 * HOUR);
    await slow.sync();
    await fast.sync();
    // Due 15 Jan, grace 1 day: the notice is issued on 17 Jan at 07:00 (server time).
    p.clock.set('2026-01-17T07:00:00Z');
    await sweep(p.lien.services);
    for (const agent of [slow, fast]) {
      await agent.sync(); // the notice policy arrives and goes on screen
      await agent.sync(); // notice_shown is reported, stamped with the phone's own clock
    }
    await p.lien.gateway.bookkeeping.flush();
    const reported = async (deviceId: string) =>
      (await p.lien.services.db.selectFrom('device_events').select(['at', 'received_at']).where('device_id', '=', deviceId).where('kind', '=', 'notice_shown').executeTakeFirstOrThrow());
    const slowEvent = await reported(a.deviceId);
    expect(slowEvent.at.toISOString()).toBe('2026-01-16T07:00:00.000Z'); // the device's wrong time is kept as reported
    expect(slowEvent.received_at.toISOString()).toBe('2026-01-17T07:00:00.000Z');
    expect((await reported(b.deviceId)).at.toISOString()).toBe('2026-01-20T07:00:00.000Z');

    // DPD 3 (restricted by the profile) from 19 Jan 00:00 Nairobi = 18 Jan 21:00Z. The notice
    // period (48 h) counted from the device's claim would end 18 Jan 07:00Z; from the issue of
    // the policy it ends 19 Jan 07:00Z.
    const stageAt = async (iso: string, contractId: string) => {
      p.clock.set(iso);
      return (await evaluateContract(p.lien.services, contractId, SYSTEM, 'test')).decision;
    };
    expect(await stageAt('2026-01-18T22:00:00Z', a.contractId)).toMatchObject({ stage: 'notice', held: 'notice_period' });
    expect(await stageAt('2026-01-19T06:59:00Z', a.contractId)).toMatchObject({ stage: 'notice', held: 'notice_period' });
    expect((await stageAt('2026-01-19T07:00:00Z', a.contractId)).stage).toBe('restricted');
    // A clock running ahead would have lengthened the period (until 22 Jan); the receive time caps it.
    expect((await stageAt('2026-01-19T07:00:00Z', b.contractId)).stage).toBe('restricted');
    slow.stop();
    fast.stop();
  }, 60_000);
});
