/**
 * The browser device emulator: phones emulated inside the server process, for demos and browser
 * tests. DEVELOPMENT ONLY. The server opens a device's sealed factory secret to play that
 * phone, so anyone who reaches these pages can act as any registered device. The routes are
 * mounted only when `LIEN_EMULATOR=1`, or when the server runs on the manual test clock
 * (`LIEN_TEST_CLOCK=1`, or a test passing a ManualClock); `LIEN_EMULATOR=0` turns them off even
 * then. Never set LIEN_EMULATOR in production.
 *
 * Each emulated phone is the reference agent (MemoryStore partitions, HttpNetwork to this
 * server's own listening address, the server's clock, so moving the test clock moves them too).
 *
 *   GET  /emulator                   emulated phones, and a form to start one by serial
 *   POST /emulator                   start the phone of `serial` (form field)
 *   GET  /emulator/:serial           the phone (started on first visit)
 *   GET  /emulator/:serial/screen    poll: 204 while unchanged, HX-Refresh when the page would change
 *   POST /emulator/:serial/{code,sync,reset,offline,online,call}
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ManualClock, type Clock } from '../../domain/clock.ts';
import { isLienError } from '../../domain/errors.ts';
import { HttpNetwork } from '../../agent/http-network.ts';
import { MemoryStore } from '../../agent/memory.ts';
import { provisionDevice } from '../../agent/provision.ts';
import { SimPhone, type Outcome } from '../../agent/sim/sim-phone.ts';
import type { PhoneHandOff } from '../../agent/sim/hand-off.ts';
import { isLang, type Lang } from '../../i18n/index.ts';
import type { Services } from '../../services/context.ts';
import { factoryIdentity, recentDevices } from '../../services/views/emulator.ts';
import { renderIndexPage, renderNotFoundPage, renderPhonePage } from '../../web/emulator.tsx';

const FORM = 'application/x-www-form-urlencoded';
/** How often emulated phones re-read their enforcement and make routine check-ins. */
const HEARTBEAT_MS = 5_000;

export function emulatorEnabled(clock: Clock, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.LIEN_EMULATOR === '0') return false;
  return env.LIEN_EMULATOR === '1' || clock instanceof ManualClock;
}

/** The phones this server emulates, by serial. */
export class EmulatorHub {
  private readonly phones = new Map<string, Promise<SimPhone>>();
  private readonly started = new Map<string, SimPhone>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly s: Services,
    private readonly serverUrl: () => string,
    /** Phones this process already runs (the demo fleet): taken over, never enrolled twice. */
    private readonly handOff: PhoneHandOff | null = null,
  ) {}

  get(serial: string): SimPhone | undefined {
    return this.started.get(serial);
  }

  running(): [serial: string, phone: SimPhone][] {
    return [...this.started.entries()];
  }

  /** The emulated phone of a registered device, started (provisioned, booted, synced) if need be. */
  phone(serial: string): Promise<SimPhone> {
    let p = this.phones.get(serial);
    if (!p) {
      p = this.start(serial);
      this.phones.set(serial, p);
      p.catch(() => this.phones.delete(serial));
    }
    return p;
  }

  private async start(serial: string): Promise<SimPhone> {
    const running = this.handOff?.take(serial) ?? null;
    if (running) return this.adopt(serial, running);
    const persistent = new MemoryStore();
    await provisionDevice(persistent, await factoryIdentity(this.s, serial));
    const phone = new SimPhone({ persistent, userdata: new MemoryStore(), clock: this.s.clock, network: new HttpNetwork({ baseUrl: this.serverUrl(), timeoutMs: 10_000 }), lang: 'en' });
    await phone.boot();
    await phone.sync();
    return this.adopt(serial, phone);
  }

  private adopt(serial: string, phone: SimPhone): SimPhone {
    if (this.stopped) {
      phone.stop(); // the server closed while this phone was starting
      return phone;
    }
    this.started.set(serial, phone);
    this.timer ??= setInterval(() => void this.heartbeat(), HEARTBEAT_MS).unref();
    return phone;
  }

  private async heartbeat(): Promise<void> {
    for (const phone of this.started.values()) {
      if (this.stopped) return;
      try {
        await phone.tick();
        if (phone.network.online && !phone.agent.isTerminal() && phone.checkinDue()) await phone.sync();
      } catch {
        // One phone's trouble must not stop the others; its next action reports it.
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const phone of this.started.values()) phone.stop();
  }
}

/** The address this server listens on, as its own phones reach it; the public URL if not listening. */
function ownUrl(app: FastifyInstance, fallback: string): string {
  const addr = app.server.address() as AddressInfo | string | null;
  if (!addr || typeof addr === 'string') return fallback;
  const host = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
}

export async function emulatorRoutes(app: FastifyInstance, { s, handOff }: { s: Services; handOff?: PhoneHandOff | null }): Promise<void> {
  if (!emulatorEnabled(s.clock)) return;
  const hub = new EmulatorHub(s, () => ownUrl(app, s.publicUrl), handOff ?? null);
  app.addHook('preClose', async () => hub.stop());
  if (!app.hasContentTypeParser(FORM)) {
    app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
  }

  app.get('/emulator', async (_req, reply) => html(reply, await indexPage(s, hub)));

  app.post('/emulator', async (req, reply) => {
    const serial = field(req.body, 'serial').trim();
    if (!serial) return html(reply, await indexPage(s, hub, 'Type the serial number of a registered device.'), 400);
    return reply.redirect(`/emulator/${encodeURIComponent(serial)}`, 303);
  });

  app.get<{ Params: { serial: string }; Querystring: { lang?: string } }>('/emulator/:serial', async (req, reply) => {
    const lang = langOf(req.query.lang);
    const phone = await phoneOr404(hub, req.params.serial, reply);
    if (!phone) return reply;
    await phone.tick();
    return html(reply, phonePage(req.params.serial, phone, lang));
  });

  app.get<{ Params: { serial: string }; Querystring: { lang?: string; v?: string } }>('/emulator/:serial/screen', async (req, reply) => {
    const phone = hub.get(req.params.serial);
    if (!phone) return reply.header('HX-Refresh', 'true').status(200).send('');
    await phone.tick();
    const lang = langOf(req.query.lang);
    if (version(req.params.serial, phone, lang) === req.query.v) return reply.status(204).send();
    return reply.header('HX-Refresh', 'true').status(200).send('');
  });

  const act = (path: string, run: (phone: SimPhone, body: unknown) => Promise<Outcome> | Outcome) =>
    app.post<{ Params: { serial: string } }>(`/emulator/:serial/${path}`, async (req, reply) => {
      const phone = await phoneOr404(hub, req.params.serial, reply);
      if (!phone) return reply;
      await run(phone, req.body);
      const lang = langOf(field(req.body, 'lang'));
      return reply.redirect(`/emulator/${encodeURIComponent(req.params.serial)}${lang === 'en' ? '' : `?lang=${lang}`}`, 303);
    });
  act('code', (phone, body) => {
    const code = field(body, 'code').trim();
    if (!code) return (phone.lastOutcome = { ok: false, text: 'Type the unlock code first.' });
    return phone.enterCode(code, langOf(field(body, 'lang')));
  });
  act('sync', (phone) => phone.sync());
  act('reset', (phone) => phone.factoryReset());
  act('offline', (phone) => phone.setOnline(false));
  act('online', (phone) => phone.setOnline(true));
  act('call', (phone, body) => phone.call(field(body, 'number')));
}

async function phoneOr404(hub: EmulatorHub, serial: string, reply: FastifyReply): Promise<SimPhone | null> {
  try {
    return await hub.phone(serial);
  } catch (e) {
    if (isLienError(e) && e.code === 'not_found') {
      await html(reply, renderNotFoundPage(e.message), 404);
      return null;
    }
    throw e;
  }
}

function phonePage(serial: string, phone: SimPhone, lang: Lang): string {
  return renderPhonePage({
    serial,
    model: phone.model(lang),
    lang,
    online: phone.network.online,
    streamOpen: phone.agent.streamOpen(),
    deviceId: phone.agent.deviceId(),
    now: phone.clock.now().toISOString(),
    outcome: phone.lastOutcome,
    version: version(serial, phone, lang),
  });
}

/** Everything the page shows except the clock, which moves every second. */
function version(serial: string, phone: SimPhone, lang: Lang): string {
  const state = JSON.stringify([serial, phone.model(lang), phone.network.online, phone.agent.streamOpen(), phone.agent.deviceId(), phone.lastOutcome]);
  return createHash('sha256').update(state).digest('base64url').slice(0, 16);
}

async function indexPage(s: Services, hub: EmulatorHub, error?: string): Promise<string> {
  const recent = await recentDevices(s.db);
  const stageOf = new Map(recent.map((r) => [r.serial, r.stage]));
  const running = hub.running().map(([serial, phone]) => ({ serial, mode: phone.agent.view().mode, stage: stageOf.get(serial) ?? null, lender: phone.agent.view().lender?.name ?? null }));
  const registered = recent.filter((r) => !hub.get(r.serial)).map((r) => ({ serial: r.serial, mode: null, stage: r.stage, lender: r.lender ?? null }));
  return renderIndexPage({ running, registered, ...(error ? { error } : {}) });
}

// The emulator's pages carry their styles inline; scripts only from here (htmx).
const EMULATOR_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', EMULATOR_CSP).send(body);
}

function field(body: unknown, name: string): string {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

function langOf(raw: unknown): Lang {
  return isLang(raw) ? raw : 'en';
}
