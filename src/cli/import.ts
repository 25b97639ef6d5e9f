import { existsSync, readFileSync, statSync } from 'node:fs';
import { UsageError, type Command } from './args.ts';

interface Problem {
  line: number;
  reason: string;
}

interface Report {
  id: string;
  state: 'running' | 'succeeded' | 'rejected' | 'failed';
  phase: string;
  total: number;
  processed: number;
  written: number;
  errors: Problem[];
  message: string | null;
}

const MAX_BYTES = 64 * 1024 * 1024;
const POLL_MS = 500;
const SHOWN_ERRORS = 200;

async function call(url: string, key: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  } catch (e) {
    throw new UsageError(`cannot reach the server at ${new URL(url).origin}: ${(e as Error).cause ?? (e as Error).message}`);
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text.slice(0, 200) };
  }
  return { status: res.status, body };
}

/** Prints the job's progress on one line (a terminal) or every few seconds (a log). */
function progressLine(r: Report): string {
  const pct = r.total ? Math.floor((r.processed / r.total) * 100) : 0;
  return `  ${r.phase.padEnd(10)} ${r.processed} / ${r.total} rows (${pct} %)`;
}

export const importCommand: Command = {
  name: 'import',
  summary: 'lender: import sales or payments from CSV through the server API',
  usage: 'sales|payments <file.csv> [--dry-run] [--url URL] [--key KEY]',
  options: {
    'dry-run': { type: 'boolean', description: 'check every row, write nothing' },
    url: { type: 'string', description: 'server address (default $LIEN_API_URL or http://127.0.0.1:8080)' },
    key: { type: 'string', description: 'lender API key with the write scope (default $LIEN_API_KEY)' },
  },
  help: [
    'All or nothing: if any row is bad, every bad row is listed with its line and nothing is imported.',
    'Sales columns: imei, borrower_ref, borrower_phone, borrower_language, principal, annual_rate_pct, term_count,',
    '  frequency, method, first_due_date, down_payment, fee, consent_at, consent_channel, terms_version.',
    'Payments columns: contract_id or lock_reference, external_ref, channel, amount, currency, received_at.',
    'Amounts are decimals in the currency (30000.00). Exit status: 0 imported (or a clean dry run), 1 rejected or failed.',
  ],
  async run({ values, positionals }) {
    const [kind, file] = positionals;
    if (kind !== 'sales' && kind !== 'payments') throw new UsageError('say what to import: lien import sales|payments <file.csv>');
    if (!file) throw new UsageError(`name the file: lien import ${kind} <file.csv>`);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    if (statSync(file).size > MAX_BYTES) throw new UsageError(`${file} is larger than 64 MB; split it (at most 100,000 rows a file)`);
    const base = String(values.url ?? process.env.LIEN_API_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    const key = String(values.key ?? process.env.LIEN_API_KEY ?? '');
    if (!key) throw new UsageError('give a lender API key: --key or LIEN_API_KEY');
    const dryRun = values['dry-run'] === true;
    const started = await call(`${base}/v1/imports/${kind}${dryRun ? '?dryRun=true' : ''}`, key, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: readFileSync(file),
    });
    if (started.status !== 202) {
      const problems = (started.body?.details?.errors ?? []) as Problem[];
      if (problems.length) console.error(`lien import: the server cannot read ${file}; nothing was imported`);
      else console.error(`lien import: ${started.body?.message ?? `the server answered ${started.status}`}`);
      for (const e of problems) console.error(`line ${e.line}: ${e.reason}`);
      return 1;
    }
    let report = started.body as Report;
    const tty = process.stderr.isTTY;
    let lastLog = 0;
    while (report.state === 'running') {
      if (tty) process.stderr.write(`\r${progressLine(report)}`);
      else if (Date.now() - lastLog > 5000) {
        process.stderr.write(`${progressLine(report)}\n`);
        lastLog = Date.now();
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      const polled = await call(`${base}/v1/imports/${report.id}`, key);
      if (polled.status !== 200) {
        if (tty) process.stderr.write('\n');
        console.error(`lien import: lost track of import ${report.id}: ${polled.body?.message ?? polled.status}`);
        return 1;
      }
      report = polled.body as Report;
    }
    if (tty) process.stderr.write(`\r${progressLine(report)}\n`);
    for (const e of report.errors.slice(0, SHOWN_ERRORS)) console.error(`line ${e.line}: ${e.reason}`);
    if (report.errors.length > SHOWN_ERRORS) console.error(`… and ${report.errors.length - SHOWN_ERRORS} more bad rows (GET /v1/imports/${report.id} lists them all)`);
    console.log(`import ${report.id}: ${report.state}${report.message ? ` — ${report.message}` : ''}`);
    return report.state === 'succeeded' ? 0 : 1;
  },
};
