import { randomBytes } from 'node:crypto';

// Crockford base32, lowercase: no i, l, o, u, so an id read aloud or typed from a screen survives.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A new row id, `<prefix>_<ulid>` (e.g. `dev_01jf3k…`): 48 bits of milliseconds then 80 random
 * bits. Ids sort by creation time, which keeps index inserts local and makes "newest first"
 * listings a plain ORDER BY id. The time part is for ordering only, never for business rules,
 * so it reads the real clock rather than the injected one.
 */
export function newId(prefix: string): string {
  if (!/^[a-z][a-z0-9]{1,11}$/.test(prefix)) throw new Error(`id prefix must be 2–12 lowercase letters/digits, got ${JSON.stringify(prefix)}`);
  return `${prefix}_${ulid(Date.now(), randomBytes(10))}`;
}

export function ulid(ms: number, random: Uint8Array): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  // 80 random bits → 16 characters of 5 bits each.
  let bits = 0;
  let acc = 0;
  for (const byte of random.subarray(0, 10)) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
