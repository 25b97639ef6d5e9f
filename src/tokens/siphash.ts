/**
 * SipHash-2-4 (Aumasson & Bernstein), the keyed hash OpenPAYGO Token chains on.
 *
 * 64-bit lanes are kept as two unsigned 32-bit halves so the hot loop of the decoder never
 * allocates BigInts; the whole module is plain arithmetic and runs unchanged on phones.
 */

/** A 64-bit hash result as [high 32 bits, low 32 bits], both unsigned. */
export type Hash64 = readonly [hi: number, lo: number];

// State layout: v0..v3, each as [hi, lo] → indexes 0..7.
const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function add(v: Uint32Array, a: number, b: number): void {
  const lo = (v[a + 1]! + v[b + 1]!) >>> 0;
  const carry = lo < v[a + 1]! ? 1 : 0;
  v[a] = (v[a]! + v[b]! + carry) >>> 0;
  v[a + 1] = lo;
}

function xor(v: Uint32Array, a: number, b: number): void {
  v[a] = (v[a]! ^ v[b]!) >>> 0;
  v[a + 1] = (v[a + 1]! ^ v[b + 1]!) >>> 0;
}

/** Rotate left by 0 < bits < 32. */
function rotl(v: Uint32Array, a: number, bits: number): void {
  const hi = v[a]!;
  const lo = v[a + 1]!;
  v[a] = ((hi << bits) | (lo >>> (32 - bits))) >>> 0;
  v[a + 1] = ((lo << bits) | (hi >>> (32 - bits))) >>> 0;
}

function rotl32(v: Uint32Array, a: number): void {
  const hi = v[a]!;
  v[a] = v[a + 1]!;
  v[a + 1] = hi;
}

function sipRound(v: Uint32Array): void {
  add(v, V0, V1);
  rotl(v, V1, 13);
  xor(v, V1, V0);
  rotl32(v, V0);
  add(v, V2, V3);
  rotl(v, V3, 16);
  xor(v, V3, V2);
  add(v, V0, V3);
  rotl(v, V3, 21);
  xor(v, V3, V0);
  add(v, V2, V1);
  rotl(v, V1, 17);
  xor(v, V1, V2);
  rotl32(v, V2);
}

function readLe32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function compress(v: Uint32Array, mHi: number, mLo: number): void {
  v[V3] = (v[V3]! ^ mHi) >>> 0;
  v[V3 + 1] = (v[V3 + 1]! ^ mLo) >>> 0;
  sipRound(v);
  sipRound(v);
  v[V0] = (v[V0]! ^ mHi) >>> 0;
  v[V0 + 1] = (v[V0 + 1]! ^ mLo) >>> 0;
}

/** SipHash-2-4 of `message` under a 16-byte key; the result is the u64 value (not its LE bytes). */
export function sipHash24(key: Uint8Array, message: Uint8Array): Hash64 {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  const k0lo = readLe32(key, 0);
  const k0hi = readLe32(key, 4);
  const k1lo = readLe32(key, 8);
  const k1hi = readLe32(key, 12);
  const v = new Uint32Array([
    (k0hi ^ 0x736f6d65) >>> 0, (k0lo ^ 0x70736575) >>> 0,
    (k1hi ^ 0x646f7261) >>> 0, (k1lo ^ 0x6e646f6d) >>> 0,
    (k0hi ^ 0x6c796765) >>> 0, (k0lo ^ 0x6e657261) >>> 0,
    (k1hi ^ 0x74656462) >>> 0, (k1lo ^ 0x79746573) >>> 0,
  ]);

  const length = message.length;
  const fullBlocksEnd = length - (length % 8);
  for (let at = 0; at < fullBlocksEnd; at += 8) {
    compress(v, readLe32(message, at + 4), readLe32(message, at));
  }

  // Last block: the remaining bytes little-endian, message length (mod 256) in the top byte.
  const tail = new Uint8Array(8);
  tail.set(message.subarray(fullBlocksEnd));
  tail[7] = length & 0xff;
  compress(v, readLe32(tail, 4), readLe32(tail, 0));

  v[V2 + 1] = (v[V2 + 1]! ^ 0xff) >>> 0;
  sipRound(v);
  sipRound(v);
  sipRound(v);
  sipRound(v);
  return [
    (v[V0]! ^ v[V1]! ^ v[V2]! ^ v[V3]!) >>> 0,
    (v[V0 + 1]! ^ v[V1 + 1]! ^ v[V2 + 1]! ^ v[V3 + 1]!) >>> 0,
  ];
}
