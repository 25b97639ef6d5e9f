import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { systemClock } from '../domain/clock.ts';
import { LienError, isLienError } from '../domain/errors.ts';
import { HttpNetwork } from '../agent/http-network.ts';
import { FileStore } from '../agent/file-store.ts';
import { provisionDevice } from '../agent/provision.ts';
import { FACTORY_KEY, type FactoryIdentity } from '../agent/state.ts';
import { Fleet, fleetFromManifest, summaryLine } from '../agent/sim/fleet.ts';
import { OffsetClock, applyClockChange, parseClockChange } from '../agent/sim/offset-clock.ts';
import { SimPhone, type Outcome } from '../agent/sim/sim-phone.ts';
import { renderTerminalScreen } from '../agent/sim/terminal-screen.ts';
import { isLang, LANGUAGES, type Lang } from '../i18n/index.ts';
import { takePidLock } from '../store/lockfile.ts';
import { intOption, UsageError, type Command } from './args.ts';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const COMMAND_HELP = [
  'code <digits>      enter an unlock code (OpenPAYGO token from the lender)',
  'sync               check in with the server now',
  'offline | online   switch the phone\'s network off or on',
  'clock +3d | +5h | -30m | 2026-02-01T00:00:00Z   move or set the phone\'s own clock',
  'reset              factory reset (wipes userdata; the lock comes back)',
  'call <number>      try to place a call (says allowed or blocked)',
  'help               this list',
  'quit               stop the phone (its state stays in the state directory)',
];

export const deviceCommand: Command = {
  name: 'device',
  summary: 'run simulated phones against a server (terminal lock screen, or a headless fleet)',
  usage: '--imei IMEI --serial SERIAL --secret HEX [options]  |  --fleet N --manifest FILE.csv [options]',
  options: {
    server: { type: 'string', description: `server URL (default ${DEFAULT_SERVER})` },
    imei: { type: 'string', description: 'the phone\'s IMEI (15 digits), as in the factory manifest' },
    serial: { type: 'string', description: 'the phone\'s serial number, as in the factory manifest' },
    secret: { type: 'string', description: 'the factory secret, 64 hex characters, as in the manifest' },
    'state-dir': { type: 'string', description: 'where the phone keeps its storage (default ./data/devices/<serial>)' },
    lang: { type: 'string', description: `language of the lock screen: ${LANGUAGES.map((l) => l.code).join(', ')} (default en)` },
    clock: { type: 'string', description: 'start the phone\'s clock at this instant (default: the system clock)' },
    'checkin-interval': { type: 'string', description: 'seconds between routine check-ins (default 300)' },
    fleet: { type: 'string', description: 'run N headless phones from --manifest instead of one on screen' },
    manifest: { type: 'string', description: 'factory manifest CSV for --fleet (imei1, imei2, serial, model, factory_secret, …)' },
    'report-interval': { type: 'string', description: 'fleet: seconds between summary lines (default 5)' },
  },
  help: [
    'One phone: provisions it in the state directory on first start (later starts reuse it, so the',
    'lock survives a restart), enrolls, and draws its lock screen. Type commands on stdin:',
    ...COMMAND_HELP.map((l) => `  ${l}`),
    '',
    'Fleet: `--fleet N --manifest FILE.csv` runs the first N phones of the manifest without screens',
    'and prints one summary line every few seconds; Ctrl+C stops them.',
    '',
    'The phone enforces its policy with its own clock. Against a server on a test clock',
    '(LIEN_TEST_CLOCK=1), start the phone near that time with --clock, or move it with `clock`.',
  ],
  async run({ values }) {
    const server = serverUrl(values.server);
    const clock = new OffsetClock(systemClock);
    if (typeof values.clock === 'string') applyClockChange(clock, parseClockChange(values.clock));
    const checkinSec = intOption(values, 'checkin-interval', 300, 1);
    if (values.fleet !== undefined || values.manifest !== undefined) {
      const n = intOption(values, 'fleet', 0, 1);
      if (typeof values.manifest !== 'string') throw new UsageError('--fleet needs --manifest FILE.csv (the factory manifest of the phones)');
      if (n === 0) throw new UsageError('--manifest needs --fleet N (how many phones to run)');
      await checkServer(server);
      return runFleet({ server, clock, n, manifest: values.manifest, checkinSec, reportSec: intOption(values, 'report-interval', 5, 1) });
    }
    const lang = values.lang ?? 'en';
    if (!isLang(lang)) throw new UsageError(`--lang must be one of ${LANGUAGES.map((l) => l.code).join(', ')}, got "${String(lang)}"`);
    const identity = identityOption(values);
    const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : identity ? join('data', 'devices', identity.serial) : null;
    if (!stateDir) throw new UsageError('name the phone: --imei, --serial and --secret (first start), or --state-dir of a phone provisioned before');
    await checkServer(server);
    return runPhone({ server, clock, lang, stateDir, identity, checkinSec });
  },
};

interface Identity {
  imei: string;
  serial: string;
  secret: Buffer;
}

function identityOption(values: Record<string, unknown>): Identity | null {
  const { imei, serial, secret } = values;
  if (imei === undefined && serial === undefined && secret === undefined) return null;
  if (typeof imei !== 'string' || typeof serial !== 'string' || typeof secret !== 'string') {
    throw new UsageError('--imei, --serial and --secret go together (all three are in the factory manifest row)');
  }
  if (!/^\d{15}$/.test(imei)) throw new UsageError(`--imei must be 15 digits, got "${imei}"`);
  if (!/^[0-9a-fA-F]{64}$/.test(secret)) throw new UsageError('--secret must be the factory secret as 64 hex characters (32 bytes), as in the manifest');
  if (serial.trim() === '') throw new UsageError('--serial is empty');
  return { imei, serial: serial.trim(), secret: Buffer.from(secret, 'hex') };
}

function serverUrl(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server must be a URL such as ${DEFAULT_SERVER}, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http:// or https:// URL, got "${text}"`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** Fails early, in words, when nothing (or something else) answers at the server URL. */
async function checkServer(server: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${server}/healthz`, { signal: AbortSignal.timeout(5_000) });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (e as Error).message;
    throw new LienError('unavailable', `cannot reach a Lien server at ${server} (${cause}). Start one with \`lien serve\`, or point --server at it.`);
  }
  const body = (await res.json().catch(() => null)) as { ok?: unknown } | null;
  if (!res.ok || body?.ok !== true) throw new LienError('unavailable', `${server} answered, but not as a Lien server (GET /healthz → ${res.status})`);
}

// ---------------------------------------------------------------------------------------------
// One phone on screen

async function runPhone(o: { server: string; clock: OffsetClock; lang: Lang; stateDir: string; identity: Identity | null; checkinSec: number }): Promise<number> {
  mkdirSync(o.stateDir, { recursive: true });
  let lock: { release(): void };
  try {
    lock = takePidLock(o.stateDir, o.stateDir);
  } catch (e) {
    if (isLienError(e) && e.code === 'conflict') throw new LienError('conflict', `the phone in ${o.stateDir} is already running (process ${String(e.details.pid)}); stop it or use another --state-dir`);
    throw e;
  }
  try {
    const persistent = new FileStore(join(o.stateDir, 'persistent.json'));
    const userdata = new FileStore(join(o.stateDir, 'userdata.json'));
    await provisionOnce(persistent, o.identity, o.stateDir);

    const tty = Boolean(process.stdout.isTTY && process.stdin.isTTY);
    let rl: Interface | null = null;
    let busy = false;
    let dirty = false;
    // The status line also changes without the screen (a stream reconnecting): redraw for it too.
    const statusKey = () => `${phone.network.online}|${phone.agent.streamOpen()}|${phone.agent.deviceId()}`;
    let drawnStatus = '';
    const draw = () => {
      if (busy) {
        dirty = true;
        return;
      }
      dirty = false;
      drawnStatus = statusKey();
      const text = renderTerminalScreen(phone.model(), {
        online: phone.network.online,
        streamOpen: phone.agent.streamOpen(),
        now: o.clock.now(),
        deviceId: phone.agent.deviceId(),
        outcome: phone.lastOutcome,
      });
      if (!tty) {
        process.stdout.write(`\n${text}\n`);
        return;
      }
      process.stdout.write(`\x1b[2J\x1b[H${text}\n\n`);
      // Puts back the prompt and whatever the user had typed so far.
      if (rl) rl.prompt(true);
      else process.stdout.write('> ');
    };
    const phone = new SimPhone({ persistent, userdata, clock: o.clock, network: new HttpNetwork({ baseUrl: o.server }), lang: o.lang, onChange: () => draw() });

    // Draws once after an action, not at every step of it.
    const act = async (fn: () => Promise<unknown>) => {
      busy = true;
      try {
        await fn();
      } finally {
        busy = false;
      }
      draw();
    };

    await act(async () => {
      await phone.boot();
      await phone.sync();
    });

    let lastSync = Date.now();
    const routine = setInterval(() => {
      if (busy) return;
      const canSync = phone.network.online && !phone.agent.isTerminal();
      if (canSync && (phone.checkinDue() || Date.now() - lastSync >= o.checkinSec * 1000)) {
        lastSync = Date.now();
        void act(() => phone.sync());
        return;
      }
      // Locks fall due on the phone's clock without any network; the status line may have moved.
      void phone.tick().then(() => {
        if (!busy && statusKey() !== drawnStatus) draw();
      }, () => undefined);
    }, 1_000);

    rl = createInterface({ input: process.stdin, terminal: tty, prompt: '> ' });
    const input = rl;
    const stop = new Promise<void>((resolve) => {
      input.on('close', () => {
        rl = null;
        resolve();
      });
      input.on('SIGINT', () => input.close());
      process.once('SIGINT', () => input.close());
      process.once('SIGTERM', () => input.close());
    });
    const lines = (async () => {
      for await (const raw of input) {
        const line = raw.trim();
        if (!line) {
          if (tty) draw();
          continue;
        }
        if (!tty) process.stdout.write(`> ${line}\n`);
        if (line === 'quit' || line === 'exit') break;
        await act(() => command(phone, o.clock, line));
        if (line === 'sync') lastSync = Date.now();
      }
      input.close();
    })();
    await Promise.race([stop, lines]);
    clearInterval(routine);
    phone.stop();
    if (dirty) draw();
    process.stdout.write('\nphone stopped\n');
    return 0;
  } finally {
    lock.release();
  }
}

async function provisionOnce(persistent: FileStore, identity: Identity | null, stateDir: string): Promise<void> {
  const held = await persistent.get<FactoryIdentity>(FACTORY_KEY);
  if (!held) {
    if (!identity) {
      const hint = existsSync(join(stateDir, 'persistent.json')) ? '' : ' (it is empty)';
      throw new UsageError(`${stateDir} holds no phone yet${hint}: give --imei, --serial and --secret to provision one`);
    }
    await provisionDevice(persistent, { factorySecret: identity.secret, imeis: [identity.imei], serial: identity.serial });
    return;
  }
  if (!identity) return;
  const same = held.serial === identity.serial && held.imeis[0] === identity.imei && Buffer.from(held.factorySecret, 'base64url').equals(identity.secret);
  if (!same) {
    throw new LienError('conflict', `${stateDir} already holds phone ${held.serial} (IMEI ${held.imeis[0]}) with another identity; a phone's factory identity never changes. Use another --state-dir.`);
  }
}

/** One stdin command. Its outcome lands in phone.lastOutcome, which the next draw shows. */
async function command(phone: SimPhone, clock: OffsetClock, line: string): Promise<void> {
  const [verb = '', ...rest] = line.split(/\s+/);
  const arg = rest.join(' ');
  const say = (ok: boolean, text: string): Outcome => (phone.lastOutcome = { ok, text });
  switch (verb.toLowerCase()) {
    case 'code':
      if (!arg) say(false, 'type the code after the word: code 123456789');
      else await phone.enterCode(arg);
      return;
    case 'sync':
      await phone.sync();
      return;
    case 'offline':
      await phone.setOnline(false);
      return;
    case 'online':
      await phone.setOnline(true);
      return;
    case 'clock': {
      try {
        applyClockChange(clock, parseClockChange(arg));
      } catch (e) {
        say(false, (e as Error).message);
        return;
      }
      await phone.tick();
      const now = clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
      say(true, `phone clock now ${now}`);
      // A phone whose clock passed its next check-in time checks in, as it would have by then.
      if (phone.checkinDue() && phone.network.online && !phone.agent.isTerminal()) {
        const synced = await phone.sync();
        say(synced.ok, `phone clock now ${now}; check-in was due: ${synced.text}`);
      }
      return;
    }
    case 'reset':
      await phone.factoryReset();
      return;
    case 'call':
      if (!arg) say(false, 'type the number after the word: call 112');
      else phone.call(arg);
      return;
    case 'help':
    case '?':
      say(true, `commands:\n    ${COMMAND_HELP.join('\n    ')}`);
      return;
    default:
      say(false, `unknown command "${verb}"; type help for the list`);
  }
}

// ---------------------------------------------------------------------------------------------
// A headless fleet

async function runFleet(o: { server: string; clock: OffsetClock; n: number; manifest: string; checkinSec: number; reportSec: number }): Promise<number> {
  if (!existsSync(o.manifest)) throw new UsageError(`no such file: ${o.manifest}`);
  const devices = fleetFromManifest(readFileSync(o.manifest, 'utf8'));
  if (devices.length < o.n) throw new LienError('invalid_input', `--fleet ${o.n} asks for more phones than ${o.manifest} holds (${devices.length})`);
  const fleet = new Fleet({ clock: o.clock, network: () => new HttpNetwork({ baseUrl: o.server }) });
  const report = (prefix = '') => console.log(`${prefix}${new Date().toISOString().slice(11, 19)} ${summaryLine(fleet.counts())}`);

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  console.log(`starting ${o.n} phones against ${o.server}`);
  await Promise.race([fleet.start(devices.slice(0, o.n)), stopped]);
  let syncing = false;
  const timers = [
    setInterval(() => {
      if (syncing || stopping) return;
      syncing = true;
      void fleet.syncAll().finally(() => (syncing = false));
    }, o.checkinSec * 1000),
    setInterval(() => {
      void fleet.tickAll().then(() => report(), () => report());
    }, o.reportSec * 1000),
  ];
  if (!stopping) report();
  await stopped;
  for (const t of timers) clearInterval(t);
  fleet.stop();
  report('stopped: ');
  return 0;
}
