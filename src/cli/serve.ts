import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../server/config.ts';
import { buildLien } from '../server/app.ts';
import { sweep } from '../jobs/sweep.ts';
import { emulatorEnabled } from '../server/routes/emulator.ts';
import { intOption, type Command } from './args.ts';
import { readDemoState, seedDataDir } from './demo.ts';
import { DEMO_LOCKED_SEC, startDemoLive } from './demo-live.ts';
import { PhoneHandOff } from '../agent/sim/hand-off.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** An embedded data directory that holds nothing yet: a fresh clone's first `npm start`. */
function isFreshEmbedded(config: Config): boolean {
  if (config.databaseUrl) return false;
  return !existsSync(config.dataDir) || readdirSync(config.dataDir).length === 0;
}

function readIfExists(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

/** Where everything is, printed on start. */
export function addressLines(base: string, opts: { emulator: boolean }): string[] {
  return [
    `  lender console  ${base}/console`,
    `  help portal     ${base}/portal`,
    ...(opts.emulator ? [`  device emulator ${base}/emulator`] : []),
    `  API docs        ${base}/docs/api`,
    `  health          ${base}/healthz (alive), ${base}/readyz (ready)`,
  ];
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the server (device API, lender API, console, portal)',
  usage: '[--port N] [--host H] [--data-dir DIR] [--no-demo]',
  options: {
    port: { type: 'string', short: 'p', description: 'HTTP port (default $PORT or 8080)' },
    host: { type: 'string', description: 'interface (default $HOST or 127.0.0.1)' },
    'data-dir': { type: 'string', description: 'embedded database directory (default ./data)' },
    'no-demo': { type: 'boolean', description: 'on an empty data directory, start empty instead of seeding the demo (also LIEN_DEMO=0)' },
  },
  help: [
    'Without DATABASE_URL the server runs on embedded PGlite in the data directory.',
    'The first start on an empty embedded data directory seeds the demo (`lien demo`): a demo lender,',
    'phones in every stage, console users, and a small simulated fleet; one phone locks about a minute',
    'after start and a scheduled demo payment unlocks it. The device emulator is on for a demo',
    'directory served on a loopback address. Never use a demo directory for real data.',
  ],
  async run({ values }) {
    const config = loadConfig(process.env, {
      ...(values.port !== undefined ? { port: intOption(values, 'port', 8080, 1) } : {}),
      ...(typeof values.host === 'string' ? { host: values.host } : {}),
      ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
    });
    // A manual-clock server is a test rig: it starts empty, as its tests expect.
    const demoWanted = values['no-demo'] !== true && process.env.LIEN_DEMO !== '0' && process.env.LIEN_TEST_CLOCK !== '1';
    let seeded: Awaited<ReturnType<typeof seedDataDir>> | null = null;
    if (demoWanted && isFreshEmbedded(config)) {
      console.log(`Empty data directory ${config.dataDir}: seeding the demo (two weeks of history on a private clock)…`);
      seeded = await seedDataDir(config);
    }
    const demo = config.databaseUrl ? null : readDemoState(config.dataDir);
    // The emulator plays any registered phone; only a demo directory on this machine gets it.
    if (demo && demoWanted && LOOPBACK.has(config.host)) process.env.LIEN_EMULATOR ??= '1';

    // The emulator takes a demo-fleet phone over rather than enrolling the same phone twice.
    const phoneHandOff = new PhoneHandOff();
    const lien = await buildLien(config, { phoneHandOff });
    let live: { stop(): void } | null = null;
    let closing = false;
    const stop = async (signal: string) => {
      if (closing) return;
      closing = true;
      lien.app.log.info(`${signal}: shutting down`);
      live?.stop();
      await lien.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    await lien.app.listen({ port: config.port, host: config.host });
    const base = config.publicUrl;
    // Printed once and never written down here: the database keeps only its SHA-256.
    const operatorKey = lien.newOperatorKey ?? seeded?.operatorKey ?? null;
    const credentialsFile = join(config.dataDir, 'demo-credentials.txt');
    const credentials = seeded?.credentials ?? (demo ? readIfExists(credentialsFile)?.split('\n') : null) ?? null;
    console.log(
      [
        '',
        `Lien is running on ${lien.services.database.kind === 'pglite' ? `embedded PGlite (${config.dataDir})` : 'PostgreSQL'}.`,
        ...addressLines(base, { emulator: emulatorEnabled(lien.services.clock) }),
        `  device API      ${base}/v1/device/…`,
        `  lender API      ${base}/v1/…`,
        ...(lien.dlc ? [`  Device Lock     ${config.host}:${lien.dlc.port} (gRPC over TLS, for AOSP's DeviceLockController; docs/android.md)`] : []),
        ...(operatorKey ? ['', `Operator API key (shown once, keep it): ${operatorKey}`] : []),
        ...(credentials ? ['', ...credentials] : []),
        ...(!demo && !config.databaseUrl ? ['', `No demo data here. Seed it: npx lien demo --data-dir <empty dir>, then npm start with LIEN_DATA_DIR=<that dir>.`] : []),
        '',
      ].join('\n'),
    );
    if (demo && demoWanted) {
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
      const payAfter = Number(process.env.LIEN_DEMO_PAY_AFTER_SEC || DEMO_LOCKED_SEC);
      // The live show's sweep runs in this process, so it needs no operator key.
      const sweepNow = () => sweep(lien.services, { batchSize: config.sweepBatchSize });
      live = await startDemoLive({ base: `http://${host}:${config.port}`, sweep: sweepNow, lenderKey: demo.lenderKey, seed: demo, log: (l) => console.log(l), payAfterSec: Number.isFinite(payAfter) && payAfter >= 0 ? payAfter : DEMO_LOCKED_SEC, handOff: phoneHandOff });
    }
  },
};
