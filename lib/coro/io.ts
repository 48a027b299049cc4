/**
 * Cooperative I/O on non-blocking fds: each operation tries the syscall
 * first, and only when the kernel says `EAGAIN` parks the task until the hub
 * sees the fd ready, then tries again. Other tasks run meanwhile. On the
 * io_uring backend each operation is one ring operation instead: the task
 * parks until the kernel posts its result (fds need not be non-blocking
 * there, and regular files are read and written without blocking the
 * thread).
 *
 * The fds must be non-blocking (`pipe({ nonblocking: true })`,
 * `socket(kind, { nonblocking: true })`, `setBlocking(fd, false)`): on a
 * blocking fd the first try would block the whole thread. One task at a
 * time may wait to read an fd, and one to write it: a second is
 * `ERR_CONCURRENT_USE`. Closing an fd (with iomodes' `close`) wakes the
 * tasks waiting on it with `EBADF`.
 *
 * @module
 */
import { WOULD_BLOCK, type WouldBlock } from '../errors.js';
import { close as closeFd, connect as connectNow, encodeAddress, finishConnect, socketFlags, type SocketAddress, type SocketOptions } from '../fd.js';
import { recv as recvNow, send as sendNow, tryAccept, tryRead, tryWrite } from '../nonblocking.js';
import { validateBuffer, validateFd, validateRange } from '../validate.js';
import { RingAccept, RingConnect, RingTransfer, RingWriteAll } from './completion.js';
import { READABLE, useHub, WRITABLE } from './hub.js';
import { PARK, type Instruction, type Operation } from './types.js';

/**
 * Parks the running task until `fd` is readable (or hung up, or in error).
 * Spurious wake-ups are possible: the next read may still say `EAGAIN`.
 *
 * @throws {@link iomodes!IoError} `EBADF` if the fd is not open (or is closed while
 *   waiting), `EPERM` for a regular file (always readable);
 *   `ERR_CONCURRENT_USE` if another task waits to read it
 * @example
 * ```ts
 * import { waitReadable } from 'iomodes/coro';
 * yield* waitReadable(fd);
 * ```
 */
export function waitReadable(fd: number): Operation<void> {
  validateFd(fd);
  return waiting(fd, READABLE);
}

/**
 * Parks the running task until `fd` is writable (or in error).
 *
 * @throws as {@link waitReadable}
 * @example
 * ```ts
 * import { waitWritable } from 'iomodes/coro';
 * yield* waitWritable(fd);
 * ```
 */
export function waitWritable(fd: number): Operation<void> {
  validateFd(fd);
  return waiting(fd, WRITABLE);
}

/** @internal The wait under every operation here (no argument checks). */
export function* waiting(fd: number, direction: number): Generator<Instruction, void, unknown> {
  const hub = useHub();
  const task = hub.task(direction === READABLE ? 'waitReadable()' : 'waitWritable()');
  const ticket = hub.ticket(task);
  hub.addWaiter(fd, direction, task, ticket);
  try {
    yield PARK;
  } finally {
    hub.removeWaiter(fd, direction, task);
  }
}

// Tries `attempt` (a non-blocking syscall) until it does not say
// WOULD_BLOCK, parking the task on the fd between tries.
function* retrying<T>(fd: number, direction: number, attempt: () => T | WouldBlock): Generator<Instruction, T, unknown> {
  for (;;) {
    const result = attempt();
    if (result !== WOULD_BLOCK) return result as T;
    yield* waiting(fd, direction);
  }
}

/**
 * Reads into `buffer` (`read(2)`), waiting cooperatively while there is
 * nothing to read.
 *
 * @returns the number of bytes read; 0 at end of file
 * @example
 * ```ts
 * import { read } from 'iomodes/coro';
 * const n = yield* read(fd, buf);
 * ```
 */
export function read(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): Operation<number> {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  const hub = useHub();
  if (hub.ringIo) return new RingTransfer(hub, 'read()', 'read', fd, buffer, offset, n, 0);
  return retrying(fd, READABLE, () => tryRead(fd, buffer, offset, n));
}


/**
 * Writes all of `buffer` (`write(2)`, as many times as it takes), waiting
 * cooperatively whenever the fd is full.
 *
 * @returns the number of bytes written: all of them
 * @example
 * ```ts
 * import { write } from 'iomodes/coro';
 * yield* write(fd, Buffer.from('hello\n'));
 * ```
 */
export function write(fd: number, buffer: ArrayBufferView, offset = 0, length?: number): Operation<number> {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  const hub = useHub();
  if (hub.ringIo) return new RingWriteAll(hub, 'write()', 'write', fd, buffer, offset, n, n);
  return writing(fd, buffer, offset, n);
}

function* writing(fd: number, buffer: ArrayBufferView, offset: number, length: number): Generator<Instruction, number, unknown> {
  let done = 0;
  while (done < length) {
    const n = tryWrite(fd, buffer, offset + done, length - done);
    if (n === WOULD_BLOCK) yield* waiting(fd, WRITABLE);
    else done += n;
  }
  return length;
}

/**
 * `recv(2)` on a socket, waiting cooperatively while nothing has arrived.
 *
 * @param flags `MSG.PEEK`, `MSG.WAITALL`, ...
 * @returns bytes received; 0 when the peer has shut down
 * @example
 * ```ts
 * import { recv } from 'iomodes/coro';
 * const n = yield* recv(sock, buf);
 * ```
 */
export function recv(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, flags = 0): Operation<number> {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  const hub = useHub();
  if (hub.ringIo) return new RingTransfer(hub, 'recv()', 'recv', fd, buffer, offset, n, flags);
  return retrying(fd, READABLE, () => recvNow(fd, buffer, offset, n, flags));
}


/**
 * `send(2)` on a socket, once: waits cooperatively while the socket is full,
 * then sends what fits (a stream socket may take less than all; use
 * {@link write} to send everything).
 *
 * @returns bytes sent
 * @example
 * ```ts
 * import { send } from 'iomodes/coro';
 * const n = yield* send(sock, Buffer.from('ping'));
 * ```
 */
export function send(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, flags = 0): Operation<number> {
  validateFd(fd);
  validateBuffer(buffer);
  const n = validateRange(buffer, offset, length);
  const hub = useHub();
  if (hub.ringIo) return new RingTransfer(hub, 'send()', 'send', fd, buffer, offset, n, flags);
  return retrying(fd, WRITABLE, () => sendNow(fd, buffer, offset, n, flags));
}


/**
 * Accepts a connection on a non-blocking listening socket (`accept4(2)`),
 * waiting cooperatively until one arrives. The new socket is non-blocking
 * and close-on-exec unless `options` say otherwise.
 *
 * @returns the connected socket's fd
 * @example
 * ```ts
 * import { accept } from 'iomodes/coro';
 * const conn = yield* accept(listener);
 * ```
 */
export function accept(fd: number, options: SocketOptions = { nonblocking: true }): Operation<number> {
  validateFd(fd);
  const flags = socketFlags(options as Record<string, unknown>); // throws on bad options, before any wait
  const hub = useHub();
  if (hub.ringIo) return new RingAccept(hub, 'accept()', fd, flags);
  return retrying(fd, READABLE, () => tryAccept(fd, options));
}


/**
 * Connects a non-blocking socket (`connect(2)`), waiting cooperatively for
 * the handshake; throws the connection's error (`ECONNREFUSED`, ...).
 *
 * @example
 * ```ts
 * import { socket } from 'iomodes';
 * import { connect } from 'iomodes/coro';
 * const fd = socket('tcp4', { nonblocking: true });
 * yield* connect(fd, { host: '127.0.0.1', port: 8080 });
 * ```
 */
export function connect(fd: number, address: SocketAddress): Operation<void> {
  validateFd(fd);
  return connecting(fd, address);
}

function* connecting(fd: number, address: SocketAddress): Generator<Instruction, void, unknown> {
  const hub = useHub();
  if (hub.ringIo) {
    const [family, host, port] = encodeAddress(address);
    yield* new RingConnect(hub, 'connect()', fd, family, host, port);
    return;
  }
  if (connectNow(fd, address)) return;
  yield* waiting(fd, WRITABLE);
  finishConnect(fd);
}

/**
 * Closes `fd`, first waking any task waiting on it with `EBADF` (gevent's
 * "closed in another greenlet") and taking its registration down. The same
 * as iomodes' `close`, which does this for every fd.
 *
 * @example
 * ```ts
 * import { close } from 'iomodes/coro';
 * close(conn);
 * ```
 */
export function close(fd: number): void {
  closeFd(fd);
}
