/**
 * Direct I/O (`O_DIRECT`): reads and writes that bypass the page cache, and
 * the alignment they need. For now, the probes `iomodes doctor` uses:
 * whether a directory's filesystem accepts `O_DIRECT`, and the alignment
 * `statx(2)` reports (`STATX_DIOALIGN`, Linux 6.1+).
 *
 * @module
 */
import { unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Unavailable } from './async.js';
import { IoError, check, errnoError } from './errors.js';
import { O, close, open } from './fd.js';
import { constant, native } from './native.js';
import { validatePath } from './validate.js';

/**
 * The alignment `O_DIRECT` needs on one file, as `statx(2)` reports it. Both
 * are 0 when the filesystem says the file cannot be used with `O_DIRECT`.
 */
export interface DirectIoAlignment {
  /** `stx_dio_mem_align`: a buffer's address must be a multiple of this. */
  memory: number;
  /** `stx_dio_offset_align`: file offsets and lengths must be multiples of this. */
  offset: number;
}

/** A successful {@link directIoAvailable} probe. */
export interface DirectIoProbe {
  ok: true;
  /** The directory probed. */
  path: string;
  /** The alignment of a file there, or `undefined` when the filesystem does not report it. */
  alignment: DirectIoAlignment | undefined;
}

/**
 * The `O_DIRECT` alignment of a file, from `statx(2)` with `STATX_DIOALIGN`
 * (Linux 6.1+). `undefined` means unknown: an older kernel, or a filesystem
 * that does not report it (tmpfs, and directories everywhere).
 *
 * @param path a regular file
 * @throws {@link IoError} from `statx`, such as `ENOENT`
 * @example
 * ```ts
 * import { directIoAlignment } from 'iomodes';
 * const align = directIoAlignment('/var/tmp/data');
 * const blockSize = align?.offset || 4096; // unknown: fall back to the page size
 * ```
 */
export function directIoAlignment(path: string): DirectIoAlignment | undefined {
  validatePath(path);
  const out = new Uint8Array(constant('sizeof_statx'));
  const mask = constant('STATX_DIOALIGN');
  check(native.statx(constant('AT_FDCWD'), path, constant('AT_STATX_SYNC_AS_STAT'), mask, out), 'statx', { path });
  const view = new DataView(out.buffer);
  const u32 = (field: string): number => view.getUint32(constant(`offsetof_statx_${field}`), true);
  // The kernel clears mask bits it could not fill; the fields are then zero, not "unsupported".
  if ((u32('mask') & mask) === 0) return undefined;
  return { memory: u32('dio_mem_align'), offset: u32('dio_offset_align') };
}

/**
 * Whether the filesystem under `dir` accepts `O_DIRECT`: really creates a
 * temp file there with `O_DIRECT`, asks `statx(2)` for its alignment, and
 * removes it. `EINVAL` from `open` means the filesystem refuses `O_DIRECT`
 * (tmpfs did before Linux 6.6, ramfs still does).
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
    fd = open(path, O.RDWR | O.CREAT | O.EXCL | O.DIRECT, { mode: 0o600 });
  } catch (err) {
    if (!(err instanceof IoError) || err.code !== 'EINVAL') throw err;
    // A filesystem that refuses O_DIRECT may have created the file first.
    removeQuietly(path);
    const { errno, code } = errnoError(-err.errno, 'open');
    return { ok: false, reason: 'filesystem', errno, code, syscall: 'open', detail: `the filesystem under ${dir} refuses O_DIRECT (EINVAL from open)` };
  }
  try {
    return { ok: true, path: dir, alignment: directIoAlignment(path) };
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
