import type { ComplianceProfile } from '../../src/domain/compliance.ts';
import type { StageInput } from '../../src/domain/stage.ts';

/**
 * A baseline input: active contract, consent on file, nothing open, fresh feed, UTC. Scenarios
 * override what they are about; dates and DPD are written out by hand in each test.
 */
export function input(profile: ComplianceProfile, over: Partial<StageInput> = {}): StageInput {
  return {
    now: '2026-03-01T09:00:00Z',
    contractStatus: 'active',
    consentRecorded: true,
    daysPastDue: 0,
    overdueSince: null,
    nextDueDate: null,
    businessDate: '2026-03-01',
    openDispute: false,
    openClaim: false,
    noticesShown: [],
    paymentFeedStale: false,
    manual: null,
    currentStage: 'current',
    profile,
    timeZone: 'UTC',
    ...over,
  };
}
