import type { FastifyInstance } from 'fastify';
import { LienError } from '../../domain/errors.ts';
import { CheckinRequestSchema, EnrollRequestSchema, validate } from '../../protocol/index.ts';
import type { DeviceGateway } from '../../services/devices.ts';
import type { NudgeHub } from '../nudges.ts';

/**
 * The device API (DESIGN.md §5). Check-in bodies are read as raw text because the request MAC
 * covers the exact bytes the device sent.
 */
export async function deviceRoutes(app: FastifyInstance, opts: { gateway: DeviceGateway; nudges: NudgeHub }): Promise<void> {
  const { gateway, nudges } = opts;

  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

  app.get('/v1/device/nonce', async () => gateway.nonce());

  app.post('/v1/device/enroll', async (req) => {
    const body = validate(EnrollRequestSchema, parseJson(req.body));
    return gateway.enroll(body);
  });

  app.post('/v1/device/checkin', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const auth = await gateway.authenticate(singleValued(req.headers), 'POST', '/v1/device/checkin', raw);
    const body = validate(CheckinRequestSchema, parseJson(raw));
    return reply.type('application/json').send(await gateway.checkin(auth, body));
  });

  app.get('/v1/device/stream', { websocket: true }, async (socket, req) => {
    let deviceId: string;
    try {
      ({ deviceId } = await gateway.authenticate(singleValued(req.headers), 'GET', '/v1/device/stream', ''));
    } catch (e) {
      socket.close(4401, e instanceof LienError ? String(e.details.reason ?? e.code) : 'unauthorized');
      return;
    }
    const unregister = nudges.register(deviceId, socket);
    socket.on('close', unregister);
    socket.on('error', unregister);
    socket.send(JSON.stringify({ type: 'hello' }));
  });
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
