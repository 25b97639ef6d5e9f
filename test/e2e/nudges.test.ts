/**
 * Guardrail 5 rests on one rule: every change to a device's policy nudges that device, once,
 * when the change commits, and never when it rolls back. Every use case that can change a
 * policy runs here against a real server, and the nudges the database delivers are compared
 * with the devices whose newest policy version moved. (Across processes on PostgreSQL:
 * test/e2e/two-process.test.ts, where a payment posted to process A unlocks a phone whose
 * stream is held by process B.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitClaim } from '../../src/services/claims.ts';
import { evaluateContractTx } from '../../src/services/evaluate.ts';
import { commit, NUDGE_CHANNEL, nudgedDevices } from '../../src/services/unit-of-work.ts';
import { TestPlatform, type TestDevice } from './in-process.ts';

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every nudge the database delivers to a listener, in delivery order. */
class NudgeLog {
  private heard: string[] = [];
  private markers = 0;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly p: TestPlatform) {}

  async start(): Promise<void> {
    this.unlisten = await this.p.lien.services.database.listen(NUDGE_CHANNEL, (payload) => this.heard.push(...nudgedDevices(payload)));
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }

  /**
   * The devices nudged since the last call. A marker is notified in a transaction of its own
   * after the action: notifications arrive in commit order, so once it is heard, everything the
   * action committed has been delivered too.
   */
  async take(): Promise<string[]> {
    const marker = `marker-${++this.markers}`;
    await this.p.lien.services.database.notify(NUDGE_CHANNEL, marker);
    await until(marker, () => this.heard.includes(marker));
    const i = this.heard.indexOf(marker);
    const nudged = this.heard.slice(0, i);
    this.heard = this.heard.slice(i + 1);
    return nudged;
  }
}

describe('one nudge per affected device, at commit, by every use case', () => {
  const p = new TestPlatform();
  const log = new NudgeLog(p);
  let devices: TestDevice[];
  const sales: { contractId: string; deviceId: string; lockReference: string }[] = [];

  beforeAll(async () => {
    await p.start();
    await log.start();
    devices = await p.register(4);
  }, 60_000);
  afterAll(async () => {
    await log.stop();
    await p.stop();
  });

  async function versions(): Promise<Map<string, number>> {
    const rows = await p.lien.services.db.selectFrom('policies').select(['device_id', (eb) => eb.fn.max('version').as('v')]).groupBy('device_id').execute();
    return new Map(rows.map((r) => [r.device_id, Number(r.v)]));
  }

  /** Runs an action; returns the devices it nudged and the devices whose newest policy moved. */
  async function observe(action: () => Promise<unknown>): Promise<{ nudged: string[]; changed: string[] }> {
    await log.take();
    const before = await versions();
    await action();
    const nudged = await log.take();
    const after = await versions();
    const changed = [...after].filter(([id, v]) => v > (before.get(id) ?? 0)).map(([id]) => id);
    return { nudged: nudged.sort(), changed: changed.sort() };
  }

  async function expectOneNudgePerChange(action: () => Promise<unknown>, extra: string[] = []): Promise<string[]> {
    const { nudged, changed } = await observe(action);
    expect(changed.length + extra.length, 'the action must change something for the check to mean anything').toBeGreaterThan(0);
    expect(nudged).toEqual([...new Set([...changed, ...extra])].sort());
    return changed;
  }

  const ok = async (r: Promise<{ status: number; body: any }>, status = 200) => {
    const res = await r;
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };

  it('sale, sweep, payment, reversal, import, manual action, dispute, claims, settings, code, re-enrollment; nothing on rollback', async () => {
    // Sale: the first policy of each phone.
    for (const d of devices) {
      const changed = await expectOneNudgePerChange(async () => sales.push(await p.sell(d)));
      expect(changed).toEqual([sales.at(-1)!.deviceId]);
    }
    const [a, b, c, d] = sales as [(typeof sales)[0], (typeof sales)[0], (typeof sales)[0], (typeof sales)[0]];

    // Sweep: due on 15 January, two days overdue: every phone gets its notice.
    p.clock.set('2026-01-17T07:00:00Z');
    expect(await expectOneNudgePerChange(() => ok(p.operator('POST', '/v1/operator/sweep')))).toHaveLength(4);

    // Payment and its reversal.
    const paid = await p.api('GET', `/v1/contracts/${a.contractId}`);
    const overdue = paid.body.contract.amount_overdue as number;
    let paymentId = '';
    await expectOneNudgePerChange(async () => {
      paymentId = (await ok(p.api('POST', '/v1/payments', { contractId: a.contractId, externalRef: 'MP-A1', channel: 'mpesa', amount: overdue, currency: 'KES' }), 201)).paymentId;
    });
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/payments/${paymentId}/reverse`, { reason: 'bounced' })));

    // Import of payments for two contracts.
    const csv = ['contract_id,external_ref,channel,amount,currency,received_at', `${b.contractId},IMP-B,mpesa,${(overdue / 100).toFixed(2)},KES,2026-01-17T06:00:00Z`, `${c.contractId},IMP-C,mpesa,${(overdue / 100).toFixed(2)},KES,2026-01-17T06:00:00Z`].join('\n');
    const changedByImport = await expectOneNudgePerChange(async () => {
      const job = await ok(p.api('POST', '/v1/imports/payments', csv, p.lenderKey, 'text/csv'), 202);
      for (;;) {
        const r = await ok(p.api('GET', `/v1/imports/${job.id}`));
        if (r.state !== 'running') {
          expect(r.state, JSON.stringify(r)).toBe('succeeded');
          break;
        }
        await new Promise((res) => setTimeout(res, 10));
      }
    });
    expect(changedByImport.sort()).toEqual([b.deviceId, c.deviceId].sort());

    // Manual action, dispute opened and resolved.
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/contracts/${a.contractId}/actions`, { action: 'pause', reason: 'borrower in hospital' })));
    const dispute = await (async () => {
      let id = '';
      await expectOneNudgePerChange(async () => (id = (await ok(p.api('POST', `/v1/contracts/${d.contractId}/disputes`, { reason: 'fee disputed' }), 201)).disputeId));
      return id;
    })();
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/disputes/${dispute}/resolve`, { reason: 'fee explained' })));

    // Claims: filed on the portal, approved; filed again elsewhere, rejected.
    const claimOn = async (lockReference: string, ref: string) => {
      let id = '';
      await expectOneNudgePerChange(async () => {
        const filed = await submitClaim(p.lien.services, { lockReference, transactionRef: ref, amount: '100', paidOn: '2026-01-16', channel: 'mobile_money' });
        id = filed.claimId;
      });
      return id;
    };
    const approved = await claimOn(d.lockReference, 'CLAIM-D1');
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/claims/${approved}/approve`)));
    const rejected = await claimOn(c.lockReference, 'CLAIM-C1');
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/claims/${rejected}/reject`, { message: 'No such payment reached us.' })));

    // Settings shown on every lock screen: every phone gets a new policy.
    expect(await expectOneNudgePerChange(() => ok(p.api('PUT', '/v1/settings', { howToPay: 'M-Pesa paybill 654321, account = lock reference' })))).toHaveLength(4);

    // A DISABLE_PAYG code releases the phone.
    await expectOneNudgePerChange(() => ok(p.api('POST', `/v1/devices/${b.deviceId}/codes`, { type: 'DISABLE_PAYG', reason: 'settled in branch' }), 201));

    // Enrollment and re-enrollment (after a factory reset): the credential changes, so the
    // phone's old one is dropped from every process's cache; its policy does not change.
    const enrollAndSync = async () => (await p.agent(devices[2]!)).agent.sync();
    const enrolled = await observe(enrollAndSync);
    expect(enrolled).toEqual({ nudged: [c.deviceId], changed: [] });
    const reEnrolled = await observe(enrollAndSync);
    expect(reEnrolled).toEqual({ nudged: [c.deviceId], changed: [] });
    await p.lien.gateway.idle();

    // A unit of work that changes a policy and then fails: nothing is nudged, nothing is kept.
    p.clock.set('2026-02-20T07:00:00Z');
    const rolledBack = await observe(() =>
      commit(p.lien.services, { kind: 'system', id: 'test', lenderId: null }, async (tx, fx) => {
        const ev = await evaluateContractTx(p.lien.services, tx, fx, d.contractId, 'test');
        expect(ev.policyChanged).toBe(true);
        throw new Error('rolled back on purpose');
      }).catch((e: Error) => expect(e.message).toBe('rolled back on purpose')),
    );
    expect(rolledBack).toEqual({ nudged: [], changed: [] });
  }, 120_000);
});
