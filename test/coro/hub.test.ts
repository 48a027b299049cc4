/**
 * The hub (lib/coro/hub.ts, lib/coro/run.ts): counts, the virtual clock,
 * the run() driver's hand-over to Node's loop, deadlock detection, misuse,
 * and one hub per Worker thread.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { pipe, write as writeNow } from '../../lib/index.js';
import { call, createHub, Hub, joinAll, read, run, sleep, spawn, useHub, type Instruction } from '../../lib/coro/index.js';
import { caught, distEntry, expectArgError, fixture, runChild, tmpDir } from '../helpers/index.js';
import { BACKENDS, expectIdle } from '../helpers/coro.js';

afterEach(() => {
  expectIdle();
});

describe('the hub', () => {
  it('useHub gives this thread\'s hub; createHub replaces an idle one, and refuses while tasks live', async () => {
    const first = createHub({ backend: 'poll', clock: 'virtual' });
    expect(useHub()).toBe(first);
    expect([first.backend, first.clock]).toEqual(['poll', 'virtual']);
    const sleeper = spawn(function* () {
      yield* sleep(1000);
    });
    expect(caught(() => createHub()).code).toBe('ERR_INVALID_STATE');
    expect(useHub()).toBe(first);
    await sleeper.kill();
    const second = createHub();
    expect(first.closed).toBe(true);
    expect(useHub()).toBe(second);
    expect([second.backend, second.clock]).toEqual(['epoll', 'real']);
  });

  it('counts tasks, parked tasks, timers, fd waiters, registrations and promises, back to zero', async () => {
    const hub = createHub();
    const [r, w] = pipe({ nonblocking: true });
    let resolve!: (value: string) => void;
    const promise = new Promise<string>((res) => (resolve = res));
    const tasks: ReturnType<typeof spawn<unknown, []>>[] = [
      spawn(function* () {
        yield* sleep(10_000);
      }),
      spawn(function* () {
        return yield* read(r, Buffer.alloc(4));
      }),
      spawn(function* () {
        return yield* call(promise);
      }),
    ];
    await new Promise((res) => setImmediate(res));
    expect(hub.counts).toEqual({ tasks: 3, parked: 3, ready: 0, timers: 1, waiters: 1, registrations: 1, calls: 1 });
    writeNow(w, Buffer.from('x'));
    resolve('done');
    tasks[0]!.kill();
    await joinAll(tasks);
    expect(hub.counts).toEqual({ tasks: 0, parked: 0, ready: 0, timers: 0, waiters: 0, registrations: 1, calls: 0 });
    // The registration lasts until the fd is closed through iomodes.
    const { close } = await import('../../lib/index.js');
    close(r);
    close(w);
    expect(hub.counts.registrations).toBe(0);
  });

  it('the virtual clock jumps to the next timer only when every task waits', async () => {
    const hub = createHub({ clock: 'virtual' });
    const seen: number[] = [];
    const t0 = performance.now();
    await joinAll([
      spawn(function* () {
        for (let i = 0; i < 3; i++) {
          yield* sleep(60_000);
          seen.push(hub.now());
        }
      }),
      spawn(function* () {
        // Busy with sleep(0)s: time must not move under it.
        for (let i = 0; i < 1000; i++) yield* sleep(0);
        seen.push(hub.now());
      }),
    ]);
    expect(seen).toEqual([0, 60_000, 120_000, 180_000]);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('a closed hub refuses spawn and operations (ERR_USE_AFTER_CLOSE); close is idempotent', () => {
    const hub = createHub();
    hub.close();
    hub.close();
    // A new hub replaces the closed one for this thread...
    expect(useHub()).not.toBe(hub);
    // ...but the closed one itself is done for.
    expect(caught(() => hub.setTimer(1, () => {})).code).toBe('ERR_USE_AFTER_CLOSE');
  });

  it('rejects bad options', () => {
    expectArgError(() => createHub({ backend: 'kqueue' as never }), 'ERR_INVALID_ARG_VALUE', 'options.backend');
    expectArgError(() => createHub({ clock: 5 as never }), 'ERR_INVALID_ARG_TYPE', 'options.clock');
    expectArgError(() => createHub('fast' as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(() => new Hub().close()).not.toThrow();
  });
});

describe.each(BACKENDS)('run(), %s backend', (backend) => {
  it('gives main\'s value, rejects with its error, and lets other tasks go on after it', async () => {
    createHub({ backend });
    const later: string[] = [];
    expect(
      await run(function* () {
        spawn(function* () {
          yield* sleep(20);
          later.push('background task ran');
        });
        return 'main value';
      }),
    ).toBe('main value');
    await expect(
      run(function* (): Generator<Instruction, never, unknown> {
        yield* sleep(1);
        throw new Error('main failed');
      }),
    ).rejects.toThrow('main failed');
    await new Promise((res) => setTimeout(res, 60));
    expect(later).toEqual(['background task ran']);
  });

  it('while a task waits on a promise, Node\'s loop turns: timers and I/O of ordinary Node code run', async () => {
    createHub({ backend });
    const log: string[] = [];
    const value = await run(function* () {
      const ticker = setInterval(() => log.push('node timer'), 5);
      try {
        const got = yield* call(new Promise<string>((resolve) => setTimeout(() => resolve('settled'), 40)));
        return got;
      } finally {
        clearInterval(ticker);
      }
    });
    expect(value).toBe('settled');
    expect(log.length).toBeGreaterThan(0);
  });

  it('tasks waiting on fds and timers keep running while run() lends the thread to Node', async () => {
    createHub({ backend });
    const [r, w] = pipe({ nonblocking: true });
    const out = await run(function* () {
      const reader = spawn(function* () {
        const buf = Buffer.alloc(8);
        return buf.toString('utf8', 0, yield* read(r, buf));
      });
      const sleeper = spawn(function* () {
        yield* sleep(10);
        return 'slept';
      });
      // This promise is settled by ordinary Node code after the fd is written.
      const value = yield* call(
        new Promise<string>((resolve) =>
          setTimeout(() => {
            writeNow(w, Buffer.from('fd'));
            setTimeout(() => resolve('promise'), 20);
          }, 5),
        ),
      );
      return [value, yield* reader, yield* sleeper];
    });
    expect(out).toEqual(['promise', 'fd', 'slept']);
    const { close } = await import('../../lib/index.js');
    close(r);
    close(w);
  });

  it('throws ERR_CORO_DEADLOCK when every task waits and nothing can wake one', async () => {
    createHub({ backend });
    const [r, w] = pipe({ nonblocking: true });
    let parked: ReturnType<typeof spawn> | undefined;
    await expect(
      run(function* () {
        parked = spawn(function* () {
          yield* sleep(Infinity);
        });
        yield* parked.join();
      }),
    ).rejects.toMatchObject({ code: 'ERR_CORO_DEADLOCK' });
    await parked!.kill();
    const { close } = await import('../../lib/index.js');
    close(r);
    close(w);
  });

  it('refuses a second run() on the thread, and run() inside a task (ERR_INVALID_STATE)', async () => {
    createHub({ backend });
    const nested = await run(function* () {
      const inner = run(function* () {});
      return yield* call(inner.then(() => 'resolved', (err: { code: string }) => err.code));
    });
    expect(nested).toBe('ERR_INVALID_STATE');
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const first = run(function* () {
      yield* call(gate);
    });
    await expect(run(function* () {})).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    release();
    await first;
  });
});

describe('one hub per thread', () => {
  it('two Workers each run their own hub, beside the main thread\'s', async () => {
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const coro = await import(new URL('coro/index.js', workerData.entry).href);
      const hub = coro.useHub();
      const value = await coro.run(function* () {
        const tasks = [1, 2, 3].map((n) => coro.spawn(function* () { yield* coro.sleep(5 * n); return n * workerData.factor; }));
        const done = yield* coro.joinAll(tasks);
        return done.map((t) => t.value);
      });
      parentPort.postMessage({ value, sameHub: coro.useHub() === hub, counts: hub.counts });
    `;
    const path = fixture(code, 'hub-worker.mjs');
    const mainHub = createHub();
    const workers = [10, 100].map((factor) => new Worker(path, { workerData: { entry: distEntry(), factor } }));
    const exits = workers.map((w) => once(w, 'exit'));
    const mine = spawn(function* () {
      yield* sleep(10);
      return 'main';
    });
    const messages = await Promise.all(workers.map(async (w) => (await once(w, 'message'))[0] as { value: number[]; sameHub: boolean }));
    expect(messages.map((m) => m.value)).toEqual([
      [10, 20, 30],
      [100, 200, 300],
    ]);
    expect(messages.every((m) => m.sameHub)).toBe(true);
    expect(await mine).toBe('main');
    expect(useHub()).toBe(mainHub);
    expect((await Promise.all(exits)).map(([code]) => code)).toEqual([0, 0]);
  });

  it('a Worker terminated with tasks parked on fds and timers exits cleanly', () => {
    const r = runChild(`
      import { Worker } from 'node:worker_threads';
      import { once } from 'node:events';
      const code = \`
        import { parentPort } from 'node:worker_threads';
        const coro = await import(${JSON.stringify(new URL('coro/index.js', distEntry()).href)});
        const io = await import(${JSON.stringify(distEntry())});
        for (let i = 0; i < 50; i++) {
          const [r] = io.pipe({ nonblocking: true });
          coro.spawn(function* () { yield* coro.read(r, Buffer.alloc(8)); });
          coro.spawn(function* () { yield* coro.sleep(60_000); });
        }
        setTimeout(() => parentPort.postMessage('parked'), 20);
      \`;
      for (let i = 0; i < 3; i++) {
        const w = new Worker(code, { eval: true });
        await once(w, 'message');
        await w.terminate();
      }
      console.log('ok');
    `);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
  });

  /**
   * Runs, under strace (tracing `calls`), a child where two tasks on a
   * socketpair ping-pong `rounds` times on the given backend and driver;
   * returns the trace's lines.
   */
  function tracePingPong(backend: string, driver: 'run' | 'loop', rounds: number, calls: string): string[] {
    const script = fixture(`
      const coro = await import(${JSON.stringify(new URL('coro/index.js', distEntry()).href)});
      const io = await import(${JSON.stringify(distEntry())});
      coro.createHub({ backend: ${JSON.stringify(backend)} });
      const [a, b] = io.socketpair({ nonblocking: true });
      function* side(fd, first, word) {
        const buf = Buffer.alloc(8);
        for (let i = 0; i < ${rounds}; i++) {
          if (first) yield* coro.write(fd, Buffer.from(word));
          yield* coro.read(fd, buf);
          if (!first) yield* coro.write(fd, Buffer.from(word));
        }
      }
      const both = () => [coro.spawn(side, a, true, 'ping'), coro.spawn(side, b, false, 'pong')];
      if (${JSON.stringify(driver)} === 'run') await coro.run(function* () { yield* coro.joinAll(both(), { raiseError: true }); });
      else await Promise.all(both());
      console.log('ok');
    `);
    const trace = join(tmpDir(), 'trace');
    const run = spawnSync('strace', ['-qq', '-e', `trace=${calls}`, '-o', trace, process.execPath, script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('ok');
    return readFileSync(trace, 'utf8').split('\n');
  }

  it('the poll backend on the event loop keeps one watcher per fd across waits, updated once per turn', () => {
    const lines = tracePingPong('poll', 'loop', 2000, 'fcntl,epoll_ctl');
    // A watcher is a duplicate of its fd: two fds, two watchers.
    expect(lines.filter((l) => l.includes('F_DUPFD_CLOEXEC')).length).toBe(2);
    // 4,000 round trips: a watcher stopped and restarted per wait would make
    // thousands of epoll_ctl calls.
    expect(lines.filter((l) => l.startsWith('epoll_ctl(')).length).toBeLessThan(200);
  });

  it('the io_uring backend under run() waits in io_uring_enter and leaves the completion eventfd alone', () => {
    const lines = tracePingPong('io_uring', 'run', 500, 'read,io_uring_enter');
    expect(lines.filter((l) => l.startsWith('io_uring_enter(')).length).toBeGreaterThan(100);
    // An eventfd read is 8 bytes; nothing else here reads 8 bytes and fails.
    expect(lines.filter((l) => /^read\(\d+, .*, 8\) += -1 EAGAIN/.test(l))).toEqual([]);
  });
});

