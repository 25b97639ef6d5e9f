import type { FastifyInstance, FastifySchema } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { LienError } from '../../domain/errors.ts';
import {
  AUTH_HEADERS,
  CheckinRequestSchema,
  CheckinResponseSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  NonceResponseSchema,
  StreamMessageSchema,
  validate,
} from '../../protocol/index.ts';
import type { DeviceGateway } from '../../services/devices.ts';
import type { NudgeHub } from '../nudges.ts';
import type { StreamKeepAlive } from '../stream-keepalive.ts';

const SPEC = 'Normative: docs/protocol.md (Lien device protocol 1.0), with worked examples in test/fixtures/protocol-vectors.json.';

const ErrorResponse = (what: string) =>
  Type.Object({ code: Type.String(), message: Type.String(), details: Type.Record(Type.String(), Type.Unknown()) }, { description: what });

/** The four request-signing headers (docs/protocol.md §4.3). */
const SignedHeaders = Type.Object({
  [AUTH_HEADERS.device]: Type.String({ description: 'the device id from enrollment' }),
  [AUTH_HEADERS.timestamp]: Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'milliseconds since the epoch, decimal; within ±300 s of the server clock' }),
  [AUTH_HEADERS.counter]: Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'strictly greater than the last one the server accepted for this credential' }),
  [AUTH_HEADERS.signature]: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'base64url HMAC-SHA256 of the string to sign, keyed with the session credential' }),
});

/**
 * Route schemas here document the device API in /openapi.json; the handlers validate by hand
 * (protocol/validate.ts) because a check-in's signature must be checked on the exact bytes sent,
 * before its body is parsed (a 401 comes before a 400), and answers are written as sent.
 */
function documented(schema: FastifySchema & { summary: string; description: string }) {
  return {
    schema: { tags: ['device protocol'], security: [], ...schema, description: `${schema.description}\n\n${SPEC}` },
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)),
  };
}

const errors = (more: Record<number, TSchema> = {}) => ({
  400: ErrorResponse('invalid_input: the body is not JSON or breaks the schema (details.field names the field)'),
  413: ErrorResponse('payload_too_large: bodies are at most 64 KiB'),
  503: ErrorResponse('unavailable: retry later with backoff'),
  ...more,
});

/**
 * The device API (docs/protocol.md). Check-in bodies are read as raw text because the request MAC
 * covers the exact bytes the device sent.
 */
export async function deviceRoutes(app: FastifyInstance, opts: { gateway: DeviceGateway; nudges: NudgeHub; keepAlive?: StreamKeepAlive }): Promise<void> {
  const { gateway, nudges, keepAlive } = opts;

  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

  app.get(
    '/v1/device/nonce',
    documented({
      summary: 'A single-use enrollment nonce (§5.1)',
      description: 'Valid for 5 minutes, in any server process; used up by the first enrollment whose proof holds.',
      response: { 200: NonceResponseSchema },
    }),
    async () => gateway.nonce(),
  );

  app.post(
    '/v1/device/enroll',
    documented({
      summary: 'Enroll a phone with a proof of its factory secret (§5)',
      description:
        'Answers `enrolled` (a device id, a session credential, the signed policy, the keys and key-rotation statements), `retry` (registered for financing, sale not recorded yet: ask again at retryAt) or `not_financed` (stop for good; also the answer to a proof that does not hold). A 401 names the nonce problem in details.reason: nonce_malformed, nonce_forged, nonce_expired or nonce_used.',
      body: EnrollRequestSchema,
      response: { 200: EnrollResponseSchema, ...errors({ 401: ErrorResponse('unauthorized: details.reason nonce_malformed | nonce_forged | nonce_expired | nonce_used; get a new nonce') }) },
    }),
    async (req) => {
      const body = validate(EnrollRequestSchema, parseJson(req.body));
      return gateway.enroll(body);
    },
  );

  app.post(
    '/v1/device/checkin',
    documented({
      summary: 'Signed check-in: report events, receive a newer signed policy (§7)',
      description:
        'Authenticated by the x-lien-* headers over the exact body bytes. The answer carries the policy (with signingKeys and keyRotations) only when the server holds a version newer than policyVersion.',
      headers: SignedHeaders,
      body: CheckinRequestSchema,
      response: {
        200: CheckinResponseSchema,
        ...errors({
          401: ErrorResponse('unauthorized (details.reason missing_headers | bad_signature | revoked) or replay (stale_timestamp | replayed_counter): enroll again'),
        }),
      },
    }),
    async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const auth = await gateway.authenticate(singleValued(req.headers), 'POST', '/v1/device/checkin', raw);
      const body = validate(CheckinRequestSchema, parseJson(raw));
      return reply.type('application/json').send(await gateway.checkin(auth, body));
    },
  );

  app.get(
    '/v1/device/stream',
    {
      websocket: true,
      ...documented({
        summary: 'Nudge stream: a WebSocket on which the server says "sync now" (§10)',
        description:
          'A WebSocket upgrade (GET, Upgrade: websocket) signed like a check-in over an empty body (method GET, path /v1/device/stream). Server → device text frames: `{"type":"hello"}` once on connect, then `{"type":"sync"}` whenever the device should check in; unknown types are ignored. The device sends nothing but the pongs its WebSocket stack returns to the server\'s keep-alive pings (every LIEN_STREAM_PING_SEC, 120 s by default); a stream that answers neither of two pings in a row is closed. A refused handshake is accepted and closed at once with code 4401 and the reason (missing_headers, bad_signature, revoked, stale_timestamp, replayed_counter) as the close reason.',
        headers: SignedHeaders,
        response: {
          101: Type.Object({}, { description: 'Switching Protocols; then the messages below, as WebSocket text frames', 'x-messages': StreamMessageSchema } as never),
        },
      }),
    },
    async (socket, req) => {
      let deviceId: string;
      try {
        ({ deviceId } = await gateway.authenticate(singleValued(req.headers), 'GET', '/v1/device/stream', ''));
      } catch (e) {
        socket.close(4401, e instanceof LienError ? String(e.details.reason ?? e.code) : 'unauthorized');
        return;
      }
      // A phone that gave up while its handshake was checked has closed already: its close
      // event has fired, so a registration now would never be undone.
      if (socket.readyState !== socket.OPEN) return;
      const unregisterNudges = nudges.register(deviceId, socket);
      const untrack = keepAlive?.track(socket);
      const unregister = () => {
        unregisterNudges();
        untrack?.();
      };
      socket.on('close', unregister);
      socket.on('error', unregister);
      socket.send(JSON.stringify({ type: 'hello' }));
    },
  );
}

/** Headers by name with one value each (the first of a repeated header): what request signing covers. */
function singleValued(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v[0]! : v;
  return out;
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw === '') throw new LienError('invalid_input', 'The body must be a JSON object.');
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new LienError('invalid_input', `The body is not valid JSON: ${(e as Error).message}`);
  }
}
