/**
 * Issue #12 L4 (an import interrupted by a crash says so, and what it wrote) and L5 (an
 * Idempotency-Key in flight at a crash: released on restart on embedded PGlite; otherwise the
 * 409 says how long to wait). The real kill -9 runs are in test/faults/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.ts';
import { buildLien } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import { newId } from '../../src/store/ids.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { openTestDb } from '../store/helpers.ts';

describe('issue #12 L4: an interrupted import', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  /** A job row as a process killed mid-import leaves it: still running, its heartbeat stopped. */
  async function leftBehind(phase: string, written: number): Promise<string> {
    const id = newId('imp');
    const at = new Date(p.clock.now().getTime() - 10 * 60_000);
    await p.lien.services.db
      .insertInto('import_jobs')
      .values({ id, lender_id: p.lenderId, kind: 'payments', dry_run: false, state: 'running', phase, total: 20_000, processed: 4_000, written, created_at: at, heartbeat_at: at })
      .execute();
    return id;
  }

  it('L4: a job killed after its payments were written reads interrupted, with what was written and what happens next', async () => {
    const id = await leftBehind('evaluating', 20_000);
    const r = await p.api('GET', `/v1/imports/${id}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, state: 'interrupted', written: 20_000 });
    expect(r.body.message).toMatch(/interrupted .* after all 20000 payments were written/);
    expect(r.body.message).toMatch(/re-evaluated by the sweep/);
  });

  it('L4: a job killed before it wrote anything says nothing was written', async () => {
    const id = await leftBehind('writing', 0);
    const r = await p.api('GET', `/v1/imports/${id}`);
    expect(r.body).toMatchObject({ state: 'interrupted', written: 0 });
    expect(r.body.message).toMatch(/Nothing was written/);
  });

  it('L4: a finished job is still reported from the database after its process forgot it', async () => {
    const csv = 'contract_id,external_ref,channel,amount,currency,received_at\n';
    const job = await p.api('POST', '/v1/imports/payments', csv + 'ctr_missing,X-1,mpesa,1.00,KES,2026-01-01T00:00:00Z\n', p.lenderKey, 'text/csv');
    expect(job.status).toBe(202);
    let r = job.body;
    for (let i = 0; i < 200 && r.state === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = (await p.api('GET', `/v1/imports/${job.body.id}`)).body;
    }
    const row = await p.lien.services.db.selectFrom('import_jobs').select(['state', 'errors']).where('id', '=', job.body.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('rejected');
    expect(row.errors).toEqual(r.errors);
  });
});

describe('issue #12 L5: an Idempotency-Key in flight at a crash', () => {
  it('L5: the 409 says how long until the key is released; a restart on embedded PGlite releases it at once', async () => {
    const database = await openTestDb();
    const dataDir = mkdtempSync(join(tmpdir(), 'lien-l5-'));
    process.env.LIEN_MASTER_KEY ??= randomBytes(32).toString('hex');
    const operatorKey = `op_${randomBytes(12).toString('hex')}`;
    process.env.LIEN_OPERATOR_KEY = operatorKey;
    const clock = new ManualClock('2026-01-01T06:00:00Z');
    const config = loadConfig({ LIEN_DATA_DIR: dataDir } as NodeJS.ProcessEnv, { port: 0 });
    const build = () => buildLien(config, { clock, database, logger: false, jobs: false });
    try {
      let lien = await build();
      const keyRow = await lien.services.db.selectFrom('api_keys').select('id').where('lender_id', 'is', null).executeTakeFirstOrThrow();
      // What a process killed while handling a POST leaves behind: a claimed key and no response.
      await lien.services.db.insertInto('idempotency_keys').values({ lender_id: `operator:${keyRow.id}`, key: 'crash-1', request_hash: createHash('sha256').update('POST /v1/operator/sweep\n').update('null').digest('hex'), status_code: 0, response: '{}', created_at: new Date(clock.now().getTime() - 15_000) }).execute();
      const post = () => lien.app.inject({ method: 'POST', url: '/v1/operator/sweep', headers: { authorization: `Bearer ${operatorKey}`, 'idempotency-key': 'crash-1' } });
      if (database.kind === 'postgres') {
        const r = await post();
        expect(r.statusCode).toBe(409);
        expect(r.json().details.retryAfterSec).toBe(45);
        expect(r.headers['retry-after']).toBe('45');
        expect(r.json().message).toMatch(/released at the latest 45 s from now/);
      } else {
        const before = await post();
        expect(before.statusCode).toBe(409);
        expect(before.json().details.retryAfterSec).toBe(45);
        await lien.close();
        lien = await build();
        expect((await post()).statusCode).toBe(200);
      }
      await lien.close();
    } finally {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
