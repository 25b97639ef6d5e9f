/**
 * The OpenAPI document of the REST API, built by @fastify/swagger from the routes' typebox
 * schemas (`GET /openapi.json`), and the reference page rendered on the server from that same
 * document (`GET /docs/api`, src/web/api-reference.tsx): no CDN, no script, works offline.
 *
 * Routes name their schemas with `title` and show them with `examples` (see
 * routes/lender/common.ts `doc`); this module turns those into what a developer expects of the
 * document: every named schema once under components (responses and bodies refer to it), each
 * error status an operation can answer spelled out with an example, tags in the order a new
 * integration uses them, and the webhook events in OpenAPI 3.1's `webhooks`.
 * test/api/openapi-lint.test.ts holds every operation to it.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { renderReference } from '../web/api-reference.tsx';
import { ErrorBody } from './routes/lender/common.ts';
import { WEBHOOK_EVENT_SCHEMAS, WEBHOOK_EVENTS } from './routes/lender/webhook-events.ts';

type Json = Record<string, any>;

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** In the order an integration meets them: sell, get paid, unlock, then oversight and setup. */
export const TAGS = [
  { name: 'contracts', description: 'Sales on credit: the contract, its schedule and stage, disputes, manual actions, held locks' },
  { name: 'payments', description: 'Payments against a contract; a payment that clears the arrears unlocks the phone within seconds' },
  { name: 'devices', description: "The lender's phones, their timelines, and OpenPAYGO unlock codes for phones without a network" },
  { name: 'claims', description: 'Payments borrowers say they made (help portal): approve to post the payment, or reject with a message' },
  { name: 'imports', description: 'Sales and payments from CSV files, all or nothing, with every bad row listed' },
  { name: 'webhooks', description: 'Endpoints that receive signed events, and the delivery log' },
  { name: 'settings', description: 'What the lock screen shows, the compliance profile and the payment channels' },
  { name: 'api keys', description: 'Keys for this API and their scopes' },
  { name: 'users', description: 'People who sign in to the console' },
  { name: 'audit', description: 'The hash-chained audit log of everything done in the lender’s name' },
  { name: 'operator', description: 'The platform operator: lenders, factory manifests, the registry, the sweep' },
  { name: 'device protocol', description: 'What the agent on the phone calls (docs/protocol.md is the normative description)' },
] as const;

const INTRO =
  'The lender and operator API of Lien: sell phones on credit, post payments, unlock, and watch what the guardrails do. ' +
  'JSON over HTTPS, authenticated with `Authorization: Bearer <API key>`. Amounts are integers in minor units of the currency (KES 10,000.00 is 1000000).';

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
      info: { title: 'Lien REST API', version: opts.version, description: INTRO },
      servers: [{ url: opts.publicUrl }],
      tags: TAGS.map((t) => ({ ...t })),
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
    transformObject: (built) => finish((built as { openapiObject: Json }).openapiObject) as never,
  });

  // The document and the page are the same for the life of the process: built once.
  let json: string | null = null;
  let page: string | null = null;
  app.get('/openapi.json', { schema: { hide: true } as never }, async (_req, reply) => reply.type('application/json; charset=utf-8').send((json ??= JSON.stringify(app.swagger()))));
  app.get('/docs/api', { schema: { hide: true } as never }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send((page ??= renderReference(app.swagger() as Json))),
  );
}

// ---------------------------------------------------------------------------------------------
// Error responses

const ERRORS: Record<string, { name: string; description: string; example: Json }> = {
  '400': {
    name: 'InvalidInput',
    description: 'Invalid input: the message names the field',
    example: { code: 'invalid_input', message: 'body field "amount": must be >= 1', details: { where: 'body', field: 'amount' } },
  },
  '401': {
    name: 'Unauthorized',
    description: 'No API key, or not a valid one',
    example: { code: 'unauthorized', message: 'Send an API key as "Authorization: Bearer <key>".', details: {} },
  },
  '403': {
    name: 'Forbidden',
    description: 'The key lacks a scope this needs (or is not a lender key)',
    example: { code: 'forbidden', message: 'This API key lacks the "write" scope needed here.', details: { missing: ['write'] } },
  },
  '404': {
    name: 'NotFound',
    description: "Not found; another lender's ids are not found either",
    example: { code: 'not_found', message: 'No contract ctr_01jhq3v8r6x2m4k9t0b5n7c2d1', details: {} },
  },
  '409': {
    name: 'Conflict',
    description: 'Conflicts with the current state: a request with this Idempotency-Key is still running, an external reference already used, a state that no longer allows it',
    example: { code: 'conflict', message: 'A request with this Idempotency-Key is still being processed; retry in a moment.', details: { idempotencyKey: '6f1c2b1e-2c4e-4f0e-9d62-5b3a1f0c7d21' } },
  },
  '413': {
    name: 'PayloadTooLarge',
    description: 'The body is larger than this endpoint takes',
    example: { code: 'payload_too_large', message: 'The request body is too large.', details: {} },
  },
  '422': {
    name: 'Unprocessable',
    description: 'This Idempotency-Key was used for a different request, or a guardrail refuses the change',
    example: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was already used for a different request (another path or body); use a new key for a new request.', details: { idempotencyKey: '6f1c2b1e-2c4e-4f0e-9d62-5b3a1f0c7d21' } },
  },
  '5XX': {
    name: 'ServerError',
    description: 'Our side failed (internal, logged) or the database is unavailable (unavailable: retry with the same Idempotency-Key)',
    example: { code: 'internal', message: 'Something went wrong on our side; it has been logged.', details: {} },
  },
};

/** Operations that can answer "not found" about something named in their body or query. */
const NOT_FOUND_BY_BODY = new Set(['createSale', 'postPayment', 'lookupRegistry']);

function errorStatuses(method: string, path: string, op: Json): string[] {
  const out = ['400', '401', '403'];
  if (path.includes('{') || NOT_FOUND_BY_BODY.has(op.operationId)) out.push('404');
  if (method === 'post') out.push('409', '422');
  if (op.requestBody?.content?.['text/csv']) out.push('413');
  out.push('5XX');
  return out;
}

/** The error responses, once each under components.responses, by name. */
function errorResponses(): Json {
  return Object.fromEntries(
    Object.values(ERRORS).map((e) => [e.name, { description: e.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' }, example: e.example } } }]),
  );
}

// ---------------------------------------------------------------------------------------------
// Named schemas

/**
 * Moves every schema with a `title` into components.schemas under that name and refers to it
 * there: the reader sees "Contract" once, not the same object inlined in six places. Two
 * different schemas may not share a name.
 */
class SchemaNames {
  readonly named: Record<string, Json> = {};

  constructor(private readonly existing: Record<string, Json>) {}

  hoist(schema: Json | undefined): Json | undefined {
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
    const out: Json = {};
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'examples' || k === 'example' || k === 'enum' || k === 'const') out[k] = v;
      else if (k === 'properties' || k === 'patternProperties') out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, this.hoist(s as Json)]));
      else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'object' && x !== null ? this.hoist(x) : x));
      else if (typeof v === 'object' && v !== null) out[k] = this.hoist(v);
      else out[k] = v;
    }
    if (typeof out.title !== 'string') return out;
    const name = out.title;
    const seen = this.named[name] ?? this.existing[name];
    // The generator moves a response's own examples to its media type; nested copies keep theirs.
    if (seen && JSON.stringify({ ...seen, examples: undefined }) !== JSON.stringify({ ...out, examples: undefined })) {
      throw new Error(`OpenAPI: two different schemas are both named "${name}"`);
    }
    this.named[name] = out.examples || !seen ? out : seen;
    return { $ref: `#/components/schemas/${name}` };
  }

  content(content: Json | undefined): void {
    for (const media of Object.values<Json>(content ?? {})) media.schema = this.hoist(media.schema);
  }
}

function webhooks(names: SchemaNames): Json {
  const out: Json = {};
  for (const { type, schema } of WEBHOOK_EVENT_SCHEMAS) {
    const { examples, title, ...rest } = schema as Json;
    const body = { title, ...rest };
    out[type] = {
      post: {
        operationId: `on${title}`,
        summary: WEBHOOK_EVENTS[type].summary,
        description: 'Signed with the endpoint secret: see "Webhooks" in the guide for the signature check.',
        tags: ['webhooks'],
        parameters: [
          { name: 'Lien-Signature', in: 'header', required: true, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint secret>', schema: { type: 'string' }, example: 't=1771400464,v1=5f2a…' },
          { name: 'Lien-Event-Id', in: 'header', required: true, description: 'The event id; the same on every retry and replay', schema: { type: 'string' }, example: (examples as Json[])[0]!.id },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: names.hoist(JSON.parse(JSON.stringify(body))), example: (examples as Json[])[0] } } },
        responses: { '2XX': { description: 'Any 2xx acknowledges the event; anything else (or no answer within 10 s) is retried, 10 attempts over about three days' } },
      },
    };
  }
  return out;
}

/** The whole document as @fastify/swagger built it → as developers read it. */
function finish(doc: Json): Json {
  const schemas: Json = doc.components?.schemas ?? {};
  const names = new SchemaNames(schemas);
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      names.content(op.requestBody?.content);
      const responses: Json = {};
      for (const [status, r] of Object.entries<Json>(op.responses ?? {})) {
        if (status === '4XX' || status === '5XX') continue;
        names.content(r.content);
        responses[status] = r;
      }
      // The 4xx/5xx of the route (ErrorBody) become the statuses it can really answer, each explained.
      if (op.responses?.['4XX'] || op.responses?.['5XX']) for (const status of errorStatuses(method, path, op)) responses[status] = { $ref: `#/components/responses/${ERRORS[status]!.name}` };
      op.responses = responses;
    }
  }
  const hooks = webhooks(names);
  return { ...doc, webhooks: hooks, components: { ...doc.components, schemas: { ...schemas, ...names.named }, responses: errorResponses() } };
}
