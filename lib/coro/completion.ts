/**
 * Operations on the io_uring backend: the kernel does the I/O and posts the
 * result, and the task resumes with it. No readiness wait, no retried
 * syscall. A task killed or timed out while parked cancels its operation in
 * the kernel; the operation's buffer stays pinned (a native bounce copy)
 * until the cancelled completion is reaped.
 *
 * @internal
 * @module
 */
import { constants as osConstants } from 'node:os';
import { errnoError } from '../errors.js';
import { beforeClose } from '../fd.js';
import { constant, type NativeRing } from '../native.js';
import type { RingOperation } from './backends/uring.js';
import { concurrentUse } from './errors.js';
import { READABLE, WRITABLE, type Hub } from './hub.js';
import { IteratorOperation } from './operation.js';
import type { Task } from './task.js';
import { PARKED, type Instruction } from './types.js';

const NONE = Number.NaN;
const MSG_NOSIGNAL = constant('MSG_NOSIGNAL');

/**
 * The operations in flight per fd: one reader and one writer, as on the
 * readiness backends (a second is ERR_CONCURRENT_USE).
 */
const inFlight = new Map<number, { reader: Completion<unknown> | undefined; writer: Completion<unknown> | undefined }>();

// iomodes' close(fd) wakes the tasks in operations on it with EBADF, as
// the hub does for readiness waiters (gevent: "closed in another greenlet").
beforeClose.add((fd) => {
  const ops = inFlight.get(fd);
  if (ops === undefined) return;
  inFlight.delete(fd);
  const error = errnoError(-osConstants.errno.EBADF, 'close', { fd }, 'the fd was closed while this task waited on it');
  ops.reader?.abandon(error);
  ops.writer?.abandon(error);
});

/**
 * One ring operation a task parks on until its completion. Each kind is a
 * small subclass holding its arguments: the operation object is also what
 * the backend's slot calls back (no closure per operation).
 *
 * @example
 * ```ts
 * const n = yield* new RingTransfer(hub, 'read()', 'read', fd, buf, 0, 64, 0);
 * ```
 */
export abstract class Completion<T> extends IteratorOperation<T> implements RingOperation {
  /** @internal The backend's handle for it (see RingOperation); NaN before the start, -1 once over. */
  handle = NONE;
  #result = NONE;
  /** Set by {@link Completion.fail}: what the task gets instead of a result. */
  #error: { error: unknown } | undefined;
  #task: Task | undefined;
  #ticket = 0;

  /**
   * @param hub the running hub (its backend is io_uring)
   * @param what the operation, for "outside a task" errors (`'read()'`)
   * @param syscall the name in an IoError (`'read'`)
   * @param fd the fd, for errors and the one-reader-one-writer rule
   * @param direction READABLE (read, recv, accept) or WRITABLE (write, send, connect)
   */
  constructor(
    readonly hub: Hub,
    readonly what: string,
    readonly syscall: string,
    readonly fd: number,
    readonly direction: number,
  ) {
    super();
  }

  /** Prepares the operation under `slot` (a native Ring call): 0 or -errno. */
  abstract prepare(ring: NativeRing, slot: number): number;

  /** What the task gets from a result >= 0. */
  protected abstract value(result: number): T;

  /** Whether a result >= 0 leaves more to do in the kernel (a short write): the operation is then prepared again, the task still parked. */
  protected again(_result: number): boolean {
    return false;
  }

  next(): IteratorResult<Instruction, T> {
    const hub = this.hub;
    if (Number.isNaN(this.handle)) {
      const task = hub.task(this.what);
      this.#claim();
      this.#task = task;
      this.#ticket = hub.ticket(task);
      let handle: number;
      try {
        handle = hub.ringIo!.start(this);
      } catch (error) {
        this.handle = NONE;
        this.#release();
        throw error;
      }
      if (handle < 0 && handle > -4096) {
        this.handle = NONE;
        this.#release();
        throw errnoError(handle, this.syscall, { fd: this.fd });
      }
      hub.ioStarted();
      return PARKED;
    }
    if (this.#error !== undefined) throw this.#error.error;
    const result = this.#result;
    if (result < 0) throw errnoError(result, this.syscall, { fd: this.fd });
    return { value: this.value(result), done: true };
  }

  /** @internal The backend: the operation's result (once per start, unless cancelled). */
  complete(result: number): void {
    if (result >= 0 && this.again(result)) {
      let handle: number;
      try {
        handle = this.hub.ringIo!.start(this);
      } catch (error) {
        // The rest of a write could not be prepared (its buffer was
        // detached meanwhile): the task gets why.
        this.fail(error);
        return;
      }
      if (handle >= 0 || handle <= -4096) return;
      result = handle;
    }
    this.#result = result;
    this.#settle();
  }

  /** @internal The backend: it could not start after waiting for a slot; the task gets `error`. */
  fail(error: unknown): void {
    this.#error = { error };
    this.#result = -1;
    this.#settle();
  }

  #settle(): void {
    this.handle = -1;
    this.#release();
    this.hub.ioEnded();
    this.hub.resume(this.#task!, this.#ticket);
  }

  #claim(): void {
    let ops = inFlight.get(this.fd);
    if (ops === undefined) inFlight.set(this.fd, (ops = { reader: undefined, writer: undefined }));
    const reading = this.direction === READABLE;
    const holder = reading ? ops.reader : ops.writer;
    if (holder !== undefined) throw concurrentUse(`fd ${this.fd} is already in a ${reading ? 'read' : 'write'} by task ${holder.#task?.id ?? '?'}`);
    if (reading) ops.reader = this;
    else ops.writer = this;
  }

  #release(): void {
    const ops = inFlight.get(this.fd);
    if (ops === undefined) return;
    if (ops.reader === this) ops.reader = undefined;
    if (ops.writer === this) ops.writer = undefined;
    // The entry stays for the fd's next operation (a Map insert and an
    // object per operation, otherwise); close() removes it.
  }

  // Still in the kernel: stop it there, at once (so a byte written next
  // cannot be taken by it), and count the task out of the waiters.
  #stop(): boolean {
    if (!Number.isNaN(this.#result) || Number.isNaN(this.handle)) return false;
    this.hub.ringIo!.cancel(this.handle);
    this.handle = -1;
    this.#result = -1;
    this.#release();
    this.hub.ioEnded();
    return true;
  }

  /** @internal The fd is being closed: the task wakes with `error`. */
  abandon(error: unknown): void {
    if (this.#stop()) this.hub.fail(this.#task!, this.#ticket, error);
  }

  protected leave(): void {
    this.#stop();
  }
}

/**
 * One `read(2)` at the file position (`IORING_OP_READ`, offset -1), one
 * `recv(2)` or one `send(2)` (`IORING_OP_RECV`/`SEND`, which a stream
 * socket may take less than all of): the bytes moved.
 *
 * @example
 * ```ts
 * const n = yield* new RingTransfer(hub, 'recv()', 'recv', fd, buf, 0, buf.length, 0);
 * ```
 */
export class RingTransfer extends Completion<number> {
  constructor(
    hub: Hub,
    what: string,
    readonly kind: 'read' | 'recv' | 'send',
    fd: number,
    readonly buffer: ArrayBufferView,
    readonly offset: number,
    readonly length: number,
    /** `MSG_*` flags of a recv or send. */
    readonly flags: number,
  ) {
    super(hub, what, kind, fd, kind === 'send' ? WRITABLE : READABLE);
  }

  prepare(ring: NativeRing, slot: number): number {
    const kind = this.kind;
    if (kind === 'read') return ring.read(slot, this.fd, this.buffer, this.offset, this.length, -1, -1, 0);
    return ring[kind](slot, this.fd, this.buffer, this.offset, this.length, this.flags, -1, 0);
  }

  protected value(result: number): number {
    return result;
  }
}

/**
 * Writes all of a range (`IORING_OP_WRITE`, or on a socket `IORING_OP_SEND`
 * with `MSG_NOSIGNAL`, which skips the file layer a write goes through and
 * raises no `SIGPIPE`), again after each short write, the task parked
 * throughout; the task gets `returns`.
 *
 * @example
 * ```ts
 * yield* new RingWriteAll(hub, 'write()', 'write', fd, buf, 0, buf.length, buf.length);
 * ```
 */
export class RingWriteAll<T> extends Completion<T> {
  #done = 0;

  constructor(
    hub: Hub,
    what: string,
    readonly kind: 'write' | 'send',
    fd: number,
    readonly buffer: ArrayBufferView,
    readonly offset: number,
    readonly length: number,
    readonly returns: T,
  ) {
    super(hub, what, kind, fd, WRITABLE);
  }

  prepare(ring: NativeRing, slot: number): number {
    const done = this.#done;
    if (this.kind === 'write') return ring.write(slot, this.fd, this.buffer, this.offset + done, this.length - done, -1, -1, 0);
    return ring.send(slot, this.fd, this.buffer, this.offset + done, this.length - done, MSG_NOSIGNAL, -1, 0);
  }

  protected override again(result: number): boolean {
    this.#done += result;
    // Until every byte is written, as the readiness path's loop does: a
    // short write never reports the whole range as done.
    return this.#done < this.length;
  }

  protected value(): T {
    return this.returns;
  }
}

/**
 * `accept4(2)` (`IORING_OP_ACCEPT`): the connection's fd.
 *
 * @example
 * ```ts
 * const conn = yield* new RingAccept(hub, 'accept()', listener, SOCK_NONBLOCK | SOCK_CLOEXEC);
 * ```
 */
export class RingAccept extends Completion<number> {
  constructor(
    hub: Hub,
    what: string,
    fd: number,
    readonly flags: number,
  ) {
    super(hub, what, 'accept', fd, READABLE);
  }

  prepare(ring: NativeRing, slot: number): number {
    return ring.accept(slot, this.fd, this.flags, -1, 0);
  }

  protected value(result: number): number {
    return result;
  }
}

/**
 * `connect(2)` (`IORING_OP_CONNECT`) to an address from `encodeAddress`.
 *
 * @example
 * ```ts
 * const [family, host, port] = encodeAddress({ host: '127.0.0.1', port: 8080 });
 * yield* new RingConnect(hub, 'connect()', fd, family, host, port);
 * ```
 */
export class RingConnect extends Completion<void> {
  constructor(
    hub: Hub,
    what: string,
    fd: number,
    readonly family: number,
    readonly host: string,
    readonly port: number,
  ) {
    super(hub, what, 'connect', fd, WRITABLE);
  }

  prepare(ring: NativeRing, slot: number): number {
    return ring.connect(slot, this.fd, this.family, this.host, this.port, -1, 0);
  }

  protected value(): void {}
}
