/** A minimal valid value for a JSON schema from /openapi.json (required fields only). */
export function sample(schema: any, doc?: any): unknown {
  if (!schema) return {};
  if (schema.$ref && doc) return sample(doc.components.schemas[String(schema.$ref).split('/').pop()!], doc);
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const alt = schema.anyOf ?? schema.oneOf;
  if (alt) return sample(alt.find((s: any) => s.type !== 'null') ?? alt[0], doc);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of schema.required ?? []) out[k] = sample(schema.properties?.[k], doc);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items, doc));
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? Infinity);
    case 'boolean':
      return true;
    case 'string': {
      if (schema.format === 'date-time') return '2026-01-10T08:00:00Z';
      if (schema.pattern === '^\\d{4}-\\d{2}-\\d{2}$') return '2026-01-10';
      if (schema.pattern && /0-9\]\{1,/.test(schema.pattern)) return '1';
      const len = Math.min(Math.max(schema.minLength ?? 0, 5), schema.maxLength ?? 5);
      return 'abcdefghij'.repeat(4).slice(0, len);
    }
    default:
      return null;
  }
}

export interface Operation {
  method: string;
  path: string;
  op: any;
}

export function operations(doc: any): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) if (item[method]) out.push({ method: method.toUpperCase(), path, op: item[method] });
  }
  return out;
}

export function bodySchema(op: any): any {
  return op.requestBody?.content?.['application/json']?.schema;
}
