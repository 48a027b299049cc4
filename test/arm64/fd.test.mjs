/**
 * The arm64 prebuild loads, and the plain syscalls work through it: fds
 * (pipe, socketpair, eventfd), blocking I/O, non-blocking I/O and errors.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  IoError, WOULD_BLOCK, close, eventfd, isBlocking, open, pipe, pread, pwrite, read, readv, recv, send, setBlocking,
  socketpair, tryRead, tryWrite, write, writev,
} from 'iomodes';
import { autoClose, tmpPath } from './helpers.mjs';

const require = createRequire(import.meta.url);
const pkg = dirname(require.resolve('iomodes/package.json'));

test('runs on arm64 and loads the arm64 prebuild, not a compiled build/', () => {
  assert.equal(arch(), 'arm64');
  const picked = require('node-gyp-build').path(pkg);
  assert.equal(picked, join(pkg, 'prebuilds/linux-arm64/iomodes.glibc.node'));
  // The ELF machine of the file node-gyp-build picked: 183 is EM_AARCH64.
  assert.equal(readFileSync(picked).readUInt16LE(18), 183);
});

test('pipe: bytes written come back in order, then EOF after the write end closes', (t) => {
  const [r, w] = autoClose(t, ...pipe());
  assert.equal(write(w, Buffer.from('hello, ')), 7);
  assert.equal(write(w, Buffer.from('arm64')), 5);
  const buf = Buffer.alloc(64);
  assert.equal(read(r, buf), 12);
  assert.equal(buf.toString('utf8', 0, 12), 'hello, arm64');
  close(w);
  assert.equal(read(r, buf), 0);
});

test('socketpair: a stream pair carries bytes both ways; a dgram pair keeps message boundaries', (t) => {
  const [a, b] = autoClose(t, ...socketpair());
  const buf = Buffer.alloc(16);
  write(a, Buffer.from('ping'));
  assert.equal(buf.toString('utf8', 0, read(b, buf)), 'ping');
  write(b, Buffer.from('pong'));
  assert.equal(buf.toString('utf8', 0, read(a, buf)), 'pong');

  const [c, d] = autoClose(t, ...socketpair({ type: 'dgram' }));
  write(c, Buffer.from('one'));
  write(c, Buffer.from('two'));
  assert.equal(buf.toString('utf8', 0, read(d, buf)), 'one');
  assert.equal(buf.toString('utf8', 0, read(d, buf)), 'two');
});

test('eventfd: writes add up into one 8-byte counter, which a read takes and resets', (t) => {
  const [fd] = autoClose(t, eventfd(0, { nonblocking: true }));
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(3n);
  write(fd, one);
  one.writeBigUInt64LE(4n);
  write(fd, one);
  const out = Buffer.alloc(8);
  assert.equal(read(fd, out), 8);
  assert.equal(out.readBigUInt64LE(), 7n);
  assert.equal(tryRead(fd, out), WOULD_BLOCK);
});

test('blocking file I/O: pwrite/pread at positions, writev/readv across buffers', (t) => {
  const [fd] = autoClose(t, open(tmpPath('blocking'), 'w+'));
  assert.equal(writev(fd, [Buffer.from('abc'), Buffer.from('defgh')]), 8);
  assert.equal(pwrite(fd, Buffer.from('XY'), 2), 2);
  const out = Buffer.alloc(8);
  assert.equal(pread(fd, out, 0), 8);
  assert.equal(out.toString(), 'abXYefgh');
  const [first, second] = [Buffer.alloc(3), Buffer.alloc(5)];
  const fd2 = open(tmpPath('blocking'), 'r');
  t.after(() => close(fd2));
  assert.equal(readv(fd2, [first, second]), 8);
  assert.equal(first.toString() + second.toString(), 'abXYefgh');
});

test('non-blocking: O_NONBLOCK toggles, an empty pipe is WOULD_BLOCK, a full one refuses writes', (t) => {
  const [r, w] = autoClose(t, ...pipe());
  assert.equal(isBlocking(r), true);
  setBlocking(r, false);
  setBlocking(w, false);
  assert.equal(isBlocking(r), false);
  const buf = Buffer.alloc(4096);
  assert.equal(tryRead(r, buf), WOULD_BLOCK);
  let total = 0;
  for (let n; (n = tryWrite(w, buf)) !== WOULD_BLOCK; ) total += n;
  assert.ok(total >= 4096, `pipe took ${total} bytes before EAGAIN`);
  let drained = 0;
  for (let n; (n = tryRead(r, buf)) !== WOULD_BLOCK; ) drained += n;
  assert.equal(drained, total);
});

test('recv/send with MSG_DONTWAIT on a socketpair', (t) => {
  const [a, b] = autoClose(t, ...socketpair());
  const buf = Buffer.alloc(8);
  assert.equal(recv(b, buf), WOULD_BLOCK);
  assert.equal(send(a, Buffer.from('dontwait')), 8);
  assert.equal(recv(b, buf), 8);
  assert.equal(buf.toString(), 'dontwait');
});

test('errors: a syscall on a closed fd throws IoError EBADF, with errno and syscall', () => {
  const [r, w] = pipe();
  close(r);
  close(w);
  assert.throws(() => read(r, Buffer.alloc(1)), (e) => e instanceof IoError && e.code === 'EBADF' && e.errno === 9 && e.syscall === 'read');
});
