import { spawnSync } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WOULD_BLOCK, close, open, pipe, socketpair, tryRead, write } from '../lib/index.js';
import { WATCH, Watcher } from '../lib/watcher.js';
import { autoClose, distEntry, expectCode, fixture, root, tmpFile } from './helpers/index.js';

const byte = Buffer.from('x');

function drain(fd: number): void {
  const buf = Buffer.alloc(4096);
  while (tryRead(fd, buf) !== WOULD_BLOCK);
}

function nextTurn(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A module of the compiled package (built by test/global-setup.ts), as a quoted file URL for a child's source. */
function dist(module: string): string {
  return JSON.stringify(new URL(module, distEntry()).href);
}

function runModule(code: string, timeout = 20_000) {
  return spawnSync(process.execPath, [fixture(code)], { cwd: root, encoding: 'utf8', timeout });
}

describe('Watcher', () => {
  it('calls back on the event loop when the fd becomes readable; stop() pauses it', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const seen: number[] = [];
    const watcher = new Watcher(r, (events) => {
      seen.push(events);
      drain(r);
    });
    expect(watcher.active).toBe(false);
    watcher.start();
    expect(watcher.active).toBe(true);
    expect(watcher.fd).toBe(r);
    write(w, byte);
    await nextTurn();
    expect(seen).toEqual([WATCH.READABLE]);

    watcher.stop();
    write(w, byte);
    await nextTurn();
    expect(seen).toHaveLength(1);
    watcher.start(WATCH.READABLE);
    await nextTurn();
    expect(seen).toEqual([WATCH.READABLE, WATCH.READABLE]);
    watcher.close();
  });

  it('reports WRITABLE and DISCONNECT', async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const seen: number[] = [];
    const watcher = new Watcher(a, (events) => {
      seen.push(events);
      watcher.stop();
    });
    watcher.start(WATCH.WRITABLE);
    await nextTurn();
    expect(seen).toEqual([WATCH.WRITABLE]);
    watcher.start(WATCH.READABLE | WATCH.DISCONNECT);
    close(b);
    await nextTurn();
    expect(seen[1]! & WATCH.DISCONNECT).toBe(WATCH.DISCONNECT);
    watcher.close();
  });

  it('is safe to close from inside its own callback, and closes once', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    let calls = 0;
    const watcher = new Watcher(r, () => {
      calls++;
      watcher.close();
      watcher.close();
    });
    watcher.start();
    write(w, byte);
    write(w, byte);
    await nextTurn();
    await nextTurn();
    expect(calls).toBe(1); // level-triggered and not drained, yet closed: no second call
    expect(watcher.closed).toBe(true);
    expect(watcher.fd).toBe(-1);
    expect(watcher.active).toBe(false);
    for (const use of [() => watcher.start(), () => watcher.stop(), () => watcher.ref(), () => watcher.unref()]) {
      expectCode(use, 'ERR_USE_AFTER_CLOSE');
    }
    // The fd itself stays open, and can be watched again.
    const again = new Watcher(r, () => {
      again.close();
    });
    again.start();
    await nextTurn();
    expect(again.closed).toBe(true);
  });

  it('lets two watchers watch one fd: each polls its own duplicate', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const seen: string[] = [];
    const first = new Watcher(r, () => {
      seen.push('first');
      first.close();
    });
    const second = new Watcher(r, () => {
      seen.push('second');
      second.close();
    });
    first.start();
    second.start();
    write(w, byte);
    await nextTurn();
    expect(seen.sort()).toEqual(['first', 'second']);
  });

  it('gives EPERM for a regular file and EBADF for a closed fd', () => {
    const [fd] = autoClose(open(tmpFile('data')));
    expectCode(() => new Watcher(fd, () => {}), 'EPERM', 'uv_poll_init');
    const [r, w] = pipe();
    close(r);
    close(w);
    expectCode(() => new Watcher(r, () => {}), 'EBADF', 'uv_poll_init');
  });

  it('rejects bad input', () => {
    const [r] = autoClose(...pipe());
    expectCode(() => new Watcher('3' as unknown as number, () => {}), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => new Watcher(-1, () => {}), 'ERR_OUT_OF_RANGE');
    expectCode(() => new Watcher(r, null as unknown as () => void), 'ERR_INVALID_ARG_TYPE');
    const watcher = new Watcher(r, () => {});
    expectCode(() => watcher.start(0x100), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => watcher.start('r' as unknown as number), 'ERR_INVALID_ARG_TYPE');
    watcher.close();
  });

  it('runs its callback in the async context it was created in (MakeCallback semantics)', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const als = new AsyncLocalStorage<string>();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      als.run('created-here', () => {
        const watcher = new Watcher(r, () => {
          order.push(`callback:${als.getStore()}`);
          drain(r);
          watcher.close();
          // Microtasks queued by the callback run before any later macrotask.
          Promise.resolve().then(() => order.push('microtask'));
          setImmediate(() => {
            order.push('immediate');
            resolve();
          });
        });
        watcher.start();
      });
    });
    write(w, byte);
    await done;
    expect(order).toEqual(['callback:created-here', 'microtask', 'immediate']);
  });

  it('survives 1,000 create/start/close cycles and a GC', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    write(w, byte);
    let calls = 0;
    for (let i = 0; i < 1000; i++) {
      const watcher = new Watcher(r, () => calls++);
      watcher.start();
      if (i % 2 === 0) watcher.unref();
      watcher.close();
    }
    (globalThis as { gc?: () => void }).gc?.();
    await nextTurn();
    expect(calls).toBe(0); // each was closed before the loop could call it
    const last = new Watcher(r, () => {
      calls++;
      last.close();
    });
    last.start();
    await nextTurn();
    expect(calls).toBe(1);
  });
});

describe('Watcher lifetime, in other processes and threads', () => {
  it('lets the process exit when unref()ed, and keeps it alive when ref()ed', () => {
    const code = (unref: boolean) => `
      const { pipe, write } = await import(${dist('index.js')});
      const { Watcher } = await import(${dist('watcher.js')});
      const [r, w] = pipe();
      const watcher = new Watcher(r, () => { console.log('event'); watcher.close(); });
      watcher.start();
      ${unref ? 'watcher.unref();' : ''}
      setTimeout(() => write(w, Buffer.from('x')), 100).unref();
      process.on('exit', () => console.log('exit'));
    `;
    const unrefd = runModule(code(true));
    expect(unrefd.signal).toBe(null);
    expect(unrefd.stdout.trim().split('\n')).toEqual(['exit']);
    const refd = runModule(code(false));
    expect(refd.signal).toBe(null);
    expect(refd.stdout.trim().split('\n')).toEqual(['event', 'exit']);
  });

  it('reports an exception thrown by the callback as uncaught, not a crash', () => {
    const code = `
      const { pipe, write } = await import(${dist('index.js')});
      const { Watcher } = await import(${dist('watcher.js')});
      const [r, w] = pipe();
      const watcher = new Watcher(r, () => { watcher.close(); throw new Error('from the callback'); });
      watcher.start();
      write(w, Buffer.from('x'));
    `;
    const result = runModule(code);
    expect(result.signal).toBe(null);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Error: from the callback/);
  });

  it('closes watchers left open when the process exits', () => {
    const code = `
      const { pipe } = await import(${dist('index.js')});
      const { Watcher } = await import(${dist('watcher.js')});
      for (let i = 0; i < 20; i++) {
        const [r] = pipe();
        const watcher = new Watcher(r, () => {});
        if (i % 2) { watcher.start(); watcher.unref(); }
      }
      console.log('done');
    `;
    const result = runModule(code);
    expect(result.signal).toBe(null);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('done');
    expect(result.status).toBe(0);
  });

  it('closes watchers left open when a worker is terminated or exits', async () => {
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { pipe, write } = await import(${dist('index.js')});
      const { Watcher } = await import(${dist('watcher.js')});
      let events = 0;
      for (let i = 0; i < 20; i++) {
        const [r, w] = pipe();
        // Plain pipes are the process's: the parent closes them afterwards.
        workerData.pipes.set([r, w], 2 * i);
        const watcher = new Watcher(r, () => events++);
        watcher.start();
        write(w, Buffer.from('x')); // never drained: fires every turn
      }
      setTimeout(() => {
        parentPort.postMessage(events > 0);
        if (workerData.exit) process.exit(5);
      }, 20);
    `;
    const path = fixture(code, 'worker.mjs');
    for (const exit of [false, true, false, true]) {
      const pipes = new Int32Array(new SharedArrayBuffer(160)).fill(-1);
      const worker = new Worker(path, { workerData: { exit, pipes } });
      const exited = once(worker, 'exit');
      const [sawEvents] = await once(worker, 'message');
      expect(sawEvents).toBe(true);
      if (!exit) await worker.terminate();
      const [status] = await exited;
      expect(status).toBe(exit ? 5 : 1);
      for (const fd of pipes) if (fd >= 0) close(fd);
    }
  });
});
