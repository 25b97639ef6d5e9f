/**
 * Bulk actions from the console: the preview page for a filtered selection, the start of a job
 * (after the typed confirmation, checked by the service) and the job's progress page.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isLienError, LienError } from '../../../domain/errors.ts';
import { can } from '../../../domain/roles.ts';
import { BULK_ACTIONS, getBulkJob, parseBulkAction, previewBulk, recentBulkJobs, startBulk, type BulkAction } from '../../../services/bulk-actions.ts';
import { MAX_CODE_DAYS } from '../../../services/codes.ts';
import type { Services } from '../../../services/context.ts';
import { actorNames } from '../../../services/views/actors.ts';
import { claimDevices } from '../../../services/views/console.ts';
import { filterParams, parseDeviceFilter } from '../../../services/views/device-list.ts';
import { renderBulk, renderBulkJob } from '../../../web/console/bulk.tsx';
import { queryString } from './lists.ts';
import { localInstant } from './pages.ts';
import { actorOf, done, field, html, lenderOf, takeFlash, userOf, viewerOf, type Flash } from './session.ts';

type Query = { Querystring: Record<string, string | undefined> };
const VALUE_FIELDS = ['message', 'days', 'until', 'reason'] as const;

export async function bulkPages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  /** The actions this user may run: codes need the codes permission. */
  const allowed = (role: Parameters<typeof can>[0]): BulkAction[] => BULK_ACTIONS.filter((a) => a !== 'add_time' || can(role, 'codes'));

  const page = async (req: FastifyRequest, raw: Record<string, unknown>, action: BulkAction, flash: Flash, status = 200) => {
    const lenderId = lenderOf(req);
    const filter = parseDeviceFilter(raw);
    const [preview, jobs] = await Promise.all([previewBulk(s.db, lenderId, s.clock.now(), filter, action), recentBulkJobs(s.db, lenderId, s.clock.now())]);
    const names = await actorNames(s.db, lenderId, jobs.map((j) => j.createdBy));
    const values = Object.fromEntries(VALUE_FIELDS.map((k) => [k, typeof raw[k] === 'string' ? (raw[k] as string) : '']));
    return {
      status,
      body: renderBulk(viewerOf(req), { preview, actions: allowed(userOf(req).role), filter: filterParams(filter), filterQs: queryString(filter), maxDays: MAX_CODE_DAYS, values, jobs, names }, flash),
    };
  };

  app.get<Query>('/bulk', { config: { console: 'manual' } }, async (req, reply) => {
    const action = req.query.action ? parseBulkAction(req.query.action) : 'message';
    if (!allowed(userOf(req).role).includes(action)) throw new LienError('forbidden', 'Your role cannot issue codes.');
    const r = await page(req, req.query, action, takeFlash(req, reply, s));
    return html(reply, r.body, r.status);
  });

  app.post('/bulk', { config: { console: 'manual' } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const action = parseBulkAction(field(body, 'action'));
    if (!allowed(userOf(req).role).includes(action)) throw new LienError('forbidden', 'Your role cannot issue codes.');
    const lenderId = lenderOf(req);
    try {
      const { time_zone } = await s.db.selectFrom('lenders').select('time_zone').where('id', '=', lenderId).executeTakeFirstOrThrow();
      const until = field(body, 'until') ? localInstant(field(body, 'until'), time_zone) : undefined;
      const days = field(body, 'days') ? Number(field(body, 'days')) : undefined;
      const { jobId, done: finished } = await startBulk(
        s, actorOf(req), parseDeviceFilter(body),
        { action, reason: field(body, 'reason'), message: field(body, 'message'), days, until },
        field(body, 'confirm'),
      );
      finished.catch((e: unknown) => req.log.error({ err: e, jobId }, 'bulk job did not finish'));
      return done(reply, s, `/console/bulk/jobs/${jobId}`, { text: 'Bulk job started.' });
    } catch (e) {
      if (!isLienError(e) || e.code !== 'invalid_input') throw e;
      const r = await page(req, body, action, { text: e.message, bad: true }, 400);
      return html(reply, r.body, r.status);
    }
  });

  app.get<{ Params: { id: string } }>('/bulk/jobs/:id', { config: { console: 'manual' } }, async (req, reply) => {
    const lenderId = lenderOf(req);
    const job = await getBulkJob(s.db, lenderId, req.params.id, s.clock.now());
    const [serials, names] = await Promise.all([
      claimDevices(s.db, lenderId, job.errors.map((e) => e.deviceId).filter(Boolean)),
      actorNames(s.db, lenderId, [job.createdBy]),
    ]);
    return html(reply, renderBulkJob(viewerOf(req), job, serials, names.get(job.createdBy) ?? job.createdBy, takeFlash(req, reply, s)));
  });
}
