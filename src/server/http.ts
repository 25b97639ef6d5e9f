/**
 * What every HTTP response gets on its way out: compression when the client asks for it
 * (@fastify/compress: brotli or gzip, above 1 KB), the browser security headers (@fastify/helmet;
 * pages with their own Content-Security-Policy, such as the portal's, keep theirs), and the
 * static assets under content-hashed names.
 *
 * The device protocol is left alone: its answers are small, its clients are not browsers, and
 * the check-in is the hot path (bench/checkin.ts), so it pays for neither.
 */
import { constants as zlib } from 'node:zlib';
import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Asset } from '../web/assets.ts';

const DEVICE_PROTOCOL = '/v1/device/';

/**
 * The policy of pages that set none of their own (the API reference, error pages): their own
 * origin's styles and scripts only, no framing, forms back to this origin.
 */
const DEFAULT_CSP = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  scriptSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
};

export async function installHttp(app: FastifyInstance, opts: { publicUrl: string }): Promise<void> {
  // Before the plugins below: they read these route options as each route is added.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(DEVICE_PROTOCOL)) {
      route.compress = false;
      route.helmet = false;
    }
  });
  await app.register(compress, {
    encodings: ['br', 'gzip'],
    threshold: 1024,
    // Brotli's default (11) is for files compressed once; 5 is about gzip's speed, smaller.
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } },
    // Request bodies are read as sent: a device's MAC covers the exact bytes.
    globalDecompression: false,
  });
  const https = opts.publicUrl.startsWith('https:');
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...DEFAULT_CSP, ...(https ? { upgradeInsecureRequests: [] } : {}) } },
    // Only over HTTPS, and only for this host: Lien does not own its parent domain.
    strictTransportSecurity: https ? { maxAge: 15_552_000, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'same-origin' },
  });
}

const YEAR = 365 * 24 * 3600;

/** Serves each asset at its hashed path, cached for a year, answering 304 to a matching If-None-Match. */
export function assetRoutes(app: FastifyInstance, assets: readonly Asset[]): void {
  for (const a of assets) {
    app.get(a.path, { schema: { hide: true } as never }, async (req, reply) => {
      reply.header('cache-control', `public, max-age=${YEAR}, immutable`).header('etag', a.etag);
      const match = req.headers['if-none-match'];
      if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === a.etag)) return reply.status(304).send();
      return reply.type(a.type).send(a.body);
    });
  }
}
