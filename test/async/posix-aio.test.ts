import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PosixAio } from '../../lib/async/posix-aio.js';
import { native } from '../../lib/native.js';
import { bad, closedFd, distEntry, mayskip, runChild, tmpDir, tmpFile } from '../helpers/index.js';

const gc = (globalThis as { gc?: () => void }).gc!;
const openFds = (): number => readdirSync('/proc/self/fd').length;
const threads = (): number => readdirSync('/proc/self/task').length;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function pipe(): [number, number] {
  const fds = new Int32Array(2);
  expect(native.pipe2(native.constants.O_CLOEXEC!, fds)).toBe(0);
  return [fds[0]!, fds[1]!];
}

const opened: PosixAio[] = [];
const fds: number[] = [];
function create(options?: Parameters<typeof PosixAio.create>[0]): PosixAio {
  const io = PosixAio.create(options);
  opened.push(io);
  return io;
}
function open(path: string, flags = 'r+'): number {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
}

afterEach(() => {
  for (const io of opened.splice(0)) io.close();
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
  }
});

async function settled(): Promise<void> {
  // A few turns, so closed watchers finish closing.
  for (let k = 0; k < 3; k++) await new Promise((resolve) => setImmediate(resolve));
}

describe('PosixAio', () => {
  it('reads and writes a file, and says which backend it is', async () => {
    const io = create();
    expect(io.backend).toBe('posix-aio');
    const fd = open(tmpFile('hello, posix aio'));
    const buf = Buffer.alloc(64);
    expect(await io.read(fd, buf, { position: 7 })).toBe(9);
    expect(buf.subarray(0, 9).toString()).toBe('posix aio');
    expect(await io.write(fd, Buffer.from('HELLO'), { position: 0n })).toBe(5);
    expect(await io.read(fd, buf, { position: 0, offset: 10, length: 5 })).toBe(5);
    expect(buf.subarray(10, 15).toString()).toBe('HELLO');
    expect(io.pending).toBe(0);
  });

  it('keeps 10,000 concurrent random-offset writes of random data intact', async () => {
    const io = create();
    const path = join(tmpDir(), 'integrity');
    const blocks = 10_000;
    const size = 512;
    writeFileSync(path, Buffer.alloc(blocks * size));
    const fd = open(path);
    const data = randomBytes(blocks * size);
    const order = Array.from({ length: blocks }, (_, i) => i).sort(() => Math.random() - 0.5);
    const written = await Promise.all(order.map((i) => io.write(fd, data.subarray(i * size, (i + 1) * size), { position: i * size })));
    expect(written.every((n) => n === size)).toBe(true);
    expect(sha(readFileSync(path))).toBe(sha(data));
    // And back through POSIX AIO: 10,000 concurrent reads.
    const back = Buffer.alloc(blocks * size);
    const read = await Promise.all(order.map((i) => io.read(fd, back.subarray(i * size, (i + 1) * size), { position: i * size })));
    expect(read.every((n) => n === size)).toBe(true);
    expect(sha(back)).toBe(sha(data));
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('returns a short read at end of file, and 0 past it', async () => {
    const io = create();
    const fd = open(tmpFile('0123456789'));
    const buf = Buffer.alloc(16, 0xee);
    expect(await io.read(fd, buf, { position: 6 })).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe('6789');
    expect(buf[4]).toBe(0xee);
    expect(await io.read(fd, buf, { position: 10 })).toBe(0);
    expect(await io.read(fd, buf, { position: 1000 })).toBe(0);
  });

  it('gathers writev into one write and scatters readv on completion', async () => {
    const io = create();
    const path = tmpFile('');
    const fd = open(path);
    expect(await io.writev(fd, [Buffer.from('ab'), Buffer.from(''), Buffer.from('cdef')], { position: 2 })).toBe(6);
    expect(readFileSync(path).subarray(2).toString()).toBe('abcdef');
    const a = Buffer.alloc(3);
    const b = Buffer.alloc(0);
    const c = Buffer.alloc(10, 0xee);
    expect(await io.readv(fd, [a, b, c], { position: 2 })).toBe(6);
    expect(a.toString()).toBe('abc');
    expect(c.subarray(0, 3).toString()).toBe('def');
    expect(c[3]).toBe(0xee);
    expect(await io.readv(fd, [], { position: 0 })).toBe(0);
  });

  it('fsyncs and fdatasyncs after writes started in the same turn', async () => {
    const io = create();
    const path = tmpFile('');
    const fd = open(path);
    const w = io.write(fd, Buffer.from('durable'), { position: 0 });
    const s = io.fsync(fd);
    const d = io.fdatasync(fd);
    expect(await w).toBe(7);
    await expect(s).resolves.toBeUndefined();
    await expect(d).resolves.toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('durable');
  });

  it('fsyncs a read-only fd, as fsync(2) does', async () => {
    const io = create();
    const fd = open(tmpFile('x'), 'r');
    await expect(io.fsync(fd)).resolves.toBeUndefined();
  });

  it('works on a pipe: glibc falls back from pread/pwrite to read/write on ESPIPE, ignoring the position', async () => {
    const io = create();
    const [r, w] = pipe();
    fds.push(r, w);
    const buf = Buffer.alloc(32);
    const reading = io.read(r, buf, { position: 0 });
    expect(await io.write(w, Buffer.from('through a pipe'), { position: 12345 })).toBe(14);
    expect(await reading).toBe(14);
    expect(buf.subarray(0, 14).toString()).toBe('through a pipe');
  });

  it('settles each of many operations exactly once when some are aborted at random', async () => {
    const io = create({ capacity: 64 });
    const path = tmpFile(Buffer.alloc(64 * 1024, 0x61));
    const fd = open(path);
    const outcomes: string[] = [];
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const ac = new AbortController();
      let count = 0;
      const p = io
        .read(fd, Buffer.alloc(512), { position: (i % 128) * 512, signal: ac.signal })
        .then(
          (n) => {
            count++;
            outcomes[i] = n === 512 ? 'ok' : `short ${n}`;
          },
          (e: Error & { code?: string }) => {
            count++;
            outcomes[i] = e.code === 'ABORT_ERR' ? 'aborted' : `error ${e.code}`;
          },
        )
        .then(() => expect(count).toBe(1));
      ps.push(p);
      const when = Math.random();
      if (when < 0.2) ac.abort();
      else if (when < 0.4) queueMicrotask(() => ac.abort());
      else if (when < 0.5) setImmediate(() => ac.abort());
    }
    await Promise.all(ps);
    const kinds = new Set(outcomes);
    expect([...kinds].every((k) => k === 'ok' || k === 'aborted'), [...kinds].join()).toBe(true);
    expect(outcomes.filter((k) => k === 'aborted').length).toBeGreaterThan(0);
    expect(outcomes.filter((k) => k === 'ok').length).toBeGreaterThan(0);
    expect(io.pending).toBe(0);
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('lets an operation glibc already holds run to its end when aborted, and withdraws one not yet submitted', async () => {
    const io = create();
    const [r, w] = pipe();
    fds.push(r, w);
    // glibc runs one request per fd at a time: the second read waits behind
    // the first, blocked on the empty pipe. aio_cancel of it could stall
    // the fd's queue in glibc, so an abort does not take it back.
    const first = io.read(r, Buffer.alloc(8), { position: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ac = new AbortController();
    const second = io.read(r, Buffer.alloc(8), { position: 0, signal: ac.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    ac.abort(new Error('no longer wanted'));
    const early = new AbortController();
    const withdrawn = io.read(r, Buffer.alloc(8), { position: 0, signal: early.signal });
    early.abort();
    await expect(withdrawn).rejects.toMatchObject({ code: 'ABORT_ERR' });
    writeFileSync(`/proc/self/fd/${w}`, 'go');
    expect(await first).toBe(2);
    writeFileSync(`/proc/self/fd/${w}`, 'on');
    expect(await second).toBe(2);
  });

  it('queues operations beyond its capacity instead of failing them', async () => {
    const io = create({ capacity: 4 });
    const fd = open(tmpFile(Buffer.alloc(4096, 0x62)));
    const ps = Array.from({ length: 500 }, (_, i) => io.read(fd, Buffer.alloc(8), { position: i }));
    expect(io.pending).toBe(500);
    const results = await Promise.all(ps);
    expect(results.every((n) => n === 8)).toBe(true);
    expect(io.pending).toBe(0);
  });

  it('keeps the data of reads whose buffers were only reachable from the operation through a GC', async () => {
    const io = create();
    const content = randomBytes(4096);
    const fd = open(tmpFile(content));
    const hashes: Promise<string>[] = [];
    for (let i = 0; i < 200; i++) {
      // The buffer is referenced only by the operation until it settles.
      hashes.push((async () => {
        const b = Buffer.alloc(4096);
        const p = io.read(fd, b, { position: 0 });
        return p.then((n) => sha(b.subarray(0, n)));
      })());
    }
    gc();
    gc();
    for (let k = 0; k < 3000; k++) Buffer.alloc(1024, k);
    gc();
    const results = await Promise.all(hashes);
    expect(new Set(results)).toEqual(new Set([sha(content)]));
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('survives a buffer transferred away while its read is in flight', async () => {
    const io = create();
    const [r, w] = pipe();
    fds.push(r, w);
    const buf = new Uint8Array(64);
    const p = io.read(r, buf, { position: 0 });
    const moved = structuredClone(buf.buffer, { transfer: [buf.buffer] });
    gc();
    writeFileSync(`/proc/self/fd/${w}`, 'late bytes');
    await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(new Uint8Array(moved).every((b) => b === 0)).toBe(true);
    // A transfer before submission is caught at the call.
    const b2 = new Uint8Array(16);
    structuredClone(b2.buffer, { transfer: [b2.buffer] });
    await expect(async () => io.read(r, b2, { position: 0, length: 4 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(native.debug_counters().pinnedOps).toBe(0);
  });

  it('settles every operation when closed with some in flight, leaking no fd and no pinned buffer', async () => {
    await settled();
    const fdsBefore = openFds();
    const io = PosixAio.create({ capacity: 8 });
    const file = open(tmpFile(Buffer.alloc(1 << 20)));
    const [r, w] = pipe();
    fds.push(r, w);
    const ps = [
      // Blocked in glibc's worker: not cancellable, leaked at close.
      io.read(r, Buffer.alloc(8), { position: 0 }),
      // Queued behind it on the same fd: cancelled.
      io.read(r, Buffer.alloc(8), { position: 0 }),
      ...Array.from({ length: 40 }, (_, i) => io.read(file, Buffer.alloc(4096), { position: i * 4096 })),
    ];
    await new Promise((resolve) => setTimeout(resolve, 30));
    const outcomes = ps.map((p) => p.then(() => 'ok', (e: Error & { code?: string }) => e.code));
    io.close();
    expect(io.closed).toBe(true);
    io.close(); // idempotent
    const results = await Promise.all(outcomes);
    expect(results.every((x) => x === 'ok' || x === 'ABORT_ERR')).toBe(true);
    expect(results[0]).toBe('ABORT_ERR');
    expect(results[1]).toBe('ABORT_ERR');
    expect(io.leakedOnClose).toBe(1);
    expect(native.debug_counters().pinnedOps).toBe(0);
    // Let the blocked worker finish into leaked memory, then check fds.
    writeFileSync(`/proc/self/fd/${w}`, 'unblock');
    await settled();
    expect(openFds()).toBe(fdsBefore + 3);
  });

  it('refuses a plain close() of its eventfd, and idles without keeping the process alive', () => {
    const code = `
      import { PosixAio } from ${JSON.stringify(new URL('async/posix-aio.js', distEntry()).href)};
      import { native } from ${JSON.stringify(new URL('native.js', distEntry()).href)};
      import { openSync, writeFileSync } from 'node:fs';
      const io = PosixAio.create();
      writeFileSync('/tmp/iomodes-posix-aio-idle-' + process.pid, 'abc');
      const fd = openSync('/tmp/iomodes-posix-aio-idle-' + process.pid, 'r');
      const n = await io.read(fd, Buffer.alloc(8), { position: 0 });
      console.log(JSON.stringify({ n }));
      // not closed: the process must still exit on its own
    `;
    const r = runChild(code, { timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ n: 3 });
  });

  it('leaves the parent healthy when a Worker with operations in flight is terminated', () => {
    const mod = JSON.stringify(new URL('async/posix-aio.js', distEntry()).href);
    const nat = JSON.stringify(new URL('native.js', distEntry()).href);
    const code = `
      import { Worker } from 'node:worker_threads';
      import { PosixAio } from ${mod};
      import { native } from ${nat};
      import { readdirSync, writeFileSync, openSync } from 'node:fs';
      const fdCount = () => readdirSync('/proc/self/fd').length;
      const before = fdCount();
      const workerCode = \`
        import { PosixAio } from ${mod};
        import { native } from ${nat};
        import { openSync, writeFileSync } from 'node:fs';
        import { parentPort } from 'node:worker_threads';
        const io = PosixAio.create({ capacity: 32 });
        const path = '/tmp/iomodes-posix-aio-worker-' + process.pid;
        writeFileSync(path, Buffer.alloc(1 << 20));
        const fd = openSync(path, 'r');
        const p = new Int32Array(2);
        native.pipe2(0, p);
        io.read(p[0], Buffer.alloc(8), { position: 0 }).catch(() => {});
        for (let i = 0; i < 500; i++) io.read(fd, Buffer.alloc(4096), { position: (i % 256) * 4096 }).catch(() => {});
        // Once the operations are in glibc's hands (submitted in a microtask).
        setTimeout(() => parentPort.postMessage('started'), 20);
      \`;
      for (let round = 0; round < 3; round++) {
        const w = new Worker(workerCode, { eval: true, type: 'module' });
        await new Promise((resolve) => w.once('message', resolve));
        await w.terminate();
      }
      // The parent's own backend still works.
      const io = PosixAio.create();
      writeFileSync('/tmp/iomodes-posix-aio-parent-' + process.pid, 'parent');
      const fd = openSync('/tmp/iomodes-posix-aio-parent-' + process.pid, 'r');
      const buf = Buffer.alloc(16);
      const n = await io.read(fd, buf, { position: 0 });
      io.close();
      console.log(JSON.stringify({ n, text: buf.subarray(0, n).toString(), leaked: native.debug_counters().leakedOnTeardown }));
    `;
    const r = runChild(code, { timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.signal).toBe(null);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.n).toBe(6);
    expect(out.text).toBe('parent');
    // Each worker's blocked pipe read could not be confirmed: leaked, counted.
    expect(out.leaked).toBe(3);
  });

  it('shows glibc running the operations on its own threads', async () => {
    const io = create();
    const [r, w] = pipe();
    fds.push(r, w);
    const before = threads();
    const p = io.read(r, Buffer.alloc(8), { position: 0 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The read blocks in a glibc worker thread, not in this one.
    expect(threads()).toBeGreaterThan(before);
    writeFileSync(`/proc/self/fd/${w}`, 'x');
    expect(await p).toBe(1);
  });

  it('makes the named calls: pread64, pwrite64 and fsync on glibc threads, eventfd writes from notify threads', () => {
    const hasStrace = spawnSync('strace', ['-V']).status === 0;
    if (!hasStrace && mayskip('strace is not installed')) return;
    const dir = tmpDir();
    const log = join(dir, 'strace.log');
    const code = `
      import { PosixAio } from ${JSON.stringify(new URL('async/posix-aio.js', distEntry()).href)};
      import { openSync, writeFileSync } from 'node:fs';
      const path = ${JSON.stringify(join(dir, 'f'))};
      writeFileSync(path, 'strace me');
      const fd = openSync(path, 'r+');
      const io = PosixAio.create();
      const buf = Buffer.alloc(16);
      const [n] = await Promise.all([io.read(fd, buf, { position: 0 }), io.write(fd, Buffer.from('S'), { position: 0 }), io.fsync(fd)]);
      io.close();
      console.log(JSON.stringify({ pid: process.pid, fd, n }));
    `;
    // -ff: one file per thread, so no call is split into <unfinished ...>.
    const r = spawnSync('strace', ['-ff', '-o', log, '-e', 'trace=pread64,pwrite64,fsync,eventfd2,write', process.execPath, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
      env: process.env, // LD_PRELOAD and IOMODES_ADDON reach Node through strace, as in test/strace.test.ts
    });
    expect(r.status, r.stderr).toBe(0);
    const { pid, fd } = JSON.parse(r.stdout.trim()) as { pid: number; fd: number };
    const lines = readdirSync(dir)
      .filter((f) => f.startsWith('strace.log.'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').map((l) => `${f.slice('strace.log.'.length)} ${l}`));
    const calls = (pattern: string): number[] =>
      lines.filter((l) => new RegExp(`^\\d+ +${pattern}`).test(l)).map((l) => Number(l.split(' ')[0]));
    const reads = calls(`pread64\\(${fd}, "(strace me|Strace me)", 16, 0\\)`);
    const writes = calls(`pwrite64\\(${fd}, "S", 1, 0\\) += 1`);
    const syncs = calls(`fsync\\(${fd}[ )]`);
    expect(reads.length).toBe(1);
    expect(writes.length).toBe(1);
    expect(syncs.length).toBe(1);
    // None on the main thread: glibc's workers make them.
    for (const tid of [...reads, ...writes, ...syncs]) expect(tid).not.toBe(pid);
    // Completions write the eventfd (8 bytes) from SIGEV_THREAD notify
    // threads: neither the main thread nor the worker that did the I/O.
    // PosixAio.create() made the main thread's last eventfd.
    const efd = lines
      .filter((l) => l.startsWith(`${pid} `))
      .map((l) => /^\d+ +eventfd2\(.*\) += (\d+)/.exec(l))
      .filter((m) => m !== null)
      .pop()?.[1];
    expect(efd).toBeDefined();
    const notifies = calls(`write\\(${efd}, "\\\\1\\\\0\\\\0\\\\0\\\\0\\\\0\\\\0\\\\0", 8\\) += 8`);
    expect(notifies.length).toBeGreaterThanOrEqual(1);
    for (const tid of notifies) expect([pid, ...reads, ...writes]).not.toContain(tid);
  });

  describe('bad input', () => {
    it('is made by create() only, with valid options', () => {
      expect(() => new (PosixAio as unknown as new (...a: unknown[]) => unknown)()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
      expect(() => PosixAio.create(bad('x'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expect(() => PosixAio.create({ capacity: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => PosixAio.create({ capacity: 65537 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => PosixAio.create({ capacity: bad('8') })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expect(() => PosixAio.create(bad({ capacty: 8 }))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    });

    it('rejects bad arguments synchronously, before submitting anything', async () => {
      const io = create();
      const fd = open(tmpFile('abc'));
      const buf = Buffer.alloc(8);
      expect(() => io.read(bad('3'), buf, { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expect(() => io.read(-1, buf, { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => io.read(fd, bad('buf'), { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      // The current position: POSIX AIO has none.
      expect(() => io.read(fd, buf)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => io.read(fd, buf, { position: null })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => io.write(fd, buf, { position: -2 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => io.read(fd, buf, { position: 0, length: 9 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => io.read(fd, buf, { position: 0, offset: 9 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => io.readv(fd, bad([new DataView(new ArrayBuffer(1))]), { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expect(() => io.readv(fd, [buf])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      await expect(io.fsync(fd, bad('x'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(() => io.read(fd, buf, { position: 0, signal: bad({}) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expect(io.pending).toBe(0);
    });

    it('rejects operations on closed fds with EBADF', async () => {
      const io = create();
      const fd = closedFd();
      await expect(io.read(fd, Buffer.alloc(8), { position: 0 })).rejects.toMatchObject({ code: 'EBADF', syscall: 'posix-aio:read', fd });
      await expect(io.write(fd, Buffer.alloc(8), { position: 0 })).rejects.toMatchObject({ code: 'EBADF', syscall: 'posix-aio:write' });
      await expect(io.fdatasync(fd)).rejects.toMatchObject({ code: 'EBADF', syscall: 'posix-aio:fdatasync' });
    });

    it('rejects an already-aborted signal at once', async () => {
      const io = create();
      const fd = open(tmpFile('abc'));
      await expect(io.read(fd, Buffer.alloc(8), { position: 0, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
      expect(io.pending).toBe(0);
    });

    it('throws ERR_USE_AFTER_CLOSE after close', async () => {
      const io = create();
      const fd = open(tmpFile('abc'));
      io.close();
      expect(() => io.read(fd, Buffer.alloc(8), { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_USE_AFTER_CLOSE' }));
      expect(() => io.writev(fd, [Buffer.alloc(1)], { position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_USE_AFTER_CLOSE' }));
      await expect(io.fsync(fd)).rejects.toMatchObject({ code: 'ERR_USE_AFTER_CLOSE' });
    });

    it('refuses a plain close() of its owned eventfd', () => {
      const raw = new native.PosixAio();
      expect(raw.open(4)).toBe(0);
      const efd = raw.eventfd;
      expect(efd).toBeGreaterThanOrEqual(0);
      expect(native.close(efd)).toBe(-constants.errno.EBUSY);
      expect(raw.close(2000)).toBe(0);
      expect(raw.eventfd).toBe(-1);
    });
  });
});
