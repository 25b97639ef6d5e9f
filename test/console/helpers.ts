import { createUser } from '../../src/services/users.ts';
import type { UserRole } from '../../src/store/schema.ts';
import type { TestPlatform } from '../e2e/in-process.ts';

export const PASSWORD = 'correct horse battery';

export interface Response {
  status: number;
  location: string | null;
  body: string;
}

/** A cookie-keeping HTTP client that reads pages like a browser without JavaScript would. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  lastPage = '';

  constructor(readonly base: string) {}

  private remember(r: globalThis.Response): void {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (!value || /expires=Thu, 01 Jan 1970/i.test(c) || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<Response> {
    const r = await fetch(this.base + path, { redirect: 'manual', headers: { cookie: this.header() } });
    this.remember(r);
    const body = await r.text();
    if (r.status === 200) this.lastPage = body;
    return { status: r.status, location: r.headers.get('location'), body };
  }

  async post(path: string, form: Record<string, string>, opts: { csrf?: string | null } = {}): Promise<Response> {
    const csrf = opts.csrf === undefined ? this.csrf() : opts.csrf;
    const body = new URLSearchParams({ ...form, ...(csrf !== null ? { _csrf: csrf } : {}) });
    const r = await fetch(this.base + path, { method: 'POST', redirect: 'manual', headers: { cookie: this.header(), 'content-type': 'application/x-www-form-urlencoded' }, body });
    this.remember(r);
    return { status: r.status, location: r.headers.get('location'), body: await r.text() };
  }

  /** The CSRF token of the last page read. */
  csrf(): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(this.lastPage);
    if (!m) throw new Error('no CSRF token on the last page');
    return m[1]!;
  }

  async signIn(email: string, password = PASSWORD): Promise<Response> {
    await this.get('/console/login');
    return this.post('/console/login', { email, password });
  }

  /** Follows a redirect and returns the page it lands on. */
  async follow(r: Response): Promise<Response> {
    if (!r.location) throw new Error(`expected a redirect, got ${r.status}: ${r.body.slice(0, 300)}`);
    return this.get(r.location);
  }
}

/** Users made by the test itself, as the platform would (the demo does the same). */
const PLATFORM = { kind: 'operator', id: 'test', lenderId: null } as const;

export async function addUser(p: TestPlatform, lenderId: string | null, role: UserRole, email: string): Promise<void> {
  await createUser(p.lien.services, PLATFORM, { lenderId, email, name: `${role} person`, password: PASSWORD, role: role as never });
}

/** Text of the flash message on a page, if any. */
export function flashOf(html: string): string | null {
  const m = /data-testid="flash"[^>]*>([^<]*)</.exec(html);
  return m ? m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'") : null;
}
