import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../e2e/server-process.ts';
import { TestPlatform } from '../e2e/in-process.ts';

/** The value of one series in Prometheus text, matched by name and (a subset of) its labels; 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

describe('GET /metrics', () => {
  let metricsPort: number;
  let p: TestPlatform;

  beforeAll(async () => {
    metricsPort = await freePort();
    // The token-free listener on its own address, as LIEN_METRICS_ADDR sets it up.
    p = new TestPlatform('2026-01-01T06:00:00Z', { config: { metricsToken: METRICS_TOKEN, metricsAddr: `127.0.0.1:${metricsPort}` } });
    await p.start();
  });
  afterAll(() => p.stop());

  const scrape = async (key = p.operatorKey) => {
    const r = await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    return r.text();
  };

  it('counts a payment that unlocks a phone in the payment-to-unlock histogram once the phone reports the new policy', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const { agent, screen } = await p.agent(d!);
    await p.driveToLock(agent);
    expect(screen.current?.mode).toBe('locked');

    const before = await scrape();
    expect(sample(before, 'lien_payment_unlock_seconds_count', { from_stage: 'locked' })).toBe(0);
    expect(sample(before, 'lien_policies_issued_total', { stage: 'locked' })).toBeGreaterThanOrEqual(1);

    const contract = await p.api('GET', `/v1/contracts/${sale.contractId}`);
    const pay = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'MPESA-UNLOCK-1', channel: 'mpesa', amount: contract.body.contract.amount_overdue, currency: 'KES' });
    expect(pay.status).toBe(201);
    expect(pay.body.stage).not.toBe('locked');
    // The payment is committed, but the phone has not said it holds the unlocking policy yet.
    expect(sample(await scrape(), 'lien_payment_unlock_seconds_count', { from_stage: 'locked' })).toBe(0);

    p.clock.advance(4_000);
    await agent.sync();
    expect(screen.current?.mode).not.toBe('locked');
    await p.lien.gateway.bookkeeping.flush();

    const after = await scrape();
    expect(sample(after, 'lien_payment_unlock_seconds_count', { from_stage: 'locked' })).toBe(1);
    // Payment committed → phone reports it, on the test's manual clock: the 4 s it was moved.
    expect(sample(after, 'lien_payment_unlock_seconds_sum', { from_stage: 'locked' })).toBe(4);
    expect(sample(after, 'lien_payment_unlock_seconds_bucket', { from_stage: 'locked', le: '5' })).toBe(1);
    expect(sample(after, 'lien_payment_unlock_seconds_bucket', { from_stage: 'locked', le: '2' })).toBe(0);

    // Reporting the same policy again measures nothing twice.
    await agent.sync();
    await p.lien.gateway.bookkeeping.flush();
    expect(sample(await scrape(), 'lien_payment_unlock_seconds_count', { from_stage: 'locked' })).toBe(1);

    // The rest of what the issue lists is there too.
    expect(sample(after, 'lien_http_request_duration_seconds_count', { method: 'POST', route: '/v1/payments', status_code: '201' })).toBe(1);
    expect(sample(after, 'lien_http_request_duration_seconds_count', { method: 'POST', route: '/v1/device/checkin', status_code: '200' })).toBeGreaterThanOrEqual(3);
    expect(sample(after, 'lien_device_checkins_total', { result: 'policy_sent' })).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'lien_device_checkins_total', { result: 'up_to_date' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'lien_policies_issued_total', { stage: 'current' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'lien_sweep_contracts_total', { outcome: 'evaluated' })).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'lien_sweep_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/^lien_device_streams_open \d+$/m);
    expect(after).toMatch(/^lien_outbox_messages\{outbox="sms",kind="unlock",status="pending"\} 1$/m);
    expect(after).toMatch(/^lien_outbox_messages\{outbox="webhooks",kind="device\.unlocked",status="failed"\} 0$/m);
    expect(after).toMatch(/^lien_held_locks\{reason="held_open_claim"\} 0$/m);
    expect(after).toMatch(/^lien_payment_channels\{state="(fresh|stale|never_reported)"\} \d+$/m);
    expect(after).toMatch(/^lien_sweep_unfinished_runs \d+$/m);
    expect(after).toMatch(/^lien_db_pool_connections\{state="in_use"\} \d+$/m);
    expect(after).toMatch(/^lien_db_pool_waiting \d+$/m);
    expect(after).toMatch(/^lien_database_up 1$/m);
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  }, 120_000);

  it('refuses callers without the operator key or the metrics token, and lenders', async () => {
    const none = await fetch(`${p.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await none.text()).not.toContain('lien_');
    const wrong = await fetch(`${p.url}/metrics`, { headers: { authorization: 'Bearer not-a-key-at-all-000000' } });
    expect(wrong.status).toBe(401);
    const lender = await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${p.lenderKey}` } });
    expect(lender.status).toBe(403);
    // The dedicated scrape token works, as does the operator key (above).
    expect(await scrape(METRICS_TOKEN)).toContain('lien_http_request_duration_seconds');
  });

  it('serves /metrics without a token on LIEN_METRICS_ADDR, and nothing else there', async () => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('lien_device_checkins_total');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/v1/contracts`)).status).toBe(404);
  });
});
