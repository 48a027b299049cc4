/**
 * Direct I/O and page-cache helpers on arm64: aligned memory, O_DIRECT
 * reads and writes (when the doctor's probe says tmpdir takes O_DIRECT),
 * the alignment check that refuses a misaligned buffer before any syscall,
 * and mincore/fadvise/fallocate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advise, allocAligned, close, directIoAlignment, dropCache, fallocate, isAligned, open, openDirect, pread, pwrite, residency } from 'iomodes';
import { autoClose, capability, tmpPath } from './helpers.mjs';

test('allocAligned: the buffer starts on the alignment asked for', () => {
  for (const alignment of [512, 4096, 65536]) {
    const buf = allocAligned(8192, alignment);
    assert.equal(buf.length, 8192);
    assert.equal(isAligned(buf, alignment), true);
  }
  assert.equal(isAligned(allocAligned(8192, 4096).subarray(1), 512), false);
});

test('O_DIRECT: an aligned pwrite and pread round-trip; a misaligned buffer is refused', (t) => {
  if (!capability(t, 'direct')) return;
  const path = tmpPath('direct');
  const [fd] = autoClose(t, openDirect(path, 'w+'));
  const align = directIoAlignment(fd);
  const block = Math.max(4096, align?.memory ?? 0, align?.offset ?? 0);
  const out = allocAligned(block, block).fill(0x5a);
  assert.equal(pwrite(fd, out, 0), block);
  const back = allocAligned(block, block);
  assert.equal(pread(fd, back, 0), block);
  assert.ok(back.every((byte) => byte === 0x5a));
  // With the alignment known, iomodes refuses a misaligned buffer before the
  // syscall; unknown (qemu-user passes no STATX_DIOALIGN), the kernel does.
  const misaligned = allocAligned(block + 512, block).subarray(1, 1 + block);
  assert.throws(() => pread(fd, misaligned, 0), { code: align ? 'ERR_DIRECT_IO_MISALIGNED' : 'EINVAL' });
});

test('residency, advise, dropCache and fallocate on a buffered file', (t) => {
  const [fd] = autoClose(t, open(tmpPath('cache'), 'w+'));
  fallocate(fd, 0, 64 * 1024);
  pwrite(fd, Buffer.alloc(64 * 1024, 1), 0);
  const warm = residency(fd);
  assert.equal(warm.pages, (64 * 1024) / warm.pageSize);
  assert.ok(warm.resident > 0, 'just-written pages are in the page cache');
  advise(fd, 'sequential');
  dropCache(fd);
  assert.ok(residency(fd).resident <= warm.resident);
  fallocate(fd, 0, 4096, 'punch-hole');
  const head = Buffer.alloc(4096, 9);
  pread(fd, head, 0);
  assert.ok(head.every((byte) => byte === 0), 'a punched hole reads as zeros');
});
