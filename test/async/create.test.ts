import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LinuxAio, O, PosixAio, Ring, ThreadpoolIo, createAsyncIo, directIoAvailable, open, type AsyncBackend, type AsyncIo } from '../../lib/index.js';
import { autoClose, bad, caught, countedReads, expectArgError, mayskip, tmpDir, tmpFile } from '../helpers/index.js';

const saved = process.env.IOMODES_DISABLE;
afterEach(() => {
  if (saved === undefined) delete process.env.IOMODES_DISABLE;
  else process.env.IOMODES_DISABLE = saved;
});

/** An O_DIRECT fd on a filesystem that takes it. */
function directFd(): number | undefined {
  const dir = tmpDir();
  const probe = directIoAvailable(dir);
  if (!probe.ok && mayskip(`O_DIRECT in ${dir}: ${probe.detail}`)) return undefined;
  const [fd] = autoClose(open(join(dir, 'direct'), O.RDWR | O.CREAT | O.DIRECT, { mode: 0o600 }));
  return fd;
}

describe('createAsyncIo', () => {
  it("'auto' takes io_uring when the process may use it, passing nothing over", () => {
    delete process.env.IOMODES_DISABLE;
    const io = createAsyncIo();
    try {
      expect(io.backend).toBe('io_uring');
      expect(io).toBeInstanceOf(Ring);
      expect(io.passedOver).toEqual([]);
    } finally {
      io.close();
    }
  });

  it("with io_uring disabled, 'auto' takes Linux AIO for an O_DIRECT file and the threadpool for a buffered one, saying why", () => {
    process.env.IOMODES_DISABLE = 'io_uring';
    const fd = directFd();
    if (fd === undefined) return;
    const direct = createAsyncIo({ fd });
    expect(direct.backend).toBe('linux-aio');
    expect(direct).toBeInstanceOf(LinuxAio);
    expect(direct.passedOver).toEqual([{ backend: 'io_uring', reason: 'disabled', detail: expect.stringContaining('IOMODES_DISABLE') }]);
    direct.close();
    const [buffered] = autoClose(open(tmpFile('x')));
    const pool = createAsyncIo({ fd: buffered });
    expect(pool.backend).toBe('threadpool');
    expect(pool).toBeInstanceOf(ThreadpoolIo);
    expect(pool.passedOver.map((p) => [p.backend, p.reason])).toEqual([
      ['io_uring', 'disabled'],
      ['linux-aio', 'buffered'],
    ]);
    pool.close();
  });

  it("with both disabled, 'auto' takes the threadpool even for O_DIRECT", () => {
    process.env.IOMODES_DISABLE = 'io_uring, linux-aio';
    const io = createAsyncIo({ direct: true });
    expect(io.backend).toBe('threadpool');
    expect(io.passedOver.map((p) => [p.backend, p.reason])).toEqual([
      ['io_uring', 'disabled'],
      ['linux-aio', 'disabled'],
    ]);
    io.close();
  });

  it('fails with the cause when a backend asked for by name is unavailable', () => {
    process.env.IOMODES_DISABLE = 'linux-aio';
    const err = caught(() => createAsyncIo({ backend: 'linux-aio' }));
    expect(err).toMatchObject({ code: 'ERR_ASYNC_BACKEND_UNAVAILABLE', reason: 'disabled', backend: 'linux-aio' });
    process.env.IOMODES_DISABLE = 'io_uring,linux-aio,posix-aio,threadpool';
    expect(caught(() => createAsyncIo())).toMatchObject({ code: 'ERR_ASYNC_BACKEND_UNAVAILABLE' });
  });

  it('refuses bad options', () => {
    expectArgError(() => createAsyncIo(bad('io_uring')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => createAsyncIo({ backend: bad('uring') }), 'ERR_INVALID_ARG_VALUE');
    expectArgError(() => createAsyncIo({ direct: bad(1) }), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => createAsyncIo({ fd: -1 }), 'ERR_OUT_OF_RANGE');
    expect(caught(() => createAsyncIo(bad({ backnd: 'auto' }))).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  describe.each(['io_uring', 'linux-aio', 'posix-aio', 'threadpool'] as AsyncBackend[])('the %s backend through AsyncIo', (backend) => {
    it('keeps 10,000 concurrent random-offset writes intact, read back through every backend', async () => {
      delete process.env.IOMODES_DISABLE;
      const io: AsyncIo = createAsyncIo({ backend });
      const path = tmpFile();
      const [fd] = autoClose(open(path, 'r+'));
      const BLOCK = 512;
      const COUNT = 10_000;
      const expected = Buffer.alloc(BLOCK * COUNT);
      const order = Array.from({ length: COUNT }, (_, i) => i).sort(() => Math.random() - 0.5);
      await Promise.all(
        order.map((i) => {
          const chunk = randomBytes(BLOCK);
          chunk.copy(expected, i * BLOCK);
          return io.write(fd, chunk, { position: i * BLOCK });
        }),
      );
      await io.fsync(fd);
      io.close();
      const hash = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
      for (const reader of [Ring.create(), LinuxAio.create(), PosixAio.create(), ThreadpoolIo.create()]) {
        const back = Buffer.alloc(BLOCK * COUNT);
        await Promise.all(order.map((i) => reader.read(fd, back.subarray(i * BLOCK, (i + 1) * BLOCK), { position: i * BLOCK })));
        reader.close();
        expect(hash(back), `written by ${backend}, read by ${reader.backend}`).toBe(hash(expected));
      }
    }, 60_000);

    it('reads each option once: a getter cannot hand it one value to validate and another to use', async () => {
      delete process.env.IOMODES_DISABLE;
      const io: AsyncIo = createAsyncIo({ backend });
      const [fd] = autoClose(open(tmpFile('abcdefgh'), 'r+'));
      const signal = new AbortController().signal;
      const cases: Array<[string, (o: object) => Promise<unknown>, object]> = [
        ['read', (o) => io.read(fd, Buffer.alloc(8), o), { position: 0, offset: 0, length: 8, signal }],
        ['write', (o) => io.write(fd, Buffer.from('x'), o), { position: 0, signal }],
        ['readv', (o) => io.readv(fd, [Buffer.alloc(8)], o), { position: 0, signal }],
        ['writev', (o) => io.writev(fd, [Buffer.from('y')], o), { position: 1, signal }],
        ['fsync', (o) => io.fsync(fd, o), { signal }],
      ];
      for (const [name, call, options] of cases) {
        const [proxy, reads] = countedReads(options);
        await call(proxy);
        for (const key of Object.keys(options)) expect(reads.get(key), `${name}: options.${key}`).toBe(1);
      }
      io.close();
    });

    it('listens once on a signal many operations share, and lets go of it when they settle', async () => {
      delete process.env.IOMODES_DISABLE;
      const io: AsyncIo = createAsyncIo({ backend });
      const [fd] = autoClose(open(tmpFile(randomBytes(4096)), 'r+'));
      const { signal } = new AbortController();
      const warnings: Error[] = [];
      const onWarning = (w: Error): void => void warnings.push(w);
      process.on('warning', onWarning);
      try {
        const reads = Array.from({ length: 50 }, (_, i) => io.read(fd, Buffer.alloc(64), { position: i * 64, signal }));
        expect(getEventListeners(signal, 'abort')).toHaveLength(1);
        expect(await Promise.all(reads)).toEqual(Array(50).fill(64));
        expect(getEventListeners(signal, 'abort')).toHaveLength(0);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
        io.close();
      }
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    });

    it('reads into views at every byte offset of a cache line, touching only their range', async () => {
      // The bounce block is page-aligned and the views are not: the copy out
      // takes its misaligned path for 63 of 64 offsets, and a tail of 37.
      delete process.env.IOMODES_DISABLE;
      const io: AsyncIo = createAsyncIo({ backend });
      const path = tmpFile();
      const data = randomBytes(8192 + 37);
      const [fd] = autoClose(open(path, 'r+'));
      await io.write(fd, data, { position: 0 });
      for (let at = 0; at < 64; at++) {
        const arena = Buffer.alloc(data.length + 128, 0xa5);
        expect(await io.read(fd, arena.subarray(at, at + data.length), { position: 0 })).toBe(data.length);
        expect(arena.subarray(at, at + data.length).equals(data), `offset ${at}`).toBe(true);
        expect(arena.subarray(0, at).every((b) => b === 0xa5) && arena.subarray(at + data.length).every((b) => b === 0xa5)).toBe(true);
        const [x, y] = [Buffer.alloc(4096 + 64), Buffer.alloc(data.length - 4096 + 64)];
        expect(await io.readv(fd, [x.subarray(at, at + 4096), y.subarray(63 - at, 63 - at + data.length - 4096)], { position: 0 })).toBe(data.length);
        expect(Buffer.concat([x.subarray(at, at + 4096), y.subarray(63 - at, 63 - at + data.length - 4096)]).equals(data)).toBe(true);
      }
      io.close();
    });
  });
});
