/**
 * POSIX AIO, the textbook asynchronous model of `<aio.h>`: `aio_read`,
 * `aio_write`, `aio_fsync`, `lio_listio`, `aio_error`/`aio_return`,
 * `aio_cancel`. glibc implements it in user space, with a pool of threads
 * that run `pread`/`pwrite`/`fsync` for you; each completion starts a
 * notification thread (`SIGEV_THREAD`) that wakes this process's event loop
 * through an eventfd. No JavaScript ever runs off the loop thread.
 *
 * @module
 */
import { errnoError, illegalConstructor, invalidArgValue } from '../errors.js';
import { constant, native, type NativePosixAio } from '../native.js';
import { validateBufferArray, validateFd, validateInteger, validateOptions, validateSignal } from '../validate.js';
import {
  type AsyncIo,
  CompletionWatcher,
  InflightTable,
  type OperationOptions,
  type ReadWriteOptions,
  checkVectored,
  resolvePosition,
  resolveReadWrite,
  resolveSignal,
  type VectoredOptions,
} from './inflight.js';

/**
 * Options of {@link PosixAio.create}.
 *
 * @example
 * ```ts
 * import { PosixAio, type PosixAioOptions } from 'iomodes';
 * const options: PosixAioOptions = { capacity: 64 }; // more operations wait in PosixAio's own queue
 * const io = PosixAio.create(options);
 * io.close();
 * ```
 */
export interface PosixAioOptions {
  /**
   * How many operations glibc holds at once (1 to 65536; default 1024).
   * More wait in a queue of their own, never rejected.
   */
  capacity?: number;
}

const createKey = Symbol('PosixAio.create');
const MAX_CAPACITY = constant('POSIX_AIO_MAX_CAPACITY');
const IOV_MAX = constant('IOV_MAX');
const CLOSE_TIMEOUT_MS = 2000;
const SWEEP_MS = 250;
const KNOWN_OPTIONS = new Set(['capacity']);

/**
 * Asynchronous reads, writes and syncs through POSIX AIO (glibc's
 * `aio_*`). Operations started in one turn of the event loop go to glibc
 * together, in one `lio_listio(LIO_NOWAIT)`; `fsync`/`fdatasync` use
 * `aio_fsync` (`O_SYNC`/`O_DSYNC`), queued after the writes started before
 * them. A position is required: POSIX AIO has no "current offset" (on a
 * pipe or socket glibc ignores it, so pass `0`). Every buffer is copied
 * through a native bounce buffer, so detaching or collecting it while an
 * operation is in flight is safe.
 *
 * Caveat: glibc runs the operations on its own threads, at most one at a
 * time per fd, so this is asynchronous, not parallel, per file; and an
 * abort only withdraws an operation not yet handed to glibc (one glibc
 * holds runs to its end: `aio_cancel` of a single queued request can stall
 * glibc's queue for its fd, so only `close()` uses it).
 *
 * @example
 * ```ts
 * import { PosixAio, open } from 'iomodes';
 * using io = PosixAio.create();
 * const fd = open('/etc/hostname');
 * const buf = Buffer.alloc(256);
 * const n = await io.read(fd, buf, { position: 0 });
 * console.log(buf.subarray(0, n).toString());
 * ```
 */
export class PosixAio implements AsyncIo {
  readonly backend = 'posix-aio' as const;
  readonly #native: NativePosixAio;
  readonly #table: InflightTable;
  readonly #watcher: CompletionWatcher;
  #flushQueued = false;
  #leaked = 0;
  #sweep: NodeJS.Timeout | undefined;

  /**
   * Makes a POSIX AIO backend: its eventfd, its slot table and the watcher
   * that reaps completions on this thread's event loop.
   *
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a bad capacity,
   *   `ERR_INVALID_ARG_VALUE` for an unknown option, {@link IoError} if
   *   the eventfd cannot be made
   * @example
   * ```ts
   * import { PosixAio } from 'iomodes';
   * const io = PosixAio.create({ capacity: 64 });
   * io.close();
   * ```
   */
  static create(options?: PosixAioOptions): PosixAio {
    validateOptions(options as unknown);
    for (const key of Object.keys(options ?? {})) {
      if (!KNOWN_OPTIONS.has(key)) throw invalidArgValue(`options.${key}`, (options as Record<string, unknown>)[key], 'is not an option of PosixAio.create()');
    }
    const capacity = options?.capacity ?? 1024;
    validateInteger(capacity, 'options.capacity', 1, MAX_CAPACITY);
    const aio = new native.PosixAio();
    const r = aio.open(capacity);
    if (r < 0) throw errnoError(r, 'posix-aio:open');
    return new PosixAio(createKey, aio, capacity);
  }

  /** @internal Use {@link PosixAio.create}. */
  constructor(key: symbol, aio: NativePosixAio, capacity: number) {
    if (key !== createKey) throw illegalConstructor('PosixAio', 'PosixAio.create()');
    this.#native = aio;
    this.#table = new InflightTable(capacity, 'PosixAio', (slot) => {
      aio.cancel(slot);
    });
    this.#watcher = new CompletionWatcher(aio.eventfd, () => this.#reap());
  }

  /**
   * Operations started and not yet settled.
   *
   * @example
   * ```ts
   * const p = io.read(fd, buf, { position: 0 });
   * io.pending; // 1
   * ```
   */
  get pending(): number {
    return this.#table.pending;
  }

  /**
   * Whether {@link PosixAio.close} was called.
   *
   * @example
   * ```ts
   * io.close();
   * io.closed; // true
   * ```
   */
  get closed(): boolean {
    return this.#table.closed;
  }

  /**
   * Bounce buffers {@link PosixAio.close} had to leak because glibc was
   * still running their operations when its 2 s wait ran out (a read on a
   * pipe nobody writes to).
   *
   * @example
   * ```ts
   * io.close();
   * if (io.leakedOnClose > 0) console.warn('operations still ran at close');
   * ```
   */
  get leakedOnClose(): number {
    return this.#leaked;
  }

  /**
   * Reads into `buffer` at `options.position` (required) with `aio_read`.
   * Resolves with the bytes read, 0 at end of file.
   *
   * @throws (rejects) {@link IoError} with `syscall: 'posix-aio:read'`;
   *   `AbortError` if aborted; `ERR_INVALID_STATE` if `buffer` was
   *   detached or shrunk before the bytes could land
   * @example
   * ```ts
   * const n = await io.read(fd, Buffer.alloc(4096), { position: 0 });
   * ```
   */
  read(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    return this.#rw('read', fd, buffer, options);
  }

  /**
   * Writes `buffer` at `options.position` (required) with `aio_write`.
   * Resolves with the bytes written. The bytes are copied when the call is
   * made: `buffer` may be reused at once.
   *
   * @example
   * ```ts
   * await io.write(fd, Buffer.from('hello'), { position: 0 });
   * ```
   */
  write(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    return this.#rw('write', fd, buffer, options);
  }

  /**
   * Reads into several buffers in order, as one `aio_read` of their total
   * length (POSIX AIO has no vectored read) whose bytes are scattered into
   * the buffers on completion.
   *
   * @example
   * ```ts
   * const n = await io.readv(fd, [Buffer.alloc(4), Buffer.alloc(8)], { position: 0 });
   * ```
   */
  readv(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    return this.#rwv('readv', fd, buffers, options);
  }

  /**
   * Writes several buffers in order, gathered into one `aio_write`.
   *
   * @example
   * ```ts
   * await io.writev(fd, [Buffer.from('a'), Buffer.from('bc')], { position: 0 });
   * ```
   */
  writev(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    return this.#rwv('writev', fd, buffers, options);
  }

  /**
   * `aio_fsync(O_SYNC)`: flushes the file's data and metadata, after the
   * writes to it started before this call. glibc refuses a read-only fd
   * (`EBADF`), unlike `fsync(2)`.
   *
   * @example
   * ```ts
   * await io.write(fd, data, { position: 0 });
   * await io.fsync(fd);
   * ```
   */
  async fsync(fd: number, options?: OperationOptions): Promise<void> {
    await this.#sync('fsync', fd, options);
  }

  /**
   * `aio_fsync(O_DSYNC)`: flushes the file's data (and the metadata needed
   * to read it back).
   *
   * @example
   * ```ts
   * await io.fdatasync(fd);
   * ```
   */
  async fdatasync(fd: number, options?: OperationOptions): Promise<void> {
    await this.#sync('fdatasync', fd, options);
  }

  /**
   * Cancels what is in flight (`aio_cancel`), waits up to 2 s for what glibc
   * is still running (`aio_suspend`), closes the eventfd, and rejects every
   * pending promise with an `AbortError`. A buffer whose operation was still
   * running after the wait is leaked on purpose ({@link PosixAio.leakedOnClose}).
   * Idempotent.
   *
   * @example
   * ```ts
   * io.close();
   * ```
   */
  close(): void {
    if (this.#table.closed) return;
    this.#table.close();
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#leaked += this.#native.close(CLOSE_TIMEOUT_MS);
    this.#watcher.close();
    this.#table.abandon();
  }

  /**
   * Same as {@link PosixAio.close}, for `using`.
   *
   * @example
   * ```ts
   * using io = PosixAio.create();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #rw(op: 'read' | 'write', fd: number, buffer: ArrayBufferView, options: ReadWriteOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, false);
    return this.#start(op, fd, signal, (slot) => this.#native[op](slot, fd, buffer, offset, length, position));
  }

  #rwv(op: 'readv' | 'writev', fd: number, buffers: readonly ArrayBufferView[], options: VectoredOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const list = validateBufferArray(buffers, IOV_MAX);
    validateOptions(options as unknown);
    const position = resolvePosition(options?.position, false);
    const signal = options?.signal;
    validateSignal(signal);
    checkVectored(fd, list, position);
    if (list.length === 0) return Promise.resolve(0);
    return this.#start(op, fd, signal, (slot) => this.#native[op](slot, fd, list, position));
  }

  #sync(op: 'fsync' | 'fdatasync', fd: number, options: OperationOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    return this.#start(op, fd, resolveSignal(options), (slot) => this.#native[op](slot, fd));
  }

  #start(op: string, fd: number, signal: AbortSignal | undefined, prepare: (slot: number) => number): Promise<number> {
    const promise = this.#table.start(`posix-aio:${op}`, fd, signal, (slot) => {
      const r = prepare(slot);
      if (r === 0) this.#scheduleFlush();
      return r;
    });
    this.#busy();
    return promise;
  }

  // Operations prepared in one turn go to glibc together, in one
  // lio_listio, from a microtask.
  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (this.#table.closed) return;
      // Some settled at once (cancelled before submission, or refused by
      // glibc): reap them now, no notification will come.
      if (this.#native.submit() > 0) this.#reap();
    });
  }

  #reap(): void {
    if (this.#table.closed) return;
    this.#table.reap(this.#native);
    this.#busy();
  }

  // While operations are in flight: the watcher keeps the loop alive, and a
  // slow timer reaps even if glibc lost a notification (it ignores a failed
  // pthread_create for SIGEV_THREAD); native reap() sweeps for those.
  #busy(): void {
    const busy = this.#table.pending > 0;
    this.#watcher.ref(busy);
    if (busy && this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#reap(), SWEEP_MS);
      this.#sweep.unref();
    } else if (!busy && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }
}
