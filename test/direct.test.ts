import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IoError, directIoAlignment, directIoAvailable } from '../lib/index.js';
import { constant, native } from '../lib/native.js';
import { expectCode, mayskip, tmpDir, withoutPreload } from './helpers/index.js';

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
    expectCode(() => directIoAlignment(42 as never), 'ERR_INVALID_ARG_TYPE');
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
        detail: `the filesystem under ${dir} refuses O_DIRECT (EINVAL from open)`,
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
