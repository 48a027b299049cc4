import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor, renderDoctor, type DoctorReport } from '../../lib/cli/doctor.js';
import { expectCode, mayskip, root, tmpDir, withoutPreload } from '../helpers/index.js';
import { seccompWrapper } from '../helpers/seccomp.js';

const main = join(root, 'dist/cli/main.js');
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'iomodes-doctor-test-'));
  expect(existsSync(main)).toBe(true);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the built CLI, optionally under a wrapper command (strace, a seccomp filter, a namespace). */
function iomodes(args: string[], options: { wrap?: string[]; cwd?: string } = {}): SpawnSyncReturns<string> {
  const argv = [...(options.wrap ?? []), process.execPath, main, ...args];
  return spawnSync(argv[0]!, argv.slice(1), { cwd: options.cwd ?? root, encoding: 'utf8', timeout: 120_000 });
}

function json(args: string[] = [], options: { wrap?: string[]; cwd?: string } = {}): DoctorReport {
  const r = iomodes(['doctor', '--json', ...args], options);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as DoctorReport;
}

function sh(script: string): SpawnSyncReturns<string> {
  return spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000, env: withoutPreload() });
}

/** A limit as a child process sees it in /proc/self/limits (the doctor is a child too). */
function procLimit(label: string): { soft: number | 'unlimited'; hard: number | 'unlimited' } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(label));
  const [soft, hard] = line!.slice(label.length).trim().split(/\s+/);
  const value = (v: string): number | 'unlimited' => (v === 'unlimited' ? 'unlimited' : Number(v));
  return { soft: value(soft!), hard: value(hard!) };
}

function popcount(n: number): number {
  let count = 0;
  for (let bits = n; bits !== 0; bits &= bits - 1) count++;
  return count;
}

describe('iomodes doctor --json', () => {
  let report: DoctorReport;
  beforeAll(() => {
    report = JSON.parse(iomodes(['doctor', '--json']).stdout) as DoctorReport;
  });

  it('prints one object with the documented keys, always present', () => {
    expect(Object.keys(report)).toEqual(['schema', 'kernel', 'node', 'arch', 'ioUring', 'aio', 'directIo', 'realtimeSignals', 'signalIo', 'uncachedIo', 'limits']);
    const verdict = ['ok', 'reason', 'code', 'errno', 'detail'];
    expect(Object.keys(report.ioUring)).toEqual([...verdict, 'features', 'featureCount', 'featureNames', 'sqEntries', 'cqEntries', 'ioUringDisabled', 'ioUringGroup', 'seccomp']);
    expect(Object.keys(report.aio)).toEqual([...verdict, 'aioNr', 'aioMaxNr']);
    expect(Object.keys(report.directIo)).toEqual([...verdict, 'path', 'dioMemAlign', 'dioOffsetAlign']);
    expect(Object.keys(report.realtimeSignals)).toEqual([...verdict, 'min', 'max', 'count']);
    expect(Object.keys(report.signalIo)).toEqual([...verdict, 'signal']);
    expect(Object.keys(report.uncachedIo)).toEqual(verdict);
    expect(Object.keys(report.limits)).toEqual(['nofile', 'sigpending', 'memlock']);
    expect(report.schema).toBe(1);
  });

  it('reports this kernel, Node and architecture', () => {
    expect(report.kernel).toBe(release());
    expect(report.node).toBe(process.version);
    expect(report.arch).toBe(arch());
  });

  it('creates an io_uring on this machine and reports its features', () => {
    const disabled = existsSync('/proc/sys/kernel/io_uring_disabled') ? Number(readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8')) : null;
    const seccomp = Number(/^Seccomp:\s*(\d)/m.exec(sh('cat /proc/self/status').stdout)![1]);
    expect(report.ioUring.ioUringDisabled).toBe(disabled);
    expect(report.ioUring.seccomp).toBe(seccomp);
    if (!report.ioUring.ok && mayskip(`io_uring: ${report.ioUring.reason}: ${report.ioUring.detail}`)) return;
    expect(report.ioUring).toMatchObject({ ok: true, reason: null, code: null, errno: null, sqEntries: 2 });
    // The kernel sizes the completion queue at twice the submission queue.
    expect(report.ioUring.cqEntries).toBe(4);
    expect(report.ioUring.features).toBeGreaterThan(0);
    expect(report.ioUring.featureCount).toBe(popcount(report.ioUring.features!));
    // Every kernel with io_uring_disabled (6.6+) has these two (5.4, 5.5).
    expect(report.ioUring.featureNames).toEqual(expect.arrayContaining(['IORING_FEAT_SINGLE_MMAP', 'IORING_FEAT_NODROP']));
    expect(report.ioUring.featureNames.length).toBeLessThanOrEqual(report.ioUring.featureCount!);
  });

  it('creates a Linux AIO context and shows the system-wide counters', () => {
    expect(report.aio.aioMaxNr).toBe(Number(readFileSync('/proc/sys/fs/aio-max-nr', 'utf8')));
    expect(report.aio.aioNr).toBeGreaterThanOrEqual(0);
    if (!report.aio.ok && mayskip(`Linux AIO: ${report.aio.reason}: ${report.aio.detail}`)) return;
    expect(report.aio).toMatchObject({ ok: true, reason: null, code: null, errno: null });
  });

  it('probes O_DIRECT in the temp directory, with the alignment O_DIRECT really needs there', () => {
    expect(report.directIo.path).toBe(resolve(tmpdir()));
    if (!report.directIo.ok && mayskip(`O_DIRECT in ${tmpdir()}: ${report.directIo.detail}`)) return;
    expect(report.directIo.ok).toBe(true);
    const align = report.directIo.dioOffsetAlign;
    if (align === null && mayskip(`statx reports no STATX_DIOALIGN in ${tmpdir()}`)) return;
    expect(report.directIo.dioMemAlign).toBeGreaterThan(0);
    // dd's O_DIRECT buffers are page-aligned, so only the transfer size matters here.
    const file = join(tmpDir(), 'data');
    writeFileSync(file, Buffer.alloc(align! * 2, 1));
    expect(sh(`dd if=${file} of=/dev/null bs=${align} count=1 iflag=direct`).status).toBe(0);
    if (align! > 1) {
      const half = sh(`dd if=${file} of=/dev/null bs=${align! / 2} count=1 iflag=direct`);
      expect(half.status).not.toBe(0);
      expect(half.stderr).toMatch(/Invalid argument/);
    }
  });

  it('reports SIGRTMIN and SIGRTMAX as the shell numbers them', () => {
    const min = Number(sh('kill -l SIGRTMIN').stdout);
    const max = Number(sh('kill -l SIGRTMAX').stdout);
    expect(report.realtimeSignals).toMatchObject({ ok: true, min, max, count: max - min + 1 });
    expect(sh(`kill -l ${report.realtimeSignals.min}; kill -l ${report.realtimeSignals.max}`).stdout.split('\n')).toEqual(['RTMIN', 'RTMAX', '']);
  });

  it('does a real round of signal-driven I/O, and tries RWF_DONTCACHE in the temp directory', () => {
    if (!report.signalIo.ok && mayskip(`signal-driven I/O: ${report.signalIo.detail}`)) return;
    expect(report.signalIo).toMatchObject({ ok: true, reason: null });
    expect(report.signalIo.signal).toBeGreaterThanOrEqual(report.realtimeSignals.min);
    expect(report.signalIo.signal).toBeLessThan(report.realtimeSignals.max);
    expect(report.signalIo.detail).toMatch(/came back as signal \d+ carrying its fd/);
    if (!report.uncachedIo.ok && mayskip(`RWF_DONTCACHE: ${report.uncachedIo.detail}`)) return;
    expect(report.uncachedIo.detail).toContain(tmpdir());
  });

  it('reports the limits /proc/self/limits shows for a child process', () => {
    expect(report.limits.nofile).toEqual(procLimit('Max open files'));
    expect(report.limits.sigpending).toEqual(procLimit('Max pending signals'));
    expect(report.limits.memlock).toEqual(procLimit('Max locked memory'));
  });
});

describe('iomodes doctor (text)', () => {
  it('prints an aligned table with every section, each probe ok or no', () => {
    const r = iomodes(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    const labels = ['kernel', 'node', 'io_uring', 'Linux AIO', 'O_DIRECT', 'real-time signals', 'RLIMIT_NOFILE', 'RLIMIT_SIGPENDING', 'RLIMIT_MEMLOCK', 'signal-driven I/O', 'RWF_DONTCACHE'];
    const rows = labels.map((label) => lines.find((l) => l.startsWith(`${label} `)));
    expect(rows.every((row) => row !== undefined), r.stdout).toBe(true);
    // Every row's text starts in the same column.
    const column = rows[0]!.indexOf(release());
    expect(rows[1]!.indexOf(process.version)).toBe(column);
    for (const row of rows.slice(2, 6)) expect(row!.slice(column - 4, column)).toMatch(/^(ok|no) {2}$/);
    expect(rows[6]).toContain(`soft ${procLimit('Max open files').soft}`);
    // Continuation lines are indented to the same column.
    for (const line of lines.filter((l) => l.startsWith(' '))) expect(line.search(/\S/)).toBe(column);
  });

  it('says what the "no" is and how to fix it, when a seccomp filter refuses the syscalls', () => {
    const deny = seccompWrapper();
    if (deny === undefined) return;
    const r = iomodes(['doctor'], { wrap: [deny, 'EPERM'] });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^io_uring\s+no {2}seccomp \(EPERM\)/m);
    expect(r.stdout).toMatch(/^Linux AIO\s+no {2}seccomp \(EPERM\)/m);
    expect(r.stdout).toContain('docs/doctor.md#io_uring');
    expect(r.stdout).toMatch(/^O_DIRECT\s+ok/m);
  });
});

describe('iomodes doctor, when the machine says no', () => {
  it('names seccomp when a filter answers EPERM', () => {
    const deny = seccompWrapper();
    if (deny === undefined) return;
    const report = json([], { wrap: [deny, 'EPERM'] });
    expect(report.ioUring).toMatchObject({ ok: false, reason: 'seccomp', code: 'EPERM', errno: 1, seccomp: 2, features: null, featureNames: [] });
    expect(report.aio).toMatchObject({ ok: false, reason: 'seccomp', code: 'EPERM' });
    expect(report.directIo.ok).toBe(true);
  });

  it('names seccomp when a filter answers ENOSYS on a kernel that has io_uring', () => {
    const deny = seccompWrapper();
    if (deny === undefined) return;
    const report = json([], { wrap: [deny, 'ENOSYS'] });
    const hasSysctl = existsSync('/proc/sys/kernel/io_uring_disabled');
    expect(report.ioUring).toMatchObject({ ok: false, reason: hasSysctl ? 'seccomp' : 'enosys', code: 'ENOSYS' });
    expect(report.aio).toMatchObject({ ok: false, reason: 'seccomp', code: 'ENOSYS' });
  });

  it('says the filesystem refuses O_DIRECT on ramfs, and leaves no temp file behind', () => {
    const mnt = join(scratch, 'ramfs');
    // A private mount namespace: the ramfs vanishes with the shell.
    const script = `mkdir -p ${mnt} && mount -t ramfs none ${mnt} || exit 99
      "${process.execPath}" "${main}" doctor --json --path ${mnt}
      echo "--- dd"; dd if=/dev/zero of=${mnt}/dd bs=4096 count=1 oflag=direct 2>&1; rm -f ${mnt}/dd
      echo "--- ls"; ls -A ${mnt}`;
    const r = spawnSync('unshare', ['-m', 'bash', '-c', script], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0 && mayskip(`cannot mount a ramfs in a mount namespace: ${r.stderr || r.error}`)) return;
    const [out, dd, ls] = r.stdout.split(/--- (?:dd|ls)\n/);
    const report = JSON.parse(out!) as DoctorReport;
    expect(dd).toMatch(/Invalid argument/);
    expect(report.directIo).toMatchObject({ ok: false, reason: 'filesystem', code: 'EINVAL', errno: 22, path: mnt, dioMemAlign: null, dioOffsetAlign: null });
    expect(report.directIo.detail).toContain('refuses O_DIRECT');
    expect(ls).toBe('');
  });
});

describe('iomodes doctor --path', () => {
  it('probes a tmpfs (/dev/shm) and agrees with dd about O_DIRECT there', () => {
    const r = iomodes(['doctor', '--json', '--path', '/dev/shm']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.directIo.path).toBe('/dev/shm');
    const probe = join('/dev/shm', `iomodes-dd-${process.pid}`);
    const dd = sh(`dd if=/dev/zero of=${probe} bs=4096 count=1 oflag=direct; rc=$?; rm -f ${probe}; exit $rc`);
    expect(report.directIo.ok).toBe(dd.status === 0);
    if (!report.directIo.ok) expect(report.directIo.reason).toBe('filesystem');
    expect(readdirSync('/dev/shm').filter((name) => name.startsWith(`.iomodes-probe-${r.pid}-`))).toEqual([]);
  });

  it('probes a regular directory and leaves it as it was', () => {
    const dir = tmpDir();
    const report = json(['--path', dir]);
    expect(report.directIo.path).toBe(dir);
    if (!report.directIo.ok && mayskip(`O_DIRECT in ${dir}: ${report.directIo.detail}`)) return;
    expect(report.directIo.ok).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('resolves a relative path against the working directory', () => {
    const dir = tmpDir();
    expect(json(['--path', '.'], { cwd: dir }).directIo.path).toBe(dir);
  });

  it('fails clearly, with exit 1 and no stack trace, for a directory that does not exist', () => {
    const r = iomodes(['doctor', '--path', '/nonexistent']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("iomodes doctor: ENOENT: no such file or directory, open '/nonexistent'\n");
  });

  it('fails clearly for a path that is a file', () => {
    const file = join(tmpDir(), 'file');
    writeFileSync(file, '');
    const r = iomodes(['doctor', '--path', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`iomodes doctor: ENOTDIR: not a directory, open '${file}'\n`);
  });
});

describe('iomodes command line', () => {
  it('keeps the shebang, so npm can install it as a bin', () => {
    expect(readFileSync(main, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('prints usage and exits 0 for --help', () => {
    for (const flag of ['--help', '-h']) {
      const r = iomodes([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: iomodes <command>/);
      expect(r.stdout).toContain('iomodes doctor [--json] [--path DIR]');
      expect(r.stderr).toBe('');
    }
  });

  it('prints the command usage for doctor --help', () => {
    const r = iomodes(['doctor', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: iomodes doctor \[--json\] \[--path DIR\]/);
  });

  it('loads only the command it runs, and every command for --help', () => {
    // A resolve hook names each module of dist/cli/ as Node loads it. It
    // runs on the loader's own thread, whose console output can be lost at
    // exit: it writes to fd 2 itself, before the module is handed over.
    const hook = `import { writeSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/dist/cli/')) writeSync(2, 'loaded ' + r.url.slice(r.url.indexOf('/dist/cli/') + 10) + '\\n'); return r; }`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const loaded = (args: string[]): string[] => {
      const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, main, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect(r.status).toBe(0);
      return r.stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice(7));
    };
    expect(loaded(['doctor', '--json'])).toEqual(['main.js', 'doctor.js']);
    expect(loaded(['tour', '--help'])).not.toContain('bench.js');
    expect(loaded(['--help'])).toEqual(expect.arrayContaining(['doctor.js', 'tour.js', 'bench.js']));
  });

  it('exits 2 with usage on stderr for an unknown or missing command', () => {
    for (const args of [['bogus'], []]) {
      const r = iomodes(args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(args.length ? /^iomodes: unknown command 'bogus'/ : /^iomodes: missing command/);
      expect(r.stderr).toContain('Usage: iomodes <command>');
    }
  });

  it('--require exits 0 when every named capability is there, 1 naming the one missing, 2 for an unknown name', () => {
    const all = iomodes(['doctor', '--require', 'io_uring,aio,direct,sigio']);
    if (all.status !== 0 && mayskip(`a capability is missing here: ${all.stderr}`)) return;
    expect(all.stderr).toBe('');
    // tmpfs refuses RWF_DONTCACHE (ENOTSUP): a capability that is missing there.
    const shm = iomodes(['doctor', '--path', '/dev/shm', '--require', 'sigio,uncached', '--json']);
    if (shm.status === 0) return; // a kernel whose tmpfs takes it
    expect(shm.status).toBe(1);
    expect(JSON.parse(shm.stdout).uncachedIo.ok).toBe(false);
    expect(shm.stderr).toMatch(/^iomodes doctor: required uncached is unavailable: filesystem \(ENOTSUP\): .*tmpfs/);
    expect(shm.stderr).not.toMatch(/sigio/);
    const bad = iomodes(['doctor', '--require', 'io_uring,warp']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown capability 'warp'/);
    expect(bad.stdout).toBe('');
  });

  it('exits 2 for an unknown option, a missing value or a stray argument', () => {
    for (const args of [['--bogus'], ['--path'], ['extra']]) {
      const r = iomodes(['doctor', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^iomodes doctor: .+\nUsage: iomodes doctor/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('the syscalls doctor makes', () => {
  it('really calls io_uring_setup, io_setup, io_destroy, open(O_DIRECT) and statx(STATX_DIOALIGN)', () => {
    if (spawnSync('strace', ['-V']).status !== 0 && mayskip('strace is not installed')) return;
    const log = join(scratch, 'strace.log');
    const r = iomodes(['doctor', '--json'], { wrap: ['strace', '-f', '-o', log, '-e', 'trace=io_uring_setup,io_setup,io_destroy,statx,openat'] });
    expect(r.status).toBe(0);
    const trace = readFileSync(log, 'utf8');
    // Entries 2 tells doctor's ring from any libuv may set up for itself.
    expect(trace).toMatch(/io_uring_setup\(2, \{.*\}\)\s+= \d+/);
    const ctx = /io_setup\(1, \[(0x[0-9a-f]+)\]\)\s+= 0/.exec(trace)?.[1];
    expect(ctx, trace).toBeDefined();
    expect(trace).toMatch(new RegExp(`io_destroy\\(${ctx}\\)\\s+= 0`));
    expect(trace).toMatch(/openat\(AT_FDCWD, "[^"]*\.iomodes-probe-[^"]+", O_RDWR\|O_CREAT\|O_EXCL\|O_DIRECT\|O_CLOEXEC, 0600\)\s+= \d+/);
    // On the probe file's fd (directIoAlignment(fd)).
    expect(trace).toMatch(/statx\(\d+, "", AT_STATX_SYNC_AS_STAT\|AT_EMPTY_PATH, STATX_DIOALIGN, .*\)\s+= 0/);
  });
});

describe('doctor()', () => {
  it('returns the report the CLI prints, and renders it', () => {
    const report = doctor({ path: tmpDir() });
    expect(report.kernel).toBe(release());
    expect(renderDoctor(report)).toMatch(/^kernel\s+\S/);
  });

  it('rejects bad options before probing', () => {
    expectCode(() => doctor(42 as never), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => doctor({ path: 42 as never }), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => doctor({ path: 'a\0b' }), 'ERR_INVALID_ARG_VALUE');
  });
});
