/**
 * The static files pages link to, served under content-hashed names
 * (`/assets/htmx.min.<hash>.js`): a name changes whenever its bytes do, so browsers and proxies
 * may keep each one for a year without asking again (`Cache-Control: immutable`), and a new
 * release can never be served an old script. Held in memory; they are small.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface Asset {
  /** Where pages link to it. */
  path: string;
  type: string;
  body: Buffer;
  /** A strong ETag: the content hash. */
  etag: string;
}

export function asset(name: string, type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  const dot = name.lastIndexOf('.');
  return { path: `/assets/${name.slice(0, dot)}.${hash}${name.slice(dot)}`, type, body, etag: `"${hash}"` };
}

export const HTMX = asset('htmx.min.js', 'text/javascript; charset=utf-8', readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js')));
