/**
 * Asynchronous I/O on arm64: every backend's read and write of a file, each
 * under the capability the doctor reports for it (io_uring, Linux AIO);
 * glibc's POSIX AIO and the thread pool need none. createAsyncIo's 'auto'
 * must say why it passed over what it skipped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinuxAio, PosixAio, Ring, ThreadpoolIo, createAsyncIo, ioUringAvailable, open } from 'iomodes';
import { autoClose, capability, tmpPath } from './helpers.mjs';

/** Writes two blocks through `io` and reads them back in one readv. */
async function roundTrip(t, io, name) {
  t.after(() => io.close());
  const [fd] = autoClose(t, open(tmpPath(name), 'w+'));
  const a = Buffer.alloc(4096, 'a');
  const b = Buffer.alloc(4096, 'b');
  assert.deepEqual(await Promise.all([io.write(fd, a, { position: 0 }), io.write(fd, b, { position: 4096 })]), [4096, 4096]);
  const [x, y] = [Buffer.alloc(4096), Buffer.alloc(4096)];
  assert.equal(await io.readv(fd, [x, y], { position: 0 }), 8192);
  assert.ok(x.equals(a) && y.equals(b));
  await io.fsync(fd);
}

test('io_uring: a Ring writes and reads a file', async (t) => {
  if (!capability(t, 'io_uring')) return;
  await roundTrip(t, Ring.create({ entries: 8 }), 'ring');
});

test('Linux AIO: a LinuxAio context writes and reads a file', async (t) => {
  if (!capability(t, 'aio')) return;
  await roundTrip(t, LinuxAio.create({ entries: 8 }), 'aio');
});

test("POSIX AIO: glibc's aio threads write and read a file", async (t) => {
  await roundTrip(t, PosixAio.create({ capacity: 8 }), 'posix-aio');
});

test("thread pool: libuv's pool writes and reads a file", async (t) => {
  await roundTrip(t, ThreadpoolIo.create({ capacity: 8 }), 'threadpool');
});

test("createAsyncIo('auto'): io_uring when the probe allows it, else says why it passed it over", async (t) => {
  const io = createAsyncIo();
  const ring = ioUringAvailable();
  if (ring.ok) assert.equal(io.backend, 'io_uring');
  else assert.deepEqual(io.passedOver.find((p) => p.backend === 'io_uring')?.reason, ring.reason);
  await roundTrip(t, io, 'auto');
});
