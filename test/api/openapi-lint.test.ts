import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../../src/services/webhooks.ts';
import { TAGS } from '../../src/server/openapi.ts';
import { TestPlatform } from '../e2e/in-process.ts';

type Json = Record<string, any>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * The device protocol's routes (src/server/routes/device.ts) are documented by issue #13's change
 * (docs/protocol.md and their schemas). Until it lands they are held to a lighter rule here; the
 * last test fails once they pass the full lint, so this list is emptied then, not forgotten.
 */
const DOCUMENTED_ELSEWHERE = new Set(['GET /v1/device/nonce', 'POST /v1/device/enroll', 'POST /v1/device/checkin', 'GET /v1/device/stream']);

function operations(doc: Json): { key: string; method: string; path: string; op: Json }[] {
  const out = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of METHODS) if (item[method]) out.push({ key: `${method.toUpperCase()} ${path}`, method, path, op: item[method] });
  }
  return out;
}

/** Everything wrong with one operation, as sentences. */
function problems(doc: Json, o: { key: string; op: Json }): string[] {
  const out: string[] = [];
  const { op, key } = o;
  if (!/^[a-z][A-Za-z]+$/.test(op.operationId ?? '')) out.push(`${key}: no camelCase operationId`);
  if (!op.summary || op.summary === key) out.push(`${key}: no summary of its own`);
  if (!TAGS.some((t) => t.name === op.tags?.[0])) out.push(`${key}: tag "${op.tags?.[0]}" is not in the ordered tag list`);
  if (!op.description) out.push(`${key}: no description (what it needs)`);
  for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {})) {
    if (!media.schema?.$ref) out.push(`${key}: request body ${type} is not a named schema`);
    if (media.example === undefined && !media.examples) out.push(`${key}: request body ${type} has no example`);
  }
  const statuses = Object.keys(op.responses ?? {});
  if (!statuses.some((s) => s.startsWith('2'))) out.push(`${key}: no success response`);
  if (!statuses.some((s) => s.startsWith('4'))) out.push(`${key}: no error responses`);
  for (const [status, raw] of Object.entries<Json>(op.responses ?? {})) {
    const r = raw.$ref ? doc.components.responses[String(raw.$ref).split('/').pop()!] : raw;
    if (!r) {
      out.push(`${key} ${status}: refers to a response that does not exist`);
      continue;
    }
    if (!r.description || r.description === 'Default Response') out.push(`${key} ${status}: response has no description`);
    if (status.startsWith('4') || status.startsWith('5')) {
      if (!raw.$ref) out.push(`${key} ${status}: error response is not a named response`);
    }
    for (const [type, media] of Object.entries<Json>(r.content ?? {})) {
      if (!media.schema?.$ref) out.push(`${key} ${status}: ${type} is not a named schema`);
      if (media.example === undefined && !media.examples) out.push(`${key} ${status}: ${type} has no example`);
    }
  }
  return out;
}

describe('the OpenAPI document', () => {
  const p = new TestPlatform();
  let doc: Json;
  let ajv: Ajv2020;

  beforeAll(async () => {
    await p.start();
    const r = await fetch(`${p.url}/openapi.json`);
    expect(r.status).toBe(200);
    doc = await r.json();
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const [name, schema] of Object.entries<Json>(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
  }, 60_000);
  afterAll(() => p.stop());

  const validate = (schema: Json, value: unknown): string | null => {
    const check = schema.$ref ? ajv.getSchema(schema.$ref)! : ajv.compile(schema);
    return check(value) ? null : ajv.errorsText(check.errors);
  };

  it('has an operationId, a summary, a tag in order, named request and response schemas with examples, and named error responses for every operation', () => {
    const all = operations(doc);
    expect(all.length).toBeGreaterThan(40);
    const found = all.filter((o) => !DOCUMENTED_ELSEWHERE.has(o.key)).flatMap((o) => problems(doc, o));
    expect(found).toEqual([]);
    const ids = all.map((o) => o.op.operationId).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    // The device protocol meanwhile: its own tag, a security statement (none), a response.
    for (const o of all.filter((x) => DOCUMENTED_ELSEWHERE.has(x.key))) {
      expect(o.op.tags).toEqual(['device protocol']);
      expect(Object.keys(o.op.responses ?? {}).length).toBeGreaterThan(0);
    }
  });

  it('lists its tags in the order an integration uses them, each with a description, and uses them all', () => {
    expect(doc.tags.map((t: Json) => t.name)).toEqual(TAGS.map((t) => t.name));
    for (const t of doc.tags) expect(t.description, t.name).toBeTruthy();
    const used = new Set(operations(doc).map((o) => o.op.tags[0]));
    expect([...used].sort()).toEqual(TAGS.map((t) => t.name).sort());
  });

  it('has examples that validate against their own schemas: bodies, responses, named schemas, errors and webhooks', () => {
    const failures: string[] = [];
    let checked = 0;
    const check = (where: string, schema: Json | undefined, example: unknown) => {
      if (!schema || example === undefined) return;
      checked++;
      const error = validate(schema, example);
      if (error) failures.push(`${where}: ${error}`);
    };
    const media = (where: string, content: Json | undefined) => {
      for (const [type, m] of Object.entries<Json>(content ?? {})) {
        check(`${where} ${type}`, m.schema, m.example);
        for (const [name, e] of Object.entries<Json>(m.examples ?? {})) check(`${where} ${type} ${name}`, m.schema, e.value);
      }
    };
    for (const { key, op } of operations(doc)) {
      media(`${key} request`, op.requestBody?.content);
      for (const [status, r] of Object.entries<Json>(op.responses ?? {})) if (!r.$ref) media(`${key} ${status}`, r.content);
    }
    for (const [name, r] of Object.entries<Json>(doc.components.responses)) media(`response ${name}`, r.content);
    for (const [name, s] of Object.entries<Json>(doc.components.schemas)) for (const e of s.examples ?? []) check(`schema ${name}`, { $ref: `#/components/schemas/${name}` }, e);
    for (const [event, item] of Object.entries<Json>(doc.webhooks)) media(`webhook ${event}`, item.post.requestBody.content);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(75);
  });

  it('documents every webhook event with a named payload and an example', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    for (const [event, item] of Object.entries<Json>(doc.webhooks)) {
      const body = item.post.requestBody.content['application/json'];
      expect(body.schema.$ref, event).toMatch(/^#\/components\/schemas\/\w+Event$/);
      expect(body.example.type, event).toBe(event);
      expect(item.post.parameters.map((x: Json) => x.name)).toEqual(['Lien-Signature', 'Lien-Event-Id']);
    }
  });

  it('still holds the device protocol to the lighter rule only while it fails the full one (then empty DOCUMENTED_ELSEWHERE)', () => {
    const passing = operations(doc).filter((o) => DOCUMENTED_ELSEWHERE.has(o.key) && problems(doc, o).length === 0).map((o) => o.key);
    expect(passing, 'these now pass the full lint: remove them from DOCUMENTED_ELSEWHERE').toEqual([]);
  });
});
