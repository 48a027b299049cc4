/**
 * The readiness engines of `iomodes bench`: every engine on both targets
 * runs an echo ping-pong, reports fio-shaped figures, stops on an abort, and
 * leaves no fd and no child process behind. The machine is a noisy, shared
 * 2-core VM: nothing here asserts a speed or a tight timing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIO_PERCENTILES } from '../../lib/cli/bench/latency.js';
import { rampSeconds, READINESS_ENGINES, readinessUnavailable, runReadiness } from '../../lib/cli/bench/readiness.js';
import type { JobResult, Progress, ReadinessEngine, ReadinessWorkload } from '../../lib/cli/bench/types.js';
import { FD_SETSIZE, ioUringAvailable } from '../../lib/index.js';
import { bad, countedReads, mayskip } from '../helpers/index.js';

const RUNTIME = 0.3;
/** How long past the runtime a run may take to stop, on a loaded machine: generous. */
const SLACK = 5;

function workload(target: 'pipe' | 'tcp', more: Partial<ReadinessWorkload> = {}): ReadinessWorkload {
  return { kind: 'readiness', target, connections: 4, msgSize: 64, runtime: RUNTIME, ...more };
}

function openFds(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').length > 0;
    } catch {
      return false; // readdir's own fd, closed by now
    }
  });
}

/** This process's children, from every process's /proc/<pid>/stat. */
function children(): number[] {
  const mine: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) mine.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return mine;
}

/** Runs `fn` and checks it left this process's fds and children as it found them. */
async function leavesNothing<T>(fn: () => Promise<T>): Promise<T> {
  // A SignalIo (readinessUnavailable('sigio') makes one) closes its
  // self-pipe in the watcher's close callback, a loop turn after close():
  // let that happen before counting.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const fds = openFds();
  const kids = children();
  const result = await fn();
  expect(openFds()).toEqual(fds);
  expect(children()).toEqual(kids);
  return result;
}

function available(engine: ReadinessEngine): boolean {
  const why = readinessUnavailable(engine);
  return why === undefined || !mayskip(`${engine}: ${why.reason} (${why.code}): ${why.detail}`);
}

function expectSane(job: JobResult, engine: ReadinessEngine, w: ReadinessWorkload): void {
  expect(job.engine).toBe(engine);
  expect(job.jobname).toBe(`${engine}-${w.target}`);
  expect(job.workload).toEqual(w);
  const { read, write } = job;
  expect(read.total_ios).toBeGreaterThan(0);
  expect(read.io_bytes).toBe(read.total_ios * w.msgSize);
  expect(read.iops).toBeCloseTo(read.total_ios / job.elapsed, 6);
  expect(read.bw_bytes).toBeCloseTo(read.io_bytes / job.elapsed, 6);
  expect(read.bw).toBeCloseTo(read.bw_bytes / 1024, 6);
  // One latency per round trip, percentiles in order, within [min, max].
  const clat = read.clat_ns;
  expect(clat.N).toBe(read.total_ios);
  const ps = FIO_PERCENTILES.map((p) => clat.percentile[p.toFixed(6)]!);
  for (let i = 1; i < ps.length; i++) expect(ps[i]).toBeGreaterThanOrEqual(ps[i - 1]!);
  expect(clat.min).toBeGreaterThan(0);
  expect(ps[0]).toBeGreaterThanOrEqual(clat.min);
  expect(ps.at(-1)).toBeLessThanOrEqual(clat.max);
  expect(clat.mean).toBeGreaterThanOrEqual(clat.min);
  expect(clat.mean).toBeLessThanOrEqual(clat.max);
  expect(clat.buckets.reduce((n, b) => n + b.count, 0)).toBe(clat.N);
  // The write direction stays zero: a round trip is counted once, in read.
  expect(write).toMatchObject({ total_ios: 0, io_bytes: 0, iops: 0, bw: 0, bw_bytes: 0 });
  expect(write.clat_ns.N).toBe(0);
  expect(job.usr_cpu).toBeGreaterThanOrEqual(0);
  expect(job.sys_cpu).toBeGreaterThanOrEqual(0);
}

beforeAll(async () => {
  // Node opens /dev/null once, at its first spawn, and keeps it: let that
  // happen before any fd count.
  await runReadiness('epoll', workload('pipe', { connections: 1, runtime: 0.05 }), {});
});

describe.each(['tcp', 'pipe'] as const)('runReadiness on %s', (target) => {
  it.each(READINESS_ENGINES)('%s echoes, measures and cleans up', async (engine) => {
    if (!available(engine)) return;
    const w = workload(target);
    const job = await leavesNothing(() => runReadiness(engine, w, {}));
    expectSane(job, engine, w);
    expect(job.interrupted).toBe(false);
    expect(job.elapsed).toBeGreaterThanOrEqual(RUNTIME);
    expect(job.elapsed).toBeLessThan(RUNTIME + SLACK);
  });
});

describe('messages larger than a pipe buffer (partial writes on both sides)', () => {
  it.each(READINESS_ENGINES)('%s', async (engine) => {
    if (!available(engine)) return;
    const w = workload('pipe', { connections: 2, msgSize: 200_000 });
    const job = await leavesNothing(() => runReadiness(engine, w, {}));
    expectSane(job, engine, w);
  });
});

describe('abort', () => {
  it.each(READINESS_ENGINES)('%s: an abort mid-run resolves with what was measured, interrupted', async (engine) => {
    if (!available(engine)) return;
    const controller = new AbortController();
    const progress: Progress[] = [];
    const w = workload('tcp', { runtime: 60 });
    const job = await leavesNothing(() =>
      runReadiness(engine, w, {
        signal: controller.signal,
        onProgress: (p) => {
          progress.push(p);
          // Once measuring is well under way on both sides: the first
          // report can come a moment after the mark, before the client
          // (another process, maybe not yet scheduled) counted anything.
          if (p.ops > 0 && p.elapsed >= 0.3) controller.abort();
        },
      }),
    );
    expect(job.interrupted).toBe(true);
    expect(job.elapsed).toBeGreaterThan(0);
    expect(job.elapsed).toBeLessThan(30);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]!.engine).toBe(engine);
    expect(progress[0]!.elapsed).toBeGreaterThan(0);
    expect(progress[0]!.ops).toBeGreaterThanOrEqual(0);
    expectSane(job, engine, w);
  });

  it('an abort before the start resolves at once, with zeros', async () => {
    const job = await leavesNothing(() => runReadiness('epoll', workload('tcp'), { signal: AbortSignal.abort() }));
    expect(job.interrupted).toBe(true);
    expect(job.elapsed).toBe(0);
    expect(job.read.total_ios).toBe(0);
  });

  it('reads each option and workload field once: a getter cannot show the checks one value and the run another', async () => {
    const [options, optionReads] = countedReads({ signal: AbortSignal.abort(), onProgress: () => {} });
    const [w, workloadReads] = countedReads(workload('tcp'));
    const job = await leavesNothing(() => runReadiness('epoll', w, options));
    expect(job.interrupted).toBe(true);
    expect(Object.fromEntries(optionReads)).toEqual({ signal: 1, onProgress: 1 });
    expect(Object.fromEntries(workloadReads)).toEqual({ kind: 1, target: 1, connections: 1, msgSize: 1, runtime: 1 });
  });

  it('an abort while the client starts resolves, interrupted, and leaves nothing', async () => {
    const controller = new AbortController();
    const running = leavesNothing(() => runReadiness('poll', workload('pipe', { runtime: 60 }), { signal: controller.signal }));
    controller.abort();
    const job = await running;
    expect(job.interrupted).toBe(true);
    expect(job.elapsed).toBeLessThan(30);
  });

  it('progress comes about every 250 ms, counting up', async () => {
    const progress: Progress[] = [];
    await runReadiness('epoll', workload('tcp', { runtime: 1.2 }), { onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.elapsed).toBeGreaterThan(progress[i - 1]!.elapsed);
      expect(progress[i]!.ops).toBeGreaterThanOrEqual(progress[i - 1]!.ops);
    }
  });

  it('an onProgress that throws fails the run, and still leaves nothing', async () => {
    await leavesNothing(() =>
      expect(
        runReadiness('epoll', workload('tcp', { runtime: 60 }), {
          onProgress: () => {
            throw new Error('boom');
          },
        }),
      ).rejects.toThrow('boom'),
    );
  });
});

describe('the warm-up', () => {
  it('is a fifth of the runtime, at most half a second', () => {
    expect(rampSeconds(0.3)).toBeCloseTo(0.06);
    expect(rampSeconds(2.5)).toBe(0.5);
    expect(rampSeconds(60)).toBe(0.5);
  });

  it('is run before the measured runtime, not inside it', async () => {
    const t0 = performance.now();
    const job = await runReadiness('epoll', workload('tcp', { runtime: 1 }), {});
    expect((performance.now() - t0) / 1000).toBeGreaterThanOrEqual(rampSeconds(1) + 1);
    expect(job.elapsed).toBeGreaterThanOrEqual(1);
  });
});

describe('readinessUnavailable', () => {
  it.each(READINESS_ENGINES)('%s: undefined, or the cause', (engine) => {
    const why = readinessUnavailable(engine);
    if (why !== undefined) {
      expect(why.ok).toBe(false);
      expect(typeof why.reason).toBe('string');
      expect(typeof why.detail).toBe('string');
    }
    if (engine === 'coro-uring') expect(why === undefined).toBe(ioUringAvailable().ok);
    else if (engine !== 'sigio') expect(why).toBeUndefined();
  });

  it('sigio is available where a real-time signal is free (here)', () => {
    expect(readinessUnavailable('sigio')).toBeUndefined();
  });

  it('an engine that cannot run is refused with the cause', async () => {
    const why = readinessUnavailable('coro-uring');
    if (why === undefined) return; // io_uring works here: nothing to refuse
    await expect(runReadiness('coro-uring', workload('tcp'), {})).rejects.toMatchObject({ code: 'ERR_ENGINE_UNAVAILABLE', unavailable: why });
  });

  it('refuses an unknown engine', () => {
    expect(() => readinessUnavailable(bad('kqueue'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('select and FD_SETSIZE', () => {
  it.each([
    ['tcp', FD_SETSIZE + 76],
    ['pipe', 600],
  ] as const)('refuses %s with %i connections before starting anything', async (target, connections) => {
    const error = await leavesNothing(() => runReadiness('select', workload(target, { connections }), {}).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    ));
    expect(error).toBeInstanceOf(RangeError);
    expect(error!.code).toBe('ERR_OUT_OF_RANGE');
    expect(error!.message).toMatch(/FD_SETSIZE \(1024\)/);
    expect(error!.message).toMatch(/poll or epoll/);
  });

  it('the limit is select\'s alone: poll takes such a workload', async () => {
    // Accepted, then aborted before it starts: running it is not this test's point.
    const job = await runReadiness('poll', workload('tcp', { connections: FD_SETSIZE + 76 }), { signal: AbortSignal.abort() });
    expect(job.interrupted).toBe(true);
  });
});

describe('bad arguments', () => {
  const ok = workload('tcp');
  it.each([
    ['an unknown engine', () => runReadiness(bad('kqueue'), ok, {}), 'ERR_INVALID_ARG_VALUE'],
    ['no workload', () => runReadiness('epoll', bad(undefined), {}), 'ERR_INVALID_ARG_TYPE'],
    ['a file workload', () => runReadiness('epoll', bad({ ...ok, kind: 'file' }), {}), 'ERR_INVALID_ARG_VALUE'],
    ['an unknown target', () => runReadiness('epoll', bad({ ...ok, target: 'udp' }), {}), 'ERR_INVALID_ARG_VALUE'],
    ['0 connections', () => runReadiness('epoll', { ...ok, connections: 0 }, {}), 'ERR_OUT_OF_RANGE'],
    ['1.5 connections', () => runReadiness('epoll', { ...ok, connections: 1.5 }, {}), 'ERR_OUT_OF_RANGE'],
    ['a 0-byte message', () => runReadiness('epoll', { ...ok, msgSize: 0 }, {}), 'ERR_OUT_OF_RANGE'],
    ['a zero runtime', () => runReadiness('epoll', { ...ok, runtime: 0 }, {}), 'ERR_OUT_OF_RANGE'],
    ['a NaN runtime', () => runReadiness('epoll', { ...ok, runtime: NaN }, {}), 'ERR_OUT_OF_RANGE'],
    ['a runtime that is a string', () => runReadiness('epoll', { ...ok, runtime: bad('1') }, {}), 'ERR_INVALID_ARG_TYPE'],
    ['a signal that is not one', () => runReadiness('epoll', ok, { signal: bad({}) }), 'ERR_INVALID_ARG_TYPE'],
    ['an onProgress that is not a function', () => runReadiness('epoll', ok, { onProgress: bad(1) }), 'ERR_INVALID_ARG_TYPE'],
  ])('refuses %s', async (_, call, code) => {
    const kids = children();
    await expect(call()).rejects.toMatchObject({ code });
    expect(children()).toEqual(kids);
  });
});
