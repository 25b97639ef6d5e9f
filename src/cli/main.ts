import { isLienError } from '../domain/errors.ts';
import { renderHelp, parse, UsageError, type Command } from './args.ts';
import { serveCommand } from './serve.ts';
import { migrateCommand } from './migrate.ts';
import { importManifestCommand } from './import-manifest.ts';
import { importCommand } from './import.ts';
import { auditCommand } from './audit.ts';
import { demoCommand } from './demo.ts';
import { deviceCommand } from './device.ts';
import { dlcKeyCommand } from './dlc-key.ts';
import { mpesaCommand } from './mpesa.ts';

const COMMANDS: Command[] = [serveCommand, migrateCommand, importManifestCommand, importCommand, demoCommand, deviceCommand, dlcKeyCommand, mpesaCommand, auditCommand];

function usage(): string {
  return [
    'lien — device financing locks: server, device simulator and tools',
    '',
    'Usage: lien <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(18)}${c.summary}`),
    '',
    'Run `lien <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`lien: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  try {
    const args = parse(cmd, rest);
    if (args.values.help) {
      console.log(renderHelp(cmd));
      return;
    }
    const code = await cmd.run(args as never);
    if (typeof code === 'number') process.exitCode = code;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lien ${cmd.name}: ${e.message}`);
      process.exitCode = 2;
    } else if (isLienError(e)) {
      console.error(`lien ${cmd.name}: ${e.message}`);
      process.exitCode = 1;
    } else {
      console.error(`lien ${cmd.name}: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    }
  }
}
