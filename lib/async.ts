/**
 * Asynchronous I/O: `io_uring` ({@link Ring}), Linux native AIO, POSIX AIO
 * and a threadpool backend, each in `lib/async/`, behind one interface
 * ({@link AsyncIo}); and the probes `iomodes doctor` uses: whether this
 * process may create an io_uring or an AIO context, and if not, why not (a
 * container's seccomp profile, the `kernel.io_uring_disabled` sysctl, a
 * kernel built without it, a limit).
 *
 * @module
 */
export { LinuxAio } from './async/linux-aio.js';
export type { LinuxAioOptions } from './async/linux-aio.js';
export { PosixAio } from './async/posix-aio.js';
export type { PosixAioOptions } from './async/posix-aio.js';
export { Ring } from './async/ring.js';
export { ThreadpoolIo } from './async/threadpool.js';
export type { ThreadpoolIoOptions } from './async/threadpool.js';
export type { RingFixedOptions, RingInfo, RingOpenOptions, RingOperationOptions, RingOptions, RingReadWriteOptions, RingRegisteredBuffers, RingSocketOptions, RingStat, RingVectoredOptions } from './async/ring.js';
export type { AsyncBackend, AsyncIo, OperationOptions, ReadWriteOptions, VectoredOptions } from './async/inflight.js';
import { readProc, readProcNumber, seccompMode, statusField } from './proc.js';
import { check, codedError, errnoError } from './errors.js';
import { close, O } from './fd.js';
import { constant, native } from './native.js';
import { getrlimit } from './system.js';
import { validateBoolean, validateFd, validateOneOf, validateOptions } from './validate.js';
import type { AsyncBackend, AsyncIo } from './async/inflight.js';
import { LinuxAio } from './async/linux-aio.js';
import { PosixAio } from './async/posix-aio.js';
import { Ring } from './async/ring.js';
import { ThreadpoolIo } from './async/threadpool.js';

/**
 * Why a mode is unavailable:
 * - `'seccomp'`: a seccomp filter refuses the syscall (Docker's and
 *   containerd's default profiles refuse `io_uring_*`);
 * - `'sysctl'`: `kernel.io_uring_disabled` is 2, or 1 and this process is
 *   neither `CAP_SYS_ADMIN` nor in `kernel.io_uring_group`;
 * - `'enosys'`: the kernel has no such syscall (too old, or configured out);
 * - `'memlock'`: the ring does not fit in `RLIMIT_MEMLOCK` (kernels before 5.12);
 * - `'limit'`: a system-wide limit is reached (`fs.aio-max-nr`);
 * - `'filesystem'`: the filesystem refuses `O_DIRECT`;
 * - `'eperm'`: `EPERM` with none of the causes above visible;
 * - `'error'`: any other errno.
 *
 * @example
 * ```ts
 * import { ioUringAvailable, type UnavailableReason } from 'iomodes';
 * const probe = ioUringAvailable();
 * const reason: UnavailableReason | undefined = probe.ok ? undefined : probe.reason;
 * if (reason === 'seccomp') console.log('allow the io_uring_* syscalls in the container\'s seccomp profile');
 * ```
 */
export type UnavailableReason = 'seccomp' | 'sysctl' | 'enosys' | 'memlock' | 'limit' | 'filesystem' | 'eperm' | 'error';

/**
 * What a probe returns when this process cannot use a mode: the reason, the
 * failed syscall and its errno, and a sentence for a person.
 *
 * @example
 * ```ts
 * import { ioUringAvailable } from 'iomodes';
 * const probe = ioUringAvailable();
 * if (!probe.ok) console.error(`no io_uring (${probe.reason}): ${probe.detail}`);
 * ```
 */
export interface Unavailable {
  ok: false;
  reason: UnavailableReason;
  /** The positive errno, such as `1`. */
  errno: number;
  /** The errno's name, such as `'EPERM'`. */
  code: string;
  /** The syscall that failed, such as `'io_uring_setup'`. */
  syscall: string;
  /** Why, in a sentence, with the facts that decided the reason. */
  detail: string;
}

/**
 * A successful {@link ioUringAvailable} probe: what the kernel said about the ring it made.
 *
 * @example
 * ```ts
 * import { ioUringAvailable, type IoUringProbe, type Unavailable } from 'iomodes';
 * const probe: IoUringProbe | Unavailable = ioUringAvailable();
 * if (probe.ok) console.log(probe.featureNames.includes('IORING_FEAT_NODROP'), probe.cqEntries); // true 4
 * ```
 */
export interface IoUringProbe {
  ok: true;
  /** `io_uring_params.features`: the `IORING_FEAT_*` bits this kernel offers. */
  features: number;
  /** How many bits of {@link IoUringProbe.features} are set. */
  featureCount: number;
  /** The set bits this build knows a name for, such as `'IORING_FEAT_NODROP'`. */
  featureNames: string[];
  /** Submission queue entries of the probe ring (as asked: 2). */
  sqEntries: number;
  /** Completion queue entries of the probe ring (the kernel makes twice as many). */
  cqEntries: number;
}

/**
 * A successful {@link aioAvailable} probe.
 *
 * @example
 * ```ts
 * import { aioAvailable, LinuxAio, type AioProbe, type Unavailable } from 'iomodes';
 * const probe: AioProbe | Unavailable = aioAvailable(); // { ok: true } where io_setup works
 * const aio = probe.ok ? LinuxAio.create() : undefined;
 * aio?.close();
 * ```
 */
export interface AioProbe {
  ok: true;
}

function hasCapSysAdmin(): boolean {
  const capEff = statusField('CapEff');
  return capEff !== undefined && ((BigInt(`0x${capEff}`) >> BigInt(constant('CAP_SYS_ADMIN'))) & 1n) === 1n;
}

function unavailable(reason: UnavailableReason, result: number, syscall: string, detail: string): Unavailable {
  const { errno, code } = errnoError(result, syscall);
  return { ok: false, reason, errno, code, syscall, detail };
}

function ioUringFailure(result: number): Unavailable {
  const { code } = errnoError(result, 'io_uring_setup');
  const disabled = readProcNumber('/proc/sys/kernel/io_uring_disabled');
  const group = readProcNumber('/proc/sys/kernel/io_uring_group');
  const seccomp = seccompMode();
  const fail = (reason: UnavailableReason, detail: string): Unavailable => unavailable(reason, result, 'io_uring_setup', detail);
  if (code === 'EPERM') {
    if (disabled === 2) return fail('sysctl', 'kernel.io_uring_disabled is 2: io_uring is off for every process');
    if (disabled === 1) {
      const inGroup = group !== undefined && group >= 0 && (process.getegid?.() === group || (process.getgroups?.() ?? []).includes(group));
      if (!inGroup && !hasCapSysAdmin()) {
        return fail('sysctl', `kernel.io_uring_disabled is 1: only CAP_SYS_ADMIN or members of kernel.io_uring_group (${group ?? 'unset'}) may create rings`);
      }
    }
    if (seccomp === 2) return fail('seccomp', 'a seccomp filter refuses io_uring_setup (Seccomp: 2), as Docker\'s and containerd\'s default profiles do');
    return fail('eperm', `EPERM with kernel.io_uring_disabled ${disabled ?? 'absent'} and no seccomp filter: a security module may refuse it`);
  }
  if (code === 'ENOSYS') {
    // The sysctl exists only in kernels built with io_uring, so ENOSYS there
    // comes from a seccomp filter that answers ENOSYS instead of EPERM.
    if (seccomp === 2 && disabled !== undefined) return fail('seccomp', 'a seccomp filter answers ENOSYS for io_uring_setup (Seccomp: 2), though this kernel has io_uring');
    // Same sysctl, no filter: the call never reached this kernel. qemu-user
    // (how the arm64 prebuild is tested) implements no io_uring syscall.
    if (disabled !== undefined) return fail('enosys', 'io_uring_setup answers ENOSYS though this kernel has io_uring (kernel.io_uring_disabled exists) and no seccomp filter: an emulator such as qemu-user that lacks the syscall');
    return fail('enosys', seccomp === 2 ? 'no io_uring_setup: a kernel without io_uring (before 5.1, or CONFIG_IO_URING=n), or a seccomp filter answering ENOSYS' : 'this kernel has no io_uring (before 5.1, or built with CONFIG_IO_URING=n)');
  }
  if (code === 'ENOMEM') {
    const { soft } = getrlimit('memlock');
    return fail('memlock', `the ring does not fit in RLIMIT_MEMLOCK (soft ${soft}): kernels before 5.12 charge ring memory to it`);
  }
  return fail('error', `io_uring_setup failed with ${code}`);
}

/**
 * Whether this process may create an io_uring: really calls
 * `io_uring_setup(2)` for a 2-entry ring, reads its `features`, and closes
 * it. On failure the reason says why, from `kernel.io_uring_disabled`,
 * `kernel.io_uring_group`, the `Seccomp:` mode and the errno.
 *
 * @returns the ring's features, or an {@link Unavailable} with the cause
 * @example
 * ```ts
 * import { ioUringAvailable } from 'iomodes';
 * const probe = ioUringAvailable();
 * if (probe.ok) console.log(`io_uring with ${probe.featureCount} features`);
 * else console.log(`no io_uring: ${probe.reason} (${probe.code})`);
 * ```
 */
export function ioUringAvailable(): IoUringProbe | Unavailable {
  const params = new Uint8Array(constant('sizeof_io_uring_params'));
  const fd = native.io_uring_setup(2, params);
  if (fd < 0) return ioUringFailure(fd);
  close(fd);
  const view = new DataView(params.buffer);
  const u32 = (field: string): number => view.getUint32(constant(`offsetof_io_uring_params_${field}`), true);
  const features = u32('features');
  const featureNames = Object.entries(native.constants)
    .filter(([name, bit]) => name.startsWith('IORING_FEAT_') && (features & bit) !== 0)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
  let featureCount = 0;
  for (let bits = features; bits !== 0; bits &= bits - 1) featureCount++;
  return { ok: true, features, featureCount, featureNames, sqEntries: u32('sq_entries'), cqEntries: u32('cq_entries') };
}

/**
 * Whether this process may use Linux native AIO: really calls `io_setup(2)`
 * for one event, then `io_destroy(2)`. `EAGAIN` means the system-wide
 * `fs.aio-max-nr` is used up (by every process on the host, containers
 * included).
 *
 * @returns `{ ok: true }`, or an {@link Unavailable} with the cause
 * @example
 * ```ts
 * import { aioAvailable } from 'iomodes';
 * const probe = aioAvailable();
 * console.log(probe.ok ? 'Linux AIO works' : `no Linux AIO: ${probe.detail}`);
 * ```
 */
export function aioAvailable(): AioProbe | Unavailable {
  const ctx = new BigUint64Array(1);
  const r = native.io_setup(1, ctx);
  if (r < 0) {
    const { code } = errnoError(r, 'io_setup');
    const fail = (reason: UnavailableReason, detail: string): Unavailable => unavailable(reason, r, 'io_setup', detail);
    const seccomp = seccompMode();
    if (code === 'EAGAIN') {
      const nr = readProc('/proc/sys/fs/aio-nr') ?? '?';
      const max = readProc('/proc/sys/fs/aio-max-nr') ?? '?';
      return fail('limit', `fs.aio-nr ${nr} has reached fs.aio-max-nr ${max} (a limit shared by the whole host)`);
    }
    if (code === 'EPERM') return fail(seccomp === 2 ? 'seccomp' : 'eperm', seccomp === 2 ? 'a seccomp filter refuses io_setup (Seccomp: 2)' : 'io_setup refused with EPERM');
    if (code === 'ENOSYS') {
      if (seccomp === 2) return fail('seccomp', 'no io_setup: a seccomp filter (Seccomp: 2), or a kernel built with CONFIG_AIO=n');
      // fs.aio-max-nr exists only with CONFIG_AIO: then an emulator (qemu-user) answered, not this kernel.
      if (readProc('/proc/sys/fs/aio-max-nr') !== undefined) return fail('enosys', 'io_setup answers ENOSYS though this kernel has Linux AIO (fs.aio-max-nr exists) and no seccomp filter: an emulator such as qemu-user that lacks the syscall');
      return fail('enosys', 'this kernel has no Linux AIO (CONFIG_AIO=n)');
    }
    return fail('error', `io_setup failed with ${code}`);
  }
  const d = native.io_destroy(ctx[0]!);
  if (d < 0) return unavailable('error', d, 'io_destroy', `io_destroy failed with ${errnoError(d, 'io_destroy').code}`);
  return { ok: true };
}

/**
 * Options of {@link createAsyncIo}.
 *
 * @example
 * ```ts
 * import { createAsyncIo, openDirect, close, type AsyncIoOptions } from 'iomodes';
 * const fd = openDirect('/var/tmp/data', 'r');
 * const options: AsyncIoOptions = { fd }; // O_DIRECT: 'auto' may take Linux AIO if io_uring is unavailable
 * const io = createAsyncIo(options);
 * io.close(); close(fd);
 * ```
 */
export interface AsyncIoOptions {
  /**
   * `'auto'` (default): io_uring; else, for `O_DIRECT` files, Linux AIO;
   * else the threadpool. Or one backend by name, which fails if it is
   * unavailable.
   */
  backend?: 'auto' | AsyncBackend;
  /**
   * Whether the files will be opened with `O_DIRECT`: only then is Linux AIO
   * truly asynchronous (on buffered files `io_submit` does the I/O itself),
   * so only then does `'auto'` take it.
   */
  direct?: boolean;
  /** An fd to decide `direct` from (its `O_DIRECT` flag), instead of `direct`. */
  fd?: number;
}

/**
 * Why `'auto'` did not take a backend.
 *
 * @example
 * ```ts
 * import { createAsyncIo, type PassedOver } from 'iomodes';
 * process.env.IOMODES_DISABLE = 'io_uring';
 * const io = createAsyncIo(); // the threadpool
 * const skipped: readonly PassedOver[] = io.passedOver;
 * // [{ backend: 'io_uring', reason: 'disabled', … }, { backend: 'linux-aio', reason: 'buffered', … }]
 * io.close();
 * ```
 */
export interface PassedOver {
  backend: AsyncBackend;
  /**
   * An {@link UnavailableReason}; `'disabled'` (named in `IOMODES_DISABLE`);
   * or `'buffered'` (Linux AIO for files without `O_DIRECT`, where
   * `io_submit` blocks).
   */
  reason: UnavailableReason | 'disabled' | 'buffered';
  /** Why, in a sentence. */
  detail: string;
}

/**
 * What {@link createAsyncIo} returns: an {@link AsyncIo}, and what `'auto'` passed over to choose it.
 *
 * @example
 * ```ts
 * import { createAsyncIo, type ChosenAsyncIo } from 'iomodes';
 * const io: ChosenAsyncIo = createAsyncIo();
 * for (const { backend, reason } of io.passedOver) console.log(`skipped ${backend}: ${reason}`);
 * console.log(`using ${io.backend}`); // 'io_uring' on a recent kernel
 * io.close();
 * ```
 */
export type ChosenAsyncIo = AsyncIo & { readonly passedOver: readonly PassedOver[] };

const BACKENDS: readonly AsyncBackend[] = ['io_uring', 'linux-aio', 'posix-aio', 'threadpool'];

/** The backends `IOMODES_DISABLE` (a comma-separated list) names: they count as unavailable. */
function disabledBackends(): Set<string> {
  return new Set((process.env.IOMODES_DISABLE ?? '').split(',').map((name) => name.trim()).filter(Boolean));
}

// Why `backend` cannot be used here, or undefined if it can.
function unavailability(backend: AsyncBackend, direct: boolean, byName: boolean): PassedOver | undefined {
  if (disabledBackends().has(backend)) return { backend, reason: 'disabled', detail: `IOMODES_DISABLE names ${backend}` };
  if (backend === 'io_uring') {
    const probe = ioUringAvailable();
    return probe.ok ? undefined : { backend, reason: probe.reason, detail: probe.detail };
  }
  if (backend === 'linux-aio') {
    const probe = aioAvailable();
    if (!probe.ok) return { backend, reason: probe.reason, detail: probe.detail };
    if (!direct && !byName) return { backend, reason: 'buffered', detail: 'Linux AIO is only asynchronous on O_DIRECT files: on buffered ones io_submit does the I/O itself' };
  }
  return undefined;
}

function make(backend: AsyncBackend): AsyncIo {
  switch (backend) {
    case 'io_uring':
      return Ring.create();
    case 'linux-aio':
      return LinuxAio.create();
    case 'posix-aio':
      return PosixAio.create();
    case 'threadpool':
      return ThreadpoolIo.create();
  }
}

/**
 * One asynchronous I/O interface ({@link AsyncIo}: `read`, `write`,
 * `readv`, `writev`, `fsync`, `fdatasync`, `close`) over the best backend
 * this process may use. `'auto'` tries io_uring, then — for `O_DIRECT`
 * files — Linux AIO, then the threadpool (pread/pwrite on libuv's pool, as
 * Node's `fs` does), and says in `passedOver` why it skipped each one it
 * skipped. `IOMODES_DISABLE=io_uring,linux-aio` makes the named backends
 * count as unavailable, so the fallbacks can be tried on any machine.
 *
 * @throws `ERR_ASYNC_BACKEND_UNAVAILABLE` when the backend asked for by name
 *   is unavailable; its `reason` and message say why
 * @example
 * ```ts
 * import { createAsyncIo, open } from 'iomodes';
 * const io = createAsyncIo();
 * console.log(io.backend, io.passedOver); // 'io_uring' [] on a recent kernel
 * const n = await io.read(open('/etc/hostname'), Buffer.alloc(256), { position: 0 });
 * io.close();
 * ```
 */
export function createAsyncIo(options?: AsyncIoOptions): ChosenAsyncIo {
  validateOptions(options as unknown);
  const o = options ?? {};
  for (const key of Object.keys(o)) if (!['backend', 'direct', 'fd'].includes(key)) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property 'options.${key}' is not an option of createAsyncIo()`);
  const wanted = o.backend ?? 'auto';
  validateOneOf(wanted, 'options.backend', ['auto', ...BACKENDS]);
  let direct = false;
  if (o.direct !== undefined) {
    validateBoolean(o.direct, 'options.direct');
    direct = o.direct;
  }
  if (o.fd !== undefined) {
    validateFd(o.fd, 'options.fd');
    direct = (check(native.fcntl_getfl(o.fd), 'fcntl', { fd: o.fd }) & O.DIRECT) !== 0;
  }
  const chosen = (io: AsyncIo, passedOver: PassedOver[]): ChosenAsyncIo => Object.defineProperty(io, 'passedOver', { value: Object.freeze(passedOver), enumerable: true }) as ChosenAsyncIo;
  if (wanted !== 'auto') {
    const why = unavailability(wanted, direct, true);
    if (why !== undefined) {
      const err = codedError(Error, 'ERR_ASYNC_BACKEND_UNAVAILABLE', `${wanted} is unavailable (${why.reason}): ${why.detail}`) as unknown as Error & { reason: PassedOver['reason']; backend: AsyncBackend };
      err.reason = why.reason;
      err.backend = wanted;
      throw err;
    }
    return chosen(make(wanted), []);
  }
  const passedOver: PassedOver[] = [];
  for (const backend of ['io_uring', 'linux-aio', 'threadpool'] as const) {
    const why = unavailability(backend, direct, false);
    if (why !== undefined) {
      passedOver.push(why);
      continue;
    }
    return chosen(make(backend), passedOver);
  }
  // The threadpool is never unavailable unless disabled by name.
  throw codedError(Error, 'ERR_ASYNC_BACKEND_UNAVAILABLE', `no asynchronous backend is available: ${passedOver.map((p) => `${p.backend} (${p.reason})`).join(', ')}`);
}
