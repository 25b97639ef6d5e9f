/**
 * Bulk actions on a filtered selection of devices (issue #15): a message to each borrower,
 * pausing escalation (a dispute campaign), or an ADD_TIME code for each phone. The lender sees a
 * preview first (how many, which), types a confirmation naming the action and the count, and
 * the job then runs device by device: every device's change is its own unit of work with its
 * own audit entry (the same use cases as one device's page), and the job row records progress.
 */
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { newId } from '../store/ids.ts';
import type { DB } from '../store/schema.ts';
import { issueCode, MAX_CODE_DAYS } from './codes.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { applyManualAction } from './manual-actions.ts';
import { contractForActor } from './payments.ts';
import { commit } from './unit-of-work.ts';
import { allDevices, type DeviceFilter, type DeviceListRow } from './views/device-list.ts';

export const BULK_ACTIONS = ['message', 'pause', 'add_time'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
/** The most devices one job touches: a larger campaign is split by its filter. */
export const MAX_BULK_DEVICES = 2000;
/** One SMS: the lender's name and the lock reference take the rest of its 160 characters. */
const MAX_MESSAGE = 120;
const MAX_PAUSE_DAYS = 90;

export interface BulkInput {
  action: BulkAction;
  /** Why (audited on every device); for `message`, the message itself. */
  reason: string;
  message?: string | undefined;
  /** ADD_TIME: days of credit per phone. */
  days?: number | undefined;
  /** pause: until when (required: a campaign pause must end). */
  until?: Date | undefined;
}

export interface BulkPreview {
  action: BulkAction;
  total: number;
  /** The first devices of the selection, to show which. */
  sample: DeviceListRow[];
  /** What the lender types to start the job: the action and the count, e.g. "PAUSE 12". */
  confirmation: string;
}

export interface BulkJob {
  id: string;
  action: BulkAction;
  /** `interrupted`: still marked running, but its process stopped writing progress (a restart). */
  state: 'running' | 'done' | 'failed' | 'interrupted';
  total: number;
  processed: number;
  succeeded: number;
  failed: number;
  errors: { deviceId: string; message: string }[];
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
}

export function confirmationText(action: BulkAction, count: number): string {
  return `${action.replace('_', ' ').toUpperCase()} ${count}`;
}

export function parseBulkAction(raw: string): BulkAction {
  if (!(BULK_ACTIONS as readonly string[]).includes(raw)) throw new LienError('invalid_input', `Choose an action: ${BULK_ACTIONS.join(', ')}.`, { field: 'action' });
  return raw as BulkAction;
}

function checkInput(input: BulkInput, now: Date): BulkInput {
  const reason = input.reason.trim();
  if (reason.length < 3 || reason.length > 500) throw new LienError('invalid_input', 'Give a reason of 3 to 500 characters (it is written to every device’s audit).', { field: 'reason' });
  if (input.action === 'message') {
    const message = (input.message ?? '').trim();
    if (message.length < 3 || message.length > MAX_MESSAGE) throw new LienError('invalid_input', `The message is 3 to ${MAX_MESSAGE} characters.`, { field: 'message' });
    return { action: input.action, reason, message };
  }
  if (input.action === 'add_time') {
    if (!Number.isInteger(input.days) || input.days! < 1 || input.days! > MAX_CODE_DAYS) throw new LienError('invalid_input', `Days must be a whole number from 1 to ${MAX_CODE_DAYS}.`, { field: 'days' });
    return { action: input.action, reason, days: input.days };
  }
  const until = input.until;
  if (!until || Number.isNaN(until.getTime()) || until <= now || until.getTime() - now.getTime() > MAX_PAUSE_DAYS * 86_400_000) {
    throw new LienError('invalid_input', `A campaign pause needs an end within ${MAX_PAUSE_DAYS} days.`, { field: 'until' });
  }
  return { action: input.action, reason, until };
}

/** The devices the action applies to: those of the filter with an active contract. */
async function selection(db: Kysely<DB>, lenderId: string, now: Date, filter: DeviceFilter): Promise<DeviceListRow[]> {
  const out: DeviceListRow[] = [];
  for await (const page of allDevices(db, lenderId, now, { ...filter, sort: 'serial' })) {
    out.push(...page.filter((r) => r.status === 'active' && r.contractId));
    if (out.length > MAX_BULK_DEVICES) {
      throw new LienError('invalid_input', `This selection has more than ${MAX_BULK_DEVICES} devices; narrow the filter and run it in parts.`, { limit: MAX_BULK_DEVICES });
    }
  }
  return out;
}

export async function previewBulk(db: Kysely<DB>, lenderId: string, now: Date, filter: DeviceFilter, action: BulkAction): Promise<BulkPreview> {
  const rows = await selection(db, lenderId, now, filter);
  return { action, total: rows.length, sample: rows.slice(0, 25), confirmation: confirmationText(action, rows.length) };
}

/** One device's change, in its own unit of work (the use case's own, or this one for a message). */
async function applyOne(s: Services, actor: Actor, jobId: string, input: BulkInput, row: DeviceListRow): Promise<void> {
  const why = `${input.reason} (bulk job ${jobId})`;
  if (input.action === 'pause') {
    await applyManualAction(s, actor, row.contractId!, { action: 'pause', reason: why, until: input.until! });
  } else if (input.action === 'add_time') {
    await issueCode(s, actor, { deviceId: row.deviceId, type: 'ADD_TIME', days: input.days!, reason: why });
  } else {
    await commit(s, actor, async (tx, fx) => {
      const c = await contractForActor(tx, actor, row.contractId!);
      if (c.status !== 'active') throw new LienError('conflict', `Contract ${c.id} is ${c.status}.`);
      await fx.notify({ contractId: c.id, kind: 'lender_message', params: { message: input.message! } });
      await fx.audit({ action: 'contract.bulk_message', subjectType: 'contract', subjectId: c.id, lenderId: c.lender_id, reason: why, data: { jobId, message: input.message! } });
    });
  }
}

/**
 * Starts the job when `typed` is the confirmation of the selection as it is now (a selection that
 * changed since the preview asks for a new preview). Returns at once with the job id; `done`
 * settles when every device has been tried.
 */
export async function startBulk(s: Services, actor: Actor, filter: DeviceFilter, raw: BulkInput, typed: string): Promise<{ jobId: string; done: Promise<BulkJob> }> {
  const lenderId = actor.lenderId;
  if (!lenderId) throw new LienError('forbidden', 'Bulk actions are a lender’s.');
  const now = s.clock.now();
  const input = checkInput(raw, now);
  const rows = await selection(s.db, lenderId, now, filter);
  if (rows.length === 0) throw new LienError('invalid_input', 'No device of this selection has an active contract.');
  const expected = confirmationText(input.action, rows.length);
  if (typed.trim().toUpperCase() !== expected) {
    throw new LienError('invalid_input', `Type “${expected}” to confirm (the selection now has ${rows.length} devices).`, { field: 'confirm', expected });
  }
  const jobId = newId('bulk');
  const params = { reason: input.reason, ...(input.message ? { message: input.message } : {}), ...(input.days ? { days: input.days } : {}), ...(input.until ? { until: input.until.toISOString() } : {}) };
  await commit(s, actor, async (tx, fx) => {
    await tx
      .insertInto('bulk_jobs')
      .values({
        id: jobId, lender_id: lenderId, action: input.action, params, filter: { ...filter }, device_ids: JSON.stringify(rows.map((r) => r.deviceId)),
        state: 'running', total: rows.length, created_by: actorName(actor), created_at: fx.now, progress_at: fx.now,
      })
      .execute();
    await fx.audit({ action: 'bulk_job.started', subjectType: 'bulk_job', subjectId: jobId, lenderId, reason: `${input.action} on ${rows.length} devices: ${input.reason}`, data: { filter: { ...filter }, params, total: rows.length } });
  });
  const done = runJob(s, actor, jobId, input, rows);
  return { jobId, done };
}

async function runJob(s: Services, actor: Actor, jobId: string, input: BulkInput, rows: DeviceListRow[]): Promise<BulkJob> {
  const errors: { deviceId: string; message: string }[] = [];
  let succeeded = 0;
  try {
    for (const [i, row] of rows.entries()) {
      try {
        await applyOne(s, actor, jobId, input, row);
        succeeded++;
      } catch (e) {
        if (!(e instanceof LienError)) throw e;
        errors.push({ deviceId: row.deviceId, message: e.message });
      }
      // Progress is bookkeeping (like an import's): the device's change committed on its own.
      await s.db
        .updateTable('bulk_jobs')
        .set({ processed: i + 1, succeeded, failed: errors.length, errors: JSON.stringify(errors.slice(0, 100)), progress_at: s.clock.now() })
        .where('id', '=', jobId)
        .execute();
    }
    await s.db.updateTable('bulk_jobs').set({ state: 'done', finished_at: s.clock.now() }).where('id', '=', jobId).execute();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await s.db.updateTable('bulk_jobs').set({ state: 'failed', finished_at: s.clock.now(), errors: JSON.stringify([...errors, { deviceId: '', message }].slice(0, 100)) }).where('id', '=', jobId).execute().catch(() => undefined);
  }
  return getBulkJob(s.db, actor.lenderId!, jobId, s.clock.now());
}

/** One device's change takes well under this; a running job silent for longer has lost its process. */
const SILENT_MS = 5 * 60_000;

export async function getBulkJob(db: Kysely<DB>, lenderId: string, jobId: string, now: Date): Promise<BulkJob> {
  const r = await db.selectFrom('bulk_jobs').selectAll().where('id', '=', jobId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!r) throw new LienError('not_found', `No bulk job ${jobId}`);
  return {
    id: r.id, action: r.action as BulkAction,
    state: r.state === 'running' && now.getTime() - r.progress_at.getTime() > SILENT_MS ? 'interrupted' : (r.state as BulkJob['state']), total: r.total, processed: r.processed, succeeded: r.succeeded, failed: r.failed,
    errors: r.errors, createdBy: r.created_by, createdAt: r.created_at, finishedAt: r.finished_at,
  };
}

export async function recentBulkJobs(db: Kysely<DB>, lenderId: string, now: Date): Promise<BulkJob[]> {
  const ids = await db.selectFrom('bulk_jobs').select('id').where('lender_id', '=', lenderId).orderBy('created_at', 'desc').limit(10).execute();
  return Promise.all(ids.map((r) => getBulkJob(db, lenderId, r.id, now)));
}
