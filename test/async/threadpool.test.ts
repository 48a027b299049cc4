/**
 * The threadpool backend (lib/async/threadpool.ts, native/threadpool.cc):
 * data integrity under concurrency, every operation, cancellation, the wait
 * queue, buffers collected, detached or shrunk in flight, close() and
 * Worker teardown with operations in flight, bad input, and (with strace)
 * the syscalls the pool threads really make.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ThreadpoolIo } from '../../lib/async/threadpool.js';
import { IoError } from '../../lib/errors.js';
import { constant, native } from '../../lib/native.js';
import { bad, caught, closedFd, distEntry, expectArgError, fixture, mayskip, runChild, tmpDir, tmpFile } from '../helpers/index.js';

const { errno } = constants;
const openFds = (): number => readdirSync('/proc/self/fd').length;
const gc = (globalThis as { gc?: () => void }).gc!;
/** The compiled module, for child processes and workers. */
const moduleUrl = (): string => new URL('async/threadpool.js', distEntry()).href;
const nativeUrl = (): string => new URL('native.js', distEntry()).href;

function backend(options?: Parameters<typeof ThreadpoolIo.create>[0]): ThreadpoolIo {
  const io = ThreadpoolIo.create(options);
  onTestFinished(() => io.close());
  return io;
}

function openFile(path: string, flags = 'r+'): number {
  const fd = openSync(path, flags);
  onTestFinished(() => {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
  });
  return fd;
}

function pipePair(): [number, number] {
  const fds = new Int32Array(2);
  expect(native.pipe2(constant('O_CLOEXEC'), fds)).toBe(0);
  onTestFinished(() => {
    native.close(fds[0]!);
    native.close(fds[1]!);
  });
  return [fds[0]!, fds[1]!];
}

/** Every promise's outcome, after all settled; counts each settlement. */
async function outcomes<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}

/** ArrayBuffer.prototype.transfer(), which Node 20 lacks. */
const detach = (ab: ArrayBuffer): ArrayBuffer => structuredClone(ab, { transfer: [ab] });

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('ThreadpoolIo: data', () => {
  it('keeps 10,000 concurrent random-offset writes and reads intact', async () => {
    const io = backend();
    const BLOCK = 1024;
    const N = 10_000;
    const path = tmpFile();
    const fd = openFile(path);
    const model = randomBytes(N * BLOCK);
    // Every block once, in random order, each from its own copy.
    const order = Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const written = await Promise.all(order.map((i) => io.write(fd, Buffer.from(model.subarray(i * BLOCK, (i + 1) * BLOCK)), { position: i * BLOCK })));
    expect(written.every((n) => n === BLOCK)).toBe(true);
    expect(sha(readFileSync(path))).toBe(sha(model));
    // Read back in another random order, each block into its own buffer.
    const back = Buffer.alloc(N * BLOCK);
    const reads = order.reverse().map(async (i) => {
      const b = Buffer.alloc(BLOCK);
      const n = await io.read(fd, b, { position: BigInt(i * BLOCK) });
      b.copy(back, i * BLOCK, 0, n);
      return n;
    });
    expect((await Promise.all(reads)).every((n) => n === BLOCK)).toBe(true);
    expect(sha(back)).toBe(sha(model));
    expect(io.pending).toBe(0);
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('reads short at end of file, and 0 past it', async () => {
    const io = backend();
    const fd = openFile(tmpFile('0123456789'));
    const b = Buffer.alloc(16, 0xee);
    expect(await io.read(fd, b, { position: 6 })).toBe(4);
    expect(b.subarray(0, 4).toString()).toBe('6789');
    expect(b[4]).toBe(0xee);
    expect(await io.read(fd, b, { position: 10 })).toBe(0);
    expect(await io.read(fd, b, { position: 2n ** 40n })).toBe(0);
  });

  it('honours offset and length inside the buffer', async () => {
    const io = backend();
    const fd = openFile(tmpFile('abcdefgh'));
    const b = Buffer.alloc(8, 0x2e);
    expect(await io.read(fd, b, { offset: 2, length: 3, position: 1 })).toBe(3);
    expect(b.toString()).toBe('..bcd...');
    expect(await io.write(fd, Buffer.from('XYZW'), { offset: 1, length: 2, position: 0 })).toBe(2);
    expect(await io.read(fd, b, { position: 0 })).toBe(8);
    expect(b.toString()).toBe('YZcdefgh');
    // Zero bytes is a valid operation.
    expect(await io.read(fd, b, { length: 0, position: 0 })).toBe(0);
  });

  it('reads into and writes from any ArrayBufferView (DataView, Float64Array, offset views)', async () => {
    const io = backend();
    const fd = openFile(tmpFile(Buffer.alloc(64, 7)));
    const f = new Float64Array([1.5, -2.25]);
    expect(await io.write(fd, f, { position: 8 })).toBe(16);
    const dv = new DataView(new ArrayBuffer(32), 8, 16);
    expect(await io.read(fd, dv, { position: 8 })).toBe(16);
    expect(dv.getFloat64(0, true)).toBe(1.5);
    expect(dv.getFloat64(8, true)).toBe(-2.25);
  });

  it('readv and writev, positional and at the current offset', async () => {
    const io = backend();
    const path = tmpFile();
    const fd = openFile(path);
    expect(await io.writev(fd, [Buffer.from('ab'), new Uint8Array([0x63]), Buffer.from('defg')], { position: 0 })).toBe(7);
    const x = Buffer.alloc(3);
    const y = new Uint16Array(2);
    expect(await io.readv(fd, [x, y], { position: 0 })).toBe(7);
    expect(x.toString()).toBe('abc');
    expect(Buffer.from(y.buffer).toString()).toBe('defg');
    // Current offset (position null): each call advances it.
    const cur = openFile(path, 'r');
    const a = Buffer.alloc(2);
    const b = Buffer.alloc(2);
    expect(await io.readv(cur, [a], { position: null })).toBe(2);
    expect(await io.readv(cur, [b])).toBe(2);
    expect(a.toString() + b.toString()).toBe('abcd');
    const app = openFile(path, 'a');
    expect(await io.writev(app, [Buffer.from('!')])).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('abcdefg!');
  });

  it('reads and writes at the current offset (read/write), on files and pipes', async () => {
    const io = backend();
    const path = tmpFile('hello world');
    const fd = openFile(path, 'r');
    const b = Buffer.alloc(5);
    expect(await io.read(fd, b)).toBe(5);
    expect(b.toString()).toBe('hello');
    expect(await io.read(fd, b, { position: -1 })).toBe(5);
    expect(b.toString()).toBe(' worl');
    const [r, w] = pipePair();
    const reading = io.read(r, Buffer.alloc(64));
    expect(await io.write(w, Buffer.from('through the pipe'))).toBe(16);
    expect(await reading).toBe(16);
  });

  it('fsync and fdatasync after a write', async () => {
    const io = backend();
    const path = tmpFile();
    const fd = openFile(path);
    await io.write(fd, Buffer.from('durable'), { position: 0 });
    await expect(io.fsync(fd)).resolves.toBeUndefined();
    await expect(io.fdatasync(fd)).resolves.toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('durable');
    // fsync of a pipe: EINVAL, as an IoError from the pool.
    const [r] = pipePair();
    const err = await io.fsync(r).catch((e: unknown) => e as IoError);
    expect(err).toBeInstanceOf(IoError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'threadpool:fsync', fd: r });
  });

  it('a queue deeper than the capacity waits, never fails', async () => {
    const io = backend({ capacity: 2 });
    expect(io.capacity).toBe(2);
    const fd = openFile(tmpFile(Buffer.alloc(4096, 1)));
    const all = Array.from({ length: 500 }, (_, i) => io.read(fd, Buffer.alloc(8), { position: i }));
    expect(io.pending).toBe(500);
    const results = await Promise.all(all);
    expect(results.every((n) => n === 8)).toBe(true);
    expect(io.pending).toBe(0);
  });
});

describe('ThreadpoolIo: cancellation', () => {
  it('settles every operation exactly once when some are aborted at random', async () => {
    const io = backend({ capacity: 16 });
    const fd = openFile(tmpFile(randomBytes(1 << 16)));
    const N = 3000;
    let settled = 0;
    const controllers: AbortController[] = [];
    const promises = Array.from({ length: N }, (_, i) => {
      const ac = new AbortController();
      controllers.push(ac);
      const p = i % 3 === 0 ? io.write(fd, Buffer.alloc(512, i & 0xff), { position: (i * 512) % 65536, signal: ac.signal }) : io.read(fd, Buffer.alloc(512), { position: (i * 97) % (65536 - 512), signal: ac.signal });
      return p.finally(() => settled++);
    });
    // Observed before any abort: one waiting for a slot rejects at once.
    const all = outcomes(promises);
    // Some before any completes, some after a few turns of the loop.
    for (let i = 0; i < N; i++) if (Math.random() < 0.15) controllers[i]!.abort();
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < N; i++) if (Math.random() < 0.15) controllers[i]!.abort(new Error('why'));
    const results = await all;
    expect(settled).toBe(N);
    let aborted = 0;
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        expect(r.value).toBe(512);
      } else {
        aborted++;
        expect(controllers[i]!.signal.aborted).toBe(true);
        expect(r.reason).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      }
    }
    expect(aborted).toBeGreaterThan(0);
    expect(io.pending).toBe(0);
    expect(native.debug_counters().pinnedOps).toBe(0);
    // Still usable.
    expect(await io.read(fd, Buffer.alloc(4), { position: 0 })).toBe(4);
  });

  it('rejects at once for an already aborted signal, with its reason as cause', async () => {
    const io = backend();
    const fd = openFile(tmpFile('x'));
    const reason = new Error('stop');
    const err = await io.read(fd, Buffer.alloc(1), { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
  });

  it('aborting a read blocked on an empty pipe interrupts its pool thread', async () => {
    const io = backend();
    const [r, w] = pipePair();
    const ac = new AbortController();
    const b = Buffer.alloc(16);
    const reading = io.read(r, b, { signal: ac.signal });
    // Give the pool thread time to block in read(2); the outcome does not
    // depend on it (queued: uv_cancel; running: the interrupt).
    await new Promise((res) => setTimeout(res, 50));
    ac.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    // The pipe is untouched: the next read gets the data.
    native.write(w, Buffer.from('later'), 0, 5);
    expect(await io.read(r, b)).toBe(5);
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('four reads blocked on pipes (the whole default pool) are aborted, and fs works again', async () => {
    const io = backend();
    const pipes = Array.from({ length: 6 }, () => pipePair());
    const ac = new AbortController();
    const reads = pipes.map(([r]) => io.read(r, Buffer.alloc(8), { signal: ac.signal }));
    await new Promise((res) => setTimeout(res, 50));
    ac.abort();
    const results = await outcomes(reads);
    expect(results.every((x) => x.status === 'rejected' && (x.reason as Error).name === 'AbortError')).toBe(true);
    // The pool is free again for Node's own fs.
    const { readFile } = await import('node:fs/promises');
    await expect(readFile(tmpFile('ok'), 'utf8')).resolves.toBe('ok');
  });
});

describe('ThreadpoolIo: buffers in flight', () => {
  it('reads stay intact when gc() runs between submission and completion', async () => {
    const io = backend();
    const content = randomBytes(4096 * 16);
    const fd = openFile(tmpFile(content));
    const N = 10_000;
    let good = 0;
    const promises: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const at = (i % 16) * 4096;
      if (i % 2 === 0) {
        // Referenced only by the native side until it completes.
        promises.push(io.read(fd, Buffer.alloc(4096), { position: at }));
      } else {
        const b = Buffer.alloc(4096);
        promises.push(io.read(fd, b, { position: at }).then((n) => (good += n === 4096 && b.equals(content.subarray(at, at + 4096)) ? 1 : 0)));
      }
      if (i % 500 === 0) gc();
    }
    for (let k = 0; k < 5; k++) gc();
    const results = await Promise.all(promises);
    expect(results.filter((_, i) => i % 2 === 0).every((n) => n === 4096)).toBe(true);
    expect(good).toBe(N / 2);
    gc();
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('a buffer transferred while its read is in flight: no crash, ERR_INVALID_STATE', async () => {
    const io = backend();
    const [r, w] = pipePair();
    const ab = new ArrayBuffer(64);
    const reading = io.read(r, new Uint8Array(ab));
    const moved = detach(ab);
    native.write(w, Buffer.from('data'), 0, 4);
    await expect(reading).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(new Uint8Array(moved)[0]).toBe(0);
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('a resizable buffer shrunk under a read, and a write buffer changed after submission', async () => {
    const io = backend();
    const [r, w] = pipePair();
    // Resizable ArrayBuffers are ES2024; this tsconfig's lib is older.
    const rab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resize(n: number): void })(64, { maxByteLength: 128 });
    const view = new Uint8Array(rab, 32, 16);
    const reading = io.read(r, view);
    rab.resize(8);
    native.write(w, Buffer.from('0123456789abcdef'), 0, 16);
    await expect(reading).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    // A write copies at submission: changing the buffer after has no effect.
    const src = Buffer.from('original');
    const writing = io.write(w, src);
    src.fill(0x21);
    expect(await writing).toBe(8);
    const back = Buffer.alloc(8);
    expect(await io.read(r, back)).toBe(8);
    expect(back.toString()).toBe('original');
  });

  it('a read racing a transfer settles once, with data or ERR_INVALID_STATE', async () => {
    const io = backend();
    const fd = openFile(tmpFile(Buffer.alloc(4096, 0x41)));
    const promises = Array.from({ length: 200 }, () => {
      const ab = new ArrayBuffer(4096);
      const p = io.read(fd, new Uint8Array(ab), { position: 0 });
      queueMicrotask(() => detach(ab));
      return p;
    });
    for (const r of await outcomes(promises)) {
      if (r.status === 'fulfilled') expect(r.value).toBe(4096);
      else expect(r.reason).toMatchObject({ code: 'ERR_INVALID_STATE' });
    }
  });
});

describe('ThreadpoolIo: close', () => {
  it('with operations in flight: every promise settles, no fd leaks, nothing stays pinned', async () => {
    const fdsBefore = openFds();
    const io = ThreadpoolIo.create({ capacity: 64 });
    const fd = openFile(tmpFile(Buffer.alloc(1 << 16, 3)));
    const [r] = pipePair();
    const fdsOpen = openFds();
    let settled = 0;
    const promises: Promise<unknown>[] = [
      ...Array.from({ length: 300 }, (_, i) => io.read(fd, Buffer.alloc(256), { position: i * 64 })),
      io.read(r, Buffer.alloc(8)), // blocked in read(2): interrupted by close
      io.fsync(fd),
    ].map((p) => p.finally(() => settled++));
    await new Promise((res) => setTimeout(res, 20));
    io.close();
    expect(io.closed).toBe(true);
    expect(io.leaked).toBe(0);
    const results = await outcomes(promises);
    expect(settled).toBe(promises.length);
    for (const x of results) {
      if (x.status === 'rejected') expect(x.reason).toMatchObject({ name: 'AbortError' });
    }
    // The blocked pipe read is among the aborted ones.
    expect(results[300]!.status).toBe('rejected');
    expect(native.debug_counters().pinnedOps).toBe(0);
    // The eventfd is closed (the watcher's duplicate goes on its close callback).
    await new Promise((res) => setImmediate(res));
    // The eventfd and the watcher's duplicate of it are closed; the file
    // and the pipe are the test's.
    expect(openFds()).toBe(fdsOpen - 2);
    expect(openFds() - 3).toBe(fdsBefore);
    io.close(); // idempotent
  });

  it('use after close: ERR_USE_AFTER_CLOSE, synchronously', () => {
    const io = ThreadpoolIo.create();
    io.close();
    const fd = openFile(tmpFile('x'));
    for (const call of [
      () => io.read(fd, Buffer.alloc(1)),
      () => io.write(fd, Buffer.alloc(1)),
      () => io.readv(fd, [Buffer.alloc(1)]),
      () => io.writev(fd, [Buffer.alloc(1)]),
      () => io.fsync(fd),
      () => io.fdatasync(fd),
    ]) {
      expect(caught(call as () => unknown).code).toBe('ERR_USE_AFTER_CLOSE');
    }
  });

  it('operations waiting for a slot at close reject with AbortError', async () => {
    const io = ThreadpoolIo.create({ capacity: 1 });
    const fd = openFile(tmpFile('abc'));
    const promises = Array.from({ length: 10 }, () => io.read(fd, Buffer.alloc(1), { position: 0 }));
    io.close();
    for (const r of await outcomes(promises)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'AbortError' });
    }
  });

  it('[Symbol.dispose] closes', () => {
    let kept: ThreadpoolIo;
    {
      using io = ThreadpoolIo.create();
      kept = io;
    }
    expect(kept.closed).toBe(true);
  });

  it('an idle backend does not keep the process alive; a busy one until done', () => {
    const r = runChild(`
      import { ThreadpoolIo } from ${JSON.stringify(moduleUrl())};
      import { openSync } from 'node:fs';
      const idle = ThreadpoolIo.create();
      const io = ThreadpoolIo.create();
      const fd = openSync('/proc/self/exe', 'r');
      io.read(fd, Buffer.alloc(16), { position: 0 }).then((n) => console.log('read', n));
    `);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('read 16');
  });

  it('a native close that cannot wait abandons the running read; the pool thread returns into live memory', () => {
    // Raw native object, timeout 0: close() gives up on the blocked read
    // at once (leaked 1). The interrupt then brings the pool thread back:
    // it posts into the shared state (which outlived the object's close)
    // and libuv frees the request. The child must exit cleanly, by itself.
    const r = runChild(
      `
      const { native } = await import(${JSON.stringify(nativeUrl())});
      const p = new Int32Array(2);
      native.pipe2(0, p);
      const before = native.debug_counters();
      const io = new native.ThreadpoolIo();
      if (io.open(4) !== 0) throw new Error('open');
      if (io.read(0, p[0], new Uint8Array(8), 0, 8, -1) !== 0) throw new Error('read');
      await new Promise((r) => setTimeout(r, 50));
      const leaked = io.close(0);
      const after = native.debug_counters();
      globalThis.gc();
      setTimeout(() => {
        native.write(p[1], Buffer.from('late'), 0, 4);
        console.log(JSON.stringify({ leaked, pinned: after.pinnedOps, leakedCount: after.leakedOnTeardown - before.leakedOnTeardown }));
      }, 50);
    `,
      { execArgv: ['--expose-gc'] },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ leaked: 1, pinned: 0, leakedCount: 1 });
  });
});

describe('ThreadpoolIo: Workers', () => {
  const worker = `
    import { workerData, parentPort } from 'node:worker_threads';
    import { openSync } from 'node:fs';
    const { ThreadpoolIo } = await import(workerData.url);
    const { native } = await import(workerData.nativeUrl);
    const io = ThreadpoolIo.create({ capacity: 256 });
    const fd = openSync(workerData.file, 'r+');
    const p = new Int32Array(2);
    native.pipe2(0, p);
    for (let i = 0; i < 1000; i++) {
      const op = i % 2 ? io.read(fd, Buffer.alloc(4096), { position: (i % 64) * 4096 }) : io.write(fd, Buffer.alloc(4096, i), { position: (i % 64) * 4096 });
      op.catch(() => {});
    }
    for (let i = 0; i < 3; i++) io.read(p[0], Buffer.alloc(8)).catch(() => {}); // never complete
    parentPort.postMessage('submitted');
    if (workerData.exit) setTimeout(() => process.exit(0), workerData.delay);
  `;

  it('terminating Workers with operations in flight (pipes included) leaves the parent healthy', () => {
    const dir = tmpDir();
    const file = join(dir, 'data');
    writeFileSync(file, Buffer.alloc(64 * 4096));
    const workerPath = fixture(worker, 'worker.mjs');
    const r = runChild(
      `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      const { ThreadpoolIo } = await import(${JSON.stringify(moduleUrl())});
      const { native } = await import(${JSON.stringify(nativeUrl())});
      const fds = () => readdirSync('/proc/self/fd').length;
      const base = fds();
      for (let round = 0; round < 12; round++) {
        const w = new Worker(${JSON.stringify(workerPath)}, {
          execArgv: [],
          workerData: { url: ${JSON.stringify(moduleUrl())}, nativeUrl: ${JSON.stringify(nativeUrl())}, file: ${JSON.stringify(file)}, exit: round % 3 === 2, delay: round % 5 },
        });
        await new Promise((res) => w.once('message', res));
        await new Promise((res) => setTimeout(res, round % 4));
        await w.terminate();
      }
      // The parent's own backend still works.
      const io = ThreadpoolIo.create();
      const { openSync, closeSync } = await import('node:fs');
      const fd = openSync(${JSON.stringify(file)}, 'r');
      const n = await io.read(fd, Buffer.alloc(100), { position: 0 });
      io.close();
      closeSync(fd);
      await new Promise((res) => setTimeout(res, 50));
      console.log(JSON.stringify({ n, fdDrift: fds() - base, pinned: native.debug_counters().pinnedOps }));
    `,
      { timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    // Each worker leaked its own pipe (2 fds, not ours to close) and file fd.
    const out = JSON.parse(r.stdout) as { n: number; fdDrift: number; pinned: number };
    expect(out.n).toBe(100);
    expect(out.pinned).toBe(0);
    expect(out.fdDrift).toBeLessThanOrEqual(12 * 3);
  }, 150_000);
});

describe('ThreadpoolIo: bad input', () => {
  it('create(): options', () => {
    expect(caught(() => new (ThreadpoolIo as unknown as new () => unknown)()).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    expectArgError(() => ThreadpoolIo.create(bad(5)), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => ThreadpoolIo.create(bad(null)), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => ThreadpoolIo.create(bad({ capacity: '4' })), 'ERR_INVALID_ARG_TYPE', 'options.capacity');
    for (const c of [0, -1, 1.5, NaN, 65537, Infinity]) expectArgError(() => ThreadpoolIo.create({ capacity: c }), 'ERR_OUT_OF_RANGE', 'options.capacity');
    expectArgError(() => ThreadpoolIo.create(bad({ capacity: 4, depth: 3 })), 'ERR_INVALID_ARG_VALUE', 'options.depth');
    ThreadpoolIo.create({ capacity: 65536 }).close();
  });

  it('operations: fds, buffers, ranges, positions, signals', () => {
    const io = backend();
    const fd = openFile(tmpFile('abc'));
    const b = Buffer.alloc(8);
    expectArgError(() => io.read(bad('3'), b), 'ERR_INVALID_ARG_TYPE', 'fd');
    expectArgError(() => io.read(-1, b), 'ERR_OUT_OF_RANGE', 'fd');
    expectArgError(() => io.read(fd, bad('x')), 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectArgError(() => io.read(fd, b, { length: 9 }), 'ERR_OUT_OF_RANGE', 'length');
    expectArgError(() => io.read(fd, b, { offset: 4, length: 5 }), 'ERR_OUT_OF_RANGE', 'length');
    expectArgError(() => io.write(fd, b, { offset: 9 }), 'ERR_OUT_OF_RANGE', 'offset');
    expectArgError(() => io.read(fd, b, { position: -2 }), 'ERR_OUT_OF_RANGE', 'options.position');
    expectArgError(() => io.write(fd, b, { position: -5n }), 'ERR_OUT_OF_RANGE', 'options.position');
    expectArgError(() => io.read(fd, b, { position: 1.5 }), 'ERR_OUT_OF_RANGE', 'options.position');
    expectArgError(() => io.read(fd, b, { position: bad('0') }), 'ERR_INVALID_ARG_TYPE', 'options.position');
    expectArgError(() => io.read(fd, b, bad('opts')), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => io.read(fd, b, { signal: bad({}) }), 'ERR_INVALID_ARG_TYPE', 'options.signal');
    expectArgError(() => io.readv(fd, bad(b)), 'ERR_INVALID_ARG_TYPE', 'buffers');
    expectArgError(() => io.readv(fd, []), 'ERR_OUT_OF_RANGE', 'buffers.length');
    expectArgError(() => io.writev(fd, bad([b, 'x'])), 'ERR_INVALID_ARG_TYPE', 'buffers[1]');
    expectArgError(() => io.writev(fd, new Array(1025).fill(b)), 'ERR_OUT_OF_RANGE', 'buffers.length');
    expectArgError(() => io.readv(fd, [b], { position: -3 }), 'ERR_OUT_OF_RANGE', 'options.position');
    expectArgError(() => io.fsync(bad(null)), 'ERR_INVALID_ARG_TYPE', 'fd');
    expect(io.pending).toBe(0);
  });

  it('a closed fd rejects with EBADF from the pool thread', async () => {
    const io = backend();
    const fd = closedFd();
    // Each rejection is caught as it is made: awaited one by one, a later
    // one could settle first and be reported as unhandled meanwhile.
    const caughtNow = (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);
    for (const [p, syscall] of [
      [caughtNow(io.read(fd, Buffer.alloc(1))), 'threadpool:read'],
      [caughtNow(io.write(fd, Buffer.alloc(1), { position: 0 })), 'threadpool:write'],
      [caughtNow(io.readv(fd, [Buffer.alloc(1)], { position: 0 })), 'threadpool:readv'],
      [caughtNow(io.writev(fd, [Buffer.alloc(1)])), 'threadpool:writev'],
      [caughtNow(io.fsync(fd)), 'threadpool:fsync'],
      [caughtNow(io.fdatasync(fd)), 'threadpool:fdatasync'],
    ] as const) {
      const err = await p;
      expect(err).toBeInstanceOf(IoError);
      expect(err).toMatchObject({ code: 'EBADF', errno: errno.EBADF, syscall, fd });
    }
    // A read from a write-only fd, a write to a directory: the syscall's own errors.
    const wo = openFile(tmpFile(), 'w');
    await expect(io.read(wo, Buffer.alloc(1), { position: 0 })).rejects.toMatchObject({ code: 'EBADF' });
    const dir = openFile(tmpDir(), 'r');
    await expect(io.read(dir, Buffer.alloc(1), { position: 0 })).rejects.toMatchObject({ code: 'EISDIR' });
    expect(fstatSync(dir).isDirectory()).toBe(true);
  });

  it('the native object validates on its own', () => {
    const io = new native.ThreadpoolIo();
    expect(io.read(0, 0, new Uint8Array(1), 0, 1, 0)).toBe(-errno.EBADF); // not open
    expect(io.open(2)).toBe(0);
    onTestFinished(() => void io.close(0));
    expect(io.open(2)).toBe(-errno.EALREADY);
    expect(io.eventfd).toBeGreaterThan(2);
    // The eventfd is owned: a plain close is refused.
    expect(native.close(io.eventfd)).toBe(-errno.EBUSY);
    expect(caught(() => io.read(2, 0, new Uint8Array(1), 0, 1, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => io.read(0, 0, new Uint8Array(1), 0, 2, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => io.read(0, 0, new Uint8Array(1), 0, 1, -2)).code).toBe('ERR_OUT_OF_RANGE');
    expect(io.cancel(1)).toBe(-errno.ENOENT);
    const [r] = pipePair();
    expect(io.read(0, r, new Uint8Array(1), 0, 1, -1)).toBe(0);
    expect(io.read(0, r, new Uint8Array(1), 0, 1, -1)).toBe(-errno.EBUSY);
    expect(io.cancel(0)).toBe(0);
    expect(caught(() => io.cancel(7)).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => native.ThreadpoolIo.prototype.open.call({}, 1)).code).toBe('ERR_INVALID_THIS');
    expect(caught(() => (native.ThreadpoolIo as unknown as () => void)()).code).toBe('ERR_CONSTRUCT_CALL_REQUIRED');
    expect(io.close(2000)).toBe(0);
    expect(io.eventfd).toBe(-1);
    expect(io.reap(new Float64Array(4))).toBe(0);
  });
});

describe('ThreadpoolIo: syscalls (strace)', () => {
  it('pool threads make pread64, pwrite64, preadv, pwritev, read, write, readv, writev, fsync and fdatasync', () => {
    if (spawnSync('strace', ['-V']).status !== 0 && mayskip('strace is not installed')) return;
    const dir = tmpDir();
    const file = join(dir, 'data');
    writeFileSync(file, Buffer.alloc(4096, 0x61));
    const script = fixture(
      `
      import { openSync } from 'node:fs';
      const { ThreadpoolIo } = await import(${JSON.stringify(moduleUrl())});
      const io = ThreadpoolIo.create();
      const fd = openSync(${JSON.stringify(file)}, 'r+');
      const b = Buffer.alloc(7);
      await io.read(fd, b, { position: 11 });
      await io.write(fd, Buffer.alloc(13), { position: 17 });
      await io.readv(fd, [b, Buffer.alloc(19)], { position: 23 });
      await io.writev(fd, [Buffer.alloc(29), Buffer.alloc(31)], { position: 37 });
      await io.read(fd, Buffer.alloc(41));
      await io.write(fd, Buffer.alloc(43));
      await io.readv(fd, [Buffer.alloc(47)]);
      await io.writev(fd, [Buffer.alloc(53)]);
      await io.fsync(fd);
      await io.fdatasync(fd);
      io.close();
      console.log(JSON.stringify({ pid: process.pid, fd }));
    `,
      'strace-child.mjs',
    );
    const trace = join(dir, 'trace');
    const r = spawnSync(
      'strace',
      ['-f', '-qq', '-o', trace, '-e', 'trace=pread64,pwrite64,preadv,pwritev,read,write,readv,writev,fsync,fdatasync', process.execPath, script],
      { encoding: 'utf8', timeout: 60_000, env: process.env },
    );
    expect(r.status, r.stderr).toBe(0);
    const { pid, fd } = JSON.parse(r.stdout) as { pid: number; fd: number };
    // One entry per call: a call another thread interrupted in the trace
    // ("<unfinished ...>", later "<... fsync resumed>") is joined again.
    const calls: [number, string][] = [];
    const open = new Map<number, string>();
    for (const line of readFileSync(trace, 'utf8').split('\n')) {
      const m = /^(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const tid = Number(m[1]);
      const text = m[2]!;
      if (text.endsWith('<unfinished ...>')) open.set(tid, text.slice(0, -'<unfinished ...>'.length));
      else if (text.startsWith('<... ')) {
        calls.push([tid, (open.get(tid) ?? '') + text.replace(/^<\.\.\. \w+ resumed>/, '')]);
        open.delete(tid);
      } else calls.push([tid, text]);
    }
    const on = (re: RegExp): number[] => calls.flatMap(([tid, text]) => (re.test(text.replace(/\s+/g, ' ').replace(/ \)/g, ')')) ? [tid] : []));
    const expected: [string, RegExp][] = [
      ['pread64', new RegExp(`^pread64\\(${fd}, .*, 7, 11\\) += 7`)],
      ['pwrite64', new RegExp(`^pwrite64\\(${fd}, .*, 13, 17\\) += 13`)],
      ['preadv', new RegExp(`^preadv\\(${fd}, .*, 2, 23\\) += 26`)],
      ['pwritev', new RegExp(`^pwritev\\(${fd}, .*, 2, 37\\) += 60`)],
      ['read', new RegExp(`^read\\(${fd}, .*, 41\\) += 41`)],
      ['write', new RegExp(`^write\\(${fd}, .*, 43\\) += 43`)],
      ['readv', new RegExp(`^readv\\(${fd}, .*, 1\\) += 47`)],
      ['writev', new RegExp(`^writev\\(${fd}, .*, 1\\) += 53`)],
      ['fsync', new RegExp(`^fsync\\(${fd}\\) += 0`)],
      ['fdatasync', new RegExp(`^fdatasync\\(${fd}\\) += 0`)],
    ];
    for (const [name, re] of expected) {
      const tids = on(re);
      expect(tids, `${name} on fd ${fd}`).toHaveLength(1);
      // Made by a pool thread, never by the main thread.
      expect(tids[0], `${name}'s thread`).not.toBe(pid);
    }
  });
});
