/**
 * The file engines of `iomodes bench`: fio's block workloads (sequential or
 * random reads or writes of `bs`-sized blocks, `iodepth` of them in flight)
 * through each of iomodes' ways to do file I/O, and through Node's own
 * `fs`, for comparison:
 *
 * - `blocking`: `pread(2)`/`pwrite(2)` on the main thread (lib/blocking.ts),
 *   one I/O at a time whatever `iodepth` says;
 * - `threadpool`: {@link ThreadpoolIo}, each I/O a blocking syscall on
 *   libuv's thread pool;
 * - `io_uring`: {@link Ring};
 * - `linux-aio`: {@link LinuxAio} (`io_submit`);
 * - `node-fs`: Node's callback `fs.read`/`fs.write`, as a Node user writes
 *   them, `iodepth` of them outstanding.
 *
 * Each I/O's latency is taken from its submission to the moment its
 * completion is seen on the main thread (what a program sees), and recorded
 * in a {@link LatencyRecorder}.
 *
 * @internal
 * @module
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, ftruncateSync, openSync, read as fsRead, statSync, unlinkSync, write as fsWrite } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { aioAvailable, ioUringAvailable, type Unavailable } from '../../async.js';
import { abortError, type AsyncIo } from '../../async/inflight.js';
import { LinuxAio } from '../../async/linux-aio.js';
import { Ring } from '../../async/ring.js';
import { ThreadpoolIo } from '../../async/threadpool.js';
import { pread, pwrite } from '../../blocking.js';
import { allocAligned, directIoAlignment, directIoAvailable, dropCache, fallocate, openDirect } from '../../direct.js';
import { codedError, IoError } from '../../errors.js';
import { close, open, O } from '../../fd.js';
import { LatencyRecorder } from './latency.js';
import type { DirectionResult, FileEngine, FileWorkload, JobResult, RunOptions } from './types.js';

/**
 * Every file engine, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * FILE_ENGINES.includes('io_uring'); // true
 * ```
 */
export const FILE_ENGINES: readonly FileEngine[] = ['blocking', 'threadpool', 'io_uring', 'linux-aio', 'node-fs'];

/** How often (ms) a job lets the event loop turn: Ctrl-C and timers need it. */
const YIELD_MS = 10;
/** How often (ms) a job reports its progress. */
const PROGRESS_MS = 250;
/** The layout's write size. */
const CHUNK = 1 << 20;

/**
 * A failure of the benchmark that is neither a usage error nor a failed
 * syscall (a `--file` that is a directory): `iomodes bench` prints its
 * message and exits 1.
 *
 * @example
 * ```ts
 * throw benchFailure('/dev/sda is not a regular file');
 * ```
 */
export function benchFailure(message: string): Error & { code: 'ERR_IOMODES_BENCH' } {
  return codedError(Error, 'ERR_IOMODES_BENCH', message);
}

function usageError(message: string): Error & { code: 'ERR_INVALID_ARG_VALUE' } {
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', message);
}

/**
 * Why `engine` cannot run `workload` here, with the doctor's cause, or
 * undefined when it can: `io_uring` and `linux-aio` make a real ring or
 * context ({@link ioUringAvailable}, {@link aioAvailable}); `--direct`
 * on a temporary file tries `O_DIRECT` in `os.tmpdir()`
 * ({@link directIoAvailable}). A `--file` is not probed: opening it with
 * `O_DIRECT` says what its filesystem thinks.
 *
 * @example
 * ```ts
 * const why = fileUnavailable('io_uring', workload);
 * if (why) console.error(`${why.reason} (${why.code}): ${why.detail}`);
 * ```
 */
export function fileUnavailable(engine: FileEngine, workload: FileWorkload): Unavailable | undefined {
  if (engine === 'io_uring') {
    const probe = ioUringAvailable();
    if (!probe.ok) return probe;
  } else if (engine === 'linux-aio') {
    const probe = aioAvailable();
    if (!probe.ok) return probe;
  }
  if (workload.direct && workload.file === undefined) {
    const probe = directIoAvailable(tmpdir());
    if (!probe.ok) return probe;
  }
  return undefined;
}

/** The file a job runs on, made ready by {@link prepareFile}. */
export interface PreparedFile {
  /** Absolute path. */
  readonly path: string;
  /** A temporary file of ours (removed by {@link PreparedFile.remove}), or the user's `--file`. */
  readonly temporary: boolean;
  /** Removes a temporary file (idempotent); leaves a `--file` alone. */
  remove(): void;
}

const isRead = (workload: FileWorkload): boolean => workload.rw === 'read' || workload.rw === 'randread';

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Lets the event loop turn once (a pending Ctrl-C runs its handler). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Makes the file a workload runs on: a temporary file in `os.tmpdir()`
 * (`iomodes-bench-<pid>-<random>`), or `workload.file`. It is extended to
 * `workload.size` with `fallocate(2)` and, for reads, filled with random
 * bytes (only the part past its old end, for a `--file`). With `direct`,
 * the file is first opened with `O_DIRECT`, so a filesystem that refuses it
 * fails before anything is written, and `bs` is checked against the
 * alignment `O_DIRECT` needs there. A temporary file is removed on any
 * failure, on abort, and at process exit if still there.
 *
 * @throws {@link IoError} from `open` (`EINVAL` naming the filesystem that refuses `O_DIRECT`), `fallocate`, `pwrite`
 * @throws `ERR_INVALID_ARG_VALUE` when `bs` is not a multiple of the `O_DIRECT` alignment
 * @throws `ABORT_ERR` when `signal` aborts the layout
 * @example
 * ```ts
 * const file = await prepareFile(workload, signal);
 * try { await runFile('io_uring', workload, { prepared: file }); } finally { file.remove(); }
 * ```
 */
export async function prepareFile(workload: FileWorkload, signal?: AbortSignal): Promise<PreparedFile> {
  const temporary = workload.file === undefined;
  const path = resolve(workload.file ?? join(tmpdir(), `iomodes-bench-${process.pid}-${randomBytes(6).toString('hex')}`));
  let existed = false;
  if (!temporary) {
    try {
      const st = statSync(path);
      existed = true;
      if (!st.isFile()) throw benchFailure(`--file ${path} is not a regular file`);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
  // Ours to remove: a temporary file, or a --file whose refused O_DIRECT open created it.
  let removed = false;
  const remove = (): void => {
    if (removed || !temporary) return;
    removed = true;
    process.off('exit', remove);
    unlinkQuietly(path);
  };
  if (temporary) process.on('exit', remove);
  try {
    const create = temporary || !existed;
    const access = create || !isRead(workload) ? O.RDWR : O.RDONLY;
    // The first open creates the file; later ones open what is there.
    let first = create ? access | O.CREAT | (temporary ? O.EXCL : 0) : access;
    const mode = temporary ? 0o600 : 0o666;
    if (workload.direct) {
      let fd: number;
      try {
        fd = openDirect(path, first, { mode });
        first = access;
      } catch (err) {
        // ramfs creates the file, then refuses O_DIRECT.
        if (!existed) unlinkQuietly(path);
        throw err;
      }
      try {
        const alignment = directIoAlignment(fd);
        if (alignment !== undefined && workload.bs % alignment.offset !== 0) {
          throw usageError(`--bs ${workload.bs} is not a multiple of ${alignment.offset}, the O_DIRECT alignment of ${temporary ? `files in ${tmpdir()}` : path} (${alignment.source})`);
        }
      } finally {
        close(fd);
      }
    }
    const fd = open(path, first, { mode });
    try {
      const had = fstatSync(fd).size;
      if (had < workload.size) {
        try {
          fallocate(fd, had, workload.size - had);
        } catch (err) {
          // Not every filesystem allocates (EOPNOTSUPP): a sparse file then.
          if (!(err instanceof IoError) || err.code !== 'EOPNOTSUPP') throw err;
          if (!isRead(workload)) ftruncateSync(fd, workload.size);
        }
        if (isRead(workload)) {
          const chunk = randomFillSync(Buffer.allocUnsafe(CHUNK));
          for (let off = had; off < workload.size; off += CHUNK) {
            pwrite(fd, chunk, off, 0, Math.min(CHUNK, workload.size - off));
            if (signal?.aborted) throw abortError(signal.reason);
            await turn();
          }
        }
      }
    } finally {
      close(fd);
    }
    if (signal?.aborted) throw abortError(signal.reason);
  } catch (err) {
    remove();
    throw err;
  }
  return { path, temporary, remove };
}

/** One I/O: the bytes moved, as a number or a promise of one. */
type Op = (buffer: Buffer, position: number) => number | Promise<number>;

/** What {@link drive} measured. */
interface Measured {
  ops: number;
  bytes: number;
  elapsed: number;
  recorder: LatencyRecorder;
  usr: number;
  sys: number;
  interrupted: boolean;
}

/**
 * Keeps `buffers.length` I/Os in flight until the runtime passes or the
 * signal aborts: one loop per buffer, each issuing its next I/O when the
 * last completes. A synchronous `op` runs in one loop, with no promise per
 * I/O. Every {@link YIELD_MS} every loop waits for the event loop to turn
 * once: an io_uring read served from the page cache settles in a
 * microtask, and without the pause no timer, no signal handler would run
 * until the job ended.
 */
async function drive(engine: FileEngine, workload: FileWorkload, buffers: Buffer[], op: Op, sync: boolean, options: RunOptions): Promise<Measured> {
  const { signal, onProgress } = options;
  const { bs, size } = workload;
  const blocks = Math.floor(size / bs);
  const random = workload.rw === 'randread' || workload.rw === 'randwrite';
  let cursor = 0;
  const nextPosition = random
    ? (): number => Math.floor(Math.random() * blocks) * bs
    : (): number => {
        const position = cursor * bs;
        cursor = cursor + 1 === blocks ? 0 : cursor + 1;
        return position;
      };
  const recorder = new LatencyRecorder();
  let ops = 0;
  let bytes = 0;
  let stop = false;
  let failure: unknown;

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + workload.runtime * 1000;
  let yieldAt = t0 + YIELD_MS;
  let progressAt = t0 + PROGRESS_MS;
  let pausing: Promise<void> | undefined;
  const pause = (): Promise<void> =>
    (pausing ??= new Promise((resolve) =>
      setImmediate(() => {
        pausing = undefined;
        yieldAt = performance.now() + YIELD_MS;
        resolve();
      }),
    ));
  const done = (n: number, started: number, now: number): void => {
    recorder.record(Math.round((now - started) * 1e6));
    ops++;
    bytes += n;
    if (n !== bs) throw benchFailure(`${engine}: short ${isRead(workload) ? 'read' : 'write'} at a block of ${bs} bytes: ${n}`);
    if (now >= end || signal?.aborted) stop = true;
    if (now >= progressAt) {
      progressAt = now + PROGRESS_MS;
      onProgress?.({ engine, elapsed: (now - t0) / 1000, ops });
    }
  };
  const loop = async (buffer: Buffer): Promise<void> => {
    try {
      while (!stop) {
        const started = performance.now();
        const n = sync ? (op(buffer, nextPosition()) as number) : await op(buffer, nextPosition());
        const now = performance.now();
        done(n, started, now);
        if (now >= yieldAt) await pause();
      }
    } catch (err) {
      stop = true;
      failure ??= err;
    }
  };
  await Promise.all((sync ? buffers.slice(0, 1) : buffers).map(loop));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (failure !== undefined) throw failure;
  return { ops, bytes, elapsed, recorder, usr: cpu.user / 1e6, sys: cpu.system / 1e6, interrupted: signal?.aborted === true && performance.now() < end };
}

/** fio's figures for one direction, from what was measured (an idle direction: zeros). */
function direction(ops: number, bytes: number, elapsed: number, recorder: LatencyRecorder): DirectionResult {
  const rate = (n: number): number => (elapsed > 0 ? n / elapsed : 0);
  return { total_ios: ops, io_bytes: bytes, iops: rate(ops), bw: Math.round(rate(bytes) / 1024), bw_bytes: Math.round(rate(bytes)), clat_ns: recorder.summary() };
}

/** What an engine needs to run: its I/O, and how to let go of it. */
interface Setup {
  op: Op;
  sync: boolean;
  close(): void;
}

function nodeFsSetup(path: string, workload: FileWorkload): Setup {
  const read = isRead(workload);
  const fd = openSync(path, (read ? fsConstants.O_RDONLY : fsConstants.O_WRONLY) | (workload.direct ? fsConstants.O_DIRECT : 0));
  const { bs } = workload;
  const op: Op = read
    ? (buffer, position) => new Promise((resolve, reject) => fsRead(fd, buffer, 0, bs, position, (err, n) => (err ? reject(err) : resolve(n))))
    : (buffer, position) => new Promise((resolve, reject) => fsWrite(fd, buffer, 0, bs, position, (err, n) => (err ? reject(err) : resolve(n))));
  return { op, sync: false, close: () => closeSync(fd) };
}

function iomodesSetup(engine: Exclude<FileEngine, 'node-fs'>, path: string, workload: FileWorkload): Setup {
  const read = isRead(workload);
  const flags = read ? O.RDONLY : O.WRONLY;
  const fd = workload.direct ? openDirect(path, flags) : open(path, flags);
  if (engine === 'blocking') {
    const op: Op = read ? (buffer, position) => pread(fd, buffer, position) : (buffer, position) => pwrite(fd, buffer, position);
    return { op, sync: true, close: () => close(fd) };
  }
  let io: AsyncIo;
  try {
    const depth = workload.iodepth;
    io = engine === 'io_uring' ? Ring.create({ entries: Math.max(8, depth), ...(workload.batchSubmit === undefined ? {} : { submitBatch: workload.batchSubmit }) }) : engine === 'linux-aio' ? LinuxAio.create({ entries: depth }) : ThreadpoolIo.create({ capacity: depth });
  } catch (err) {
    close(fd);
    throw err;
  }
  const op: Op = read ? (buffer, position) => io.read(fd, buffer, { position }) : (buffer, position) => io.write(fd, buffer, { position });
  return {
    op,
    sync: false,
    close: () => {
      io.close();
      close(fd);
    },
  };
}

/** Options of {@link runFile}: {@link RunOptions}, and a file already made by {@link prepareFile}. */
export interface RunFileOptions extends RunOptions {
  /** The file to run on; default: one made (and removed) for this job alone. */
  prepared?: PreparedFile;
}

/**
 * Runs one file engine on a workload until `workload.runtime` passes or
 * `options.signal` aborts (then the result says `interrupted`, with what
 * was measured until then). Before a read job the file is dropped from the
 * page cache (`fdatasync`, `POSIX_FADV_DONTNEED`), so reads start cold.
 * `blocking` keeps one I/O in flight whatever `iodepth` says; the result's
 * `workload.iodepth` is then 1.
 *
 * @throws {@link IoError} from a syscall; `ABORT_ERR` when aborted before the first I/O
 * @example
 * ```ts
 * const job = await runFile('io_uring', { kind: 'file', rw: 'randread', bs: 4096, iodepth: 32, direct: false, size: 256 << 20, runtime: 5 }, {});
 * console.log(job.read.iops, job.read.clat_ns.percentile['99.000000']);
 * ```
 */
export async function runFile(engine: FileEngine, workload: FileWorkload, options: RunFileOptions = {}): Promise<JobResult> {
  // Each option read once (see runReadiness).
  const { signal, onProgress, prepared: given } = options;
  const own = given === undefined;
  const prepared = given ?? (await prepareFile(workload, signal));
  const job: FileWorkload = engine === 'blocking' ? { ...workload, iodepth: 1 } : { ...workload };
  try {
    if (isRead(job)) {
      const fd = open(prepared.path, O.RDONLY);
      try {
        dropCache(fd, { offset: 0, length: job.size });
      } finally {
        close(fd);
      }
    }
    // Aligned for O_DIRECT (node-fs passes its buffers as they are).
    const alignment = job.direct ? Math.max(4096, directIoAlignment(prepared.path)?.memory ?? 0) : 4096;
    const buffers = Array.from({ length: job.iodepth }, () => allocAligned(job.bs, alignment));
    if (!isRead(job)) for (const b of buffers) randomFillSync(b);
    const setup = engine === 'node-fs' ? nodeFsSetup(prepared.path, job) : iomodesSetup(engine, prepared.path, job);
    let measured: Measured;
    try {
      if (signal?.aborted) throw abortError(signal.reason);
      measured = await drive(engine, job, buffers, setup.op, setup.sync, { signal, onProgress });
    } finally {
      setup.close();
    }
    const { ops, bytes, elapsed, recorder, usr, sys, interrupted } = measured;
    const idle = direction(0, 0, elapsed, new LatencyRecorder());
    const busy = direction(ops, bytes, elapsed, recorder);
    const cpu = (seconds: number): number => (elapsed > 0 ? (seconds / elapsed) * 100 : 0);
    return {
      jobname: engine,
      engine,
      workload: job,
      elapsed,
      read: isRead(job) ? busy : idle,
      write: isRead(job) ? idle : busy,
      usr_cpu: cpu(usr),
      sys_cpu: cpu(sys),
      interrupted,
    };
  } finally {
    if (own) prepared.remove();
  }
}
