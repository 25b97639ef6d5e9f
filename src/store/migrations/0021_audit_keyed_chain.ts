import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The audit chain gets a key (issue #12 L6). Until now an entry's hash was sha256 over its
 * predecessor's hash and its content, so anyone able to write the table could rewrite an entry
 * and recompute every later hash with the database's own audit_hash(); `lien audit verify` then
 * passed. Now the hash is HMAC-SHA256 under a key derived from the master key, which the
 * database never stores: each Lien connection sets it for its session (Database.setAuditKey),
 * as the HMAC's inner and outer padded keys in hex (`lien.audit_key`, 256 characters), and
 * audit_hash() refuses to run without it. Same message as before, same chaining trigger.
 *
 * Entries chained before this migration carry unkeyed hashes: audit_rekey.pending says so, and
 * the first server start with the key re-chains them (after checking the old chain still holds;
 * see store/repos/audit.ts rekeyAudit). The old function stays as audit_hash_unkeyed for that check.
 */
const MESSAGE = `prev || E'\\n' || jsonb_build_object(
      'seq', a.seq,
      'pos', pos,
      'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'actor', a.actor,
      'action', a.action,
      'subject_type', a.subject_type,
      'subject_id', a.subject_id,
      'lender_id', a.lender_id,
      'reason', a.reason,
      'data', a.data
    )::text`;

export const auditKeyedChain: Migration = {
  async up(db: Kysely<unknown>) {
    await sql
      .raw(
        `CREATE FUNCTION audit_hash_unkeyed(prev text, a audit_log, pos bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(${MESSAGE}, 'UTF8')), 'hex')
  $$`,
      )
      .execute(db);
    await sql
      .raw(
        `CREATE OR REPLACE FUNCTION audit_hash(prev text, a audit_log, pos bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
  DECLARE
    k text := current_setting('lien.audit_key', true);
  BEGIN
    IF k IS NULL OR length(k) <> 256 THEN
      RAISE EXCEPTION 'the audit key is not set on this connection: audit entries are chained and verified only by Lien'
        USING HINT = 'Lien sets it from LIEN_MASTER_KEY; the database never stores it.';
    END IF;
    RETURN encode(sha256(decode(substr(k, 129, 128), 'hex') || sha256(decode(substr(k, 1, 128), 'hex') || convert_to(${MESSAGE}, 'UTF8'))), 'hex');
  END
  $$`,
      )
      .execute(db);
    await sql`CREATE TABLE audit_rekey (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), pending boolean NOT NULL)`.execute(db);
    await sql`INSERT INTO audit_rekey (pending) SELECT EXISTS (SELECT 1 FROM audit_log)`.execute(db);
  },
};
