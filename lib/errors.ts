/**
 * The one place errors are built. Syscall failures become {@link IoError}
 * (Node's shape: `code`, `errno`, `syscall`, `fd`/`path`); bad arguments
 * become `TypeError`/`RangeError` with Node core's `ERR_*` codes.
 *
 * @module
 */
import { getSystemErrorMap, inspect } from 'node:util';

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
/** The type of {@link WOULD_BLOCK}. */
export type WouldBlock = typeof WOULD_BLOCK;

/** Where a failed syscall was pointed, when known. */
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
  /** The fd the call was given, when there was one. */
  readonly fd?: number;
  /** The path the call was given, when there was one. */
  readonly path?: string;

  constructor(errno: number, syscall: string, context: IoErrorContext = {}, detail?: string) {
    const [code, description] = describeErrno(errno);
    let message = `${code}: ${description}, ${syscall}`;
    if (context.path !== undefined) message += ` '${context.path}'`;
    if (detail !== undefined) message += ` (${detail})`;
    super(message);
    this.name = 'IoError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (context.fd !== undefined) this.fd = context.fd;
    if (context.path !== undefined) this.path = context.path;
  }
}

const systemErrors = getSystemErrorMap();

function describeErrno(errno: number): [string, string] {
  const entry = systemErrors.get(-errno);
  return entry ? [entry[0], entry[1]] : [`Unknown system error ${errno}`, 'unknown error'];
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
 * import { errnoError } from 'iomodes';
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
 * import { check } from 'iomodes';
 * check(3, 'open'); // 3
 * ```
 */
export function check(result: number, syscall: string, context?: IoErrorContext): number {
  if (result < 0) throw new IoError(-result, syscall, context);
  return result;
}

/** An argument error, carrying Node core's `code`. */
export interface ArgumentError extends Error {
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';
}

function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

/**
 * `TypeError` with `code: 'ERR_INVALID_ARG_TYPE'`, worded as Node core words it.
 *
 * @example
 * ```ts
 * import { invalidArgType } from 'iomodes';
 * invalidArgType('fd', 'of type number', 'x').message;
 * // 'The "fd" argument must be of type number. Received type string (\'x\')'
 * ```
 */
export function invalidArgType(name: string, expected: string, actual: unknown): ArgumentError {
  const err = new TypeError(`The "${name}" argument must be ${expected}.${describeReceived(actual)}`) as TypeError & ArgumentError;
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/**
 * `RangeError` with `code: 'ERR_OUT_OF_RANGE'`, worded as Node core words it.
 *
 * @example
 * ```ts
 * import { outOfRange } from 'iomodes';
 * outOfRange('fd', '>= 0 && <= 2147483647', -1).message;
 * // 'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received -1'
 * ```
 */
export function outOfRange(name: string, range: string, actual: unknown): ArgumentError {
  const shown = typeof actual === 'bigint' ? `${actual}n` : inspect(actual);
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
 * import { invalidArgValue } from 'iomodes';
 * invalidArgValue('kind', 'tcp5', 'must be one of tcp4, tcp6').code; // 'ERR_INVALID_ARG_VALUE'
 * ```
 */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): ArgumentError {
  const err = new TypeError(`The argument '${name}' ${reason}. Received ${inspect(value)}`) as TypeError & ArgumentError;
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}
