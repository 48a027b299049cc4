/**
 * Argument checks that run before any syscall. Each throws Node core's error
 * (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`, `ERR_INVALID_ARG_VALUE`) so
 * that bad input never reaches the kernel.
 *
 * @internal
 */
import { isUint8Array } from 'node:util/types';
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';

const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Throws unless `fd` is an integer in `[0, 2147483647]`.
 *
 * @example
 * ```ts
 * validateFd(3); // ok
 * validateFd(-1); // RangeError ERR_OUT_OF_RANGE
 * ```
 */
export function validateFd(fd: unknown, name = 'fd'): asserts fd is number {
  if (typeof fd !== 'number') throw invalidArgType(name, 'of type number', fd);
  if (!Number.isInteger(fd) || fd < 0 || fd > INT32_MAX) {
    throw outOfRange(name, Number.isInteger(fd) ? `>= 0 && <= ${INT32_MAX}` : 'an integer', fd);
  }
}

/**
 * Throws unless `value` is an integer in `[min, max]`.
 *
 * @example
 * ```ts
 * validateInteger(5, 'backlog', 0, 65535);
 * ```
 */
export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

/**
 * Throws unless `value` is a boolean.
 *
 * @example
 * ```ts
 * validateBoolean(options.cloexec, 'options.cloexec');
 * ```
 */
export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
}

/**
 * Throws unless `value` is a string.
 *
 * @example
 * ```ts
 * validateString(path, 'path');
 * ```
 */
export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

/**
 * Throws unless `value` is a plain object (or undefined, when optional).
 *
 * @example
 * ```ts
 * validateOptions(options); // undefined or an object
 * ```
 */
export function validateOptions(value: unknown, name = 'options'): asserts value is Record<string, unknown> | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw invalidArgType(name, 'of type object', value);
  }
}

/**
 * Throws unless `buffer` is an ArrayBufferView (Buffer, TypedArray, DataView).
 *
 * @example
 * ```ts
 * validateBuffer(Buffer.alloc(8)); // ok
 * validateBuffer('text'); // TypeError ERR_INVALID_ARG_TYPE
 * ```
 */
export function validateBuffer(buffer: unknown, name = 'buffer'): asserts buffer is ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) {
    throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', buffer);
  }
}

/**
 * Checks that `buffers` is an array of Uint8Arrays (Buffers), at most `max`
 * long, and returns a copy of it. Each element is read exactly once: an
 * element may be a getter (or the array a Proxy) whose code detaches another
 * element's buffer, so the binding is handed the copy, never the original.
 *
 * @example
 * ```ts
 * const list = validateBufferArray([Buffer.alloc(8)], 1024);
 * native.readv(fd, list);
 * ```
 */
export function validateBufferArray(buffers: unknown, max: number, name = 'buffers'): Uint8Array[] {
  if (!Array.isArray(buffers)) throw invalidArgType(name, 'an instance of Array', buffers);
  const length: unknown = buffers.length;
  if (typeof length !== 'number' || length > max) throw outOfRange(`${name}.length`, `<= ${max} (IOV_MAX)`, length);
  const list: Uint8Array[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const buffer: unknown = buffers[i];
    if (!isUint8Array(buffer)) throw invalidArgType(`${name}[${i}]`, 'an instance of Buffer or Uint8Array', buffer);
    list[i] = buffer;
  }
  return list;
}

/**
 * The byte length of a view, or `ERR_INVALID_ARG_VALUE` if it has none: a
 * DataView over a detached buffer, or out of bounds of a shrunk resizable
 * one, throws V8's plain TypeError when asked.
 *
 * @example
 * ```ts
 * byteLengthOf(new DataView(new ArrayBuffer(8))); // 8
 * ```
 */
export function byteLengthOf(buffer: ArrayBufferView, name = 'buffer'): number {
  try {
    return buffer.byteLength;
  } catch {
    throw invalidArgValue(name, buffer, 'is detached or out of bounds of its ArrayBuffer');
  }
}

/**
 * Resolves Node-style `(offset, length)` defaults against a buffer and checks
 * both lie inside it. Returns the length to use.
 *
 * @example
 * ```ts
 * validateRange(Buffer.alloc(8), 2, undefined); // 6: the rest of the buffer
 * ```
 */
export function validateRange(buffer: ArrayBufferView, offset: unknown, length: unknown): number {
  const size = byteLengthOf(buffer);
  if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
  if (!Number.isInteger(offset)) throw outOfRange('offset', 'an integer', offset);
  if (offset < 0 || offset > size) throw outOfRange('offset', `>= 0 && <= ${size}`, offset);
  if (length === undefined) return size - offset;
  if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length);
  if (!Number.isInteger(length)) throw outOfRange('length', 'an integer', length);
  if (length < 0 || length > size - offset) throw outOfRange('length', `>= 0 && <= ${size - offset}`, length);
  return length;
}

/**
 * Throws unless `position` is a non-negative safe integer or bigint (or -1 when `allowCurrent`).
 *
 * @example
 * ```ts
 * validatePosition(4096n); // ok
 * validatePosition(-1, 'position', true); // ok: the current offset
 * ```
 */
export function validatePosition(position: unknown, name = 'position', allowCurrent = false): asserts position is number | bigint {
  const min = allowCurrent ? -1 : 0;
  if (typeof position === 'number') {
    if (!Number.isInteger(position)) throw outOfRange(name, 'an integer', position);
    if (position < min || position > Number.MAX_SAFE_INTEGER) throw outOfRange(name, `>= ${min} && <= ${Number.MAX_SAFE_INTEGER}`, position);
  } else if (typeof position === 'bigint') {
    if (position < BigInt(min) || position > INT64_MAX) throw outOfRange(name, `>= ${min} && <= ${INT64_MAX}`, position);
  } else {
    throw invalidArgType(name, 'of type number or bigint', position);
  }
}

/**
 * Throws unless `flags` is a non-negative integer made only of bits in `known`.
 *
 * @example
 * ```ts
 * validateFlags(RWF.NOWAIT, knownRwf);
 * ```
 */
export function validateFlags(flags: unknown, known: number, name = 'flags'): asserts flags is number {
  validateInteger(flags, name, 0, INT32_MAX);
  if ((flags & ~known) !== 0) throw invalidArgValue(name, flags, `has unknown bits 0x${(flags & ~known).toString(16)}`);
}

/**
 * Throws unless `value` is one of `choices`.
 *
 * @example
 * ```ts
 * validateOneOf('tcp4', 'kind', ['tcp4', 'tcp6']);
 * ```
 */
export function validateOneOf<T extends string>(value: unknown, name: string, choices: readonly T[]): asserts value is T {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (!(choices as readonly string[]).includes(value)) throw invalidArgValue(name, value, `must be one of ${choices.join(', ')}`);
}

/**
 * Throws unless `path` is a string without NUL bytes (the kernel would stop
 * at the first one and use a shorter path).
 *
 * @example
 * ```ts
 * validatePath('/tmp/file'); // ok
 * validatePath('/tmp/a\0b'); // TypeError ERR_INVALID_ARG_VALUE
 * ```
 */
export function validatePath(path: unknown, name = 'path'): asserts path is string {
  validateString(path, name);
  if (path.includes('\0')) throw invalidArgValue(name, path, 'must be a string without null bytes');
}

/**
 * Resolves a timeout in milliseconds, as every wait in iomodes takes it:
 * `undefined`, `-1` and `Infinity` wait forever (-1); otherwise a number in
 * `[0, 2147483647]`. Fractions are kept: select waits in microseconds, and
 * poll and epoll round up, so a wait never returns early.
 *
 * @example
 * ```ts
 * validateTimeout(undefined); // -1
 * validateTimeout(2.5); // 2.5
 * ```
 */
export function validateTimeout(timeoutMs: unknown, name = 'timeoutMs'): number {
  if (timeoutMs === undefined || timeoutMs === -1 || timeoutMs === Infinity) return -1;
  if (typeof timeoutMs !== 'number') throw invalidArgType(name, 'of type number', timeoutMs);
  if (!(timeoutMs >= 0 && timeoutMs <= INT32_MAX)) {
    throw outOfRange(name, `-1 (wait forever) or >= 0 && <= ${INT32_MAX}`, timeoutMs);
  }
  return timeoutMs;
}

/**
 * Throws unless `value` is a function.
 *
 * @example
 * ```ts
 * validateFunction(callback, 'callback');
 * ```
 */
export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

/**
 * Throws unless `signal` is an AbortSignal or undefined.
 *
 * @example
 * ```ts
 * validateSignal(options?.signal);
 * ```
 */
export function validateSignal(signal: unknown, name = 'options.signal'): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', signal);
}
