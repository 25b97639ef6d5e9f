import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodySchema, operations, sample, type Operation } from './schema-sample.ts';
import { World } from './world.ts';

/**
 * Driven by /openapi.json: every documented operation gets malformed JSON, wrong types, an
 * oversize body, unknown fields and bad path ids. Each must be a 4xx with the error body; nothing
 * may be a 500.
 */
describe('fuzzing every operation of /openapi.json', () => {
  const w = new World();
  let doc: any;
  let ops: Operation[];
  const seen: string[] = [];

  beforeAll(async () => {
    await w.start();
    doc = await (await fetch(`${w.p.url}/openapi.json`)).json();
    ops = operations(doc).filter((o) => o.path !== '/v1/device/stream');
  });
  afterAll(() => w.stop());

  function keyFor(path: string): string {
    return path.startsWith('/v1/operator/') ? (w.p as any).operatorKey : w.a.key;
  }

  /** Path params filled with a well-formed id nobody owns, unless `id` is given. */
  function url(o: Operation, id = 'zzz_nobody'): string {
    return o.path.replace(/\{[^}]+\}/g, encodeURIComponent(id));
  }

  async function send(o: Operation, path: string, body: string | undefined, contentType = 'application/json') {
    const r = await fetch(`${w.p.url}${path}`, {
      method: o.method,
      headers: { authorization: `Bearer ${keyFor(o.path)}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await r.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* checked below */
    }
    seen.push(`${o.method} ${o.path} → ${r.status}`);
    return { status: r.status, json, text };
  }

  function expectClientError(what: string, o: Operation, r: { status: number; json: any; text: string }) {
    const label = `${what}: ${o.method} ${o.path}`;
    expect({ label, status: r.status >= 400 && r.status < 500 ? '4xx' : r.status }).toEqual({ label, status: '4xx' });
    expect({ label, body: r.json && typeof r.json.code === 'string' && typeof r.json.message === 'string' && typeof r.json.details === 'object' }).toEqual({ label, body: true });
  }

  const withBody = (o: Operation) => o.method === 'POST' || o.method === 'PUT' || o.method === 'PATCH';

  it('covers the whole API', () => {
    expect(ops.length).toBeGreaterThan(30);
    for (const o of ops) {
      expect(o.op.summary, `${o.method} ${o.path}`).toBeTruthy();
      expect(o.op.tags?.length, `${o.method} ${o.path}`).toBeGreaterThan(0);
      expect(Array.isArray(o.op.security), `${o.method} ${o.path}`).toBe(true);
    }
  });

  it('malformed JSON is 4xx', async () => {
    for (const o of ops.filter(withBody)) {
      for (const bad of ['{"a":', '[1,2', 'not json', '{"a":1}}']) expectClientError('malformed JSON', o, await send(o, url(o), bad));
    }
  });

  it('an oversize body is 413', async () => {
    const huge = JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) });
    for (const o of ops.filter(withBody)) {
      if (o.path === '/v1/operator/manifests' || o.path.startsWith('/v1/imports')) continue; // bulk uploads have their own, larger limit
      const r = await send(o, url(o), huge);
      expectClientError('oversize', o, r);
    }
  });

  it('wrong types and unknown fields are 4xx', async () => {
    for (const o of ops.filter(withBody)) {
      const schema = bodySchema(o.op);
      if (!schema || schema.type !== 'object') continue;
      const valid = sample(schema, doc) as Record<string, unknown>;
      for (const [k, prop] of Object.entries<any>(schema.properties ?? {})) {
        const types = new Set<string>(prop.anyOf ? prop.anyOf.map((a: any) => a.type) : [prop.type]);
        const wrong = !types.has('boolean') ? true : { not: 'this' };
        expectClientError(`wrong type for ${k}`, o, await send(o, url(o), JSON.stringify({ ...valid, [k]: wrong })));
      }
      for (const bad of [[], 'a string', 42, null]) expectClientError('non-object body', o, await send(o, url(o), JSON.stringify(bad)));
      if (schema.additionalProperties === false) {
        expectClientError('unknown field', o, await send(o, url(o), JSON.stringify({ ...valid, zzUnknownField: 1 })));
      }
    }
  });

  it('bad path ids are 4xx', async () => {
    for (const o of ops.filter((x) => x.path.includes('{'))) {
      const schema = bodySchema(o.op);
      const body = withBody(o) ? JSON.stringify(schema ? sample(schema, doc) : {}) : undefined;
      for (const id of ['../../etc', 'x'.repeat(500), "' OR 1=1 --", '%00', 'ünïcødé', ' ']) {
        expectClientError(`bad id ${JSON.stringify(id).slice(0, 20)}`, o, await send(o, url(o, id), body));
      }
    }
  });

  it('unknown query parameters and bad cursors on lists are 4xx', async () => {
    for (const o of ops.filter((x) => x.method === 'GET' && !x.path.includes('{') && x.op.parameters?.some((p: any) => p.name === 'cursor'))) {
      expectClientError('unknown query', o, await send(o, `${o.path}?zzUnknown=1`, undefined));
      expectClientError('bad cursor', o, await send(o, `${o.path}?cursor=bm90LWEtY3Vyc29y`, undefined));
      expectClientError('bad limit', o, await send(o, `${o.path}?limit=-1`, undefined));
      expectClientError('zero limit', o, await send(o, `${o.path}?limit=0`, undefined));
    }
  });

  it('random JSON bodies never cause a 5xx', async () => {
    const targets = ops.filter((o) => withBody(o));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.jsonValue({ maxDepth: 3 }), async (o, value) => {
        const r = await send(o, url(o), JSON.stringify(value));
        expect({ op: `${o.method} ${o.path}`, status: r.status < 500 }).toEqual({ op: `${o.method} ${o.path}`, status: true });
        if (r.status >= 400) expect(typeof r.json?.code).toBe('string');
      }),
      { numRuns: 150, seed: 20260101 },
    );
  });

  it('nothing above was a 5xx', () => {
    expect(seen.filter((s) => / 5\d\d$/.test(s))).toEqual([]);
  });
});
