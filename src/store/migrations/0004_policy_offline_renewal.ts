import { sql, type Kysely, type Migration } from 'kysely';

/**
 * When a policy's offline deadline is due for renewal (half the profile's offline window before
 * it), kept beside the policy: the check-in that renews it knows the policy but not the profile.
 * Null when the policy carries no offline deadline.
 */
export const policyOfflineRenewal: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE policies ADD COLUMN offline_renew_at timestamptz`.execute(db);
    await sql`
      UPDATE policies p
      SET offline_renew_at = (p.body->'policy'->>'offlineLockAt')::timestamptz
        - (l.compliance_profile->>'offlineLockDays')::int * interval '12 hours'
      FROM devices d JOIN lenders l ON l.id = d.lender_id
      WHERE d.id = p.device_id AND p.body->'policy'->>'offlineLockAt' IS NOT NULL
    `.execute(db);
  },
};
