import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Epoll, IoError, close, debugCounters, eventfd, getrlimit, setrlimit, type Limit, type Resource } from '../lib/index.js';
import { caught, distEntry, expectArgError, fixture } from './helpers/index.js';

/** The kernel's own account of a limit, from /proc/self/limits. */
function procLimit(label: string): Limit {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(label));
  if (!line) throw new Error(`no ${label} in /proc/self/limits`);
  const [soft, hard] = line.slice(label.length).trim().split(/\s+/);
  const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(soft!), hard: value(hard!) };
}

const labels: Record<Resource, string> = {
  nofile: 'Max open files',
  sigpending: 'Max pending signals',
  memlock: 'Max locked memory',
};



/** Runs `fn` with RLIMIT_NOFILE's original value restored afterwards, whatever happens. */
function withNofile(fn: (original: Limit) => void): void {
  const original = getrlimit('nofile');
  try {
    fn(original);
  } finally {
    setrlimit('nofile', original);
    expect(getrlimit('nofile')).toEqual(original);
  }
}

describe('getrlimit', () => {
  it.each(Object.keys(labels) as Resource[])('%s: soft and hard, as /proc/self/limits shows them', (resource) => {
    const limit = getrlimit(resource);
    expect(Object.keys(limit).sort()).toEqual(['hard', 'soft']);
    for (const v of [limit.soft, limit.hard]) {
      expect(typeof v).toBe('number');
      expect(v === Infinity || (Number.isSafeInteger(v) && v >= 0)).toBe(true);
    }
    expect(limit.soft).toBeLessThanOrEqual(limit.hard);
    expect(limit).toEqual(procLimit(labels[resource]));
  });

  it('nofile: at least as many fds as are open now', () => {
    const { soft } = getrlimit('nofile');
    expect(soft).toBeGreaterThan(readdirSync('/proc/self/fd').length);
  });

  it('rejects unknown resources before any syscall', () => {
    expectArgError(() => getrlimit('files' as Resource), 'ERR_INVALID_ARG_VALUE', 'resource');
    expectArgError(() => getrlimit('NOFILE' as Resource), 'ERR_INVALID_ARG_VALUE', 'resource');
    expectArgError(() => getrlimit('RLIMIT_NOFILE' as Resource), 'ERR_INVALID_ARG_VALUE', 'resource');
    expectArgError(() => getrlimit(7 as never), 'ERR_INVALID_ARG_TYPE', 'resource');
    expectArgError(() => getrlimit(undefined as never), 'ERR_INVALID_ARG_TYPE', 'resource');
  });
});

describe('setrlimit', () => {
  it('lowers the soft limit, raises it back to the hard one, and the kernel agrees', () => {
    withNofile(({ hard }) => {
      expect(hard).toBeLessThan(Infinity);
      setrlimit('nofile', { soft: hard - 1, hard });
      expect(getrlimit('nofile')).toEqual({ soft: hard - 1, hard });
      expect(procLimit(labels.nofile)).toEqual({ soft: hard - 1, hard });
      setrlimit('nofile', { soft: hard, hard });
      expect(getrlimit('nofile')).toEqual({ soft: hard, hard });
    });
  });

  it('a lower nofile soft limit makes the next fds fail with EMFILE', () => {
    const opened: number[] = [];
    withNofile(({ hard }) => {
      try {
        const highest = Math.max(...readdirSync('/proc/self/fd').map(Number));
        // Room for exactly 4 more fds above the highest one open now (fds
        // below it may be free too, so count up to the first failure).
        setrlimit('nofile', { soft: highest + 5, hard });
        let err: unknown;
        for (let i = 0; i < highest + 10; i++) {
          try {
            opened.push(eventfd());
          } catch (e) {
            err = e;
            break;
          }
        }
        expect(err).toBeInstanceOf(IoError);
        expect((err as IoError).code).toBe('EMFILE');
        expect((err as IoError).syscall).toBe('eventfd');
        expect(opened.length).toBeGreaterThanOrEqual(4);
        expect(Math.max(...opened)).toBe(highest + 4);
      } finally {
        for (const fd of opened) close(fd);
      }
    });
  });

  it('gives EPERM for a hard limit above what the kernel allows (fs.nr_open), and changes nothing', () => {
    const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
    withNofile((original) => {
      const err = caught(() => setrlimit('nofile', { soft: original.soft, hard: nrOpen + 1 }));
      expect(err).toBeInstanceOf(IoError);
      expect(err.code).toBe('EPERM');
      expect(err.errno).toBe(1);
      expect(err.syscall).toBe('setrlimit');
      expect(err.message).toBe('EPERM: operation not permitted, setrlimit');
      expect(getrlimit('nofile')).toEqual(original);
    });
  });

  it('passes Infinity through as RLIM_INFINITY', () => {
    // memlock may be unlimited for root; setting it back to what it is proves the round trip.
    const memlock = getrlimit('memlock');
    setrlimit('memlock', memlock);
    expect(getrlimit('memlock')).toEqual(memlock);
    // nofile can never be unlimited: RLIM_INFINITY exceeds fs.nr_open.
    withNofile(({ soft }) => {
      const err = caught(() => setrlimit('nofile', { soft, hard: Infinity }));
      expect(err.code).toBe('EPERM');
    });
  });

  it('rejects bad arguments before any syscall', () => {
    withNofile(({ soft, hard }) => {
      expectArgError(() => setrlimit('files' as Resource, { soft, hard }), 'ERR_INVALID_ARG_VALUE', 'resource');
      expectArgError(() => setrlimit(7 as never, { soft, hard }), 'ERR_INVALID_ARG_TYPE', 'resource');
      expectArgError(() => setrlimit('nofile', undefined as never), 'ERR_INVALID_ARG_TYPE', 'limit');
      expectArgError(() => setrlimit('nofile', null as never), 'ERR_INVALID_ARG_TYPE', 'limit');
      expectArgError(() => setrlimit('nofile', 100 as never), 'ERR_INVALID_ARG_TYPE', 'limit');
      expectArgError(() => setrlimit('nofile', { soft: 10 } as never), 'ERR_INVALID_ARG_TYPE', 'limit.hard');
      expectArgError(() => setrlimit('nofile', { soft: -1, hard }), 'ERR_OUT_OF_RANGE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft: 1.5, hard }), 'ERR_OUT_OF_RANGE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft: NaN, hard }), 'ERR_OUT_OF_RANGE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft: -Infinity, hard }), 'ERR_OUT_OF_RANGE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft: '10' as never, hard }), 'ERR_INVALID_ARG_TYPE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft: 10n as never, hard }), 'ERR_INVALID_ARG_TYPE', 'limit.soft');
      expectArgError(() => setrlimit('nofile', { soft, hard: 2 ** 53 }), 'ERR_OUT_OF_RANGE', 'limit.hard');
      // A soft limit above the hard one: the kernel would say EINVAL; we say which.
      const err = caught(() => setrlimit('nofile', { soft: hard + 1, hard }));
      expect(err.code).toBe('ERR_OUT_OF_RANGE');
      expect(err.message).toBe(`The value of "limit.soft" is out of range. It must be <= limit.hard (${hard}). Received ${hard + 1}`);
      expectArgError(() => setrlimit('nofile', { soft: Infinity, hard }), 'ERR_OUT_OF_RANGE', 'limit.soft');
      expect(getrlimit('nofile')).toEqual({ soft, hard });
    });
  });
});

describe('debugCounters', () => {
  it('counts an open watcher until its close has run on the loop', async () => {
    const base = debugCounters();
    const epolls = [Epoll.create(), Epoll.create()];
    expect(debugCounters()).toEqual({ ...base, ownedFds: base.ownedFds + 2 });
    for (const ep of epolls) ep.watch(() => {});
    expect(debugCounters()).toEqual({ ...base, watchers: base.watchers + 2, ownedFds: base.ownedFds + 2 });
    for (const ep of epolls) ep.close();
    // The fds close at once; uv_close completes on the next loop turn.
    expect(debugCounters().ownedFds).toBe(base.ownedFds);
    for (let i = 0; i < 10 && debugCounters().watchers !== base.watchers; i++) await tick();
    expect(debugCounters()).toEqual(base);
  });

  it("counts per thread: a Worker's watchers are not the main thread's", async () => {
    const base = debugCounters().watchers;
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { Epoll, debugCounters } = await import(workerData.entry);
      const before = debugCounters().watchers;
      const ep = Epoll.create();
      ep.watch(() => {});
      parentPort.postMessage({ before, during: debugCounters().watchers });
      ep.close();
    `;
    const worker = new Worker(fixture(code, 'counters.mjs'), { workerData: { entry: distEntry() } });
    // Listen for 'exit' now: a worker that ends before this thread reads its
    // message has both delivered in one turn, 'exit' before any await resumes.
    const exited = once(worker, 'exit');
    const [message] = await once(worker, 'message');
    expect(message).toEqual({ before: 0, during: 1 });
    expect(debugCounters().watchers).toBe(base);
    const [status] = await exited;
    expect(status).toBe(0);
  });
});
