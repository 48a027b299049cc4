/**
 * Non-blocking I/O: the `O_NONBLOCK` status flag, and calls that return
 * {@link WOULD_BLOCK} instead of waiting (or throwing) when the kernel says
 * `EAGAIN`. Pair them with a readiness API (`poll`, `epoll`) to know when to
 * try again.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { check, WOULD_BLOCK, type WouldBlock } from './errors.js';
import { constant, native } from './native.js';
import { validateBoolean, validateBuffer, validateBufferArray, validateFd, validateFlags, validateRange } from './validate.js';
import { O, type SocketOptions, socketFlags } from './fd.js';

const EAGAIN = -osConstants.errno.EAGAIN;
const IOV_MAX = constant('IOV_MAX');

/**
 * `MSG_*` flags for {@link recv} and {@link send}. `MSG_DONTWAIT` is always
 * added; {@link send} adds `MSG_NOSIGNAL` too (no `SIGPIPE`).
 *
 * @example
 * ```ts
 * import { recv, MSG } from 'iomodes';
 * recv(fd, Buffer.alloc(64), 0, 64, MSG.PEEK); // look without consuming
 * ```
 */
export const MSG = Object.freeze({
  PEEK: constant('MSG_PEEK'),
  OOB: constant('MSG_OOB'),
  TRUNC: constant('MSG_TRUNC'),
  WAITALL: constant('MSG_WAITALL'),
});
const knownMsg = Object.values(MSG).reduce((a, b) => a | b, 0);
const MSG_DONTWAIT = constant('MSG_DONTWAIT');
const MSG_NOSIGNAL = constant('MSG_NOSIGNAL');

/**
 * Sets or clears `O_NONBLOCK` on an fd (`fcntl(F_GETFL)` then `F_SETFL`).
 * The flag belongs to the open file description, so it affects every dup of
 * the fd, and every process sharing it.
 *
 * @param blocking `true` to make calls wait, `false` to get `EAGAIN` instead
 * @example
 * ```ts
 * import { pipe, setBlocking, isBlocking } from 'iomodes';
 * const [r] = pipe();
 * setBlocking(r, false);
 * isBlocking(r); // false
 * ```
 */
export function setBlocking(fd: number, blocking: boolean): void {
  validateFd(fd);
  validateBoolean(blocking, 'blocking');
  const flags = check(native.fcntl_getfl(fd), 'fcntl', { fd });
  const next = blocking ? flags & ~O.NONBLOCK : flags | O.NONBLOCK;
  if (next !== flags) check(native.fcntl_setfl(fd, next), 'fcntl', { fd });
}

/**
 * Whether an fd is in blocking mode (`O_NONBLOCK` clear), from `fcntl(F_GETFL)`.
 *
 * @example
 * ```ts
 * import { socket, isBlocking } from 'iomodes';
 * isBlocking(socket('tcp4', { nonblocking: true })); // false
 * ```
 */
export function isBlocking(fd: number): boolean {
  validateFd(fd);
  return (check(native.fcntl_getfl(fd), 'fcntl', { fd }) & O.NONBLOCK) === 0;
}

function settle(r: number, syscall: string, fd: number): number | WouldBlock {
  if (r >= 0) return r;
  if (r === EAGAIN) return WOULD_BLOCK;
  return check(r, syscall, { fd });
}

/**
 * `read(2)` on a non-blocking fd: with nothing to read it returns
 * {@link WOULD_BLOCK}. One syscall per call. The fd must be non-blocking
 * (`pipe({ nonblocking: true })`, {@link setBlocking}): on a blocking fd the
 * kernel waits, and so does this call. For sockets, {@link recv} never waits.
 *
 * @returns bytes read, 0 at end of file, or `WOULD_BLOCK`
 * @example
 * ```ts
 * import { pipe, tryRead, WOULD_BLOCK } from 'iomodes';
 * const [r] = pipe({ nonblocking: true });
 * tryRead(r, Buffer.alloc(64)) === WOULD_BLOCK; // true
 * ```
 */
export function tryRead(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): number | WouldBlock {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  return settle(native.read(fd, buffer, offset, n), 'read', fd);
}

/**
 * `write(2)` on a non-blocking fd: returns {@link WOULD_BLOCK} when the pipe
 * or socket is full. A partial write returns its count. On a blocking fd it
 * waits for room, as `write(2)` does; for sockets, {@link send} never waits.
 *
 * @example
 * ```ts
 * import { tryWrite, WOULD_BLOCK } from 'iomodes';
 * while (tryWrite(w, chunk) !== WOULD_BLOCK); // fill the pipe
 * ```
 */
export function tryWrite(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): number | WouldBlock {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  return settle(native.write(fd, buffer, offset, n), 'write', fd);
}

/**
 * `readv(2)` on a non-blocking fd: {@link WOULD_BLOCK} instead of waiting.
 * (On a blocking fd it waits.)
 *
 * @example
 * ```ts
 * import { tryReadv } from 'iomodes';
 * tryReadv(fd, [Buffer.alloc(16), Buffer.alloc(16)]);
 * ```
 */
export function tryReadv(fd: number, buffers: readonly Uint8Array[]): number | WouldBlock {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  return settle(native.readv(fd, list), 'readv', fd);
}

/**
 * `writev(2)` on a non-blocking fd: {@link WOULD_BLOCK} instead of waiting.
 * (On a blocking fd it waits.)
 *
 * @example
 * ```ts
 * import { tryWritev } from 'iomodes';
 * tryWritev(fd, [Buffer.from('a'), Buffer.from('b')]);
 * ```
 */
export function tryWritev(fd: number, buffers: readonly Uint8Array[]): number | WouldBlock {
  validateFd(fd);
  const list = validateBufferArray(buffers, IOV_MAX);
  return settle(native.writev(fd, list), 'writev', fd);
}

/**
 * `recv(2)` with `MSG_DONTWAIT`: never waits, even on a blocking socket.
 *
 * @param flags extra {@link MSG} flags, such as `MSG.PEEK`
 * @returns bytes received, 0 when the peer shut down, or `WOULD_BLOCK`
 * @example
 * ```ts
 * import { socketpair, recv, WOULD_BLOCK } from 'iomodes';
 * const [a] = socketpair();
 * recv(a, Buffer.alloc(64)) === WOULD_BLOCK; // true, although `a` is blocking
 * ```
 */
export function recv(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, flags = 0): number | WouldBlock {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  validateFlags(flags, knownMsg);
  return settle(native.recv(fd, buffer, offset, n, flags | MSG_DONTWAIT), 'recv', fd);
}

/**
 * `send(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL`: never waits, and a closed
 * peer is an `EPIPE` error rather than a `SIGPIPE`.
 *
 * @returns bytes sent (may be short), or `WOULD_BLOCK` when the buffer is full
 * @example
 * ```ts
 * import { send } from 'iomodes';
 * send(fd, Buffer.from('ping'));
 * ```
 */
export function send(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, flags = 0): number | WouldBlock {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  validateFlags(flags, knownMsg);
  return settle(native.send(fd, buffer, offset, n, flags | MSG_DONTWAIT | MSG_NOSIGNAL), 'send', fd);
}

/**
 * `accept4(2)` on a non-blocking listening socket: returns
 * {@link WOULD_BLOCK} when no connection is pending. (A blocking listener
 * waits for a connection, as {@link accept} does.)
 *
 * @returns the new connection's fd, or `WOULD_BLOCK`
 * @example
 * ```ts
 * import { tryAccept, WOULD_BLOCK } from 'iomodes';
 * const conn = tryAccept(listener, { nonblocking: true });
 * if (conn !== WOULD_BLOCK) console.log('accepted', conn);
 * ```
 */
export function tryAccept(fd: number, options?: SocketOptions): number | WouldBlock {
  validateFd(fd);
  const flags = socketFlags(options as Record<string, unknown>);
  return settle(native.accept4(fd, flags), 'accept4', fd);
}
