import { describe, expect, it } from 'vitest';
import {
  validateBoolean,
  validateBuffer,
  validateBufferArray,
  validateFd,
  validateFlags,
  validateInteger,
  validateOneOf,
  validateOptions,
  validatePath,
  validateSignal,
  validateTimeout,
  validateFunction,
  validatePosition,
  validateRange,
  validateString,
} from '../lib/validate.js';

type Code = 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';
/** `null` means "accepted"; otherwise the code and, optionally, the exact message. */
type Outcome = null | Code | [Code, string];

function outcome(fn: () => unknown): { code: string; message: string; error: unknown } | null {
  try {
    fn();
    return null;
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message, error };
  }
}

function expectOutcome(fn: () => unknown, expected: Outcome): void {
  const got = outcome(fn);
  if (expected === null) {
    expect(got?.message ?? null).toBeNull();
    return;
  }
  const [code, message] = typeof expected === 'string' ? [expected, undefined] : expected;
  expect(got, `expected ${code}`).not.toBeNull();
  expect(got!.code).toBe(code);
  expect(got!.error).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
  if (message !== undefined) expect(got!.message).toBe(message);
}

const show = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? '[]' : String(v));

// The table every numeric validator is run against.
const edges: [string, unknown][] = [
  ['-1', -1],
  ['NaN', NaN],
  ['1.5', 1.5],
  ['2**31', 2 ** 31],
  ['2**53', 2 ** 53],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-0', -0],
  ['0', 0],
  ['2**31-1', 2 ** 31 - 1],
  ['bigint 1n', 1n],
  ['null', null],
  ['undefined', undefined],
  ["''", ''],
  ['{}', {}],
  ['[]', []],
  ['true', true],
];

describe('validateFd', () => {
  const expected: Record<string, Outcome> = {
    '-1': ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received -1'],
    NaN: ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be an integer. Received NaN'],
    '1.5': ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be an integer. Received 1.5'],
    '2**31': ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received 2147483648'],
    '2**53': ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received 9_007_199_254_740_992'],
    Infinity: ['ERR_OUT_OF_RANGE', 'The value of "fd" is out of range. It must be an integer. Received Infinity'],
    '-Infinity': 'ERR_OUT_OF_RANGE',
    '-0': null,
    '0': null,
    '2**31-1': null,
    'bigint 1n': ['ERR_INVALID_ARG_TYPE', 'The "fd" argument must be of type number. Received type bigint (1n)'],
    null: ['ERR_INVALID_ARG_TYPE', 'The "fd" argument must be of type number. Received null'],
    undefined: ['ERR_INVALID_ARG_TYPE', 'The "fd" argument must be of type number. Received undefined'],
    "''": ['ERR_INVALID_ARG_TYPE', `The "fd" argument must be of type number. Received type string ('')`],
    '{}': ['ERR_INVALID_ARG_TYPE', 'The "fd" argument must be of type number. Received an instance of Object'],
    '[]': ['ERR_INVALID_ARG_TYPE', 'The "fd" argument must be of type number. Received an instance of Array'],
    true: 'ERR_INVALID_ARG_TYPE',
  };

  it.each(edges)('%s', (label, value) => {
    expectOutcome(() => validateFd(value), expected[label]!);
  });

  it('names the argument it is given', () => {
    expectOutcome(() => validateFd(-1, 'listener'), ['ERR_OUT_OF_RANGE', 'The value of "listener" is out of range. It must be >= 0 && <= 2147483647. Received -1']);
  });
});

describe('validateInteger', () => {
  it.each(edges)('%s, with the default (safe integer) bounds', (_, value) => {
    const ok = typeof value === 'number' && Number.isSafeInteger(value);
    const type = typeof value !== 'number';
    expectOutcome(() => validateInteger(value, 'n'), ok ? null : type ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
  });

  it('checks the bounds it is given, inclusively, in Node words', () => {
    expectOutcome(() => validateInteger(0, 'n', 0, 10), null);
    expectOutcome(() => validateInteger(10, 'n', 0, 10), null);
    expectOutcome(() => validateInteger(11, 'n', 0, 10), ['ERR_OUT_OF_RANGE', 'The value of "n" is out of range. It must be >= 0 && <= 10. Received 11']);
    expectOutcome(() => validateInteger(-1, 'n', 0, 10), ['ERR_OUT_OF_RANGE', 'The value of "n" is out of range. It must be >= 0 && <= 10. Received -1']);
    expectOutcome(() => validateInteger(2 ** 53, 'n'), [
      'ERR_OUT_OF_RANGE',
      'The value of "n" is out of range. It must be >= -9007199254740991 && <= 9007199254740991. Received 9_007_199_254_740_992',
    ]);
    expectOutcome(() => validateInteger(0.5, 'n', 0, 10), ['ERR_OUT_OF_RANGE', 'The value of "n" is out of range. It must be an integer. Received 0.5']);
    expectOutcome(() => validateInteger('1', 'options.mode'), ['ERR_INVALID_ARG_TYPE', `The "options.mode" property must be of type number. Received type string ('1')`]);
  });
});

describe('validateRange', () => {
  // A pooled Buffer: a small view into Node's shared 8 KiB pool, at a non-zero offset.
  Buffer.from('warm the pool');
  const pooled = Buffer.from('abcdef').subarray(2, 5);

  it('sees a pooled Buffer slice as 3 bytes, whatever lies around it', () => {
    expect(pooled.toString()).toBe('cde');
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(pooled.buffer.byteLength).toBeGreaterThan(3);
  });

  const cases: [string, ArrayBufferView, unknown, unknown, number | Outcome][] = [
    ['whole pooled slice', pooled, 0, undefined, 3],
    ['offset at the end', pooled, 3, undefined, 0],
    ['offset 1, rest', pooled, 1, undefined, 2],
    ['offset 1, length 2', pooled, 1, 2, 2],
    ['offset 0, length 0', pooled, 0, 0, 0],
    ['offset past the end', pooled, 4, undefined, ['ERR_OUT_OF_RANGE', 'The value of "offset" is out of range. It must be >= 0 && <= 3. Received 4']],
    ['offset far past the end (inside the pool)', pooled, 100, 1, 'ERR_OUT_OF_RANGE'],
    ['length past the end', pooled, 1, 3, ['ERR_OUT_OF_RANGE', 'The value of "length" is out of range. It must be >= 0 && <= 2. Received 3']],
    ['length past the end from 0', pooled, 0, 4, 'ERR_OUT_OF_RANGE'],
    ['negative offset', pooled, -1, undefined, ['ERR_OUT_OF_RANGE', 'The value of "offset" is out of range. It must be >= 0 && <= 3. Received -1']],
    ['fractional offset', pooled, 1.5, undefined, ['ERR_OUT_OF_RANGE', 'The value of "offset" is out of range. It must be an integer. Received 1.5']],
    ['NaN offset', pooled, NaN, undefined, 'ERR_OUT_OF_RANGE'],
    ['string offset', pooled, '1', undefined, ['ERR_INVALID_ARG_TYPE', `The "offset" argument must be of type number. Received type string ('1')`]],
    ['null offset', pooled, null, undefined, 'ERR_INVALID_ARG_TYPE'],
    ['bigint offset', pooled, 1n, undefined, 'ERR_INVALID_ARG_TYPE'],
    ['negative length', pooled, 0, -1, ['ERR_OUT_OF_RANGE', 'The value of "length" is out of range. It must be >= 0 && <= 3. Received -1']],
    ['fractional length', pooled, 0, 0.5, ['ERR_OUT_OF_RANGE', 'The value of "length" is out of range. It must be an integer. Received 0.5']],
    ['Infinity length', pooled, 0, Infinity, 'ERR_OUT_OF_RANGE'],
    ['string length', pooled, 0, '2', 'ERR_INVALID_ARG_TYPE'],
    ['null length', pooled, 0, null, 'ERR_INVALID_ARG_TYPE'],
    // Offsets and lengths count bytes, not elements.
    ['Float64Array, whole', new Float64Array(2), 0, undefined, 16],
    ['Float64Array, second element', new Float64Array(2), 8, 8, 8],
    ['Float64Array, offset in bytes past the end', new Float64Array(2), 17, undefined, 'ERR_OUT_OF_RANGE'],
    ['Float64Array, length 3 elements', new Float64Array(2), 0, 24, 'ERR_OUT_OF_RANGE'],
    ['Float64Array view at an offset', new Float64Array(new ArrayBuffer(64), 16, 2), 0, 17, ['ERR_OUT_OF_RANGE', 'The value of "length" is out of range. It must be >= 0 && <= 16. Received 17']],
    ['DataView inside a bigger buffer', new DataView(new ArrayBuffer(10), 2, 5), 0, undefined, 5],
    ['DataView, length past its end', new DataView(new ArrayBuffer(10), 2, 5), 2, 4, ['ERR_OUT_OF_RANGE', 'The value of "length" is out of range. It must be >= 0 && <= 3. Received 4']],
    ['empty buffer', Buffer.alloc(0), 0, undefined, 0],
    ['empty buffer, offset 1', Buffer.alloc(0), 1, undefined, 'ERR_OUT_OF_RANGE'],
  ];

  it.each(cases)('%s', (_, buffer, offset, length, result) => {
    if (typeof result === 'number') expect(validateRange(buffer, offset, length)).toBe(result);
    else expectOutcome(() => validateRange(buffer, offset, length), result);
  });
});

describe('validatePosition', () => {
  const INT64_MAX = 2n ** 63n - 1n;
  const cases: [unknown, boolean, Outcome][] = [
    [0, false, null],
    [1, false, null],
    [Number.MAX_SAFE_INTEGER, false, null],
    [-1, false, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be >= 0 && <= 9007199254740991. Received -1']],
    [-1, true, null],
    [-2, true, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be >= -1 && <= 9007199254740991. Received -2']],
    [-0, false, null],
    [1.5, false, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be an integer. Received 1.5']],
    [NaN, true, 'ERR_OUT_OF_RANGE'],
    [Infinity, false, 'ERR_OUT_OF_RANGE'],
    [2 ** 53, false, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be >= 0 && <= 9007199254740991. Received 9_007_199_254_740_992']],
    [0n, false, null],
    [2n ** 53n, false, null],
    [INT64_MAX, false, null],
    [INT64_MAX + 1n, false, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be >= 0 && <= 9223372036854775807. Received 9_223_372_036_854_775_808n']],
    [-1n, false, ['ERR_OUT_OF_RANGE', 'The value of "position" is out of range. It must be >= 0 && <= 9223372036854775807. Received -1n']],
    [-1n, true, null],
    [-2n, true, 'ERR_OUT_OF_RANGE'],
    ['0', false, ['ERR_INVALID_ARG_TYPE', `The "position" argument must be of type number or bigint. Received type string ('0')`]],
    [null, true, 'ERR_INVALID_ARG_TYPE'],
    [undefined, false, 'ERR_INVALID_ARG_TYPE'],
    [{}, false, 'ERR_INVALID_ARG_TYPE'],
    [[], false, 'ERR_INVALID_ARG_TYPE'],
  ];

  it.each(cases.map(([v, c, o]) => [show(v), c, v, o] as const))('%s (allowCurrent %s)', (_, allowCurrent, value, expected) => {
    expectOutcome(() => validatePosition(value, 'position', allowCurrent), expected);
  });

  it('names the argument it is given', () => {
    expectOutcome(() => validatePosition(-5, 'offset'), 'ERR_OUT_OF_RANGE');
    expect(outcome(() => validatePosition(-5, 'offset'))!.message).toContain('"offset"');
  });
});

describe('validateFlags', () => {
  const known = 0b1011;
  const cases: [unknown, Outcome][] = [
    [0, null],
    [0b1, null],
    [0b1011, null],
    [0b0100, ['ERR_INVALID_ARG_VALUE', "The argument 'flags' has unknown bits 0x4. Received 4"]],
    [0b1111, ['ERR_INVALID_ARG_VALUE', "The argument 'flags' has unknown bits 0x4. Received 15"]],
    [2 ** 30, 'ERR_INVALID_ARG_VALUE'],
    [-1, ['ERR_OUT_OF_RANGE', 'The value of "flags" is out of range. It must be >= 0 && <= 2147483647. Received -1']],
    [2 ** 31, 'ERR_OUT_OF_RANGE'],
    [1.5, 'ERR_OUT_OF_RANGE'],
    [NaN, 'ERR_OUT_OF_RANGE'],
    ['1', 'ERR_INVALID_ARG_TYPE'],
    [1n, 'ERR_INVALID_ARG_TYPE'],
    [null, 'ERR_INVALID_ARG_TYPE'],
    [undefined, 'ERR_INVALID_ARG_TYPE'],
  ];

  it.each(cases.map(([v, o]) => [show(v), v, o] as const))('%s', (_, value, expected) => {
    expectOutcome(() => validateFlags(value, known), expected);
  });

  it('names the argument it is given', () => {
    expect(outcome(() => validateFlags(4, known, 'options.flags'))!.message).toBe("The property 'options.flags' has unknown bits 0x4. Received 4");
  });
});

describe('validateBufferArray', () => {
  const cases: [string, unknown, Outcome][] = [
    ['empty array', [], null],
    ['Buffers and Uint8Arrays', [Buffer.alloc(1), new Uint8Array(2)], null],
    ['exactly max', [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)], null],
    ['more than max', [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)], ['ERR_OUT_OF_RANGE', 'The value of "buffers.length" is out of range. It must be <= 3 (IOV_MAX). Received 4']],
    ['a string element', [Buffer.alloc(1), 'x'], ['ERR_INVALID_ARG_TYPE', `The "buffers[1]" argument must be an instance of Buffer or Uint8Array. Received type string ('x')`]],
    ['a Uint16Array element', [new Uint16Array(2)], 'ERR_INVALID_ARG_TYPE'],
    ['a DataView element', [new DataView(new ArrayBuffer(2))], 'ERR_INVALID_ARG_TYPE'],
    ['a hole', [Buffer.alloc(1), , Buffer.alloc(1)], ['ERR_INVALID_ARG_TYPE', 'The "buffers[1]" argument must be an instance of Buffer or Uint8Array. Received undefined']],
    ['a single Buffer', Buffer.alloc(1), ['ERR_INVALID_ARG_TYPE', 'The "buffers" argument must be an instance of Array. Received an instance of Buffer']],
    ['a string', 'x', 'ERR_INVALID_ARG_TYPE'],
    ['null', null, 'ERR_INVALID_ARG_TYPE'],
    ['undefined', undefined, 'ERR_INVALID_ARG_TYPE'],
    ['an array-like object', { length: 0 }, 'ERR_INVALID_ARG_TYPE'],
  ];

  it.each(cases)('%s', (_, value, expected) => {
    expectOutcome(() => validateBufferArray(value, 3), expected);
  });
});

describe('validateBuffer', () => {
  it.each([
    ['Buffer', Buffer.alloc(1), null],
    ['Float64Array', new Float64Array(1), null],
    ['DataView', new DataView(new ArrayBuffer(1)), null],
    ['ArrayBuffer', new ArrayBuffer(1), 'ERR_INVALID_ARG_TYPE'],
    ['string', 'abc', 'ERR_INVALID_ARG_TYPE'],
    ['array', [1, 2], 'ERR_INVALID_ARG_TYPE'],
    ['null', null, 'ERR_INVALID_ARG_TYPE'],
  ] as [string, unknown, Outcome][])('%s', (_, value, expected) => {
    expectOutcome(() => validateBuffer(value), expected);
  });

  it('words the error as Node does', () => {
    expect(outcome(() => validateBuffer('abc'))!.message).toBe(
      `The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. Received type string ('abc')`,
    );
  });
});

describe('validateBoolean, validateString, validateOptions, validateOneOf', () => {
  it('validateBoolean takes only booleans', () => {
    expectOutcome(() => validateBoolean(true, 'b'), null);
    expectOutcome(() => validateBoolean(false, 'b'), null);
    for (const v of [0, 1, 'true', null, undefined, {}]) expectOutcome(() => validateBoolean(v, 'b'), 'ERR_INVALID_ARG_TYPE');
  });

  it('validateString takes only strings', () => {
    expectOutcome(() => validateString('', 's'), null);
    for (const v of [0, null, undefined, Buffer.from('x'), ['x']]) expectOutcome(() => validateString(v, 's'), 'ERR_INVALID_ARG_TYPE');
  });

  it('validateOptions takes an object or undefined, not null, arrays or primitives', () => {
    expectOutcome(() => validateOptions(undefined), null);
    expectOutcome(() => validateOptions({}), null);
    expectOutcome(() => validateOptions(Object.create(null)), null);
    expectOutcome(() => validateOptions(null), ['ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received null']);
    expectOutcome(() => validateOptions([]), ['ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received an instance of Array']);
    for (const v of ['x', 1, true, () => {}]) expectOutcome(() => validateOptions(v), 'ERR_INVALID_ARG_TYPE');
  });

  it('validateOneOf takes only one of the choices', () => {
    const choices = ['read', 'write'] as const;
    expectOutcome(() => validateOneOf('read', 'how', choices), null);
    expectOutcome(() => validateOneOf('READ', 'how', choices), ['ERR_INVALID_ARG_VALUE', "The argument 'how' must be one of read, write. Received 'READ'"]);
    expectOutcome(() => validateOneOf('', 'how', choices), 'ERR_INVALID_ARG_VALUE');
    expectOutcome(() => validateOneOf('toString', 'how', choices), 'ERR_INVALID_ARG_VALUE');
    expectOutcome(() => validateOneOf(1, 'how', choices), ['ERR_INVALID_ARG_TYPE', 'The "how" argument must be of type string. Received type number (1)']);
    expectOutcome(() => validateOneOf(undefined, 'how', choices), 'ERR_INVALID_ARG_TYPE');
  });
});

describe('validateTimeout', () => {
  it.each([
    [undefined, -1],
    [-1, -1],
    [Infinity, -1],
    [0, 0],
    [2.5, 2.5],
    [2 ** 31 - 1, 2 ** 31 - 1],
  ])('%s waits %s ms', (value, ms) => {
    expect(validateTimeout(value)).toBe(ms);
  });

  it.each([
    ['-2', -2, 'ERR_OUT_OF_RANGE'],
    ['NaN', NaN, 'ERR_OUT_OF_RANGE'],
    ['2**31', 2 ** 31, 'ERR_OUT_OF_RANGE'],
    ['-Infinity', -Infinity, 'ERR_OUT_OF_RANGE'],
    ["'5'", '5', 'ERR_INVALID_ARG_TYPE'],
    ['null', null, 'ERR_INVALID_ARG_TYPE'],
    ['5n', 5n, 'ERR_INVALID_ARG_TYPE'],
  ] as const)('rejects %s', (_, value, code) => {
    expectOutcome(() => validateTimeout(value), code);
  });
});

describe('validatePath', () => {
  it('accepts a string and rejects other types and NUL bytes', () => {
    expectOutcome(() => validatePath('/tmp/x'), null);
    expectOutcome(() => validatePath(Buffer.from('/tmp/x')), 'ERR_INVALID_ARG_TYPE');
    expectOutcome(() => validatePath('/tmp/a\0b'), 'ERR_INVALID_ARG_VALUE');
  });
});

describe('validateFunction and validateSignal', () => {
  it('accept what they name and reject the rest', () => {
    expectOutcome(() => validateFunction(() => {}, 'callback'), null);
    expectOutcome(() => validateFunction('f', 'callback'), ['ERR_INVALID_ARG_TYPE', 'The "callback" argument must be of type function. Received type string (\'f\')']);
    expectOutcome(() => validateSignal(undefined), null);
    expectOutcome(() => validateSignal(new AbortController().signal), null);
    expectOutcome(() => validateSignal({ aborted: false }), 'ERR_INVALID_ARG_TYPE');
  });
});
