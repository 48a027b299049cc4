/**
 * The threadpool backend: each operation is one blocking syscall
 * (`pread64`/`pwrite64`, `preadv`/`pwritev`, `read`/`write`/`readv`/`writev`
 * at the current offset, `fsync`, `fdatasync`) run on libuv's thread pool,
 * as Node's own `fs` does. It works everywhere (no io_uring, no AIO
 * context, any file descriptor), at the cost of one pool thread blocked per
 * operation in progress: the pool has 4 threads unless `UV_THREADPOOL_SIZE`
 * says otherwise, and Node's `fs`, `dns.lookup`, `crypto` and `zlib` share
 * it. So it suits files; a pipe or socket that may never become ready holds
 * a pool thread for as long as it waits (abort it, or close the backend:
 * both interrupt such a wait, see {@link ThreadpoolIo.close}).
 *
 * Completions come back the way every backend's do: the pool thread posts
 * `(slot, result)` and signals an eventfd, and one watcher on the event
 * loop settles every ready promise.
 *
 * @module
 */
import { errnoError, invalidArgType, invalidArgValue, illegalConstructor, outOfRange } from '../errors.js';
import { constant, native, type NativeThreadpoolIo } from '../native.js';
import { validateFd, validateOptions, validateSignal } from '../validate.js';
import { checkVectored, CompletionWatcher, InflightTable, resolvePosition, resolveReadWrite, type AsyncIo, type OperationOptions, type ReadWriteOptions, type VectoredOptions, resolveSignal, toVoid } from './inflight.js';

/**
 * Options of {@link ThreadpoolIo.create}.
 *
 * @example
 * ```ts
 * import { ThreadpoolIo, type ThreadpoolIoOptions } from 'iomodes';
 * const options: ThreadpoolIoOptions = { capacity: 16 };
 * const io = ThreadpoolIo.create(options);
 * io.capacity; // 16
 * io.close();
 * ```
 */
export interface ThreadpoolIoOptions {
  /**
   * How many operations are handed to the pool at once (1 to 65536);
   * further ones wait in order in the backend's own queue, never rejected.
   * Default 1024. The pool itself runs only `UV_THREADPOOL_SIZE` (4) at a
   * time; the rest wait in libuv's queue, where they can still be cancelled.
   */
  capacity?: number;
}

const createKey = Symbol('ThreadpoolIo.create');
const MAX_CAPACITY = constant('THREADPOOL_MAX_CAPACITY');
const IOV_MAX = constant('IOV_MAX');
const CLOSE_TIMEOUT_MS = 2000;
const OPTIONS = new Set(['capacity']);

/** Reads `buffers` once into a plain array of views, for the binding. */
function validateViews(buffers: unknown): ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an instance of Array', buffers);
  const length = buffers.length;
  if (length < 1 || length > IOV_MAX) throw outOfRange('buffers.length', `>= 1 && <= ${IOV_MAX} (IOV_MAX)`, length);
  const list: ArrayBufferView[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const buffer: unknown = buffers[i];
    if (!ArrayBuffer.isView(buffer)) throw invalidArgType(`buffers[${i}]`, 'an instance of Buffer, TypedArray, or DataView', buffer);
    list[i] = buffer;
  }
  return list;
}

function resolveVectored(options: unknown): { position: number | bigint; signal: AbortSignal | undefined } {
  validateOptions(options);
  const o = (options ?? {}) as VectoredOptions;
  const position = resolvePosition(o.position, true);
  const signal = o.signal;
  validateSignal(signal);
  return { position, signal };
}


/**
 * Asynchronous file I/O on libuv's thread pool, behind the same Promise
 * interface as the io_uring and AIO backends ({@link AsyncIo}). Buffers are
 * safe to drop, detach or resize while an operation is in flight: the pool
 * thread only ever touches a native copy (a write's bytes are copied at
 * submission, a read's copied out when it completes; a read whose buffer
 * was detached meanwhile rejects with `ERR_INVALID_STATE`).
 *
 * `position` `null` (the default) or `-1` uses and advances the fd's current
 * offset (`read(2)`), which pipes and sockets need; a number or bigint is a
 * positional `pread64(2)`.
 *
 * @example
 * ```ts
 * import { ThreadpoolIo, open } from 'iomodes';
 * using io = ThreadpoolIo.create();
 * const fd = open('/etc/hostname');
 * const buffer = Buffer.alloc(256);
 * const n = await io.read(fd, buffer, { position: 0 });
 * console.log(buffer.subarray(0, n).toString());
 * ```
 */
export class ThreadpoolIo implements AsyncIo {
  /** Always `'threadpool'`. */
  readonly backend = 'threadpool' as const;
  readonly #native: NativeThreadpoolIo;
  readonly #table: InflightTable;
  readonly #watcher: CompletionWatcher;
  readonly #capacity: number;
  #leaked = 0;

  /**
   * Makes a backend: an eventfd and a slot table (no threads of its own:
   * libuv's pool starts on first use).
   *
   * @throws `ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE` or
   *   `ERR_INVALID_ARG_VALUE` (an unknown option) for bad options
   * @example
   * ```ts
   * const io = ThreadpoolIo.create({ capacity: 64 });
   * ```
   */
  static create(options?: ThreadpoolIoOptions): ThreadpoolIo {
    validateOptions(options as unknown);
    for (const key of Object.keys(options ?? {})) {
      if (!OPTIONS.has(key)) throw invalidArgValue(`options.${key}`, (options as Record<string, unknown>)[key], 'is not an option of ThreadpoolIo.create()');
    }
    const capacity = options?.capacity ?? 1024;
    if (typeof capacity !== 'number') throw invalidArgType('options.capacity', 'of type number', capacity);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw outOfRange('options.capacity', `an integer >= 1 && <= ${MAX_CAPACITY}`, capacity);
    }
    return new ThreadpoolIo(createKey, capacity);
  }

  /** @internal Use {@link ThreadpoolIo.create}. */
  constructor(key: symbol, capacity: number) {
    if (key !== createKey) throw illegalConstructor('ThreadpoolIo', 'ThreadpoolIo.create()');
    const io = new native.ThreadpoolIo();
    const r = io.open(capacity);
    if (r < 0) {
      io.close(0);
      throw errnoError(r, 'eventfd');
    }
    this.#native = io;
    this.#capacity = capacity;
    this.#table = new InflightTable(capacity, 'ThreadpoolIo', (slot) => void io.cancel(slot));
    try {
      this.#watcher = new CompletionWatcher(io.eventfd, () => this.#reap());
    } catch (err) {
      io.close(0);
      throw err;
    }
  }

  /** How many operations the pool is given at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Operations submitted and not yet settled (waiting ones included). */
  get pending(): number {
    return this.#table.pending;
  }

  /** Whether {@link ThreadpoolIo.close} was called. */
  get closed(): boolean {
    return this.#table.closed;
  }

  /**
   * Buffers {@link ThreadpoolIo.close} had to leave to a pool thread that
   * did not return in time (leaked on purpose rather than freed under it).
   */
  get leaked(): number {
    return this.#leaked;
  }

  /**
   * Reads into `buffer` (`pread64`, or `read` at the current offset).
   * Resolves with the bytes read: 0 at end of file, fewer than asked near it.
   *
   * @throws `ERR_USE_AFTER_CLOSE` once closed; argument errors synchronously
   * @example
   * ```ts
   * const n = await io.read(fd, Buffer.alloc(4096), { position: 8192 });
   * ```
   */
  read(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, true);
    return this.#start('threadpool:read', fd, signal, (slot) => this.#native.read(slot, fd, buffer, offset, length, position));
  }

  /**
   * Writes from `buffer` (`pwrite64`, or `write` at the current offset).
   * The bytes are copied when it is called: the buffer may change after.
   *
   * @example
   * ```ts
   * await io.write(fd, Buffer.from('hello'), { position: 0 });
   * ```
   */
  write(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, true);
    return this.#start('threadpool:write', fd, signal, (slot) => this.#native.write(slot, fd, buffer, offset, length, position));
  }

  /**
   * Reads into several buffers in order (`preadv`, or `readv`).
   *
   * @example
   * ```ts
   * const n = await io.readv(fd, [header, body], { position: 0 });
   * ```
   */
  readv(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const list = validateViews(buffers);
    const { position, signal } = resolveVectored(options);
    checkVectored(fd, list, position);
    return this.#start('threadpool:readv', fd, signal, (slot) => this.#native.readv(slot, fd, list, position));
  }

  /**
   * Writes several buffers in order (`pwritev`, or `writev`).
   *
   * @example
   * ```ts
   * await io.writev(fd, [Buffer.from('a'), Buffer.from('b')], { position: 0 });
   * ```
   */
  writev(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const list = validateViews(buffers);
    const { position, signal } = resolveVectored(options);
    checkVectored(fd, list, position);
    return this.#start('threadpool:writev', fd, signal, (slot) => this.#native.writev(slot, fd, list, position));
  }

  /**
   * Flushes the file's data and metadata (`fsync`).
   *
   * @example
   * ```ts
   * await io.fsync(fd);
   * ```
   */
  fsync(fd: number, options?: OperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const signal = resolveSignal(options);
    return this.#start('threadpool:fsync', fd, signal, (slot) => this.#native.fsync(slot, fd)).then(toVoid);
  }

  /**
   * Flushes the file's data (`fdatasync`).
   *
   * @example
   * ```ts
   * await io.fdatasync(fd);
   * ```
   */
  fdatasync(fd: number, options?: OperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const signal = resolveSignal(options);
    return this.#start('threadpool:fdatasync', fd, signal, (slot) => this.#native.fdatasync(slot, fd)).then(toVoid);
  }

  /**
   * Closes the backend. Operations still queued are cancelled; ones a pool
   * thread is running are interrupted if blocked (a pipe or socket read),
   * and waited for up to 2 s otherwise. Every pending promise rejects with
   * an `AbortError`. An operation still running after that keeps its pool
   * thread until the syscall returns; its buffer is leaked rather than
   * freed under it ({@link ThreadpoolIo.leaked}). Idempotent.
   *
   * @example
   * ```ts
   * io.close();
   * ```
   */
  close(): void {
    if (this.#table.closed) return;
    this.#table.close();
    this.#leaked += this.#native.close(CLOSE_TIMEOUT_MS);
    this.#table.abandon();
    this.#watcher.close();
  }

  /** Same as {@link ThreadpoolIo.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #start(syscall: string, fd: number, signal: AbortSignal | undefined, submit: (slot: number) => number): Promise<number> {
    const promise = this.#table.start(syscall, fd, signal, submit);
    this.#watcher.ref(this.#table.pending > 0);
    return promise;
  }

  #reap(): void {
    if (this.#table.closed) return;
    this.#table.reap(this.#native);
    this.#watcher.ref(this.#table.pending > 0);
  }
}
