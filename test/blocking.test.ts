import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IoError,
  O,
  RWF,
  WOULD_BLOCK,
  accept,
  bind,
  close,
  connect,
  fdatasync,
  fsync,
  getsockname,
  listen,
  open,
  pipe,
  pread,
  preadv2,
  pwrite,
  pwritev2,
  read,
  readv,
  setBlocking,
  shutdown,
  socket,
  socketpair,
  tryRead,
  write,
  writev,
} from '../lib/index.js';
import { constant, native } from '../lib/native.js';
import { autoClose, bad, caught, closedFd, distEntry, expectArgError, expectIoError, NEVER_OPENED, root, tmpDir, tmpFile, withoutPreload } from './helpers/index.js';

const IOV_MAX = constant('IOV_MAX');





/** Reads exactly `n` bytes from a blocking stream fd (TCP may split a write). */
function readExactly(fd: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = read(fd, out, got);
    if (r === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += r;
  }
  return out;
}

/** Whatever a pipe holds right now, without waiting (the read end is made non-blocking). */
function drain(r: number): string {
  setBlocking(r, false);
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = tryRead(r, buf);
    if (n === WOULD_BLOCK || n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString();
}



describe('read and write', () => {
  it('move bytes through a pipe', () => {
    const [r, w] = autoClose(...pipe());
    expect(write(w, Buffer.from('hello'))).toBe(5);
    const buf = Buffer.alloc(16);
    expect(read(r, buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('hello');
  });

  it('move bytes both ways through a socketpair', () => {
    const [a, b] = autoClose(...socketpair());
    expect(write(a, Buffer.from('ping'))).toBe(4);
    expect(readExactly(b, 4).toString()).toBe('ping');
    expect(write(b, Buffer.from('pong!'))).toBe(5);
    expect(readExactly(a, 5).toString()).toBe('pong!');
  });

  it('read and write a regular file at its current offset, which advances', () => {
    const path = tmpFile('hello world');
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.alloc(5);
    expect(read(fd, buf)).toBe(5);
    expect(buf.toString()).toBe('hello');
    expect(write(fd, Buffer.from('_'))).toBe(1); // overwrites the space at offset 5
    expect(read(fd, buf)).toBe(5);
    expect(buf.toString()).toBe('world');
    expect(read(fd, buf)).toBe(0); // end of file
    expect(readFileSync(path, 'utf8')).toBe('hello_world');
  });

  it('talk TCP over 127.0.0.1', () => {
    const [listener] = autoClose(socket('tcp4'));
    bind(listener, { host: '127.0.0.1', port: 0 });
    listen(listener);
    const address = getsockname(listener);
    if (address.family === 'unix') throw new Error('expected an inet address');
    const [client] = autoClose(socket('tcp4'));
    expect(connect(client, { host: '127.0.0.1', port: address.port })).toBe(true);
    const [server] = autoClose(accept(listener));

    expect(write(client, Buffer.from('GET / HTTP/1.0\r\n\r\n'))).toBe(18);
    expect(readExactly(server, 18).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(writev(server, [Buffer.from('HTTP/1.0 200 OK\r\n'), Buffer.from('\r\n'), Buffer.from('hi')])).toBe(21);
    expect(readExactly(client, 21).toString()).toBe('HTTP/1.0 200 OK\r\n\r\nhi');
    shutdown(server, 'write');
    expect(read(client, Buffer.alloc(8))).toBe(0);
  });

  it('return short counts as they come: 3 bytes in a pipe read with a 4096-byte buffer', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('abc'));
    const buf = Buffer.alloc(4096);
    expect(read(r, buf)).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe('abc');
    close(w);
    expect(read(r, buf)).toBe(0); // EOF once the writer is gone
  });

  it('write returns a short count on a nearly full non-blocking pipe', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    // Page-sized writes fill whole pipe slots, so the pipe ends exactly full.
    const page = Buffer.alloc(4096, 0x61);
    let total = 0;
    let err: unknown;
    for (;;) {
      try {
        total += write(w, page);
      } catch (e) {
        err = e;
        break;
      }
    }
    // The blocking API on a non-blocking fd reports EAGAIN as an error.
    expect(err).toBeInstanceOf(IoError);
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'write', fd: w });
    expect(total).toBeGreaterThan(0);
    // Free exactly one slot; a two-page write then fits only half.
    expect(read(r, Buffer.alloc(4096))).toBe(4096);
    expect(write(w, Buffer.alloc(8192, 0x62))).toBe(4096);
  });

  it('honour offset and length on a pooled Buffer slice: bytes land exactly at buffer[offset..offset+n)', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('abc'));
    const buf = Buffer.allocUnsafe(10);
    // A small allocUnsafe is a view into Node's shared pool, at a non-zero offset.
    expect(buf.buffer.byteLength).toBeGreaterThan(10);
    buf.fill(0xee);
    const pool = new Uint8Array(buf.buffer);
    const before = Uint8Array.from(pool);
    const n = read(r, buf, 3, 7);
    const changed: number[] = [];
    for (let i = 0; i < pool.length; i++) if (pool[i] !== before[i]) changed.push(i - buf.byteOffset);
    expect(n).toBe(3);
    expect(changed).toEqual([3, 4, 5]);
    expect([...buf]).toEqual([0xee, 0xee, 0xee, 0x61, 0x62, 0x63, 0xee, 0xee, 0xee, 0xee]);
  });

  it('honour offset and length when writing', () => {
    const [r, w] = autoClose(...pipe());
    const src = Buffer.allocUnsafe(10);
    src.write('0123456789');
    expect(write(w, src, 2, 5)).toBe(5);
    expect(write(w, src, 8)).toBe(2); // length defaults to the rest
    expect(write(w, src, 10)).toBe(0);
    close(w);
    expect(drain(r)).toBe('2345689');
  });

  it('count offset and length in bytes on a Uint16Array', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('wxyz'));
    const u16 = new Uint16Array(4).fill(0xeeee);
    expect(read(r, u16, 3, 4)).toBe(4);
    expect([...new Uint8Array(u16.buffer)]).toEqual([0xee, 0xee, 0xee, 0x77, 0x78, 0x79, 0x7a, 0xee]);
    expect(write(w, u16, 3, 4)).toBe(4);
    expect(read(r, Buffer.alloc(8))).toBe(4);
  });

  it('honour a DataView’s own byteOffset plus offset', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('QRS'));
    const ab = new ArrayBuffer(16);
    new Uint8Array(ab).fill(0xee);
    const view = new DataView(ab, 4, 8);
    expect(read(r, view, 1, 3)).toBe(3);
    const bytes = [...new Uint8Array(ab)];
    expect(bytes.slice(5, 8)).toEqual([0x51, 0x52, 0x53]);
    expect(bytes.filter((b, i) => b !== 0xee && (i < 5 || i >= 8))).toEqual([]);
    expect(write(w, view, 1, 3)).toBe(3);
    const out = Buffer.alloc(3);
    read(r, out);
    expect(out.toString()).toBe('QRS');
  });
});

describe('pread and pwrite', () => {
  it('read and write at a position, leaving the fd offset alone', () => {
    const path = tmpFile('0123456789');
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.alloc(4);
    expect(pread(fd, buf, 6)).toBe(4);
    expect(buf.toString()).toBe('6789');
    expect(pwrite(fd, Buffer.from('AB'), 2)).toBe(2);
    // The offset never moved: read starts at 0.
    expect(read(fd, buf)).toBe(4);
    expect(buf.toString()).toBe('01AB');
    expect(readFileSync(path, 'utf8')).toBe('01AB456789');
  });

  it('accept bigint positions', () => {
    const path = tmpFile('0123456789');
    const [fd] = autoClose(open(path, 'r+'));
    expect(pwrite(fd, Buffer.from('xy'), 8n)).toBe(2);
    const buf = Buffer.alloc(3);
    expect(pread(fd, buf, 7n)).toBe(3);
    expect(buf.toString()).toBe('7xy');
  });

  it('honour offset and length', () => {
    const path = tmpFile('abcdefgh');
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.alloc(6, '.');
    expect(pread(fd, buf, 2, 1, 3)).toBe(3);
    expect(buf.toString()).toBe('.cde..');
    expect(pwrite(fd, Buffer.from('0123456'), 0, 4, 2)).toBe(2);
    expect(readFileSync(path, 'utf8')).toBe('45cdefgh');
  });

  it('pread past end of file returns 0; pread across it returns a short count', () => {
    const path = tmpFile('abc');
    const [fd] = autoClose(open(path));
    const buf = Buffer.alloc(8);
    expect(pread(fd, buf, 3)).toBe(0);
    expect(pread(fd, buf, 1000)).toBe(0);
    expect(pread(fd, buf, 1)).toBe(2);
  });

  it('pwrite past end of file extends it with a hole', () => {
    const path = tmpFile('ab');
    const [fd] = autoClose(open(path, 'r+'));
    expect(pwrite(fd, Buffer.from('z'), 5)).toBe(1);
    expect(readFileSync(path)).toEqual(Buffer.from([0x61, 0x62, 0, 0, 0, 0x7a]));
  });

  it('fail with ESPIPE on a pipe, as the kernel says', () => {
    const [r, w] = autoClose(...pipe());
    expectIoError(() => pwrite(w, Buffer.from('x'), 0), 'ESPIPE', 'pwrite', w);
    expectIoError(() => pread(r, Buffer.alloc(1), 0), 'ESPIPE', 'pread', r);
  });
});

describe('readv and writev', () => {
  it('scatter and gather through a pipe in one call each', () => {
    const [r, w] = autoClose(...pipe());
    expect(writev(w, [Buffer.from('head'), Buffer.alloc(0), Buffer.from('-body-'), Buffer.from('tail')])).toBe(14);
    const a = Buffer.alloc(3);
    const b = Buffer.alloc(5);
    const c = Buffer.alloc(10, '.');
    expect(readv(r, [a, b, c])).toBe(14);
    expect([a.toString(), b.toString(), c.toString()]).toEqual(['hea', 'd-bod', 'y-tail....']);
  });

  it('work on a socketpair and a regular file', () => {
    const [s1, s2] = autoClose(...socketpair());
    expect(writev(s1, [Buffer.from('ab'), Buffer.from('cd')])).toBe(4);
    const x = Buffer.alloc(1);
    const y = Buffer.alloc(3);
    expect(readv(s2, [x, y])).toBe(4);
    expect(x.toString() + y.toString()).toBe('abcd');

    const path = tmpFile('');
    const [fd] = autoClose(open(path, 'r+'));
    expect(writev(fd, [Buffer.from('one '), Buffer.from('two')])).toBe(7);
    expect(readFileSync(path, 'utf8')).toBe('one two');
  });

  it('return a short count when the fd holds less than the buffers', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('xyz'));
    const a = Buffer.alloc(2, '.');
    const b = Buffer.alloc(4, '.');
    expect(readv(r, [a, b])).toBe(3);
    expect(a.toString() + b.toString()).toBe('xyz...');
  });

  it('respect a Buffer slice’s byteOffset', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('12'));
    const whole = Buffer.alloc(6, '.');
    expect(readv(r, [whole.subarray(2, 4)])).toBe(2);
    expect(whole.toString()).toBe('..12..');
  });

  it('take exactly IOV_MAX buffers', () => {
    const [r, w] = autoClose(...pipe());
    const bufs = Array.from({ length: IOV_MAX }, (_, i) => Buffer.from([i & 0xff]));
    expect(writev(w, bufs)).toBe(IOV_MAX);
    const out = Array.from({ length: IOV_MAX }, () => Buffer.alloc(1));
    expect(readv(r, out)).toBe(IOV_MAX);
    expect(out.every((b, i) => b[0] === (i & 0xff))).toBe(true);
  });

  it('return 0 for an empty list', () => {
    const [r, w] = autoClose(...pipe());
    expect(writev(w, [])).toBe(0);
    write(w, Buffer.from('q'));
    expect(readv(r, [])).toBe(0);
    expect(drain(r)).toBe('q');
  });
});

describe('preadv2 and pwritev2', () => {
  it('read and write at an explicit position without moving the offset', () => {
    const path = tmpFile('0123456789');
    const [fd] = autoClose(open(path, 'r+'));
    const a = Buffer.alloc(2);
    const b = Buffer.alloc(3);
    expect(preadv2(fd, [a, b], 4)).toBe(5);
    expect(a.toString() + b.toString()).toBe('45678');
    expect(pwritev2(fd, [Buffer.from('x'), Buffer.from('y')], 1n)).toBe(2);
    const first = Buffer.alloc(3);
    expect(read(fd, first)).toBe(3);
    expect(first.toString()).toBe('0xy');
  });

  it('use and advance the current offset with position -1 (the default)', () => {
    const path = tmpFile('abcdef');
    const [fd] = autoClose(open(path, 'r+'));
    const two = Buffer.alloc(2);
    expect(preadv2(fd, [two], -1)).toBe(2);
    expect(two.toString()).toBe('ab');
    expect(preadv2(fd, [two])).toBe(2);
    expect(two.toString()).toBe('cd');
    expect(pwritev2(fd, [Buffer.from('E')], -1n)).toBe(1); // at offset 4
    expect(pwritev2(fd, [Buffer.from('F')])).toBe(1); // at offset 5
    expect(read(fd, two)).toBe(0); // offset is now 6, the end
    expect(readFileSync(path, 'utf8')).toBe('abcdEF');
  });

  it('RWF.NOWAIT succeeds on a file whose data is in the page cache', () => {
    const path = tmpFile('cached data'); // just written, so cached
    const [fd] = autoClose(open(path));
    const buf = Buffer.alloc(32);
    expect(preadv2(fd, [buf], 0, RWF.NOWAIT)).toBe(11);
    expect(buf.subarray(0, 11).toString()).toBe('cached data');
  });

  it('RWF.APPEND appends whatever the position says', () => {
    const path = tmpFile('log:');
    const [fd] = autoClose(open(path, 'r+'));
    expect(pwritev2(fd, [Buffer.from('one,')], 0, RWF.APPEND)).toBe(4);
    expect(pwritev2(fd, [Buffer.from('two')], 1, RWF.APPEND)).toBe(3);
    expect(readFileSync(path, 'utf8')).toBe('log:one,two');
  });

  it('RWF.DSYNC and RWF.SYNC are accepted and write the data', () => {
    const path = tmpFile('');
    const [fd] = autoClose(open(path, 'r+'));
    expect(pwritev2(fd, [Buffer.from('durable')], 0, RWF.DSYNC)).toBe(7);
    expect(pwritev2(fd, [Buffer.from('!')], 7, RWF.SYNC | RWF.DSYNC)).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('durable!');
  });

  it('preadv2 past end of file returns 0', () => {
    const path = tmpFile('abc');
    const [fd] = autoClose(open(path));
    expect(preadv2(fd, [Buffer.alloc(4)], 3)).toBe(0);
  });

  it('work on a pipe with position -1 and fail with ESPIPE at a position', () => {
    const [r, w] = autoClose(...pipe());
    expect(pwritev2(w, [Buffer.from('pi'), Buffer.from('pe')], -1)).toBe(4);
    const buf = Buffer.alloc(8);
    expect(preadv2(r, [buf], -1)).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe('pipe');
    expectIoError(() => preadv2(r, [buf], 0), 'ESPIPE', 'preadv2', r);
    expectIoError(() => pwritev2(w, [buf], 0), 'ESPIPE', 'pwritev2', w);
  });
});

describe('fsync and fdatasync', () => {
  it('flush a regular file and return nothing', () => {
    const path = tmpFile('');
    const [fd] = autoClose(open(path, 'r+'));
    write(fd, Buffer.from('data'));
    expect(fsync(fd)).toBeUndefined();
    expect(fdatasync(fd)).toBeUndefined();
    // A read-only fd can be synced too.
    const [ro] = autoClose(open(path));
    expect(fsync(ro)).toBeUndefined();
  });

  it('fail with EINVAL on a pipe, which cannot be synced', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => fsync(r), 'EINVAL', 'fsync', r);
    expectIoError(() => fdatasync(r), 'EINVAL', 'fdatasync', r);
  });
});

describe('bad input', () => {
  const positional = [
    ['read', (fd: number, buf: unknown, ...rest: unknown[]) => read(fd, bad(buf), ...(rest as [never, never]))],
    ['write', (fd: number, buf: unknown, ...rest: unknown[]) => write(fd, bad(buf), ...(rest as [never, never]))],
    ['pread', (fd: number, buf: unknown, ...rest: unknown[]) => pread(fd, bad(buf), 0, ...(rest as [never, never]))],
    ['pwrite', (fd: number, buf: unknown, ...rest: unknown[]) => pwrite(fd, bad(buf), 0, ...(rest as [never, never]))],
  ] as const;
  const vectored = [
    ['readv', (fd: number, bufs: unknown) => readv(fd, bad(bufs))],
    ['writev', (fd: number, bufs: unknown) => writev(fd, bad(bufs))],
    ['preadv2', (fd: number, bufs: unknown) => preadv2(fd, bad(bufs))],
    ['pwritev2', (fd: number, bufs: unknown) => pwritev2(fd, bad(bufs))],
  ] as const;

  it.each([...positional, ...vectored])('%s rejects a bad fd with a TypeError or RangeError', (_name, call) => {
    const arg = _name.endsWith('v') || _name.endsWith('v2') ? [Buffer.alloc(1)] : Buffer.alloc(1);
    for (const fd of ['3', null, undefined, true, {}, 3n]) expectArgError(() => call(bad(fd), arg), 'ERR_INVALID_ARG_TYPE');
    for (const fd of [-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32]) expectArgError(() => call(fd, arg), 'ERR_OUT_OF_RANGE');
  });

  it.each(positional)('%s rejects a buffer that is a string, a number, an array or an ArrayBuffer', (_name, call) => {
    const [r, w] = autoClose(...pipe());
    for (const buf of ['abc', 42, [1, 2, 3], null, new ArrayBuffer(4)]) {
      expectArgError(() => call(r, buf), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(w, buf), 'ERR_INVALID_ARG_TYPE');
    }
  });

  it.each(positional)('%s rejects offset and length of the wrong type', (_name, call) => {
    const [r] = autoClose(...pipe());
    const buf = Buffer.alloc(4);
    expectArgError(() => call(r, buf, '1'), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => call(r, buf, null), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => call(r, buf, 0, '2'), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => call(r, buf, 0, 2n), 'ERR_INVALID_ARG_TYPE');
  });

  it('read checks offset and length against the buffer before any syscall', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('xyz'));
    const buf = Buffer.alloc(4, '.');
    for (const [offset, length] of [[5, undefined], [-1, undefined], [1.5, undefined], [NaN, undefined], [0, 5], [2, 3], [4, 1], [0, -1], [0, 1.5], [0, NaN], [0, Infinity], [2 ** 53, 1]] as const) {
      expectArgError(() => read(r, buf, offset, length), 'ERR_OUT_OF_RANGE');
    }
    expect(buf.toString()).toBe('....');
    expect(drain(r)).toBe('xyz'); // nothing was consumed
  });

  it('write checks offset and length against the buffer before any syscall', () => {
    const [r, w] = autoClose(...pipe());
    const buf = Buffer.from('abcd');
    for (const [offset, length] of [[5, undefined], [-1, undefined], [0, 5], [3, 2], [0, -1], [0.5, 1]] as const) {
      expectArgError(() => write(w, buf, offset, length), 'ERR_OUT_OF_RANGE');
    }
    expect(drain(r)).toBe(''); // nothing was written
  });

  it('pread and pwrite check offset, length and position before any syscall', () => {
    const path = tmpFile('0123456789');
    const [fd] = autoClose(open(path, 'r+'));
    const buf = Buffer.alloc(4, '.');
    for (const call of [pread, pwrite]) {
      expectArgError(() => call(fd, buf, 0, 5), 'ERR_OUT_OF_RANGE');
      expectArgError(() => call(fd, buf, 0, 1, 4), 'ERR_OUT_OF_RANGE');
      for (const position of [-1, -1n, 1.5, NaN, Infinity, 2 ** 53, 2n ** 63n, -(2n ** 63n)]) {
        expectArgError(() => call(fd, buf, position), 'ERR_OUT_OF_RANGE');
      }
      for (const position of ['0', null, undefined, {}]) expectArgError(() => call(fd, buf, bad(position)), 'ERR_INVALID_ARG_TYPE');
    }
    expect(buf.toString()).toBe('....');
    expect(readFileSync(path, 'utf8')).toBe('0123456789');
  });

  it('pread and pwrite pass the kernel’s answer for a position it cannot reach', () => {
    const path = tmpFile('abc');
    const [fd] = autoClose(open(path, 'r+'));
    // Valid for the API (a non-negative int64), but position + length overflows loff_t.
    expectIoError(() => pread(fd, Buffer.alloc(1), 2n ** 63n - 1n), 'EINVAL', 'pread', fd);
    expectIoError(() => pwrite(fd, Buffer.alloc(1), 2n ** 63n - 1n), 'EINVAL', 'pwrite', fd);
    expect(readFileSync(path, 'utf8')).toBe('abc');
  });

  it.each(vectored)('%s rejects a buffers argument that is not an array of Uint8Arrays', (name, call) => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('keep'));
    const fd = name.includes('write') ? w : r;
    for (const bufs of ['abc', 42, Buffer.alloc(4), null, new Set([Buffer.alloc(1)])]) {
      expectArgError(() => call(fd, bufs), 'ERR_INVALID_ARG_TYPE');
    }
    const first = Buffer.alloc(2, '.');
    for (const element of ['ab', 7, [1], new Uint16Array(2), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), null]) {
      const err = caught(() => call(fd, [first, element]));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(err.message).toContain('"buffers[1]"');
    }
    expect(first.toString()).toBe('..');
    expect(drain(r)).toBe('keep'); // nothing was read, nothing more was written
  });

  it.each(vectored)('%s rejects more than IOV_MAX buffers with a RangeError', (name, call) => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('keep'));
    const bufs = Array.from({ length: IOV_MAX + 1 }, () => Buffer.alloc(1));
    const err = caught(() => call(name.includes('write') ? w : r, bufs));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe('ERR_OUT_OF_RANGE');
    expect(drain(r)).toBe('keep');
  });

  it('preadv2 and pwritev2 reject bad positions and flags', () => {
    const path = tmpFile('0123456789');
    const [fd] = autoClose(open(path, 'r+'));
    const bufs = [Buffer.alloc(2, '.')];
    for (const call of [preadv2, pwritev2]) {
      for (const position of [-2, -2n, 1.5, 2 ** 53, 2n ** 63n]) expectArgError(() => call(fd, bufs, position), 'ERR_OUT_OF_RANGE');
      for (const position of ['0', null, {}]) expectArgError(() => call(fd, bufs, bad(position)), 'ERR_INVALID_ARG_TYPE');
      // Bits outside RWF: rejected as a bad value, not passed to the kernel.
      for (const flags of [1 << 20, 1 << 30, RWF.NOWAIT | (1 << 12)]) expectArgError(() => call(fd, bufs, 0, flags), 'ERR_INVALID_ARG_VALUE');
      for (const flags of [-1, 1.5, 2 ** 31]) expectArgError(() => call(fd, bufs, 0, flags), 'ERR_OUT_OF_RANGE');
      for (const flags of ['8', null, 8n]) expectArgError(() => call(fd, bufs, 0, bad(flags)), 'ERR_INVALID_ARG_TYPE');
    }
    expect(bufs[0]!.toString()).toBe('..');
    expect(readFileSync(path, 'utf8')).toBe('0123456789');
  });

  it('fsync and fdatasync reject a bad fd', () => {
    for (const call of [fsync, fdatasync]) {
      expectArgError(() => call(bad('3')), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(-1), 'ERR_OUT_OF_RANGE');
    }
  });

  it('every function throws IoError EBADF, with its syscall and fd, on a closed fd and a never-opened fd', () => {
    const cases: [string, (fd: number) => unknown][] = [
      ['read', (fd) => read(fd, Buffer.alloc(1))],
      ['write', (fd) => write(fd, Buffer.alloc(1))],
      ['pread', (fd) => pread(fd, Buffer.alloc(1), 0)],
      ['pwrite', (fd) => pwrite(fd, Buffer.alloc(1), 0)],
      ['readv', (fd) => readv(fd, [Buffer.alloc(1)])],
      ['writev', (fd) => writev(fd, [Buffer.alloc(1)])],
      ['preadv2', (fd) => preadv2(fd, [Buffer.alloc(1)])],
      ['pwritev2', (fd) => pwritev2(fd, [Buffer.alloc(1)])],
      ['fsync', (fd) => fsync(fd)],
      ['fdatasync', (fd) => fdatasync(fd)],
    ];
    const closed = closedFd();
    for (const [syscall, call] of cases) {
      const err = expectIoError(() => call(closed), 'EBADF', syscall, closed);
      expect(err.message).toBe(`EBADF: bad file descriptor, ${syscall}`);
      expectIoError(() => call(NEVER_OPENED), 'EBADF', syscall, NEVER_OPENED);
    }
  });

  it('reading a write-only fd and writing a read-only fd fail with EBADF', () => {
    const [r, w] = autoClose(...pipe());
    expectIoError(() => read(w, Buffer.alloc(1)), 'EBADF', 'read', w);
    expectIoError(() => readv(w, [Buffer.alloc(1)]), 'EBADF', 'readv', w);
    expectIoError(() => write(r, Buffer.from('x')), 'EBADF', 'write', r);
    expectIoError(() => writev(r, [Buffer.from('x')]), 'EBADF', 'writev', r);
    const path = tmpFile('abc');
    const [wo] = autoClose(open(path, 'w'));
    expectIoError(() => pread(wo, Buffer.alloc(1), 0), 'EBADF', 'pread', wo);
    expectIoError(() => preadv2(wo, [Buffer.alloc(1)], 0), 'EBADF', 'preadv2', wo);
    const [ro] = autoClose(open(path, 'r'));
    expectIoError(() => pwrite(ro, Buffer.from('x'), 0), 'EBADF', 'pwrite', ro);
    expectIoError(() => pwritev2(ro, [Buffer.from('x')], 0), 'EBADF', 'pwritev2', ro);
  });

  it('a use after close is EBADF, not a read from whatever reused the number', () => {
    const [r, w] = pipe();
    write(w, Buffer.from('x'));
    close(r);
    close(w);
    expectIoError(() => read(r, Buffer.alloc(1)), 'EBADF', 'read', r);
    expectIoError(() => write(w, Buffer.from('x')), 'EBADF', 'write', w);
  });

  it('the native bindings themselves throw, never crash, on bad arguments', () => {
    const [r, w] = autoClose(...pipe());
    write(w, Buffer.from('keep'));
    const buf = Buffer.alloc(4);
    expectArgError(() => native.read(bad('x'), buf, 0, 4), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.read(r, bad('str'), 0, 4), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.read(r, buf, 0, 5), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.read(r, buf, 5, 0), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.read(r, buf, -1, 1), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.write(w, buf, 2, 3), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.pread(r, buf, 0, 4, bad('0')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.pread(r, buf, 0, 4, bad(2n ** 64n)), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.readv(r, bad(buf)), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.readv(r, bad([new Uint16Array(2)])), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.writev(w, Array.from({ length: IOV_MAX + 1 }, () => buf)), 'ERR_OUT_OF_RANGE');
    expectArgError(() => native.preadv2(r, [buf], 0, bad('0')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => native.fsync(bad(undefined)), 'ERR_INVALID_ARG_TYPE');
    expect(drain(r)).toBe('keep');
  });
});


/** The kernel function a process's main thread sleeps in ('0' where the kernel hides it). */
function wchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

describe('blocking really blocks', () => {
  let entry: string;
  beforeAll(() => {
    entry = distEntry();
  });

  it('a read on an empty FIFO returns only after another process writes to it', async () => {
    const fifo = join(tmpDir(), 'fifo');
    execFileSync('mkfifo', [fifo], { env: withoutPreload() });
    const code = `
      import { open, read, O } from ${JSON.stringify(entry)};
      // O_RDWR: open does not wait for a writer, and since this fd is itself
      // a writer, read waits for data instead of reporting EOF.
      const fd = open(process.env.FIFO, O.RDWR);
      process.stdout.write('ready\\n');
      const buf = Buffer.alloc(64);
      const n = read(fd, buf);
      process.stdout.write('got ' + buf.toString('utf8', 0, n) + ' ' + process.hrtime.bigint() + '\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
      env: { ...process.env, FIFO: fifo },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    let stderr = '';
    let pending = '';
    const waiters: (() => void)[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        log.push(`child: ${pending.slice(0, nl)}`);
        pending = pending.slice(nl + 1);
      }
      waiters.splice(0).forEach((wake) => wake());
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const nextLine = () => new Promise<void>((resolve) => waiters.push(resolve));

    try {
      while (!log.includes('child: ready')) {
        if (child.exitCode !== null) throw new Error(`child exited early: ${stderr}`);
        await Promise.race([nextLine(), exited]);
      }
      // Wait until the child is asleep in the kernel's pipe read (where the
      // kernel reports it): a read that did not block would already have printed.
      const deadline = Date.now() + 15_000;
      let where = wchan(child.pid!);
      while (!/pipe_read/.test(where) && where !== '0' && where !== '' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        where = wchan(child.pid!);
      }
      if (where !== '0' && where !== '') expect(where).toMatch(/pipe_read/);

      const wroteAt = process.hrtime.bigint();
      log.push('parent: wrote');
      const [wfd] = autoClose(open(fifo, O.WRONLY));
      expect(write(wfd, Buffer.from('hello'))).toBe(5);
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      expect(log.map((line) => line.replace(/ \d+$/, ''))).toEqual(['child: ready', 'parent: wrote', 'child: got hello']);
      // CLOCK_MONOTONIC is one clock for every process on the machine.
      const gotAt = BigInt(log[2]!.split(' ').pop()!);
      expect(gotAt >= wroteAt).toBe(true);
    } finally {
      child.kill();
    }
  });
});
