/**
 * The only loader of the compiled addon, and its type. Every other module
 * reaches the kernel through {@link native}; nothing else touches the `.node`.
 *
 * Convention: a binding returns `r >= 0` on success and `-errno` on failure
 * (io_uring's rule), so synchronous and asynchronous results share one error
 * path ({@link errnoError}). Bindings throw only for arguments the TypeScript
 * layer should already have rejected.
 *
 * @internal
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Any byte-addressable memory a binding accepts. */
export type Bytes = ArrayBufferView | ArrayBuffer;

/** A socket address as the addon returns it. */
export interface NativeSockaddr {
  family: number;
  address?: string;
  port?: number;
  path?: string;
}

/** Typed surface of `native/*.cc`. Names are the syscalls' own. */
export interface NativeBinding {
  readonly constants: Readonly<Record<string, number>>;

  // native/addon.cc
  debug_counters(): { watchers: number; ownedFds: number; pinnedOps: number; leakedOnTeardown: number };
  debug_leak_check(): number;

  // native/fd.cc
  open(path: string, flags: number, mode: number): number;
  /** -EBUSY for an fd an iomodes object owns ({@link NativeBinding.fd_own}). */
  close(fd: number): number;
  /** Takes ownership of an open fd: returns its generation (> 0), or -errno. */
  fd_own(fd: number): number;
  /** Closes an owned fd, given the generation fd_own returned; -EBADF for any other pair. */
  fd_close_owned(fd: number, generation: number): number;
  dup(fd: number, cloexec: number): number;
  pipe2(flags: number, out: Int32Array): number;
  socketpair(domain: number, type: number, protocol: number, out: Int32Array): number;
  eventfd(initval: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, family: number, hostOrPath: string, port: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, flags: number): number;
  connect(fd: number, family: number, hostOrPath: string, port: number): number;
  shutdown(fd: number, how: number): number;
  getsockname(fd: number): NativeSockaddr | number;
  getpeername(fd: number): NativeSockaddr | number;
  setsockopt(fd: number, level: number, name: number, value: number): number;
  getsockopt(fd: number, level: number, name: number, out: Int32Array): number;

  // native/blocking.cc
  read(fd: number, buf: Bytes, offset: number, length: number): number;
  write(fd: number, buf: Bytes, offset: number, length: number): number;
  pread(fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
  pwrite(fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
  readv(fd: number, bufs: readonly Uint8Array[]): number;
  writev(fd: number, bufs: readonly Uint8Array[]): number;
  preadv2(fd: number, bufs: readonly Uint8Array[], position: number | bigint, flags: number): number;
  pwritev2(fd: number, bufs: readonly Uint8Array[], position: number | bigint, flags: number): number;
  fsync(fd: number): number;
  fdatasync(fd: number): number;

  // native/nonblocking.cc
  fcntl_getfl(fd: number): number;
  fcntl_setfl(fd: number, flags: number): number;
  recv(fd: number, buf: Bytes, offset: number, length: number, flags: number): number;
  send(fd: number, buf: Bytes, offset: number, length: number, flags: number): number;

  // native/system.cc
  getrlimit(resource: number, out: Float64Array): number;
  setrlimit(resource: number, soft: number, hard: number): number;

  // native/multiplex.cc
  select(readFds: Int32Array, writeFds: Int32Array, exceptFds: Int32Array, timeoutMs: number, out: Uint8Array): number;
  poll(pollfds: Bytes, nfds: number, timeoutMs: number): number;
  epoll_create1(flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, events: number, token: number | bigint): number;
  epoll_wait(epfd: number, out: Bytes, maxEvents: number, timeoutMs: number): number;

  // native/watcher.cc
  /** A `uv_poll_t` on an fd, on this thread's loop; its methods return 0 or -errno. */
  Watcher: new (callback: (status: number, events: number) => void) => {
    open(fd: number): number;
    start(events: number): number;
    stop(): number;
    ref(): number;
    unref(): number;
    hasRef(): boolean;
    close(): number;
    readonly fd: number;
    readonly active: boolean;
    readonly closed: boolean;
  };

  // native/signal.cc
  SignalIo: new () => NativeSignalIo;
  /** 0: free (default or ignored), 1: iomodes' handler, 2: someone else's; or -errno. */
  signal_handler(signo: number): number;

  // native/async.cc
  /** `params` is a struct io_uring_params (sizeof_io_uring_params bytes), in/out. */
  io_uring_setup(entries: number, params: Uint8Array): number;
  /** ctx[0] receives the aio_context_t. */
  io_setup(nrEvents: number, ctx: BigUint64Array): number;
  io_destroy(ctx: bigint): number;

  // native/uring.cc
  /** One io_uring (see native/uring.cc); methods return 0 or -errno unless noted. */
  Ring: new () => NativeRing;
  // native/aio.cc
  /**
   * Linux native AIO: one context of `capacity` events, one slot per event
   * (`aio_data` is the slot). The operations only prepare and queue an
   * iocb; `submit()` sends the queue in one `io_submit`. Each returns 0 or
   * -errno (-EBUSY for a slot in use, -EINVAL for one out of range, -EBADF
   * once closed).
   */
  LinuxAio: new () => {
    /** io_setup(nrEvents) and the completion eventfd. */
    open(nrEvents: number): number;
    read(slot: number, fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
    write(slot: number, fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
    readv(slot: number, fd: number, bufs: readonly ArrayBufferView[], position: number | bigint): number;
    writev(slot: number, fd: number, bufs: readonly ArrayBufferView[], position: number | bigint): number;
    fsync(slot: number, fd: number): number;
    fdatasync(slot: number, fd: number): number;
    /** How many iocbs stay queued (the context was full), or -EBADF. */
    submit(): number;
    /** 0 (a queued iocb withdrawn), io_cancel's -errno (-EINPROGRESS: cancelled), -ENOENT for a free slot. */
    cancel(slot: number): number;
    /** Writes (slot, result) pairs into `out`; returns how many. */
    reap(out: Float64Array): number;
    /** Cancels, reaps for up to 2 s, io_destroy; the completions stay for reap(). */
    close(): number;
    /** The completion eventfd, -1 unless open. */
    readonly eventfd: number;
    readonly capacity: number;
  };
  // native/posix_aio.cc
  /** POSIX AIO (glibc's aio_* over its thread pool); every method returns 0 or -errno unless noted. */
  PosixAio: new () => NativePosixAio;

  // native/direct.cc
  /** `out` receives the kernel's struct statx (sizeof_statx bytes); read it at the offsetof_statx_* constants. */
  statx(dirfd: number, path: string, flags: number, mask: number, out: Uint8Array): number;
  /** f_type, the filesystem's magic number, or -errno. */
  statfs(path: string): number;
  fstatfs(fd: number): number;
  /** A block device's logical block size, or -errno (ENOTTY for anything else). */
  ioctl_blksszget(fd: number): number;
  /** The view's address modulo `alignment` (a power of two). */
  address_mod(view: Bytes, alignment: number): number;
  /** Resident pages of [offset, offset + length): offset page-aligned. */
  mincore(fd: number, offset: number, length: number): number;
  posix_fadvise(fd: number, offset: number, length: number, advice: number): number;
  fallocate(fd: number, mode: number, offset: number, length: number): number;
  /** Filesystem name -> statfs f_type, from <linux/magic.h>. */
  readonly filesystems: Readonly<Record<string, number>>;

  // native/threadpool.cc
  /** Syscalls on libuv's thread pool; completions through the eventfd and reap(). */
  ThreadpoolIo: new () => NativeThreadpoolIo;
}

/**
 * A native async backend object (native/threadpool.cc): methods return 0
 * or -errno; `slot` is the JS side's (below the capacity given to open).
 */
/** native/signal.cc's SignalIo: a self-pipe and the fds it enabled. */
export interface NativeSignalIo {
  open(): number;
  acquire(signo: number): number;
  /** signo 0: plain SIGIO, no siginfo. */
  enable(fd: number, signo: number): number;
  disable(fd: number): number;
  /** Records, five int32 each: fd, signo, code, band, tid. */
  drain(out: Int32Array): number;
  takeOverflow(): number;
  close(): number;
  readonly fd: number;
  readonly tid: number;
}

export interface NativeThreadpoolIo {
  open(capacity: number): number;
  read(slot: number, fd: number, buf: ArrayBufferView, offset: number, length: number, position: number | bigint): number;
  write(slot: number, fd: number, buf: ArrayBufferView, offset: number, length: number, position: number | bigint): number;
  readv(slot: number, fd: number, bufs: readonly ArrayBufferView[], position: number | bigint): number;
  writev(slot: number, fd: number, bufs: readonly ArrayBufferView[], position: number | bigint): number;
  fsync(slot: number, fd: number): number;
  fdatasync(slot: number, fd: number): number;
  cancel(slot: number): number;
  /** Fills `out` with (slot, result) pairs; returns how many. */
  reap(out: Float64Array): number;
  /** Returns how many in-flight buffers it had to leak. */
  close(timeoutMs: number): number;
  readonly eventfd: number;
}

/** native/uring.cc's Ring: each operation is (slot, ..., timeoutMs, sqeFlags). */
export interface NativeRing {
  open(entries: number, flags: number, cqEntries: number, sqThreadIdle: number, sqThreadCpu: number, submitBatch: number): number;
  read(slot: number, fd: number, view: Bytes, offset: number, length: number, position: number | bigint, timeoutMs: number, sqeFlags: number): number;
  write(slot: number, fd: number, view: Bytes, offset: number, length: number, position: number | bigint, timeoutMs: number, sqeFlags: number): number;
  recv(slot: number, fd: number, view: Bytes, offset: number, length: number, flags: number, timeoutMs: number, sqeFlags: number): number;
  send(slot: number, fd: number, view: Bytes, offset: number, length: number, flags: number, timeoutMs: number, sqeFlags: number): number;
  readv(slot: number, fd: number, views: readonly Bytes[], position: number | bigint, timeoutMs: number, sqeFlags: number): number;
  writev(slot: number, fd: number, views: readonly Bytes[], position: number | bigint, timeoutMs: number, sqeFlags: number): number;
  fsync(slot: number, fd: number, datasync: boolean, timeoutMs: number, sqeFlags: number): number;
  openat(slot: number, dirfd: number, path: string, flags: number, mode: number, timeoutMs: number, sqeFlags: number): number;
  closeFd(slot: number, fd: number, timeoutMs: number, sqeFlags: number): number;
  statx(slot: number, dirfd: number, path: string, flags: number, mask: number, out: Uint8Array, timeoutMs: number, sqeFlags: number): number;
  accept(slot: number, fd: number, flags: number, timeoutMs: number, sqeFlags: number): number;
  connect(slot: number, fd: number, family: number, host: string, port: number, timeoutMs: number, sqeFlags: number): number;
  poll(slot: number, fd: number, events: number, multishot: boolean, timeoutMs: number, sqeFlags: number): number;
  timeout(slot: number, ms: number, unused: number): number;
  cancelFd(slot: number, fd: number, sqeFlags: number): number;
  cancel(slot: number): number;
  /** SQEs the kernel took, or -errno. */
  submit(): number;
  /** Fills (slot, result, more) triples; returns how many. Drains the eventfd first when `wokenByEventfd`. */
  reap(out: Float64Array, wokenByEventfd?: boolean): number;
  wait(timeoutMs: number): number;
  registerFiles(fds: Int32Array): number;
  unregisterFiles(): number;
  /** Maps `count` native buffers of `size` bytes and registers them (IORING_REGISTER_BUFFERS); 0 or -errno. */
  registerBuffers(count: number, size: number): number;
  /** 0, -EBUSY while a fixed operation is in flight, or the kernel's -errno. */
  unregisterBuffers(): number;
  /** `view` null: no JS memory; the bytes stay in (or come from) registered buffer `bufIndex`. -EFAULT when none are registered. */
  readFixed(slot: number, fd: number, view: Bytes | null, offset: number, length: number, position: number | bigint, bufIndex: number, bufOffset: number, timeoutMs: number, sqeFlags: number): number;
  writeFixed(slot: number, fd: number, view: Bytes | null, offset: number, length: number, position: number | bigint, bufIndex: number, bufOffset: number, timeoutMs: number, sqeFlags: number): number;
  /** Abandons what is still in flight; returns how many operations it leaked. */
  close(): number;
  readonly eventfd: number;
  readonly fd: number;
  readonly capacity: number;
  readonly info: { sqEntries: number; cqEntries: number; features: number; flags: number };
  /** The registered buffers' count and size; 0 when none are. */
  readonly bufferCount: number;
  readonly bufferSize: number;
}

/**
 * native/posix_aio.cc's object. Operations are prepared under a slot the
 * JS side picks and handed to glibc by `submit()` (one `lio_listio`).
 */
export interface NativePosixAio {
  open(capacity: number): number;
  read(slot: number, fd: number, view: Bytes, offset: number, length: number, position: number | bigint): number;
  write(slot: number, fd: number, view: Bytes, offset: number, length: number, position: number | bigint): number;
  readv(slot: number, fd: number, views: readonly ArrayBufferView[], position: number | bigint): number;
  writev(slot: number, fd: number, views: readonly ArrayBufferView[], position: number | bigint): number;
  fsync(slot: number, fd: number): number;
  fdatasync(slot: number, fd: number): number;
  /** Hands every prepared operation to glibc; returns how many settled at once (reap them). */
  submit(): number;
  cancel(slot: number): number;
  /** (slot, result) pairs into `out`; returns the pair count. */
  reap(out: Float64Array): number;
  /** Cancels, waits up to timeoutMs, releases; returns the operations leaked. */
  close(timeoutMs: number): number;
  readonly eventfd: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);
// IOMODES_ADDON names one .node file to load instead of node-gyp-build's pick
// (build/, then prebuilds/): how tests run against the cmake-js and ASan builds.
const override = process.env.IOMODES_ADDON;
const load = override
  ? () => requireHere(resolve(override))
  : (requireHere('node-gyp-build') as (dir: string) => unknown);

/**
 * The addon, loaded once per thread (each Worker gets its own instance).
 *
 * @example
 * ```ts
 * const r = native.close(fd); // 0, or -errno
 * ```
 */
export const native = load(root) as NativeBinding;

/**
 * A kernel constant the addon exported; throws if the build lacks it.
 *
 * @example
 * ```ts
 * constant('O_NONBLOCK'); // 2048
 * ```
 */
export function constant(name: string): number {
  const value = native.constants[name];
  if (value === undefined) throw new Error(`iomodes: the addon exports no constant ${name}`);
  return value;
}
