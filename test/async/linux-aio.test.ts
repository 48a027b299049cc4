import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { IoError, LinuxAio, O, close, debugCounters, directIoAlignment, directIoAvailable, open, pipe } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { autoClose, bad, caught, closedFd, distEntry, expectArgError, expectCode, mayskip, NEVER_OPENED, root, runChild, tmpDir, tmpFile } from '../helpers/index.js';

/** A LinuxAio closed when the test ends. */
function aio(entries?: number): LinuxAio {
  const a = LinuxAio.create(entries === undefined ? undefined : { entries });
  onTestFinished(() => a.close());
  return a;
}

/** A temp file holding `contents`, opened read-write. */
function file(contents: string | Uint8Array = ''): number {
  const [fd] = autoClose(open(tmpFile(contents), 'r+'));
  return fd;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('LinuxAio.create', () => {
  it('makes a context of `entries` events (default 128) and closes it', () => {
    const a = LinuxAio.create();
    expect(a).toMatchObject({ backend: 'linux-aio', capacity: 128, pending: 0, closed: false });
    a.close();
    expect(a.closed).toBe(true);
    a.close(); // idempotent
    const b = LinuxAio.create({ entries: 3 });
    expect(b.capacity).toBe(3);
    b[Symbol.dispose]();
    expect(b.closed).toBe(true);
  });

  it('owns its eventfd while open: a plain close() of it is EBUSY, and it is closed with the context', () => {
    const base = debugCounters().ownedFds;
    const a = LinuxAio.create({ entries: 1 });
    expect(debugCounters().ownedFds).toBe(base + 1);
    a.close();
    expect(debugCounters().ownedFds).toBe(base);
    const n = new native.LinuxAio();
    expect(n.open(1)).toBe(0);
    expect(native.close(n.eventfd)).toBe(-16); // EBUSY
    n.close();
    expect(debugCounters().ownedFds).toBe(base);
  });

  it('rejects bad options before any syscall', () => {
    expectArgError(() => LinuxAio.create(bad(5)), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => LinuxAio.create({ entries: bad('8') }), 'ERR_INVALID_ARG_TYPE', 'options.entries');
    for (const entries of [0, -1, 1.5, NaN, Infinity, 2 ** 20 + 1]) expectArgError(() => LinuxAio.create({ entries }), 'ERR_OUT_OF_RANGE', 'options.entries');
  });

  it('throws EAGAIN from io_setup naming fs.aio-max-nr when the context would pass it', () => {
    const max = Number(readFileSync('/proc/sys/fs/aio-max-nr', 'utf8'));
    if (max >= 2 ** 20 && mayskip(`fs.aio-max-nr ${max} allows every context this API can ask for`)) return;
    const err = caught(() => LinuxAio.create({ entries: max + 1 }));
    expect(err).toBeInstanceOf(IoError);
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'io_setup' });
    expect(err.message).toMatch(new RegExp(`^EAGAIN: resource temporarily unavailable, io_setup \\(fs\\.aio-nr \\d+ plus ${max + 1} events would pass fs\\.aio-max-nr ${max} \\(a limit shared by the whole host\\)\\)$`));
  });

  it('cannot be constructed directly', () => {
    expectCode(() => new LinuxAio(bad(Symbol('x')), bad({})), 'ERR_ILLEGAL_CONSTRUCTOR');
  });
});

describe('LinuxAio operations', () => {
  it('reads, writes, readv, writev, fsync and fdatasync at a position', async () => {
    const a = aio(8);
    const fd = file('hello world');
    const buf = Buffer.alloc(5);
    const head = Buffer.alloc(2);
    const tail = Buffer.alloc(3);
    expect(await a.read(fd, buf, { position: 6 })).toBe(5);
    expect(buf.toString()).toBe('world');
    expect(await a.write(fd, Buffer.from('HELLO'), { position: 0 })).toBe(5);
    expect(await a.readv(fd, [head, tail], { position: 0n })).toBe(5);
    expect(Buffer.concat([head, tail]).toString()).toBe('HELLO');
    expect(await a.writev(fd, [Buffer.from('[x'), new Uint8Array([0x5d])], { position: 11 })).toBe(3);
    await expect(a.fsync(fd)).resolves.toBeUndefined();
    await expect(a.fdatasync(fd)).resolves.toBeUndefined();
    const all = Buffer.alloc(32);
    expect(await a.read(fd, all, { position: 0 })).toBe(14); // short: end of file
    expect(all.subarray(0, 14).toString()).toBe('HELLO world[x]');
    expect(await a.read(fd, all, { position: 100 })).toBe(0);
    expect(a.pending).toBe(0);
  });

  it('honours offset and length inside the buffer, and any ArrayBufferView', async () => {
    const a = aio();
    const fd = file('abcdefgh');
    const buf = Buffer.alloc(8, '.');
    expect(await a.read(fd, buf, { offset: 2, length: 3, position: 1 })).toBe(3);
    expect(buf.toString()).toBe('..bcd...');
    const words = new Uint16Array(2);
    expect(await a.read(fd, words, { position: 0 })).toBe(4);
    expect(Buffer.from(words.buffer).toString()).toBe('abcd');
    const view = new DataView(new ArrayBuffer(4));
    expect(await a.write(fd, view, { position: 4 })).toBe(4);
    expect(await a.read(fd, buf, { position: 0 })).toBe(8);
    expect([...buf]).toEqual([...Buffer.from('abcd'), 0, 0, 0, 0]);
  });

  it('requires a position: Linux AIO has no current file offset', () => {
    const a = aio();
    const fd = file('x');
    for (const options of [undefined, {}, { position: null }, { position: -1 }, { position: -1n }]) {
      expectArgError(() => a.read(fd, Buffer.alloc(1), options), 'ERR_INVALID_ARG_VALUE', 'options.position');
      expectArgError(() => a.writev(fd, [Buffer.alloc(1)], options), 'ERR_INVALID_ARG_VALUE', 'options.position');
    }
    expect(a.pending).toBe(0);
  });

  it('rejects bad arguments synchronously, before anything is submitted', () => {
    const a = aio();
    const fd = file('x');
    expectArgError(() => a.read(bad('3'), Buffer.alloc(1), { position: 0 }), 'ERR_INVALID_ARG_TYPE', 'fd');
    expectArgError(() => a.read(-1, Buffer.alloc(1), { position: 0 }), 'ERR_OUT_OF_RANGE', 'fd');
    expectArgError(() => a.read(fd, bad('str'), { position: 0 }), 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectArgError(() => a.read(fd, Buffer.alloc(4), { offset: 5, position: 0 }), 'ERR_OUT_OF_RANGE', 'offset');
    expectArgError(() => a.write(fd, Buffer.alloc(4), { length: 5, position: 0 }), 'ERR_OUT_OF_RANGE', 'length');
    expectArgError(() => a.read(fd, Buffer.alloc(1), { position: 1.5 }), 'ERR_OUT_OF_RANGE', 'options.position');
    expectArgError(() => a.read(fd, Buffer.alloc(1), { position: bad('0') }), 'ERR_INVALID_ARG_TYPE', 'options.position');
    expectArgError(() => a.read(fd, Buffer.alloc(1), bad('opts')), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => a.read(fd, Buffer.alloc(1), { position: 0, signal: bad({}) }), 'ERR_INVALID_ARG_TYPE', 'options.signal');
    expectArgError(() => a.readv(fd, bad(Buffer.alloc(1)), { position: 0 }), 'ERR_INVALID_ARG_TYPE', 'buffers');
    expectArgError(() => a.readv(fd, [], { position: 0 }), 'ERR_OUT_OF_RANGE', 'buffers.length');
    expectArgError(() => a.writev(fd, new Array(1025).fill(Buffer.alloc(1)), { position: 0 }), 'ERR_OUT_OF_RANGE', 'buffers.length');
    expectArgError(() => a.writev(fd, [Buffer.alloc(1), bad(7)], { position: 0 }), 'ERR_INVALID_ARG_TYPE', 'buffers[1]');
    expectArgError(() => a.fsync(bad(null)), 'ERR_INVALID_ARG_TYPE', 'fd');
    expectArgError(() => a.fdatasync(fd, bad(1)), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(a.pending).toBe(0);
  });

  it('rejects with an IoError for a closed or never-opened fd, naming the operation and the fd', async () => {
    const a = aio();
    const fd = closedFd();
    for (const [op, promise] of [
      ['read', a.read(fd, Buffer.alloc(1), { position: 0 })],
      ['write', a.write(NEVER_OPENED, Buffer.alloc(1), { position: 0 })],
      ['fsync', a.fsync(fd)],
    ] as const) {
      const err = await promise.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(IoError);
      expect(err).toMatchObject({ code: 'EBADF', syscall: `linux-aio:${op}`, fd: op === 'write' ? NEVER_OPENED : fd });
    }
  });

  it('passes on the errno of a failed operation (EINVAL for a directory, EAGAIN on an empty non-blocking pipe)', async () => {
    const a = aio();
    const [dir] = autoClose(open(tmpDir(), O.RDONLY | O.DIRECTORY));
    await expect(a.read(dir, Buffer.alloc(8), { position: 0 })).rejects.toMatchObject({ code: 'EINVAL', syscall: 'linux-aio:read' });
    const [r] = autoClose(...pipe({ nonblocking: true }));
    await expect(a.read(r, Buffer.alloc(8), { position: 0 })).rejects.toMatchObject({ code: 'EAGAIN' });
  });

  it('keeps more operations than the context holds in a queue, and completes them all in order of their data', async () => {
    const a = aio(2);
    const data = Buffer.alloc(4096);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const fd = file(data);
    const bufs = Array.from({ length: 64 }, () => Buffer.alloc(64));
    const all = Promise.all(bufs.map((b, i) => a.read(fd, b, { position: i * 64 })));
    expect(a.pending).toBe(64);
    expect(await all).toEqual(new Array(64).fill(64));
    expect(Buffer.concat(bufs)).toEqual(data);
    expect(a.pending).toBe(0);
  });

  it('unpins every bounce buffer once the operations settled', async () => {
    const a = aio(4);
    const fd = file('0123456789');
    const base = debugCounters().pinnedOps;
    const p = Promise.all([a.read(fd, Buffer.alloc(4), { position: 0 }), a.writev(fd, [Buffer.from('ab')], { position: 0 }), a.fsync(fd)]);
    expect(debugCounters().pinnedOps).toBe(base + 2);
    await p;
    expect(debugCounters().pinnedOps).toBe(base);
  });

  it('drops the bytes of a read whose buffer was detached in flight, with ERR_INVALID_STATE', async () => {
    const a = aio();
    const fd = file('secret');
    const buf = new Uint8Array(6);
    const p = a.read(fd, buf, { position: 0 });
    const moved = structuredClone(buf.buffer, { transfer: [buf.buffer] });
    await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(new Uint8Array(moved)).toEqual(new Uint8Array(6));
  });

  it('writes the bytes the buffer held when the operation was started', async () => {
    const a = aio();
    const fd = file('');
    const buf = Buffer.from('first');
    const p = a.write(fd, buf, { position: 0 });
    buf.write('later');
    expect(await p).toBe(5);
    expect(readFileSync(`/proc/self/fd/${fd}`, 'utf8')).toBe('first');
  });
});

describe('LinuxAio batching', () => {
  it('sends the operations of one turn to the kernel in one io_submit, as strace sees it', () => {
    if (spawnSync('strace', ['-V']).status !== 0 && mayskip('strace is not installed')) return;
    const dir = tmpDir();
    const data = join(dir, 'data');
    writeFileSync(data, Buffer.alloc(8192, 7));
    const script = join(dir, 'child.mjs');
    const trace = join(dir, 'trace.txt');
    writeFileSync(
      script,
      `import { LinuxAio, open } from ${JSON.stringify(distEntry())};
const aio = LinuxAio.create({ entries: 16 });
const fd = open(${JSON.stringify(data)}, 'r');
const first = await Promise.all(Array.from({ length: 8 }, (_, i) => aio.read(fd, Buffer.alloc(1024), { position: i * 1024 })));
const second = await Promise.all([aio.read(fd, Buffer.alloc(10), { position: 0 }), aio.fsync(fd)]);
aio.close();
console.log(JSON.stringify({ pid: process.pid, first, second }));`,
    );
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=io_submit', '-o', trace, process.execPath, script], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    if (run.status !== 0 && /ptrace|Operation not permitted/.test(run.stderr) && mayskip(`strace cannot trace here: ${run.stderr}`)) return;
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { pid: number; first: number[]; second: unknown[] };
    expect(out.first).toEqual(new Array(8).fill(1024));
    expect(out.second).toEqual([10, null]); // fsync's undefined, in JSON
    const calls = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith(`${out.pid} `) && line.includes('io_submit('));
    expect(calls.map((line) => /io_submit\(0x[0-9a-f]+, (\d+), .*\) = (\d+)$/.exec(line)?.slice(1))).toEqual([
      ['8', '8'],
      ['2', '2'],
    ]);
  });
});

describe('LinuxAio cancellation and close', () => {
  it('rejects at once for an already aborted signal', async () => {
    const a = aio();
    const fd = file('x');
    const reason = new Error('stop');
    await expect(a.read(fd, Buffer.alloc(1), { position: 0, signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      name: 'AbortError',
      code: 'ABORT_ERR',
      cause: reason,
    });
    expect(a.pending).toBe(0);
  });

  it('withdraws an operation aborted before it was submitted: AbortError, nothing written', async () => {
    const a = aio();
    const fd = file('');
    const ac = new AbortController();
    const p = a.write(fd, Buffer.from('never'), { position: 0, signal: ac.signal });
    const q = a.write(fd, Buffer.from('yes'), { position: 0 });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(await q).toBe(3);
    expect(readFileSync(`/proc/self/fd/${fd}`, 'utf8')).toBe('yes');
  });

  it('settles with its result an operation aborted once in the kernel (io_cancel refuses reads)', async () => {
    const a = aio();
    const fd = file('abc');
    const ac = new AbortController();
    const p = a.read(fd, Buffer.alloc(3), { position: 0, signal: ac.signal });
    await Promise.resolve(); // the flush microtask runs: submitted
    ac.abort();
    expect(await p).toBe(3);
  });

  it('close() rejects queued and waiting operations with AbortError, and later calls with ERR_USE_AFTER_CLOSE', async () => {
    const a = LinuxAio.create({ entries: 1 });
    const fd = file('abc');
    const queued = a.read(fd, Buffer.alloc(1), { position: 0 });
    const waiting = a.read(fd, Buffer.alloc(1), { position: 1 });
    a.close();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', message: 'The LinuxAio was closed' });
    expect(a.pending).toBe(0);
    expectCode(() => a.read(fd, Buffer.alloc(1), { position: 0 }), 'ERR_USE_AFTER_CLOSE');
    expectCode(() => a.fsync(fd), 'ERR_USE_AFTER_CLOSE');
    expectCode(() => a.writev(fd, [Buffer.alloc(1)], { position: 0 }), 'ERR_USE_AFTER_CLOSE');
  });

  it('close() settles what the kernel completed with its result', async () => {
    const a = LinuxAio.create({ entries: 4 });
    const fd = file('abc');
    const buf = Buffer.alloc(3);
    const p = a.read(fd, buf, { position: 0 });
    await Promise.resolve(); // submitted, its completion not reaped
    a.close();
    expect(await p).toBe(3);
    expect(buf.toString()).toBe('abc');
  });

  it('does not keep the process alive when idle, and exits cleanly with operations in flight', () => {
    const data = tmpFile('0123456789');
    const r = runChild(
      `import { LinuxAio, open } from ${JSON.stringify(distEntry())};
const aio = LinuxAio.create({ entries: 4 });
const fd = open(${JSON.stringify(data)}, 'r');
console.log(await aio.read(fd, Buffer.alloc(4), { position: 0 }));
aio.read(fd, Buffer.alloc(4), { position: 4 }).then((n) => console.log('later', n));
aio.read(fd, Buffer.alloc(4), { position: 4 });
setImmediate(() => process.exit(0));`,
    );
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(r.stdout).toMatch(/^4\n/);
  });

  it('is torn down with a Worker that ends with operations in flight and the context open', () => {
    const data = tmpFile('0123456789');
    const r = runChild(
      `import { Worker } from 'node:worker_threads';
import { debugCounters } from ${JSON.stringify(distEntry())};
const code = \`
  const { LinuxAio, open } = await import(${JSON.stringify(distEntry())});
  const aio = LinuxAio.create({ entries: 8 });
  const fd = open(${JSON.stringify(data)}, 'r');
  for (let i = 0; i < 8; i++) aio.read(fd, Buffer.alloc(4), { position: i });
  await Promise.resolve();
  process.exit(0);
\`;
for (let round = 0; round < 5; round++) {
  const w = new Worker(code, { eval: true });
  await new Promise((resolve) => w.once('exit', resolve));
}
console.log(JSON.stringify(debugCounters()));`,
    );
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ leakedOnTeardown: 0 });
  });
});

describe('LinuxAio with O_DIRECT', () => {
  it('writes and reads aligned blocks straight to the device, and refuses an unaligned length', async () => {
    const dir = tmpDir();
    const probe = directIoAvailable(dir);
    if (!probe.ok && mayskip(`O_DIRECT in ${dir}: ${probe.detail}`)) return;
    const path = join(dir, 'direct');
    const [fd] = autoClose(open(path, O.RDWR | O.CREAT | O.DIRECT, { mode: 0o600 }));
    const block = directIoAlignment(path)?.offset || 4096;
    const a = aio(4);
    const out = Buffer.alloc(2 * block);
    for (let i = 0; i < out.length; i++) out[i] = (i * 13) % 256;
    expect(await a.write(fd, out, { position: block })).toBe(2 * block);
    await a.fdatasync(fd);
    const back = Buffer.alloc(2 * block);
    const parts = [Buffer.alloc(block), Buffer.alloc(block)];
    expect(await Promise.all([a.read(fd, back, { position: block }), a.readv(fd, parts, { position: block })])).toEqual([2 * block, 2 * block]);
    expect(back).toEqual(out);
    expect(Buffer.concat(parts)).toEqual(out);
    // A view at an odd address works too: the kernel only sees the bounce buffer.
    const odd = Buffer.alloc(block + 1).subarray(1);
    expect(await a.read(fd, odd, { position: 2 * block })).toBe(block);
    expect(odd).toEqual(out.subarray(block));
    // iomodes opened it with O_DIRECT, so a misaligned length or position
    // is refused before io_submit; the kernel's EINVAL for an fd it did not.
    expect(() => a.read(fd, Buffer.alloc(block), { length: 100, position: 0 })).toThrow(expect.objectContaining({ code: 'ERR_DIRECT_IO_MISALIGNED' }));
    expect(() => a.read(fd, Buffer.alloc(block), { position: 1 })).toThrow(expect.objectContaining({ code: 'ERR_DIRECT_IO_MISALIGNED' }));
    const untracked = openSync(path, fsConstants.O_RDWR | fsConstants.O_DIRECT);
    try {
      await expect(a.read(untracked, Buffer.alloc(block), { length: 100, position: 0 })).rejects.toMatchObject({ code: 'EINVAL', syscall: 'linux-aio:read' });
      await expect(a.read(untracked, Buffer.alloc(block), { position: 1 })).rejects.toMatchObject({ code: 'EINVAL' });
    } finally {
      closeSync(untracked);
    }
    close(fd);
  });
});

describe('LinuxAio native object', () => {
  it('checks its receiver and its construction', () => {
    expectCode(() => native.LinuxAio.prototype.submit.call({}), 'ERR_INVALID_THIS');
    expectCode(() => (native.LinuxAio as unknown as () => void)(), 'ERR_CONSTRUCT_CALL_REQUIRED');
  });

  it('refuses a busy slot, a slot out of range, a second open and any use after close', () => {
    const n = new native.LinuxAio();
    expect(n.submit()).toBe(-9); // EBADF: not open
    expect(n.open(0)).toBe(-22); // EINVAL
    expect(n.open(2)).toBe(0);
    expect(n.open(2)).toBe(-114); // EALREADY
    const fd = file('abc');
    expect(n.fsync(0, fd)).toBe(0);
    expect(n.fsync(0, fd)).toBe(-16); // EBUSY
    expect(n.read(2, fd, Buffer.alloc(1), 0, 1, 0)).toBe(-22); // slot 2 of 2
    expect(n.read(1, fd, Buffer.alloc(1), 0, 1, -5)).toBe(-22); // negative position
    expect(n.cancel(1)).toBe(-2); // ENOENT: free
    expect(n.cancel(0)).toBe(0); // withdrawn before submission
    const out = new Float64Array(8);
    expect(n.reap(out)).toBe(1);
    expect([out[0], out[1]]).toEqual([0, -125]); // ECANCELED
    expect(n.close()).toBe(0);
    expect(n.eventfd).toBe(-1);
    expect(n.read(0, fd, Buffer.alloc(1), 0, 1, 0)).toBe(-9);
    expectCode(() => n.read(0, fd, bad('x'), 0, 1, 0), 'ERR_INVALID_ARG_TYPE');
    expect(n.close()).toBe(0);
  });

  it('survives a buffer list whose getter closes the context or takes the same slot', async () => {
    const fd = file('abcdef');
    const n = new native.LinuxAio();
    expect(n.open(2)).toBe(0);
    const list = [new Uint8Array(2)];
    Object.defineProperty(list, 1, { get: () => (n.readv(0, fd, [new Uint8Array(1)], 0), new Uint8Array(2)), enumerable: true });
    expect(n.readv(0, fd, list, 0)).toBe(0); // the inner call found the slot busy
    expect(n.submit()).toBe(0);
    await turn();
    const closing = [new Uint8Array(2)];
    Object.defineProperty(closing, 1, { get: () => (n.close(), new Uint8Array(2)), enumerable: true });
    expect(n.readv(1, fd, closing, 0)).toBe(-9);
    const out = new Float64Array(8);
    expect(n.reap(out)).toBe(1);
    expect([out[0], out[1]]).toEqual([0, 4]);
  });
});
