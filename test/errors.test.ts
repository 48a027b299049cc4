import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap, getSystemErrorName, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as iomodes from '../lib/index.js';
import { IoError, WOULD_BLOCK, check, errnoError, invalidArgType, invalidArgValue, outOfRange } from '../lib/errors.js';
import { close, open, pipe, read } from '../lib/index.js';
import { caught, tmpDir } from './helpers/index.js';


const errnos = osConstants.errno as Readonly<Record<string, number>>;

describe('WOULD_BLOCK', () => {
  it("is the registered symbol 'iomodes.WOULD_BLOCK', so copies of the package agree", () => {
    expect(typeof WOULD_BLOCK).toBe('symbol');
    expect(WOULD_BLOCK).toBe(Symbol.for('iomodes.WOULD_BLOCK'));
    expect(Symbol.keyFor(WOULD_BLOCK)).toBe('iomodes.WOULD_BLOCK');
    expect(iomodes.WOULD_BLOCK).toBe(WOULD_BLOCK);
  });
});

describe('IoError', () => {
  it('carries code, positive errno, syscall and fd, with a Node-style message', () => {
    const err = new IoError(errnos.EBADF!, 'read', { fd: 7 });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(IoError);
    expect(err.name).toBe('IoError');
    expect(err.code).toBe('EBADF');
    expect(err.errno).toBe(9);
    expect(err.syscall).toBe('read');
    expect(err.fd).toBe(7);
    expect(err.message).toBe('EBADF: bad file descriptor, read');
    expect(err.stack).toMatch(/^IoError: EBADF: bad file descriptor, read\n\s+at /);
    expect(String(err)).toBe('IoError: EBADF: bad file descriptor, read');
  });

  it('has no fd or path property unless given one', () => {
    const err = new IoError(errnos.EAGAIN!, 'eventfd');
    expect(Object.hasOwn(err, 'fd')).toBe(false);
    expect(Object.hasOwn(err, 'path')).toBe(false);
    expect(inspect(err)).not.toMatch(/fd:|path:/);
    const withPath = new IoError(errnos.ENOENT!, 'open', { path: '/nope' });
    expect(withPath.path).toBe('/nope');
    expect(Object.hasOwn(withPath, 'fd')).toBe(false);
  });

  it("quotes the path at the end of the message, as Node's fs does", () => {
    const err = new IoError(errnos.ENOENT!, 'open', { path: '/no/such' });
    expect(err.message).toBe("ENOENT: no such file or directory, open '/no/such'");
  });

  it('appends a detail in parentheses', () => {
    const err = new IoError(errnos.EPERM!, 'setrlimit', {}, 'raising a hard limit needs CAP_SYS_RESOURCE');
    expect(err.message).toBe('EPERM: operation not permitted, setrlimit (raising a hard limit needs CAP_SYS_RESOURCE)');
    expect(err.code).toBe('EPERM');
  });

  it("names every errno as Node does, and the ones Node's map lacks by their os.constants name", () => {
    const nodeMap = getSystemErrorMap();
    for (const [name, value] of Object.entries(errnos)) {
      const err = new IoError(value, 'x');
      expect(err.errno).toBe(value);
      if (nodeMap.has(-value)) {
        expect(err.code, name).toBe(getSystemErrorName(-value));
        expect(err.message, name).toBe(`${nodeMap.get(-value)![0]}: ${nodeMap.get(-value)![1]}, x`);
      } else {
        expect(err.code, name).toBe(name);
      }
      expect(err.message, name).toMatch(/^E[A-Z0-9]+: [a-z][a-z/ ,'-]+[a-z], x$/);
    }
    expect(new IoError(errnos.EINPROGRESS!, 'connect').message).toBe('EINPROGRESS: operation now in progress, connect');
    expect(new IoError(errnos.ETIME!, 'io_uring_enter').message).toBe('ETIME: timer expired, io_uring_enter');
  });

  it("uses Node's fallback, code 'UNKNOWN', for a number that is no errno", () => {
    const err = new IoError(4000, 'read', { fd: 3 });
    expect(err.code).toBe('UNKNOWN');
    expect(err.errno).toBe(4000);
    expect(err.message).toBe('UNKNOWN: unknown error, read');
  });

  it('rejects arguments it cannot build a message from with a coded error, not a bare TypeError (found by the api fuzz)', () => {
    const bad = (v: unknown): never => v as never;
    for (const [make, name] of [
      [() => new IoError(bad(Symbol('x')), 'read'), 'errno'],
      [() => new IoError(9, bad(undefined)), 'syscall'],
      [() => new IoError(9, 'read', bad(null)), 'context'],
      [() => new IoError(9, 'read', bad('fd')), 'context'],
      [() => new IoError(9, 'read', { fd: bad('3') }), 'context.fd'],
      [() => new IoError(9, 'read', { path: bad(Symbol('p')) }), 'context.path'],
      [() => new IoError(9, 'read', {}, bad(1)), 'detail'],
    ] as const) {
      const err = caught(make);
      expect(err, name).toBeInstanceOf(TypeError);
      expect(err.code, name).toBe('ERR_INVALID_ARG_TYPE');
      expect(err.message, name).toContain(`"${name}"`);
    }
  });

  it("matches the error Node's own fs gives for the same failure", () => {
    const ours = caught(() => read(1_000_000, Buffer.alloc(1)));
    const node = caught(() => readSync(1_000_000, Buffer.alloc(1)));
    expect(ours).toBeInstanceOf(IoError);
    expect(ours.code).toBe(node.code);
    expect(ours.syscall).toBe(node.syscall);
    expect(ours.message).toBe(node.message);
    // Node's errno is libuv's negative number; ours is the kernel's, positive.
    expect(ours.errno).toBe(-(node.errno as number));
    expect(ours.errno).toBeGreaterThan(0);
    expect(ours.fd).toBe(1_000_000);

    const path = join(tmpDir(), 'missing');
    const oursOpen = caught(() => open(path));
    const nodeOpen = caught(() => openSync(path, 'r'));
    for (const key of ['code', 'syscall', 'path', 'message'] as const) expect(oursOpen[key], key).toBe(nodeOpen[key]);
    expect(oursOpen.errno).toBe(-(nodeOpen.errno as number));

    const [r, w] = pipe();
    close(w);
    close(r);
    const oursClose = caught(() => close(r));
    const nodeClose = caught(() => closeSync(r));
    expect(oursClose.message).toBe(nodeClose.message);
    expect(oursClose.message).toBe('EBADF: bad file descriptor, close');
  });
});

describe('errnoError', () => {
  it("turns a binding's -errno into the IoError, without throwing it", () => {
    const err = errnoError(-errnos.ENOENT!, 'open', { path: '/x' });
    expect(err).toBeInstanceOf(IoError);
    expect(err.errno).toBe(errnos.ENOENT);
    expect(err.code).toBe('ENOENT');
    expect(err.path).toBe('/x');
    expect(err.message).toBe("ENOENT: no such file or directory, open '/x'");
    expect(errnoError(-errnos.EBADF!, 'read', { fd: 3 }).message).toBe('EBADF: bad file descriptor, read');
    expect(errnoError(-errnos.EPERM!, 'x', undefined, 'why').message).toBe('EPERM: operation not permitted, x (why)');
  });
});

describe('check', () => {
  it('returns a non-negative result as is', () => {
    expect(check(0, 'close')).toBe(0);
    expect(check(3, 'open')).toBe(3);
    expect(check(2 ** 40, 'read')).toBe(2 ** 40);
  });

  it('throws the IoError of a negative result', () => {
    const err = caught(() => check(-errnos.EAGAIN!, 'read', { fd: 5 }));
    expect(err).toBeInstanceOf(IoError);
    expect(err.code).toBe('EAGAIN');
    expect(err.errno).toBe(errnos.EAGAIN);
    expect(err.fd).toBe(5);
    expect(err.message).toBe('EAGAIN: resource temporarily unavailable, read');
  });
});

describe('invalidArgType', () => {
  // Node core's wording (lib/internal/errors.js), as Node 20's fs.readSync
  // gives it. Fixed strings, not the running Node's: Node 24 validates fs
  // arguments in C++ and words some of them differently, and our messages
  // must not change with the Node that runs them.
  const values: [string, unknown, string][] = [
    ['a string', 'x', "Received type string ('x')"],
    ['a long string', 'a'.repeat(40), "Received type string ('aaaaaaaaaaaaaaaaaaaaaaaaa...')"],
    ['an object', {}, 'Received an instance of Object'],
    ['an array', [], 'Received an instance of Array'],
    ['undefined', undefined, 'Received undefined'],
    ['null', null, 'Received null'],
    ['a bigint', 10n, 'Received type bigint (10n)'],
    ['a boolean', true, 'Received type boolean (true)'],
    ['a symbol', Symbol('s'), 'Received type symbol (Symbol(s))'],
    ['a named function', function foo() {}, 'Received function foo'],
    ['a null-prototype object', Object.create(null), 'Received [Object: null prototype] {}'],
    ['a Buffer', Buffer.alloc(1), 'Received an instance of Buffer'],
  ];

  it.each(values)('words %s as Node core does', (_, value, received) => {
    const ours = invalidArgType('fd', 'of type number', value);
    expect(ours).toBeInstanceOf(TypeError);
    expect(ours.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(ours.message).toBe(`The "fd" argument must be of type number. ${received}`);
  });

  it('is what the API throws', () => {
    const ours = caught(() => read('x' as never, Buffer.alloc(1)));
    expect(ours.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(ours.message).toBe(`The "fd" argument must be of type number. Received type string ('x')`);
  });

  it.each([
    ["it's quoted", "it's quoted"],
    ['a long quoted string', "it's a long quote, more than twenty-eight"],
    ['-0', -0],
    ['NaN', NaN],
    ['a number', 5],
    ['a multi-line string', 'a\nb'],
  ])('words %s as Node does', (_, value) => {
    const node = caught(() => mkdirSync(join(tmpDir(), 'd'), { recursive: value as never }));
    expect(invalidArgType('options.recursive', 'of type boolean', value).message).toBe(node.message);
  });

  it("calls a dotted name a property, as Node does", () => {
    const node = caught(() => mkdirSync(join(tmpDir(), 'd'), { recursive: 'x' as never }));
    const ours = invalidArgType('options.recursive', 'of type boolean', 'x');
    expect(ours.message).toBe(node.message);
    expect(ours.message).toBe(`The "options.recursive" property must be of type boolean. Received type string ('x')`);
  });
});

describe('outOfRange', () => {
  it.each([
    [-1, '>= 0 && <= 2147483647', '-1'],
    [1.5, 'an integer', '1.5'],
    [NaN, 'an integer', 'NaN'],
    [Infinity, 'an integer', 'Infinity'],
    [2 ** 31, '>= 0 && <= 2147483647', '2147483648'],
    [2 ** 32, '>= 0 && <= 2147483647', '4294967296'],
    [2 ** 33, '>= 0 && <= 2147483647', '8_589_934_592'],
    [2 ** 53, '>= 0 && <= 2147483647', '9_007_199_254_740_992'],
    [-(2 ** 40), '>= 0 && <= 2147483647', '-1_099_511_627_776'],
  ])('words fd %d as Node core does', (fd, range, shown) => {
    const ours = caught(() => read(fd, Buffer.alloc(1)));
    expect(ours).toBeInstanceOf(RangeError);
    expect(ours.code).toBe('ERR_OUT_OF_RANGE');
    expect(ours.message).toBe(`The value of "fd" is out of range. It must be ${range}. Received ${shown}`);
  });

  it('writes big numbers and bigints with separators, as Node does', () => {
    expect(outOfRange('x', '>= 0', 2 ** 33).message).toBe('The value of "x" is out of range. It must be >= 0. Received 8_589_934_592');
    expect(outOfRange('x', '>= 0', 2 ** 32).message).toBe('The value of "x" is out of range. It must be >= 0. Received 4294967296');
    expect(outOfRange('x', '>= 0', -(2 ** 33)).message).toBe('The value of "x" is out of range. It must be >= 0. Received -8_589_934_592');
    expect(outOfRange('x', '>= 0', -5n).message).toBe('The value of "x" is out of range. It must be >= 0. Received -5n');
    expect(outOfRange('x', '>= 0', -(2n ** 40n)).message).toBe('The value of "x" is out of range. It must be >= 0. Received -1_099_511_627_776n');
  });

});

describe('invalidArgValue', () => {
  it("words a bad value as Node's fs does", () => {
    const node = caught(() => openSync('/', 'zz' as never));
    const ours = invalidArgValue('flags', 'zz');
    expect(node.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(ours).toBeInstanceOf(TypeError);
    expect(ours.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(ours.message).toBe(node.message);
    expect(ours.message).toBe("The argument 'flags' is invalid. Received 'zz'");
  });

  it('takes a reason, calls dotted names properties, and cuts long values at 128 characters', () => {
    expect(invalidArgValue('kind', 'tcp5', 'must be one of tcp4, tcp6').message).toBe("The argument 'kind' must be one of tcp4, tcp6. Received 'tcp5'");
    expect(invalidArgValue('options.type', 'raw', 'must be one of stream').message).toBe("The property 'options.type' must be one of stream. Received 'raw'");
    const long = 'x'.repeat(300);
    const shown = inspect(long).slice(0, 128);
    expect(invalidArgValue('path', long).message).toBe(`The argument 'path' is invalid. Received ${shown}...`);
  });
});

describe('argument errors, from the API', () => {
  it('are thrown before any syscall, and are not IoErrors', () => {
    // Non-blocking and empty: had a read reached the kernel, it would be EAGAIN.
    const [r, w] = pipe({ nonblocking: true });
    try {
      for (const [fn, code] of [
        [() => read(r, Buffer.alloc(4), 5), 'ERR_OUT_OF_RANGE'],
        [() => read(r, Buffer.alloc(4), 0, 5), 'ERR_OUT_OF_RANGE'],
        [() => read(r, 'buf' as never), 'ERR_INVALID_ARG_TYPE'],
        [() => close(-1), 'ERR_OUT_OF_RANGE'],
      ] as const) {
        const err = caught(fn);
        expect(err).not.toBeInstanceOf(IoError);
        expect(err.code).toBe(code);
      }
      expect(fstatSync(r).isFIFO()).toBe(true);
    } finally {
      close(r);
      close(w);
    }
  });
});
