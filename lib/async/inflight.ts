/**
 * The Promise side of asynchronous operations, shared by every backend
 * (io_uring, Linux AIO, POSIX AIO, the threadpool): the options every
 * operation takes, the slots that tie a native completion back to its
 * promise, `AbortSignal` handling, the wait queue used when the kernel's
 * queue is full, and reaping through the one watcher.
 *
 * A native backend object stores each operation under a slot number the
 * JS side chose, pins its buffers (native/inflight.h) and, when the kernel
 * completes it, reports `(slot, result)` pairs from `reap()`: `result` is
 * the syscall's (bytes, or `-errno`) or `RESULT_DETACHED`.
 *
 * @internal
 * @module
 */
import { constants as osConstants } from 'node:os';
import { checkDirect, checkDirectVectored } from '../direct.js';
import { directFds } from '../fd.js';
import { codedError, errnoError, invalidArgValue, useAfterClose } from '../errors.js';
import { constant } from '../native.js';
import { validateBuffer, validateOptions, validatePosition, validateRange, validateSignal } from '../validate.js';
import { Watcher, WATCH } from '../watcher.js';

/**
 * What every asynchronous operation accepts.
 *
 * @example
 * ```ts
 * import { createAsyncIo, open, close, type OperationOptions } from 'iomodes';
 * const io = createAsyncIo();
 * const fd = open('/tmp/iomodes.dat', 'w');
 * const options: OperationOptions = { signal: AbortSignal.timeout(5000) };
 * await io.fsync(fd, options); // or rejects with an AbortError after 5 s
 * io.close(); close(fd);
 * ```
 */
export interface OperationOptions {
  /** Aborts the operation: it is cancelled in the kernel and rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * Options of a positional read or write.
 *
 * @example
 * ```ts
 * import { createAsyncIo, open, close, type ReadWriteOptions } from 'iomodes';
 * const io = createAsyncIo();
 * const fd = open('/etc/hostname');
 * const buf = Buffer.alloc(64);
 * const options: ReadWriteOptions = { offset: 16, length: 32, position: 0 }; // up to 32 bytes from the file's start, into buf at 16
 * const n = await io.read(fd, buf, options);
 * io.close(); close(fd);
 * ```
 */
export interface ReadWriteOptions extends OperationOptions {
  /** Where in `buffer` to start; default 0. */
  offset?: number;
  /** How many bytes; default the rest of `buffer` after `offset`. */
  length?: number;
  /**
   * The file position (number or bigint). `null` or `-1` use and advance the
   * fd's current offset, as `read(2)` does (pipes and sockets need it); not
   * every backend can (Linux AIO cannot). Default `null`.
   */
  position?: number | bigint | null;
}

/**
 * Options of `readv`/`writev`.
 *
 * @example
 * ```ts
 * import { createAsyncIo, open, close, type VectoredOptions } from 'iomodes';
 * const io = createAsyncIo();
 * const fd = open('/etc/hostname');
 * const options: VectoredOptions = { position: 0 };
 * const n = await io.readv(fd, [Buffer.alloc(4), Buffer.alloc(60)], options); // 4 bytes, then up to 60 more
 * io.close(); close(fd);
 * ```
 */
export interface VectoredOptions extends OperationOptions {
  /** As in {@link ReadWriteOptions.position}. */
  position?: number | bigint | null;
}

/**
 * One interface over every asynchronous backend: what
 * `createAsyncIo()` returns, and what `Ring`, `LinuxAio`, `PosixAio` and
 * the threadpool backend each implement.
 *
 * @example
 * ```ts
 * import { createAsyncIo, open } from 'iomodes';
 * const io = createAsyncIo();
 * const n = await io.read(open('/etc/hostname'), Buffer.alloc(256), { position: 0 });
 * io.close();
 * ```
 */
export interface AsyncIo {
  /** Which backend this is. */
  readonly backend: AsyncBackend;
  /** Reads into `buffer`; resolves with the bytes read (0 at end of file). */
  read(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number>;
  /** Writes from `buffer`; resolves with the bytes written (maybe fewer). */
  write(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number>;
  /** Reads into several buffers in order; resolves with the total bytes read. */
  readv(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number>;
  /** Writes several buffers in order; resolves with the total bytes written. */
  writev(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number>;
  /** Flushes the file's data and metadata to the device. */
  fsync(fd: number, options?: OperationOptions): Promise<void>;
  /** Flushes the file's data (and the metadata needed to read it back). */
  fdatasync(fd: number, options?: OperationOptions): Promise<void>;
  /** Operations submitted and not yet settled. */
  readonly pending: number;
  /** Whether {@link AsyncIo.close} was called. */
  readonly closed: boolean;
  /**
   * Cancels what is in flight, waits (bounded) for the kernel to let go of
   * every buffer, and releases the backend. Pending promises reject with an
   * `AbortError`. Idempotent.
   */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * The asynchronous backends. `createAsyncIo`'s `'auto'` tries io_uring, then Linux AIO (for `O_DIRECT` files), then the threadpool.
 *
 * @example
 * ```ts
 * import { createAsyncIo, type AsyncBackend } from 'iomodes';
 * const backend: AsyncBackend = 'threadpool'; // available everywhere
 * const io = createAsyncIo({ backend });
 * io.backend; // 'threadpool'
 * io.close();
 * ```
 */
export type AsyncBackend = 'io_uring' | 'linux-aio' | 'posix-aio' | 'threadpool';

/**
 * Node's `AbortError`: `name` `'AbortError'`, `code` `'ABORT_ERR'`, the
 * signal's reason as `cause`.
 *
 * @example
 * ```ts
 * throw abortError(signal.reason);
 * ```
 */
export function abortError(cause?: unknown, message = 'The operation was aborted'): Error & { code: 'ABORT_ERR' } {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: 'ABORT_ERR' };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

const RESULT_DETACHED = constant('IOMODES_RESULT_DETACHED');
const ECANCELED = osConstants.errno.ECANCELED;

/** An operation in flight: what settles its promise. */
class Inflight {
  resolve: (value: number) => void = noop;
  reject: (error: unknown) => void = noop;
  /** `io_uring:read`, for errors. */
  syscall = '';
  fd = -1;
  signal: AbortSignal | undefined = undefined;
  /** Set once the caller aborted (or the backend closed): -ECANCELED is then an AbortError. */
  aborted: unknown = undefined;
  live = false;
  /** A multishot operation's delivery of each result before the last. */
  onEvent: ((result: number) => void) | undefined = undefined;
  /** `new Promise(op.capture)`: made once per slot, not per operation. */
  readonly capture = (resolve: (value: number) => void, reject: (error: unknown) => void): void => {
    this.resolve = resolve;
    this.reject = reject;
  };
}

function noop(): void {}

/**
 * The operations one AbortSignal aborts: a single 'abort' listener per
 * signal, however many operations share it (one listener per operation
 * made Node warn past ten, MaxListenersExceededWarning).
 */
interface SignalWatch {
  /** Slots of its operations in the kernel. */
  readonly slots: Set<number>;
  /** Its operations waiting for a slot: each one's abort. */
  readonly queued: Set<() => void>;
  readonly onAbort: () => void;
}

/**
 * How a backend's native object answers: the pieces the shared table needs.
 */
export interface NativeCompletions {
  /**
   * Fills `out` with `(slot, result)` pairs (or `(slot, result, more)`
   * triples, for a table made with stride 3); returns how many.
   */
  reap(out: Float64Array, wokenByEventfd?: boolean): number;
}

/**
 * The slots of one backend object. A slot holds one operation from
 * submission until its completion is reaped; `capacity` is how many the
 * kernel side holds at once (an io_uring's completion queue, an AIO
 * context's events). Beyond it, operations wait in a FIFO queue of their
 * own, never rejected.
 */
export class InflightTable {
  readonly #slots: Inflight[];
  readonly #free: Int32Array;
  #freeCount: number;
  readonly #waiting: Array<() => void> = [];
  readonly #signals = new Map<AbortSignal, SignalWatch>();
  readonly #reaped: Float64Array;
  readonly #stride: number;
  readonly #submitted: (() => void) | undefined;
  #count = 0;
  #closed = false;
  readonly #what: string;
  /** Asks the backend to cancel a slot's operation (its completion still comes). */
  readonly #cancel: (slot: number) => void;

  /**
   * @param capacity slots (operations in the kernel at once)
   * @param what the owner's name, for use-after-close errors ('Ring')
   * @param cancel cancels one slot's operation in the kernel
   * @param stride 2 for `(slot, result)` completions, 3 for `(slot,
   *   result, more)`, where `more` is 1 for a multishot operation's event
   * @param submitted called after each operation reaches the native side
   *   (also one that waited for a slot): where a backend schedules its flush
   */
  constructor(capacity: number, what: string, cancel: (slot: number) => void, stride: 2 | 3 = 2, submitted?: () => void) {
    this.#slots = Array.from({ length: capacity }, () => new Inflight());
    this.#free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i;
    this.#freeCount = capacity;
    this.#stride = stride;
    this.#submitted = submitted;
    this.#reaped = new Float64Array(stride * Math.min(capacity, 1024));
    this.#what = what;
    this.#cancel = cancel;
  }

  /** Operations submitted and not yet settled, queued ones included. */
  get pending(): number {
    return this.#count + this.#waiting.length;
  }

  /** Operations in the kernel (holding a slot). */
  get inKernel(): number {
    return this.#count;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws `ERR_USE_AFTER_CLOSE` once closed. */
  checkOpen(): void {
    if (this.#closed) throw useAfterClose(this.#what);
  }

  /**
   * Starts an operation: `submit(slot)` hands it to the native side (and
   * returns 0 or `-errno`), now if a slot is free, else once one is. The
   * promise settles from {@link InflightTable.reap}.
   *
   * @param syscall the operation's name in errors, `'io_uring:read'`
   * @param fd the fd, for errors (-1 if none)
   * @param signal aborts the operation
   * @param submit prepares the operation under `slot`; 0 or -errno
   * @param onEvent a multishot operation's events, before its last result
   */
  start(syscall: string, fd: number, signal: AbortSignal | undefined, submit: (slot: number) => number, onEvent?: (result: number) => void): Promise<number> {
    this.checkOpen();
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    if (this.#freeCount > 0) {
      // The common case, a free slot: no queue, no closure of its own.
      const slot = this.#free[--this.#freeCount]!;
      try {
        this.#submit(slot, submit, syscall, fd);
      } catch (error) {
        return Promise.reject(error);
      }
      const promise = new Promise<number>(this.#slots[slot]!.capture);
      this.#arm(slot, syscall, fd, signal, onEvent);
      return promise;
    }
    return new Promise<number>((resolve, reject) => {
      const go = (): void => {
        if (signal !== undefined) this.#unwatch(signal, -1, onQueuedAbort);
        if (this.#closed) return reject(abortError(undefined, `The ${this.#what} was closed`));
        if (signal?.aborted) return reject(abortError(signal.reason));
        const slot = this.#free[--this.#freeCount]!;
        try {
          this.#submit(slot, submit, syscall, fd);
        } catch (error) {
          return reject(error);
        }
        this.#slots[slot]!.capture(resolve, reject);
        this.#arm(slot, syscall, fd, signal, onEvent);
      };
      this.#waiting.push(go);
      // Aborted while it waits for a slot: it leaves the queue at once.
      const onQueuedAbort = (): void => {
        const at = this.#waiting.indexOf(go);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(abortError(signal!.reason));
      };
      if (signal !== undefined) this.#watch(signal).queued.add(onQueuedAbort);
    });
  }

  /** Hands the operation to the native side under `slot`; if it refuses, frees the slot and throws why. */
  #submit(slot: number, submit: (slot: number) => number, syscall: string, fd: number): void {
    let r: number;
    try {
      r = submit(slot);
    } catch (error) {
      // A buffer detached or shrunk while the operation waited for a
      // slot: the native side refuses it. Only this operation fails.
      this.#freeCount++;
      throw error;
    }
    if (r < 0) {
      this.#freeCount++;
      throw errnoError(r, syscall, fd >= 0 ? { fd } : undefined);
    }
  }

  /** The slot's operation is in the kernel, its promise captured: {@link InflightTable.settle} settles it. */
  #arm(slot: number, syscall: string, fd: number, signal: AbortSignal | undefined, onEvent: ((result: number) => void) | undefined): void {
    const op = this.#slots[slot]!;
    op.syscall = syscall;
    op.fd = fd;
    op.live = true;
    op.aborted = undefined;
    op.onEvent = onEvent;
    this.#count++;
    if (signal !== undefined) {
      op.signal = signal;
      this.#watch(signal).slots.add(slot);
    }
    this.#submitted?.();
  }

  /** The signal's watch, listening from its first operation on. */
  #watch(signal: AbortSignal): SignalWatch {
    let watch = this.#signals.get(signal);
    if (watch === undefined) {
      const slots = new Set<number>();
      const queued = new Set<() => void>();
      const onAbort = (): void => {
        this.#signals.delete(signal);
        for (const slot of slots) {
          this.#slots[slot]!.aborted = signal.reason;
          this.#cancel(slot);
        }
        for (const abort of queued) abort();
      };
      watch = { slots, queued, onAbort };
      this.#signals.set(signal, watch);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return watch;
  }

  /** An operation of `signal`'s leaves its watch (a slot, or a queued abort); the last one removes the listener. */
  #unwatch(signal: AbortSignal, slot: number, queued?: () => void): void {
    const watch = this.#signals.get(signal);
    if (watch === undefined) return;
    if (queued !== undefined) watch.queued.delete(queued);
    else watch.slots.delete(slot);
    if (watch.slots.size === 0 && watch.queued.size === 0) {
      this.#signals.delete(signal);
      signal.removeEventListener('abort', watch.onAbort);
    }
  }

  /**
   * Settles every completion the native side has ready. Returns how many.
   *
   * @param source the backend's native object
   * @param woken whether the eventfd woke us (so the native side drains it)
   */
  reap(source: NativeCompletions, woken = true): number {
    const out = this.#reaped;
    const stride = this.#stride;
    let total = 0;
    for (;;) {
      const n = source.reap(out, woken);
      for (let i = 0; i < n; i++) {
        const at = stride * i;
        if (stride === 3 && out[at + 2] === 1) this.#slots[out[at]!]?.onEvent?.(out[at + 1]!);
        else this.settle(out[at]!, out[at + 1]!);
      }
      total += n;
      if (n < out.length / stride) break;
    }
    return total;
  }

  /** Settles one slot's operation with its result. */
  settle(slot: number, result: number): void {
    const op = this.#slots[slot];
    if (op === undefined || !op.live) return;
    const { resolve, reject, syscall, fd, aborted } = op;
    if (op.signal !== undefined) this.#unwatch(op.signal, slot);
    op.live = false;
    op.signal = undefined;
    op.onEvent = undefined;
    op.resolve = noop;
    op.reject = noop;
    this.#count--;
    this.#free[this.#freeCount++] = slot;
    if (result >= 0) resolve(result);
    else if (result === RESULT_DETACHED) {
      reject(codedError(Error, 'ERR_INVALID_STATE', `${syscall}: the buffer was detached or shrunk while the operation was in flight; the bytes read were dropped`));
    } else if (aborted !== undefined && result === -ECANCELED) reject(abortError(aborted === true ? undefined : aborted));
    else reject(errnoError(result, syscall, fd >= 0 ? { fd } : undefined));
    // A freed slot takes the next waiting operation.
    while (this.#freeCount > 0 && this.#waiting.length > 0) this.#waiting.shift()!();
  }

  /**
   * Marks the table closed: queued operations reject, and every operation
   * still in the kernel will reject with an `AbortError` when its
   * (cancelled) completion is reaped. Returns the slots in the kernel, for
   * the backend to cancel.
   */
  close(): number[] {
    this.#closed = true;
    const live: number[] = [];
    this.#slots.forEach((op, slot) => {
      if (op.live) {
        op.aborted ??= true;
        live.push(slot);
      }
    });
    const waiting = this.#waiting.splice(0);
    for (const go of waiting) go();
    return live;
  }

  /**
   * Settles what the kernel never completed (a teardown that timed out):
   * each rejects with an `AbortError`.
   */
  abandon(): void {
    this.#slots.forEach((op, slot) => {
      if (op.live) {
        op.aborted = true;
        this.settle(slot, -ECANCELED);
      }
    });
  }
}

/**
 * Reaps a backend's completions whenever its eventfd is readable: one
 * wake-up settles every ready completion. Unref'd while nothing is in
 * flight, so an idle backend does not keep the process alive.
 */
export class CompletionWatcher {
  readonly #watcher: Watcher;
  #refed = true;

  /**
   * @param eventfd the fd the kernel signals on completion
   * @param onReady drains the eventfd and reaps
   */
  constructor(eventfd: number, onReady: () => void) {
    this.#watcher = new Watcher(eventfd, onReady);
    this.#watcher.start(WATCH.READABLE);
    this.#refed = false;
    this.#watcher.unref();
  }

  /**
   * Keeps the loop alive while operations are in flight, and only then. The
   * unref waits a loop turn: an operation started as soon as the last one
   * settled (a read loop at depth 1) keeps the watcher ref'd, instead of
   * paying an unref and a ref per operation.
   */
  ref(busy: boolean): void {
    this.#busy = busy;
    if (busy) {
      if (!this.#refed) {
        this.#refed = true;
        this.#watcher.ref();
      }
    } else if (this.#refed && !this.#unrefQueued) {
      this.#unrefQueued = true;
      setImmediate(this.#unrefIfIdle).unref();
    }
  }

  #busy = false;
  #unrefQueued = false;
  readonly #unrefIfIdle = (): void => {
    this.#unrefQueued = false;
    if (this.#busy || !this.#refed || this.#watcher.closed) return;
    this.#refed = false;
    this.#watcher.unref();
  };

  close(): void {
    this.#watcher.close();
  }
}

/** A read or write's resolved arguments: the range and the position. */
export interface ResolvedReadWrite {
  offset: number;
  length: number;
  /** -1 for the current file position. */
  position: number | bigint;
  signal: AbortSignal | undefined;
}

/**
 * Validates a read or write's buffer and options (Node's `fs.read` rules).
 *
 * @param allowCurrent whether the backend can use the fd's current position
 */
export function resolveReadWrite(fd: number, buffer: unknown, options: unknown, allowCurrent: boolean): ResolvedReadWrite {
  validateBuffer(buffer);
  validateOptions(options);
  const o = (options ?? {}) as ReadWriteOptions;
  const offset = o.offset ?? 0;
  const length = validateRange(buffer, offset, o.length);
  const position = resolvePosition(o.position, allowCurrent);
  const signal = o.signal;
  validateSignal(signal);
  // An O_DIRECT fd: a misaligned length or position is refused here, as
  // for blocking I/O. Not the address: the kernel sees the bounce buffer.
  if (directFds.size !== 0) checkDirect(fd, buffer, offset, length, position, false);
  return { offset, length, position, signal };
}

/**
 * Before a vectored operation on an fd opened with `O_DIRECT`: each
 * buffer's length, and the position, must be aligned (not the addresses:
 * the kernel sees the bounce buffer).
 *
 * @example
 * ```ts
 * checkVectored(fd, views, position);
 * ```
 */
export function checkVectored(fd: number, views: readonly ArrayBufferView[], position: number | bigint): void {
  if (directFds.size !== 0) checkDirectVectored(fd, views, position, false);
}

/**
 * A position option: `null`/`undefined`/`-1` is the current position (-1),
 * where the backend allows it.
 */
export function resolvePosition(position: unknown, allowCurrent: boolean, name = 'options.position'): number | bigint {
  if (position === undefined || position === null) position = -1;
  validatePosition(position, name, true);
  if (!allowCurrent && (position === -1 || position === -1n)) {
    throw invalidArgValue(name, position, 'must be a file position: this backend cannot use the current offset');
  }
  return position;
}

/**
 * An operation's options that only carry a `signal` (fsync): validated.
 *
 * @example
 * ```ts
 * const signal = resolveSignal(options);
 * ```
 */
export function resolveSignal(options: unknown): AbortSignal | undefined {
  validateOptions(options);
  const signal = (options as OperationOptions | undefined)?.signal;
  validateSignal(signal);
  return signal;
}

/** For `.then(toVoid)`: an operation whose result is not the caller's business. */
export function toVoid(): void {}
