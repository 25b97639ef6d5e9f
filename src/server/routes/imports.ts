import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LienError } from '../../domain/errors.ts';
import { getImport, KEEP_FINISHED_MS, MAX_IMPORT_BYTES, parseImport, startImport, type ImportKind } from '../../services/bulk-import.ts';
import type { Services } from '../../services/context.ts';
import { actorOf, requireApiKey } from '../auth.ts';
import { IdParam, Instant, Nullable, doc, lenderIdOf, requireScope } from './lender/common.ts';
import { EX } from './lender/examples.ts';

const ImportReport = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('sales'), Type.Literal('payments')]),
    dryRun: Type.Boolean(),
    state: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('rejected'), Type.Literal('failed'), Type.Literal('interrupted')], {
      description: 'succeeded: written (a dry run: every row is good); rejected: bad rows, nothing written; failed: an error on our side (written says what was written); interrupted: the server running it stopped (written says what was written, message what to do)',
    }),
    phase: Type.Union([Type.Literal('queued'), Type.Literal('checking'), Type.Literal('writing'), Type.Literal('evaluating'), Type.Literal('done')]),
    total: Type.Integer({ description: 'Data rows in the file' }),
    processed: Type.Integer({ description: 'Rows through the current phase' }),
    written: Type.Integer(),
    policiesIssued: Type.Integer({ description: 'Devices that got a new signed policy' }),
    errors: Type.Array(Type.Object({ line: Type.Integer({ description: 'Line of the CSV file; the header is line 1' }), reason: Type.String() }, { additionalProperties: false })),
    message: Nullable(Type.String()),
    createdAt: Instant,
    finishedAt: Nullable(Instant),
  },
  {
    additionalProperties: false,
    title: 'ImportJob',
    description: 'An import job: its state, progress and every bad row',
    examples: [
      {
        id: EX.importId,
        kind: 'payments',
        dryRun: false,
        state: 'rejected',
        phase: 'done',
        total: 1200,
        processed: 1200,
        written: 0,
        policiesIssued: 0,
        errors: [{ line: 14, reason: 'amount "12.345": KES has 2 decimal places' }, { line: 87, reason: 'external_ref SGH7K2M9QX is already used by payment pay_01jj2m7q9r1s3t5v7w9x1y3z5a' }],
        message: '2 bad rows; nothing was written',
        createdAt: '2026-02-18T09:00:00.000Z',
        finishedAt: '2026-02-18T09:00:03.000Z',
      },
    ],
  },
);

const ImportQuery = Type.Object(
  { dryRun: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: check every row, write nothing' })) },
  { additionalProperties: false },
);

const COLUMNS: Record<ImportKind, string> = {
  sales:
    'Body: text/csv with a header. Columns imei, borrower_ref, borrower_phone, borrower_language (optional, default en), principal, annual_rate_pct, term_count, frequency (weekly|biweekly|monthly), method (flat|declining), first_due_date (YYYY-MM-DD), down_payment (optional), fee (optional, per installment), consent_at (ISO instant with zone), consent_channel, terms_version. Amounts are decimals in the lender\'s currency (e.g. 30000.00).',
  payments:
    'Body: text/csv with a header. Columns contract_id or lock_reference (one is needed), external_ref (unique per lender), channel, amount (decimal in the currency, e.g. 2500.00), currency (ISO 4217), received_at (ISO instant with zone).',
};

const CSV_EXAMPLE: Record<ImportKind, string> = {
  sales: [
    'imei,borrower_ref,borrower_phone,borrower_language,principal,annual_rate_pct,term_count,frequency,method,first_due_date,consent_at,consent_channel,terms_version',
    `${EX.imei},CUST-10442,+254712345678,sw,30000.00,0,3,monthly,flat,2026-02-05,${EX.soldAt},in_store_signature,v3`,
  ].join('\n'),
  payments: ['contract_id,external_ref,channel,amount,currency,received_at', `${EX.contractId},SGH7K2M9QX,mpesa,10000.00,KES,${EX.paidAt}`].join('\n'),
};

/**
 * CSV imports (issue #5): POST starts a job and answers 202 with it; GET polls it. Up to 100,000
 * rows and 64 MB a file; any bad row rejects the whole file, listing every bad row by line.
 */
export async function importRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const authenticate = requireApiKey(s, 'lender');
  /**
   * On PGlite a running import holds the one database session for its whole write, so a poll
   * that looked its API key up would wait for the import it asks about. The key that started a
   * job is remembered (as a hash) with the job, and polling that job with that key needs no
   * database; any other request authenticates as usual.
   */
  const owners = new Map<string, { keyHash: string; actor: NonNullable<FastifyRequest['actor']> }>();
  const keyHash = (req: FastifyRequest) => createHash('sha256').update(req.headers.authorization ?? '').digest('hex');
  r.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: MAX_IMPORT_BYTES }, (_req, body, done) => done(null, body));
  // Anything but CSV (JSON has its own parser and is refused in the handler) gets one clear answer.
  r.addContentTypeParser('*', { bodyLimit: 1024 }, (_req, _payload, done) => done(new LienError('invalid_input', 'Send the file with Content-Type: text/csv.'), undefined));

  for (const kind of ['sales', 'payments'] as const) {
    r.post(`/v1/imports/${kind}`, {
      onRequest: [authenticate, requireScope('write')],
      schema: {
        ...doc(kind === 'sales' ? 'importSales' : 'importPayments', 'imports', kind === 'sales' ? 'Import sales on credit (contracts) from CSV' : 'Import payments from CSV', 'write', { 202: ImportReport }),
        description: `${COLUMNS[kind]} All or nothing: any bad row and nothing is written. Poll GET /v1/imports/{id} for progress and the list of bad rows. Needs an API key with the "write" scope.`,
        querystring: ImportQuery,
        body: { content: { 'text/csv': { schema: Type.String({ title: kind === 'sales' ? 'SalesCsv' : 'PaymentsCsv', description: 'The file, with a header line', examples: [CSV_EXAMPLE[kind]] }) } } },
      },
    }, async (req, reply) => {
      if (typeof req.body !== 'string') throw new LienError('invalid_input', 'Send the file with Content-Type: text/csv.');
      const parsed = parseImport(kind, req.body);
      const { report, done } = await startImport(s, actorOf(req), parsed, { dryRun: req.query.dryRun === 'true' });
      owners.set(report.id, { keyHash: keyHash(req), actor: actorOf(req) });
      // Kept as long as the job itself (an hour after it finishes).
      void done.then(() => setTimeout(() => owners.delete(report.id), KEEP_FINISHED_MS).unref());
      return reply.status(202).header('location', `/v1/imports/${report.id}`).send(report);
    });
  }

  r.get('/v1/imports/:id', {
    onRequest: [
      async (req, reply) => {
        const owner = owners.get((req.params as { id: string }).id);
        if (owner && owner.keyHash === keyHash(req)) req.actor = owner.actor;
        else await authenticate(req, reply);
      },
      requireScope('read'),
    ],
    schema: { ...doc('getImport', 'imports', 'Progress and result of an import', 'read', { 200: ImportReport }), params: IdParam },
  }, async (req) => getImport(s, lenderIdOf(req), req.params.id));
}


