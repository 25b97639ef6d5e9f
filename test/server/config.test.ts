import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.ts';

const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;

describe('configuration', () => {
  it('checks in every 6 hours by default and accepts up to a day', () => {
    expect(loadConfig(env({})).checkinIntervalSec).toBe(21_600);
    expect(loadConfig(env({ LIEN_CHECKIN_INTERVAL: '86400' })).checkinIntervalSec).toBe(86_400);
    expect(loadConfig(env({ LIEN_CHECKIN_INTERVAL: '60' })).checkinIntervalSec).toBe(60);
  });

  it('refuses a check-in interval a phone could not renew its offline deadline in, with a clear message', () => {
    // Renewal starts half the offline window (≥ 3.5 days) before the deadline: several check-ins must fall in it.
    expect(() => loadConfig(env({ LIEN_CHECKIN_INTERVAL: '86401' }))).toThrow('LIEN_CHECKIN_INTERVAL must be at most 86400 (a day), got "86401"');
    expect(() => loadConfig(env({ LIEN_CHECKIN_INTERVAL: '0' }))).toThrow('LIEN_CHECKIN_INTERVAL must be at least 1, got "0"');
    expect(() => loadConfig(env({ LIEN_CHECKIN_INTERVAL: '6h' }))).toThrow('LIEN_CHECKIN_INTERVAL must be a whole number ≥ 0, got "6h"');
  });
});
