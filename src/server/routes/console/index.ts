/**
 * The lender console at /console: server-rendered pages with plain forms and redirects (htmx
 * only makes them smoother), signed in with email and password. Also mounts `/v1/users`.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../services/context.ts';
import { CONSOLE_HTMX_PATH } from '../../../web/console/layout.tsx';
import { adminPages } from './admin-pages.ts';
import { workPages } from './pages.ts';
import { installGuards } from './session.ts';
import { userApiRoutes } from './users-api.ts';

async function consolePages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody, { bodyLimit: 64 * 1024 });
  installGuards(app, s);

  const htmx = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
  let htmxText: Promise<string> | null = null;
  app.get(CONSOLE_HTMX_PATH.replace('/console', ''), { config: { console: 'public' } }, async (_req, reply) => {
    htmxText ??= readFile(htmx, 'utf8');
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(await htmxText);
  });

  await app.register(workPages, { s });
  await app.register(adminPages, { s });
}

export async function consoleRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  await app.register(consolePages, { s, prefix: '/console' });
  await app.register(userApiRoutes, { s });
}
