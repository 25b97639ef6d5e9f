import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Import jobs outlive the process that runs them (issue #12 L4): a job killed with its server
 * used to vanish ("kept for an hour after they finish"), leaving the lender to guess whether its
 * file was written. The row records the job's progress: `written` is set in the transaction that
 * writes the rows, so it is exact whatever happens after. A job still 'running' whose process is
 * gone (its heartbeat stopped; on embedded PGlite, any at start-up) reads as 'interrupted'.
 */
export const importJobs: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE import_jobs (
      id text PRIMARY KEY,
      lender_id text NOT NULL REFERENCES lenders (id),
      kind text NOT NULL,
      dry_run boolean NOT NULL,
      state text NOT NULL,
      phase text NOT NULL,
      total integer NOT NULL DEFAULT 0,
      processed integer NOT NULL DEFAULT 0,
      written integer NOT NULL DEFAULT 0,
      policies_issued integer NOT NULL DEFAULT 0,
      message text,
      errors jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL,
      finished_at timestamptz,
      heartbeat_at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX import_jobs_running ON import_jobs (heartbeat_at) WHERE state = 'running'`.execute(db);
  },
};
