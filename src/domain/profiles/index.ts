/**
 * Profiles shipped with Lien, kept as JSON so lenders can copy one as the start of their own.
 * They go through the same validation as a lender's profile: a shipped profile that broke a
 * guardrail would fail at import, not in front of a borrower.
 */
import { validateProfile, type ComplianceProfile } from '../compliance.ts';
import { LienError } from '../errors.ts';
import retailShortCycle from './retail-short-cycle.json' with { type: 'json' };
import india2026Draft from './india-2026-draft.json' with { type: 'json' };

/**
 * Short-cycle retail credit: remind 3 and 1 days before due, one notice at 1 DPD with 2 days to
 * cure, restricted from 3 DPD, locked from 5 DPD, one day of grace.
 */
export const RETAIL_SHORT_CYCLE: ComplianceProfile = validateProfile(retailShortCycle);

/**
 * Modelled on India's 2026 draft directions: first notice at 60 DPD with 21 days to cure; when
 * they run out (81 DPD at the earliest) a second notice gives 7 more days; no restricted stage;
 * locking only from 90 DPD; a device may stay offline 30 days before it locks on its own.
 */
export const INDIA_2026_DRAFT: ComplianceProfile = validateProfile(india2026Draft);

export const SHIPPED_PROFILES: readonly ComplianceProfile[] = Object.freeze([
  RETAIL_SHORT_CYCLE,
  INDIA_2026_DRAFT,
]);

export function shippedProfile(id: string): ComplianceProfile {
  const profile = SHIPPED_PROFILES.find((p) => p.id === id);
  if (!profile) {
    throw new LienError('not_found', `no shipped compliance profile "${id}" (shipped: ${SHIPPED_PROFILES.map((p) => p.id).join(', ')})`, { id });
  }
  return profile;
}
