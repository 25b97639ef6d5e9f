/**
 * CSV imports of sales (contracts) and payments, up to 100,000 rows a file, all or nothing.
 *
 * Every row is checked first — on its own, then against the database — and every bad row is
 * reported with its line; if there is any, nothing is written. Otherwise one transaction writes
 * everything set-based (services/bulk/*), re-checking under row locks so a concurrent sale or
 * payment cannot slip in between check and write. A dry run stops after the checks.
 *
 * An import runs as a job: the HTTP layer answers at once with the job's id and the client polls
 * its progress. The process running a job keeps its live progress in memory; the job's row in
 * import_jobs records its phases, what was written (set in the very transaction that writes it)
 * and its result, so any process can answer for it, and a job whose process died reads as
 * `interrupted` with what it had written.
 */
import { sql, type Selectable } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { newId } from '../store/ids.ts';
import type { DB } from '../store/schema.ts';
import type { Actor, Services } from './context.ts';
import { CsvFileError, RowError, readCsv, type CsvRow, type RowProblem } from './bulk/csv.ts';
import { evaluateMany } from './bulk/outcomes.ts';
import { checkContracts, checkPaymentRow, PAYMENTS_SPEC, writePayments, type PaymentRow } from './bulk/payments.ts';
import { checkDevices, checkSaleRow, SALES_SPEC, writeSales, type SaleRow } from './bulk/sales.ts';
import { chunks, yieldToLoop } from './bulk/sql.ts';
import { commit, type Executor } from './unit-of-work.ts';
import { tidyAfterBulkWrite } from '../store/maintenance.ts';
import { loggableError } from '../store/loggable.ts';
import { markPaymentUnlocks } from './unlock-latency.ts';

export type { RowProblem } from './bulk/csv.ts';

export const IMPORT_KINDS = ['sales', 'payments'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];
/**
 * running → succeeded (written; or, in a dry run, all rows good) | rejected (bad rows: nothing
 * written) | failed (our side) | interrupted (the process running it stopped; `written` says what
 * had been written).
 */
export type ImportState = 'running' | 'succeeded' | 'rejected' | 'failed' | 'interrupted';
export type ImportPhase = 'queued' | 'checking' | 'writing' | 'evaluating' | 'done';

export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
export const KEEP_FINISHED_MS = 3_600_000;
/** Contracts per transaction when payments re-evaluate them after commit (as the sweep batches). */
const EVALUATE_BATCH = 500;

export interface ImportReport {
  id: string;
  kind: ImportKind;
  dryRun: boolean;
  state: ImportState;
  phase: ImportPhase;
  /** Data rows in the file. */
  total: number;
  /** Rows through the current phase. */
  processed: number;
  /** Rows written (0 for a dry run or a rejected file). */
  written: number;
  /** Contracts whose device got a new policy (after commit). */
  policiesIssued: number;
  /** Every bad row, by line. */
  errors: RowProblem[];
  message: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ParsedImport {
  kind: ImportKind;
  rows: CsvRow[];
  /** Rows that failed to parse (wrong field count). */
  errors: RowProblem[];
}

/**
 * Reads the file; a file that cannot be read as a whole (not CSV, empty, bad header, too many
 * rows) is a LienError('invalid_input') listing why, so the API answers 400 before any job.
 */
export function parseImport(kind: ImportKind, csv: string): ParsedImport {
  if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new LienError('invalid_input', `Unknown import kind "${kind}"; use sales or payments.`);
  try {
    return { kind, ...readCsv(csv, kind === 'sales' ? SALES_SPEC : PAYMENTS_SPEC) };
  } catch (e) {
    if (e instanceof CsvFileError) throw new LienError('invalid_input', `The ${kind} file cannot be imported: ${e.message}.`, { errors: e.problems });
    throw e;
  }
}

/** Thrown inside the write transaction to roll it back with the rows that failed the re-check. */
class Rejected extends Error {
  constructor(readonly problems: RowProblem[]) {
    super('rejected');
  }
}

function checkRows<T>(rows: CsvRow[], check: (r: CsvRow) => T, errors: RowProblem[]): T[] {
  const good: T[] = [];
  for (const r of rows) {
    try {
      good.push(check(r));
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      errors.push({ line: r.line, reason: e.message });
    }
  }
  return good;
}

type LenderRow = Selectable<DB['lenders']>;

/** In the transaction that writes the rows: the job's row says so, committed with them. */
async function recordWritten(tx: Executor, jobId: string, written: number, next: ImportPhase): Promise<void> {
  await tx.updateTable('import_jobs').set({ written, phase: next }).where('id', '=', jobId).execute();
}

interface Progress {
  (phase: ImportPhase, processed: number): void;
}

async function importSales(s: Services, actor: Actor, lender: LenderRow, parsed: ParsedImport, dryRun: boolean, report: ImportReport, progress: Progress): Promise<void> {
  const errors = [...parsed.errors];
  const rows = checkRows<SaleRow>(parsed.rows, (r) => checkSaleRow(r, lender.currency), errors);
  const checked = await checkDevices(s.db, rows, false);
  errors.push(...checked.errors);
  progress('checking', report.total);
  if (errors.length || dryRun) {
    report.errors = errors;
    return;
  }
  const result = await commit(s, actor, async (tx, fx) => {
    // Checked again under lock: a sale elsewhere since the first check must not become a second lien.
    const locked = await checkDevices(tx, rows, true);
    if (locked.errors.length) throw new Rejected(locked.errors);
    const written = await writeSales(s, tx, fx, lender, rows, locked.deviceIds, (done) => progress('writing', done));
    await recordWritten(tx, report.id, written.sales.length, 'done');
    return written;
  });
  progress('writing', rows.length);
  report.written = result.sales.length;
  report.policiesIssued = result.evaluations.filter((e) => e.policyChanged).length;
  await tidyAfterBulkWrite(s.database, { updated: ['audit_log', 'devices'], inserted: ['contracts', 'installments', 'policies'] });
}

async function importPayments(s: Services, actor: Actor, lender: LenderRow, parsed: ParsedImport, dryRun: boolean, report: ImportReport, progress: Progress): Promise<void> {
  const errors = [...parsed.errors];
  const rows = checkRows<PaymentRow>(parsed.rows, checkPaymentRow, errors);
  const checked = await checkContracts(s.db, lender.id, rows, false);
  errors.push(...checked.errors);
  progress('checking', report.total);
  if (errors.length || dryRun) {
    report.errors = errors;
    return;
  }
  await commit(s, actor, async (tx, fx) => {
    const locked = await checkContracts(tx, lender.id, rows, true);
    if (locked.errors.length) throw new Rejected(locked.errors);
    await writePayments(tx, fx, lender, rows, locked.contracts, (done) => progress('writing', done));
    await recordWritten(tx, report.id, rows.length, 'evaluating');
  });
  const committedAt = s.clock.now();
  progress('writing', rows.length);
  report.written = rows.length;
  // As after postPayment: the contracts move (or unlock) on the new balances, their devices are told.
  const contractIds = [...new Set(checked.contracts.map((c) => c.id))];
  const refsOf = new Map<string, string[]>();
  rows.forEach((r, i) => {
    const id = checked.contracts[i]!.id;
    const refs = refsOf.get(id);
    if (refs) refs.push(r.externalRef);
    else refsOf.set(id, [r.externalRef]);
  });
  // The reason postPayment gives a stage change, naming every payment of the file that caused it.
  const why = (c: { id: string }) => {
    const refs = refsOf.get(c.id) ?? [];
    return refs.length === 1 ? `payment ${refs[0]} posted` : `payments ${refs.join(', ')} posted`;
  };
  let done = 0;
  const lenders = new Map([[lender.id, lender]]);
  for (const part of chunks(contractIds, EVALUATE_BATCH)) {
    const evaluations = await commit(s, actor, async (tx, fx) => {
      const contracts = await tx.selectFrom('contracts').selectAll().where('id', '=', sql<string>`ANY(${part}::text[])`).orderBy('id').forUpdate().execute();
      const evaluated = await evaluateMany(s, tx, fx, contracts, why, lenders);
      await markPaymentUnlocks(tx, evaluated, committedAt);
      return evaluated;
    });
    report.policiesIssued += evaluations.filter((e) => e.policyChanged).length;
    // Progress counts rows (payments) whose contracts are evaluated, so it ends at the row total.
    done += part.reduce((n, id) => n + (refsOf.get(id)?.length ?? 0), 0);
    progress('evaluating', done);
    await yieldToLoop();
  }
  await tidyAfterBulkWrite(s.database, { updated: ['audit_log', 'installments', 'contracts'], inserted: ['payments', 'policies'] });
}

/**
 * Runs one import to the end and returns its report; `report` (when given) is updated as it
 * goes, which is what a job's progress is.
 */
export async function runImport(
  s: Services,
  actor: Actor,
  kind: ImportKind,
  input: string | ParsedImport,
  opts: { dryRun?: boolean; report?: ImportReport; onProgress?(r: ImportReport): void } = {},
): Promise<ImportReport> {
  const dryRun = opts.dryRun ?? false;
  const report = opts.report ?? newReport(kind, dryRun, s.clock.now());
  const finish = (state: ImportState, message: string | null) => {
    report.state = state;
    report.phase = 'done';
    report.message = message;
    report.errors.sort((a, b) => a.line - b.line);
    report.finishedAt = s.clock.now().toISOString();
    opts.onProgress?.(report);
    return report;
  };
  if (!actor.lenderId) throw new LienError('forbidden', 'Only a lender can import sales or payments.');
  let parsed: ParsedImport;
  try {
    parsed = typeof input === 'string' ? parseImport(kind, input) : input;
  } catch (e) {
    if (e instanceof LienError && Array.isArray(e.details.errors)) {
      report.errors = e.details.errors as RowProblem[];
      return finish('rejected', e.message);
    }
    throw e;
  }
  report.total = parsed.rows.length + parsed.errors.length;
  const progress: Progress = (phase, processed) => {
    report.phase = phase;
    report.processed = processed;
    opts.onProgress?.(report);
  };
  progress('checking', 0);
  try {
    const lender = await s.db.selectFrom('lenders').selectAll().where('id', '=', actor.lenderId).executeTakeFirstOrThrow();
    await (kind === 'sales' ? importSales : importPayments)(s, actor, lender, parsed, dryRun, report, progress);
  } catch (e) {
    if (e instanceof Rejected) {
      report.errors = e.problems;
      report.written = 0;
      return finish('rejected', `${e.problems.length} row${e.problems.length === 1 ? '' : 's'} changed since they were checked (sold or posted meanwhile); nothing was imported.`);
    }
    throw e;
  }
  if (report.errors.length) {
    return finish('rejected', `${report.errors.length} bad row${report.errors.length === 1 ? '' : 's'}; nothing was imported.`);
  }
  return finish('succeeded', dryRun ? `All ${report.total} rows are good; nothing was written (dry run).` : `${report.written} ${kind === 'sales' ? 'contracts' : 'payments'} imported.`);
}

function newReport(kind: ImportKind, dryRun: boolean, now: Date): ImportReport {
  return { id: newId('imp'), kind, dryRun, state: 'running', phase: 'queued', total: 0, processed: 0, written: 0, policiesIssued: 0, errors: [], message: null, createdAt: now.toISOString(), finishedAt: null };
}

interface Job {
  lenderId: string;
  report: ImportReport;
  done: Promise<ImportReport>;
  finishedMs: number | null;
}

const registries = new WeakMap<Services, Map<string, Job>>();

function jobsOf(s: Services): Map<string, Job> {
  let jobs = registries.get(s);
  if (!jobs) registries.set(s, (jobs = new Map()));
  const cutoff = Date.now() - KEEP_FINISHED_MS;
  for (const [id, j] of jobs) if (j.finishedMs !== null && j.finishedMs < cutoff) jobs.delete(id);
  return jobs;
}

/** A running job's process writes its heartbeat this often; one silent for STALE_MS is gone. */
export const HEARTBEAT_MS = 30_000;
export const STALE_MS = 2 * 60_000;
/** Finished jobs are kept this long in import_jobs. */
export const KEEP_JOB_ROWS_MS = 30 * 86_400_000;
/** A report keeps at most this many bad rows in the database (the live one keeps all). */
const STORED_ERRORS = 1000;

async function saveReport(s: Services, r: ImportReport): Promise<void> {
  await s.db
    .updateTable('import_jobs')
    .set({
      state: r.state,
      phase: r.phase,
      total: r.total,
      processed: r.processed,
      written: r.written,
      policies_issued: r.policiesIssued,
      message: r.message,
      errors: JSON.stringify(r.errors.slice(0, STORED_ERRORS)),
      finished_at: r.finishedAt,
      heartbeat_at: s.clock.now(),
    })
    .where('id', '=', r.id)
    .execute();
}

/** Starts an import in the background and returns its job report once the job is recorded. */
export async function startImport(s: Services, actor: Actor, parsed: ParsedImport, opts: { dryRun?: boolean } = {}): Promise<{ report: ImportReport; done: Promise<ImportReport> }> {
  const lenderId = actor.lenderId;
  if (!lenderId) throw new LienError('forbidden', 'Only a lender can import sales or payments.');
  const now = s.clock.now();
  const report = newReport(parsed.kind, opts.dryRun ?? false, now);
  report.total = parsed.rows.length + parsed.errors.length;
  await s.db.deleteFrom('import_jobs').where('finished_at', '<', new Date(now.getTime() - KEEP_JOB_ROWS_MS)).execute();
  await s.db
    .insertInto('import_jobs')
    .values({ id: report.id, lender_id: lenderId, kind: report.kind, dry_run: report.dryRun, state: 'running', phase: 'queued', total: report.total, created_at: now, heartbeat_at: now })
    .execute();
  const jobs = jobsOf(s);
  const job: Job = { lenderId, report, finishedMs: null, done: Promise.resolve(report) };
  // On PostgreSQL other processes may be asked about this job: they judge it alive by its
  // heartbeat. (Embedded PGlite has one process; a job left running there is from before a crash.)
  const heartbeat =
    s.database.kind === 'postgres'
      ? setInterval(() => void s.db.updateTable('import_jobs').set({ heartbeat_at: s.clock.now(), phase: report.phase, processed: report.processed }).where('id', '=', report.id).execute().catch(() => undefined), HEARTBEAT_MS)
      : null;
  heartbeat?.unref();
  job.done = runImport(s, actor, parsed.kind, parsed, { dryRun: opts.dryRun ?? false, report })
    .catch((e: unknown) => {
      report.state = 'failed';
      report.phase = 'done';
      const written = report.written > 0 ? ` The ${report.written} ${report.kind === 'sales' ? 'contracts' : 'payments'} were written; their contracts are re-evaluated by the sweep.` : ' Nothing was imported.';
      report.message = e instanceof LienError ? e.message : `The import failed on our side; it has been logged.${written}`;
      report.finishedAt = s.clock.now().toISOString();
      if (!(e instanceof LienError)) console.error('import failed', loggableError(e));
      return report;
    })
    .then(async (r) => {
      await saveReport(s, r).catch((e: unknown) => console.error('import result not recorded', e));
      return r;
    })
    .finally(() => {
      if (heartbeat) clearInterval(heartbeat);
      job.finishedMs = Date.now();
    });
  jobs.set(report.id, job);
  return { report, done: job.done };
}

/** What a job row says, as a report; a running job whose process is gone reads as interrupted. */
function fromRow(s: Services, row: Selectable<DB['import_jobs']>): ImportReport {
  const report: ImportReport = {
    id: row.id,
    kind: row.kind as ImportKind,
    dryRun: row.dry_run,
    state: row.state as ImportState,
    phase: row.phase as ImportPhase,
    total: row.total,
    processed: row.processed,
    written: row.written,
    policiesIssued: row.policies_issued,
    errors: Array.isArray(row.errors) ? (row.errors as RowProblem[]) : [],
    message: row.message,
    createdAt: row.created_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
  const gone = s.database.kind === 'pglite' || s.clock.now().getTime() - row.heartbeat_at.getTime() > STALE_MS;
  if (report.state !== 'running' || !gone) return report;
  return { ...report, state: 'interrupted', phase: 'done', message: interruptedMessage(report), finishedAt: null };
}

export function interruptedMessage(r: Pick<ImportReport, 'kind' | 'phase' | 'written'>): string {
  const what = r.kind === 'sales' ? 'contracts' : 'payments';
  if (r.written === 0) return `The import was interrupted (the server stopped) while ${r.phase === 'queued' ? 'queued' : r.phase}. Nothing was written (an import is all or nothing): upload the file again.`;
  const after = r.kind === 'payments' ? ' The contracts they paid are re-evaluated by the sweep (at the latest when the server starts again or runs its next sweep).' : '';
  return `The import was interrupted (the server stopped) after all ${r.written} ${what} were written.${after} Do not upload the file again: its rows would be refused as already imported.`;
}

/** A job of the caller's lender; another lender's job id is not found. */
export async function getImport(s: Services, lenderId: string, id: string): Promise<ImportReport> {
  const job = jobsOf(s).get(id);
  if (job) {
    if (job.lenderId !== lenderId) throw new LienError('not_found', `No import ${id}.`, { id });
    return job.report;
  }
  const row = await s.db.selectFrom('import_jobs').selectAll().where('id', '=', id).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!row) throw new LienError('not_found', `No import ${id} (finished imports are kept for ${KEEP_JOB_ROWS_MS / 86_400_000} days).`, { id });
  return fromRow(s, row);
}
