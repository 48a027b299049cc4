import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Epoll, POLL, Ring, bind, close, debugCounters, getsockname, ioUringAvailable, listen, open, pipe, read, setBlocking, socket, write as writeSync } from '../../lib/index.js';
import { autoClose, bad, caught, closedFd, distEntry, expectArgError, fixture, mayskip, runChild, tmpDir, tmpFile } from '../helpers/index.js';

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
    await expect(r.connect(fd, { host: '127.0.0.1', port: 70000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(r.closeFd(closedFd())).rejects.toMatchObject({ code: 'EBADF', syscall: 'io_uring:close' });
    expectArgError(() => Ring.create(bad({ entrys: 4 })), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => Ring.create({ entries: 0 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => Ring.create({ deferTaskrun: true }), 'ERR_INVALID_ARG_VALUE');
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
