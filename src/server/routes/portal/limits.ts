/** The portal's rate limits: per client address and per IMEI, counted in the database. */
import type { Services } from '../../../services/context.ts';
import { recordAudit } from '../../../services/unit-of-work.ts';
import { portalActor } from '../../../services/portal.ts';
import { hitAll, pruneRateLimits, type RateDecision, type RateRule } from '../../../services/rate-limit.ts';

export interface PortalLimits {
  /** Lookups, lien checks and claim status checks from one address. */
  perIp: RateRule;
  /** Lookups and lien checks naming one IMEI, from anywhere: guessing one phone's reference. */
  perImei: RateRule;
  /** Claims filed from one address. */
  claimsPerIp: RateRule;
}

export const DEFAULT_LIMITS: PortalLimits = {
  perIp: { name: 'portal-ip', limit: 30, windowSec: 15 * 60 },
  perImei: { name: 'portal-imei', limit: 10, windowSec: 60 * 60 },
  claimsPerIp: { name: 'portal-claim-ip', limit: 5, windowSec: 60 * 60 },
};

const PRUNE_EVERY_MS = 60 * 60_000;

export class PortalLimiter {
  private lastPrune = 0;

  constructor(
    private readonly s: Services,
    readonly limits: PortalLimits,
  ) {}

  /** Counts the request against the rules that apply; a refusal is audited in the platform chain. */
  async check(ip: string, what: string, opts: { imei?: string | null; claim?: boolean } = {}): Promise<RateDecision> {
    const now = this.s.clock.now();
    if (now.getTime() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now.getTime();
      const longest = Math.max(this.limits.perIp.windowSec, this.limits.perImei.windowSec, this.limits.claimsPerIp.windowSec);
      await pruneRateLimits(this.s.db, new Date(now.getTime() - longest * 1000));
    }
    const checks = [{ rule: opts.claim ? this.limits.claimsPerIp : this.limits.perIp, subject: ip }];
    if (opts.imei) checks.push({ rule: this.limits.perImei, subject: opts.imei });
    const d = await hitAll(this.s.db, checks, now);
    if (!d.allowed) {
      await recordAudit(this.s, portalActor(ip), {
        action: 'portal.rate_limited',
        subjectType: 'portal',
        subjectId: what,
        lenderId: null,
        reason: `${what} refused: too many requests`,
        data: { imei: opts.imei ?? null, retryAfterSec: d.retryAfterSec },
      });
    }
    return d;
  }
}
