import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchJson, parseBench, parseDuration, parseSize, renderBench } from '../../lib/cli/bench.js';
import type { FileEngine, JobResult } from '../../lib/cli/bench/types.js';
import { aioAvailable, ioUringAvailable } from '../../lib/index.js';
import { caught, mayskip, nodeShell, root, tmpDir, withoutPreload } from '../helpers/index.js';
import { seccompWrapper } from '../helpers/seccomp.js';

// This is a noisy 2-core VM: figures are checked for sense (positive,
// ordered, within the runtime), never for speed.
const main = join(root, 'dist/cli/main.js');
const SLOW = 120_000;

interface Run extends SpawnSyncReturns<string> {
  /** The TMPDIR the child had: its temporary files go there, and must be gone after. */
  tmp: string;
}

/** Runs `iomodes bench ARGS` in a child, with a TMPDIR of its own. */
function bench(args: string[], options: { tmp?: string; wrap?: string[] } = {}): Run {
  const tmp = options.tmp ?? tmpDir();
  const argv = [...(options.wrap ?? []), process.execPath, main, 'bench', ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, encoding: 'utf8', timeout: SLOW, env: { ...process.env, TMPDIR: tmp } });
  return Object.assign(r, { tmp });
}

interface BenchOutput {
  'fio version': string;
  timestamp: number;
  timestamp_ms: number;
  time: string;
  'global options': Record<string, string>;
  jobs: (JobResult & { groupid: number; error: number; 'job options': Record<string, string>; job_runtime: number })[];
  interrupted: boolean;
}

/** Runs with --json, expects exit 0 and nothing on stderr (no progress line: stderr is a pipe), parses stdout. */
function json(args: string[], options: { tmp?: string } = {}): BenchOutput & { tmp: string } {
  const r = bench([...args, '--json'], options);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return { ...(JSON.parse(r.stdout) as BenchOutput), tmp: r.tmp };
}

/** Why an engine cannot run here, or undefined. */
const available: Record<FileEngine, () => string | undefined> = {
  blocking: () => undefined,
  threadpool: () => undefined,
  'node-fs': () => undefined,
  io_uring: () => {
    const p = ioUringAvailable();
    return p.ok ? undefined : `io_uring: ${p.reason}: ${p.detail}`;
  },
  'linux-aio': () => {
    const p = aioAvailable();
    return p.ok ? undefined : `Linux AIO: ${p.reason}: ${p.detail}`;
  },
};

/** Checks one job's figures for sense: ops done, bandwidth, ordered percentiles, elapsed within the runtime's bounds. */
function checkJob(job: BenchOutput['jobs'][number], runtime: number, active: 'read' | 'write'): void {
  const d = job[active];
  const idle = job[active === 'read' ? 'write' : 'read'];
  expect(job.interrupted).toBe(false);
  expect(d.total_ios).toBeGreaterThan(0);
  expect(d.io_bytes).toBe(d.total_ios * (job.workload as { bs: number }).bs);
  expect(d.iops).toBeGreaterThan(0);
  expect(d.bw).toBeGreaterThan(0);
  expect(d.bw_bytes).toBeGreaterThan(0);
  expect(d.iops).toBeCloseTo(d.total_ios / job.elapsed, 3);
  expect(d.bw_bytes).toBeCloseTo(d.io_bytes / job.elapsed, -1);
  expect(d.clat_ns.N).toBe(d.total_ios);
  const p = d.clat_ns.percentile;
  expect(p['50.000000']).toBeGreaterThan(0);
  expect(p['50.000000']).toBeLessThanOrEqual(p['99.000000']!);
  expect(p['99.000000']).toBeLessThanOrEqual(p['99.900000']!);
  expect(p['99.900000']).toBeLessThanOrEqual(d.clat_ns.max);
  expect(d.clat_ns.min).toBeLessThanOrEqual(p['50.000000']!);
  expect(d.clat_ns.mean).toBeGreaterThan(0);
  expect(d.clat_ns.buckets.reduce((n, b) => n + b.count, 0)).toBe(d.total_ios);
  expect(idle).toMatchObject({ total_ios: 0, io_bytes: 0, iops: 0, bw: 0, bw_bytes: 0 });
  // The runtime bound: no new I/O after it; the ones in flight finish.
  expect(job.elapsed).toBeGreaterThanOrEqual(runtime);
  expect(job.elapsed).toBeLessThan(runtime + 10);
  expect(job.job_runtime).toBe(Math.round(job.elapsed * 1000));
  expect(job.usr_cpu + job.sys_cpu).toBeGreaterThan(0);
  expect(job.error).toBe(0);
}

describe('iomodes bench, file engines', () => {
  for (const engine of ['blocking', 'threadpool', 'io_uring', 'linux-aio', 'node-fs'] as FileEngine[]) {
    it(
      `${engine}: random reads and sequential writes, --json in fio's shape, the temporary file removed`,
      () => {
        const missing = available[engine]();
        if (missing !== undefined && mayskip(missing)) return;
        const depth = engine === 'blocking' ? '1' : '4';
        for (const rw of ['randread', 'write'] as const) {
          const out = json(['--engine', engine, '--rw', rw, '--iodepth', depth, '--runtime', '300ms', '--size', '16m']);
          expect(out['fio version']).toMatch(/^iomodes-\d+\.\d+\.\d+/);
          expect(Math.abs(out.timestamp * 1000 - Date.now())).toBeLessThan(SLOW);
          expect(out['global options']).toEqual({ rw, bs: '4096', iodepth: depth, direct: '0', size: String(16 << 20), runtime: '0.3' });
          expect(out.jobs).toHaveLength(1);
          const [job] = out.jobs;
          expect(job).toMatchObject({ jobname: engine, engine, groupid: 0, 'job options': { ioengine: engine, iodepth: depth } });
          expect(job!.workload).toEqual({ kind: 'file', rw, bs: 4096, iodepth: Number(depth), direct: false, size: 16 << 20, runtime: 0.3 });
          checkJob(job!, 0.3, rw === 'randread' ? 'read' : 'write');
          expect(readdirSync(out.tmp)).toEqual([]);
        }
      },
      SLOW,
    );
  }

  it(
    '--iodepth_batch_submit N: the io_uring engine submits at most N I/Os per io_uring_enter, as fio does',
    () => {
      const missing = available.io_uring();
      if (missing !== undefined && mayskip(missing)) return;
      const trace = join(tmpDir(), 'trace');
      const r = bench(['--engine', 'io_uring', '--rw', 'randread', '--iodepth', '24', '--iodepth_batch_submit', '2', '--runtime', '300ms', '--size', '8m', '--json'], {
        wrap: ['strace', '-f', '-qq', '-e', 'trace=io_uring_enter,io_uring_setup', '-o', trace],
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as BenchOutput;
      expect(out['global options']).toMatchObject({ iodepth: '24', iodepth_batch_submit: '2' });
      expect(out.jobs[0]!.workload).toMatchObject({ iodepth: 24, batchSubmit: 2 });
      const lines = readFileSync(trace, 'utf8').split('\n');
      // The engine's ring has max(8, iodepth) entries; Node's libuv may make rings of its own.
      const fd = /io_uring_setup\(24, .*\) = (\d+)/.exec(lines.find((l) => /io_uring_setup\(24,/.test(l)) ?? '')?.[1];
      expect(fd).toBeDefined();
      const sizes = lines.map((l) => new RegExp(`io_uring_enter\\(${fd}, (\\d+),`).exec(l)?.[1]).filter((n) => n !== undefined).map(Number);
      expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(10);
      expect(Math.max(...sizes)).toBe(2);
    },
    SLOW,
  );

  it(
    'prints a table: the workload, then a row per engine with IOPS, bandwidth, p50/p99/p99.9, CPU',
    () => {
      const r = bench(['--engine', 'threadpool', '--rw', 'read', '--bs', '64k', '--runtime', '200ms', '--size', '8m']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [head, blank, header, row, ...rest] = r.stdout.split('\n');
      expect(head).toBe(`read, 64 KiB blocks, iodepth 1, buffered, 8 MiB temporary file in ${r.tmp}, 200 ms`);
      expect(blank).toBe('');
      expect(header).toMatch(/^engine\s+IOPS\s+bandwidth\s+p50\s+p99\s+p99\.9\s+CPU$/);
      expect(row).toMatch(/^threadpool\s+[\d.]+[kM]?\s+[\d.]+ [KMG]?i?B\/s(\s+[\d.]+ (ns|µs|ms|s)){3}\s+\d+%$/);
      expect(rest).toEqual(['']);
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );

  it(
    '--compare runs each engine on the same workload and prints ratios to the first',
    () => {
      const engines = ['threadpool', 'node-fs', 'blocking'];
      if (available.io_uring() === undefined) engines.push('io_uring');
      const r = bench(['--compare', engines.join(','), '--rw', 'randread', '--iodepth', '8', '--runtime', '200ms', '--size', '16m']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^randread, 4 KiB blocks, iodepth 8, buffered, 16 MiB temporary file in .*, 200 ms per engine$/);
      expect(lines[2]).toMatch(/\s+CPU\s+vs threadpool$/);
      const rows = lines.slice(3, 3 + engines.length);
      rows.forEach((row, i) => expect(row.startsWith(engines[i]!)).toBe(true));
      expect(rows[0]).toMatch(/ 1\.00×$/);
      for (const row of rows) expect(row).toMatch(/ \d+\.\d\d×$/);
      // blocking runs one I/O at a time, and the table says so.
      expect(rows[2]).toMatch(/^blocking \(QD1\)/);
      expect(r.stdout).toContain('(QD1): blocking has one I/O in flight at a time');
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );

  it(
    '--compare --json gives one job per engine, in order, with what each really ran',
    () => {
      const out = json(['--compare', 'node-fs,blocking', '--rw', 'randwrite', '--iodepth', '4', '--runtime', '200ms', '--size', '8m']);
      expect(out.jobs.map((j) => j.jobname)).toEqual(['node-fs', 'blocking']);
      expect(out.jobs.map((j) => j['job options'].iodepth)).toEqual(['4', '1']);
      for (const job of out.jobs) checkJob(job, 0.2, 'write');
      expect(readdirSync(out.tmp)).toEqual([]);
    },
    SLOW,
  );

  it(
    '--direct reads and writes with O_DIRECT, through iomodes and through node fs',
    () => {
      const engines = ['blocking', 'threadpool', 'node-fs'];
      if (available.io_uring() === undefined) engines.push('io_uring');
      if (available['linux-aio']() === undefined) engines.push('linux-aio');
      for (const rw of ['randread', 'write'] as const) {
        const out = json(['--compare', engines.join(','), '--direct', '--rw', rw, '--iodepth', '2', '--runtime', '150ms', '--size', '8m']);
        expect(out['global options'].direct).toBe('1');
        for (const job of out.jobs) {
          expect(job.workload).toMatchObject({ direct: true });
          checkJob(job, 0.15, rw === 'randread' ? 'read' : 'write');
        }
        expect(readdirSync(out.tmp)).toEqual([]);
      }
    },
    SLOW,
  );

  it(
    'uses a --file whole when no --size is given, and leaves it as it was',
    () => {
      const file = join(tmpDir(), 'data');
      const data = Buffer.alloc(3 << 20, 7);
      writeFileSync(file, data);
      const out = json(['--engine', 'threadpool', '--file', file, '--rw', 'randread', '--bs', '64k', '--runtime', '100ms']);
      expect(out['global options']).toMatchObject({ size: String(3 << 20), filename: file });
      expect(out.jobs[0]!.workload).toMatchObject({ size: 3 << 20, file });
      expect(readFileSync(file).equals(data)).toBe(true);
    },
    SLOW,
  );

  it(
    'makes a --file that does not exist, and keeps it (as fio does)',
    () => {
      const file = join(tmpDir(), 'new');
      json(['--engine', 'blocking', '--file', file, '--rw', 'read', '--size', '1m', '--runtime', '100ms']);
      expect(statSync(file).size).toBe(1 << 20);
    },
    SLOW,
  );

  it(
    'shows a live progress line on a terminal, on stderr, and none when stderr is a pipe',
    () => {
      const tmp = tmpDir();
      const out = join(tmp, 'out.json');
      const cmd = `TMPDIR=${tmp} ${nodeShell()} ${main} bench --engine threadpool --runtime 800ms --size 4m --json > ${out}`;
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: SLOW, env: withoutPreload() });
      if (r.error && mayskip(`script(1) cannot run: ${r.error.message}`)) return;
      expect(r.status).toBe(0);
      // script(1) gives the child a terminal and copies what it shows.
      expect(r.stdout).toMatch(/\rthreadpool: \d+ ms of 800 ms, [\d.]+[kM]? IOPS\x1b\[K/);
      expect(r.stdout.endsWith('\r\x1b[K')).toBe(true);
      expect((JSON.parse(readFileSync(out, 'utf8')) as BenchOutput).jobs[0]!.read.total_ios).toBeGreaterThan(0);
      // And piped: the json() helper checks that stderr is empty.
    },
    SLOW,
  );

  it(
    'writes --plot FILE.svg: a histogram for one engine, bars for a comparison',
    () => {
      const dir = tmpDir();
      const one = bench(['--engine', 'threadpool', '--runtime', '100ms', '--size', '4m', '--plot', join(dir, 'one.svg')]);
      expect(one.status, one.stderr).toBe(0);
      const two = bench(['--compare', 'threadpool,blocking', '--runtime', '100ms', '--size', '4m', '--plot', join(dir, 'two.svg')]);
      expect(two.status).toBe(0);
      for (const name of ['one.svg', 'two.svg']) expect(readFileSync(join(dir, name), 'utf8')).toMatch(/<svg[\s>]/);
      expect(readFileSync(join(dir, 'one.svg'), 'utf8')).toContain('latency (log scale)');
      expect(readFileSync(join(dir, 'two.svg'), 'utf8')).toContain('vs threadpool');
    },
    SLOW,
  );
});

describe('iomodes bench, readiness engines', () => {
  it(
    'runs an echo workload and reports round trips in the same shape',
    () => {
      const r = bench(['--engine', 'epoll', '--target', 'pipe', '--connections', '4', '--msg-size', '64', '--runtime', '300ms', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as BenchOutput;
      expect(out['global options']).toEqual({ target: 'pipe', connections: '4', msg_size: '64', runtime: '0.3' });
      const [job] = out.jobs;
      expect(job!.workload).toEqual({ kind: 'readiness', target: 'pipe', connections: 4, msgSize: 64, runtime: 0.3 });
      const d = job!.read.total_ios >= job!.write.total_ios ? job!.read : job!.write;
      expect(d.iops).toBeGreaterThan(0);
      expect(d.clat_ns.percentile['50.000000']).toBeLessThanOrEqual(d.clat_ns.percentile['99.000000']!);
      expect(d.clat_ns.percentile['99.000000']).toBeLessThanOrEqual(d.clat_ns.percentile['99.900000']!);
    },
    SLOW,
  );

  it(
    'compares readiness engines over TCP, with ratios to the first',
    () => {
      const r = bench(['--compare', 'epoll,poll,node-net', '--target', 'tcp', '--connections', '4', '--runtime', '300ms']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/tcp echo, 4 connections, 64-byte messages/);
      expect(r.stdout).toMatch(/round trips\/s/);
      for (const engine of ['epoll', 'poll', 'node-net']) expect(r.stdout).toMatch(new RegExp(`^${engine}\\s+\\S+`, 'm'));
      expect(r.stdout).toMatch(/^epoll .*1\.00×$/m);
    },
    SLOW,
  );
});

describe('iomodes bench, usage errors (exit 2)', () => {
  it(
    'exits 2 with the message and the usage for bad flags, unknown engines, bad sizes',
    () => {
      const cases: [string[], RegExp][] = [
        [['--bogus'], /Unknown option '--bogus'/],
        [['--engine', 'fio'], /--engine 'fio' must be one of blocking, threadpool, io_uring, linux-aio, node-fs, nonblocking/],
        [['--bs', '4q'], /--bs '4q' is not a size/],
        [['--size', '0'], /--size '0' must be between/],
        [['--runtime', 'soon'], /--runtime 'soon' is not a duration/],
        [['--compare', 'io_uring,epoll'], /mixes file and readiness engines/],
        [['--engine', 'blocking', '--iodepth', '8'], /one I\/O in flight/],
        [['stray'], /Unexpected argument 'stray'/],
      ];
      for (const [args, message] of cases) {
        const r = bench(args);
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^iomodes bench: .+\nUsage: iomodes bench \[--engine E/);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(readdirSync(r.tmp)).toEqual([]);
      }
    },
    SLOW,
  );

  it(
    'exits 2 for a --bs that O_DIRECT cannot use here, and removes the file it made',
    () => {
      const r = bench(['--direct', '--bs', '1000', '--size', '1m', '--runtime', '100ms']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^iomodes bench: --bs 1000 is not a multiple of \d+, the O_DIRECT alignment of files in /);
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );

  it('parses sizes as fio does, in powers of 1024', () => {
    expect(parseSize('4096', '--bs')).toBe(4096);
    expect(parseSize('4k', '--bs')).toBe(4096);
    expect(parseSize('4K', '--bs')).toBe(4096);
    expect(parseSize('4KiB', '--bs')).toBe(4096);
    expect(parseSize('1.5k', '--bs')).toBe(1536);
    expect(parseSize('1m', '--size')).toBe(2 ** 20);
    expect(parseSize('1g', '--size')).toBe(2 ** 30);
    expect(parseSize('2t', '--size')).toBe(2 ** 41);
    for (const bad of ['', 'k', '-1', '1.2345', '4q', '0x10', '1e3', '4 kb extra']) {
      expect(caught(() => parseSize(bad, '--bs')).code, bad).toBe('ERR_INVALID_ARG_VALUE');
    }
    expect(caught(() => parseSize('0', '--bs')).message).toBe("--bs '0' must be between 1 and 1125899906842624 bytes");
  });

  it('parses durations; a bare number is seconds', () => {
    expect(parseDuration('5', '--runtime')).toBe(5);
    expect(parseDuration('5s', '--runtime')).toBe(5);
    expect(parseDuration('500ms', '--runtime')).toBe(0.5);
    expect(parseDuration('1.5s', '--runtime')).toBe(1.5);
    expect(parseDuration('2m', '--runtime')).toBe(120);
    expect(parseDuration('1h', '--runtime')).toBe(3600);
    for (const bad of ['', 's', '-1s', '0', '0.1ms', '25h', '5 minutes']) {
      expect(caught(() => parseDuration(bad, '--runtime')).code, bad).toBe('ERR_INVALID_ARG_VALUE');
    }
  });

  it('checks every flag, and flags of the other kind of workload', () => {
    const usage = (args: string[]): string => {
      const err = caught(() => parseBench(args));
      expect(String(err.code)).toMatch(/^ERR_(PARSE_ARGS_|INVALID_ARG_VALUE)/);
      return err.message;
    };
    expect(usage(['--engine', 'io_uring', '--compare', 'io_uring,blocking'])).toMatch(/do not go together/);
    expect(usage(['--compare', 'io_uring'])).toMatch(/two engines or more/);
    expect(usage(['--compare', 'io_uring,io_uring'])).toMatch(/names io_uring twice/);
    expect(usage(['--compare', 'io_uring,bogus'])).toMatch(/--compare 'bogus' must be one of/);
    expect(usage(['--rw', 'trim'])).toMatch(/--rw 'trim' must be one of read, randread, write, randwrite/);
    expect(usage(['--iodepth', '0'])).toMatch(/--iodepth '0' must be a whole number from 1 to 4096/);
    expect(usage(['--iodepth', '2.5'])).toMatch(/--iodepth/);
    expect(usage(['--bs', '128m'])).toMatch(/--bs '128m' must be between 1 and 67108864/);
    expect(usage(['--size', '1k'])).toMatch(/--size 1024 is smaller than --bs 4096/);
    expect(usage(['--file', ''])).toMatch(/--file needs a path/);
    expect(usage(['--plot', ''])).toMatch(/--plot needs a file name/);
    expect(usage(['--engine', 'io_uring', '--target', 'tcp'])).toMatch(/--target is for readiness engines, and io_uring is a file engine/);
    expect(usage(['--engine', 'epoll', '--direct'])).toMatch(/--direct is for file engines, and epoll is a readiness engine/);
    expect(usage(['--engine', 'epoll', '--connections', '0'])).toMatch(/--connections '0'/);
    expect(usage(['--engine', 'epoll', '--target', 'udp'])).toMatch(/--target 'udp' must be one of pipe, tcp/);
    expect(usage(['--engine', 'epoll', '--msg-size', '2m'])).toMatch(/--msg-size '2m'/);
    expect(usage(['--direct=1'])).toMatch(/--direct/);
    expect(usage(['--engine', 'io_uring', '--iodepth_batch_submit', '0'])).toMatch(/--iodepth_batch_submit '0' must be a whole number from 1 to 4096/);
    expect(usage(['--engine', 'io_uring', '--iodepth_batch_submit', 'two'])).toMatch(/--iodepth_batch_submit 'two' must be a whole number from 1 to 4096/);
    expect(usage(['--compare', 'node-fs,linux-aio', '--iodepth_batch_submit', '2'])).toMatch(/--iodepth_batch_submit is for the io_uring engine/);
    expect(usage(['--engine', 'epoll', '--iodepth_batch_submit', '2'])).toMatch(/--iodepth_batch_submit is for file engines, and epoll is a readiness engine/);
  });

  it('fills in fio-like defaults, and rounds the size down to whole blocks', () => {
    expect(parseBench([])).toEqual({
      engines: ['blocking'],
      workload: { kind: 'file', rw: 'read', bs: 4096, iodepth: 1, direct: false, size: 256 << 20, runtime: 5 },
      json: false,
      plot: undefined,
      compare: false,
    });
    expect(parseBench(['--bs', '3k', '--size', '10k']).workload).toMatchObject({ bs: 3072, size: 9216 });
    expect(parseBench(['--compare', 'blocking,io_uring', '--iodepth', '32']).workload).toMatchObject({ iodepth: 32 });
    expect(parseBench(['--compare', 'io_uring,node-fs', '--iodepth', '32', '--iodepth_batch_submit', '1']).workload).toMatchObject({ iodepth: 32, batchSubmit: 1 });
    expect(parseBench(['--engine', 'node-net']).workload).toEqual({ kind: 'readiness', target: 'tcp', connections: 50, msgSize: 64, runtime: 5 });
  });
});

describe('iomodes bench, when this machine says no (exit 1)', () => {
  it(
    "refuses io_uring and linux-aio with the doctor's cause when seccomp denies them, before making any file",
    () => {
      const deny = seccompWrapper();
      if (deny === undefined) return;
      for (const engine of ['io_uring', 'linux-aio']) {
        const r = bench(['--compare', `threadpool,${engine}`, '--runtime', '100ms', '--size', '1m'], { wrap: [deny, 'EPERM'] });
        expect(r.status).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(new RegExp(`^iomodes bench: ${engine} is not available here: seccomp \\(EPERM\\): a seccomp filter refuses io_(uring_)?setup`));
        expect(r.stderr).toMatch(new RegExp(`\\nfix: allow the syscall in the container's seccomp profile.*\\(docs/doctor\\.md#${engine === 'io_uring' ? 'io_uring' : 'linux-aio'}\\)\\n`));
        expect(readdirSync(r.tmp)).toEqual([]);
      }
    },
    SLOW,
  );

  it(
    'fails with the filesystem named for --direct on a ramfs: a --file there, or the temporary directory',
    () => {
      const mnt = join(tmpDir(), 'ramfs');
      // A private mount namespace: the ramfs vanishes with the shell.
      const cmd = `${nodeShell()} "${main}" bench --direct --size 1m --runtime 100ms`;
      const script = `mkdir -p ${mnt} && mount -t ramfs none ${mnt} || exit 99
        ${cmd} --file ${mnt}/data; echo "--- rc $?"; ls -A ${mnt}
        echo "--- tmp"; TMPDIR=${mnt} ${cmd}; echo "--- rc $?"; ls -A ${mnt}`;
      const r = spawnSync('unshare', ['-m', 'bash', '-c', script], { encoding: 'utf8', timeout: SLOW, env: withoutPreload() });
      if (r.status !== 0 && mayskip(`cannot mount a ramfs in a mount namespace: ${r.stderr || r.error}`)) return;
      const [file, tmp] = r.stdout.split('--- tmp\n');
      // The refused open created the file; it is gone again.
      expect(file).toBe('--- rc 1\n');
      expect(tmp).toBe('--- rc 1\n');
      const [fileErr, tmpErr] = r.stderr.split(/(?=iomodes bench: --direct)/);
      expect(fileErr).toBe(
        `iomodes bench: EINVAL: invalid argument, open '${mnt}/data' (the ramfs filesystem refuses O_DIRECT (statfs f_type 0x858458f6): use buffered I/O there, or put the file on a filesystem that takes it (ext4, xfs, btrfs…))\n`,
      );
      expect(tmpErr).toMatch(new RegExp(`^iomodes bench: --direct \\(O_DIRECT in ${mnt}\\) is not available here: filesystem \\(EINVAL\\): the ramfs filesystem under ${mnt} refuses O_DIRECT`));
      expect(tmpErr).toContain('fix: use --file on a disk filesystem such as ext4 or xfs, or drop --direct (docs/doctor.md#o_direct)');
    },
    SLOW,
  );

  it(
    'fails with the filesystem named for --direct --file on /proc',
    () => {
      const r = bench(['--direct', '--file', '/proc/self/status', '--runtime', '100ms']);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^iomodes bench: EINVAL: invalid argument, open '\/proc\/self\/status' \(the proc filesystem refuses O_DIRECT/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
    SLOW,
  );

  it(
    'fails for a --file that is not a regular file',
    () => {
      const dir = tmpDir();
      const r = bench(['--file', dir, '--size', '1m', '--runtime', '100ms']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`iomodes bench: --file ${dir} is not a regular file\n`);
    },
    SLOW,
  );
});

/** Starts `iomodes bench ARGS`, waits for `ready(tmp)`, sends SIGINT; resolves with how it ended. */
function interrupt(args: string[], ready: (tmp: string) => boolean, settle = 500): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string; tmp: string; ms: number }> {
  const tmp = tmpDir();
  const child = spawn(process.execPath, [main, 'bench', ...args], { cwd: root, env: { ...process.env, TMPDIR: tmp } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const t0 = Date.now();
  let sent = 0;
  const poll = setInterval(() => {
    if (sent === 0 && (ready(tmp) || Date.now() - t0 > 30_000)) {
      sent = Date.now();
      setTimeout(() => child.kill('SIGINT'), settle);
    }
  }, 20);
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearInterval(poll);
      resolve({ status, signal, stdout, stderr, tmp, ms: sent ? Date.now() - sent : -1 });
    });
  });
}

const hasTempFile = (tmp: string): boolean => readdirSync(tmp).length > 0;

describe('iomodes bench, interrupted with Ctrl-C', () => {
  it(
    'stops the running job, prints what it measured marked interrupted, removes its temporary file, exits 130',
    async () => {
      // A write job: no file to fill first, so 1.5 s after the file appears it is measuring.
      const r = await interrupt(['--engine', 'threadpool', '--rw', 'randwrite', '--runtime', '60s', '--size', '16m'], hasTempFile, 1500);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(130);
      // Long before the 60 s runtime.
      expect(r.ms).toBeLessThan(20_000);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^threadpool \*\s+[\d.]+[kM]?\s/m);
      expect(r.stdout).toMatch(/\*: interrupted after [\d.]+ m?s; the figures are what was measured until then/);
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );

  it(
    'in a --compare --json run: the jobs so far in JSON, the rest not run',
    async () => {
      const r = await interrupt(['--compare', 'node-fs,threadpool', '--rw', 'randwrite', '--runtime', '60s', '--size', '16m', '--json'], hasTempFile, 1500);
      expect(r.status).toBe(130);
      const out = JSON.parse(r.stdout) as BenchOutput;
      expect(out.interrupted).toBe(true);
      expect(out.jobs.map((j) => j.engine)).toEqual(['node-fs']);
      expect(out.jobs[0]!.interrupted).toBe(true);
      expect(out.jobs[0]!.elapsed).toBeLessThan(60);
      expect(out.jobs[0]!.write.total_ios).toBeGreaterThan(0);
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );

  it(
    'while laying out the file: nothing measured, the file removed, exit 130',
    async () => {
      const r = await interrupt(['--engine', 'threadpool', '--size', '2g', '--runtime', '60s'], hasTempFile, 0);
      expect(r.status).toBe(130);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('iomodes bench: interrupted before anything was measured\n');
      expect(readdirSync(r.tmp)).toEqual([]);
    },
    SLOW,
  );
});

describe('renderBench and benchJson', () => {
  const recorder = { min: 1000, max: 9000, mean: 2000, stddev: 10, N: 4, percentile: { '50.000000': 1500, '99.000000': 8000, '99.900000': 9000 }, buckets: [] };
  const dir = (iops: number) => ({ total_ios: iops, io_bytes: iops * 4096, iops, bw: iops * 4, bw_bytes: iops * 4096, clat_ns: recorder });
  const idle = { ...dir(0), clat_ns: { ...recorder, N: 0 } };
  const workload = { kind: 'file', rw: 'randread', bs: 4096, iodepth: 32, direct: true, size: 2 ** 30, runtime: 5, file: '/data/f' } as const;
  const job = (engine: 'io_uring' | 'node-fs', iops: number): JobResult => ({ jobname: engine, engine, workload, elapsed: 5, read: dir(iops), write: idle, usr_cpu: 10, sys_cpu: 20.4, interrupted: false });

  it('aligns the table and divides by the first engine', () => {
    expect(renderBench([job('io_uring', 150_000), job('node-fs', 50_000)], workload, { compare: true })).toBe(
      [
        'randread, 4 KiB blocks, iodepth 32, O_DIRECT, 1 GiB of /data/f, 5 s per engine',
        '',
        'engine     IOPS  bandwidth      p50      p99    p99.9  CPU  vs io_uring',
        'io_uring   150k  586 MiB/s  1.50 µs  8.00 µs  9.00 µs  30%        1.00×',
        'node-fs   50.0k  195 MiB/s  1.50 µs  8.00 µs  9.00 µs  30%        0.33×',
        '',
      ].join('\n'),
    );
  });

  it('puts the workload in "global options" as fio does, as strings', () => {
    const out = benchJson([job('io_uring', 10)], workload, false);
    expect(out['global options']).toEqual({ rw: 'randread', bs: '4096', iodepth: '32', direct: '1', size: String(2 ** 30), runtime: '5', filename: '/data/f' });
    const batched = { ...workload, batchSubmit: 2 };
    expect(benchJson([job('io_uring', 10)], batched, false)['global options']).toMatchObject({ iodepth: '32', iodepth_batch_submit: '2' });
    expect(renderBench([job('io_uring', 10)], batched, { compare: false }).split('\n')[0]).toBe('randread, 4 KiB blocks, iodepth 32, io_uring submits 2 at a time, O_DIRECT, 1 GiB of /data/f, 5 s');
    expect(Object.keys((out.jobs as object[])[0]!)).toEqual(['jobname', 'groupid', 'error', 'job options', 'engine', 'workload', 'elapsed', 'read', 'write', 'usr_cpu', 'sys_cpu', 'interrupted', 'job_runtime']);
    expect(existsSync(main)).toBe(true);
  });
});
