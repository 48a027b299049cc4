/**
 * `Ring`: io_uring from Node, through the raw syscalls and the mmapped rings
 * (native/uring.cc; no liburing). Every operation returns a Promise and
 * takes an `AbortSignal`; a per-operation `timeoutMs` becomes a linked
 * timeout in the kernel.
 *
 * - **Batching.** Operations started in one JS turn are published together
 *   and go to the kernel in one `io_uring_enter`, from a microtask;
 *   `ring.submit()` forces it sooner. When the ring is full, further
 *   operations wait in a queue in order: they are never rejected.
 * - **Completions.** An eventfd registered with the ring is watched on this
 *   thread's loop; one wake-up reaps every ready completion. Right after
 *   submitting, the ring is reaped too: a read served from the page cache
 *   completes inside `io_uring_enter` and settles without waiting for the
 *   loop.
 * - **Buffers.** The kernel reads and writes native bounce buffers, never
 *   the caller's memory: writes copy in at submission, reads copy out when
 *   reaped. A buffer detached or shrunk while its read is in flight cannot
 *   be corrupted; the read rejects with `ERR_INVALID_STATE` instead.
 * - **Registered buffers** (`registerBuffers`, `readFixed`, `writeFixed`)
 *   are native memory the addon maps and owns, never an `ArrayBuffer`: JS
 *   bytes cross into and out of them by copy, as with the bounce buffers.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { codedError, errnoError, illegalConstructor, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { encodeAddress, resolveOpenFlags, type OpenFlagString, type SocketAddress } from '../fd.js';
import { constant, native, type NativeRing } from '../native.js';
import { validateBoolean, validateBuffer, validateBufferArray, validateFd, validateInteger, validateOptions, validatePath, validateRange, validateSignal, validateTimeout } from '../validate.js';
import { checkVectored, CompletionWatcher, InflightTable, resolvePosition, resolveReadWrite, type AsyncIo, type OperationOptions, type ReadWriteOptions, type VectoredOptions } from './inflight.js';

/**
 * Options of {@link Ring.create}.
 *
 * @example
 * ```ts
 * import { Ring, type RingOptions } from 'iomodes';
 * const options: RingOptions = { entries: 64, cqEntries: 1024, singleIssuer: true };
 * const ring = Ring.create(options);
 * ring.info; // { sqEntries: 64, cqEntries: 1024, features: …, flags: … }
 * ring.close();
 * ```
 */
export interface RingOptions {
  /** Submission queue entries (rounded up to a power of 2 by the kernel); default 256. */
  entries?: number;
  /**
   * Completion queue entries (`IORING_SETUP_CQSIZE`); default twice
   * `entries`. Also how many operations wait in the kernel at once: more
   * wait in a queue of the ring's own, in order.
   */
  cqEntries?: number;
  /**
   * A kernel thread polls the submission queue (`IORING_SETUP_SQPOLL`), so
   * submitting needs no syscall while it is awake; `idleMs` is how long it
   * spins before sleeping (default 1000), `cpu` pins it (`IORING_SETUP_SQ_AFF`).
   */
  sqpoll?: boolean | { idleMs?: number; cpu?: number };
  /**
   * Busy-poll completions (`IORING_SETUP_IOPOLL`): only for `O_DIRECT` files
   * on devices with polled queues. Completions are then polled from the
   * loop (`setImmediate`) while operations are in flight.
   */
  iopoll?: boolean;
  /**
   * `IORING_SETUP_SINGLE_ISSUER`: only this thread submits (it always is).
   * On by default with `deferTaskrun`.
   */
  singleIssuer?: boolean;
  /** `IORING_SETUP_COOP_TASKRUN`: no interrupting the thread to post completions. */
  coopTaskrun?: boolean;
  /**
   * `IORING_SETUP_DEFER_TASKRUN` (needs `singleIssuer`): completions are
   * posted when this thread reaps, all that came since the last reap at
   * once, instead of each device completion interrupting the thread. On by
   * default where the kernel has it (6.1+), unless `sqpoll` or `iopoll` is
   * asked for or any of `singleIssuer`, `coopTaskrun` and `deferTaskrun` is
   * given: random `O_DIRECT` reads at depth 32 ran 1.15–1.4× faster with
   * it here, page-cached ones the same.
   */
  deferTaskrun?: boolean;
  /**
   * The most operations per `io_uring_enter` (fio's `iodepth_batch_submit`);
   * default: every operation of the JS turn in one. With 1 or 2 the block
   * layer does not plug them, so each `O_DIRECT` request reaches the device
   * as soon as it is made: on a virtual disk that serves a batch as one
   * unit (Firecracker's virtio-blk), random `O_DIRECT` reads at depth 32
   * ran 1.35–1.5× faster here, at the cost of a syscall per one or two.
   * Page-cached reads are fastest with the default. With `sqpoll` there is
   * no `io_uring_enter` per batch: the kernel thread takes what is there.
   */
  submitBatch?: number;
}

/**
 * What every {@link Ring} operation accepts.
 *
 * @example
 * ```ts
 * import { Ring, pipe, POLL, type RingOperationOptions } from 'iomodes';
 * using ring = Ring.create();
 * const [r] = pipe();
 * const options: RingOperationOptions = { timeoutMs: 100 };
 * await ring.poll(r, POLL.IN, options); // rejects with ETIME: nothing was written
 * ```
 */
export interface RingOperationOptions extends OperationOptions {
  /** Fails the operation with `ETIME` if it has not completed in this many ms (a linked timeout). */
  timeoutMs?: number;
  /** `fd` is an index into the files registered with {@link Ring.registerFiles} (`IOSQE_FIXED_FILE`). */
  fixedFile?: boolean;
}

/**
 * Options of {@link Ring.read} and {@link Ring.write}.
 *
 * @example
 * ```ts
 * import { Ring, open, close, type RingReadWriteOptions } from 'iomodes';
 * using ring = Ring.create();
 * const fd = open('/etc/hostname');
 * const options: RingReadWriteOptions = { position: 0, length: 16, timeoutMs: 1000 };
 * const n = await ring.read(fd, Buffer.alloc(64), options); // at most 16 bytes, from the start
 * close(fd);
 * ```
 */
export interface RingReadWriteOptions extends ReadWriteOptions, RingOperationOptions {}
/**
 * Options of {@link Ring.readv} and {@link Ring.writev}.
 *
 * @example
 * ```ts
 * import { Ring, open, close, type RingVectoredOptions } from 'iomodes';
 * using ring = Ring.create();
 * const fd = open('/etc/hostname');
 * const options: RingVectoredOptions = { position: 0, timeoutMs: 1000 };
 * const n = await ring.readv(fd, [Buffer.alloc(4), Buffer.alloc(60)], options);
 * close(fd);
 * ```
 */
export interface RingVectoredOptions extends VectoredOptions, RingOperationOptions {}
/**
 * Options of {@link Ring.recv} and {@link Ring.send}.
 *
 * @example
 * ```ts
 * import { Ring, socketpair, MSG, type RingSocketOptions } from 'iomodes';
 * using ring = Ring.create();
 * const [a, b] = socketpair();
 * await ring.send(a, Buffer.from('ping'));
 * const options: RingSocketOptions = { length: 2, flags: MSG.PEEK };
 * await ring.recv(b, Buffer.alloc(64), options); // 2: 'pi', still queued for the next recv
 * ```
 */
export interface RingSocketOptions extends RingOperationOptions {
  offset?: number;
  length?: number;
  /** `MSG_*` flags; default 0. */
  flags?: number;
}

/**
 * Options of {@link Ring.readFixed} and {@link Ring.writeFixed}.
 *
 * @example
 * ```ts
 * import { Ring, open, close, type RingFixedOptions } from 'iomodes';
 * using ring = Ring.create();
 * ring.registerBuffers(2, 4096);
 * const fd = open('/etc/hostname');
 * const options: RingFixedOptions = { bufferIndex: 1, position: 0 };
 * const n = await ring.readFixed(fd, Buffer.alloc(4096), options); // through registered buffer 1
 * close(fd);
 * ```
 */
export interface RingFixedOptions extends RingOperationOptions {
  /** Which registered buffer: 0 to `count - 1` of {@link Ring.registerBuffers}. Required. */
  bufferIndex: number;
  /** Where in the registered buffer the bytes go (or come from); default 0. */
  bufferOffset?: number;
  /** Where in `buffer` to start; default 0 (and 0 only when `buffer` is null). */
  offset?: number;
  /**
   * How many bytes. Default: as many as fit both in `buffer` after `offset`
   * and in the registered buffer after `bufferOffset` (without a `buffer`,
   * the registered buffer's rest). An explicit length must fit both.
   */
  length?: number;
  /** As in {@link ReadWriteOptions.position}; default `null`, the fd's offset. */
  position?: number | bigint | null;
}

/**
 * The buffers registered with {@link Ring.registerBuffers}.
 *
 * @example
 * ```ts
 * import { Ring, type RingRegisteredBuffers } from 'iomodes';
 * using ring = Ring.create();
 * ring.registerBuffers(32, 4096);
 * const buffers: RingRegisteredBuffers | null = ring.registeredBuffers; // { count: 32, size: 4096 }
 * ```
 */
export interface RingRegisteredBuffers {
  /** How many buffers. */
  count: number;
  /** Each one's size in bytes. */
  size: number;
}

/**
 * Options of {@link Ring.openat}.
 *
 * @example
 * ```ts
 * import { Ring, type RingOpenOptions } from 'iomodes';
 * using ring = Ring.create();
 * const options: RingOpenOptions = { flags: 'w', mode: 0o600 };
 * const fd = await ring.openat('/tmp/iomodes.txt', options);
 * await ring.closeFd(fd);
 * ```
 */
export interface RingOpenOptions extends RingOperationOptions {
  /** As `open()` takes them; default `'r'`. `O_CLOEXEC` is always added. */
  flags?: OpenFlagString | number;
  /** Permissions of a created file; default `0o666`. */
  mode?: number;
  /** The directory `path` is relative to; default the working directory. */
  dirfd?: number;
}

/**
 * What {@link Ring.statx} returns.
 *
 * @example
 * ```ts
 * import { Ring, type RingStat } from 'iomodes';
 * using ring = Ring.create();
 * const stat: RingStat = await ring.statx('/etc/hostname');
 * console.log(stat.size, (stat.mode & 0o170000) === 0o100000); // 13 true: a regular file
 * ```
 */
export interface RingStat {
  /** The `STATX_*` bits the kernel filled in. */
  mask: number;
  /** File type and permissions (`st_mode`). */
  mode: number;
  /** Size in bytes. */
  size: number;
  /** The preferred I/O block size. */
  blksize: number;
}

/**
 * What the kernel made of a {@link Ring}.
 *
 * @example
 * ```ts
 * import { Ring, type RingInfo } from 'iomodes';
 * using ring = Ring.create({ entries: 100 });
 * const info: RingInfo = ring.info; // { sqEntries: 128, cqEntries: 256, … }: rounded up to a power of 2
 * ```
 */
export interface RingInfo {
  sqEntries: number;
  cqEntries: number;
  /** `IORING_FEAT_*` bits. */
  features: number;
  /** The `IORING_SETUP_*` flags it was made with. */
  flags: number;
}

const CLOSE_WAIT_MS = 2000;
/** Flushes whose completions settle inline before the event loop must turn. */
const INLINE_REAPS = 64;

/**
 * Opens `ring` (`io_uring_setup`); with `deferred`, also with
 * `SINGLE_ISSUER | DEFER_TASKRUN`, or without them on a kernel that refuses
 * them (before 6.1: `EINVAL`). Every ring is only ever used by the thread
 * that made it, so a single issuer always holds. 0 or -errno.
 *
 * @internal
 * @example
 * ```ts
 * const r = openRing(new native.Ring(), true, 256, 0, 0, 0, -1, 0);
 * ```
 */
export function openRing(ring: Pick<NativeRing, 'open'>, deferred: boolean, entries: number, flags: number, cqEntries: number, idle: number, cpu: number, submitBatch: number): number {
  if (deferred) {
    const r = ring.open(entries, flags | constant('IORING_SETUP_SINGLE_ISSUER') | constant('IORING_SETUP_DEFER_TASKRUN'), cqEntries, idle, cpu, submitBatch);
    if (r !== -osConstants.errno.EINVAL) return r;
  }
  return ring.open(entries, flags, cqEntries, idle, cpu, submitBatch);
}
let constructing = false;

/** Each operation's name in errors, made once rather than per call. */
const SYSCALLS = {
  read: 'io_uring:read',
  write: 'io_uring:write',
  readv: 'io_uring:readv',
  writev: 'io_uring:writev',
  recv: 'io_uring:recv',
  send: 'io_uring:send',
  readFixed: 'io_uring:readFixed',
  writeFixed: 'io_uring:writeFixed',
} as const;
/** An operation without options: no timeout, no SQE flags. */
const NO_SQE_OPTIONS: readonly [number, number] = [-1, 0];
const NO_TAIL: readonly [number, number, undefined] = [-1, 0, undefined];

/**
 * One io_uring. Implements {@link AsyncIo}, so `createAsyncIo()` can hand it
 * out, and adds the operations only io_uring has.
 *
 * @example
 * ```ts
 * import { Ring, open } from 'iomodes';
 * using ring = Ring.create({ entries: 64 });
 * const fd = open('/etc/hostname');
 * const buf = Buffer.alloc(256);
 * const n = await ring.read(fd, buf, { position: 0 });
 * console.log(buf.subarray(0, n).toString());
 * ```
 */
export class Ring implements AsyncIo {
  readonly backend = 'io_uring' as const;
  readonly #native: NativeRing;
  readonly #table: InflightTable;
  readonly #watcher: CompletionWatcher;
  readonly #iopoll: boolean;
  #flushQueued = false;
  #polling = false;
  /** Flushes reaped inline since the event loop last turned. */
  #inlineReaps = 0;
  #yielding = false;

  /**
   * Makes a ring (`io_uring_setup`), maps it, and registers its eventfd.
   *
   * @throws {@link IoError} from `io_uring_setup` (`EPERM` when the sysctl
   *   or a seccomp filter refuses; `ioUringAvailable()` says which)
   * @example
   * ```ts
   * const ring = Ring.create({ entries: 256, singleIssuer: true, deferTaskrun: true });
   * ```
   */
  static create(options?: RingOptions): Ring {
    validateOptions(options as unknown);
    const o = options ?? {};
    const known = ['entries', 'cqEntries', 'sqpoll', 'iopoll', 'singleIssuer', 'coopTaskrun', 'deferTaskrun', 'submitBatch'];
    for (const key of Object.keys(o)) if (!known.includes(key)) throw invalidArgValue(`options.${key}`, (o as Record<string, unknown>)[key], 'is not a Ring option');
    const entries = o.entries ?? 256;
    validateInteger(entries, 'options.entries', 1, 32768);
    let flags = 0;
    const cqEntries = o.cqEntries ?? 0;
    if (o.cqEntries !== undefined) {
      validateInteger(cqEntries, 'options.cqEntries', entries, 65536);
      flags |= constant('IORING_SETUP_CQSIZE');
    }
    let idle = 0;
    let cpu = -1;
    if (o.sqpoll !== undefined && o.sqpoll !== false) {
      flags |= constant('IORING_SETUP_SQPOLL');
      if (o.sqpoll !== true) {
        validateOptions(o.sqpoll as unknown, 'options.sqpoll');
        idle = o.sqpoll.idleMs ?? 1000;
        validateInteger(idle, 'options.sqpoll.idleMs', 0, 2 ** 32 - 1);
        if (o.sqpoll.cpu !== undefined) {
          validateInteger(o.sqpoll.cpu, 'options.sqpoll.cpu', 0, 2 ** 31 - 1);
          cpu = o.sqpoll.cpu;
          flags |= constant('IORING_SETUP_SQ_AFF');
        }
      } else idle = 1000;
    }
    const flag = (name: 'iopoll' | 'singleIssuer' | 'coopTaskrun' | 'deferTaskrun', setup: string): void => {
      const v = o[name];
      if (v === undefined) return;
      validateBoolean(v, `options.${name}`);
      if (v) flags |= constant(setup);
    };
    flag('iopoll', 'IORING_SETUP_IOPOLL');
    flag('singleIssuer', 'IORING_SETUP_SINGLE_ISSUER');
    flag('coopTaskrun', 'IORING_SETUP_COOP_TASKRUN');
    flag('deferTaskrun', 'IORING_SETUP_DEFER_TASKRUN');
    if (o.deferTaskrun && !o.singleIssuer) throw invalidArgValue('options.deferTaskrun', true, 'needs options.singleIssuer');
    const submitBatch = o.submitBatch ?? 0;
    if (o.submitBatch !== undefined) validateInteger(submitBatch, 'options.submitBatch', 1, 2 ** 32 - 1);
    const deferred = o.singleIssuer === undefined && o.coopTaskrun === undefined && o.deferTaskrun === undefined && (flags & constant('IORING_SETUP_SQPOLL')) === 0 && o.iopoll !== true;
    const ring = new native.Ring();
    const r = openRing(ring, deferred, entries, flags, cqEntries, idle, cpu, submitBatch);
    if (r < 0) throw errnoError(r, 'io_uring_setup');
    constructing = true;
    try {
      return new Ring(ring, o.iopoll === true);
    } finally {
      constructing = false;
    }
  }

  /** @internal Use {@link Ring.create}. */
  constructor(ring: NativeRing, iopoll: boolean) {
    if (!constructing) throw illegalConstructor('Ring', 'Ring.create()');
    this.#native = ring;
    this.#iopoll = iopoll;
    this.#table = new InflightTable(ring.capacity, 'Ring', (slot) => this.#cancel(slot), 3, () => this.#schedule());
    this.#watcher = new CompletionWatcher(ring.eventfd, () => {
      this.#inlineReaps = 0;
      this.#reap(true);
    });
  }

  /** Sizes, features and flags of this ring. */
  get info(): RingInfo {
    this.#table.checkOpen();
    return this.#native.info;
  }

  /** The ring's fd (owned: `close()` of it is refused), or -1 once closed. */
  get fd(): number {
    return this.#table.closed ? -1 : this.#native.fd;
  }

  get pending(): number {
    return this.#table.pending;
  }

  get closed(): boolean {
    return this.#table.closed;
  }

  /**
   * Reads into `buffer` (`IORING_OP_READ`); `position` null or -1 reads at
   * the fd's offset and advances it (pipes, sockets).
   *
   * @returns bytes read; 0 at end of file
   * @example
   * ```ts
   * const n = await ring.read(fd, Buffer.alloc(4096), { position: 0, timeoutMs: 1000 });
   * ```
   */
  read(fd: number, buffer: ArrayBufferView, options?: RingReadWriteOptions): Promise<number> {
    return this.#readWrite('read', fd, buffer, options);
  }

  /**
   * Writes from `buffer` (`IORING_OP_WRITE`); its bytes are copied when the
   * operation gets a slot — at the call, unless the ring is full and it
   * waits in the queue — and the buffer may be reused after that.
   *
   * @returns bytes written
   * @example
   * ```ts
   * await ring.write(fd, Buffer.from('hello\n'), { position: 0 });
   * ```
   */
  write(fd: number, buffer: ArrayBufferView, options?: RingReadWriteOptions): Promise<number> {
    return this.#readWrite('write', fd, buffer, options);
  }

  #readWrite(which: 'read' | 'write', fd: number, buffer: ArrayBufferView, options: RingReadWriteOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const { offset, length, position, signal } = resolveReadWrite(fd, buffer, options, true);
    const [timeoutMs, sqeFlags] = this.#sqeOptions(options);
    const ring = this.#native;
    return this.#start(SYSCALLS[which], fd, signal, (slot) => ring[which](slot, fd, buffer, offset, length, position, timeoutMs, sqeFlags));
  }

  /**
   * Reads into several buffers in order (`IORING_OP_READV`).
   *
   * @returns total bytes read
   * @example
   * ```ts
   * await ring.readv(fd, [Buffer.alloc(16), Buffer.alloc(4080)], { position: 0 });
   * ```
   */
  readv(fd: number, buffers: readonly ArrayBufferView[], options?: RingVectoredOptions): Promise<number> {
    return this.#vectored('readv', fd, buffers, options);
  }

  /**
   * Writes several buffers in order (`IORING_OP_WRITEV`).
   *
   * @returns total bytes written
   * @example
   * ```ts
   * await ring.writev(fd, [Buffer.from('a'), Buffer.from('b')], { position: 0 });
   * ```
   */
  writev(fd: number, buffers: readonly ArrayBufferView[], options?: RingVectoredOptions): Promise<number> {
    return this.#vectored('writev', fd, buffers, options);
  }

  #vectored(which: 'readv' | 'writev', fd: number, buffers: readonly ArrayBufferView[], options: RingVectoredOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const views = validateBufferArray(buffers, 1024);
    validateOptions(options as unknown);
    const position = resolvePosition(options?.position, true);
    checkVectored(fd, views, position);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    const ring = this.#native;
    return this.#start(SYSCALLS[which], fd, signal, (slot) => ring[which](slot, fd, views, position, timeoutMs, sqeFlags));
  }

  /**
   * Flushes the file to the device (`IORING_OP_FSYNC`). Operations submitted
   * before it are not ordered before it by the kernel: await them first.
   *
   * @example
   * ```ts
   * await ring.write(fd, data, { position: 0 });
   * await ring.fsync(fd);
   * ```
   */
  async fsync(fd: number, options?: RingOperationOptions): Promise<void> {
    await this.#fsync(fd, false, options);
  }

  /**
   * Flushes the file's data (`IORING_OP_FSYNC` with `IORING_FSYNC_DATASYNC`).
   *
   * @example
   * ```ts
   * await ring.fdatasync(fd);
   * ```
   */
  async fdatasync(fd: number, options?: RingOperationOptions): Promise<void> {
    await this.#fsync(fd, true, options);
  }

  #fsync(fd: number, datasync: boolean, options: RingOperationOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    return this.#start(datasync ? 'io_uring:fdatasync' : 'io_uring:fsync', fd, signal, (slot) => this.#native.fsync(slot, fd, datasync, timeoutMs, sqeFlags));
  }

  /**
   * Opens a file (`IORING_OP_OPENAT`), close-on-exec.
   *
   * @returns the new fd
   * @example
   * ```ts
   * const fd = await ring.openat('/etc/hostname');
   * ```
   */
  openat(path: string, options?: RingOpenOptions): Promise<number> {
    this.#table.checkOpen();
    validatePath(path);
    validateOptions(options as unknown);
    const flags = resolveOpenFlags(options?.flags ?? 'r', 'options.flags') | constant('O_CLOEXEC');
    const mode = options?.mode ?? 0o666;
    validateInteger(mode, 'options.mode', 0, 0o7777);
    const dirfd = options?.dirfd ?? constant('AT_FDCWD');
    if (options?.dirfd !== undefined) validateFd(dirfd, 'options.dirfd');
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    return this.#start('io_uring:openat', -1, signal, (slot) => this.#native.openat(slot, dirfd, path, flags, mode, timeoutMs, sqeFlags));
  }

  /**
   * Closes an fd through the ring (`IORING_OP_CLOSE`). An fd an iomodes
   * object owns (an `Epoll`'s, a ring's) is refused with `EBUSY`.
   *
   * @example
   * ```ts
   * await ring.closeFd(await ring.openat('/etc/hostname'));
   * ```
   */
  async closeFd(fd: number, options?: RingOperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    await this.#start('io_uring:close', fd, signal, (slot) => this.#native.closeFd(slot, fd, timeoutMs, sqeFlags));
  }

  /**
   * `statx(2)` through the ring (`IORING_OP_STATX`).
   *
   * @example
   * ```ts
   * const { size } = await ring.statx('/etc/hostname');
   * ```
   */
  async statx(path: string, options?: RingOperationOptions & { dirfd?: number }): Promise<RingStat> {
    this.#table.checkOpen();
    validatePath(path);
    validateOptions(options as unknown);
    const dirfd = options?.dirfd ?? constant('AT_FDCWD');
    if (options?.dirfd !== undefined) validateFd(dirfd, 'options.dirfd');
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    const out = new Uint8Array(constant('sizeof_statx'));
    await this.#start('io_uring:statx', -1, signal, (slot) =>
      this.#native.statx(slot, dirfd, path, constant('AT_STATX_SYNC_AS_STAT'), constant('STATX_BASIC_STATS'), out, timeoutMs, sqeFlags),
    );
    const view = new DataView(out.buffer);
    const at = (field: string): number => constant(`offsetof_statx_${field}`);
    return {
      mask: view.getUint32(at('mask'), true),
      mode: view.getUint16(at('mode'), true),
      size: Number(view.getBigUint64(at('size'), true)),
      blksize: view.getUint32(at('blksize'), true),
    };
  }

  /**
   * Accepts a connection (`IORING_OP_ACCEPT`); the new socket is
   * close-on-exec, and non-blocking unless `nonblocking: false`.
   *
   * @returns the connected socket's fd
   * @example
   * ```ts
   * const conn = await ring.accept(listener);
   * ```
   */
  accept(fd: number, options?: RingOperationOptions & { nonblocking?: boolean }): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    validateOptions(options as unknown);
    if (options?.nonblocking !== undefined) validateBoolean(options.nonblocking, 'options.nonblocking');
    const flags = constant('SOCK_CLOEXEC') | (options?.nonblocking === false ? 0 : constant('SOCK_NONBLOCK'));
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    return this.#start('io_uring:accept', fd, signal, (slot) => this.#native.accept(slot, fd, flags, timeoutMs, sqeFlags));
  }

  /**
   * Connects a socket (`IORING_OP_CONNECT`).
   *
   * @example
   * ```ts
   * await ring.connect(sock, { host: '127.0.0.1', port: 8080 });
   * ```
   */
  async connect(fd: number, address: SocketAddress, options?: RingOperationOptions): Promise<void> {
    this.#table.checkOpen();
    validateFd(fd);
    const [family, host, port] = encodeAddress(address);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    await this.#start('io_uring:connect', fd, signal, (slot) => this.#native.connect(slot, fd, family, host, port, timeoutMs, sqeFlags));
  }

  /**
   * Receives from a socket (`IORING_OP_RECV`).
   *
   * @returns bytes received; 0 when the peer has shut down
   * @example
   * ```ts
   * const n = await ring.recv(sock, Buffer.alloc(64));
   * ```
   */
  recv(fd: number, buffer: ArrayBufferView, options?: RingSocketOptions): Promise<number> {
    return this.#socket('recv', fd, buffer, options);
  }

  /**
   * Sends on a socket (`IORING_OP_SEND`).
   *
   * @returns bytes sent
   * @example
   * ```ts
   * await ring.send(sock, Buffer.from('ping'));
   * ```
   */
  send(fd: number, buffer: ArrayBufferView, options?: RingSocketOptions): Promise<number> {
    return this.#socket('send', fd, buffer, options);
  }

  #socket(which: 'recv' | 'send', fd: number, buffer: ArrayBufferView, options: RingSocketOptions | undefined): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    validateOptions(options as unknown);
    const { offset, length, signal } = resolveReadWrite(fd, buffer, options === undefined ? undefined : { offset: options.offset, length: options.length, signal: options.signal }, true);
    const flags = options?.flags ?? 0;
    validateInteger(flags, 'options.flags', 0, 2 ** 31 - 1);
    const [timeoutMs, sqeFlags] = this.#sqeOptions(options);
    const ring = this.#native;
    return this.#start(SYSCALLS[which], fd, signal, (slot) => ring[which](slot, fd, buffer, offset, length, flags, timeoutMs, sqeFlags));
  }

  /**
   * Waits once for `events` (`POLLIN`, `POLLOUT`, ... from `POLL`) on `fd`
   * (`IORING_OP_POLL_ADD`).
   *
   * @returns the ready events
   * @example
   * ```ts
   * import { POLL } from 'iomodes';
   * await ring.poll(sock, POLL.IN);
   * ```
   */
  poll(fd: number, events: number, options?: RingOperationOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    validateInteger(events, 'events', 0, 2 ** 32 - 1);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    return this.#start('io_uring:poll', fd, signal, (slot) => this.#native.poll(slot, fd, events, false, timeoutMs, sqeFlags));
  }

  /**
   * Waits for `events` on `fd` again and again (a multishot
   * `IORING_OP_POLL_ADD`): each readiness is one value of the iterator,
   * until the signal aborts it (the iterator then throws an `AbortError`),
   * the loop breaks (which cancels it), or the kernel ends it.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * for await (const revents of ring.pollMultishot(sock, POLL.IN, { signal: ac.signal })) {
   *   drain(sock);
   * }
   * ```
   */
  pollMultishot(fd: number, events: number, options?: OperationOptions): AsyncIterableIterator<number> {
    this.#table.checkOpen();
    validateFd(fd);
    validateInteger(events, 'events', 0, 2 ** 32 - 1);
    validateOptions(options as unknown);
    const caller = options?.signal;
    validateSignal(caller);
    const queue: number[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    const stop = new AbortController();
    const signal = caller === undefined ? stop.signal : AbortSignal.any([caller, stop.signal]);
    const done = this.#table.start('io_uring:poll', fd, signal, (slot) => this.#native.poll(slot, fd, events, true, -1, 0), (revents) => {
      queue.push(revents);
      wake?.();
    });
    done.then(
      (revents) => {
        queue.push(revents);
        ended = true;
        wake?.();
      },
      (error: unknown) => {
        if (!(stop.signal.aborted && (error as { code?: string }).code === 'ABORT_ERR')) failure = error;
        ended = true;
        wake?.();
      },
    );
    const iterator: AsyncIterableIterator<number> = {
      next: async () => {
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (queue.length > 0) return { value: queue.shift()!, done: false };
        if (failure !== undefined) throw failure;
        return { value: undefined, done: true };
      },
      return: async () => {
        if (!ended) {
          stop.abort();
          await done.catch(() => {});
        }
        queue.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Resolves after `ms` milliseconds, timed by the kernel (`IORING_OP_TIMEOUT`).
   *
   * @example
   * ```ts
   * await ring.timeout(10);
   * ```
   */
  async timeout(ms: number, options?: OperationOptions): Promise<void> {
    this.#table.checkOpen();
    const wait = validateTimeout(ms, 'ms');
    if (wait < 0) throw invalidArgValue('ms', ms, 'must be finite');
    validateOptions(options as unknown);
    const signal = options?.signal;
    validateSignal(signal);
    await this.#start('io_uring:timeout', -1, signal, (slot) => this.#native.timeout(slot, wait, 0));
  }

  /**
   * Cancels every operation in flight on `fd` (`IORING_OP_ASYNC_CANCEL`
   * with `IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL`); each rejects
   * with `ECANCELED` (an `AbortError` if its own signal asked first).
   *
   * @returns how many operations were cancelled
   * @example
   * ```ts
   * const n = await ring.cancelFd(sock);
   * ```
   */
  cancelFd(fd: number, options?: { fixedFile?: boolean }): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    const [, sqeFlags] = this.#tail(options);
    return this.#start('io_uring:cancel', fd, undefined, (slot) => this.#native.cancelFd(slot, fd, sqeFlags));
  }

  /**
   * Registers fds with the ring (`IORING_REGISTER_FILES`): an operation
   * with `fixedFile: true` then names one by its index, and the kernel skips
   * the fd lookup. Replaces any earlier registration.
   *
   * @example
   * ```ts
   * ring.registerFiles([fd]);
   * await ring.read(0, buf, { position: 0, fixedFile: true });
   * ```
   */
  registerFiles(fds: readonly number[]): void {
    this.#table.checkOpen();
    if (!Array.isArray(fds) || fds.length === 0 || fds.length > 65536) throw invalidArgValue('fds', fds, 'must be an array of 1 to 65536 fds');
    const list = Int32Array.from(fds, (fd, i) => {
      validateFd(fd, `fds[${i}]`);
      return fd;
    });
    if (this.#registered) this.#native.unregisterFiles();
    const r = this.#native.registerFiles(list);
    if (r < 0) throw errnoError(r, 'io_uring_register');
    this.#registered = true;
  }

  #registered = false;

  /**
   * Makes `count` buffers of `size` bytes each in native memory (page
   * aligned, so they also suit `O_DIRECT`) and registers them with the ring
   * (`IORING_REGISTER_BUFFERS`): the kernel pins them once, instead of at
   * every operation. {@link Ring.readFixed} and {@link Ring.writeFixed}
   * then name one by its index. The memory belongs to the ring, never to
   * JavaScript, and is freed by {@link Ring.unregisterBuffers} or
   * {@link Ring.close}. At most 16384 buffers of at most 1 GiB each; pinned
   * memory counts against `RLIMIT_MEMLOCK` for processes without
   * `CAP_IPC_LOCK`.
   *
   * @throws {@link IoError} `EBUSY` if buffers are already registered
   *   (unregister them first), `ENOMEM` when the memory cannot be had or
   *   pinned
   * @example
   * ```ts
   * ring.registerBuffers(32, 4096); // 32 buffers of 4 KiB
   * const n = await ring.readFixed(fd, Buffer.alloc(4096), { bufferIndex: 0, position: 0 });
   * ```
   */
  registerBuffers(count: number, size: number): void {
    this.#table.checkOpen();
    validateInteger(count, 'count', 1, constant('IOMODES_RING_MAX_BUFFERS'));
    validateInteger(size, 'size', 1, constant('IOMODES_RING_MAX_BUFFER_SIZE'));
    const r = this.#native.registerBuffers(count, size);
    if (r < 0) {
      throw errnoError(r, 'io_uring_register', undefined, r === -osConstants.errno.EBUSY ? 'buffers are already registered with this ring; unregisterBuffers() first' : undefined);
    }
    this.#buffers = { count, size };
  }

  /** What the native side has registered, kept here: asking it costs a native call per operation. */
  #buffers: RingRegisteredBuffers | null = null;

  /**
   * Unregisters the buffers {@link Ring.registerBuffers} made
   * (`IORING_UNREGISTER_BUFFERS`) and frees them. Does nothing if none are
   * registered. A fixed operation still waiting for a slot afterwards
   * rejects with `EFAULT`.
   *
   * @throws {@link IoError} `EBUSY` while a `readFixed` or `writeFixed` is
   *   in flight: await (or abort) them first
   * @example
   * ```ts
   * ring.unregisterBuffers();
   * ```
   */
  unregisterBuffers(): void {
    this.#table.checkOpen();
    if (this.#buffers === null) return;
    const r = this.#native.unregisterBuffers();
    if (r < 0) {
      throw errnoError(r, 'io_uring_register', undefined, r === -osConstants.errno.EBUSY ? 'operations using the registered buffers are in flight; await or abort them first' : undefined);
    }
    this.#buffers = null;
  }

  /**
   * The buffers registered with {@link Ring.registerBuffers}, or `null`.
   *
   * @example
   * ```ts
   * ring.registeredBuffers; // { count: 32, size: 4096 }
   * ```
   */
  get registeredBuffers(): RingRegisteredBuffers | null {
    this.#table.checkOpen();
    return this.#buffers === null ? null : { ...this.#buffers };
  }

  /**
   * Reads into registered buffer `options.bufferIndex`
   * (`IORING_OP_READ_FIXED`), then copies the bytes read into `buffer` at
   * `offset` when the completion is reaped. With `buffer` `null` nothing is
   * copied: the bytes stay in the registered buffer, for a
   * {@link Ring.writeFixed} with a `null` buffer to send on (a file copy
   * that never touches JS memory). Use one registered buffer (or
   * non-overlapping ranges) per operation in flight.
   *
   * @returns bytes read; 0 at end of file
   * @throws `ERR_INVALID_STATE` when no buffers are registered;
   *   `ERR_OUT_OF_RANGE` for an index or range outside them
   * @example
   * ```ts
   * ring.registerBuffers(4, 4096);
   * const buf = Buffer.alloc(4096);
   * const n = await ring.readFixed(fd, buf, { bufferIndex: 0, position: 8192, timeoutMs: 1000 });
   * ```
   */
  readFixed(fd: number, buffer: ArrayBufferView | null, options: RingFixedOptions): Promise<number> {
    return this.#fixed('readFixed', fd, buffer, options);
  }

  /**
   * Writes from registered buffer `options.bufferIndex`
   * (`IORING_OP_WRITE_FIXED`), after copying `buffer`'s bytes into it — at
   * the call, unless the ring is full and the operation waits in the queue,
   * so `buffer` may be reused at once. With `buffer` `null` it writes what
   * the registered buffer holds (what a {@link Ring.readFixed} left there).
   *
   * @returns bytes written
   * @example
   * ```ts
   * await ring.writeFixed(fd, Buffer.from('hello\n'), { bufferIndex: 1, position: 0 });
   * // copy 4 KiB from one file to another without JS memory:
   * const n = await ring.readFixed(src, null, { bufferIndex: 2, position: 0 });
   * await ring.writeFixed(dst, null, { bufferIndex: 2, length: n, position: 0 });
   * ```
   */
  writeFixed(fd: number, buffer: ArrayBufferView | null, options: RingFixedOptions): Promise<number> {
    return this.#fixed('writeFixed', fd, buffer, options);
  }

  #fixed(which: 'readFixed' | 'writeFixed', fd: number, buffer: ArrayBufferView | null, options: RingFixedOptions): Promise<number> {
    this.#table.checkOpen();
    validateFd(fd);
    if (buffer !== null) validateBuffer(buffer);
    if (options === undefined || options === null) throw invalidArgType('options', 'of type object', options);
    validateOptions(options as unknown);
    const registered = this.#buffers;
    if (registered === null) throw codedError(Error, 'ERR_INVALID_STATE', `Ring.${which}: no buffers are registered with this ring; call registerBuffers() first`);
    const { count, size } = registered;
    const index = options.bufferIndex;
    validateInteger(index, 'options.bufferIndex', 0, count - 1);
    const bufferOffset = options.bufferOffset ?? 0;
    validateInteger(bufferOffset, 'options.bufferOffset', 0, size);
    const room = size - bufferOffset;
    let offset = 0;
    let length: number;
    if (buffer === null) {
      if (options.offset !== undefined && options.offset !== 0) throw invalidArgValue('options.offset', options.offset, 'must be 0 (or left out) without a buffer');
      length = options.length ?? room;
      validateInteger(length, 'options.length', 0, room);
    } else {
      offset = options.offset ?? 0;
      const fits = validateRange(buffer, offset, options.length);
      if (options.length === undefined) length = Math.min(fits, room);
      else if (fits > room) throw outOfRange('options.length', `<= ${room}, the registered buffer's size after options.bufferOffset`, fits);
      else length = fits;
    }
    const position = resolvePosition(options.position, true);
    const [timeoutMs, sqeFlags, signal] = this.#tail(options);
    const ring = this.#native;
    return this.#start(SYSCALLS[which], fd, signal, (slot) => ring[which](slot, fd, buffer, offset, length, position, index, bufferOffset, timeoutMs, sqeFlags));
  }

  /**
   * Drops the files {@link Ring.registerFiles} registered.
   *
   * @example
   * ```ts
   * ring.unregisterFiles();
   * ```
   */
  unregisterFiles(): void {
    this.#table.checkOpen();
    if (!this.#registered) return;
    const r = this.#native.unregisterFiles();
    if (r < 0) throw errnoError(r, 'io_uring_register');
    this.#registered = false;
  }

  /**
   * Submits the operations started so far now, instead of at the end of
   * this turn.
   *
   * @returns how many submission entries the kernel took
   * @example
   * ```ts
   * ring.read(fd, buf, { position: 0 });
   * ring.submit(); // in the kernel before any await
   * ```
   */
  submit(): number {
    this.#table.checkOpen();
    return this.#flush();
  }

  /**
   * Cancels what is in flight, waits up to 2 s for the kernel to let go of
   * every buffer, then unmaps and closes the ring. Pending promises reject
   * with an `AbortError` (or resolve, if they completed first). Anything the
   * kernel did not release in time is leaked on purpose
   * (`debugCounters().leakedOnTeardown`), never freed under it. Idempotent.
   *
   * @example
   * ```ts
   * ring.close();
   * ```
   */
  close(): void {
    if (this.#table.closed) return;
    const live = this.#table.close();
    for (const slot of live) this.#native.cancel(slot);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.#table.inKernel > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const r = this.#native.wait(Math.ceil(left));
      this.#table.reap(this.#native);
      // A kernel without timed waits (EXT_ARG, 5.11+) says EINVAL: stop
      // waiting rather than spin; what is left is abandoned below.
      if (r < 0 && r !== -osConstants.errno.ETIME && r !== -osConstants.errno.EINTR) break;
    }
    this.#native.close();
    this.#table.abandon();
    this.#watcher.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------ internals

  /** The (timeoutMs, sqeFlags, signal) every operation takes, each option read once. */
  #tail(options: RingOperationOptions | undefined): readonly [number, number, AbortSignal | undefined] {
    validateOptions(options as unknown);
    if (options === undefined) return NO_TAIL;
    const signal = options.signal;
    validateSignal(signal);
    const [timeoutMs, sqeFlags] = this.#sqeOptions(options);
    return [timeoutMs, sqeFlags, signal];
  }

  /** `timeoutMs` and `fixedFile` as (timeoutMs, sqeFlags), each read once; `options` is validated. */
  #sqeOptions(options: RingOperationOptions | undefined): readonly [number, number] {
    if (options === undefined) return NO_SQE_OPTIONS;
    const { timeoutMs, fixedFile } = options;
    if (timeoutMs === undefined && fixedFile === undefined) return NO_SQE_OPTIONS;
    const ms = timeoutMs === undefined ? -1 : validateTimeout(timeoutMs, 'options.timeoutMs');
    if (fixedFile !== undefined) validateBoolean(fixedFile, 'options.fixedFile');
    return [ms, fixedFile === true ? constant('IOSQE_FIXED_FILE') : 0];
  }

  #start(syscall: string, fd: number, signal: AbortSignal | undefined, submit: (slot: number) => number): Promise<number> {
    return this.#table.start(syscall, fd, signal, submit);
  }

  #schedule(): void {
    this.#watcher.ref(true);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (!this.#table.closed) this.#flush();
    });
  }

  #flush(): number {
    const r = this.#native.submit();
    // Cached reads completed inside io_uring_enter: settle them now, unless
    // the loop has not turned for INLINE_REAPS of these (their promises'
    // continuations submit the next reads from microtasks: a read loop on
    // cached data would never let a timer or a socket in). Then the loop
    // turns first: its check phase reaps them.
    if (this.#inlineReaps < INLINE_REAPS) {
      this.#inlineReaps++;
      this.#reap(false);
    } else if (!this.#yielding) {
      this.#yielding = true;
      setImmediate(() => {
        this.#yielding = false;
        this.#inlineReaps = 0;
        this.#reap(false);
      });
    }
    if (r < 0 && r !== -osConstants.errno.EBUSY && r !== -osConstants.errno.EAGAIN) throw errnoError(r, 'io_uring_enter');
    return Math.max(r, 0);
  }

  #reap(woken: boolean): void {
    if (this.#table.closed) return;
    this.#table.reap(this.#native, woken);
    const busy = this.#table.pending > 0;
    this.#watcher.ref(busy);
    if (busy && this.#iopoll && !this.#polling) {
      // IOPOLL rings raise no completion event: poll from the loop.
      this.#polling = true;
      setImmediate(() => {
        this.#polling = false;
        this.#reap(false);
      });
    }
  }

  #cancel(slot: number): void {
    if (this.#native.cancel(slot) === 0) this.#schedule();
  }
}

