/**
 * `iomodes bench`: fio's idea extended to every I/O mode. File workloads
 * (`--rw`, `--bs`, `--iodepth`, `--direct`, `--size`, `--file`) run through
 * the file engines of `lib/cli/bench/file.ts`; echo workloads on pipes and
 * TCP (`--target`, `--connections`, `--msg-size`) through the readiness
 * engines of `lib/cli/bench/readiness.ts`. It prints IOPS (or round trips
 * per second), bandwidth, latency percentiles and CPU, as a table or as
 * fio-shaped JSON, and `--compare` runs several engines on one workload.
 *
 * Exit codes: 0 done, 1 an engine cannot run here or a syscall failed,
 * 2 a usage error, 128 + the signal's number when interrupted (130 for
 * Ctrl-C), after printing what was measured.
 *
 * @module
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import type { Unavailable } from '../async.js';
import { codedError } from '../errors.js';
import { FILE_ENGINES, fileUnavailable, prepareFile, runFile, type PreparedFile } from './bench/file.js';
import { readinessUnavailable, runReadiness } from './bench/readiness.js';
import type { DirectionResult, Engine, FileEngine, FileWorkload, JobResult, Progress, ReadinessEngine, ReadinessWorkload, Workload } from './bench/types.js';
import { fixes } from './doctor.js';
import { comparisonSvg, histogramSvg } from './plot.js';

/**
 * Every readiness engine, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * READINESS_ENGINES.includes('epoll'); // true
 * ```
 */
export const READINESS_ENGINES: readonly ReadinessEngine[] = ['nonblocking', 'select', 'poll', 'epoll', 'sigio', 'coro', 'coro-uring', 'node-net'];

/** The defaults of every flag, as `--help` states them. */
const DEFAULTS = {
  engine: 'blocking' as Engine,
  rw: 'read' as FileWorkload['rw'],
  bs: 4096,
  iodepth: 1,
  size: 256 * 2 ** 20,
  runtime: 5,
  target: 'tcp' as ReadinessWorkload['target'],
  connections: 50,
  msgSize: 64,
};

/**
 * How to call `iomodes bench`, for `--help` and usage errors.
 *
 * @example
 * ```ts
 * console.log(`Usage: ${usage}`);
 * ```
 */
export const usage = [
  'iomodes bench [--engine E | --compare E1,E2,...] [--runtime 5s] [--json] [--plot FILE.svg]',
  `  file engines: ${FILE_ENGINES.join(' ')} (default ${DEFAULTS.engine})`,
  '    [--rw read|randread|write|randwrite] [--bs 4k] [--iodepth 1] [--iodepth_batch_submit N] [--direct] [--size 256m] [--file PATH]',
  `  readiness engines: ${READINESS_ENGINES.join(' ')}`,
  '    [--target pipe|tcp] [--connections 50] [--msg-size 64]',
  '  sizes: 4096, 4k, 1m, 1g (powers of 1024); durations: 5s, 500ms, 2m (a bare number: seconds)',
].join('\n');

function usageError(message: string): Error & { code: 'ERR_INVALID_ARG_VALUE' } {
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', message);
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A size flag's value in bytes: a whole number with an optional suffix `k`,
 * `m`, `g` or `t` (powers of 1024, as fio reads them; `KiB`, `KB`, `K`
 * alike). A fraction is fine while the bytes are whole (`1.5k`).
 *
 * @throws `ERR_INVALID_ARG_VALUE` for anything else, or a size outside `[min, max]`
 * @example
 * ```ts
 * parseSize('4k', '--bs'); // 4096
 * parseSize('1g', '--size'); // 1073741824
 * ```
 */
export function parseSize(text: string, flag: string, min = 1, max = 2 ** 50): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes)) throw usageError(`${flag} '${text}' is not a size in bytes, such as 4096, 4k, 1m or 1g`);
  if (bytes < min || bytes > max) throw usageError(`${flag} '${text}' must be between ${min} and ${max} bytes`);
  return bytes;
}

/**
 * A duration flag's value in seconds: a number with an optional unit `ms`,
 * `s`, `m` or `h`; a bare number is seconds, as in fio.
 *
 * @throws `ERR_INVALID_ARG_VALUE` for anything else, or under 1 ms, or over a day
 * @example
 * ```ts
 * parseDuration('500ms', '--runtime'); // 0.5
 * parseDuration('2m', '--runtime'); // 120
 * ```
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m?.[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  const seconds = m ? Number(m[1]) * scale : NaN;
  if (!Number.isFinite(seconds)) throw usageError(`${flag} '${text}' is not a duration, such as 5s, 500ms or 2m`);
  if (seconds < 0.001 || seconds > 86400) throw usageError(`${flag} '${text}' must be between 1ms and 24h`);
  return seconds;
}

function parseCount(text: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`${flag} '${text}' must be a whole number from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw usageError(`${flag} '${text}' must be one of ${choices.join(', ')}`);
  return text as T;
}

/** A parsed command line: the engines to run, in order, and the one workload they all run. */
export interface BenchPlan {
  engines: Engine[];
  workload: Workload;
  json: boolean;
  plot: string | undefined;
  /** Whether `--compare` asked for the engines (ratios are shown then). */
  compare: boolean;
}

const FILE_FLAGS = ['rw', 'bs', 'iodepth', 'iodepth_batch_submit', 'direct', 'size', 'file'] as const;
const READINESS_FLAGS = ['target', 'connections', 'msg-size'] as const;

/**
 * Parses `iomodes bench`'s arguments into a {@link BenchPlan}, checking
 * everything: unknown flags or engines, malformed sizes and durations,
 * engines of both kinds in one `--compare`, flags of the other kind's
 * workload, `--iodepth` above 1 for `--engine blocking`.
 *
 * @throws a usage error (`ERR_PARSE_ARGS_*`, `ERR_INVALID_ARG_VALUE`): exit code 2
 * @example
 * ```ts
 * parseBench(['--compare', 'io_uring,node-fs', '--rw', 'randread', '--iodepth', '32']).engines; // ['io_uring', 'node-fs']
 * ```
 */
export function parseBench(args: string[]): BenchPlan {
  const { values } = parseArgs({
    args,
    options: {
      engine: { type: 'string' },
      compare: { type: 'string' },
      runtime: { type: 'string' },
      json: { type: 'boolean' },
      plot: { type: 'string' },
      rw: { type: 'string' },
      bs: { type: 'string' },
      iodepth: { type: 'string' },
      iodepth_batch_submit: { type: 'string' },
      direct: { type: 'boolean' },
      size: { type: 'string' },
      file: { type: 'string' },
      target: { type: 'string' },
      connections: { type: 'string' },
      'msg-size': { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.engine !== undefined && values.compare !== undefined) throw usageError('--engine and --compare do not go together: --compare E1,E2,... names every engine');
  const all: readonly Engine[] = [...FILE_ENGINES, ...READINESS_ENGINES];
  const names = values.compare !== undefined ? values.compare.split(',').map((e) => e.trim()) : [values.engine ?? DEFAULTS.engine];
  const engines = names.map((e) => oneOf(e, values.compare !== undefined ? '--compare' : '--engine', all));
  if (values.compare !== undefined) {
    if (engines.length < 2) throw usageError(`--compare '${values.compare}' needs two engines or more, separated by commas`);
    const twice = engines.find((e, i) => engines.indexOf(e) !== i);
    if (twice !== undefined) throw usageError(`--compare names ${twice} twice`);
  }
  const isFile = (e: Engine): e is FileEngine => (FILE_ENGINES as readonly string[]).includes(e);
  const file = isFile(engines[0]!);
  if (engines.some((e) => isFile(e) !== file)) throw usageError(`--compare '${values.compare}' mixes file and readiness engines: they run different workloads`);
  const runtime = values.runtime === undefined ? DEFAULTS.runtime : parseDuration(values.runtime, '--runtime');
  const v = values as Record<string, unknown>;
  const stray = (file ? READINESS_FLAGS : FILE_FLAGS).find((f) => v[f] !== undefined);
  if (stray !== undefined) throw usageError(`--${stray} is for ${file ? 'readiness' : 'file'} engines, and ${engines.join(', ')} ${engines.length > 1 ? 'are' : 'is a'} ${file ? 'file' : 'readiness'} engine${engines.length > 1 ? 's' : ''}`);
  const common = { json: values.json === true, plot: values.plot, compare: values.compare !== undefined, engines };
  if (values.plot !== undefined && values.plot === '') throw usageError('--plot needs a file name, such as bench.svg');

  if (!file) {
    const workload: ReadinessWorkload = {
      kind: 'readiness',
      target: values.target === undefined ? DEFAULTS.target : oneOf(values.target, '--target', ['pipe', 'tcp'] as const),
      connections: values.connections === undefined ? DEFAULTS.connections : parseCount(values.connections, '--connections', 1, 10000),
      msgSize: values['msg-size'] === undefined ? DEFAULTS.msgSize : parseSize(values['msg-size'], '--msg-size', 1, 2 ** 20),
      runtime,
    };
    return { ...common, workload };
  }

  const rw = values.rw === undefined ? DEFAULTS.rw : oneOf(values.rw, '--rw', ['read', 'randread', 'write', 'randwrite'] as const);
  const bs = values.bs === undefined ? DEFAULTS.bs : parseSize(values.bs, '--bs', 1, 64 * 2 ** 20);
  const iodepth = values.iodepth === undefined ? DEFAULTS.iodepth : parseCount(values.iodepth, '--iodepth', 1, 4096);
  if (iodepth > 1 && engines.length === 1 && engines[0] === 'blocking') {
    throw usageError(`--iodepth ${iodepth}: the blocking engine has one I/O in flight at a time; use an asynchronous engine (threadpool, io_uring, linux-aio, node-fs) for deeper queues`);
  }
  // fio's name: how many I/Os go to the kernel per io_uring_enter (Ring's submitBatch).
  let batchSubmit: number | undefined;
  if (values.iodepth_batch_submit !== undefined) {
    batchSubmit = parseCount(values.iodepth_batch_submit, '--iodepth_batch_submit', 1, 4096);
    if (!engines.includes('io_uring')) throw usageError(`--iodepth_batch_submit is for the io_uring engine (how many I/Os each io_uring_enter submits); ${engines.join(', ')} submit${engines.length > 1 ? '' : 's'} their own way`);
  }
  if (values.file === '') throw usageError('--file needs a path');
  let size: number;
  if (values.size !== undefined) size = parseSize(values.size, '--size', 1);
  else {
    // As fio does: an existing --file is used whole.
    let existing = 0;
    try {
      if (values.file !== undefined) existing = statSync(values.file).size;
    } catch {
      // made by the run
    }
    size = existing >= bs ? existing : DEFAULTS.size;
  }
  if (size < bs) throw usageError(`--size ${size} is smaller than --bs ${bs}: the file must hold one block at least`);
  const workload: FileWorkload = {
    kind: 'file',
    rw,
    bs,
    iodepth,
    direct: values.direct === true,
    ...(batchSubmit === undefined ? {} : { batchSubmit }),
    size: Math.floor(size / bs) * bs,
    runtime,
    ...(values.file === undefined ? {} : { file: values.file }),
  };
  return { ...common, workload };
}

// ------------------------------------------------------------ output

function sig3(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** `123`, `12.3k`, `1.23M`: a rate, three significant digits. */
function rate(x: number): string {
  if (x < 1000) return sig3(x);
  if (x < 1e6) return `${sig3(x / 1e3)}k`;
  return `${sig3(x / 1e6)}M`;
}

/** Bytes in powers of 1024: `16 MiB`. */
function bytes(x: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${Number.isInteger(x) ? x : sig3(x)} ${units[i]}`;
}

/** Nanoseconds as `850 ns`, `12.3 µs`, `1.23 ms`, `1.23 s`. */
function duration(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${sig3(ns / 1e3)} µs`;
  if (ns < 1e9) return `${sig3(ns / 1e6)} ms`;
  return `${sig3(ns / 1e9)} s`;
}

function seconds(s: number): string {
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${Number(s.toFixed(2))} s`;
}

/**
 * The direction that holds a job's figures: the one its workload does (a
 * file job's `rw`), or for an echo the one with more operations.
 *
 * @example
 * ```ts
 * measuredDirection(job).iops;
 * ```
 */
export function measuredDirection(job: JobResult): DirectionResult {
  if (job.workload.kind === 'file') return job.workload.rw === 'read' || job.workload.rw === 'randread' ? job.read : job.write;
  return job.read.total_ios >= job.write.total_ios ? job.read : job.write;
}

function describeWorkload(workload: Workload, where: string | undefined, engines: number): string {
  const per = engines > 1 ? ' per engine' : '';
  if (workload.kind === 'readiness') {
    return `${workload.target} echo, ${workload.connections} connection${workload.connections === 1 ? '' : 's'}, ${workload.msgSize}-byte messages, ${seconds(workload.runtime)}${per}`;
  }
  const file = workload.file === undefined ? `${bytes(workload.size)} temporary file in ${where ?? tmpdir()}` : `${bytes(workload.size)} of ${workload.file}`;
  const batch = workload.batchSubmit === undefined ? '' : `, io_uring submits ${workload.batchSubmit} at a time`;
  return `${workload.rw}, ${bytes(workload.bs)} blocks, iodepth ${workload.iodepth}${batch}, ${workload.direct ? 'O_DIRECT' : 'buffered'}, ${file}, ${seconds(workload.runtime)}${per}`;
}

/**
 * Renders jobs as the table `iomodes bench` prints: one row per engine with
 * IOPS (round trips/s for an echo), bandwidth (both directions), p50, p99
 * and p99.9 latency, CPU time (user + system, percent of one CPU) and, for
 * a comparison, each engine's IOPS over the first one's.
 *
 * @param notRun engines a Ctrl-C kept from running, for the footnote
 * @example
 * ```ts
 * process.stdout.write(renderBench(jobs, workload, { compare: true }));
 * ```
 */
export function renderBench(jobs: readonly JobResult[], workload: Workload, options: { compare?: boolean; notRun?: readonly Engine[]; where?: string } = {}): string {
  const lines = [describeWorkload(workload, options.where, jobs.length + (options.notRun?.length ?? 0)), ''];
  const first = jobs[0] === undefined ? 0 : measuredDirection(jobs[0]).iops;
  const compare = options.compare === true && jobs.length > 0;
  const header = ['engine', workload.kind === 'file' ? 'IOPS' : 'round trips/s', 'bandwidth', 'p50', 'p99', 'p99.9', 'CPU', ...(compare ? [`vs ${jobs[0]!.engine}`] : [])];
  const notes: string[] = [];
  const rows = jobs.map((job) => {
    const d = measuredDirection(job);
    const p = (key: string): string => duration(d.clat_ns.percentile[key] ?? 0);
    let name = job.engine as string;
    if (workload.kind === 'file' && job.workload.kind === 'file' && job.workload.iodepth !== workload.iodepth) {
      name += ` (QD${job.workload.iodepth})`;
      notes.push(`(QD${job.workload.iodepth}): ${job.engine} has one I/O in flight at a time`);
    }
    if (job.interrupted) {
      name += ' *';
      notes.push(`*: interrupted after ${seconds(job.elapsed)}; the figures are what was measured until then`);
    }
    return [
      name,
      rate(d.iops),
      `${bytes(job.read.bw_bytes + job.write.bw_bytes)}/s`,
      p('50.000000'),
      p('99.000000'),
      p('99.900000'),
      `${(job.usr_cpu + job.sys_cpu).toFixed(0)}%`,
      ...(compare ? [first > 0 ? `${(d.iops / first).toFixed(2)}×` : 'n/a'] : []),
    ];
  });
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const row of table) lines.push(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
  if (options.notRun?.length) notes.push(`not run (interrupted): ${options.notRun.join(', ')}`);
  if (notes.length) lines.push('', ...new Set(notes));
  return `${lines.join('\n')}\n`;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The object `iomodes bench --json` prints, in the shape of fio's JSON
 * output: `"fio version"`, `timestamp`, `timestamp_ms`, `time`,
 * `"global options"` (the workload, as strings, as fio has them) and
 * `jobs`, one per engine, each a {@link JobResult} with fio's `groupid`,
 * `error`, `"job options"` (`ioengine`, `iodepth`) and `job_runtime` (ms),
 * and `runtime` (ms) in `read` and `write`. Plus `interrupted`: whether
 * Ctrl-C cut the run short.
 *
 * @example
 * ```ts
 * const out = benchJson(jobs, workload, false);
 * out.jobs[0].read.clat_ns.percentile['99.000000'];
 * ```
 */
export function benchJson(jobs: readonly JobResult[], workload: Workload, interrupted: boolean): Record<string, unknown> {
  const now = Date.now();
  const global: Record<string, string> =
    workload.kind === 'file'
      ? {
          rw: workload.rw,
          bs: String(workload.bs),
          iodepth: String(workload.iodepth),
          ...(workload.batchSubmit === undefined ? {} : { iodepth_batch_submit: String(workload.batchSubmit) }),
          direct: workload.direct ? '1' : '0',
          size: String(workload.size),
          runtime: String(workload.runtime),
          ...(workload.file === undefined ? {} : { filename: workload.file }),
        }
      : { target: workload.target, connections: String(workload.connections), msg_size: String(workload.msgSize), runtime: String(workload.runtime) };
  return {
    'fio version': `iomodes-${packageVersion()}`,
    timestamp: Math.floor(now / 1000),
    timestamp_ms: now,
    time: new Date(now).toUTCString(),
    'global options': global,
    jobs: jobs.map((job) => {
      const { jobname, ...rest } = job;
      const ms = Math.round(job.elapsed * 1000);
      const options: Record<string, string> = { ioengine: job.engine };
      if (job.workload.kind === 'file') options.iodepth = String(job.workload.iodepth);
      return { jobname, groupid: 0, error: 0, 'job options': options, ...rest, job_runtime: ms, read: { ...job.read, runtime: ms }, write: { ...job.write, runtime: ms } };
    }),
    interrupted,
  };
}

// ------------------------------------------------------------ running

/** The doctor's page section for an unavailable probe's syscall. */
const ANCHORS: Record<string, string> = { io_uring_setup: 'io_uring', io_setup: 'linux-aio', open: 'o_direct' };

function unavailableMessage(engine: Engine, workload: Workload, why: Unavailable): string {
  const what = why.syscall === 'open' && workload.kind === 'file' && workload.direct ? `--direct (O_DIRECT in ${tmpdir()})` : engine;
  const fix = fixes[why.reason];
  const anchor = ANCHORS[why.syscall];
  const advice = why.syscall === 'open' ? 'use --file on a disk filesystem such as ext4 or xfs, or drop --direct' : fix;
  return [
    `iomodes bench: ${what} is not available here: ${why.reason} (${why.code}): ${why.detail}`,
    ...(advice ? [`fix: ${advice}${anchor ? ` (docs/doctor.md#${anchor})` : ''}`] : []),
    'run iomodes doctor to see every mode this machine allows',
    '',
  ].join('\n');
}

function isAbort(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ABORT_ERR' || (err as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * Runs a {@link BenchPlan}: checks every engine can run here, makes the
 * file (for file engines), runs each engine in turn, prints the table or
 * the JSON, writes the plot. Ctrl-C (SIGINT; SIGTERM alike) stops the
 * running job, removes the temporary file, prints what was measured and
 * returns 128 + the signal number; a second one exits at once.
 *
 * @returns the exit code
 * @example
 * ```ts
 * process.exitCode = await runBench(parseBench(['--engine', 'io_uring', '--runtime', '1s']));
 * ```
 */
export async function runBench(plan: BenchPlan): Promise<number> {
  const { engines, workload } = plan;
  for (const engine of engines) {
    const why = workload.kind === 'file' ? fileUnavailable(engine as FileEngine, workload) : readinessUnavailable(engine as ReadinessEngine);
    if (why !== undefined) {
      process.stderr.write(unavailableMessage(engine, workload, why));
      return 1;
    }
  }

  const controller = new AbortController();
  const { signal } = controller;
  let received: NodeJS.Signals | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    // A second one: out now ('exit' handlers remove the temporary file).
    if (received !== undefined) process.exit(128 + osConstants.signals[name]);
    received = name;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stderr.isTTY === true;
  const status = (text: string): void => {
    if (tty) process.stderr.write(`\r${text}\x1b[K`);
  };
  const unit = workload.kind === 'file' ? 'IOPS' : 'round trips/s';
  const onProgress = tty
    ? (p: Progress): void => status(`${p.engine}: ${seconds(p.elapsed)} of ${seconds(workload.runtime)}, ${rate(p.elapsed > 0 ? p.ops / p.elapsed : 0)} ${unit}`)
    : undefined;

  const jobs: JobResult[] = [];
  let failure: unknown;
  let prepared: PreparedFile | undefined;
  try {
    if (workload.kind === 'file') {
      status(`laying out ${bytes(workload.size)} in ${workload.file ?? tmpdir()}…`);
      prepared = await prepareFile(workload, signal);
    }
    for (const engine of engines) {
      if (signal.aborted) break;
      const job =
        workload.kind === 'file'
          ? await runFile(engine as FileEngine, workload, { signal, ...(onProgress ? { onProgress } : {}), prepared: prepared! })
          : await runReadiness(engine as ReadinessEngine, workload, { signal, ...(onProgress ? { onProgress } : {}) });
      jobs.push(job);
    }
  } catch (err) {
    if (!isAbort(err)) failure = err;
  } finally {
    status('');
    prepared?.remove();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const interrupted = received !== undefined;
  const notRun = engines.filter((e) => !jobs.some((j) => j.engine === e));
  if (jobs.length > 0 || (plan.json && interrupted && failure === undefined)) {
    process.stdout.write(
      plan.json
        ? `${JSON.stringify(benchJson(jobs, workload, interrupted), null, 2)}\n`
        : renderBench(jobs, workload, { compare: plan.compare, notRun: interrupted ? notRun : [], ...(prepared ? { where: tmpdir() } : {}) }),
    );
  }
  if (interrupted && jobs.length === 0 && !plan.json) process.stderr.write('iomodes bench: interrupted before anything was measured\n');
  if (failure !== undefined) {
    if ((failure as { code?: unknown }).code === 'ERR_IOMODES_BENCH') {
      process.stderr.write(`iomodes bench: ${(failure as Error).message}\n`);
      return 1;
    }
    throw failure; // main.ts: a usage error exits 2, a failed syscall 1
  }
  let code = interrupted ? 128 + osConstants.signals[received!] : 0;
  if (plan.plot !== undefined && jobs.length > 0) {
    try {
      writeFileSync(plan.plot, jobs.length > 1 ? comparisonSvg(jobs) : histogramSvg(jobs[0]!));
    } catch (err) {
      process.stderr.write(`iomodes bench: --plot ${plan.plot}: ${(err as Error).message}\n`);
      if (code === 0) code = 1;
    }
  }
  return code;
}

/**
 * The `bench` command as `lib/cli/main.ts` dispatches it.
 *
 * @example
 * ```ts
 * import { benchCommand } from './bench.js';
 * process.exitCode = await benchCommand.run(['--compare', 'blocking,io_uring', '--rw', 'randread', '--json']);
 * ```
 */
export const benchCommand = {
  name: 'bench',
  summary: 'fio-style measurement of each I/O mode: IOPS, bandwidth, latency percentiles, CPU',
  usage,
  run(args: string[]): Promise<number> {
    return runBench(parseBench(args));
  },
};
