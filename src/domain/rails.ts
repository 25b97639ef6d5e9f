/**
 * What the payment rails share that is pure: how a borrower's typed account reference is
 * compared, and Safaricom's timestamps.
 */

/**
 * An account reference as borrowers type it into a paybill prompt ("ab 12 cd34", "AB12CD34"):
 * compared without case and without spaces.
 */
export function normalizeReference(text: string): string {
  return text.replace(/\s+/g, '').toUpperCase();
}

/** Kenya and Tanzania keep East Africa Time (UTC+3) all year: no daylight saving to allow for. */
const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;

/**
 * Daraja's `TransTime`, `YYYYMMDDHHmmss` in East Africa Time, as an instant; null when it is not
 * a real date and time of day (Safaricom's own format, so anything else is a malformed callback).
 */
export function parseDarajaTime(text: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(utc);
  // Date.UTC rolls 31 February over into March; a real timestamp comes back unchanged.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    return null;
  }
  return new Date(utc - EAT_OFFSET_MS);
}

/** The inverse of parseDarajaTime (fixtures, the benchmark and tests write callbacks with it). */
export function formatDarajaTime(at: Date): string {
  const eat = new Date(at.getTime() + EAT_OFFSET_MS).toISOString();
  return eat.slice(0, 19).replace(/[-T:]/g, '');
}
