import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LienError } from '../../src/domain/errors.ts';
import { canonicalJson } from '../../src/protocol/index.ts';
import { reverseKeys } from './fixtures.ts';

function fromIeeeHex(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('reproduces the RFC §3.2.2 / Appendix sample: literals, numbers and string escaping', () => {
    // The RFC's input text, parsed as any JSON parser would.
    const input = JSON.parse(
      String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
    );
    expect(canonicalJson(input)).toBe(String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`);
  });

  it('sorts keys by UTF-16 code units, not by code point or locale (RFC §3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // U+1F600 is the surrogate pair D83D DE00, so it sorts before U+FB33 although its code point is higher.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts nested objects and leaves array order alone', () => {
    expect(canonicalJson({ b: [3, 1, 2], a: { d: 1, c: { f: 1, e: 2 } } })).toBe('{"a":{"c":{"e":2,"f":1},"d":1},"b":[3,1,2]}');
  });

  it('formats every Appendix B number as the RFC lists it', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [hex, text] of vectors) expect(canonicalJson([fromIeeeHex(hex)]), hex).toBe(`[${text}]`);
  });

  it('refuses what JSON cannot carry, naming the field', () => {
    const refusal = (v: unknown) => {
      try {
        canonicalJson(v);
      } catch (e) {
        expect(e).toBeInstanceOf(LienError);
        return `${(e as LienError).code}: ${(e as Error).message}`;
      }
      throw new Error('accepted');
    };
    expect(refusal({ a: { b: undefined } })).toMatch(/^invalid_input: a\.b is undefined/);
    expect(refusal({ n: Number.NaN })).toMatch(/n is not a finite number/);
    expect(refusal([1, Number.POSITIVE_INFINITY])).toMatch(/\[1\] is not a finite number/);
    expect(refusal({ at: new Date(0) })).toMatch(/at is a Date/);
    expect(refusal({ m: new Map() })).toMatch(/m is a Map/);
    expect(refusal({ big: 1n })).toMatch(/big is a bigint/);
    expect(refusal({ f: () => 1 })).toMatch(/f is a function/);
    expect(refusal({ s: 'x\ud800y' })).toMatch(/s contains an unpaired UTF-16 surrogate/);
    expect(refusal({ ['\udc00']: 1 })).toMatch(/unpaired/);
    expect(refusal([1, , 3])).toMatch(/\[1\] is a hole/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(refusal(loop)).toMatch(/self refers back to itself/);
  });

  it('accepts null-prototype objects and shared (non-circular) references', () => {
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    const shared = { x: 1 };
    expect(canonicalJson({ bare, p: shared, q: shared })).toBe('{"bare":{"a":2,"b":1},"p":{"x":1},"q":{"x":1}}');
  });

  it('gives one text per JSON value: key order does not matter, and it is a fixed point', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(reverseKeys(value))).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});
