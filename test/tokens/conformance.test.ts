import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, keyFromHex, type TokenType } from '../../src/tokens/index.ts';
import { hashToStandardCode, STANDARD } from '../../src/tokens/format.ts';
import { sipHash24 } from '../../src/tokens/siphash.ts';

interface Vector {
  serial_number: string;
  starting_code: number;
  key: string;
  count: number;
  token_type: TokenType;
  value_raw: number | null;
  restricted_digit_set: boolean;
  extended_token: boolean;
  new_count: number;
  token: string;
}

const VECTORS_FILE = new URL('../fixtures/openpaygo/test_tokens.jsonl', import.meta.url);
const vectors: Vector[] = readFileSync(VECTORS_FILE, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Vector);

const label = (v: Vector) =>
  `${v.serial_number} count ${v.count} ${v.token_type} ${v.value_raw ?? '-'}` +
  `${v.restricted_digit_set ? ' restricted' : ''}${v.extended_token ? ' extended' : ''}`;

describe('OpenPAYGO conformance vectors', () => {
  it('holds all 80 vectors of the reference file', () => {
    expect(vectors).toHaveLength(80);
  });

  describe.each(vectors.map((v) => [label(v), v] as const))('%s', (_name, v) => {
    const key = keyFromHex(v.key);

    it(`encodes to ${v.token}`, () => {
      const out = encodeToken({
        key,
        startingCode: v.starting_code,
        count: v.count,
        type: v.token_type,
        value: v.value_raw ?? undefined,
        restrictedDigitSet: v.restricted_digit_set,
        extended: v.extended_token,
      });
      expect(out).toEqual({ token: v.token, newCount: v.new_count });
    });

    it('decodes back to its type, value and count', () => {
      const out = decodeToken({
        token: v.token,
        key,
        startingCode: v.starting_code,
        lastCount: v.count,
        usedCounts: [],
        restrictedDigitSet: v.restricted_digit_set,
        extended: v.extended_token,
      });
      expect(out).toMatchObject({ ok: true, type: v.token_type, value: v.value_raw, count: v.new_count });
    });

    it('is told apart from the other layout by its length alone', () => {
      const out = decodeToken({
        token: v.token,
        key,
        startingCode: v.starting_code,
        lastCount: v.count,
        usedCounts: [],
        restrictedDigitSet: v.restricted_digit_set,
      });
      expect(out).toMatchObject({ ok: true, type: v.token_type, count: v.new_count });
    });
  });
});

describe('chain steps asserted by OpenPAYGO-go', () => {
  const key = keyFromHex('bc41ec9530f6dac86b1a29ab82edc5fb');

  it('folds hash("hello world") to the same 9-digit code', () => {
    expect(hashToStandardCode(sipHash24(key, new TextEncoder().encode('hello world')))).toBe(184900559);
  });

  it('steps from starting code 516959010 to the same next code', () => {
    expect(STANDARD.nextCode(516959010, key)).toBe(117642353);
  });
});
