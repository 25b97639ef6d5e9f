import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The audit chaining trigger (0001) updated the chain's head row once per entry. Every update of
 * one row inside one transaction leaves a dead version that later reads in the same transaction
 * step over, so chaining n entries at commit cost O(n²): 5,000 entries took ~1 s, 20,000 ~10 s,
 * and a 100,000-row import could not commit in any useful time.
 *
 * Same chain, same hashes, same locks (heads taken in chain order before any entry is chained);
 * only the bookkeeping moves: each head is read once, carried in a variable while the entries
 * are chained in seq order, and written back once per chain.
 */
const chainFunction = `CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    r audit_log%ROWTYPE;
    h audit_head%ROWTYPE;
    heads jsonb := '{}';
    head jsonb;
    v_pos bigint;
    v_prev text;
    v_hash text;
    k text;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash IS NULL) THEN
      RETURN NULL; -- chained already, together with an earlier entry of this transaction
    END IF;
    INSERT INTO audit_head (chain, last_pos, last_seq, last_hash)
      SELECT DISTINCT u.chain, 0, 0, '' FROM audit_log u WHERE u.hash IS NULL ORDER BY 1
      ON CONFLICT (chain) DO NOTHING;
    FOR h IN SELECT * FROM audit_head WHERE chain IN (SELECT u.chain FROM audit_log u WHERE u.hash IS NULL) ORDER BY chain FOR UPDATE LOOP
      heads := heads || jsonb_build_object(h.chain, jsonb_build_array(h.last_pos, h.last_hash, h.last_seq));
    END LOOP;
    FOR r IN SELECT * FROM audit_log WHERE hash IS NULL ORDER BY seq LOOP
      head := heads -> r.chain;
      v_pos := (head ->> 0)::bigint + 1;
      v_prev := head ->> 1;
      v_hash := audit_hash(v_prev, r, v_pos);
      UPDATE audit_log SET chain_pos = v_pos, prev_hash = v_prev, hash = v_hash WHERE seq = r.seq;
      heads := jsonb_set(heads, ARRAY[r.chain], jsonb_build_array(v_pos, v_hash, r.seq));
    END LOOP;
    FOR k, head IN SELECT * FROM jsonb_each(heads) LOOP
      UPDATE audit_head SET last_pos = (head ->> 0)::bigint, last_hash = head ->> 1, last_seq = (head ->> 2)::bigint
        WHERE chain = k AND last_pos <> (head ->> 0)::bigint;
    END LOOP;
    RETURN NULL;
  END
  $$`;

export const auditChainBatch: Migration = {
  async up(db: Kysely<unknown>) {
    await sql.raw(chainFunction).execute(db);
  },
};
