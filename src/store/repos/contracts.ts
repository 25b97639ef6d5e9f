import { sql, type Kysely } from 'kysely';
import type { DB, Installment } from '../schema.ts';

type InstallmentTuple = [number, string, number, number, number, number, number, number, number, number];

/**
 * The installments of many contracts, by contract id, in due order. Read as one JSON array per
 * contract: on PGlite, decoding a result costs about 2 µs a field in JavaScript, so 6 rows of 11
 * columns per contract took 6× as long as this (2.5 s against 0.41 s for 20,000 contracts).
 */
export async function installmentsByContract(db: Kysely<DB>, contractIds: readonly string[]): Promise<Map<string, Installment[]>> {
  const out = new Map<string, Installment[]>();
  if (contractIds.length === 0) return out;
  const { rows } = await sql<{ contract_id: string; rows: InstallmentTuple[] }>`
    SELECT contract_id, json_agg(json_build_array(n, due_date, principal, interest, fee, penalty, paid_principal, paid_interest, paid_fee, paid_penalty) ORDER BY n) AS rows
    FROM installments WHERE contract_id = ANY(${contractIds}::text[]) GROUP BY contract_id`.execute(db);
  for (const r of rows) {
    out.set(
      r.contract_id,
      r.rows.map(([n, due_date, principal, interest, fee, penalty, paid_principal, paid_interest, paid_fee, paid_penalty]) => ({
        contract_id: r.contract_id, n, due_date, principal, interest, fee, penalty, paid_principal, paid_interest, paid_fee, paid_penalty,
      })),
    );
  }
  return out;
}
