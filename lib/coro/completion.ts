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
import type { NativeRing } from '../native.js';
import { concurrentUse } from './errors.js';
import { READABLE, WRITABLE, type Hub } from './hub.js';
import { IteratorOperation } from './operation.js';
import type { Task } from './task.js';
import { PARKED, type Instruction, type Operation } from './types.js';

/** Prepares one ring operation under `slot` (a native Ring call): 0 or -errno. */
export type Prepare = (ring: NativeRing, slot: number) => number;

const NONE = Number.NaN;

/**
 * The operations in flight per fd: one reader and one writer, as on the
 * readiness backends (a second is ERR_CONCURRENT_USE).
 */
const inFlight = new Map<number, { reader: Completion | undefined; writer: Completion | undefined }>();

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
 * One ring operation a task parks on until its completion.
 *
 * @example
 * ```ts
 * const n = yield* new Completion(hub, 'read()', 'read', fd, READABLE, (ring, slot) => ring.read(slot, fd, buf, 0, 64, -1, -1, 0));
 * ```
 */
export class Completion extends IteratorOperation<number> {
  #handle = NONE;
  #result = NONE;
  #task: Task | undefined;
  #ticket = 0;

  /**
   * @param hub the running hub (its backend is io_uring)
   * @param what the operation, for "outside a task" errors (`'read()'`)
   * @param syscall the name in an IoError (`'read'`)
   * @param fd the fd, for errors and the one-reader-one-writer rule
   * @param direction READABLE (read, recv, accept) or WRITABLE (write, send, connect)
   * @param prepare the native call that prepares the operation
   */
  constructor(
    readonly hub: Hub,
    readonly what: string,
    readonly syscall: string,
    readonly fd: number,
    readonly direction: number,
    readonly prepare: Prepare,
  ) {
    super();
  }

  next(): IteratorResult<Instruction, number> {
    const hub = this.hub;
    if (Number.isNaN(this.#handle)) {
      const task = hub.task(this.what);
      this.#claim();
      const ticket = hub.ticket(task);
      const handle = hub.ringIo!.start(this.prepare, (result) => {
        this.#result = result;
        this.#handle = -1;
        this.#release();
        hub.ioEnded();
        hub.resume(task, ticket);
      });
      if (handle < 0 && handle > -4096) {
        this.#release();
        throw errnoError(handle, this.syscall, { fd: this.fd });
      }
      this.#handle = handle;
      this.#task = task;
      this.#ticket = ticket;
      hub.ioStarted();
      return PARKED;
    }
    const result = this.#result;
    if (result < 0) throw errnoError(result, this.syscall, { fd: this.fd });
    return { value: result, done: true };
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
    if (!Number.isNaN(this.#result) || Number.isNaN(this.#handle)) return false;
    this.hub.ringIo!.cancel(this.#handle);
    this.#handle = -1;
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
 * Writes all of a range through the ring, one operation per short write.
 *
 * @example
 * ```ts
 * yield* writingAll(hub, 'write()', fd, buffer, 0, buffer.length, 'write');
 * ```
 */
export function* writingAll(hub: Hub, what: string, fd: number, buffer: ArrayBufferView, offset: number, length: number, kind: 'write' | 'send'): Generator<Instruction, number, unknown> {
  let done = 0;
  while (done < length) {
    const at = offset + done;
    const left = length - done;
    done += yield* new Completion(hub, what, kind, fd, WRITABLE, kind === 'write' ? (ring, slot) => ring.write(slot, fd, buffer, at, left, -1, -1, 0) : (ring, slot) => ring.send(slot, fd, buffer, at, left, 0, -1, 0));
  }
  return length;
}

/** The operation type, for signatures. */
export type RingOperation = Operation<number>;
