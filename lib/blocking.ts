/**
 * Blocking I/O: `read`, `write`, their positional (`pread`/`pwrite`) and
 * vectored (`readv`/`writev`, `preadv2`/`pwritev2`) forms, and `fsync`.
 *
 * **These block the calling thread** until the kernel has data or room: on
 * Node's main thread that stalls the event loop (timers, sockets, everything).
 * That is what you want in scripts, in worker threads, and when measuring the
 * blocking model itself; for servers, use non-blocking or multiplexed I/O.
 * Nothing interrupts a thread inside the syscall: `worker.terminate()` takes
 * effect, and `process.exit()` (which waits for workers) returns, only once a
 * worker's blocked call does.
 * Regular files always "block" only for as long as the page cache or disk
 * takes.
 *
 * Each call is one syscall (restarted on `EINTR`). Short counts are returned
 * as they come, as the kernel returns them: a pipe read may return fewer bytes
 * than asked, and `0` means end of file.
 *
 * @module
 */
import { check } from './errors.js';
import { checkDirect, checkDirectVectored } from './direct.js';
import { directFds } from './fd.js';
import { constant, native } from './native.js';
import { validateBuffer, validateBufferArray, validateFd, validateFlags, validatePosition, validateRange } from './validate.js';

/**
 * `RWF_*` flags for {@link preadv2} and {@link pwritev2}. Combine with `|`.
 *
 * @example
 * ```ts
 * import { preadv2, RWF } from 'iomodes';
 * preadv2(fd, [Buffer.alloc(4096)], 0, RWF.NOWAIT); // EAGAIN if not in the page cache
 * ```
 */
export const RWF = Object.freeze({
  /** High-priority request, polled (O_DIRECT on a polling-capable device). */
  HIPRI: constant('RWF_HIPRI'),
  /** Per-call `O_DSYNC`. */
  DSYNC: constant('RWF_DSYNC'),
  /** Per-call `O_SYNC`. */
  SYNC: constant('RWF_SYNC'),
  /** Do not wait for data not in the page cache: fail with `EAGAIN`. */
  NOWAIT: constant('RWF_NOWAIT'),
  /** Per-call `O_APPEND`. */
  APPEND: constant('RWF_APPEND'),
  /**
   * Uncached buffered I/O (Linux 6.14+, where the filesystem supports it):
   * through the page cache, whose pages are dropped once the I/O is done.
   * `EOPNOTSUPP` elsewhere; `uncachedIoAvailable()` probes.
   */
  DONTCACHE: constant('RWF_DONTCACHE'),
});
const knownRwf = Object.values(RWF).reduce((a, b) => a | b, 0);
const IOV_MAX = constant('IOV_MAX');

/**
 * Reads into `buffer` with `read(2)` from the fd's current offset.
 *
 * @param offset where in `buffer` to start writing; default 0
 * @param length how many bytes at most; default the rest of `buffer`
 * @returns the number of bytes read; 0 at end of file
 * @throws {@link IoError} `EAGAIN` on an empty non-blocking fd (use {@link tryRead})
 * @example
 * ```ts
 * import { open, read } from 'iomodes';
 * const buf = Buffer.alloc(4096);
 * const n = read(open('/etc/hostname'), buf);
 * console.log(buf.subarray(0, n).toString());
 * ```
 */
export function read(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): number {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  if (directFds.size !== 0) checkDirect(fd, buffer, offset, n, -1);
  return check(native.read(fd, buffer, offset, n), 'read', { fd });
}

/**
 * Writes from `buffer` with `write(2)` at the fd's current offset.
 *
 * @returns the number of bytes written; may be short on pipes and sockets
 * @throws {@link IoError} `EAGAIN` on a full non-blocking fd (use {@link tryWrite})
 * @example
 * ```ts
 * import { write } from 'iomodes';
 * write(1, Buffer.from('hello\n'));
 * ```
 */
export function write(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): number {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  if (directFds.size !== 0) checkDirect(fd, buffer, offset, n, -1);
  return check(native.write(fd, buffer, offset, n), 'write', { fd });
}

/**
 * Reads at file position `position` with `pread(2)`, leaving the fd's offset
 * alone. One syscall per call.
 *
 * @param position byte position in the file (number or bigint)
 * @returns bytes read; 0 past end of file
 * @example
 * ```ts
 * import { open, pread } from 'iomodes';
 * const buf = Buffer.alloc(4096);
 * pread(open('/etc/passwd'), buf, 0);
 * ```
 */
export function pread(fd: number, buffer: ArrayBufferView, position: number | bigint, offset = 0, length?: number): number {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  validatePosition(position);
  if (directFds.size !== 0) checkDirect(fd, buffer, offset, n, position);
  return check(native.pread(fd, buffer, offset, n, position), 'pread', { fd });
}

/**
 * Writes at file position `position` with `pwrite(2)`, leaving the fd's
 * offset alone.
 *
 * @example
 * ```ts
 * import { open, pwrite } from 'iomodes';
 * pwrite(open('/tmp/x', 'w'), Buffer.from('abc'), 10);
 * ```
 */
export function pwrite(fd: number, buffer: ArrayBufferView, position: number | bigint, offset = 0, length?: number): number {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  validatePosition(position);
  if (directFds.size !== 0) checkDirect(fd, buffer, offset, n, position);
  return check(native.pwrite(fd, buffer, offset, n, position), 'pwrite', { fd });
}

/**
 * Scatter read with `readv(2)`: fills `buffers` in order, in one syscall.
 *
 * @returns total bytes read
 * @example
 * ```ts
 * import { readv } from 'iomodes';
 * const header = Buffer.alloc(8), body = Buffer.alloc(4088);
 * readv(fd, [header, body]);
 * ```
 */
export function readv(fd: number, buffers: readonly Uint8Array[]): number {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  if (directFds.size !== 0) checkDirectVectored(fd, list, -1);
  return check(native.readv(fd, list), 'readv', { fd });
}

/**
 * Gather write with `writev(2)`: writes `buffers` in order, in one syscall.
 *
 * @returns total bytes written
 * @example
 * ```ts
 * import { writev } from 'iomodes';
 * writev(1, [Buffer.from('hello, '), Buffer.from('world\n')]);
 * ```
 */
export function writev(fd: number, buffers: readonly Uint8Array[]): number {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  if (directFds.size !== 0) checkDirectVectored(fd, list, -1);
  return check(native.writev(fd, list), 'writev', { fd });
}

/**
 * `preadv2(2)`: a scatter read at `position` (or, with -1, at the fd's
 * current offset, which then advances), with per-call {@link RWF} flags.
 *
 * @example
 * ```ts
 * import { preadv2, RWF } from 'iomodes';
 * try { preadv2(fd, [Buffer.alloc(4096)], 0, RWF.NOWAIT); }
 * catch (err) { // EAGAIN: the data is not in the page cache
 * }
 * ```
 */
export function preadv2(fd: number, buffers: readonly Uint8Array[], position: number | bigint = -1, flags = 0): number {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  validatePosition(position, 'position', true);
  validateFlags(flags, knownRwf);
  if (directFds.size !== 0) checkDirectVectored(fd, list, position);
  return check(native.preadv2(fd, list, position, flags), 'preadv2', { fd });
}

/**
 * `pwritev2(2)`: a gather write at `position` (-1: current offset), with
 * per-call {@link RWF} flags such as `RWF.DSYNC` or `RWF.APPEND`.
 *
 * @example
 * ```ts
 * import { pwritev2, RWF } from 'iomodes';
 * pwritev2(fd, [Buffer.from('log line\n')], -1, RWF.APPEND | RWF.DSYNC);
 * ```
 */
export function pwritev2(fd: number, buffers: readonly Uint8Array[], position: number | bigint = -1, flags = 0): number {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  validatePosition(position, 'position', true);
  validateFlags(flags, knownRwf);
  if (directFds.size !== 0) checkDirectVectored(fd, list, position);
  return check(native.pwritev2(fd, list, position, flags), 'pwritev2', { fd });
}

/**
 * Flushes a file's data and metadata to its device with `fsync(2)`.
 *
 * @example
 * ```ts
 * import { fsync } from 'iomodes';
 * fsync(fd);
 * ```
 */
export function fsync(fd: number): void {
  validateFd(fd);
  check(native.fsync(fd), 'fsync', { fd });
}

/**
 * Flushes a file's data (and only the metadata needed to read it back) with
 * `fdatasync(2)`.
 *
 * @example
 * ```ts
 * import { fdatasync } from 'iomodes';
 * fdatasync(fd);
 * ```
 */
export function fdatasync(fd: number): void {
  validateFd(fd);
  check(native.fdatasync(fd), 'fdatasync', { fd });
}
