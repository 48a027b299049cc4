import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openRing } from '../../lib/async/ring.js';
import { constant } from '../../lib/native.js';
import { Epoll, IoError, O, POLL, Ring, WOULD_BLOCK, bind, close, debugCounters, directIoAvailable, getsockname, ioUringAvailable, listen, open, pipe, read, setBlocking, socket, socketpair, tryWrite, write as writeSync } from '../../lib/index.js';
import { autoClose, bad, caught, closedFd, countedReads, distEntry, expectArgError, fixture, mayskip, runChild, tmpDir, tmpFile } from '../helpers/index.js';

const probe = ioUringAvailable();
const haveRing = probe.ok || mayskip(`io_uring: ${probe.ok ? '' : probe.detail}`);

/** A ring closed when the test ends. */
function ring(options?: Parameters<typeof Ring.create>[0]): Ring {
  const r = Ring.create(options);
  onTestFinished(() => r.close());
  return r;
}

/** Settles once every pending operation's promise has settled, and the watcher closes. */
async function idle(): Promise<void> {
  for (let i = 0; i < 50 && (debugCounters().pinnedOps !== 0 || debugCounters().watchers !== 0); i++) await new Promise((r) => setImmediate(r));
}

function filled(size: number): { path: string; data: Buffer } {
  const data = randomBytes(size);
  return { path: tmpFile(data), data };
}

describe.runIf(haveRing)('Ring', () => {
  it('reads and writes at positions, and at the current offset', async () => {
    const r = ring();
    const { path, data } = filled(10_000);
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.alloc(100);
    expect(await r.read(fd, buf, { position: 5000 })).toBe(100);
    expect(buf).toEqual(data.subarray(5000, 5100));
    // position null: the fd's offset, which advances
    expect(await r.read(fd, buf, { length: 10 })).toBe(10);
    expect(await r.read(fd, buf, { offset: 10, length: 10 })).toBe(10);
    expect(buf.subarray(0, 20)).toEqual(data.subarray(0, 20));
    expect(await r.write(fd, Buffer.from('hello'), { position: 1n })).toBe(5);
    expect(readFileSync(path).subarray(1, 6).toString()).toBe('hello');
  });

  it('returns a short read at end of file, then 0', async () => {
    const r = ring();
    const [fd] = autoClose(open(tmpFile('x'.repeat(1024))));
    expect(await r.read(fd, Buffer.alloc(4096), { position: 0 })).toBe(1024);
    expect(await r.read(fd, Buffer.alloc(4096), { position: 1024 })).toBe(0);
  });

  it('reads and writes vectors', async () => {
    const r = ring();
    const path = tmpFile();
    const [fd] = autoClose(open(path, 'r+'));
    expect(await r.writev(fd, [Buffer.from('ab'), new Uint8Array([99, 100]), Buffer.from('ef')], { position: 0 })).toBe(6);
    const a = Buffer.alloc(1);
    const b = Buffer.alloc(3);
    const c = new Uint8Array(8);
    expect(await r.readv(fd, [a, b, c], { position: 0 })).toBe(6);
    expect([a.toString(), b.toString(), Buffer.from(c.subarray(0, 2)).toString()]).toEqual(['a', 'bcd', 'ef']);
    // No buffers is a read or write of 0 bytes, as for readv() (found by the native fuzz: it threw)
    expect(await r.readv(fd, [], { position: 0 })).toBe(0);
    expect(await r.writev(fd, [], { position: 0 })).toBe(0);
  });

  it('orders fsync and fdatasync after awaited writes', async () => {
    const r = ring();
    const path = tmpFile();
    const [fd] = autoClose(open(path, 'r+'));
    await r.write(fd, Buffer.from('durable'), { position: 0 });
    await r.fsync(fd);
    await r.fdatasync(fd);
    expect(readFileSync(path, 'utf8')).toBe('durable');
  });

  it('chains openat, read and close through the ring', async () => {
    const r = ring();
    const path = tmpFile('through the ring');
    const fd = await r.openat(path);
    const buf = Buffer.alloc(64);
    const n = await r.read(fd, buf, { position: 0 });
    expect(buf.subarray(0, n).toString()).toBe('through the ring');
    await r.closeFd(fd);
    expect(caught(() => close(fd)).code).toBe('EBADF');
    const created = join(tmpDir(), 'new');
    const wfd = await r.openat(created, { flags: 'w', mode: 0o600 });
    await r.write(wfd, Buffer.from('x'), { position: 0 });
    await r.closeFd(wfd);
    expect(statSync(created).mode & 0o777).toBe(0o600);
    await expect(r.openat(join(tmpDir(), 'missing'))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'io_uring:openat' });
  });

  it('stats a file', async () => {
    const r = ring();
    const path = tmpFile('12345');
    const st = await r.statx(path);
    expect(st.size).toBe(5);
    expect(st.mode & 0o170000).toBe(0o100000);
  });

  it('accepts, connects, sends and receives over 127.0.0.1', async () => {
    const r = ring();
    const [listener] = autoClose(socket('tcp4'));
    bind(listener, { host: '127.0.0.1', port: 0 });
    listen(listener, 8);
    const { port } = getsockname(listener) as { port: number };
    const [client] = autoClose(socket('tcp4'));
    const accepted = r.accept(listener);
    await r.connect(client, { host: '127.0.0.1', port });
    const [server] = autoClose(await accepted);
    expect(await r.send(client, Buffer.from('ping'))).toBe(4);
    const buf = Buffer.alloc(16);
    expect(await r.recv(server, buf)).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe('ping');
    await expect(r.connect(client, { host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EISCONN', syscall: 'io_uring:connect' });
  });

  it('polls once, and multishot until aborted', async () => {
    const r = ring();
    const [rd, wr] = autoClose(...pipe());
    const once = r.poll(rd, POLL.IN);
    writeSync(wr, Buffer.from('a'));
    expect((await once) & POLL.IN).toBeTruthy();
    const [rd2, wr2] = autoClose(...pipe());
    setBlocking(rd2, false);
    const ac = new AbortController();
    const seen: number[] = [];
    const drained = Buffer.alloc(16);
    const loop = (async () => {
      for await (const revents of r.pollMultishot(rd2, POLL.IN, { signal: ac.signal })) {
        seen.push(revents);
        read(rd2, drained); // drained, so the next write is a new readiness
        if (seen.length === 3) ac.abort();
        else writeSync(wr2, Buffer.from('b'));
      }
    })();
    writeSync(wr2, Buffer.from('b'));
    await expect(loop).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen.length).toBe(3);
    for (const e of seen) expect(e & POLL.IN).toBeTruthy();
    // breaking out of the loop cancels it too
    writeSync(wr2, Buffer.from('c'));
    for await (const _ of r.pollMultishot(rd2, POLL.IN)) break;
    expect(r.pending).toBe(0);
  });

  it('times out in the kernel: timeout(), and a linked timeoutMs', async () => {
    const r = ring();
    const start = performance.now();
    await r.timeout(20);
    expect(performance.now() - start).toBeGreaterThanOrEqual(19);
    const [rd, wr] = autoClose(...pipe());
    await expect(r.read(rd, Buffer.alloc(8), { timeoutMs: 10 })).rejects.toMatchObject({ code: 'ETIME', syscall: 'io_uring:read' });
    // the fd still works afterwards
    writeSync(wr, Buffer.from('ok'));
    const buf = Buffer.alloc(8);
    expect(await r.read(rd, buf, { timeoutMs: 5000 })).toBe(2);
  });

  it('settles operations whose completions overflowed the completion queue (linked timeouts post their own)', async () => {
    // Two entries, four reads each with a link timeout: up to eight
    // completions for a queue of four. The rest wait on the kernel's
    // overflow list, which only an io_uring_enter for events flushes.
    const r = Ring.create({ entries: 2 });
    onTestFinished(() => r.close());
    const reads = Array.from({ length: 4 }, () => {
      const [rd] = autoClose(...pipe());
      return r.read(rd, Buffer.alloc(8), { timeoutMs: 10 }).then(
        () => 'read',
        (e: IoError) => e.code,
      );
    });
    expect(await Promise.all(reads)).toEqual(['ETIME', 'ETIME', 'ETIME', 'ETIME']);
    // And the ring goes on working.
    await r.timeout(1);
  });

  it('aborts through a signal, and cancels every operation on an fd', async () => {
    const r = ring();
    const [rd] = autoClose(...pipe());
    const ac = new AbortController();
    const p = r.read(rd, Buffer.alloc(8), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('enough')), 5);
    const err = await p.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((err as Error).cause).toMatchObject({ message: 'enough' });
    await expect(r.read(rd, Buffer.alloc(8), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    const reads = [1, 2, 3].map(() => r.read(rd, Buffer.alloc(8)).catch((e: { code: string }) => e.code));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await r.cancelFd(rd)).toBe(3);
    expect(await Promise.all(reads)).toEqual(['ECANCELED', 'ECANCELED', 'ECANCELED']);
  });

  it('settles every one of 100,000 operations exactly once, 20% aborted at random', async () => {
    const r = ring({ entries: 64 });
    const [fd] = autoClose(open(tmpFile(randomBytes(1 << 20))));
    const [rd, wr] = autoClose(...pipe());
    const N = 100_000;
    const settled = new Uint8Array(N);
    let completed = 0;
    let aborted = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const ac = Math.random() < 0.2 ? new AbortController() : undefined;
      // a fifth of the reads are on a pipe that gets data rarely: they stay in flight
      const onPipe = i % 5 === 0;
      const p = onPipe ? r.read(rd, Buffer.alloc(1), { signal: ac?.signal }) : r.read(fd, Buffer.alloc(512), { position: (i * 512) % (1 << 20), signal: ac?.signal });
      all.push(
        p.then(
          () => {
            settled[i]++;
            completed++;
          },
          (e: { code?: string }) => {
            settled[i]++;
            if (e.code !== 'ABORT_ERR') throw e;
            aborted++;
          },
        ),
      );
      if (ac) {
        if (Math.random() < 0.5) ac.abort();
        else setTimeout(() => ac.abort(), Math.random() * 5);
      }
      if (i % 1000 === 999) await new Promise((res) => setImmediate(res));
    }
    // feed the pipe readers that were not aborted, one byte each
    const feed = setInterval(() => {
      try {
        writeSync(wr, Buffer.alloc(256));
      } catch {}
    }, 1);
    await Promise.all(all);
    clearInterval(feed);
    expect(completed + aborted).toBe(N);
    expect(settled.every((n) => n === 1)).toBe(true);
    expect(aborted).toBeGreaterThan(N * 0.1);
    expect(r.pending).toBe(0);
    await idle();
    expect(debugCounters().pinnedOps).toBe(0);
  }, 120_000);

  it('queues operations beyond the ring depth instead of failing', async () => {
    const r = ring({ entries: 4 });
    const [fd] = autoClose(open(tmpFile(randomBytes(65536))));
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => r.read(fd, Buffer.alloc(64), { position: i * 64 })));
    expect(results.every((n) => n === 64)).toBe(true);
  });

  it('lets an operation waiting for a slot be aborted, and fails only it when its buffer goes away first', async () => {
    const r = ring({ entries: 1 });
    const [rd, wr] = autoClose(...pipe());
    const inKernel = Array.from({ length: r.info.cqEntries }, () => r.read(rd, Buffer.alloc(1)));
    const ac = new AbortController();
    const queued = r.read(rd, Buffer.alloc(1), { signal: ac.signal });
    const doomed = new Uint8Array(8);
    const detached = r.read(rd, doomed);
    structuredClone(doomed.buffer, { transfer: [doomed.buffer] });
    const after = r.read(rd, Buffer.alloc(1));
    ac.abort();
    await expect(queued).rejects.toMatchObject({ code: 'ABORT_ERR' });
    writeSync(wr, Buffer.alloc(r.info.cqEntries + 1));
    expect(await Promise.all(inKernel)).toEqual(inKernel.map(() => 1));
    await expect(detached).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(await after).toBe(1);
  });

  it('lands the data intact when the garbage collector runs between submit and completion', async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    const r = ring();
    const [rd, wr] = autoClose(...pipe());
    const reads = Array.from({ length: 50 }, () => {
      const buf = Buffer.alloc(4);
      return r.read(rd, buf).then((n) => buf.subarray(0, n).toString());
    });
    for (let i = 0; i < 5; i++) gc();
    for (let i = 0; i < 50; i++) writeSync(wr, Buffer.from(String(i).padStart(4, '0')));
    for (let i = 0; i < 5; i++) gc();
    const got = await Promise.all(reads);
    expect(got.sort()).toEqual(Array.from({ length: 50 }, (_, i) => String(i).padStart(4, '0')).sort());
  });

  it('holds no reference to a write\'s buffer: collected while the write waits, its bytes still land', async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    const r = ring();
    const [rd, wr] = autoClose(...pipe());
    // Fill the pipe (non-blocking, to see when it is full), then make the
    // write end blocking again so the ring's write waits in the kernel.
    setBlocking(wr, false);
    let filled = 0;
    for (;;) {
      const n = tryWrite(wr, Buffer.alloc(65536, 1));
      if (n === WOULD_BLOCK) break;
      filled += n;
    }
    setBlocking(wr, true);
    let ref!: WeakRef<Buffer>;
    const pending = (() => {
      const buf = Buffer.alloc(4096, 9);
      ref = new WeakRef(buf);
      return r.write(wr, buf);
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Its bytes were copied at submission: the buffer is not needed again.
    expect(ref.deref()).toBeUndefined();
    const drain = Buffer.alloc(65536);
    for (let got = 0; got < filled; ) got += read(rd, drain, 0, Math.min(drain.length, filled - got));
    expect(await pending).toBe(4096);
    const last = Buffer.alloc(4097);
    expect(read(rd, last)).toBe(4096);
    expect(last.subarray(0, 4096).every((b) => b === 9)).toBe(true);
  });

  it('cannot be made to write into a buffer detached while its read is in flight', async () => {
    const r = ring();
    const [rd, wr] = autoClose(...pipe());
    // ArrayBuffer.prototype.transfer() is Node 21+; a MessagePort transfer detaches on every line.
    const transferred = new Uint8Array(4096);
    const a = r.read(rd, transferred);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(transferred.buffer, [transferred.buffer]);
    const moved = await new Promise<ArrayBuffer>((resolve) => port2.once('message', resolve));
    port1.close();
    const structured = new Uint8Array(4096);
    const b = r.read(rd, structured);
    structuredClone(structured.buffer, { transfer: [structured.buffer] });
    // A resizable ArrayBuffer (ES2024: not in this project's TypeScript lib).
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const rab = new Resizable(4096, { maxByteLength: 8192 });
    const c = r.read(rd, new Uint8Array(rab, 0, 4096));
    rab.resize(0);
    (globalThis as { gc?: () => void }).gc!();
    writeSync(wr, Buffer.alloc(3 * 4096, 7));
    for (const p of [a, b, c]) await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(new Uint8Array(moved).every((x) => x === 0)).toBe(true);
    await idle();
    expect(debugCounters().pinnedOps).toBe(0);
  });

  it('close() with 1,000 reads in flight on a pipe settles them all and leaks nothing', async () => {
    await idle();
    const before = debugCounters();
    const r = Ring.create({ entries: 256 });
    const [rd] = autoClose(...pipe());
    const reads = Array.from({ length: 1000 }, () => r.read(rd, Buffer.alloc(8)).then(() => 'done', (e: { code: string }) => e.code));
    await new Promise((res) => setTimeout(res, 5));
    const fd = r.fd;
    r.close();
    r.close();
    expect(await Promise.all(reads)).toEqual(Array(1000).fill('ABORT_ERR'));
    expect(caught(() => close(fd)).code).toBe('EBADF');
    await idle();
    expect(debugCounters()).toEqual({ ...before, leakedOnTeardown: before.leakedOnTeardown });
  });

  it('uses registered files', async () => {
    const r = ring();
    const [fd] = autoClose(open(tmpFile('fixed file')));
    r.registerFiles([fd]);
    const buf = Buffer.alloc(5);
    expect(await r.read(0, buf, { position: 6, fixedFile: true })).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe('file');
    r.unregisterFiles();
    await expect(r.read(0, buf, { position: 0, fixedFile: true })).rejects.toMatchObject({ code: 'EBADF' });
  });

  describe('registered buffers', () => {
    it('reads and writes through them, intact at several indices and offsets', async () => {
      const r = ring();
      expect(r.registeredBuffers).toBeNull();
      // 5000 bytes: not a page multiple, so each buffer starts on its own page
      r.registerBuffers(4, 5000);
      expect(r.registeredBuffers).toEqual({ count: 4, size: 5000 });
      const { path, data } = filled(1 << 16);
      const [fd] = autoClose(open(path, 'r+'));
      // reads: every index in flight at once (one operation per buffer),
      // whole buffers, then ranges at bufferOffsets and view offsets
      const rounds = [
        [0, 1, 2, 3].map((bufferIndex) => ({ bufferIndex, bufferOffset: 0, offset: 0, length: 5000, position: bufferIndex * 7919 })),
        [0, 1, 2, 3].map((bufferIndex) => ({ bufferIndex, bufferOffset: 123 * bufferIndex, offset: 17, length: 1000 + bufferIndex, position: 40_000 + bufferIndex })),
      ];
      for (const ops of rounds) {
        const views = ops.map((c) => Buffer.alloc(c.offset + c.length + 3, 0xee));
        const got = await Promise.all(ops.map((c, i) => r.readFixed(fd, views[i]!, c)));
        ops.forEach((c, i) => {
          expect(got[i]).toBe(c.length);
          expect(views[i]!.subarray(c.offset, c.offset + c.length)).toEqual(data.subarray(c.position, c.position + c.length));
          // nothing outside the range was touched
          expect(views[i]!.subarray(0, c.offset).every((b) => b === 0xee)).toBe(true);
          expect(views[i]!.subarray(c.offset + c.length).every((b) => b === 0xee)).toBe(true);
        });
      }
      // the default length: what fits both the view and the registered buffer
      expect(await r.readFixed(fd, Buffer.alloc(8192), { bufferIndex: 1, bufferOffset: 1000, position: 0 })).toBe(4000);
      expect(await r.readFixed(fd, Buffer.alloc(100), { bufferIndex: 1, position: 0 })).toBe(100);
      // writes: random bytes through each index, read back from the file
      const expected = Buffer.from(readFileSync(path));
      await Promise.all(
        [0, 1, 2, 3].map((bufferIndex) => {
          const bytes = randomBytes(3000 + bufferIndex);
          const position = 10_000 * bufferIndex + 5;
          bytes.copy(expected, position, 2, 2 + 2500);
          return r.writeFixed(fd, bytes, { bufferIndex, bufferOffset: 2000 + bufferIndex, offset: 2, length: 2500, position }).then((n) => expect(n).toBe(2500));
        }),
      );
      expect(readFileSync(path).equals(expected)).toBe(true);
      // the file's offset: position null reads and advances it
      const head = Buffer.alloc(10);
      expect(await r.readFixed(fd, head, { bufferIndex: 0 })).toBe(10);
      expect(await r.readFixed(fd, head, { bufferIndex: 0, offset: 5, length: 5 })).toBe(5);
      expect(head).toEqual(Buffer.concat([expected.subarray(0, 5), expected.subarray(10, 15)]));
      // a short read at end of file, then 0
      expect(await r.readFixed(fd, Buffer.alloc(5000), { bufferIndex: 2, position: (1 << 16) - 10 })).toBe(10);
      expect(await r.readFixed(fd, Buffer.alloc(5000), { bufferIndex: 2, position: 1 << 16 })).toBe(0);
    });

    it('copies a file through a registered buffer without JS memory, and with registered files', async () => {
      const r = ring();
      r.registerBuffers(2, 4096);
      const { path, data } = filled(10_000);
      const [src] = autoClose(open(path));
      const target = join(tmpDir(), 'copy');
      const [dst] = autoClose(open(target, 'w'));
      r.registerFiles([src, dst]);
      for (let position = 0; ; ) {
        const n = await r.readFixed(0, null, { bufferIndex: 1, position, fixedFile: true });
        if (n === 0) break;
        expect(await r.writeFixed(1, null, { bufferIndex: 1, length: n, position, fixedFile: true })).toBe(n);
        position += n;
      }
      expect(readFileSync(target).equals(data)).toBe(true);
      // what a null read left in the buffer is what a later write sends
      const [w] = autoClose(open(target, 'r+'));
      expect(await r.readFixed(src, null, { bufferIndex: 0, bufferOffset: 96, length: 4000, position: 100 })).toBe(4000);
      expect(await r.writeFixed(w, null, { bufferIndex: 0, bufferOffset: 96, length: 4000, position: 0 })).toBe(4000);
      expect(readFileSync(target).subarray(0, 4000)).toEqual(data.subarray(100, 4100));
    });

    it('reads and writes O_DIRECT files through them', async () => {
      const dir = tmpDir();
      const probe = directIoAvailable(dir);
      if (!probe.ok && mayskip(`O_DIRECT in ${dir}: ${probe.detail}`)) return;
      const r = ring();
      r.registerBuffers(2, 8192);
      const path = join(dir, 'data');
      const data = randomBytes(1 << 16);
      writeFileSync(path, data);
      const [fd] = autoClose(open(path, O.RDWR | O.DIRECT));
      // any view: the kernel sees only the page-aligned registered buffer
      const view = Buffer.alloc(8192 + 3).subarray(3);
      expect(await r.readFixed(fd, view, { bufferIndex: 1, position: 16384 })).toBe(8192);
      expect(view).toEqual(data.subarray(16384, 16384 + 8192));
      const bytes = randomBytes(4096);
      expect(await r.writeFixed(fd, bytes, { bufferIndex: 0, position: 4096 })).toBe(4096);
      expect(readFileSync(path).subarray(4096, 8192)).toEqual(bytes);
      // an unaligned range is the kernel's EINVAL, as for any O_DIRECT read
      await expect(r.readFixed(fd, view, { bufferIndex: 1, bufferOffset: 1, length: 4096, position: 0 })).rejects.toMatchObject({ code: 'EINVAL', syscall: 'io_uring:readFixed' });
    });

    it('registers them with IORING_REGISTER_BUFFERS, page-aligned, and unregisters them', () => {
      const entry = distEntry();
      const path = tmpFile(randomBytes(8192));
      const code = `
        import { Ring, open } from ${JSON.stringify(entry)};
        const ring = Ring.create({ entries: 16 });
        ring.registerBuffers(3, 4096);
        const fd = open(${JSON.stringify(path)});
        const n = await ring.readFixed(fd, Buffer.alloc(4096), { bufferIndex: 2, position: 0 });
        ring.unregisterBuffers();
        ring.close();
        console.log(n);
      `;
      const script = fixture(code);
      const trace = join(tmpDir(), 'trace');
      const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=io_uring_setup,io_uring_register', '-o', trace, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('4096');
      const lines = readFileSync(trace, 'utf8').split('\n');
      const setups = lines.map((l) => /io_uring_setup\(16, .*\) = (\d+)/.exec(l)).filter((m) => m !== null);
      expect(setups.length).toBe(1);
      const fd = setups[0]![1];
      // three iovecs of 4096 bytes, then the unregister
      const register = lines.find((l) => l.includes(`io_uring_register(${fd}, IORING_REGISTER_BUFFERS`));
      expect(register, lines.join('\n')).toMatch(/\[\{iov_base=0x[0-9a-f]+, iov_len=4096\}, \{iov_base=0x[0-9a-f]+, iov_len=4096\}, \{iov_base=0x[0-9a-f]+, iov_len=4096\}\], 3\) = 0/);
      // page-aligned: each base ends in three hex zeros
      for (const base of register!.match(/iov_base=0x[0-9a-f]+/g)!) expect(base).toMatch(/000$/);
      expect(lines.some((l) => l.includes(`io_uring_register(${fd}, IORING_UNREGISTER_BUFFERS, NULL, 0) = 0`))).toBe(true);
    });

    it('refuses bad input and bad states with Node-style errors', async () => {
      const r = ring();
      const [fd] = autoClose(open(tmpFile('abcdef')));
      const buf = Buffer.alloc(16);
      // before any registration
      expect(caught(() => r.readFixed(fd, buf, { bufferIndex: 0 })).code).toBe('ERR_INVALID_STATE');
      expect(caught(() => r.writeFixed(fd, buf, { bufferIndex: 0 })).code).toBe('ERR_INVALID_STATE');
      r.unregisterBuffers(); // nothing to do
      expectArgError(() => r.registerBuffers(0, 4096), 'ERR_OUT_OF_RANGE', 'count');
      expectArgError(() => r.registerBuffers(16385, 4096), 'ERR_OUT_OF_RANGE', 'count');
      expectArgError(() => r.registerBuffers(1, 0), 'ERR_OUT_OF_RANGE', 'size');
      expectArgError(() => r.registerBuffers(1, 2 ** 30 + 1), 'ERR_OUT_OF_RANGE', 'size');
      expectArgError(() => r.registerBuffers(1.5, 4096), 'ERR_OUT_OF_RANGE', 'count');
      expectArgError(() => r.registerBuffers(bad('2'), 4096), 'ERR_INVALID_ARG_TYPE', 'count');
      expectArgError(() => r.registerBuffers(2, bad(4096n)), 'ERR_INVALID_ARG_TYPE', 'size');
      r.registerBuffers(2, 64);
      // a second registration: the kernel's EBUSY, and the first set still works
      const busy = caught(() => r.registerBuffers(1, 4096));
      expect(busy).toBeInstanceOf(IoError);
      expect(busy).toMatchObject({ code: 'EBUSY', syscall: 'io_uring_register' });
      expect(r.registeredBuffers).toEqual({ count: 2, size: 64 });
      expect(await r.readFixed(fd, buf, { bufferIndex: 1, position: 0 })).toBe(6);
      // index, ranges, types
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: 2 }), 'ERR_OUT_OF_RANGE', 'options.bufferIndex');
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: -1 }), 'ERR_OUT_OF_RANGE', 'options.bufferIndex');
      expectArgError(() => r.readFixed(fd, buf, bad({})), 'ERR_INVALID_ARG_TYPE', 'options.bufferIndex');
      expectArgError(() => r.readFixed(fd, buf, bad(undefined)), 'ERR_INVALID_ARG_TYPE', 'options');
      expectArgError(() => r.readFixed(fd, buf, bad({ bufferIndex: '0' })), 'ERR_INVALID_ARG_TYPE', 'options.bufferIndex');
      expectArgError(() => r.readFixed(fd, Buffer.alloc(128), { bufferIndex: 0, length: 65 }), 'ERR_OUT_OF_RANGE', 'options.length');
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: 0, bufferOffset: 60, length: 5 }), 'ERR_OUT_OF_RANGE', 'options.length');
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: 0, bufferOffset: 65 }), 'ERR_OUT_OF_RANGE', 'options.bufferOffset');
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: 0, length: 17 }), 'ERR_OUT_OF_RANGE', 'length');
      expectArgError(() => r.readFixed(fd, buf, { bufferIndex: 0, offset: 17 }), 'ERR_OUT_OF_RANGE', 'offset');
      expectArgError(() => r.readFixed(fd, null, { bufferIndex: 0, length: 65 }), 'ERR_OUT_OF_RANGE', 'options.length');
      expectArgError(() => r.readFixed(fd, null, { bufferIndex: 0, offset: 1 }), 'ERR_INVALID_ARG_VALUE', 'options.offset');
      expectArgError(() => r.readFixed(fd, bad('buf'), { bufferIndex: 0 }), 'ERR_INVALID_ARG_TYPE', 'buffer');
      expectArgError(() => r.readFixed(fd, bad(undefined), { bufferIndex: 0 }), 'ERR_INVALID_ARG_TYPE', 'buffer');
      expectArgError(() => r.writeFixed(bad('3'), buf, { bufferIndex: 0 }), 'ERR_INVALID_ARG_TYPE', 'fd');
      expectArgError(() => r.writeFixed(fd, buf, { bufferIndex: 0, position: -2 }), 'ERR_OUT_OF_RANGE');
      expectArgError(() => r.writeFixed(fd, buf, { bufferIndex: 0, timeoutMs: -5 }), 'ERR_OUT_OF_RANGE');
      expectArgError(() => r.writeFixed(fd, buf, { bufferIndex: 0, signal: bad({}) }), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => r.writeFixed(fd, buf, { bufferIndex: 0, fixedFile: bad(1) }), 'ERR_INVALID_ARG_TYPE');
      // the kernel's errors come back as IoErrors
      await expect(r.readFixed(closedFd(), buf, { bufferIndex: 0, position: 0 })).rejects.toMatchObject({ code: 'EBADF', syscall: 'io_uring:readFixed' });
      await expect(r.writeFixed(fd, buf, { bufferIndex: 0, position: 0 })).rejects.toMatchObject({ code: 'EBADF', syscall: 'io_uring:writeFixed' });
      // unregistering while a fixed read is in flight: EBUSY, and the read still lands
      const [rd, wr] = autoClose(...pipe());
      const pending = r.readFixed(rd, buf, { bufferIndex: 0 });
      const refused = caught(() => r.unregisterBuffers());
      expect(refused).toMatchObject({ code: 'EBUSY', syscall: 'io_uring_register' });
      writeSync(wr, Buffer.from('late'));
      expect(await pending).toBe(4);
      expect(buf.subarray(0, 4).toString()).toBe('late');
      // after unregistering: as before registering, and a new set may come
      r.unregisterBuffers();
      expect(r.registeredBuffers).toBeNull();
      expect(caught(() => r.readFixed(fd, buf, { bufferIndex: 0 })).code).toBe('ERR_INVALID_STATE');
      r.registerBuffers(1, 4096);
      expect(await r.readFixed(fd, buf, { bufferIndex: 0, position: 2 })).toBe(4);
      // after close
      r.close();
      expect(caught(() => r.readFixed(fd, buf, { bufferIndex: 0 })).code).toBe('ERR_USE_AFTER_CLOSE');
      expect(caught(() => r.writeFixed(fd, buf, { bufferIndex: 0 })).code).toBe('ERR_USE_AFTER_CLOSE');
      expect(caught(() => r.registerBuffers(1, 4096)).code).toBe('ERR_USE_AFTER_CLOSE');
      expect(caught(() => r.unregisterBuffers()).code).toBe('ERR_USE_AFTER_CLOSE');
      expect(caught(() => r.registeredBuffers).code).toBe('ERR_USE_AFTER_CLOSE');
    });

    it('takes a signal and a timeout, and a fixed operation waiting for a slot fails alone once the buffers are gone', async () => {
      // 2 entries: an operation with a timeout takes two SQEs
      const r = ring({ entries: 2 });
      r.registerBuffers(1, 16);
      const [rd, wr] = autoClose(...pipe());
      await expect(r.readFixed(rd, Buffer.alloc(8), { bufferIndex: 0, timeoutMs: 10 })).rejects.toMatchObject({ code: 'ETIME', syscall: 'io_uring:readFixed' });
      const ac = new AbortController();
      const aborted = r.readFixed(rd, null, { bufferIndex: 0, signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });
      await expect(r.writeFixed(wr, Buffer.alloc(1), { bufferIndex: 0, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
      // fill every slot with plain reads, queue a fixed one, then unregister
      const inKernel = Array.from({ length: r.info.cqEntries }, () => r.read(rd, Buffer.alloc(1)));
      const queued = r.readFixed(rd, Buffer.alloc(1), { bufferIndex: 0 });
      r.unregisterBuffers();
      writeSync(wr, Buffer.alloc(r.info.cqEntries + 1));
      expect(await Promise.all(inKernel)).toEqual(inKernel.map(() => 1));
      await expect(queued).rejects.toMatchObject({ code: 'EFAULT', syscall: 'io_uring:readFixed' });
    });

    it('lands the data when the garbage collector runs between submit and completion, and never into a detached view', async () => {
      const gc = (globalThis as { gc?: () => void }).gc!;
      await idle();
      const r = ring();
      r.registerBuffers(50, 4);
      const [rd, wr] = autoClose(...pipe());
      const reads = Array.from({ length: 50 }, (_, bufferIndex) => {
        const buf = Buffer.alloc(4);
        return r.readFixed(rd, buf, { bufferIndex }).then((n) => buf.subarray(0, n).toString());
      });
      for (let i = 0; i < 5; i++) gc();
      for (let i = 0; i < 50; i++) writeSync(wr, Buffer.from(String(i).padStart(4, '0')));
      for (let i = 0; i < 5; i++) gc();
      expect((await Promise.all(reads)).sort()).toEqual(Array.from({ length: 50 }, (_, i) => String(i).padStart(4, '0')).sort());
      const doomed = new Uint8Array(4);
      const p = r.readFixed(rd, doomed, { bufferIndex: 7 });
      const moved = structuredClone(doomed.buffer, { transfer: [doomed.buffer] });
      gc();
      writeSync(wr, Buffer.from('gone'));
      await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      expect(new Uint8Array(moved).every((x) => x === 0)).toBe(true);
      await idle();
      expect(debugCounters().pinnedOps).toBe(0);
    });

    it('close() with fixed reads in flight on a pipe settles them all and leaks nothing', async () => {
      await idle();
      const before = debugCounters();
      const r = Ring.create({ entries: 64 });
      r.registerBuffers(8, 4096);
      const [rd] = autoClose(...pipe());
      const reads = Array.from({ length: 200 }, (_, i) => r.readFixed(rd, i % 2 ? Buffer.alloc(8) : null, { bufferIndex: i % 8 }).then(() => 'done', (e: { code: string }) => e.code));
      await new Promise((res) => setTimeout(res, 5));
      r.close();
      expect(await Promise.all(reads)).toEqual(Array(200).fill('ABORT_ERR'));
      await idle();
      expect(debugCounters()).toEqual(before);
    });

    it('survives a Worker terminated with fixed operations in flight', () => {
      const entry = distEntry();
      const worker = fixture(`
        import { Ring, pipe, open } from ${JSON.stringify(entry)};
        import { parentPort } from 'node:worker_threads';
        const ring = Ring.create({ entries: 64 });
        ring.registerBuffers(16, 4096);
        const [rd] = pipe();
        for (let i = 0; i < 100; i++) ring.readFixed(rd, i % 2 ? Buffer.alloc(64) : null, { bufferIndex: i % 16 }).catch(() => {});
        const fd = open('/etc/passwd');
        for (let i = 0; i < 20; i++) ring.readFixed(fd, Buffer.alloc(64), { bufferIndex: i % 16, position: 0 }).catch(() => {});
        setTimeout(() => parentPort.postMessage('busy'), 1);
      `);
      const r = runChild(`
        import { Worker } from 'node:worker_threads';
        import { debugCounters } from ${JSON.stringify(entry)};
        for (let round = 0; round < 3; round++) {
          const w = new Worker(${JSON.stringify(worker)}, { execArgv: [] });
          await new Promise((res) => w.once('message', res));
          await w.terminate();
        }
        console.log(JSON.stringify({ leaked: debugCounters().leakedOnTeardown }));
      `, { timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ leaked: 0 });
    });
  });

  it('takes the setup flags the kernel offers', async () => {
    for (const options of [{ singleIssuer: true, deferTaskrun: true }, { coopTaskrun: true }, { sqpoll: { idleMs: 10 } }, { cqEntries: 1024 }]) {
      const r = ring(options);
      const [fd] = autoClose(open(tmpFile('abc')));
      const buf = Buffer.alloc(3);
      expect(await r.read(fd, buf, { position: 0 })).toBe(3);
      expect(buf.toString()).toBe('abc');
      const [rd, wr] = autoClose(...pipe());
      const later = r.read(rd, Buffer.alloc(1));
      setTimeout(() => writeSync(wr, Buffer.from('z')), 5);
      expect(await later).toBe(1);
      r.close();
    }
  });

  it('defers task work by default (SINGLE_ISSUER, DEFER_TASKRUN), unless a flag is chosen or sqpoll asked for', () => {
    const deferred = constant('IORING_SETUP_SINGLE_ISSUER') | constant('IORING_SETUP_DEFER_TASKRUN') | constant('IORING_SETUP_TASKRUN_FLAG');
    // A kernel that has them (6.1+) gets them; an older one refuses them
    // when asked, and the default ring is then made without.
    let kernelDefers = true;
    try {
      ring({ singleIssuer: true, deferTaskrun: true });
    } catch (err) {
      expect((err as IoError).code).toBe('EINVAL');
      kernelDefers = false;
    }
    // Where CI requires every capability, the kernel must have it.
    if (!kernelDefers) mayskip('io_uring: IORING_SETUP_DEFER_TASKRUN (Linux 6.1)');
    const expected = kernelDefers ? deferred : 0;
    expect(ring().info.flags & deferred).toBe(expected);
    expect(ring({ submitBatch: 2 }).info.flags & deferred).toBe(expected);
    for (const options of [{ coopTaskrun: true }, { coopTaskrun: false }, { singleIssuer: false }, { deferTaskrun: false }, { sqpoll: true }]) {
      expect(ring(options).info.flags & constant('IORING_SETUP_DEFER_TASKRUN')).toBe(0);
    }
    expect(ring({ singleIssuer: true }).info.flags & deferred).toBe(constant('IORING_SETUP_SINGLE_ISSUER'));
  });

  it('makes the ring without deferred task work where the kernel refuses it (before 6.1: EINVAL)', () => {
    const defer = constant('IORING_SETUP_DEFER_TASKRUN');
    const asked: number[] = [];
    const oldKernel = { open: (_entries: number, flags: number) => (asked.push(flags), flags & defer ? -osConstants.errno.EINVAL : 0) };
    expect(openRing(oldKernel, true, 8, 0, 0, 0, -1, 0)).toBe(0);
    expect(asked).toEqual([constant('IORING_SETUP_SINGLE_ISSUER') | defer, 0]);
    // Another refusal is the answer; not asked to defer, one try.
    const refusing = { open: () => -osConstants.errno.EPERM };
    expect(openRing(refusing, true, 8, 0, 0, 0, -1, 0)).toBe(-osConstants.errno.EPERM);
    asked.length = 0;
    expect(openRing(oldKernel, false, 8, 0, 0, 0, -1, 0)).toBe(0);
    expect(asked).toEqual([0]);
  });

  it('settles every completion of a burst larger than one io_uring_enter runs, however the ring defers', async () => {
    for (const options of [{}, { submitBatch: 2 }, { coopTaskrun: true }]) {
      const r = ring({ entries: 512, ...options });
      const pipes = Array.from({ length: 300 }, () => autoClose(...pipe()));
      const reads = pipes.map(([rd]) => r.read(rd, Buffer.alloc(1)));
      await new Promise((res) => setTimeout(res, 20));
      // Another thread writes every pipe while this one sleeps in the loop:
      // the completions arrive together, as deferred task work.
      const worker = new Worker(`const { writeSync } = require('node:fs'); for (const fd of ${JSON.stringify(pipes.map(([, w]) => w))}) writeSync(fd, 'x');`, { eval: true });
      onTestFinished(() => void worker.terminate());
      expect(await Promise.all(reads)).toEqual(reads.map(() => 1));
    }
  });

  it('lets the event loop turn during a read loop on cached data', async () => {
    const r = ring();
    const [fd] = autoClose(open(tmpFile(randomBytes(4096))));
    const buf = Buffer.alloc(16);
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    // Each read completes inside io_uring_enter and settles in a microtask:
    // without a turn of the loop now and then, `count` would never run.
    for (let i = 0; i < 2000; i++) await r.read(fd, buf, { position: (i % 256) * 16 });
    counting = false;
    expect(turns).toBeGreaterThan(2000 / 1000);
  });

  it('refuses bad input with Node-style errors', async () => {
    const r = ring();
    const [fd] = autoClose(open(tmpFile('abc')));
    expectArgError(() => r.read(bad('3'), Buffer.alloc(1)), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.read(-1, Buffer.alloc(1)), 'ERR_OUT_OF_RANGE');
    expectArgError(() => r.read(fd, bad('buf')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.read(fd, Buffer.alloc(4), { position: -2 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => r.read(fd, Buffer.alloc(4), { length: 5 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => r.read(fd, Buffer.alloc(4), { offset: 5 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => r.read(fd, Buffer.alloc(4), { timeoutMs: -5 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => r.read(fd, Buffer.alloc(4), { signal: bad({}) }), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.writev(fd, bad([1])), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.openat('a\0b'), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => r.poll(fd, bad('IN')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.pollMultishot(fd, -1), 'ERR_OUT_OF_RANGE');
    await expect(r.timeout(-1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(r.timeout(bad('5'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expectArgError(() => r.cancelFd(bad(null)), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.registerFiles([]), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => r.registerFiles([bad('3')]), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => r.read(fd, Buffer.alloc(1), { fixedFile: bad(1) }), 'ERR_INVALID_ARG_TYPE');
    // options that are not an object: refused, whichever option reader comes first
    for (const options of [5, null, 'x']) {
      expectArgError(() => r.send(fd, Buffer.alloc(1), bad(options)), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => r.recv(fd, Buffer.alloc(1), bad(options)), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => r.read(fd, Buffer.alloc(1), bad(options)), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => r.readv(fd, [Buffer.alloc(1)], bad(options)), 'ERR_INVALID_ARG_TYPE');
    }
    await expect(r.connect(fd, { host: '127.0.0.1', port: 70000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(r.closeFd(closedFd())).rejects.toMatchObject({ code: 'EBADF', syscall: 'io_uring:close' });
    expectArgError(() => Ring.create(bad({ entrys: 4 })), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => Ring.create({ entries: 0 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => Ring.create({ deferTaskrun: true }), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => Ring.create({ submitBatch: 0 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => Ring.create({ submitBatch: 1.5 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => Ring.create({ submitBatch: 2 ** 32 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => Ring.create({ submitBatch: bad('2') }), 'ERR_INVALID_ARG_TYPE');
    expect(caught(() => new (Ring as unknown as new () => Ring)()).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    await expect(r.read(closedFd(), Buffer.alloc(1), { position: 0 })).rejects.toMatchObject({ code: 'EBADF', syscall: 'io_uring:read' });
    // a ring's own fds are owned: close() of them is refused, also through the ring
    expect(caught(() => close(r.fd)).code).toBe('EBUSY');
    await expect(r.closeFd(r.fd)).rejects.toMatchObject({ code: 'EBUSY' });
    const ep = Epoll.create();
    await expect(r.closeFd(ep.fd)).rejects.toMatchObject({ code: 'EBUSY' });
    ep.close();
    r.close();
    expect(caught(() => r.read(fd, Buffer.alloc(1))).code).toBe('ERR_USE_AFTER_CLOSE');
    expect(caught(() => r.submit()).code).toBe('ERR_USE_AFTER_CLOSE');
    expect(caught(() => r.registerFiles([fd])).code).toBe('ERR_USE_AFTER_CLOSE');
    expect(caught(() => r.pollMultishot(fd, POLL.IN)).code).toBe('ERR_USE_AFTER_CLOSE');
    await expect(r.fsync(fd)).rejects.toMatchObject({ code: 'ERR_USE_AFTER_CLOSE' });
    expect(r.fd).toBe(-1);
  });

  it('reads each option once: a getter cannot hand it one value to validate and another to use', async () => {
    const r = ring();
    const data = randomBytes(64);
    const [fd] = autoClose(open(tmpFile(data)));
    const [rd, wr] = autoClose(...socketpair());
    const signal = new AbortController().signal;
    const calls: Array<[string, (o: object) => Promise<unknown> | AsyncIterableIterator<number>, object]> = [
      ['read', (o) => r.read(fd, Buffer.alloc(64), o), { position: 0, offset: 0, length: 64, signal, timeoutMs: 5000, fixedFile: false }],
      ['readv', (o) => r.readv(fd, [Buffer.alloc(64)], o), { position: 0, signal, timeoutMs: 5000 }],
      ['send', (o) => r.send(wr, Buffer.from('x'), o), { offset: 0, length: 1, flags: 0, signal, timeoutMs: 5000 }],
      ['fsync', (o) => r.fsync(fd, o), { signal, timeoutMs: 5000 }],
      ['timeout', (o) => r.timeout(1, o), { signal }],
    ];
    for (const [name, call, options] of calls) {
      const [proxy, reads] = countedReads(options);
      await call(proxy);
      for (const key of Object.keys(options)) expect(reads.get(key), `${name}: options.${key}`).toBe(1);
    }
    const [proxy, reads] = countedReads({ signal });
    const events = r.pollMultishot(rd, POLL.IN, proxy);
    expect(reads.get('signal')).toBe(1);
    await events.return!();
  });

  it('aborts every operation sharing a signal, in the kernel and queued, through one listener', async () => {
    const r = ring({ entries: 16 });
    const [rd] = autoClose(...pipe());
    const controller = new AbortController();
    const reads = Array.from({ length: 300 }, () => r.read(rd, Buffer.alloc(8), { signal: controller.signal }));
    expect(r.pending).toBe(300);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('enough'));
    const settled = await Promise.allSettled(reads);
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).name === 'AbortError')).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(r.pending).toBe(0);
  });

  it('copies a write at the call, so the buffer may be reused at once', async () => {
    const r = ring();
    const path = tmpFile();
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.from('first');
    const p = r.write(fd, buf, { position: 0 });
    buf.write('XXXXX');
    await p;
    expect(readFileSync(path, 'utf8')).toBe('first');
  });

  it('batches one turn of operations into one io_uring_enter', () => {
    const entry = distEntry();
    const path = tmpFile(randomBytes(65536));
    const code = `
      import { Ring, open } from ${JSON.stringify(entry)};
      const ring = Ring.create({ entries: 64 });
      const fd = open(${JSON.stringify(path)});
      await Promise.all(Array.from({ length: 32 }, (_, i) => ring.read(fd, Buffer.alloc(512), { position: i * 512 })));
      ring.close();
    `;
    const script = fixture(code);
    const trace = join(tmpDir(), 'trace');
    // The traced Node inherits the environment: under the ASan build it
    // needs the preloaded runtime to load the addon.
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=io_uring_enter,io_uring_setup,io_uring_register', '-o', trace, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const r = { stdout: readFileSync(trace, 'utf8') };
    const lines = r.stdout.split('\n');
    // Node's own libuv may make rings too (Node 22+): ours is the 64-entry one.
    const setups = lines.map((l) => /io_uring_setup\(64, .*\) = (\d+)/.exec(l)).filter((m) => m !== null);
    expect(setups.length).toBe(1);
    const fd = setups[0]![1];
    expect(lines.some((l) => l.includes(`io_uring_register(${fd}, IORING_REGISTER_EVENTFD`))).toBe(true);
    const enters = lines.filter((l) => l.includes(`io_uring_enter(${fd}, 32,`));
    expect(enters.length).toBe(1);
  });

  it('submits at most submitBatch operations per io_uring_enter', () => {
    const entry = distEntry();
    const data = randomBytes(32 * 512);
    const path = tmpFile(data);
    const code = `
      import { Ring, open } from ${JSON.stringify(entry)};
      const ring = Ring.create({ entries: 64, submitBatch: 3 });
      const fd = open(${JSON.stringify(path)});
      const bufs = Array.from({ length: 32 }, () => Buffer.alloc(512));
      const got = await Promise.all(bufs.map((buf, i) => ring.read(fd, buf, { position: i * 512 })));
      ring.close();
      console.log(JSON.stringify({ got, hex: Buffer.concat(bufs).toString('hex') }));
    `;
    const script = fixture(code);
    const trace = join(tmpDir(), 'trace');
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=io_uring_enter,io_uring_setup', '-o', trace, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { got: number[]; hex: string };
    expect(out.got).toEqual(Array(32).fill(512));
    expect(out.hex).toBe(data.toString('hex'));
    const lines = readFileSync(trace, 'utf8').split('\n');
    const fd = /io_uring_setup\(64, .*\) = (\d+)/.exec(lines.find((l) => /io_uring_setup\(64,/.test(l)) ?? '')?.[1];
    expect(fd).toBeDefined();
    // 32 in one turn: ten enters of 3, then one of 2, and none larger.
    const sizes = lines.map((l) => new RegExp(`io_uring_enter\\(${fd}, (\\d+),`).exec(l)?.[1]).filter((n) => n !== undefined && n !== '0').map(Number);
    expect(sizes).toEqual([...Array(10).fill(3), 2]);
  });

  it('survives a Worker terminated with operations in flight', () => {
    const entry = distEntry();
    const worker = fixture(`
      import { Ring, pipe, open } from ${JSON.stringify(entry)};
      import { parentPort } from 'node:worker_threads';
      const ring = Ring.create({ entries: 256 });
      const [rd] = pipe();
      for (let i = 0; i < 1000; i++) ring.read(rd, Buffer.alloc(64)).catch(() => {});
      const fd = open('/etc/passwd');
      for (let i = 0; i < 100; i++) ring.read(fd, Buffer.alloc(64), { position: 0 });
      setTimeout(() => parentPort.postMessage('busy'), 1);
    `);
    const r = runChild(`
      import { Worker } from 'node:worker_threads';
      import { readdirSync, readlinkSync } from 'node:fs';
      import { Ring, open, debugCounters } from ${JSON.stringify(entry)};
      // the ring's own fds: the ring and its eventfd (the test's pipes leak with the Worker, as any fd would)
      const fds = () => readdirSync('/proc/self/fd').filter((fd) => { try { return /io_uring|eventfd/.test(readlinkSync('/proc/self/fd/' + fd)); } catch { return false; } }).length;
      const base = fds();
      for (let round = 0; round < 10; round++) {
        const w = new Worker(${JSON.stringify(worker)}, { execArgv: [] });
        await new Promise((res) => w.once('message', res));
        await new Promise((res) => setTimeout(res, Math.random() * 5));
        await w.terminate();
      }
      const ring = Ring.create();
      const buf = Buffer.alloc(4);
      const n = await ring.read(open('/etc/passwd'), buf, { position: 0 });
      ring.close();
      // the watcher closes its eventfd duplicate on the loop, a few turns later
      for (let i = 0; i < 100 && fds() > base; i++) await new Promise((res) => setTimeout(res, 1));
      console.log(JSON.stringify({ n, grew: fds() - base, leaked: debugCounters().leakedOnTeardown }));
    `, { timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { n: number; grew: number; leaked: number };
    expect(out.n).toBe(4);
    expect(out.grew).toBe(0);
    expect(out.leaked).toBe(0);
  });

  it('lets the process exit with operations in flight', () => {
    const entry = distEntry();
    const r = runChild(`
      import { Ring, pipe } from ${JSON.stringify(entry)};
      const ring = Ring.create();
      const [rd] = pipe();
      ring.read(rd, Buffer.alloc(8)).catch(() => {});
      setTimeout(() => { console.log('exiting'); process.exit(0); }, 10);
    `);
    expect(r.status).toBe(0);
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('exiting');
  });

  it('does not keep the process alive when idle', () => {
    const entry = distEntry();
    const r = runChild(`
      import { Ring, open } from ${JSON.stringify(entry)};
      const ring = Ring.create();
      console.log(await ring.read(open('/etc/passwd'), Buffer.alloc(4), { position: 0 }));
    `, { timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('4');
  });
});
