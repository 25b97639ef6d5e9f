/**
 * The device list of the console, its CSV export and the dealers' names for its filter. The
 * filter is parsed by the same function as the REST API's (services/views/device-list.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isLienError } from '../../../domain/errors.ts';
import type { Services } from '../../../services/context.ts';
import { actorNames } from '../../../services/views/actors.ts';
import { deviceCsv } from '../../../services/views/device-export.ts';
import {
  DPD_FILTERS, filterChoices, filterParams, HELD_FILTERS, isFiltered, listDevicePage, parseDeviceListQuery, SORTS, STAGE_FILTERS, type DeviceListQuery,
} from '../../../services/views/device-list.ts';
import { renderDeviceList } from '../../../web/console/devices.tsx';
import { html, lenderOf, takeFlash, viewerOf } from './session.ts';

type Query = { Querystring: Record<string, string | undefined> };

/** The filter of the request, or the error to show (a bad link must not break the page). */
function queryOf(req: FastifyRequest<Query>): { query: DeviceListQuery; problem: string | null } {
  try {
    return { query: parseDeviceListQuery(req.query), problem: null };
  } catch (e) {
    if (isLienError(e)) return { query: {}, problem: e.message };
    throw e;
  }
}

export function queryString(q: DeviceListQuery): string {
  return new URLSearchParams(filterParams(q)).toString();
}

export async function dealerChoices(s: Services, lenderId: string) {
  const choices = await filterChoices(s.db, lenderId);
  const names = await actorNames(s.db, lenderId, choices.dealers);
  return { channels: choices.channels, dealers: choices.dealers.map((id) => ({ id, name: names.get(id) ?? id })) };
}

export async function listPages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.get<Query>('/devices', { config: { console: 'find' } }, async (req, reply) => {
    const lenderId = lenderOf(req);
    const { query, problem } = queryOf(req);
    const page = await listDevicePage(s.db, lenderId, s.clock.now(), { ...query, limit: Math.min(query.limit ?? 25, 100) });
    // The caller's one phone: straight to it, as support expects when they type what the borrower read out.
    const onlySearch = query.q && !query.cursor && !isFiltered({ ...query, q: undefined });
    if (onlySearch && page.items.length === 1) return reply.redirect(`/console/devices/${page.items[0]!.deviceId}`, 303);
    const flash = problem ? { text: problem, bad: true } : takeFlash(req, reply, s);
    return html(reply, renderDeviceList(viewerOf(req), {
      query,
      rows: page.items,
      nextCursor: page.nextCursor,
      choices: await dealerChoices(s, lenderId),
      stages: STAGE_FILTERS,
      dpd: Object.keys(DPD_FILTERS),
      held: HELD_FILTERS,
      sorts: SORTS,
      filterQs: queryString(query),
      filtered: isFiltered(query),
    }, flash), problem ? 400 : 200);
  });

  app.get<Query>('/devices.csv', { config: { console: 'find' } }, async (req, reply) => {
    const lenderId = lenderOf(req);
    const query = parseDeviceListQuery(req.query);
    const stamp = s.clock.now().toISOString().slice(0, 10);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="devices-${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(deviceCsv(s.db, lenderId, s.clock.now(), query));
  });
}
