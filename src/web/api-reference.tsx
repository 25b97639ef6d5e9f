/** @jsxImportSource preact */
/**
 * The API reference at /docs/api, rendered on the server from the OpenAPI document: a guide
 * (quick start with curl, authentication, errors, pagination, idempotency, webhooks with the
 * signature check in shell, Node and Python), then every operation with its parameters, request
 * and responses as tables of fields and examples, then the named schemas. No script; readable on
 * a phone; test/api/docs-browser.test.ts runs axe over it in Chromium.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { asset } from './assets.ts';

type Json = Record<string, any>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
a{color:#0a58b0}a:focus-visible,pre:focus-visible,.scroll:focus-visible,summary:focus-visible{outline:3px solid #0a58b0;outline-offset:2px}
header{background:#14283c;color:#fff;padding:1rem 1.25rem}
header h1{margin:0;font-size:1.5rem}header p{margin:.4rem 0 0;max-width:60rem}header a{color:#cfe3ff}
header code{background:#25415e;color:#fff}
.layout{display:flex;align-items:flex-start}
nav.toc{flex:0 0 17rem;position:sticky;top:0;max-height:100vh;overflow:auto;padding:1rem;border-right:1px solid #d5dbe1;font-size:.9rem;background:#f7f9fb}
nav.toc ul{list-style:none;margin:0 0 .6rem;padding:0 0 0 .6rem}nav.toc li{margin:.15rem 0}
nav.toc h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;margin:.8rem 0 .3rem;color:#3d4650}
main{flex:1;min-width:0;padding:1rem 1.5rem 3rem;max-width:62rem}
h2{font-size:1.45rem;margin:2.2rem 0 .6rem;border-bottom:1px solid #d5dbe1;padding-bottom:.25rem}
h3{font-size:1.15rem;margin:1.6rem 0 .4rem;overflow-wrap:anywhere}h4{font-size:1rem;margin:1rem 0 .3rem}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:.05em .3em;border-radius:4px;overflow-wrap:anywhere}
pre{font:.85rem/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f5f7;border:1px solid #d5dbe1;border-radius:6px;padding:.7rem .8rem;overflow:auto;max-height:30rem;max-width:100%}
pre code{background:none;padding:0;overflow-wrap:normal}
.op{border:1px solid #d5dbe1;border-radius:8px;padding:.2rem 1rem 1rem;margin:1.2rem 0}
.m{display:inline-block;min-width:4.2rem;font:700 .85rem ui-monospace,monospace;text-transform:uppercase;padding:.1rem .4rem;border-radius:4px;color:#fff;text-align:center;margin-right:.4rem}
.get{background:#0b6e3b}.post{background:#0a58b0}.put{background:#8a4b00}.delete{background:#a11d2a}.patch{background:#6b2fa0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.4rem 0;font-size:.92rem;min-width:24rem}
th,td{border:1px solid #d5dbe1;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f5f7}
td:first-child code{white-space:nowrap}
.muted{color:#4d5660}.req{color:#8a1c1c;font-weight:600}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
.status{font:700 .95rem ui-monospace,monospace}
.note{background:#fff7e0;border:1px solid #e8cf7a;border-radius:6px;padding:.6rem .8rem}
@media (max-width:60rem){
  .layout{display:block}
  nav.toc{position:static;max-height:none;border-right:0;border-bottom:1px solid #d5dbe1}
  nav.toc ul.ops{display:none}
  main{padding:1rem}
}
@media (max-width:40rem){
  table{min-width:0;width:100%}
  thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  tr{display:block;border:1px solid #d5dbe1;border-radius:6px;margin:.5rem 0;padding:.3rem .5rem}
  td{display:block;border:0;padding:.1rem 0}td:empty{display:none}
  td[data-label]::before{content:attr(data-label) ": ";color:#4d5660;font-size:.85rem}
  .op{padding:.2rem .6rem .8rem}
}
`;

export const API_REFERENCE_CSS = asset('api-reference.css', 'text/css; charset=utf-8', Buffer.from(CSS.trim()));

// ---------------------------------------------------------------------------------------------
// Helpers

const anchor = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
const opAnchor = (method: string, path: string, op: Json) => (op.operationId ? `op-${op.operationId}` : `op-${anchor(`${method} ${path}`)}`);
const schemaAnchor = (name: string) => `schema-${anchor(name)}`;
const refName = (ref: string) => ref.split('/').pop()!;

/** Text with `code` spans, as the document's descriptions are written. */
function Prose({ text }: { text: string | undefined }): VNode | null {
  if (!text) return null;
  const parts = text.split('`');
  return <>{parts.map((p, i) => (i % 2 === 1 ? <code>{p}</code> : p))}</>;
}

/** A block of code: focusable so a keyboard can scroll it. `label` says what it is (for the source's reader). */
function Code({ children }: { children: string; label: string }): VNode {
  return (
    <pre tabIndex={0}>
      <code>{children}</code>
    </pre>
  );
}

/** A wide table's frame, scrolled sideways on a phone (by keyboard too). */
function Scroll({ children }: { children: ComponentChildren }): VNode {
  return (
    <div class="scroll" tabIndex={0}>
      {children}
    </div>
  );
}

/** A table with column headers. Cells carry `data-label` (their column) for the stacked phone layout. */
function Table({ head, children, after }: { head: string[]; children: ComponentChildren; after?: ComponentChildren }): VNode {
  return (
    <Scroll>
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {after}
    </Scroll>
  );
}

const json = (v: unknown) => JSON.stringify(v, null, 2);

function resolve(doc: Json, schema: Json | undefined): Json | undefined {
  if (schema && typeof schema.$ref === 'string') return doc.components?.schemas?.[refName(schema.$ref)];
  return schema;
}

/** A short type: `string (date-time)`, `Contract`, `array of Payment`, `"a" | "b"`, `integer | null`. */
function TypeOf({ doc, schema }: { doc: Json; schema: Json | undefined }): VNode {
  if (!schema) return <>any</>;
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return <a href={`#${schemaAnchor(name)}`}>{name}</a>;
  }
  const alts: Json[] | undefined = schema.anyOf ?? schema.oneOf;
  if (alts) {
    if (alts.every((a) => 'const' in a)) return <>{alts.map((a) => JSON.stringify(a.const)).join(' | ')}</>;
    return <>{alts.map((a, i) => <>{i > 0 ? ' | ' : ''}<TypeOf doc={doc} schema={a} /></>)}</>;
  }
  if ('const' in schema) return <>{JSON.stringify(schema.const)}</>;
  if (schema.enum) return <>{schema.enum.map((e: unknown) => JSON.stringify(e)).join(' | ')}</>;
  if (schema.type === 'array') return <>array of <TypeOf doc={doc} schema={schema.items} /></>;
  if (Array.isArray(schema.type)) return <>{schema.type.join(' | ')}</>;
  const extra = [schema.format, schema.pattern === '^\\d{4}-\\d{2}-\\d{2}$' ? null : schema.pattern ? `pattern ${schema.pattern}` : null].filter(Boolean);
  return <>{schema.type ?? 'any'}{extra.length ? ` (${extra.join(', ')})` : ''}</>;
}

/** "1 to 80 characters", "at least 1", "exactly 3 characters". */
function range(min: number | undefined, max: number | undefined, unit: string): string | null {
  const u = unit ? ` ${unit}` : '';
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}${u}` : `${min} to ${max}${u}`;
  if (min !== undefined) return `at least ${min}${u}`;
  if (max !== undefined) return `at most ${max}${u}`;
  return null;
}

function limits(s: Json): string {
  return [range(s.minLength, s.maxLength, 'characters'), range(s.minimum, s.maximum, ''), range(s.minItems, s.maxItems, 'items')].filter(Boolean).join('; ');
}

/** The fields of an object schema as a table; other schemas as their type. */
function Fields({ doc, schema }: { doc: Json; schema: Json | undefined }): VNode | null {
  const s = resolve(doc, schema);
  if (!s) return null;
  const props = Object.entries<Json>(s.properties ?? {});
  if (s.type !== 'object' || props.length === 0) {
    return (
      <p>
        Type: <TypeOf doc={doc} schema={schema} />
        {s.description ? <> — <Prose text={s.description} /></> : null}
      </p>
    );
  }
  const required = new Set<string>(s.required ?? []);
  return (
    <Table head={['field', 'type', 'required', 'meaning']} after={s.additionalProperties === true ? <p class="muted">Other fields may be present; ignore those you do not know.</p> : null}>
      {props.map(([name, p]) => {
        const own = resolve(doc, p) ?? {};
        const note = [p.description ?? (p.$ref ? undefined : own.description), limits(p)].filter(Boolean).join('; ');
        return (
          <tr>
            <td data-label="field">
              <code>{name}</code>
            </td>
            <td data-label="type">
              <TypeOf doc={doc} schema={p} />
            </td>
            <td data-label="required">{required.has(name) ? <span class="req">yes</span> : 'no'}</td>
            <td data-label="meaning">
              <Prose text={note} />
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

function exampleOf(media: Json | undefined, doc: Json): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values<Json>(media.examples)[0];
  if (first) return first.value;
  return resolve(doc, media.schema)?.examples?.[0];
}

function Media({ doc, content, what }: { doc: Json; content: Json | undefined; what: string }): VNode | null {
  if (!content) return null;
  return (
    <>
      {Object.entries<Json>(content).map(([type, media]) => {
        const example = exampleOf(media, doc);
        const name = media.schema?.$ref ? refName(media.schema.$ref) : null;
        return (
          <div>
            <p>
              <code>{type}</code>
              {name ? <> — <a href={`#${schemaAnchor(name)}`}>{name}</a></> : null}
            </p>
            <Fields doc={doc} schema={media.schema} />
            {example !== undefined ? <Code label={`${what}, example`}>{typeof example === 'string' ? example : json(example)}</Code> : null}
          </div>
        );
      })}
    </>
  );
}

function Operation({ doc, method, path, op }: { doc: Json; method: string; path: string; op: Json }): VNode {
  const params: Json[] = op.parameters ?? [];
  const responses = Object.entries<Json>(op.responses ?? {}).map(([status, r]) => [status, r.$ref ? (doc.components?.responses?.[refName(r.$ref)] ?? r) : r] as [string, Json]);
  const ok = responses.filter(([s]) => s.startsWith('2'));
  const errors = responses.filter(([s]) => !s.startsWith('2'));
  return (
    <section class="op" id={opAnchor(method, path, op)} aria-labelledby={`${opAnchor(method, path, op)}-h`}>
      <h3 id={`${opAnchor(method, path, op)}-h`}>
        <span class={`m ${method}`}>{method}</span>
        <code>{path}</code>
      </h3>
      <p>
        <strong>
          <Prose text={op.summary} />
        </strong>
      </p>
      {op.description ? (
        <p>
          <Prose text={op.description} />
        </p>
      ) : null}
      {op.operationId ? <p class="muted">operationId <code>{op.operationId}</code></p> : null}
      {params.length ? (
        <>
          <h4>Parameters</h4>
          <Table head={['name', 'in', 'type', 'required', 'meaning']}>
            {params.map((p) => (
              <tr>
                <td data-label="name">
                  <code>{p.name}</code>
                </td>
                <td data-label="in">{p.in}</td>
                <td data-label="type">
                  <TypeOf doc={doc} schema={p.schema} />
                </td>
                <td data-label="required">{p.required ? <span class="req">yes</span> : 'no'}</td>
                <td data-label="meaning">
                  <Prose text={[p.description ?? p.schema?.description, p.schema ? limits(p.schema) : ''].filter(Boolean).join('; ')} />
                </td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
      {op.requestBody ? (
        <>
          <h4>Request body</h4>
          <Media doc={doc} content={op.requestBody.content} what="Request body" />
        </>
      ) : null}
      {ok.map(([status, r]) => (
        <>
          <h4>
            Response <span class="status">{status}</span> — <Prose text={r.description} />
          </h4>
          <Media doc={doc} content={r.content} what={`Response ${status}`} />
        </>
      ))}
      {errors.length ? (
        <details>
          <summary>Errors: {errors.map(([s]) => s).join(', ')}</summary>
          <ul>
            {errors.map(([status, r]) => (
              <li>
                <span class="status">{status}</span> <Prose text={r.description} />
                {exampleOf(r.content?.['application/json'], doc) !== undefined ? <Code label={`Error ${status}, example`}>{json(exampleOf(r.content['application/json'], doc))}</Code> : null}
              </li>
            ))}
          </ul>
          <p class="muted">
            Every error is an <a href="#schema-ErrorBody">ErrorBody</a>; see <a href="#guide-errors">Errors</a>.
          </p>
        </details>
      ) : null}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// The guide

interface Op {
  method: string;
  path: string;
  op: Json;
}

function operations(doc: Json): Op[] {
  const out: Op[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) for (const method of METHODS) if (item[method]) out.push({ method, path, op: item[method] });
  return out;
}

function find(doc: Json, operationId: string): Op | undefined {
  return operations(doc).find((o) => o.op.operationId === operationId);
}

/** A curl call of an operation with its documented example body. */
function curl(doc: Json, operationId: string, params: Record<string, string> = {}, key = '$LIEN_KEY'): string {
  const o = find(doc, operationId);
  if (!o) return `# (no operation ${operationId})`;
  const path = o.path.replace(/\{(\w+)\}/g, (_, n: string) => params[n] ?? `<${n}>`);
  const body = exampleOf(o.op.requestBody?.content?.['application/json'], doc);
  const lines = [`curl -sS -X ${o.method.toUpperCase()} "$LIEN_URL${path}" \\`, `  -H "Authorization: Bearer ${key}" \\`];
  if (body !== undefined) {
    lines.push('  -H "Content-Type: application/json" \\', `  -H "Idempotency-Key: $(uuidgen)" \\`, `  -d '${JSON.stringify(body, null, 2).replace(/'/g, "'\\''")}'`);
  } else lines[lines.length - 1] = lines[lines.length - 1]!.replace(/ \\$/, '');
  return lines.join('\n');
}

function responseExample(doc: Json, operationId: string): string {
  const o = find(doc, operationId);
  const ok = o && Object.entries<Json>(o.op.responses ?? {}).find(([s]) => s.startsWith('2'));
  return ok ? json(exampleOf(ok[1].content?.['application/json'], doc)) : '';
}

const VERIFY_SHELL = `# Check a delivery you saved: body.json (the raw bytes received) and its Lien-Signature header.
sig='t=1771400464,v1=…'          # the Lien-Signature header
secret='whsec_…'                 # the endpoint's secret (POST /v1/webhooks showed it once)
t=$(printf '%s' "$sig" | tr ',' '\\n' | sed -n 's/^t=//p')
expected=$( { printf '%s.' "$t"; cat body.json; } | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //')
now=$(date +%s)   # refuse a signature more than five minutes old (or ahead)
[ "\${t:-0}" -ge $((now - 300)) ] && [ "$t" -le $((now + 300)) ] \\
  && printf '%s' "$sig" | tr ',' '\\n' | grep -qx "v1=$expected" && echo "signature ok"`;

const SEND_SHELL = `# Send your endpoint a signed test event, as Lien would (body.json: an example below).
secret='whsec_…'
t=$(date +%s)
v1=$( { printf '%s.' "$t"; cat body.json; } | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //')
curl -sS -X POST https://erp.example/lien/events \\
  -H "Content-Type: application/json" -H "Lien-Signature: t=$t,v1=$v1" -H "Lien-Event-Id: evt_test" \\
  --data-binary @body.json`;

const VERIFY_NODE = `import { createHmac, timingSafeEqual } from 'node:crypto';

/** rawBody: the request body exactly as received (a Buffer or string), before JSON.parse. */
export function verifyLienSignature(secret, header, rawBody, toleranceSec = 300) {
  let t = null;
  const candidates = [];
  for (const part of String(header ?? '').split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && /^\\d+$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (t === null || Math.abs(Date.now() / 1000 - t) > toleranceSec) return false;
  const expected = createHmac('sha256', secret).update(\`\${t}.\`).update(rawBody).digest();
  return candidates.some((c) => timingSafeEqual(c, expected));
}

// Express: app.post('/lien/events', express.raw({ type: 'application/json' }), (req, res) => {
//   if (!verifyLienSignature(process.env.LIEN_WEBHOOK_SECRET, req.get('Lien-Signature'), req.body)) return res.sendStatus(400);
//   const event = JSON.parse(req.body); … res.sendStatus(204); });`;

const VERIFY_PYTHON = `import hashlib, hmac, time

def verify_lien_signature(secret: str, header: str, raw_body: bytes, tolerance_sec: int = 300) -> bool:
    """raw_body: the request body exactly as received, before json.loads."""
    t, candidates = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1":
            candidates.append(value)
    if t is None or abs(time.time() - t) > tolerance_sec:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, c) for c in candidates)

# Flask: sig_ok = verify_lien_signature(SECRET, request.headers.get("Lien-Signature"), request.get_data())`;

/** The signature checks the guide shows, for a test that runs them. */
export const SIGNATURE_SAMPLES = { shell: VERIFY_SHELL, send: SEND_SHELL, node: VERIFY_NODE, python: VERIFY_PYTHON };

function Guide({ doc }: { doc: Json }): VNode {
  const base = doc.servers?.[0]?.url ?? 'http://127.0.0.1:8080';
  const sale = find(doc, 'createSale');
  const ids = { id: '<deviceId from the sale>' };
  const events = Object.entries<Json>(doc.webhooks ?? {});
  return (
    <>
      <section aria-labelledby="guide-quick-start">
        <h2 id="guide-quick-start">Quick start</h2>
        <p>
          Set the server's address and a lender API key (the operator creates the lender and gets its first key with <a href="#op-createLender">POST /v1/operator/lenders</a>; more keys
          come from <a href="#op-createApiKey">POST /v1/api-keys</a>):
        </p>
        <Code label="Shell setup">{`export LIEN_URL=${base}\nexport LIEN_KEY=lien_live_…   # read, write and codes scopes`}</Code>
        <h3>1. Sell a phone on credit</h3>
        <p>
          The phone must be in the registry (the operator uploads factory manifests). The answer has the contract, the device and the lock reference the borrower will quote.
        </p>
        <Code label="Create a sale">{curl(doc, 'createSale')}</Code>
        {sale ? <Code label="Create a sale, answer">{responseExample(doc, 'createSale')}</Code> : null}
        <h3>2. Post a payment</h3>
        <p>
          Amounts are minor units. A payment that clears what is overdue unlocks the phone within seconds: the server nudges it over its stream, and <code>stage</code> in the answer is
          where the contract now stands.
        </p>
        <Code label="Post a payment">{curl(doc, 'postPayment')}</Code>
        <Code label="Post a payment, answer">{responseExample(doc, 'postPayment')}</Code>
        <h3>3. Issue an unlock code</h3>
        <p>For a phone with no network: the borrower types the code on the lock screen. Needs a key with the <code>codes</code> scope; every code is audited with its reason.</p>
        <Code label="Issue a code">{curl(doc, 'issueCode', ids)}</Code>
        <Code label="Issue a code, answer">{responseExample(doc, 'issueCode')}</Code>
      </section>

      <section aria-labelledby="guide-auth">
        <h2 id="guide-auth">Authentication and scopes</h2>
        <p>
          Send <code>Authorization: Bearer &lt;API key&gt;</code> on every request. Lender keys carry scopes: <code>read</code> (every GET), <code>write</code> (sales, payments,
          disputes, claims, imports), <code>codes</code> (unlock codes). Settings, webhooks, API keys and users need a key with all three. The operator key works only on{' '}
          <code>/v1/operator/…</code>. Each operation below says what it needs. Another lender's ids are answered 404, exactly like ids that do not exist.
        </p>
      </section>

      <section aria-labelledby="guide-errors">
        <h2 id="guide-errors">Errors</h2>
        <p>
          Every error, whatever the status, is an <a href="#schema-ErrorBody">ErrorBody</a>: a stable <code>code</code> to branch on, a <code>message</code> a person can read, and{' '}
          <code>details</code> naming what it is about (the field, the id, the limit).
        </p>
        <Code label="An error">{json({ code: 'invalid_input', message: 'body field "amount": must be >= 1', details: { where: 'body', field: 'amount' } })}</Code>
        <p>
          400 invalid input · 401 no valid key · 403 missing scope · 404 not found · 409 conflict (retry later, or a reference already used) · 413 body too large · 422 Idempotency-Key
          reused for another request, or a guardrail refuses · 5xx our side (503 <code>unavailable</code>: retry). Every response carries an <code>X-Request-Id</code>; quote it when you
          ask for help.
        </p>
      </section>

      <section aria-labelledby="guide-pagination">
        <h2 id="guide-pagination">Pagination</h2>
        <p>
          Lists answer <code>{'{ "items": [...], "nextCursor": "…" }'}</code>, newest first. Pass <code>cursor=&lt;nextCursor&gt;</code> for the next page; <code>nextCursor</code> is{' '}
          <code>null</code> on the last one. <code>limit</code> sets the page size (1–500, default 50). A cursor is opaque: pass it back unchanged, with the same filters.
        </p>
        <Code label="Walk every page">{`cursor=''\nwhile :; do\n  page=$(curl -sS "$LIEN_URL/v1/payments?limit=200\${cursor:+&cursor=$cursor}" -H "Authorization: Bearer $LIEN_KEY")\n  echo "$page" | jq -c '.items[]'\n  cursor=$(echo "$page" | jq -r '.nextCursor // empty')\n  [ -z "$cursor" ] && break\ndone`}</Code>
      </section>

      <section aria-labelledby="guide-idempotency">
        <h2 id="guide-idempotency">Idempotency</h2>
        <p>
          Every POST takes an <code>Idempotency-Key</code> header (1–255 visible characters; a UUID is a good choice). Send the same key when you retry after a timeout or a dropped
          connection: the first request's answer comes back, with <code>Idempotent-Replayed: true</code>, and nothing is done twice. A key is kept 24 hours, per lender. The same key
          with a different path or body is refused (422); while the first request is still running, a retry gets 409 (retry in a moment). Payments are also unique by their{' '}
          <code>externalRef</code> per lender, with or without a key.
        </p>
      </section>

      <section aria-labelledby="guide-webhooks">
        <h2 id="guide-webhooks">Receiving webhooks</h2>
        <p>
          Register an endpoint with <a href="#op-createWebhook">POST /v1/webhooks</a> and the events it wants; the answer shows its signing secret once. Each event is POSTed as JSON to
          every endpoint that subscribed, with a <code>Lien-Signature</code> header and a <code>Lien-Event-Id</code> header (the same on every retry and replay: record the ids you
          have handled and process each once). Answer any 2xx within 10 seconds; anything else is retried: 10 attempts over about three days (30 s, 2 min, 10 min, 1 h, 6 h, 12 h,
          then daily). <a href="#op-listWebhookDeliveries">The delivery log</a> shows each attempt, and a delivery can be <a href="#op-replayWebhookDelivery">replayed</a>.
        </p>
        <h3>Events</h3>
        <Table head={['event', 'when', 'body']}>
          {events.map(([type, item]) => {
            const name = refName(item.post.requestBody.content['application/json'].schema.$ref);
            return (
              <tr>
                <td data-label="event">
                  <code>{type}</code>
                </td>
                <td data-label="when">{item.post.summary}</td>
                <td data-label="body">
                  <a href={`#${schemaAnchor(name)}`}>{name}</a>
                </td>
              </tr>
            );
          })}
        </Table>
        {events.map(([type, item]) => (
          <details>
            <summary>
              <code>{type}</code> example
            </summary>
            <Code label={`${type} example`}>{json(item.post.requestBody.content['application/json'].example)}</Code>
          </details>
        ))}
        <h3>Checking the signature</h3>
        <p>
          <code>Lien-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</code>, where the hex is HMAC-SHA256 of <code>&lt;t&gt;.&lt;raw body&gt;</code> keyed with the endpoint's whole
          secret (<code>whsec_…</code>) as UTF-8. Compute it over the raw bytes you received, before parsing the JSON; refuse a <code>t</code> more than five minutes from your
          clock (a captured request cannot be replayed later); compare in constant time. During a secret rotation a header may carry several <code>v1</code> values: one must match.
        </p>
        <h4>Shell (openssl, curl)</h4>
        <Code label="Signature check in shell">{VERIFY_SHELL}</Code>
        <Code label="A signed test event with curl">{SEND_SHELL}</Code>
        <h4>Node.js</h4>
        <Code label="Signature check in Node.js">{VERIFY_NODE}</Code>
        <h4>Python</h4>
        <Code label="Signature check in Python">{VERIFY_PYTHON}</Code>
      </section>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The page

/** The whole reference as one HTML page (preact escapes every value). */
export function renderReference(doc: Json): string {
  const all = operations(doc);
  const tags: string[] = [...(doc.tags ?? []).map((t: Json) => t.name as string)];
  for (const o of all) if (!tags.includes(o.op.tags?.[0] ?? 'other')) tags.push(o.op.tags?.[0] ?? 'other');
  const byTag = (tag: string) => all.filter((o) => (o.op.tags?.[0] ?? 'other') === tag);
  const tagInfo = (tag: string) => (doc.tags ?? []).find((t: Json) => t.name === tag);
  const schemas = Object.entries<Json>(doc.components?.schemas ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const title = doc.info?.title ?? 'API';
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>{`${title} reference`}</title>
        <link rel="stylesheet" href={API_REFERENCE_CSS.path} />
      </head>
      <body>
        <header>
          <h1>
            {title} <small>{doc.info?.version ?? ''}</small>
          </h1>
          <p>
            <Prose text={doc.info?.description} />
          </p>
          <p>
            Machine-readable: <a href="/openapi.json">openapi.json</a> (OpenAPI 3.1; import it into Postman, Insomnia or a client generator).
          </p>
        </header>
        <div class="layout">
          <nav class="toc" aria-label="Contents">
            <h2>Guide</h2>
            <ul>
              <li><a href="#guide-quick-start">Quick start</a></li>
              <li><a href="#guide-auth">Authentication and scopes</a></li>
              <li><a href="#guide-errors">Errors</a></li>
              <li><a href="#guide-pagination">Pagination</a></li>
              <li><a href="#guide-idempotency">Idempotency</a></li>
              <li><a href="#guide-webhooks">Receiving webhooks</a></li>
            </ul>
            <h2>Operations</h2>
            <ul>
              {tags.filter((t) => byTag(t).length).map((t) => (
                <li>
                  <a href={`#tag-${anchor(t)}`}>{t}</a>
                  <ul class="ops">
                    {byTag(t).map((o) => (
                      <li>
                        <a href={`#${opAnchor(o.method, o.path, o.op)}`}>{o.op.summary ?? `${o.method.toUpperCase()} ${o.path}`}</a>
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
            <h2>Reference</h2>
            <ul>
              <li><a href="#schemas">Schemas</a></li>
            </ul>
          </nav>
          <main>
            <Guide doc={doc} />
            {tags.filter((t) => byTag(t).length).map((t) => (
              <section aria-labelledby={`tag-${anchor(t)}`}>
                <h2 id={`tag-${anchor(t)}`}>{t}</h2>
                {tagInfo(t)?.description ? <p><Prose text={tagInfo(t).description} /></p> : null}
                {byTag(t).map((o) => <Operation doc={doc} method={o.method} path={o.path} op={o.op} />)}
              </section>
            ))}
            <section aria-labelledby="schemas">
              <h2 id="schemas">Schemas</h2>
              {schemas.map(([name, s]) => (
                <div id={schemaAnchor(name)}>
                  <h3>{name}</h3>
                  {s.description ? <p><Prose text={s.description} /></p> : null}
                  <Fields doc={doc} schema={s} />
                  {s.examples?.[0] !== undefined ? (
                    <details>
                      <summary>Example</summary>
                      <Code label={`${name}, example`}>{typeof s.examples[0] === 'string' ? s.examples[0] : json(s.examples[0])}</Code>
                    </details>
                  ) : null}
                </div>
              ))}
            </section>
          </main>
        </div>
      </body>
    </html>
  );
  return `<!doctype html>${renderToString(page)}`;
}
