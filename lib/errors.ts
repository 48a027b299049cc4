/**
 * The one place errors are built. Syscall failures become {@link IoError}
 * (Node's shape: `code`, `errno`, `syscall`, `fd`/`path`); bad arguments
 * become `TypeError`/`RangeError` with Node core's `ERR_*` codes.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap, inspect, type InspectOptions } from 'node:util';

/**
 * What a non-blocking call returns instead of throwing when the kernel says
 * `EAGAIN`: the hot path of non-blocking I/O never throws for "not yet".
 *
 * @example
 * ```ts
 * import { pipe, tryRead, WOULD_BLOCK } from 'iomodes';
 * const [r] = pipe({ nonblocking: true });
 * if (tryRead(r, Buffer.alloc(64)) === WOULD_BLOCK) console.log('nothing yet');
 * ```
 */
export const WOULD_BLOCK: unique symbol = Symbol.for('iomodes.WOULD_BLOCK');
/**
 * The type of {@link WOULD_BLOCK}.
 *
 * @example
 * ```ts
 * import { pipe, tryRead, close, type WouldBlock } from 'iomodes';
 * const [r, w] = pipe({ nonblocking: true });
 * const n: number | WouldBlock = tryRead(r, Buffer.alloc(64)); // WOULD_BLOCK: the pipe is empty
 * close(r); close(w);
 * ```
 */
export type WouldBlock = typeof WOULD_BLOCK;

/**
 * Where a failed syscall was pointed, when known.
 *
 * @example
 * ```ts
 * import { IoError, type IoErrorContext } from 'iomodes';
 * const context: IoErrorContext = { path: '/nope' };
 * const err = new IoError(2, 'open', context);
 * console.log(err.message, err.path); // "ENOENT: no such file or directory, open '/nope'" '/nope'
 * ```
 */
export interface IoErrorContext {
  fd?: number;
  path?: string;
}

/**
 * A failed syscall, in Node's error shape: `code` (`'EBADF'`), `errno` (the
 * positive number, `9`), `syscall` (`'read'`), and `fd` or `path` when known.
 * The message reads like Node's: `EBADF: bad file descriptor, read`.
 *
 * @example
 * ```ts
 * import { read, IoError } from 'iomodes';
 * try { read(12345, Buffer.alloc(1)); }
 * catch (err) { if (err instanceof IoError && err.code === 'EBADF') console.log(err.message); }
 * ```
 */
export class IoError extends Error {
  /** The errno name, such as `'EAGAIN'`. */
  readonly code: string;
  /** The positive errno number, such as `11`. */
  readonly errno: number;
  /** The syscall that failed, such as `'read'`. */
  readonly syscall: string;
  // `declare`: no own property at all unless known, as in Node's errors
  // (a class field would be an own `undefined`, shown by util.inspect).
  /** The fd the call was given, when there was one. */
  declare readonly fd?: number;
  /** The path the call was given, when there was one. */
  declare readonly path?: string;

  constructor(errno: number, syscall: string, context: IoErrorContext = {}, detail?: string) {
    // The class is exported, so anyone may build one: check what the message
    // is made of, as every other public entry point does, rather than fail
    // with a code-less TypeError (a null context, a Symbol errno).
    if (typeof errno !== 'number') throw invalidArgType('errno', 'of type number', errno);
    if (typeof syscall !== 'string') throw invalidArgType('syscall', 'of type string', syscall);
    if (context === null || typeof context !== 'object') throw invalidArgType('context', 'of type object', context);
    // Each field read once: a getter could give another value the second time.
    const { fd, path } = context;
    if (fd !== undefined && typeof fd !== 'number') throw invalidArgType('context.fd', 'of type number', fd);
    if (path !== undefined && typeof path !== 'string') throw invalidArgType('context.path', 'of type string', path);
    if (detail !== undefined && typeof detail !== 'string') throw invalidArgType('detail', 'of type string', detail);
    const [code, description] = describeErrno(errno);
    let message = `${code}: ${description}, ${syscall}`;
    if (path !== undefined) message += ` '${path}'`;
    if (detail !== undefined) message += ` (${detail})`;
    super(message);
    this.name = 'IoError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (fd !== undefined) this.fd = fd;
    if (path !== undefined) this.path = path;
  }
}

const systemErrors = getSystemErrorMap();

// libuv's map (what Node's own errors use) lacks some Linux errnos this
// package meets, EINPROGRESS (connect) and ETIME (io_uring timeouts) among
// them: name those from os.constants, described as strerror(3) does.
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
const extraDescriptions: Readonly<Record<string, string>> = {
  EBADMSG: 'bad message',
  ECHILD: 'no child processes',
  EDEADLK: 'resource deadlock avoided',
  EDOM: 'numerical argument out of domain',
  EDQUOT: 'disk quota exceeded',
  EIDRM: 'identifier removed',
  EINPROGRESS: 'operation now in progress',
  EMULTIHOP: 'multihop attempted',
  ENETRESET: 'network dropped connection on reset',
  ENOEXEC: 'exec format error',
  ENOLCK: 'no locks available',
  ENOLINK: 'link has been severed',
  ENOMSG: 'no message of desired type',
  ENOSR: 'out of streams resources',
  ENOSTR: 'device not a stream',
  ESTALE: 'stale file handle',
  ETIME: 'timer expired',
};

function describeErrno(errno: number): [string, string] {
  const entry = systemErrors.get(-errno);
  if (entry) return [entry[0], entry[1]];
  const name = errnoNames.get(errno);
  // Node's own fallback for an errno it cannot name is code 'UNKNOWN'.
  return name ? [name, extraDescriptions[name] ?? 'unknown error'] : ['UNKNOWN', 'unknown error'];
}

/**
 * Builds the {@link IoError} for a binding's `-errno` result.
 *
 * @param result the negative value a binding returned
 * @param syscall the syscall's name, for the message
 * @param context the fd or path the call was given
 * @param detail a hint appended to the message, e.g. why `EPERM` happens
 * @example
 * ```ts
 * import { errnoError } from './errors.js'; // internal: not exported by 'iomodes'
 * errnoError(-9, 'read', { fd: 3 }).message; // 'EBADF: bad file descriptor, read'
 * ```
 */
export function errnoError(result: number, syscall: string, context?: IoErrorContext, detail?: string): IoError {
  return new IoError(-result, syscall, context, detail);
}

/**
 * Returns a binding's non-negative result, or throws its {@link IoError}.
 *
 * @example
 * ```ts
 * import { check } from './errors.js'; // internal: not exported by 'iomodes'
 * check(3, 'open'); // 3
 * ```
 */
export function check(result: number, syscall: string, context?: IoErrorContext): number {
  if (result < 0) throw new IoError(-result, syscall, context);
  return result;
}

/**
 * An argument error, carrying Node core's `code`.
 *
 * @example
 * ```ts
 * import { setrlimit, type ArgumentError } from 'iomodes';
 * try { setrlimit('nofile', { soft: 10, hard: 5 }); }
 * catch (err) { console.log((err as ArgumentError).code); } // 'ERR_OUT_OF_RANGE': soft > hard
 * ```
 */
export interface ArgumentError extends Error {
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';
}

// Node core's determineSpecificType, so messages read exactly like Node's.
function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return ` Received ${value}`;
  switch (typeof value) {
    case 'bigint':
      return ` Received type bigint (${value}n)`;
    case 'number':
      return ` Received type number (${Object.is(value, -0) ? '-0' : value})`;
    case 'boolean':
    case 'symbol':
      return ` Received type ${typeof value} (${String(value)})`;
    case 'function':
      return ` Received function ${value.name}`;
    case 'object': {
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      if (ctor && 'name' in ctor) return ` Received an instance of ${String(ctor.name)}`;
      return ` Received ${safeInspect(value, { depth: -1 })}`;
    }
    default: {
      const shown = (value as string).length > 28 ? `${(value as string).slice(0, 25)}...` : (value as string);
      return shown.includes("'") ? ` Received type string (${JSON.stringify(shown)})` : ` Received type string ('${shown}')`;
    }
  }
}

// util.inspect runs getters, and some throw (a DataView's byteLength once
// its buffer is detached): an error message must never fail to build.
function safeInspect(value: unknown, options?: InspectOptions): string {
  try {
    return inspect(value, options);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// Node calls a dotted name (`options.cloexec`) a property, a plain one an argument.
function kind(name: string): 'property' | 'argument' {
  return name.includes('.') ? 'property' : 'argument';
}

// Node writes integers beyond 2^32 with `_` separators: 4_294_967_296.
function addNumericalSeparator(value: string): string {
  let result = '';
  let i = value.length;
  const start = value[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) result = `_${value.slice(i - 3, i)}${result}`;
  return `${value.slice(0, i)}${result}`;
}

/**
 * `TypeError` with `code: 'ERR_INVALID_ARG_TYPE'`, worded as Node core words it.
 *
 * @example
 * ```ts
 * import { invalidArgType } from './errors.js'; // internal: not exported by 'iomodes'
 * invalidArgType('fd', 'of type number', 'x').message;
 * // 'The "fd" argument must be of type number. Received type string (\'x\')'
 * ```
 */
export function invalidArgType(name: string, expected: string, actual: unknown): ArgumentError {
  const err = new TypeError(`The "${name}" ${kind(name)} must be ${expected}.${describeReceived(actual)}`) as TypeError & ArgumentError;
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/**
 * `RangeError` with `code: 'ERR_OUT_OF_RANGE'`, worded as Node core words it.
 *
 * @example
 * ```ts
 * import { outOfRange } from './errors.js'; // internal: not exported by 'iomodes'
 * outOfRange('fd', '>= 0 && <= 2147483647', -1).message;
 * // 'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received -1'
 * ```
 */
export function outOfRange(name: string, range: string, actual: unknown): ArgumentError {
  let shown: string;
  if (typeof actual === 'bigint') {
    shown = `${actual > 2n ** 32n || actual < -(2n ** 32n) ? addNumericalSeparator(String(actual)) : actual}n`;
  } else if (Number.isInteger(actual) && Math.abs(actual as number) > 2 ** 32) {
    shown = addNumericalSeparator(String(actual));
  } else {
    shown = safeInspect(actual);
  }
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`) as RangeError & ArgumentError;
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

/**
 * `TypeError` with `code: 'ERR_INVALID_ARG_VALUE'`, for a value of the right
 * type that is still not acceptable (an unknown flag, say).
 *
 * @example
 * ```ts
 * import { invalidArgValue } from './errors.js'; // internal: not exported by 'iomodes'
 * invalidArgValue('kind', 'tcp5', 'must be one of tcp4, tcp6').code; // 'ERR_INVALID_ARG_VALUE'
 * ```
 */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): ArgumentError {
  let shown = safeInspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const err = new TypeError(`The ${kind(name)} '${name}' ${reason}. Received ${shown}`) as TypeError & ArgumentError;
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/**
 * An object that is closed, when used again: `ERR_USE_AFTER_CLOSE`, as Node core names it.
 *
 * @example
 * ```ts
 * import { Epoll, type UseAfterCloseError } from 'iomodes';
 * const epoll = Epoll.create();
 * epoll.close();
 * try { epoll.wait(1, 0); }
 * catch (err) { console.log((err as UseAfterCloseError).code); } // 'ERR_USE_AFTER_CLOSE'
 * ```
 */
export interface UseAfterCloseError extends Error {
  code: 'ERR_USE_AFTER_CLOSE';
}

/**
 * The error a use after `close()` throws: `Error` with
 * `code: 'ERR_USE_AFTER_CLOSE'` (Node core's code for the same mistake).
 *
 * @example
 * ```ts
 * import { useAfterClose } from './errors.js'; // internal: not exported by 'iomodes'
 * throw useAfterClose('Epoll'); // Error [ERR_USE_AFTER_CLOSE]: This Epoll is closed
 * ```
 */
export function useAfterClose(what: string): UseAfterCloseError {
  const err = new Error(`This ${what} is closed`) as UseAfterCloseError;
  err.code = 'ERR_USE_AFTER_CLOSE';
  return err;
}

/**
 * The error a constructor meant for internal use throws when called
 * directly: `TypeError` with `code: 'ERR_ILLEGAL_CONSTRUCTOR'`, as Node's own.
 *
 * @param what the class
 * @param instead what to call instead
 * @example
 * ```ts
 * throw illegalConstructor('Epoll', 'Epoll.create()'); // TypeError [ERR_ILLEGAL_CONSTRUCTOR]
 * ```
 */
export function illegalConstructor(what: string, instead: string): TypeError & { code: 'ERR_ILLEGAL_CONSTRUCTOR' } {
  const err = new TypeError(`Illegal constructor: use ${instead} to make an ${what}`) as TypeError & { code: 'ERR_ILLEGAL_CONSTRUCTOR' };
  err.code = 'ERR_ILLEGAL_CONSTRUCTOR';
  return err;
}

/**
 * An `Error` (or a subclass) carrying a Node-style `code`: the builder for
 * errors that are neither a syscall's nor an argument's, such as
 * `ERR_INVALID_STATE`.
 *
 * @param Base the class, such as `Error` or `TypeError`
 * @param code the `code`, such as `'ERR_INVALID_STATE'`
 * @example
 * ```ts
 * throw codedError(Error, 'ERR_INVALID_STATE', 'the hub is already running');
 * ```
 */
export function codedError<C extends string>(Base: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, code: C, message: string): Error & { code: C } {
  const err = new Base(message) as Error & { code: C };
  err.code = code;
  return err;
}
