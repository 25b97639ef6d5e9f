import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { buildLien } from '../server/app.ts';
import { intOption, type Command } from './args.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the server (device API, lender API, console, portal)',
  usage: '[--port N] [--host H] [--data-dir DIR]',
  options: {
    port: { type: 'string', short: 'p', description: 'HTTP port (default $PORT or 8080)' },
    host: { type: 'string', description: 'interface (default $HOST or 127.0.0.1)' },
    'data-dir': { type: 'string', description: 'embedded database directory (default ./data)' },
  },
  help: ['Without DATABASE_URL the server runs on embedded PGlite in the data directory.'],
  async run({ values }) {
    const config = loadConfig(process.env, {
      ...(values.port !== undefined ? { port: intOption(values, 'port', 8080, 1) } : {}),
      ...(typeof values.host === 'string' ? { host: values.host } : {}),
      ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
    });
    const lien = await buildLien(config);
    let closing = false;
    const stop = async (signal: string) => {
      if (closing) return;
      closing = true;
      lien.app.log.info(`${signal}: shutting down`);
      await lien.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    await lien.app.listen({ port: config.port, host: config.host });
    const base = config.publicUrl;
    if (lien.newOperatorKey && lien.services.database.kind === 'pglite') {
      // Kept beside the embedded database so `lien demo --server` finds it.
      writeFileSync(join(config.dataDir, 'operator.key'), lien.newOperatorKey + '\n', { mode: 0o600 });
    }
    console.log(
      [
        '',
        `Lien is running on ${lien.services.database.kind === 'pglite' ? `embedded PGlite (${config.dataDir})` : 'PostgreSQL'}.`,
        `  health          ${base}/healthz`,
        `  device API      ${base}/v1/device/…`,
        `  lender API      ${base}/v1/…`,
        ...(lien.newOperatorKey ? ['', `Operator API key (shown once, keep it): ${lien.newOperatorKey}`] : []),
        '',
      ].join('\n'),
    );
  },
};
