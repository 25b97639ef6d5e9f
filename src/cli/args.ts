import { parseArgs } from 'node:util';

export interface Option {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
}
export type Options = Record<string, Option>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Lines shown under the options in --help. */
  help?: string[];
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<number | void>;
}

export class UsageError extends Error {}

export function parse(cmd: Command, argv: string[]) {
  try {
    const options = Object.fromEntries(
      Object.entries(cmd.options).map(([name, { description: _d, ...o }]) => [name, o]),
    );
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nRun \`lien ${cmd.name} --help\` for usage.`);
  }
}

export function renderHelp(cmd: Command): string {
  const lines = [`lien ${cmd.name} — ${cmd.summary}`, '', `Usage: lien ${cmd.name} ${cmd.usage}`.trimEnd()];
  const opts = Object.entries(cmd.options);
  if (opts.length) {
    lines.push('', 'Options:');
    for (const [name, o] of opts) {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
      lines.push(`  ${flag.padEnd(30)} ${o.description}`);
    }
  }
  lines.push(`      --help                  show this help`);
  if (cmd.help) lines.push('', ...cmd.help);
  return lines.join('\n');
}

/** Reads a whole-number option, failing with a usage error that names it. */
export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${String(raw)}"`);
  return n;
}
