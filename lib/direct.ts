/**
 * Direct I/O (`O_DIRECT`) and the page cache. Reads and writes on an
 * `O_DIRECT` fd go between the device and the caller's buffer, bypassing the
 * page cache, provided the buffer's address, the file offset and the length
 * are aligned as the file needs. This module opens such fds, finds their
 * alignment, allocates aligned buffers (Node has no aligned allocation),
 * checks alignment before each syscall, and makes the page cache visible
 * (`mincore`) and controllable (`posix_fadvise`, `fallocate`).
 *
 * @module
 */
import { fstatSync, readFileSync, statSync, unlinkSync, type BigIntStats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { markAsUntransferable } from 'node:worker_threads';
import type { Unavailable } from './async.js';
import { IoError, check, codedError, errnoError, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { O, close, directFds, open, resolveOpenFlags, type OpenFlagString, type OpenOptions } from './fd.js';
import { constant, native } from './native.js';
import { byteLengthOf, validateBuffer, validateFd, validateInteger, validateOneOf, validateOptions, validatePath } from './validate.js';

/** The page size, the unit of the page cache. */
const PAGE_SIZE = constant('PAGE_SIZE');
const MAX_ALIGNMENT = 2 ** 30;

/**
 * The alignment `O_DIRECT` needs on one file. Both are 0 when the
 * filesystem says the file cannot be used with `O_DIRECT`.
 *
 * @example
 * ```ts
 * import { directIoAlignment, allocAligned, type DirectIoAlignment } from 'iomodes';
 * const alignment: DirectIoAlignment | undefined = directIoAlignment('/var/tmp/data');
 * if (alignment) {
 *   const buf = allocAligned(8 * alignment.offset, alignment.memory); // 8 blocks, its address aligned
 * }
 * ```
 */
export interface DirectIoAlignment {
  /** A buffer's address must be a multiple of this (`stx_dio_mem_align`). */
  memory: number;
  /** File offsets and lengths must be multiples of this (`stx_dio_offset_align`). */
  offset: number;
  /**
   * Where it came from: `'statx'` (`STATX_DIOALIGN`, Linux 6.1+, what the
   * filesystem says), `'block-device'` (the device's logical block size:
   * `BLKSSZGET`, or sysfs for a file on it), or `'probe'` (trial reads).
   */
  source: 'statx' | 'block-device' | 'probe';
}

/**
 * Options of {@link directIoAlignment}.
 *
 * @example
 * ```ts
 * import { directIoAlignment, type DirectIoAlignmentOptions } from 'iomodes';
 * for (const method of ['statx', 'block-device', 'probe'] as const) {
 *   const options: DirectIoAlignmentOptions = { method };
 *   console.log(method, directIoAlignment('/var/tmp/data', options)); // each method's answer, to compare
 * }
 * ```
 */
export interface DirectIoAlignmentOptions {
  /** Use only this method (to compare them); default: each in the documented order. */
  method?: DirectIoAlignment['source'];
}

/**
 * A successful {@link directIoAvailable} probe.
 *
 * @example
 * ```ts
 * import { directIoAvailable, type DirectIoProbe, type Unavailable } from 'iomodes';
 * const probe: DirectIoProbe | Unavailable = directIoAvailable('/var/tmp');
 * if (probe.ok) console.log(probe.path, probe.alignment); // '/var/tmp' { memory: 512, offset: 512, source: 'statx' }
 * ```
 */
export interface DirectIoProbe {
  ok: true;
  /** The directory probed. */
  path: string;
  /** The alignment of a file there, or `undefined` when it cannot be found. */
  alignment: DirectIoAlignment | undefined;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function validateAlignment(alignment: unknown, name = 'alignment'): asserts alignment is number {
  validateInteger(alignment, name, 1, MAX_ALIGNMENT);
  if (!isPowerOfTwo(alignment)) throw invalidArgValue(name, alignment, 'must be a power of two');
}

function validateFdOrPath(fdOrPath: unknown): void {
  if (typeof fdOrPath === 'number') validateFd(fdOrPath, 'fdOrPath');
  else if (typeof fdOrPath === 'string') validatePath(fdOrPath, 'fdOrPath');
  else throw invalidArgType('fdOrPath', 'of type number or string', fdOrPath);
}

// ------------------------------------------------------------ filesystems

const magicNames = new Map(Object.entries(native.filesystems).map(([name, magic]) => [magic, name]));

/** A filesystem's name from its `statfs` `f_type`, as `ext4` or `0x1234abcd` when unknown. */
function filesystemName(magic: number): string {
  return magicNames.get(magic) ?? `0x${magic.toString(16)}`;
}

/**
 * Opens a file with `O_DIRECT` (and `O_CLOEXEC`). Where the filesystem
 * refuses `O_DIRECT`, the `EINVAL` says so and names the filesystem
 * (from `statfs(2)`), in `message` and in a `filesystem` property. Reads
 * and writes on the fd through iomodes are then checked for alignment
 * before each syscall (see {@link directIoAlignment}).
 *
 * @param flags Node's string flags (`'r'`, `'r+'`, `'w+'`…) or `O_*` bits; `O_DIRECT` is added
 * @throws {@link IoError} `EINVAL` with `filesystem` where `O_DIRECT` is refused; others from `open`
 * @example
 * ```ts
 * import { openDirect, allocAligned, pread, close } from 'iomodes';
 * const fd = openDirect('/var/tmp/data', 'r');
 * const buf = allocAligned(1 << 20);
 * pread(fd, buf, 0, buf.length, 0);
 * close(fd);
 * ```
 */
export function openDirect(path: string, flags: OpenFlagString | number = 'r', options?: OpenOptions): number {
  validatePath(path);
  const bits = resolveOpenFlags(flags) | O.DIRECT;
  try {
    return open(path, bits, options);
  } catch (err) {
    if (!(err instanceof IoError) || err.code !== 'EINVAL') throw err;
    // The file itself, or, if the refused open did not create it, its directory.
    let magic = native.statfs(path);
    if (magic < 0) magic = native.statfs(dirname(path));
    if (magic < 0) throw err;
    const filesystem = filesystemName(magic);
    const refused = errnoError(-err.errno, 'open', { path }, `the ${filesystem} filesystem refuses O_DIRECT (statfs f_type 0x${magic.toString(16)}): use buffered I/O there, or put the file on a filesystem that takes it (ext4, xfs, btrfs…)`);
    throw Object.assign(refused, { filesystem });
  }
}

// ------------------------------------------------------------ alignment

function statxAlignment(fdOrPath: number | string): DirectIoAlignment | undefined | null {
  const out = new Uint8Array(constant('sizeof_statx'));
  const mask = constant('STATX_DIOALIGN');
  const [dirfd, path, flags] = typeof fdOrPath === 'number' ? [fdOrPath, '', constant('AT_EMPTY_PATH')] : [constant('AT_FDCWD'), fdOrPath, 0];
  const context = typeof fdOrPath === 'number' ? { fd: fdOrPath } : { path: fdOrPath };
  check(native.statx(dirfd, path, flags | constant('AT_STATX_SYNC_AS_STAT'), mask, out), 'statx', context);
  const view = new DataView(out.buffer);
  const u32 = (field: string): number => view.getUint32(constant(`offsetof_statx_${field}`), true);
  // The kernel clears mask bits it could not fill: then it does not know
  // (null: try the next method). Filled with zeros: O_DIRECT is unsupported.
  if ((u32('mask') & mask) === 0) return null;
  const memory = u32('dio_mem_align');
  const offset = u32('dio_offset_align');
  return memory === 0 && offset === 0 ? undefined : { memory, offset, source: 'statx' };
}

function stats(fdOrPath: number | string): BigIntStats {
  try {
    return typeof fdOrPath === 'number' ? fstatSync(fdOrPath, { bigint: true }) : statSync(fdOrPath, { bigint: true });
  } catch (err) {
    // Node's own error, in iomodes' shape (its errno is negative already).
    const errno = (err as { errno?: number }).errno ?? -osConstants.errno.EIO;
    throw typeof fdOrPath === 'number' ? errnoError(errno, 'fstat', { fd: fdOrPath }) : errnoError(errno, 'stat', { path: fdOrPath });
  }
}

// The logical block size of the device under a file (sysfs), or of a block
// device itself (BLKSSZGET).
function blockDeviceAlignment(fdOrPath: number | string): DirectIoAlignment | null {
  const st = stats(fdOrPath);
  let size = -1;
  if (st.isBlockDevice()) {
    let fd = fdOrPath;
    try {
      if (typeof fd === 'string') fd = open(fd, 'r');
    } catch {
      return null; // not ours to open (EACCES; EPERM in a container)
    }
    try {
      size = native.ioctl_blksszget(fd);
    } finally {
      if (fd !== fdOrPath) close(fd);
    }
  } else {
    // dev_t's major and minor, as glibc's gnu_dev_major/minor split them.
    const dev = st.dev;
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
    // A partition has no queue/ of its own: its disk, one level up, has.
    for (const rel of ['queue', '../queue']) {
      try {
        size = Number(readFileSync(`/sys/dev/block/${major}:${minor}/${rel}/logical_block_size`, 'utf8'));
        break;
      } catch {
        // not a block-backed filesystem (tmpfs, NFS…), or no sysfs
      }
    }
  }
  return size > 0 ? { memory: size, offset: size, source: 'block-device' } : null;
}

// Trial reads with O_DIRECT: the smallest offset alignment the file takes
// (512 to 64 KiB), then the smallest memory alignment (1 to 64 KiB). An fd
// is reopened through /proc/self/fd, so its own flags and offset stay.
function probeAlignment(fdOrPath: number | string): DirectIoAlignment | undefined {
  const path = typeof fdOrPath === 'number' ? `/proc/self/fd/${fdOrPath}` : fdOrPath;
  let fd: number;
  try {
    fd = open(path, O.RDONLY | O.DIRECT);
  } catch (err) {
    if (err instanceof IoError && err.code === 'EINVAL') return undefined; // O_DIRECT refused
    throw err;
  }
  try {
    const LIMIT = 65536;
    const arena = allocAligned(LIMIT * 3, LIMIT);
    const fits = (address: number, length: number): boolean => {
      const r = native.pread(fd, arena, address, length, 0);
      return r !== -osConstants.errno.EINVAL;
    };
    let offset = 0;
    for (let a = 512; a <= LIMIT && offset === 0; a *= 2) if (fits(0, a)) offset = a;
    if (offset === 0) return undefined;
    let memory = 0;
    for (let m = 1; m <= LIMIT && memory === 0; m *= 2) if (fits(m, offset)) memory = m;
    return memory === 0 ? undefined : { memory, offset, source: 'probe' };
  } finally {
    close(fd);
  }
}

/**
 * The alignment `O_DIRECT` needs on a file (or block device), looked up in
 * this order: `statx(2)` with `STATX_DIOALIGN` (Linux 6.1+; what the
 * filesystem itself says), else the device's logical block size (`ioctl`
 * `BLKSSZGET` for a block device, `/sys/dev/block/…/queue/logical_block_size`
 * for a file on one; conservative for `memory`), else trial reads with
 * `O_DIRECT` (a probe). `undefined` means `O_DIRECT` cannot be used on it:
 * the filesystem says so, or refuses to open it that way, or it is a
 * directory.
 *
 * @param fdOrPath an open fd, or a path
 * @throws {@link IoError} from `statx`, such as `ENOENT` or `EBADF`
 * @example
 * ```ts
 * import { directIoAlignment } from 'iomodes';
 * directIoAlignment('/var/tmp/data'); // { memory: 4, offset: 512, source: 'statx' }
 * directIoAlignment(fd, { method: 'block-device' }); // { memory: 512, offset: 512, … }
 * ```
 */
export function directIoAlignment(fdOrPath: number | string, options?: DirectIoAlignmentOptions): DirectIoAlignment | undefined {
  validateFdOrPath(fdOrPath);
  validateOptions(options as unknown);
  const method = (options as DirectIoAlignmentOptions | undefined)?.method;
  if (method !== undefined) validateOneOf(method, 'options.method', ['statx', 'block-device', 'probe']);
  if (method === undefined || method === 'statx') {
    const found = statxAlignment(fdOrPath);
    if (found !== null || method === 'statx') return found ?? undefined;
  }
  if (stats(fdOrPath).isDirectory()) return undefined;
  if (method === undefined || method === 'block-device') {
    const found = blockDeviceAlignment(fdOrPath);
    if (found !== null || method === 'block-device') return found ?? undefined;
  }
  return probeAlignment(fdOrPath);
}

/**
 * Whether the filesystem under `dir` accepts `O_DIRECT`: really creates a
 * temp file there with `O_DIRECT`, looks up its alignment, and removes it.
 * `EINVAL` from `open` means the filesystem refuses `O_DIRECT` (tmpfs did
 * before Linux 6.6, ramfs still does).
 *
 * @param dir the directory to probe; default `os.tmpdir()`
 * @returns the alignment, or an {@link Unavailable} with reason `'filesystem'`
 * @throws {@link IoError} when `dir` is not a directory this process can create files in (`ENOENT`, `ENOTDIR`, `EACCES`, `EROFS`)
 * @example
 * ```ts
 * import { directIoAvailable } from 'iomodes';
 * const probe = directIoAvailable('/var/tmp');
 * if (probe.ok) console.log('O_DIRECT works, alignment', probe.alignment ?? 'unknown');
 * else console.log(probe.detail);
 * ```
 */
export function directIoAvailable(dir: string = tmpdir()): DirectIoProbe | Unavailable {
  validatePath(dir, 'dir');
  // Name the directory, not the temp file, when it is missing.
  close(open(dir, O.RDONLY | O.DIRECTORY));
  const path = join(dir, `.iomodes-probe-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openDirect(path, O.RDWR | O.CREAT | O.EXCL, { mode: 0o600 });
  } catch (err) {
    if (!(err instanceof IoError) || err.code !== 'EINVAL') throw err;
    // A filesystem that refuses O_DIRECT may have created the file first.
    removeQuietly(path);
    const { errno, code } = errnoError(-err.errno, 'open');
    const filesystem = (err as IoError & { filesystem?: string }).filesystem;
    return { ok: false, reason: 'filesystem', errno, code, syscall: 'open', detail: `the ${filesystem ?? ''} filesystem under ${dir} refuses O_DIRECT (EINVAL from open)`.replace('the  ', 'the ') };
  }
  try {
    return { ok: true, path: dir, alignment: directIoAlignment(fd) };
  } finally {
    close(fd);
    removeQuietly(path);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}

// ------------------------------------------------------------ aligned buffers

/**
 * A zero-filled `Buffer` of `size` bytes whose memory starts at a multiple
 * of `alignment`, as `O_DIRECT` needs: Node allocates no aligned memory, so
 * this carves it out of a slightly larger `ArrayBuffer` (whose memory never
 * moves). The `ArrayBuffer` is marked untransferable, so `postMessage` can
 * not detach it from under an I/O in progress.
 *
 * @param size bytes, 1 up to `buffer.constants.MAX_LENGTH` minus the alignment
 * @param alignment a power of two up to 1 GiB; default the page size (4096),
 *   enough for every device's logical block size
 * @example
 * ```ts
 * import { allocAligned, isAligned } from 'iomodes';
 * const buf = allocAligned(64 * 1024, 4096);
 * isAligned(buf, 4096); // true
 * ```
 */
export function allocAligned(size: number, alignment: number = PAGE_SIZE): Buffer {
  validateAlignment(alignment);
  validateInteger(size, 'size', 1, Number.MAX_SAFE_INTEGER);
  const max = Math.min(2 ** 32, (globalThis.Buffer as typeof Buffer & { constants?: { MAX_LENGTH: number } }).constants?.MAX_LENGTH ?? 2 ** 32) - alignment;
  if (size > max) throw outOfRange('size', `>= 1 && <= ${max}`, size);
  let backing: ArrayBuffer;
  try {
    backing = new ArrayBuffer(size + alignment - 1);
  } catch {
    throw codedError(RangeError, 'ERR_MEMORY_ALLOCATION_FAILED', `Failed to allocate ${size + alignment - 1} bytes for an aligned buffer`);
  }
  markAsUntransferable(backing);
  const skip = (alignment - native.address_mod(backing, alignment)) % alignment;
  return Buffer.from(backing, skip, size);
}

/**
 * Whether a buffer's first byte is at a multiple of `alignment`.
 *
 * @example
 * ```ts
 * import { isAligned } from 'iomodes';
 * isAligned(Buffer.alloc(8192), 4096); // usually false: Node does not align
 * ```
 */
export function isAligned(buffer: ArrayBufferView, alignment: number): boolean {
  validateBuffer(buffer);
  validateAlignment(alignment);
  return native.address_mod(buffer, alignment) === 0;
}

// ------------------------------------------------------------ checks

function directAlignmentOf(fd: number): { memory: number; offset: number } | null {
  let found = directFds.get(fd);
  if (found === undefined) return null; // not opened by iomodes with O_DIRECT
  if (found === null) {
    const a = directIoAlignment(fd);
    // Unknown (nothing reports it): the kernel's EINVAL will have to say it.
    found = a === undefined ? { memory: 1, offset: 1 } : { memory: a.memory, offset: a.offset };
    directFds.set(fd, found);
  }
  return found;
}

function misaligned(fd: number, what: string, need: number, hint: string): RangeError {
  return codedError(RangeError, 'ERR_DIRECT_IO_MISALIGNED', `O_DIRECT on fd ${fd}: the ${what} is not a multiple of ${need}; ${hint}`);
}

function checkPosition(fd: number, a: { offset: number }, position: number | bigint): void {
  if (position === -1 || position === -1n) return; // the fd's offset: the kernel checks it
  if (BigInt(position) % BigInt(a.offset) !== 0n) throw misaligned(fd, `file position (${position})`, a.offset, 'use block-aligned positions');
}

function checkMemory(fd: number, a: { memory: number; offset: number }, buffer: ArrayBufferView, offset: number, length: number, name: string, memory: boolean): void {
  if (memory && native.address_mod(new Uint8Array(buffer.buffer, buffer.byteOffset + offset, 0), a.memory) !== 0) {
    throw misaligned(fd, `${name} address${offset === 0 ? '' : ` (at offset ${offset})`}`, a.memory, 'allocate it with allocAligned()');
  }
  if (length % a.offset !== 0) throw misaligned(fd, `${name} length (${length})`, a.offset, 'round it to the block size');
}

/**
 * @internal Before a read or write on an fd {@link open} or
 * {@link openDirect} opened with `O_DIRECT`: the `length` and the file
 * `position` (unless -1, the fd's offset) must be aligned, and, when the
 * kernel will use the caller's memory (`memory`: blocking I/O), the
 * address at `buffer[offset]` too; else a `RangeError`
 * (`ERR_DIRECT_IO_MISALIGNED`) names what is not, and the alignment
 * needed. The asynchronous backends pass `memory: false`: they copy
 * through their own aligned bounce buffers, so the kernel never sees the
 * caller's address. Nothing for other fds.
 */
export function checkDirect(fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number | bigint, memory = true): void {
  const a = directAlignmentOf(fd);
  if (a === null) return;
  checkMemory(fd, a, buffer, offset, length, 'buffer', memory);
  checkPosition(fd, a, position);
}

/** @internal {@link checkDirect} for a vectored read or write: each buffer, and the position. */
export function checkDirectVectored(fd: number, buffers: readonly ArrayBufferView[], position: number | bigint, memory = true): void {
  const a = directAlignmentOf(fd);
  if (a === null) return;
  buffers.forEach((b, i) => checkMemory(fd, a, b, 0, byteLengthOf(b), `buffers[${i}]`, memory));
  checkPosition(fd, a, position);
}

// ------------------------------------------------------------ page cache

/**
 * A byte range of a file: from `offset` (default 0), `length` bytes (default to the end).
 *
 * @example
 * ```ts
 * import { open, advise, residency, close, type FileRange } from 'iomodes';
 * const fd = open('/var/tmp/data');
 * const firstMiB: FileRange = { offset: 0, length: 1 << 20 };
 * advise(fd, 'willneed', firstMiB); // start reading it into the page cache
 * residency(fd, firstMiB); // { pages: 256, resident: 256, pageSize: 4096 } once read
 * close(fd);
 * ```
 */
export interface FileRange {
  offset?: number;
  length?: number;
}

/**
 * What {@link residency} found.
 *
 * @example
 * ```ts
 * import { residency, type Residency } from 'iomodes';
 * const { pages, resident }: Residency = residency('/var/tmp/data');
 * console.log(`${resident} of ${pages} pages in the page cache`);
 * ```
 */
export interface Residency {
  /** Pages in the range (the page size is 4096 here: `pageSize`). */
  pages: number;
  /** How many of them are in the page cache. */
  resident: number;
  /** The page size, in bytes. */
  pageSize: number;
}

function resolveRange(range: unknown, size?: number): { offset: number; length: number } {
  validateOptions(range, 'range');
  const r = (range ?? {}) as FileRange;
  const offset = r.offset ?? 0;
  validateInteger(offset, 'range.offset', 0);
  const length = r.length ?? (size === undefined ? 0 : Math.max(0, size - offset));
  validateInteger(length, 'range.length', 0);
  return { offset, length };
}

/**
 * How much of a file is in the page cache, like `fincore(1)`: maps the
 * range (read-only, shared; nothing is read) and asks `mincore(2)` which
 * pages are resident. The range is clamped to the file's size.
 *
 * @param fdOrPath an fd open for reading, or a path
 * @example
 * ```ts
 * import { residency } from 'iomodes';
 * residency('/var/tmp/data'); // { pages: 256, resident: 256, pageSize: 4096 }
 * residency(fd, { offset: 0, length: 1 << 20 });
 * ```
 */
export function residency(fdOrPath: number | string, range?: FileRange): Residency {
  validateFdOrPath(fdOrPath);
  validateOptions(range, 'range');
  const fd = typeof fdOrPath === 'number' ? fdOrPath : open(fdOrPath, 'r');
  try {
    const size = Number(stats(fd).size);
    const { offset, length } = resolveRange(range, size);
    const start = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.min(offset + length, size);
    if (end <= start) return { pages: 0, resident: 0, pageSize: PAGE_SIZE };
    const resident = check(native.mincore(fd, start, end - start), 'mincore', { fd });
    return { pages: Math.ceil((end - start) / PAGE_SIZE), resident, pageSize: PAGE_SIZE };
  } finally {
    if (fd !== fdOrPath) close(fd);
  }
}

/**
 * The advice {@link advise} takes: `posix_fadvise(2)`'s `POSIX_FADV_*`.
 *
 * @example
 * ```ts
 * import { open, advise, close, type Advice } from 'iomodes';
 * const fd = open('/var/tmp/data');
 * const advice: Advice = 'random'; // no readahead: each read brings in only what it asks for
 * advise(fd, advice);
 * close(fd);
 * ```
 */
export type Advice = 'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed' | 'noreuse';

const ADVICE: Record<Advice, number> = {
  normal: constant('POSIX_FADV_NORMAL'),
  sequential: constant('POSIX_FADV_SEQUENTIAL'),
  random: constant('POSIX_FADV_RANDOM'),
  willneed: constant('POSIX_FADV_WILLNEED'),
  dontneed: constant('POSIX_FADV_DONTNEED'),
  noreuse: constant('POSIX_FADV_NOREUSE'),
};

/**
 * Tells the kernel how a range of the file will be used, with
 * `posix_fadvise(2)`: `'sequential'` doubles readahead, `'random'` turns
 * it off, `'willneed'` starts reading into the page cache now,
 * `'dontneed'` drops the range's clean pages (see {@link dropCache} for
 * dirty ones).
 *
 * @param range default the whole file
 * @example
 * ```ts
 * import { advise } from 'iomodes';
 * advise(fd, 'sequential');
 * advise(fd, 'willneed', { offset: 0, length: 1 << 20 });
 * ```
 */
export function advise(fd: number, advice: Advice, range?: FileRange): void {
  validateFd(fd);
  validateOneOf(advice, 'advice', Object.keys(ADVICE) as Advice[]);
  const { offset, length } = resolveRange(range);
  check(native.posix_fadvise(fd, offset, length, ADVICE[advice]), 'posix_fadvise', { fd });
}

/**
 * Drops a range of the file from the page cache: `fdatasync(2)` first,
 * so dirty pages are written and can go, then `posix_fadvise(DONTNEED)`.
 * Pages another process has mapped or locked stay.
 *
 * @param range default the whole file
 * @example
 * ```ts
 * import { dropCache, residency } from 'iomodes';
 * dropCache(fd);
 * residency(fd).resident; // 0
 * ```
 */
export function dropCache(fd: number, range?: FileRange): void {
  validateFd(fd);
  const { offset, length } = resolveRange(range);
  check(native.fdatasync(fd), 'fdatasync', { fd });
  check(native.posix_fadvise(fd, offset, length, ADVICE.dontneed), 'posix_fadvise', { fd });
}

/**
 * What {@link fallocate} does with the range.
 *
 * @example
 * ```ts
 * import { open, fallocate, close, type FallocateMode } from 'iomodes';
 * const fd = open('/var/tmp/reserved', 'w');
 * const mode: FallocateMode = 'keep-size'; // reserve 1 MiB; the file's size stays 0
 * fallocate(fd, 0, 1 << 20, mode);
 * close(fd);
 * ```
 */
export type FallocateMode = 'allocate' | 'keep-size' | 'punch-hole' | 'zero-range';

/**
 * Allocates (or frees) disk space for a range with `fallocate(2)`:
 * `'allocate'` reserves it and extends the file, `'keep-size'` reserves it
 * without changing the size, `'punch-hole'` frees it (reads give zeros),
 * `'zero-range'` zeroes it.
 *
 * @throws {@link IoError} `EOPNOTSUPP` where the filesystem lacks the mode
 * @example
 * ```ts
 * import { fallocate } from 'iomodes';
 * fallocate(fd, 0, 1 << 30);                    // 1 GiB, no sparse holes
 * fallocate(fd, 0, 4096, 'punch-hole');
 * ```
 */
export function fallocate(fd: number, offset: number, length: number, mode: FallocateMode = 'allocate'): void {
  validateFd(fd);
  validateInteger(offset, 'offset', 0);
  validateInteger(length, 'length', 1);
  validateOneOf(mode, 'mode', ['allocate', 'keep-size', 'punch-hole', 'zero-range']);
  const KEEP = constant('FALLOC_FL_KEEP_SIZE');
  const bits = { allocate: 0, 'keep-size': KEEP, 'punch-hole': constant('FALLOC_FL_PUNCH_HOLE') | KEEP, 'zero-range': constant('FALLOC_FL_ZERO_RANGE') }[mode];
  check(native.fallocate(fd, bits, offset, length), 'fallocate', { fd });
}

/**
 * Whether uncached buffered I/O (`RWF_DONTCACHE`, Linux 6.14+) works on the
 * filesystem under `dir`: a `pwritev2` and a `preadv2` with the flag on a
 * temp file, which is removed. Its pages go through the page cache and are
 * dropped once the I/O is done: the cache is not polluted, yet no
 * alignment is needed.
 *
 * @example
 * ```ts
 * import { uncachedIoAvailable, preadv2, RWF } from 'iomodes';
 * if (uncachedIoAvailable().ok) preadv2(fd, [buf], 0, RWF.DONTCACHE);
 * ```
 */
export function uncachedIoAvailable(dir: string = tmpdir()): { ok: true; path: string } | Unavailable {
  validatePath(dir, 'dir');
  const path = join(dir, `.iomodes-probe-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = open(path, O.RDWR | O.CREAT | O.EXCL, { mode: 0o600 });
  try {
    const buf = new Uint8Array(PAGE_SIZE);
    const flag = constant('RWF_DONTCACHE');
    for (const [syscall, r] of [
      ['pwritev2', native.pwritev2(fd, [buf], 0, flag)],
      ['preadv2', native.preadv2(fd, [buf], 0, flag)],
    ] as const) {
      if (r < 0) {
        const { errno, code } = errnoError(r, syscall);
        const magic = native.fstatfs(fd);
        return { ok: false, reason: 'filesystem', errno, code, syscall, detail: `${syscall} with RWF_DONTCACHE failed with ${code} on the ${magic >= 0 ? filesystemName(magic) : ''} filesystem under ${dir} (Linux 6.14+ and filesystem support needed)` };
      }
    }
    return { ok: true, path: dir };
  } finally {
    close(fd);
    removeQuietly(path);
  }
}
