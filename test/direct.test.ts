import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  IoError,
  RWF,
  advise,
  allocAligned,
  close,
  createAsyncIo,
  directIoAlignment,
  directIoAvailable,
  dropCache,
  fallocate,
  fdatasync,
  isAligned,
  open,
  openDirect,
  pipe,
  pread,
  preadv2,
  pwrite,
  pwritev2,
  read,
  readv,
  residency,
  uncachedIoAvailable,
  write,
  writev,
} from '../lib/index.js';
import { constant, native } from '../lib/native.js';
import { autoClose, bad, closedFd, distEntry, expectArgError, expectCode, expectIoError, mayskip, NEVER_OPENED, nodeArgv, tmpDir, withoutPreload } from './helpers/index.js';

const sh = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000, env: withoutPreload() });

function caught(fn: () => unknown): IoError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IoError);
    return err as IoError;
  }
  throw new Error('expected an IoError');
}

describe('directIoAlignment', () => {
  it('reports the alignment O_DIRECT really needs for a file on this disk', () => {
    const file = join(tmpDir(), 'data');
    writeFileSync(file, Buffer.alloc(65536, 1));
    const align = directIoAlignment(file);
    if (align === undefined && mayskip(`statx reports no STATX_DIOALIGN under ${tmpdir()}`)) return;
    const { memory, offset } = align!;
    for (const n of [memory, offset]) {
      expect(n).toBeGreaterThan(0);
      expect(n & (n - 1)).toBe(0); // a power of two
    }
    // dd's O_DIRECT buffers are page-aligned, so only the transfer size is under test.
    expect(sh(`dd if=${file} of=/dev/null bs=${offset} count=2 iflag=direct`).status).toBe(0);
    if (offset > 1) expect(sh(`dd if=${file} of=/dev/null bs=${offset / 2} count=1 iflag=direct`).stderr).toMatch(/Invalid argument/);
  });

  it('says undefined (unknown) for a directory, which statx gives no alignment for', () => {
    expect(directIoAlignment(tmpDir())).toBeUndefined();
  });

  it('throws IoError from statx, with the path, for a missing file', () => {
    const err = caught(() => directIoAlignment('/nonexistent/file'));
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'statx', path: '/nonexistent/file' });
    expect(err.message).toBe("ENOENT: no such file or directory, statx '/nonexistent/file'");
  });

  it('rejects a path that is not a string, or holds a null byte', () => {
    expectCode(() => directIoAlignment({} as never), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => directIoAlignment('a\0b'), 'ERR_INVALID_ARG_VALUE');
  });

  it('has a statx binding that checks its output buffer', () => {
    expectCode(() => native.statx(constant('AT_FDCWD'), '/', 0, constant('STATX_DIOALIGN'), new Uint8Array(16)), 'ERR_OUT_OF_RANGE');
    const out = new Uint8Array(constant('sizeof_statx'));
    expect(native.statx(constant('AT_FDCWD'), '/', 0, constant('STATX_BASIC_STATS'), out)).toBe(0);
    const view = new DataView(out.buffer);
    expect(view.getUint32(constant('offsetof_statx_mask'), true) & constant('STATX_SIZE')).toBe(constant('STATX_SIZE'));
  });
});

describe('directIoAvailable', () => {
  it('creates an O_DIRECT file in a directory on this disk, and removes it', () => {
    const dir = tmpDir();
    const probe = directIoAvailable(dir);
    if (!probe.ok && mayskip(`O_DIRECT in ${dir}: ${probe.detail}`)) return;
    expect(probe).toMatchObject({ ok: true, path: dir });
    expect(readdirSync(dir)).toEqual([]);
    // The probe file's alignment is any file's there.
    const file = join(dir, 'data');
    writeFileSync(file, '');
    if (probe.ok) expect(probe.alignment).toEqual(directIoAlignment(file));
  });

  it('defaults to os.tmpdir()', () => {
    const probe = directIoAvailable();
    expect(probe.ok ? probe.path : undefined).toBe(tmpdir());
  });

  it('agrees with dd about O_DIRECT on tmpfs (/dev/shm)', () => {
    const probe = directIoAvailable('/dev/shm');
    const target = join('/dev/shm', `iomodes-dd-${process.pid}`);
    const dd = sh(`dd if=/dev/zero of=${target} bs=4096 count=1 oflag=direct; rc=$?; rm -f ${target}; exit $rc`);
    expect(probe.ok).toBe(dd.status === 0);
    if (!probe.ok) expect(probe).toMatchObject({ reason: 'filesystem', code: 'EINVAL', syscall: 'open' });
    expect(readdirSync('/dev/shm').filter((n) => n.startsWith(`.iomodes-probe-${process.pid}-`))).toEqual([]);
  });

  it('says the filesystem refuses O_DIRECT on ramfs, and removes the file open created anyway', () => {
    const dir = tmpDir();
    const mount = sh(`mount -t ramfs none ${dir}`);
    if (mount.status !== 0 && mayskip(`cannot mount a ramfs: ${mount.stderr}`)) return;
    try {
      const probe = directIoAvailable(dir);
      expect(probe).toEqual({
        ok: false,
        reason: 'filesystem',
        errno: constants.errno.EINVAL,
        code: 'EINVAL',
        syscall: 'open',
        detail: `the ramfs filesystem under ${dir} refuses O_DIRECT (EINVAL from open)`,
      });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      expect(sh(`umount ${dir}`).status).toBe(0);
    }
  });

  it('throws IoError naming the directory when it is missing or not a directory', () => {
    expect(caught(() => directIoAvailable('/nonexistent'))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nonexistent' });
    const file = join(tmpDir(), 'file');
    writeFileSync(file, '');
    expect(caught(() => directIoAvailable(file))).toMatchObject({ code: 'ENOTDIR', path: file });
  });

  it('rejects a dir that is not a string', () => {
    expectCode(() => directIoAvailable(null as never), 'ERR_INVALID_ARG_TYPE');
  });
});

/** A file of `size` random bytes in a temp dir on this disk (ext4 here), and its contents. */
function dataFile(size: number): { path: string; data: Buffer } {
  const path = join(tmpDir(), 'data');
  const data = randomBytes(size);
  writeFileSync(path, data);
  return { path, data };
}

/** A ramfs mounted on a temp dir for the test: a filesystem that refuses O_DIRECT. */
function ramfs(): string | undefined {
  const dir = tmpDir();
  const mount = sh(`mount -t ramfs none ${dir}`);
  if (mount.status !== 0 && mayskip(`cannot mount a ramfs: ${mount.stderr}`)) return undefined;
  umounts.push(dir);
  return dir;
}
const umounts: string[] = [];
afterEach(() => {
  for (const dir of umounts.splice(0)) expect(sh(`umount ${dir}`).status).toBe(0);
});

describe('openDirect', () => {
  it('opens with O_DIRECT (and O_CLOEXEC)', () => {
    const { path } = dataFile(8192);
    const [fd] = autoClose(openDirect(path, 'r'));
    const flags = parseInt(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/flags:\s+(\d+)/)![1]!, 8);
    expect(flags & constant('O_DIRECT')).toBe(constant('O_DIRECT'));
    expect(flags & constant('O_CLOEXEC')).toBe(constant('O_CLOEXEC'));
  });

  it('names the filesystem that refuses O_DIRECT: proc, and ramfs (whose refused open created the file)', () => {
    const err = caught(() => openDirect('/proc/self/status'));
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'open', path: '/proc/self/status', filesystem: 'proc' });
    expect(err.message).toMatch(/the proc filesystem refuses O_DIRECT \(statfs f_type 0x9fa0\)/);
    const dir = ramfs();
    if (dir === undefined) return;
    const missing = join(dir, 'new');
    expect(caught(() => openDirect(missing, 'w+'))).toMatchObject({ code: 'EINVAL', filesystem: 'ramfs' });
  });

  it('passes other errors through, and rejects bad input', () => {
    expect(caught(() => openDirect('/nonexistent/file'))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nonexistent/file' });
    expectArgError(() => openDirect(bad(3)), 'ERR_INVALID_ARG_TYPE', 'path');
    expectArgError(() => openDirect('a\0b'), 'ERR_INVALID_ARG_VALUE', 'path');
    expectArgError(() => openDirect('/tmp/x', bad('rw')), 'ERR_INVALID_ARG_VALUE', 'flags');
    expectArgError(() => openDirect('/tmp/x', 'r', bad({ mode: -1 })), 'ERR_OUT_OF_RANGE', 'options.mode');
  });
});

describe('directIoAlignment, each method', () => {
  it('takes an fd as well as a path, and gives the same answer', () => {
    const { path } = dataFile(8192);
    const [fd] = autoClose(open(path, 'r'));
    expect(directIoAlignment(fd)).toEqual(directIoAlignment(path));
  });

  it('statx, the block device and the probe agree on the offset alignment of a file on this disk', () => {
    const { path } = dataFile(65536);
    const statx = directIoAlignment(path, { method: 'statx' });
    const block = directIoAlignment(path, { method: 'block-device' });
    const probe = directIoAlignment(path, { method: 'probe' });
    if (statx === undefined && mayskip('statx reports no STATX_DIOALIGN here')) return;
    expect(statx!.source).toBe('statx');
    expect(block).toMatchObject({ source: 'block-device', offset: statx!.offset, memory: statx!.offset });
    expect(probe).toMatchObject({ source: 'probe', offset: statx!.offset });
    // The probe finds the smallest memory alignment that works: never more than statx's.
    expect(probe!.memory).toBeLessThanOrEqual(statx!.memory);
    expect(directIoAlignment(path)).toEqual(statx);
  });

  it('falls back to the probe on tmpfs, which has no block device; undefined on ramfs, which refuses O_DIRECT', () => {
    const path = join('/dev/shm', `iomodes-align-${process.pid}`);
    writeFileSync(path, Buffer.alloc(8192));
    try {
      expect(directIoAlignment(path, { method: 'block-device' })).toBeUndefined();
      const found = directIoAlignment(path);
      if (found === undefined && mayskip('tmpfs refuses O_DIRECT on this kernel (before 6.6)')) return;
      expect(found!.source).not.toBe('block-device');
    } finally {
      sh(`rm -f ${path}`);
    }
    const dir = ramfs();
    if (dir === undefined) return;
    writeFileSync(join(dir, 'f'), 'x');
    expect(directIoAlignment(join(dir, 'f'))).toBeUndefined();
  });

  it('rejects bad input: fd or path of the wrong type, closed fd, unknown method', () => {
    expectArgError(() => directIoAlignment(bad(null)), 'ERR_INVALID_ARG_TYPE', 'fdOrPath');
    expectArgError(() => directIoAlignment(-1), 'ERR_OUT_OF_RANGE', 'fdOrPath');
    expectArgError(() => directIoAlignment('/tmp', bad({ method: 'guess' })), 'ERR_INVALID_ARG_VALUE', 'options.method');
    expectArgError(() => directIoAlignment('/tmp', bad(1)), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(() => directIoAlignment(closedFd())).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('allocAligned and isAligned', () => {
  it('aligns buffers of 1 byte to 64 MiB at 512 B to 64 KiB, zero-filled', () => {
    for (const alignment of [512, 1024, 4096, 16384, 65536]) {
      for (const size of [1, 511, 4096, 65537, 1 << 20, 64 << 20]) {
        const buf = allocAligned(size, alignment);
        expect(buf.length).toBe(size);
        expect(isAligned(buf, alignment)).toBe(true);
        expect(native.address_mod(buf, alignment)).toBe(0);
        if (size <= 65537) expect(buf.every((b) => b === 0)).toBe(true);
      }
    }
    expect(isAligned(allocAligned(4096), 4096)).toBe(true); // the page size by default
    expect(isAligned(allocAligned(4096, 4096).subarray(1), 2)).toBe(false);
  });

  it('cannot be transferred away by postMessage', () => {
    const buf = allocAligned(4096);
    const { port1, port2 } = new MessageChannel();
    try {
      // Node 20 leaves it out of the transfer (a copy goes); later lines throw.
      try {
        port1.postMessage(buf, [buf.buffer as ArrayBuffer]);
      } catch (err) {
        expect((err as Error).name).toBe('DataCloneError');
      }
      expect(buf.buffer.byteLength).toBeGreaterThanOrEqual(4096);
      expect(buf.length).toBe(4096);
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('rejects bad sizes and alignments', () => {
    for (const size of [0, -1, 1.5, NaN, 2 ** 53]) expect(() => allocAligned(size)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expectArgError(() => allocAligned(bad('4096')), 'ERR_INVALID_ARG_TYPE', 'size');
    for (const alignment of [3, 100, 4095, 6144]) expectArgError(() => allocAligned(4096, alignment), 'ERR_INVALID_ARG_VALUE', 'alignment');
    for (const alignment of [0, -512, 2 ** 31]) expectArgError(() => allocAligned(4096, alignment), 'ERR_OUT_OF_RANGE', 'alignment');
    expectArgError(() => isAligned(bad([1]), 512), 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectArgError(() => isAligned(Buffer.alloc(1), 3), 'ERR_INVALID_ARG_VALUE', 'alignment');
  });
});

describe('O_DIRECT reads and writes', () => {
  it('a direct write then a direct read give back the data, at several sizes and offsets, leaving the pages out of the page cache', () => {
    const path = join(tmpDir(), 'direct');
    const [fd] = autoClose(openDirect(path, 'w+'));
    const { offset: block } = directIoAlignment(fd)!;
    for (const [size, position] of [[block, 0], [4096, block * 3], [65536, 1 << 20], [1 << 20, 8 << 20], [block * 5, 3 << 20]] as const) {
      const data = allocAligned(size);
      randomBytes(size).copy(data);
      expect(pwrite(fd, data, position)).toBe(size);
      const back = allocAligned(size);
      expect(pread(fd, back, position)).toBe(size);
      expect(back.equals(data)).toBe(true);
      expect(residency(fd, { offset: position, length: size }).resident).toBe(0);
    }
    // A buffered read of one range makes it resident; dropCache empties it again.
    const range = { offset: 1 << 20, length: 65536 };
    const [buffered] = autoClose(open(path, 'r'));
    pread(buffered, Buffer.alloc(65536), range.offset);
    expect(residency(path, range)).toEqual({ pages: 16, resident: 16, pageSize: 4096 });
    dropCache(buffered, range);
    expect(residency(path, range).resident).toBe(0);
  });

  it('rejects a misaligned buffer, length or position before any syscall, naming the alignment', () => {
    const { path } = dataFile(1 << 16);
    const [fd] = autoClose(openDirect(path, 'r+'));
    const { memory, offset: block } = directIoAlignment(fd)!;
    const good = allocAligned(2 * block, 4096);
    const cases: [string, () => unknown, RegExp][] = [
      ['position', () => pread(fd, good, 1), new RegExp(`file position \\(1\\) is not a multiple of ${block}`)],
      ['length', () => pread(fd, good, 0, 0, block - 1), new RegExp(`buffer length \\(${block - 1}\\) is not a multiple of ${block}`)],
      ['write length', () => pwrite(fd, good, 0, 0, 100), /buffer length \(100\) is not a multiple/],
      ['readv', () => readv(fd, [good.subarray(0, 100)]), /buffers\[0\] length \(100\)/],
      ['writev position', () => pwritev2(fd, [good], 7), /file position \(7\)/],
      ['preadv2', () => preadv2(fd, [good.subarray(0, block), good.subarray(block, block + 3)], 0), /buffers\[1\] length \(3\)/],
      ['read', () => read(fd, good, 0, 10), /buffer length \(10\)/],
      ['write', () => write(fd, good, 0, 10), /buffer length \(10\)/],
      ['writev', () => writev(fd, [good.subarray(0, 10)]), /buffers\[0\] length \(10\)/],
    ];
    if (memory > 1) {
      cases.push(['address', () => pread(fd, good, 0, 1, block), new RegExp(`buffer address \\(at offset 1\\) is not a multiple of ${memory}; allocate it with allocAligned\\(\\)`)]);
      cases.push(['subarray address', () => pread(fd, good.subarray(1, block + 1), 0), new RegExp(`buffer address is not a multiple of ${memory}`)]);
    }
    for (const [name, call, message] of cases) {
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, name).toBeInstanceOf(RangeError);
      expect((thrown as { code?: string }).code, name).toBe('ERR_DIRECT_IO_MISALIGNED');
      expect((thrown as Error).message, name).toMatch(message);
    }
    // Aligned, the same calls go through.
    expect(pread(fd, good, 0)).toBe(2 * block);
    expect(preadv2(fd, [good.subarray(0, block), good.subarray(block)], block)).toBe(2 * block);
    // Once closed (and the number maybe reused), the fd is no longer checked.
    close(fd);
    const [plain] = autoClose(open(path, 'r'));
    expect(pread(plain, Buffer.alloc(3), 1)).toBe(3);
  });

  it('makes no syscall for a misaligned call (strace)', () => {
    const dir = tmpDir();
    const path = join(dir, 'data');
    writeFileSync(path, Buffer.alloc(65536, 1));
    const r = spawnSync(
      'strace',
      ['-f', '-qq', '-e', 'trace=pread64,pwrite64,preadv2,pwritev2,write', ...nodeArgv(), '--input-type=module', '-e', `
        import { openDirect, allocAligned, pread, pwrite, preadv2, write, open } from ${JSON.stringify(distEntry())};
        const marker = open('/dev/null', 'w');
        const fd = openDirect(${JSON.stringify(path)}, 'r+');
        const buf = allocAligned(8192);
        write(marker, Buffer.from('@@start@@'));
        for (const call of [() => pread(fd, buf, 3), () => pwrite(fd, buf, 0, 0, 17), () => pread(fd, buf, 0, 1, 512), () => preadv2(fd, [buf.subarray(0, 9)], 0)]) {
          try { call(); } catch (e) { if (e.code !== 'ERR_DIRECT_IO_MISALIGNED') throw e; }
        }
        write(marker, Buffer.from('@@end@@'));
        pread(fd, buf, 0);
      `],
      { encoding: 'utf8', env: withoutPreload() },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').map((l) => l.replace(/^\[pid\s+\d+\]\s*/, ''));
    const start = lines.findIndex((l) => l.includes('@@start@@'));
    const end = lines.findIndex((l) => l.includes('@@end@@'));
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    expect(lines.slice(start + 1, end).filter((l) => /^(pread64|pwrite64|preadv2|pwritev2)\(/.test(l))).toEqual([]);
    // ... and the aligned read after the marker is made.
    expect(lines.slice(end).some((l) => /^pread64\(\d+, .*, 8192, 0\) = 8192/.test(l))).toBe(true);
  });

  it('checks alignment before each async backend submits, too', async () => {
    const { path } = dataFile(1 << 16);
    const [fd] = autoClose(openDirect(path, 'r'));
    const { offset: block } = directIoAlignment(fd)!;
    for (const backend of ['io_uring', 'linux-aio', 'posix-aio', 'threadpool'] as const) {
      const io = createAsyncIo({ backend });
      try {
        const buf = allocAligned(block * 2);
        await expect(Promise.resolve().then(() => io.read(fd, buf, { position: 1 })), backend).rejects.toMatchObject({ code: 'ERR_DIRECT_IO_MISALIGNED' });
        await expect(Promise.resolve().then(() => io.read(fd, buf, { position: 0, length: 3 })), backend).rejects.toMatchObject({ code: 'ERR_DIRECT_IO_MISALIGNED' });
        await expect(Promise.resolve().then(() => io.readv(fd, [buf.subarray(0, 5)], { position: 0 })), backend).rejects.toMatchObject({ code: 'ERR_DIRECT_IO_MISALIGNED' });
        expect(await io.read(fd, buf, { position: 0 }), backend).toBe(block * 2);
      } finally {
        io.close();
      }
    }
  });
});

describe('the page cache', () => {
  it('residency counts resident pages of a range, clamped to the file, by fd or path', () => {
    const { path } = dataFile(10 * 4096 + 100);
    const [fd] = autoClose(open(path, 'r'));
    dropCache(fd);
    expect(residency(path)).toEqual({ pages: 11, resident: 0, pageSize: 4096 });
    pread(fd, Buffer.alloc(4096), 4096 * 2);
    const { resident } = residency(fd, { offset: 4096 * 2, length: 4096 });
    expect(resident).toBe(1);
    expect(residency(fd, { offset: 4096 * 20 })).toEqual({ pages: 0, resident: 0, pageSize: 4096 });
    expect(residency(fd, { offset: 100, length: 10 }).pages).toBe(1);
    const empty = join(tmpDir(), 'empty');
    writeFileSync(empty, '');
    expect(residency(empty)).toEqual({ pages: 0, resident: 0, pageSize: 4096 });
  });

  it("advise('willneed') reads the range in; 'dontneed' drops it", async () => {
    const { path } = dataFile(64 * 4096);
    const [fd] = autoClose(open(path, 'r'));
    dropCache(fd);
    advise(fd, 'willneed', { offset: 0, length: 16 * 4096 });
    // WILLNEED starts readahead: give it time, generously.
    for (let i = 0; i < 200 && residency(fd, { length: 16 * 4096 }).resident < 16; i++) await new Promise((r) => setTimeout(r, 10));
    expect(residency(fd, { length: 16 * 4096 }).resident).toBe(16);
    advise(fd, 'dontneed');
    expect(residency(fd).resident).toBe(0);
    for (const a of ['normal', 'sequential', 'random', 'noreuse'] as const) advise(fd, a);
  });

  it('dropCache writes dirty pages first, so it can drop them', () => {
    const path = join(tmpDir(), 'dirty');
    const [fd] = autoClose(open(path, 'w+'));
    pwrite(fd, Buffer.alloc(8 * 4096, 3), 0);
    expect(residency(fd).resident).toBe(8);
    dropCache(fd);
    expect(residency(fd).resident).toBe(0);
    expect(readFileSync(path).equals(Buffer.alloc(8 * 4096, 3))).toBe(true);
  });

  it('fallocate allocates, keeps the size, punches holes and zeroes ranges', () => {
    const path = join(tmpDir(), 'falloc');
    const [fd] = autoClose(open(path, 'w+'));
    fallocate(fd, 0, 1 << 20);
    expect(statSync(path).size).toBe(1 << 20);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(1 << 20);
    fallocate(fd, 1 << 20, 1 << 20, 'keep-size');
    expect(statSync(path).size).toBe(1 << 20);
    pwrite(fd, Buffer.alloc(8192, 9), 0);
    fallocate(fd, 0, 4096, 'punch-hole');
    fallocate(fd, 4096, 4096, 'zero-range');
    const back = Buffer.alloc(8192, 1);
    pread(fd, back, 0);
    expect(back.equals(Buffer.alloc(8192))).toBe(true);
  });

  it('RWF_DONTCACHE reads and writes through the page cache without leaving pages there', async () => {
    const probe = uncachedIoAvailable(tmpDir());
    if (!probe.ok && mayskip(`RWF_DONTCACHE: ${probe.detail}`)) return;
    const { path, data } = dataFile(64 * 4096);
    const [fd] = autoClose(open(path, 'r+'));
    dropCache(fd);
    const back = Buffer.alloc(data.length);
    expect(preadv2(fd, [back], 0, RWF.DONTCACHE)).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    expect(residency(fd).resident).toBe(0);
    // Written pages go once their writeback ends. On ext4 that is so for
    // newly allocated blocks, whose completion runs in a task; an overwrite
    // completing in interrupt context keeps its pages (docs/direct.md).
    const [fresh] = autoClose(open(join(tmpDir(), 'fresh'), 'w+'));
    pwritev2(fresh, [Buffer.alloc(16 * 4096, 5)], 0, RWF.DONTCACHE);
    fdatasync(fresh);
    for (let i = 0; i < 200 && residency(fresh).resident > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(residency(fresh)).toEqual({ pages: 16, resident: 0, pageSize: 4096 });
  });

  it('says where RWF_DONTCACHE is not supported (tmpfs)', () => {
    const probe = uncachedIoAvailable('/dev/shm');
    if (probe.ok) return; // a kernel where tmpfs takes it
    expect(probe).toMatchObject({ ok: false, reason: 'filesystem', code: 'ENOTSUP' });
    expect(probe.detail).toMatch(/tmpfs/);
    expect(readdirSync('/dev/shm').filter((n) => n.startsWith(`.iomodes-probe-${process.pid}-`))).toEqual([]);
  });

  it('rejects bad input everywhere', () => {
    const { path } = dataFile(4096);
    const [fd] = autoClose(open(path, 'r'));
    const closed = closedFd();
    expectIoError(() => residency(closed), 'EBADF', 'fstat', closed);
    expectIoError(() => residency(NEVER_OPENED), 'EBADF', 'fstat', NEVER_OPENED);
    expect(caught(() => residency('/nonexistent'))).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    expectArgError(() => residency(bad({})), 'ERR_INVALID_ARG_TYPE', 'fdOrPath');
    expectArgError(() => residency(fd, bad({ offset: -1 })), 'ERR_OUT_OF_RANGE', 'range.offset');
    expectArgError(() => residency(fd, bad({ length: 1.5 })), 'ERR_OUT_OF_RANGE', 'range.length');
    expectArgError(() => residency(fd, bad('all')), 'ERR_INVALID_ARG_TYPE', 'range');
    const [wronly] = autoClose(open(join(tmpDir(), 'w'), 'w'));
    pwrite(wronly, Buffer.alloc(10), 0);
    expectIoError(() => residency(wronly), 'EACCES', 'mincore', wronly);
    expectIoError(() => advise(NEVER_OPENED, 'normal'), 'EBADF', 'posix_fadvise', NEVER_OPENED);
    expectArgError(() => advise(fd, bad('never')), 'ERR_INVALID_ARG_VALUE', 'advice');
    expectArgError(() => advise(bad('1'), 'normal'), 'ERR_INVALID_ARG_TYPE', 'fd');
    expectIoError(() => dropCache(NEVER_OPENED), 'EBADF', 'fdatasync', NEVER_OPENED);
    expectArgError(() => dropCache(fd, bad({ offset: 'x' })), 'ERR_INVALID_ARG_TYPE', 'range.offset');
    expectIoError(() => fallocate(fd, 0, 4096), 'EBADF', 'fallocate', fd); // read-only fd
    expectIoError(() => fallocate(NEVER_OPENED, 0, 4096), 'EBADF', 'fallocate', NEVER_OPENED);
    expectArgError(() => fallocate(fd, -1, 4096), 'ERR_OUT_OF_RANGE', 'offset');
    expectArgError(() => fallocate(fd, 0, 0), 'ERR_OUT_OF_RANGE', 'length');
    expectArgError(() => fallocate(fd, 0, 1, bad('grow')), 'ERR_INVALID_ARG_VALUE', 'mode');
    const [pipeRead, pipeWrite] = autoClose(...pipe());
    expectIoError(() => advise(pipeRead, 'normal'), 'ESPIPE', 'posix_fadvise', pipeRead);
    expectIoError(() => fallocate(pipeWrite, 0, 1), 'ESPIPE', 'fallocate', pipeWrite);
    expectArgError(() => uncachedIoAvailable(bad(1)), 'ERR_INVALID_ARG_TYPE', 'dir');
  });
});
