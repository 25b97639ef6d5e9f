/**
 * The lender console at /console: server-rendered pages with plain forms and redirects (htmx
 * only makes them smoother), signed in with email and password. Also mounts `/v1/users`.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../services/context.ts';
import { adminPages } from './admin-pages.ts';
import { bulkPages } from './bulk.ts';
import { listPages } from './lists.ts';
import { messagePages } from './message-pages.ts';
import { workPages } from './pages.ts';
import { railPages } from './rails-pages.ts';
import { installGuards } from './session.ts';
import { userApiRoutes } from './users-api.ts';

async function consolePages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody, { bodyLimit: 64 * 1024 });
  installGuards(app, s);

  await app.register(workPages, { s });
  await app.register(listPages, { s });
  await app.register(bulkPages, { s });
  await app.register(adminPages, { s });
  await app.register(railPages, { s });
  await app.register(messagePages, { s });
}

export async function consoleRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  await app.register(consolePages, { s, prefix: '/console' });
  await app.register(userApiRoutes, { s });
}
