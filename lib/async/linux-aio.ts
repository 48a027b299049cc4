/**
 * Linux native AIO (`io_setup`, `io_submit`, `io_getevents`, `io_cancel`,
 * `io_destroy`, as raw syscalls: no libaio) behind the {@link AsyncIo}
 * promise interface.
 *
 * How it runs:
 * - Every operation becomes one iocb with `IOCB_FLAG_RESFD`: the kernel
 *   bumps one eventfd per completion, and a watcher on that eventfd reaps
 *   every ready completion on the event loop.
 * - Operations started in one JavaScript turn go to the kernel in one
 *   `io_submit` (a microtask flushes them).
 * - The context holds `entries` operations at once (its `nr_events`); more
 *   wait in a queue of their own, and go in as completions free room.
 * - Buffers go through bounce buffers (4096-aligned, so `O_DIRECT` works):
 *   a read's bytes reach your buffer when its completion is reaped.
 *
 * What Linux AIO is and is not:
 * - There is no "current file position": every read and write needs
 *   `position`.
 * - It is truly asynchronous for `O_DIRECT` files only. On a buffered
 *   (page-cache) file the kernel does the copy inside `io_submit`, which
 *   then blocks the event loop for as long as the read or write takes
 *   (a cold read waits for the disk). On a pipe or socket it is the same
 *   blocking call: a read with no data blocks `io_submit`, and with it the
 *   thread, until data comes. Use it on regular files and block devices.
 * - `fsync`/`fdatasync` (`IOCB_CMD_FSYNC`/`FDSYNC`, Linux 4.18+) run on a
 *   kernel workqueue: asynchronous on any file.
 * - Reads and writes in flight cannot be cancelled (`io_cancel` refuses
 *   them): an aborted one still completes, and its promise settles with
 *   its result. Only an operation still waiting to be submitted rejects
 *   with an `AbortError`.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { readProc, seccompMode } from '../proc.js';
import { errnoError, illegalConstructor, invalidArgType, outOfRange, type IoError } from '../errors.js';
import { constant, native } from '../native.js';
import { validateBuffer, validateFd, validateInteger, validateOptions } from '../validate.js';
import { checkVectored, CompletionWatcher, InflightTable, resolvePosition, resolveReadWrite, type AsyncBackend, type AsyncIo, type OperationOptions, type ReadWriteOptions, type VectoredOptions, resolveSignal, toVoid } from './inflight.js';

/**
 * Options of {@link LinuxAio.create}.
 *
 * @example
 * ```ts
 * import { LinuxAio, type LinuxAioOptions } from 'iomodes';
 * const options: LinuxAioOptions = { entries: 1024 }; // counted against fs.aio-max-nr
 * const aio = LinuxAio.create(options);
 * aio.capacity; // 1024
 * aio.close();
 * ```
 */
export interface LinuxAioOptions {
  /**
   * Operations in the kernel at once: the context's `nr_events`, counted
   * against the host-wide `fs.aio-max-nr` (65536 by default), which
   * decides the largest context; at most 2**20 here. Default 128.
   */
  entries?: number;
}

type NativeLinuxAio = InstanceType<typeof native.LinuxAio>;

const IOV_MAX = constant('IOV_MAX');
const EFAULT = -osConstants.errno.EFAULT;
const MAX_ENTRIES = 1 << 20;
const DEFAULT_ENTRIES = 128;
const createKey = Symbol('LinuxAio.create');

/**
 * Why `io_setup` failed, in words: the same causes `aioAvailable()` names.
 */
function setupError(result: number, entries: number): IoError {
  const { code } = errnoError(result, 'io_setup');
  const seccomp = seccompMode();
  let detail: string | undefined;
  if (code === 'EAGAIN') {
    const nr = readProc('/proc/sys/fs/aio-nr') ?? '?';
    const max = readProc('/proc/sys/fs/aio-max-nr') ?? '?';
    detail = `fs.aio-nr ${nr} plus ${entries} events would pass fs.aio-max-nr ${max} (a limit shared by the whole host)`;
  } else if (code === 'EPERM') {
    detail = seccomp === 2 ? 'a seccomp filter refuses io_setup (Seccomp: 2)' : 'io_setup refused with EPERM';
  } else if (code === 'ENOSYS') {
    detail = seccomp === 2 ? 'no io_setup: a seccomp filter (Seccomp: 2), or a kernel built with CONFIG_AIO=n' : 'this kernel has no Linux AIO (CONFIG_AIO=n)';
  }
  return errnoError(result, 'io_setup', undefined, detail);
}

/** A copy of a readv/writev buffer list (getters run once, here). */
function validateViews(buffers: unknown): ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an instance of Array', buffers);
  const length: unknown = buffers.length;
  if (typeof length !== 'number' || length < 1 || length > IOV_MAX) throw outOfRange('buffers.length', `>= 1 && <= ${IOV_MAX} (IOV_MAX)`, length);
  const list: ArrayBufferView[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const buffer: unknown = buffers[i];
    validateBuffer(buffer, `buffers[${i}]`);
    list[i] = buffer;
  }
  return list;
}

/**
 * A Linux native AIO context, with the {@link AsyncIo} interface. Every
 * read and write needs `position`; see the module notes for when Linux AIO
 * is truly asynchronous (`O_DIRECT` files) and when `io_submit` does the
 * work itself (buffered files, pipes).
 *
 * @example
 * ```ts
 * import { LinuxAio } from 'iomodes';
 * import { openSync } from 'node:fs';
 * using aio = LinuxAio.create({ entries: 64 });
 * const fd = openSync('/var/tmp/data', 'r');
 * const buf = Buffer.alloc(4096);
 * const [a, b] = await Promise.all([
 *   aio.read(fd, buf, { length: 2048, position: 0 }),
 *   aio.read(fd, buf, { offset: 2048, position: 2048 }),
 * ]); // both went to the kernel in one io_submit
 * ```
 */
export class LinuxAio implements AsyncIo {
  /** Always `'linux-aio'`. */
  readonly backend: AsyncBackend = 'linux-aio';
  readonly #native: NativeLinuxAio;
  readonly #table: InflightTable;
  readonly #watcher: CompletionWatcher;
  /** A flush is queued as a microtask. */
  #flushing = false;
  /** iocbs the last io_submit left queued (the context was full). */
  #left = 0;
  #retry: NodeJS.Timeout | undefined;

  /**
   * Creates a context (`io_setup(entries)`) and its completion eventfd.
   *
   * @throws {@link IoError} from `io_setup`, its message naming the cause:
   *   `EAGAIN` when `fs.aio-nr` would pass `fs.aio-max-nr`, `EPERM` or
   *   `ENOSYS` from a seccomp filter or a kernel without AIO
   * @example
   * ```ts
   * import { LinuxAio } from 'iomodes';
   * const aio = LinuxAio.create(); // 128 events
   * aio.close();
   * ```
   */
  static create(options?: LinuxAioOptions): LinuxAio {
    validateOptions(options as unknown);
    const entries = options?.entries ?? DEFAULT_ENTRIES;
    validateInteger(entries, 'options.entries', 1, MAX_ENTRIES);
    const aio = new native.LinuxAio();
    const r = aio.open(entries);
    if (r < 0) throw setupError(r, entries);
    return new LinuxAio(createKey, aio);
  }

  /** @internal Use {@link LinuxAio.create}. */
  constructor(key: symbol, aio: NativeLinuxAio) {
    if (key !== createKey) throw illegalConstructor('LinuxAio', 'LinuxAio.create()');
    this.#native = aio;
    this.#table = new InflightTable(aio.capacity, 'LinuxAio', (slot) => {
      // A queued iocb completes at once (-ECANCELED); a submitted read or
      // write cannot be cancelled and completes as usual. Either way the
      // completion comes through the eventfd.
      this.#native.cancel(slot);
    });
    try {
      this.#watcher = new CompletionWatcher(aio.eventfd, () => this.#onReady());
    } catch (err) {
      aio.close();
      throw err;
    }
  }

  /** Operations the kernel holds at once (the context's `nr_events`). */
  get capacity(): number {
    return this.#native.capacity;
  }

  /** Operations started and not yet settled, waiting ones included. */
  get pending(): number {
    return this.#table.pending;
  }

  /** Whether {@link LinuxAio.close} was called. */
  get closed(): boolean {
    return this.#table.closed;
  }

  /**
   * Reads into `buffer` at `options.position` (`IOCB_CMD_PREAD`).
   *
   * @returns the bytes read (0 at end of file)
   * @throws `ERR_INVALID_ARG_VALUE` without a position (Linux AIO has no current offset)
   * @example
   * ```ts
   * const n = await aio.read(fd, Buffer.alloc(4096), { position: 0 });
   * ```
   */
  read(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, false);
    return this.#start('read', fd, signal, (aio, slot) => aio.read(slot, fd, buffer, offset, length, position));
  }

  /**
   * Writes from `buffer` at `options.position` (`IOCB_CMD_PWRITE`). The
   * bytes are copied when the operation is submitted.
   *
   * @returns the bytes written
   * @example
   * ```ts
   * await aio.write(fd, Buffer.from('hello'), { position: 0 });
   * ```
   */
  write(fd: number, buffer: ArrayBufferView, options?: ReadWriteOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, false);
    return this.#start('write', fd, signal, (aio, slot) => aio.write(slot, fd, buffer, offset, length, position));
  }

  /**
   * Reads into `buffers` in order, from `options.position` (`IOCB_CMD_PREADV`).
   *
   * @returns the total bytes read
   * @example
   * ```ts
   * const n = await aio.readv(fd, [header, body], { position: 0 });
   * ```
   */
  readv(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const list = validateViews(buffers);
    const { position, signal } = resolveVectored(options);
    checkVectored(fd, list, position);
    return this.#start('readv', fd, signal, (aio, slot) => aio.readv(slot, fd, list, position));
  }

  /**
   * Writes `buffers` in order, from `options.position` (`IOCB_CMD_PWRITEV`).
   *
   * @returns the total bytes written
   * @example
   * ```ts
   * await aio.writev(fd, [Buffer.from('a'), Buffer.from('b')], { position: 0 });
   * ```
   */
  writev(fd: number, buffers: readonly ArrayBufferView[], options?: VectoredOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const list = validateViews(buffers);
    const { position, signal } = resolveVectored(options);
    checkVectored(fd, list, position);
    return this.#start('writev', fd, signal, (aio, slot) => aio.writev(slot, fd, list, position));
  }

  /**
   * Flushes the file's data and metadata (`IOCB_CMD_FSYNC`, Linux 4.18+).
   *
   * @example
   * ```ts
   * await aio.fsync(fd);
   * ```
   */
  fsync(fd: number, options?: OperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const signal = resolveSignal(options);
    return this.#start('fsync', fd, signal, (aio, slot) => aio.fsync(slot, fd)).then(toVoid);
  }

  /**
   * Flushes the file's data (`IOCB_CMD_FDSYNC`, Linux 4.18+).
   *
   * @example
   * ```ts
   * await aio.fdatasync(fd);
   * ```
   */
  fdatasync(fd: number, options?: OperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const signal = resolveSignal(options);
    return this.#start('fdatasync', fd, signal, (aio, slot) => aio.fdatasync(slot, fd)).then(toVoid);
  }

  /**
   * Cancels what is not yet submitted, asks `io_cancel` for the rest, reaps
   * completions for up to 2 seconds, then `io_destroy`s the context, which
   * waits for whatever the kernel still does. Operations that complete
   * meanwhile settle with their results, the others reject with an
   * `AbortError`. Idempotent.
   *
   * @example
   * ```ts
   * aio.close();
   * ```
   */
  close(): void {
    if (this.#table.closed) return;
    this.#table.close();
    clearTimeout(this.#retry);
    this.#native.close();
    this.#table.reap(this.#native);
    this.#table.abandon();
    this.#watcher.close();
  }

  /** Same as {@link LinuxAio.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #start(name: string, fd: number, signal: AbortSignal | undefined, prepare: (aio: NativeLinuxAio, slot: number) => number): Promise<number> {
    const promise = this.#table.start(`linux-aio:${name}`, fd, signal, (slot) => {
      let r: number;
      try {
        r = prepare(this.#native, slot);
      } catch {
        // Only for an operation that waited for a slot: its buffer was
        // detached or shrunk meanwhile.
        return EFAULT;
      }
      if (r === 0 && !this.#flushing) {
        this.#flushing = true;
        queueMicrotask(() => this.#flush());
      }
      return r;
    });
    this.#watcher.ref(this.#table.pending > 0);
    return promise;
  }

  /** Submits every iocb prepared since the last flush, in one io_submit. */
  #flush(): void {
    this.#flushing = false;
    if (this.#table.closed) return;
    this.#left = this.#native.submit();
    // The context is full: completions make room (#onReady flushes again);
    // a timer covers an EAGAIN with nothing in flight.
    if (this.#left > 0 && this.#retry === undefined) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#flush();
      }, 5);
    }
  }

  #onReady(): void {
    this.#table.reap(this.#native);
    if (this.#left > 0 && !this.#table.closed) this.#flush();
    this.#watcher.ref(this.#table.pending > 0);
  }
}


function resolveVectored(options: unknown): { position: number | bigint; signal: AbortSignal | undefined } {
  const signal = resolveSignal(options);
  const position = resolvePosition((options as VectoredOptions | undefined)?.position, false);
  return { position, signal };
}
