/**
 * The native boundary under hostile JavaScript: one test per defect the
 * boundary review reproduced (issue 6), each calling the raw bindings (the
 * TypeScript checks bypassed) or the façade with values built to break it.
 * Anything that could crash runs in a child process, which must exit
 * cleanly: no signal, and every error carries a `code`.
 */
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Epoll, close, debugCounters, pipe, poll, read, readv, socket, socketpair, write } from '../lib/index.js';
import { native } from '../lib/native.js';
import { autoClose, bad, caught, distEntry, expectArgError, expectIoError, runChild, tmpFile } from './helpers/index.js';

const { errno } = osConstants;

/** ES2024's resizable ArrayBuffer (Node 20 has it; the ES2022 lib types do not). */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (
  length: number,
  options: { maxByteLength: number },
) => ArrayBuffer & { resize(length: number): void };

/** The compiled native.js (what lib/native.ts becomes), for children. */
function distNative(): string {
  return JSON.stringify(new URL('native.js', distEntry()).href);
}

/** Runs `code` in a child Node with --expose-gc; asserts it exited 0 without a signal, and returns its last stdout line as JSON. */
function child(code: string): unknown {
  const r = runChild(code, { timeout: 60_000, execArgv: ['--expose-gc'] });
  const shown = `status ${r.status}, signal ${r.signal}\n${r.stderr}`;
  expect(r.signal, shown).toBeNull();
  expect(r.status, shown).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

describe('vectored I/O reads each array element once (defect 1)', () => {
  it("readv: a getter that detaches an earlier element's buffer cannot make the kernel write into freed memory", () => {
    const out = child(`
      const { native } = await import(${distNative()});
      const { pipe, write, readv } = await import(${JSON.stringify(distEntry())});
      const results = {};
      // Through the façade, the issue's reproduction: the getter detaches on its second read.
      {
        const [r, w] = pipe();
        write(w, Buffer.alloc(1024, 0x41));
        const big = new Uint8Array(1024);
        let reads = 0;
        const arr = [big];
        Object.defineProperty(arr, 1, { get() { if (++reads === 2) { structuredClone(big.buffer, { transfer: [big.buffer] }); gc(); gc(); } return new Uint8Array(8); } });
        results.facade = { n: readv(r, arr), reads, big: big.byteLength, filled: big.every((b) => b === 0x41) };
      }
      // Straight into the binding: the getter detaches element 0 at its first read.
      {
        const [r, w] = pipe();
        write(w, Buffer.alloc(1024, 0x42));
        const big = new Uint8Array(1024);
        const small = new Uint8Array(8);
        const arr = [big];
        Object.defineProperty(arr, 1, { get() { structuredClone(big.buffer, { transfer: [big.buffer] }); gc(); gc(); return small; } });
        results.binding = { n: native.readv(r, arr), big: big.byteLength, small: [...small] };
        // The rest of the pipe's bytes are still there: only 8 were taken.
        const rest = Buffer.alloc(2048);
        results.left = native.read(r, rest, 0, 2048);
      }
      // The heap is intact: allocate and collect a good deal.
      for (let i = 0; i < 2000; i++) Buffer.alloc(64 * ((i % 64) + 1)).fill(i);
      gc();
      console.log(JSON.stringify(results));
    `);
    expect(out).toEqual({
      facade: { n: 1024, reads: 1, big: 1024, filled: true },
      binding: { n: 8, big: 0, small: [0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42] },
      left: 1016,
    });
  });

  it('writev: a getter that detaches an earlier element sends only the bytes still attached', () => {
    const out = child(`
      const { native } = await import(${distNative()});
      const { pipe } = await import(${JSON.stringify(distEntry())});
      const [r, w] = pipe();
      const first = new Uint8Array(4096).fill(0x61);
      const arr = [first];
      Object.defineProperty(arr, 1, { get() { structuredClone(first.buffer, { transfer: [first.buffer] }); gc(); return Buffer.from('tail'); } });
      const n = native.writev(w, arr);
      const got = Buffer.alloc(8192);
      const m = native.read(r, got, 0, 8192);
      for (let i = 0; i < 2000; i++) Buffer.alloc(64 * ((i % 64) + 1)).fill(i);
      gc();
      console.log(JSON.stringify({ n, got: got.toString('latin1', 0, m) }));
    `);
    expect(out).toEqual({ n: 4, got: 'tail' });
  });

  it('the façade hands the binding a copy: a Proxy array is read once per element', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('abcdef'));
    const a = Buffer.alloc(3);
    const b = Buffer.alloc(3);
    const reads: PropertyKey[] = [];
    const proxy = new Proxy([a, b], {
      get(target, key, receiver) {
        if (key === '0' || key === '1') reads.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(readv(r, proxy)).toBe(6);
    expect(reads).toEqual(['0', '1']);
    expect(`${a}${b}`).toBe('abcdef');
  });
});

describe("select's binding copies the fd lists before checking them (defect 2)", () => {
  it('an out array that overlays a later fd of the same list cannot turn it into an fd past FD_SETSIZE', () => {
    const out = child(`
      const { native } = await import(${distNative()});
      const { pipe, write } = await import(${JSON.stringify(distEntry())});
      const [r, w] = pipe();
      write(w, Buffer.from('x'));
      const lists = new Int32Array([r, r, r]);
      // out[0] is the high byte of lists[1]: writing 1 there made lists[1]
      // r + 2**24 before FD_ISSET read it again.
      const out = new Uint8Array(lists.buffer, 7, 3);
      const n = native.select(lists, new Int32Array(0), new Int32Array(0), 0, out);
      console.log(JSON.stringify({ n, r }));
    `) as { n: number; r: number };
    // One fd, three times in one set: select counts it once.
    expect(out.n).toBe(1);
  });

  it('refuses an fd at or beyond FD_SETSIZE in any list, whatever the TypeScript layer did', () => {
    const none = new Int32Array(0);
    for (const fd of [-1, 1024, 2 ** 31 - 1]) {
      expectArgError(() => native.select(new Int32Array([fd]), none, none, 0, new Uint8Array(1)), 'ERR_OUT_OF_RANGE');
      expectArgError(() => native.select(none, none, new Int32Array([0, fd]), 0, new Uint8Array(2)), 'ERR_OUT_OF_RANGE');
    }
  });
});

describe('integer and string decoders reject instead of wrapping (defect 3)', () => {
  it('close(2**32 + 1) is a RangeError, not close(1): stdout survives', () => {
    const out = child(`
      const { native } = await import(${distNative()});
      const results = [];
      for (const fd of [2 ** 32 + 1, 2 ** 32, NaN, Infinity, -Infinity, 1.5, 2 ** 53]) {
        try { results.push(native.close(fd)); } catch (e) { results.push(e.code); }
      }
      // fd 1 is still open: fcntl answers, and this line reaches the parent.
      console.log(JSON.stringify({ results, stdout: native.fcntl_getfl(1) >= 0 }));
    `);
    expect(out).toEqual({ results: Array(7).fill('ERR_OUT_OF_RANGE'), stdout: true });
  });

  it('NaN and ±Infinity are no longer fd 0', () => {
    for (const fd of [NaN, Infinity, -Infinity]) expectArgError(() => native.fcntl_getfl(fd), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.fcntl_getfl(bad(1n)), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.fcntl_getfl(bad('1')), 'ERR_INVALID_ARG_TYPE');
  });

  it('a port beyond 65535 is a RangeError, not port 0', () => {
    const [fd] = autoClose(socket('tcp4'));
    for (const port of [2 ** 20, 65536, -1, 2 ** 32, NaN]) {
      expectArgError(() => native.bind(fd, native.constants.AF_INET!, '127.0.0.1', port), 'ERR_OUT_OF_RANGE');
    }
  });

  it('setrlimit refuses NaN, negative and fractional limits (casting them to rlim_t is undefined behaviour)', () => {
    const resource = native.constants.RLIMIT_NOFILE!;
    const out = new Float64Array(2);
    expect(native.getrlimit(resource, out)).toBe(0);
    const [soft, hard] = out;
    for (const value of [NaN, -0.5, -1, 0.5, -Infinity, 2 ** 64]) {
      expectArgError(() => native.setrlimit(resource, value, hard!), 'ERR_OUT_OF_RANGE');
      expectArgError(() => native.setrlimit(resource, soft!, value), 'ERR_OUT_OF_RANGE');
    }
    expect(native.getrlimit(resource, out)).toBe(0);
    expect([...out]).toEqual([soft, hard]);
  });

  it('open and statx refuse a path with an embedded NUL instead of using its prefix', () => {
    const path = tmpFile('data');
    expectArgError(() => native.open(`${path}\0ignored`, 0, 0), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => native.statx(-100, `${path}\0ignored`, 0, 0, new Uint8Array(512)), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => native.bind(0, native.constants.AF_INET!, '127.0.0.1\0junk', 0), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => native.bind(0, native.constants.AF_UNIX!, '/tmp/a\0b', 0), 'ERR_INVALID_ARG_VALUE');
  });
});

describe('a watcher never lets libuv abort on a closed fd (defect 4)', () => {
  it('close(epoll.fd) is refused with EBUSY: the Epoll owns it', async () => {
    const ep = Epoll.create();
    const fd = ep.fd;
    const err = expectIoError(() => close(fd), 'EBUSY', 'close', fd);
    expect(err.message).toMatch(/owns this fd: close that object instead/);
    const [r, w] = autoClose(...pipe());
    ep.add(r, Epoll.IN);
    write(w, Buffer.from('x'));
    expect(await ep.waitAsync(5000)).toHaveLength(1);
    ep.close();
  });

  it('watch() after the epoll fd was closed behind its back gives EBADF, not SIGABRT', () => {
    const out = child(`
      import { closeSync } from 'node:fs';
      const { Epoll } = await import(${JSON.stringify(distEntry())});
      const results = {};
      // Closed before the first watch.
      {
        const ep = Epoll.create();
        closeSync(ep.fd);
        try { ep.watch(() => {}); results.fresh = 'no error'; } catch (e) { results.fresh = e.code; }
      }
      // Watched, stopped, closed, watched again: the old watcher restarts on its own duplicate.
      {
        const ep = Epoll.create();
        const stop = ep.watch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 10));
        stop();
        closeSync(ep.fd);
        results.again = await ep.waitAsync(200).then(() => 'resolved', (e) => e.code);
      }
      // Closed in the same tick as the watch started.
      {
        const ep = Epoll.create();
        ep.watch(() => {});
        closeSync(ep.fd);
        await new Promise((resolve) => setTimeout(resolve, 50));
        results.sameTick = 'survived';
      }
      console.log(JSON.stringify(results));
      process.exit(0);
    `);
    expect(out).toEqual({ fresh: 'EBADF', again: 'resolved', sameTick: 'survived' });
  });

  it('the raw Watcher: open on a closed fd is -EBADF; closing the fd while started is harmless', () => {
    const out = child(`
      const { native } = await import(${distNative()});
      const { pipe, close, write } = await import(${JSON.stringify(distEntry())});
      const [r, w] = pipe();
      close(r);
      const dead = new native.Watcher(() => {});
      const openDead = dead.open(r);
      dead.close();
      const [r2, w2] = pipe();
      let calls = 0;
      const live = new native.Watcher(() => { calls++; });
      const opened = live.open(r2);
      const started = live.start(native.constants.UV_READABLE);
      close(r2);  // the caller's fd goes; the watcher's duplicate stays
      write(w2, Buffer.from('x'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      live.close();
      close(w); close(w2);
      console.log(JSON.stringify({ openDead, opened, started, called: calls > 0 }));
    `);
    expect(out).toEqual({ openDead: -errno.EBADF, opened: 0, started: 0, called: true });
  });
});

describe('every error iomodes throws has a code (defect 6)', () => {
  it('read into a DataView over a detached or shrunk resizable buffer', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('x'));
    const detached = new ArrayBuffer(8);
    const view = new DataView(detached);
    structuredClone(detached, { transfer: [detached] });
    expectArgError(() => read(r, view), 'ERR_INVALID_ARG_VALUE', 'buffer');
    const resizable = new ResizableArrayBuffer(16, { maxByteLength: 64 });
    const shrunk = new DataView(resizable, 8, 8);
    resizable.resize(4);
    expectArgError(() => read(r, shrunk), 'ERR_INVALID_ARG_VALUE', 'buffer');
    // The byte is still there for a good buffer.
    expect(read(r, Buffer.alloc(4))).toBe(1);
  });

  it('new Epoll() is ERR_ILLEGAL_CONSTRUCTOR', () => {
    const err = caught(() => new (Epoll as unknown as new () => unknown)());
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    expect(err.message).toMatch(/Epoll\.create\(\)/);
  });

  it('poll on a huge (sparse) array is ERR_OUT_OF_RANGE, not a failed allocation', () => {
    const huge: unknown[] = [];
    huge.length = 2 ** 31;
    expectArgError(() => poll(huge as never), 'ERR_OUT_OF_RANGE', 'entries.length');
  });

  it('the raw Watcher: a foreign receiver or a missing `new` throws with a code', () => {
    const w = new native.Watcher(() => {});
    const proto = native.Watcher.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ['open', 'start', 'stop', 'ref', 'unref', 'hasRef', 'close']) {
      for (const receiver of [{}, undefined, 1, Object.create(proto)]) {
        expect(caught(() => proto[method]!.call(receiver, 0)).code, method).toBe('ERR_INVALID_THIS');
      }
    }
    expect(caught(() => (native.Watcher as unknown as () => unknown)()).code).toBe('ERR_CONSTRUCT_CALL_REQUIRED');
    w.close();
  });

  it('a native class method acts on its own receiver: the receiver cache (wrap.h) never mixes objects up, nor outlives them', () => {
    const native = distEntry().replace(/index\.js$/, 'native.js');
    const r = runChild(
      `
      import { native } from ${JSON.stringify(native)};
      const fd = Object.getOwnPropertyDescriptor(native.Ring.prototype, 'fd').get;
      const make = (n) => Array.from({ length: n }, () => {
        const ring = new native.Ring();
        if (ring.open(2, 0, 0, 0, -1, 0) !== 0) throw new Error('open');
        return ring;
      });
      const check = (rings) => {
        // More receivers than the cache holds, in a shuffled order: each call
        // must read its own ring's fd.
        const fds = rings.map((ring) => ring.fd);
        if (new Set(fds).size !== rings.length) throw new Error('fds not distinct');
        for (let k = 0; k < 2000; k++) {
          const i = (k * 7919) % rings.length;
          if (rings[i].fd !== fds[i]) throw new Error('ring ' + i + ' read another ring');
          if (rings[0].fd !== fds[0]) throw new Error('ring 0 read another ring');
        }
        // Right after a hit, a foreign receiver is still refused.
        for (const other of [{}, Object.create(native.Ring.prototype), new native.PosixAio(), new native.Watcher(() => {})]) {
          try {
            fd.call(other);
            throw new Error('a foreign receiver passed');
          } catch (err) {
            if (err.code !== 'ERR_INVALID_THIS') throw err;
          }
        }
        for (const ring of rings) ring.close();
      };
      check(make(20));
      // Rings collected, their cached references with them: new objects,
      // maybe at the same addresses, are checked afresh.
      for (let round = 0; round < 5; round++) {
        globalThis.gc();
        await new Promise((res) => setImmediate(res));
        check(make(3 + round * 4));
      }
      console.log('ok');
    `,
      { execArgv: ['--expose-gc'], timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });
});

describe('defects the fuzz test found', () => {
  it('io_uring_setup refuses IORING_SETUP_NO_MMAP: the kernel would use any caller address as the rings', () => {
    const params = new Uint8Array(native.constants.sizeof_io_uring_params!);
    const view = new DataView(params.buffer);
    for (const bit of [14, 15, 20, 31]) {
      view.setUint32(native.constants.offsetof_io_uring_params_flags!, 2 ** bit, true);
      expectArgError(() => native.io_uring_setup(1, params), 'ERR_INVALID_ARG_VALUE');
    }
    // A flag that keeps the rings in kernel memory still reaches the kernel.
    view.setUint32(native.constants.offsetof_io_uring_params_flags!, 1 << 4 /* IORING_SETUP_CLAMP */, true);
    const fd = native.io_uring_setup(1, params);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(native.close(fd)).toBe(0);
  });

  it("a view's byte length is its element count times its element size, for every element type this Node has", () => {
    const [a, b] = autoClose(...socketpair());
    void b;
    const types: { new (n: number): ArrayBufferView; BYTES_PER_ELEMENT: number; name: string }[] = [
      Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
    ];
    // Node 24 has Float16Array, which Node-API reports as a type Node 20's headers do not name.
    const float16 = (globalThis as { Float16Array?: (typeof types)[number] }).Float16Array;
    if (float16 !== undefined) types.push(float16);
    for (const T of types) {
      // getsockopt needs exactly 4 bytes: enough in every element type.
      expect(native.getsockopt(a, native.constants.SOL_SOCKET!, native.constants.SO_TYPE!, new T(4 / Math.min(4, T.BYTES_PER_ELEMENT)) as never), T.name).toBe(0);
      expectArgError(() => native.read(a, new T(2), 0, 2 * T.BYTES_PER_ELEMENT + 1), 'ERR_OUT_OF_RANGE');
    }
  });
});

describe('owned fds', () => {
  it('fd_close_owned closes only the fd and generation fd_own gave; a stale pair is -EBADF', () => {
    const [r, w] = pipe();
    autoClose(w);
    const base = debugCounters().ownedFds;
    const stale = native.fd_own(r);
    expect(stale).toBeGreaterThan(0);
    // Owning a number again (the kernel reused it after a close behind our
    // back) replaces the stale entry: its owner can no longer close it.
    const generation = native.fd_own(r);
    expect(generation).toBeGreaterThan(stale);
    expect(debugCounters().ownedFds).toBe(base + 1);
    expect(native.fd_close_owned(r, stale)).toBe(-errno.EBADF);
    expect(native.close(r)).toBe(-errno.EBUSY);
    expect(native.fd_close_owned(r, generation + 1)).toBe(-errno.EBADF);
    expect(native.fd_close_owned(r, generation)).toBe(0);
    expect(native.fd_close_owned(r, generation)).toBe(-errno.EBADF);
    expect(debugCounters().ownedFds).toBe(base);
    expect(native.fcntl_getfl(r)).toBe(-errno.EBADF);
    const gone = r;
    expect(native.fd_own(gone)).toBe(-errno.EBADF);
    expectArgError(() => native.fd_close_owned(0, 0), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.fd_close_owned(0, NaN), 'ERR_OUT_OF_RANGE');
  });
});

describe('debug_leak_check (for scripts/test-lsan.sh)', () => {
  it('runs LeakSanitizer when the ASan runtime is in the process, and says ENOSYS when it is not', () => {
    const withAsan = /libasan/.test(process.env.LD_PRELOAD ?? '');
    const r = native.debug_leak_check();
    // With the runtime: 0 or 1 (leaks found; detect_leaks=0 makes it 0).
    if (withAsan) expect([0, 1]).toContain(r);
    else expect(r).toBe(-osConstants.errno.ENOSYS);
    // A child without the runtime (and so with the plain build), whatever
    // this process has.
    const child = runChild(`import { native } from ${JSON.stringify(new URL('native.js', distEntry()).href)}; console.log(native.debug_leak_check());`, { env: { LD_PRELOAD: '', IOMODES_ADDON: '' } });
    expect(child.stderr).toBe('');
    expect(Number(child.stdout)).toBe(-osConstants.errno.ENOSYS);
  });
});
