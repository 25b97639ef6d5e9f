/**
 * The OpenAPI document of the REST API, built by @fastify/swagger from the routes' typebox
 * schemas (`GET /openapi.json`), and a reference page rendered on the server from that same
 * document (`GET /docs/api`): no CDN, no script, works offline.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { h, type VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { ErrorBody } from './routes/lender/common.ts';

type Json = Record<string, any>;

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Routes other modules add without documentation still get a tag, summary and security. */
function defaults(url: string, method: string): { tags: string[]; summary: string; security: Json[] } {
  const segment = url.split('/')[2] ?? 'misc';
  if (segment === 'device') return { tags: ['device protocol'], summary: `${method} ${url}`, security: [] };
  if (segment === 'operator') return { tags: ['operator'], summary: `${method} ${url}`, security: [{ apiKey: [] }] };
  return { tags: [segment], summary: `${method} ${url}`, security: [{ apiKey: [] }] };
}

export async function registerOpenApi(app: FastifyInstance, opts: { publicUrl: string; version: string }): Promise<void> {
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lien REST API',
        version: opts.version,
        description:
          'Lender and operator API of Lien. Authenticate with `Authorization: Bearer <API key>`. Every error is `{code, message, details}`. ' +
          'Lists are cursor-paginated: `{items, nextCursor}`; pass `cursor=<nextCursor>` for the next page. ' +
          'POST requests accept an `Idempotency-Key` header: a retry with the same key and body returns the first response with `Idempotent-Replayed: true`.',
      },
      servers: [{ url: opts.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A lender API key (scopes read, write, codes) or the operator key.' },
        },
      },
    },
    // Shared schemas keep their own names in components (ErrorBody), not def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const method = (Array.isArray(route.method) ? route.method[0] : route.method) ?? 'GET';
      if (!url.startsWith('/v1/')) return { schema: { ...(schema ?? {}), hide: true } as never, url };
      const d = defaults(url, method);
      const s = { ...((schema ?? {}) as Json) };
      // @fastify/websocket hides every WebSocket route; the device stream is part of the API.
      if ((route as { websocket?: boolean }).websocket && url.startsWith('/v1/device/')) delete s.hide;
      return {
        url,
        schema: { ...s, tags: s.tags ?? d.tags, summary: s.summary ?? d.summary, security: s.security ?? d.security } as never,
      };
    },
  });

  app.get('/openapi.json', { schema: { hide: true } as never }, async (_req, reply) => reply.type('application/json').send(app.swagger()));
  app.get('/docs/api', { schema: { hide: true } as never }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(renderReference(app.swagger() as Json)),
  );
}

// ---------------------------------------------------------------------------------------------
// The reference page

const CSS = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b}
header{background:#123;color:#fff;padding:1rem 2rem}
main{display:flex}nav{width:16rem;padding:1rem;border-right:1px solid #ddd;position:sticky;top:0;height:100vh;overflow:auto}
section.ops{flex:1;padding:1rem 2rem;max-width:60rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.put{color:#a60}.delete{color:#c00}.patch{color:#a0a}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:24rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}`;

function resolve(doc: Json, schema: Json | undefined): Json | undefined {
  if (schema && typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    return doc.components?.schemas?.[name] ?? schema;
  }
  return schema;
}

function schemaBlock(doc: Json, schema: Json | undefined): VNode<any> | null {
  const s = resolve(doc, schema);
  return s ? h('pre', null, JSON.stringify(s, null, 2)) : null;
}

function operation(doc: Json, path: string, method: string, op: Json): VNode<any> {
  const params: Json[] = op.parameters ?? [];
  const body = op.requestBody?.content?.['application/json']?.schema;
  const responses: [string, Json][] = Object.entries(op.responses ?? {});
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  return h(
    'div',
    { class: 'op', id },
    h('h3', null, h('span', { class: `m ${method}` }, method), ' ', h('code', null, path)),
    op.summary ? h('p', null, h('strong', null, op.summary)) : null,
    op.description ? h('p', null, op.description) : null,
    h('p', null, 'Security: ', op.security?.length ? op.security.map((s: Json) => Object.keys(s).join(', ')).join('; ') : 'none'),
    params.length
      ? h(
          'table',
          null,
          h('tr', null, h('th', null, 'parameter'), h('th', null, 'in'), h('th', null, 'required'), h('th', null, 'schema')),
          params.map((p) => h('tr', null, h('td', null, h('code', null, p.name)), h('td', null, p.in), h('td', null, p.required ? 'yes' : 'no'), h('td', null, h('code', null, JSON.stringify(p.schema ?? {}))))),
        )
      : null,
    body ? h('div', null, h('h4', null, 'Request body (application/json)'), schemaBlock(doc, body)) : null,
    responses.map(([status, r]) =>
      h('details', null, h('summary', null, `Response ${status}`, r.description ? ` — ${r.description}` : ''), schemaBlock(doc, r.content?.['application/json']?.schema)),
    ),
  );
}

/** The whole reference as one HTML page (preact escapes every value). */
export function renderReference(doc: Json): string {
  const byTag = new Map<string, VNode<any>[]>();
  const nav = new Map<string, VNode<any>[]>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) (byTag.set(tag, []), nav.set(tag, []));
      byTag.get(tag)!.push(operation(doc, path, method, op));
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
      nav.get(tag)!.push(h('li', null, h('a', { href: `#${id}` }, `${method.toUpperCase()} ${path}`)));
    }
  }
  const tags = [...byTag.keys()].sort();
  const page = h(
    'html',
    { lang: 'en' },
    h('head', null, h('meta', { charset: 'utf-8' }), h('title', null, `${doc.info?.title ?? 'API'} reference`), h('style', null, CSS)),
    h(
      'body',
      null,
      h('header', null, h('h1', null, `${doc.info?.title ?? 'API'} `, h('small', null, doc.info?.version ?? '')), h('p', null, doc.info?.description ?? ''), h('a', { href: '/openapi.json', style: 'color:#9cf' }, 'openapi.json')),
      h(
        'main',
        null,
        h('nav', null, tags.map((t) => h('div', null, h('a', { href: `#tag-${t.replace(/\W+/g, '-')}` }, h('strong', null, t)), h('ul', null, nav.get(t))))),
        h('section', { class: 'ops' }, tags.map((t) => h('div', null, h('h2', { id: `tag-${t.replace(/\W+/g, '-')}` }, t), byTag.get(t)))),
      ),
    ),
  );
  return `<!doctype html>${renderToString(page)}`;
}
