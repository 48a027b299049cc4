/**
 * `iomodes doctor`: which I/O modes this machine (or container) allows, and
 * why not. Every answer comes from a real syscall (`io_uring_setup`,
 * `io_setup`, `open(O_DIRECT)`, `statx`, `getrlimit`), and every "no" comes
 * with its cause read from `/proc`.
 *
 * @module
 */
import { readProcNumber, seccompMode } from '../proc.js';
import { arch, release, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { aioAvailable, ioUringAvailable, type Unavailable, type UnavailableReason } from '../async.js';
import { directIoAvailable, uncachedIoAvailable } from '../direct.js';
import { realtimeSignals, signalIoAvailable } from '../signal.js';
import { getrlimit, type Resource } from '../system.js';
import { codedError } from '../errors.js';
import { validateOptions, validateString } from '../validate.js';

/**
 * The verdict every probed section of a {@link DoctorReport} carries. When
 * `ok` is true, `reason`, `code` and `errno` are `null`.
 */
export interface DoctorVerdict {
  /** Whether this process can use the mode. */
  ok: boolean;
  /** Why not, as a stable word (see {@link UnavailableReason}); `null` when ok. */
  reason: UnavailableReason | null;
  /** The failed syscall's errno name, such as `'EPERM'`; `null` when ok. */
  code: string | null;
  /** The failed syscall's positive errno; `null` when ok. */
  errno: number | null;
  /** One sentence for a person: what was tried and what it showed. */
  detail: string;
}

/** A resource limit in JSON form: `'unlimited'` stands for `RLIM_INFINITY`. */
export interface DoctorLimit {
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

/**
 * What `iomodes doctor --json` prints: one object whose keys are always
 * present (a fact that could not be read is `null`, never a missing key).
 *
 * - `schema`: `1`; bumped only when a key changes meaning or goes away.
 * - `kernel`: `os.release()`; `node`: `process.version`; `arch`: `os.arch()`.
 * - `ioUring`: a {@link DoctorVerdict} from a real `io_uring_setup(2)` of a
 *   2-entry ring, plus `features` (the `IORING_FEAT_*` bitmask), `featureCount`
 *   (bits set), `featureNames` (the set bits this build can name),
 *   `sqEntries`/`cqEntries` (null when no ring), `ioUringDisabled` (the
 *   `kernel.io_uring_disabled` sysctl: 0 allowed, 1 privileged or group only,
 *   2 off; `null` before Linux 6.6), `ioUringGroup` (`kernel.io_uring_group`,
 *   -1 for none) and `seccomp` (this process's `Seccomp:` mode: 0 none,
 *   1 strict, 2 filter).
 * - `aio`: a verdict from a real `io_setup(2)` (1 event) and `io_destroy(2)`,
 *   plus `aioNr` and `aioMaxNr` (`/proc/sys/fs/aio-nr`, `aio-max-nr`).
 * - `directIo`: a verdict from creating a temp file with `O_DIRECT` in
 *   `path` (default `os.tmpdir()`), plus `dioMemAlign` and `dioOffsetAlign`
 *   from `statx(2)` `STATX_DIOALIGN` (`null`: unknown, the kernel or
 *   filesystem does not report them).
 * - `realtimeSignals`: a verdict plus `min` (`SIGRTMIN`), `max`
 *   (`SIGRTMAX`) and `count`.
 * - `signalIo`: a verdict from a real round of signal-driven I/O (a
 *   socketpair enabled with `F_SETSIG` + `F_SETOWN_EX` + `O_ASYNC`, a byte
 *   written, its signal's siginfo read back), plus `signal` (the real-time
 *   signal it would use; `null` when not ok).
 * - `uncachedIo`: a verdict from `pwritev2`/`preadv2` with `RWF_DONTCACHE`
 *   on a temp file in `path` (Linux 6.14+ and filesystem support).
 * - `limits`: `nofile`, `sigpending` and `memlock`, each `{ soft, hard }`.
 */
export interface DoctorReport {
  schema: 1;
  kernel: string;
  node: string;
  arch: string;
  ioUring: DoctorVerdict & {
    features: number | null;
    featureCount: number | null;
    featureNames: string[];
    sqEntries: number | null;
    cqEntries: number | null;
    ioUringDisabled: number | null;
    ioUringGroup: number | null;
    seccomp: number | null;
  };
  aio: DoctorVerdict & { aioNr: number | null; aioMaxNr: number | null };
  directIo: DoctorVerdict & { path: string; dioMemAlign: number | null; dioOffsetAlign: number | null };
  realtimeSignals: DoctorVerdict & { min: number; max: number; count: number };
  signalIo: DoctorVerdict & { signal: number | null };
  uncachedIo: DoctorVerdict;
  limits: Record<Resource, DoctorLimit>;
}

/** Options for {@link doctor}. */
export interface DoctorOptions {
  /** The directory whose filesystem the `O_DIRECT` probe uses. Default `os.tmpdir()`. */
  path?: string;
}

const yes = { ok: true, reason: null, code: null, errno: null } as const;

function no(probe: Unavailable): DoctorVerdict {
  return { ok: false, reason: probe.reason, code: probe.code, errno: probe.errno, detail: probe.detail };
}

function limit(resource: Resource): DoctorLimit {
  const { soft, hard } = getrlimit(resource);
  const json = (v: number): number | 'unlimited' => (v === Infinity ? 'unlimited' : v);
  return { soft: json(soft), hard: json(hard) };
}

/**
 * Probes what this machine allows, with real syscalls, and returns the facts
 * as a {@link DoctorReport} (the object `iomodes doctor --json` prints).
 *
 * @param options `path`: where to try `O_DIRECT` (default `os.tmpdir()`)
 * @throws {@link IoError} when `path` is not a directory a file can be created in
 * @example
 * ```ts
 * import { doctor } from './doctor.js'; // from lib/cli/, as main.ts does
 * const report = doctor({ path: '/var/tmp' });
 * if (!report.ioUring.ok) console.log(`no io_uring: ${report.ioUring.reason}`);
 * ```
 */
export function doctor(options?: DoctorOptions): DoctorReport {
  validateOptions(options as unknown);
  const path = options?.path ?? tmpdir();
  validateString(path, 'options.path');

  const ring = ioUringAvailable();
  const ioUring: DoctorReport['ioUring'] = {
    ...(ring.ok
      ? { ...yes, detail: `io_uring_setup made a ${ring.sqEntries}-entry ring with ${ring.featureCount} feature bits` }
      : no(ring)),
    features: ring.ok ? ring.features : null,
    featureCount: ring.ok ? ring.featureCount : null,
    featureNames: ring.ok ? ring.featureNames : [],
    sqEntries: ring.ok ? ring.sqEntries : null,
    cqEntries: ring.ok ? ring.cqEntries : null,
    ioUringDisabled: readProcNumber('/proc/sys/kernel/io_uring_disabled') ?? null,
    ioUringGroup: readProcNumber('/proc/sys/kernel/io_uring_group') ?? null,
    seccomp: seccompMode() ?? null,
  };

  const ctx = aioAvailable();
  const aio: DoctorReport['aio'] = {
    ...(ctx.ok ? { ...yes, detail: 'io_setup made a 1-event context, io_destroy freed it' } : no(ctx)),
    aioNr: readProcNumber('/proc/sys/fs/aio-nr') ?? null,
    aioMaxNr: readProcNumber('/proc/sys/fs/aio-max-nr') ?? null,
  };

  const absolute = resolve(path);
  const direct = directIoAvailable(absolute);
  const alignment = direct.ok ? direct.alignment : undefined;
  const directIo: DoctorReport['directIo'] = {
    ...(direct.ok
      ? {
          ...yes,
          detail: alignment
            ? `open(O_DIRECT) works in ${absolute}; ${alignment.source}: memory alignment ${alignment.memory}, offset alignment ${alignment.offset}`
            : `open(O_DIRECT) works in ${absolute}; alignment unknown (neither statx, the block device nor a probe tells)`,
        }
      : no(direct)),
    path: absolute,
    dioMemAlign: alignment?.memory ?? null,
    dioOffsetAlign: alignment?.offset ?? null,
  };

  const rt = realtimeSignals();
  const sio = signalIoAvailable();
  const signalIo: DoctorReport['signalIo'] = {
    ...(sio.ok ? { ...yes, detail: `a byte written to a socketpair came back as signal ${sio.signal} carrying its fd (F_SETSIG, F_SETOWN_EX, O_ASYNC)` } : no(sio)),
    signal: sio.ok ? sio.signal : null,
  };
  const uncached = uncachedIoAvailable(absolute);
  const uncachedIo: DoctorVerdict = uncached.ok ? { ...yes, detail: `pwritev2 and preadv2 with RWF_DONTCACHE work in ${absolute}` } : no(uncached);
  return {
    schema: 1,
    kernel: release(),
    node: process.version,
    arch: arch(),
    ioUring,
    aio,
    directIo,
    realtimeSignals: { ...yes, detail: `SIGRTMIN ${rt.min} to SIGRTMAX ${rt.max}: ${rt.count} signals`, ...rt },
    signalIo,
    uncachedIo,
    limits: { nofile: limit('nofile'), sigpending: limit('sigpending'), memlock: limit('memlock') },
  };
}

/**
 * How to turn each "no" into a "yes"; docs/doctor.md explains them at
 * length. `iomodes bench` gives the same advice for an engine it cannot run.
 *
 * @example
 * ```ts
 * import { fixes } from './doctor.js';
 * fixes.seccomp; // "allow the syscall in the container's seccomp profile, …"
 * ```
 */
export const fixes: Partial<Record<UnavailableReason, string>> = {
  seccomp: "allow the syscall in the container's seccomp profile, or run with --security-opt seccomp=unconfined",
  sysctl: 'sysctl -w kernel.io_uring_disabled=0, or join the kernel.io_uring_group group',
  memlock: 'raise RLIMIT_MEMLOCK (ulimit -l, or --ulimit memlock=-1 for a container)',
  limit: 'sysctl -w fs.aio-max-nr=1048576',
  filesystem: 'use --path on a disk filesystem such as ext4 or xfs (tmpfs accepts O_DIRECT since Linux 6.6)',
};

function formatLimit(l: DoctorLimit): string {
  const hint = l.soft !== l.hard ? '  (soft can be raised to hard: ulimit -S)' : '';
  return `soft ${l.soft}, hard ${l.hard}${hint}`;
}

/**
 * Renders a {@link DoctorReport} as the small aligned table `iomodes doctor`
 * prints: one row per fact, `ok` or `no`, and why.
 *
 * @example
 * ```ts
 * import { doctor, renderDoctor } from './doctor.js';
 * process.stdout.write(renderDoctor(doctor()));
 * ```
 */
export function renderDoctor(report: DoctorReport): string {
  const verdict = (v: DoctorVerdict): string => (v.ok ? 'ok' : 'no');
  const why = (v: DoctorVerdict, anchor: string): string[] => {
    if (v.ok) return [v.detail];
    const fix = fixes[v.reason!];
    return [`${v.reason} (${v.code}): ${v.detail}`, ...(fix ? [`fix: ${fix} (docs/doctor.md#${anchor})`] : [])];
  };
  const u = report.ioUring;
  const ringFacts = `io_uring_disabled ${u.ioUringDisabled ?? 'absent'}, io_uring_group ${u.ioUringGroup ?? 'absent'}, seccomp ${u.seccomp ?? 'unknown'}`;
  const named = u.featureNames.map((n) => n.replace('IORING_FEAT_', ''));
  const unnamed = (u.featureCount ?? 0) - named.length;
  const rows: [string, string, string[]][] = [
    ['kernel', '', [report.kernel]],
    ['node', '', [`${report.node} (${report.arch})`]],
    [
      'io_uring',
      verdict(u),
      [
        ...why(u, 'io_uring'),
        ...(u.ok ? [`features: ${named.join(' ')}${unnamed > 0 ? ` +${unnamed} newer` : ''}`] : []),
        ringFacts,
      ],
    ],
    ['Linux AIO', verdict(report.aio), [...why(report.aio, 'linux-aio'), `aio-nr ${report.aio.aioNr ?? '?'} of aio-max-nr ${report.aio.aioMaxNr ?? '?'}`]],
    ['O_DIRECT', verdict(report.directIo), why(report.directIo, 'o_direct')],
    ['real-time signals', verdict(report.realtimeSignals), why(report.realtimeSignals, 'real-time-signals')],
    ['signal-driven I/O', verdict(report.signalIo), why(report.signalIo, 'signal-driven-io')],
    ['RWF_DONTCACHE', verdict(report.uncachedIo), why(report.uncachedIo, 'rwf_dontcache')],
    ['RLIMIT_NOFILE', '', [formatLimit(report.limits.nofile)]],
    ['RLIMIT_SIGPENDING', '', [formatLimit(report.limits.sigpending)]],
    ['RLIMIT_MEMLOCK', '', [formatLimit(report.limits.memlock)]],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const indent = ' '.repeat(width + 2 + 4);
  const lines = rows.map(([label, status, [first, ...rest]]) =>
    [`${label.padEnd(width)}  ${status.padEnd(4)}${first}`, ...rest.map((r) => indent + r)].join('\n'),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * How to call `iomodes doctor`, for `--help`.
 *
 * @example
 * ```ts
 * console.log(`usage: ${usage}`);
 * ```
 */
export const usage = 'iomodes doctor [--json] [--path DIR] [--require CAP,...]  (CAP: io_uring, aio, direct, sigio, uncached)';

/** What `--require` names, and where each verdict is in the report. */
const CAPABILITIES = {
  io_uring: (r: DoctorReport) => r.ioUring,
  aio: (r: DoctorReport) => r.aio,
  direct: (r: DoctorReport) => r.directIo,
  sigio: (r: DoctorReport) => r.signalIo,
  uncached: (r: DoctorReport) => r.uncachedIo,
} as const;
type Capability = keyof typeof CAPABILITIES;

function parseRequire(list: string | undefined): Capability[] {
  if (list === undefined) return [];
  const names = list.split(',').map((n) => n.trim()).filter((n) => n !== '');
  for (const name of names) {
    if (!Object.hasOwn(CAPABILITIES, name)) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `--require: unknown capability '${name}' (one of ${Object.keys(CAPABILITIES).join(', ')})`);
    }
  }
  return names as Capability[];
}

/**
 * The `doctor` command as `lib/cli/main.ts` dispatches it: parses its
 * arguments, prints the report (text, or JSON with `--json`), returns the
 * exit code.
 *
 * @example
 * ```ts
 * import { doctorCommand } from './doctor.js';
 * process.exitCode = doctorCommand.run(['--json']);
 * ```
 */
export const doctorCommand = {
  name: 'doctor',
  summary: 'which I/O modes this machine allows, and why not',
  usage,
  run(args: string[]): number {
    const { values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, path: { type: 'string' }, require: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    });
    const required = parseRequire(values.require);
    const report = doctor(values.path === undefined ? {} : { path: values.path });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
    // For CI scripts that must know before they run: 1 when one is missing.
    const missing = required.filter((name) => !CAPABILITIES[name](report).ok);
    for (const name of missing) {
      const v = CAPABILITIES[name](report);
      process.stderr.write(`iomodes doctor: required ${name} is unavailable: ${v.reason} (${v.code}): ${v.detail}\n`);
    }
    return missing.length > 0 ? 1 : 0;
  },
};
