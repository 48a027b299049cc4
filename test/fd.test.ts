import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Epoll,
  IoError,
  O,
  accept,
  bind,
  close,
  connect,
  dup,
  eventfd,
  finishConnect,
  getpeername,
  getsockname,
  getsockopt,
  listen,
  open,
  pipe,
  read,
  setBlocking,
  setsockopt,
  shutdown,
  socket,
  socketpair,
  write,
  type ResolvedAddress,
  type SocketKind,
} from '../lib/index.js';
import { constant } from '../lib/native.js';
import { autoClose, caught, expectArgError, expectIoError, mayskip, tmpDir, tmpFile, withoutPreload } from './helpers/index.js';

// ---------------------------------------------------------------- helpers

/** The `flags:` field of /proc/self/fdinfo/<fd>: the kernel's own view. */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!m) throw new Error(`no flags in fdinfo of ${fd}`);
  return parseInt(m[1]!, 8);
}
const isCloexec = (fd: number) => (fdFlags(fd) & O.CLOEXEC) !== 0;
const isNonblocking = (fd: number) => (fdFlags(fd) & O.NONBLOCK) !== 0;
const isOpen = (fd: number) => existsSync(`/proc/self/fdinfo/${fd}`);
const fdCount = () => readdirSync('/proc/self/fd').length;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps without the event loop (the tests are synchronous). */
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/** Polls `ready` with small sleeps; fails after a generous 5 s. */
function waitFor(ready: () => boolean, what: string): void {
  const deadline = Date.now() + 5_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    sleep(2);
  }
}

/** Reads exactly `n` bytes from a non-blocking fd, waiting at most 5 s. */
function readBytes(fd: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  waitFor(() => {
    try {
      const r = read(fd, buf, got);
      if (r === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
      got += r;
    } catch (err) {
      if ((err as IoError).code !== 'EAGAIN') throw err;
    }
    return got === n;
  }, `${n} bytes on fd ${fd}`);
  return buf;
}

/** Waits until a non-blocking fd reads EOF (0). */
function expectEof(fd: number): void {
  let eof = false;
  waitFor(() => {
    try {
      const r = read(fd, Buffer.alloc(16));
      if (r !== 0) throw new Error(`expected EOF, read ${r} bytes`);
      eof = true;
    } catch (err) {
      if ((err as IoError).code !== 'EAGAIN') throw err;
    }
    return eof;
  }, `EOF on fd ${fd}`);
}

/** The TCP state of a socket in /proc/net/tcp{,6} (hex, '02' = SYN_SENT), or undefined once gone. */
function tcpState(fd: number): string | undefined {
  const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))![1];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[9] === inode) return cols[3];
    }
  }
  return undefined;
}




const NEVER_OPENED = 1_000_000;
const badTypeFds: unknown[] = ['3', {}, undefined, null, 3n, [3], true, () => 3];
const badRangeFds: unknown[] = [-1, 1_000_000.5, 2 ** 31, 2 ** 32, NaN, Infinity, -Infinity, 2 ** 53];

/** An fd that was open a moment ago and is closed now. */
function closedFd(): number {
  const [r, w] = pipe();
  close(w);
  close(r);
  return r;
}

/**
 * The bad-fd cases every fd-taking function shares: wrong types and ranges
 * throw argument errors before any syscall; never-opened and closed fds give
 * EBADF from the named syscall.
 */
function rejectsBadFds(syscall: string, call: (fd: number) => unknown): void {
  it.each(badTypeFds.map((v) => [v]))('throws ERR_INVALID_ARG_TYPE for fd %o', (fd) => {
    expectArgError(() => call(fd as number), 'ERR_INVALID_ARG_TYPE', 'fd');
  });
  it.each(badRangeFds.map((v) => [v]))('throws ERR_OUT_OF_RANGE for fd %o', (fd) => {
    expectArgError(() => call(fd as number), 'ERR_OUT_OF_RANGE', 'fd');
  });
  it(`gives EBADF from ${syscall} for a never-opened or closed fd`, () => {
    for (const fd of [NEVER_OPENED, closedFd()]) {
      const err = expectIoError(() => call(fd), 'EBADF', syscall, { fd });
      expect(err.message).toBe(`EBADF: bad file descriptor, ${syscall}`);
      expect(err.errno).toBe(9);
    }
  });
}

function loopback(kind: SocketKind): string {
  return kind.endsWith('6') ? '::1' : '127.0.0.1';
}

/** A listening TCP socket on loopback, port 0. */
function tcpListener(kind: 'tcp4' | 'tcp6' = 'tcp4'): { fd: number; port: number; host: string } {
  const [fd] = autoClose(socket(kind));
  const host = loopback(kind);
  bind(fd, { host, port: 0 });
  listen(fd);
  const addr = getsockname(fd) as { port: number };
  return { fd, port: addr.port, host };
}

/** A connected TCP pair: blocking connect, then accept. */
function tcpPair(kind: 'tcp4' | 'tcp6' = 'tcp4') {
  const listener = tcpListener(kind);
  const [client] = autoClose(socket(kind));
  expect(connect(client, { host: listener.host, port: listener.port })).toBe(true);
  const [server] = autoClose(accept(listener.fd));
  return { listener, client, server };
}

const hasIpv6 = (() => {
  try {
    const fd = socket('tcp6');
    try {
      bind(fd, { host: '::1', port: 0 });
    } finally {
      close(fd);
    }
    return true;
  } catch {
    return false;
  }
})();

/** True when a test must stop for want of IPv6 loopback (throws under IOMODES_REQUIRE_ALL=1). */
const withoutIpv6 = (): boolean => !hasIpv6 && mayskip('IPv6 loopback (::1) is not available');

// ---------------------------------------------------------------- O

describe('O', () => {
  it('matches the O_* values Node itself uses', () => {
    const names = ['RDONLY', 'WRONLY', 'RDWR', 'CREAT', 'EXCL', 'TRUNC', 'APPEND', 'NONBLOCK', 'DIRECT', 'SYNC', 'DSYNC', 'NOATIME', 'NOFOLLOW', 'DIRECTORY', 'NOCTTY'] as const;
    for (const name of names) expect(O[name], name).toBe((fsConstants as Record<string, number>)[`O_${name}`]);
    expect(Object.isFrozen(O)).toBe(true);
    expect(O.CLOEXEC).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------- open

describe('open', () => {
  it('opens for reading with the default flags and string flags', () => {
    const path = tmpFile('hello');
    const [fd] = autoClose(open(path));
    const buf = Buffer.alloc(16);
    expect(read(fd, buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('hello');
    // 'r' is read-only: the kernel refuses a write.
    expectIoError(() => write(fd, Buffer.from('x')), 'EBADF', 'write', { fd });
  });

  it("'w' creates and truncates, 'a' appends, 'r+' reads and writes, 'wx' refuses an existing file", () => {
    const path = join(tmpDir(), 'f');
    const [w] = autoClose(open(path, 'w'));
    write(w, Buffer.from('abcdef'));
    close(w);
    const [w2] = autoClose(open(path, 'w'));
    write(w2, Buffer.from('xy'));
    close(w2);
    expect(readFileSync(path, 'utf8')).toBe('xy');
    const [a] = autoClose(open(path, 'a'));
    write(a, Buffer.from('z'));
    expect(readFileSync(path, 'utf8')).toBe('xyz');
    const [rw] = autoClose(open(path, 'r+'));
    write(rw, Buffer.from('X'));
    const buf = Buffer.alloc(4);
    expect(read(rw, buf)).toBe(2);
    expect(buf.subarray(0, 2).toString()).toBe('yz');
    expect(readFileSync(path, 'utf8')).toBe('Xyz');
    expectIoError(() => open(path, 'wx'), 'EEXIST', 'open', { path });
  });

  it('takes O.* bits and the mode option', () => {
    const path = join(tmpDir(), 'created');
    const [fd] = autoClose(open(path, O.RDWR | O.CREAT | O.EXCL, { mode: 0o640 }));
    const umask = process.umask();
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~umask);
    write(fd, Buffer.from('data'));
    expect(readFileSync(path, 'utf8')).toBe('data');
    const [ro] = autoClose(open(path, O.RDONLY));
    expect((fdFlags(ro) & 0o3) === O.RDONLY).toBe(true);
    expect(fdFlags(fd) & 0o3).toBe(O.RDWR);
  });

  it('sets O_CLOEXEC by default, and cloexec:false leaves it off', () => {
    const path = tmpFile('x');
    const [on] = autoClose(open(path));
    expect(isCloexec(on)).toBe(true);
    const [off] = autoClose(open(path, 'r', { cloexec: false }));
    expect(isCloexec(off)).toBe(false);
    const [nb] = autoClose(open(path, O.RDONLY | O.NONBLOCK));
    expect(isNonblocking(nb)).toBe(true);
    expect(isNonblocking(on)).toBe(false);
  });

  it('opens an unnamed O_TMPFILE in a directory', () => {
    const dir = tmpDir();
    const [fd] = autoClose(open(dir, O.TMPFILE | O.RDWR, { mode: 0o600 }));
    expect(write(fd, Buffer.from('tmp'))).toBe(3);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('throws ENOENT with the path for a missing file, worded as Node words it', () => {
    const path = join(tmpDir(), 'missing', 'file');
    const err = expectIoError(() => open(path), 'ENOENT', 'open', { path });
    expect(err.message).toBe(`ENOENT: no such file or directory, open '${path}'`);
    const nodeErr = caught(() => openSync(path, 'r')) as NodeJS.ErrnoException;
    expect(err.message).toBe(nodeErr.message);
    expect(err).not.toHaveProperty('fd');
  });

  it('gives the kernel errors for O_DIRECTORY on a file and a write-open of a directory', () => {
    const path = tmpFile('x');
    expectIoError(() => open(path, O.RDONLY | O.DIRECTORY), 'ENOTDIR', 'open', { path });
    const dir = tmpDir();
    expectIoError(() => open(dir, 'r+'), 'EISDIR', 'open', { path: dir });
  });

  it('rejects bad paths before any syscall', () => {
    expectArgError(() => open(42 as unknown as string), 'ERR_INVALID_ARG_TYPE', 'path');
    expectArgError(() => open(undefined as unknown as string), 'ERR_INVALID_ARG_TYPE', 'path');
    expectArgError(() => open(Buffer.from('/etc') as unknown as string), 'ERR_INVALID_ARG_TYPE', 'path');
    const dir = tmpDir();
    // With a NUL the kernel would see only 'dir/a' and create it.
    expectArgError(() => open(join(dir, 'a\0b'), 'w'), 'ERR_INVALID_ARG_VALUE', 'path');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects unknown flags and bad options before any syscall', () => {
    const path = join(tmpDir(), 'never');
    expectArgError(() => open(path, 'zz' as 'r'), 'ERR_INVALID_ARG_VALUE', 'flags');
    expectArgError(() => open(path, 'W' as 'r'), 'ERR_INVALID_ARG_VALUE', 'flags');
    expectArgError(() => open(path, O.CREAT | 0x40000000), 'ERR_INVALID_ARG_VALUE', 'flags');
    expectArgError(() => open(path, -1), 'ERR_OUT_OF_RANGE', 'flags');
    expectArgError(() => open(path, 1.5), 'ERR_OUT_OF_RANGE', 'flags');
    expectArgError(() => open(path, 2 ** 31), 'ERR_OUT_OF_RANGE', 'flags');
    expectArgError(() => open(path, {} as number), 'ERR_INVALID_ARG_TYPE', 'flags');
    expectArgError(() => open(path, null as unknown as number), 'ERR_INVALID_ARG_TYPE', 'flags');
    expectArgError(() => open(path, 'w', 'x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => open(path, 'w', null as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => open(path, 'w', { cloexec: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', 'options.cloexec');
    expectArgError(() => open(path, 'w', { mode: '644' as never }), 'ERR_INVALID_ARG_TYPE', 'options.mode');
    expectArgError(() => open(path, 'w', { mode: 0o10000 }), 'ERR_OUT_OF_RANGE', 'options.mode');
    expectArgError(() => open(path, 'w', { mode: -1 }), 'ERR_OUT_OF_RANGE', 'options.mode');
    // 'w' would have created the file had any of these reached the kernel.
    expect(existsSync(path)).toBe(false);
  });
});

// ---------------------------------------------------------------- close

describe('close', () => {
  it('closes an fd; closing it again is EBADF', () => {
    const [r, w] = autoClose(...pipe());
    expect(isOpen(r)).toBe(true);
    close(r);
    expect(isOpen(r)).toBe(false);
    expectIoError(() => close(r), 'EBADF', 'close', { fd: r });
    close(w);
  });

  it('closes an fd opened by Node, and Node then sees it closed', () => {
    const fd = openSync(tmpFile('x'), 'r');
    close(fd);
    expect((caught(() => closeSync(fd)) as NodeJS.ErrnoException).code).toBe('EBADF');
  });

  it('does not touch the fd when the argument is bad', () => {
    const [r] = autoClose(...pipe());
    expectArgError(() => close(r + 0.5), 'ERR_OUT_OF_RANGE', 'fd');
    expectArgError(() => close(String(r) as unknown as number), 'ERR_INVALID_ARG_TYPE', 'fd');
    expect(isOpen(r)).toBe(true);
  });

  rejectsBadFds('close', (fd) => close(fd));
});

// ---------------------------------------------------------------- dup

describe('close-on-exec', () => {
  it('lets no fd iomodes made leak into a child process', () => {
    const { listener, client, server } = tcpPair();
    const file = tmpFile('x');
    const fds = [
      ...autoClose(...pipe()),
      ...autoClose(...pipe({ nonblocking: true })),
      ...autoClose(...socketpair({ type: 'dgram' })),
      ...autoClose(eventfd(), socket('udp6'), socket('unix'), open(file), open(file, O.RDWR)),
      listener.fd,
      client,
      server,
    ];
    fds.push(...autoClose(dup(fds[0]!)));
    const epoll = Epoll.create();
    epoll.watch(() => {});
    fds.push(epoll.fd);
    try {
      // What each fd is (pipe:[inode], socket:[inode], a path, anon_inode:…),
      // as the child would see it if it had inherited the fd.
      const ours = new Set(fds.map((fd) => readlinkSync(`/proc/self/fd/${fd}`)).filter((t) => !t.startsWith('anon_inode:')));
      const child = spawnSync('/bin/sh', ['-c', 'for f in /proc/self/fd/*; do readlink "$f"; done; true'], { encoding: 'utf8', env: withoutPreload() });
      expect(child.status).toBe(0);
      const inherited = child.stdout.split('\n').filter((t) => ours.has(t));
      expect(inherited).toEqual([]);
      // anon inodes (eventfd, eventpoll) share names, so count them instead.
      const anon = (t: string) => t === 'anon_inode:[eventfd]' || t === 'anon_inode:[eventpoll]';
      expect(child.stdout.split('\n').filter(anon)).toEqual([]);
      expect(ours.size).toBeGreaterThan(8);
    } finally {
      epoll.close();
    }
  });
});

describe('dup', () => {
  it('gives a new fd sharing the file offset', () => {
    const [fd] = autoClose(open(tmpFile('abcdef')));
    const [copy] = autoClose(dup(fd));
    expect(copy).not.toBe(fd);
    const buf = Buffer.alloc(2);
    read(fd, buf);
    expect(buf.toString()).toBe('ab');
    read(copy, buf);
    expect(buf.toString()).toBe('cd');
    read(fd, buf);
    expect(buf.toString()).toBe('ef');
    close(fd);
    // The copy keeps the file open.
    expect(read(copy, buf)).toBe(0);
  });

  it('shares status flags such as O_NONBLOCK, and is close-on-exec unless cloexec:false', () => {
    const [r] = autoClose(...pipe({ cloexec: false }));
    expect(isCloexec(r)).toBe(false);
    const [a] = autoClose(dup(r));
    expect(isCloexec(a)).toBe(true);
    const [b] = autoClose(dup(r, { cloexec: false }));
    expect(isCloexec(b)).toBe(false);
    setBlocking(r, false);
    expect(isNonblocking(a)).toBe(true);
    expect(isNonblocking(b)).toBe(true);
  });

  it('rejects bad options', () => {
    const [r] = autoClose(...pipe());
    expectArgError(() => dup(r, { cloexec: 1 as never }), 'ERR_INVALID_ARG_TYPE', 'options.cloexec');
    expectArgError(() => dup(r, 'x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
  });

  rejectsBadFds('dup', (fd) => dup(fd));
});

// ---------------------------------------------------------------- pipe

describe('pipe', () => {
  it('moves bytes from the write end to the read end, then EOF', () => {
    const [r, w] = autoClose(...pipe());
    expect(write(w, Buffer.from('hello'))).toBe(5);
    const buf = Buffer.alloc(16);
    expect(read(r, buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('hello');
    close(w);
    expect(read(r, buf)).toBe(0);
  });

  it('is one-way: the read end cannot be written', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => write(r, Buffer.from('x')), 'EBADF', 'write', { fd: r });
  });

  it('is blocking and close-on-exec by default', () => {
    const [r, w] = autoClose(...pipe());
    for (const fd of [r, w]) {
      expect(isCloexec(fd)).toBe(true);
      expect(isNonblocking(fd)).toBe(false);
    }
  });

  it('nonblocking:true sets O_NONBLOCK on both ends, so an empty read is EAGAIN', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true, cloexec: false }));
    for (const fd of [r, w]) {
      expect(isNonblocking(fd)).toBe(true);
      expect(isCloexec(fd)).toBe(false);
    }
    expectIoError(() => read(r, Buffer.alloc(1)), 'EAGAIN', 'read', { fd: r });
  });

  it('rejects bad options before creating anything', () => {
    const before = fdCount();
    expectArgError(() => pipe('x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => pipe(null as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => pipe([] as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => pipe({ nonblocking: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', 'options.nonblocking');
    expectArgError(() => pipe({ cloexec: 0 as never }), 'ERR_INVALID_ARG_TYPE', 'options.cloexec');
    expect(fdCount()).toBe(before);
  });
});

// ---------------------------------------------------------------- socketpair

describe('socketpair', () => {
  it('stream: a byte stream both ways', () => {
    const [a, b] = autoClose(...socketpair());
    expect(getsockopt(a, 'SO_TYPE')).toBe(constant('SOCK_STREAM'));
    write(a, Buffer.from('ab'));
    write(a, Buffer.from('cde'));
    const buf = Buffer.alloc(16);
    // A stream has no message boundaries: one read takes both writes.
    expect(read(b, buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('abcde');
    write(b, Buffer.from('back'));
    expect(read(a, buf)).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe('back');
  });

  it.each(['dgram', 'seqpacket'] as const)('%s: keeps message boundaries', (type) => {
    const [a, b] = autoClose(...socketpair({ type }));
    expect(getsockopt(b, 'SO_TYPE')).toBe(constant(type === 'dgram' ? 'SOCK_DGRAM' : 'SOCK_SEQPACKET'));
    write(a, Buffer.from('ab'));
    write(a, Buffer.from('cde'));
    const buf = Buffer.alloc(16);
    expect(read(b, buf)).toBe(2);
    expect(buf.subarray(0, 2).toString()).toBe('ab');
    expect(read(b, buf)).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe('cde');
    write(b, Buffer.from('xyz'));
    expect(read(a, buf)).toBe(3);
  });

  it('is close-on-exec and blocking by default; the options change both ends', () => {
    const [a, b] = autoClose(...socketpair());
    expect([isCloexec(a), isCloexec(b), isNonblocking(a), isNonblocking(b)]).toEqual([true, true, false, false]);
    const [c, d] = autoClose(...socketpair({ nonblocking: true, cloexec: false, type: 'seqpacket' }));
    expect([isCloexec(c), isCloexec(d), isNonblocking(c), isNonblocking(d)]).toEqual([false, false, true, true]);
    expectIoError(() => read(c, Buffer.alloc(1)), 'EAGAIN', 'read', { fd: c });
  });

  it('has unnamed Unix addresses', () => {
    const [a] = autoClose(...socketpair());
    expect(getsockname(a)).toEqual({ family: 'unix', path: '' });
    expect(getpeername(a)).toEqual({ family: 'unix', path: '' });
  });

  it('rejects unknown types and bad options before creating anything', () => {
    const before = fdCount();
    expectArgError(() => socketpair({ type: 'raw' as never }), 'ERR_INVALID_ARG_VALUE', 'options.type');
    expectArgError(() => socketpair({ type: 1 as never }), 'ERR_INVALID_ARG_TYPE', 'options.type');
    expectArgError(() => socketpair({ nonblocking: 1 as never }), 'ERR_INVALID_ARG_TYPE', 'options.nonblocking');
    expectArgError(() => socketpair(5 as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(fdCount()).toBe(before);
  });
});

// ---------------------------------------------------------------- eventfd

describe('eventfd', () => {
  const counter = () => new BigUint64Array(1);

  it('adds writes into one counter, and a read takes it all', () => {
    const [efd] = autoClose(eventfd(0, { nonblocking: true }));
    write(efd, new BigUint64Array([3n]));
    write(efd, new BigUint64Array([4n]));
    const out = counter();
    expect(read(efd, out)).toBe(8);
    expect(out[0]).toBe(7n);
    // Zero now: a non-blocking read would block.
    expectIoError(() => read(efd, out), 'EAGAIN', 'read', { fd: efd });
  });

  it('starts at initval, up to 2^32-1', () => {
    const [efd] = autoClose(eventfd(2 ** 32 - 1));
    const out = counter();
    read(efd, out);
    expect(out[0]).toBe(BigInt(2 ** 32 - 1));
  });

  it('semaphore mode: each read takes 1', () => {
    const [efd] = autoClose(eventfd(3, { semaphore: true, nonblocking: true }));
    const out = counter();
    for (let i = 0; i < 3; i++) {
      expect(read(efd, out)).toBe(8);
      expect(out[0]).toBe(1n);
    }
    expectIoError(() => read(efd, out), 'EAGAIN', 'read', { fd: efd });
    write(efd, new BigUint64Array([2n]));
    read(efd, out);
    expect(out[0]).toBe(1n);
  });

  it('refuses reads shorter than 8 bytes and the value 2^64-1 (kernel EINVAL)', () => {
    const [efd] = autoClose(eventfd(1));
    expectIoError(() => read(efd, Buffer.alloc(4)), 'EINVAL', 'read', { fd: efd });
    expectIoError(() => write(efd, new BigUint64Array([2n ** 64n - 1n])), 'EINVAL', 'write', { fd: efd });
  });

  it('is close-on-exec and blocking by default; the options change that', () => {
    const [a] = autoClose(eventfd());
    expect([isCloexec(a), isNonblocking(a)]).toEqual([true, false]);
    const [b] = autoClose(eventfd(0, { cloexec: false, nonblocking: true }));
    expect([isCloexec(b), isNonblocking(b)]).toEqual([false, true]);
  });

  it('rejects bad initval and options before creating anything', () => {
    const before = fdCount();
    expectArgError(() => eventfd(-1), 'ERR_OUT_OF_RANGE', 'initval');
    expectArgError(() => eventfd(2 ** 32), 'ERR_OUT_OF_RANGE', 'initval');
    expectArgError(() => eventfd(1.5), 'ERR_OUT_OF_RANGE', 'initval');
    expectArgError(() => eventfd(1n as never), 'ERR_INVALID_ARG_TYPE', 'initval');
    expectArgError(() => eventfd('1' as never), 'ERR_INVALID_ARG_TYPE', 'initval');
    expectArgError(() => eventfd(0, { semaphore: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', 'options.semaphore');
    expectArgError(() => eventfd(0, 'x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(fdCount()).toBe(before);
  });
});

// ---------------------------------------------------------------- socket

describe('socket', () => {
  const kinds: [SocketKind, string, string][] = [
    ['tcp4', 'SOCK_STREAM', 'IPv4'],
    ['tcp6', 'SOCK_STREAM', 'IPv6'],
    ['udp4', 'SOCK_DGRAM', 'IPv4'],
    ['udp6', 'SOCK_DGRAM', 'IPv6'],
    ['unix', 'SOCK_STREAM', 'unix'],
    ['unix-dgram', 'SOCK_DGRAM', 'unix'],
    ['unix-seqpacket', 'SOCK_SEQPACKET', 'unix'],
  ];

  it.each(kinds)('%s makes a %s socket of family %s', (kind, type, family) => {
    const [fd] = autoClose(socket(kind));
    expect(getsockopt(fd, 'SO_TYPE')).toBe(constant(type));
    expect(getsockname(fd).family).toBe(family);
    expect(isCloexec(fd)).toBe(true);
    expect(isNonblocking(fd)).toBe(false);
  });

  it('nonblocking and cloexec options set the fd flags', () => {
    const [fd] = autoClose(socket('tcp4', { nonblocking: true, cloexec: false }));
    expect(isNonblocking(fd)).toBe(true);
    expect(isCloexec(fd)).toBe(false);
  });

  it('rejects unknown kinds and bad options before creating anything', () => {
    const before = fdCount();
    expectArgError(() => socket('tcp5' as SocketKind), 'ERR_INVALID_ARG_VALUE', 'kind');
    expectArgError(() => socket('TCP4' as SocketKind), 'ERR_INVALID_ARG_VALUE', 'kind');
    expectArgError(() => socket(4 as never), 'ERR_INVALID_ARG_TYPE', 'kind');
    expectArgError(() => socket(undefined as never), 'ERR_INVALID_ARG_TYPE', 'kind');
    expectArgError(() => socket('tcp4', { nonblocking: 1 as never }), 'ERR_INVALID_ARG_TYPE', 'options.nonblocking');
    expectArgError(() => socket('tcp4', true as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expect(fdCount()).toBe(before);
  });
});

// ---------------------------------------------------------------- bind

describe('bind', () => {
  it('binds TCP to 127.0.0.1 port 0 and the kernel picks a port', () => {
    const [fd] = autoClose(socket('tcp4'));
    expect(getsockname(fd)).toEqual({ family: 'IPv4', host: '0.0.0.0', port: 0 });
    bind(fd, { host: '127.0.0.1', port: 0 });
    const addr = getsockname(fd) as { family: string; host: string; port: number };
    expect(addr.family).toBe('IPv4');
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    expect(addr.port).toBeLessThan(65536);
  });

  it('binds tcp6 and udp6 to ::1', () => {
    if (withoutIpv6()) return;
    for (const kind of ['tcp6', 'udp6'] as const) {
      const [fd] = autoClose(socket(kind));
      bind(fd, { host: '::1', port: 0 });
      const addr = getsockname(fd) as { family: string; host: string; port: number };
      expect(addr).toEqual({ family: 'IPv6', host: '::1', port: addr.port });
      expect(addr.port).toBeGreaterThan(0);
    }
  });

  it('gives EADDRINUSE for a port already bound, and EINVAL for a second bind', () => {
    const { fd, port } = tcpListener();
    const [other] = autoClose(socket('tcp4'));
    expectIoError(() => bind(other, { host: '127.0.0.1', port }), 'EADDRINUSE', 'bind', { fd: other });
    expectIoError(() => bind(fd, { host: '127.0.0.1', port: 0 }), 'EINVAL', 'bind', { fd });
  });

  it('binds a Unix socket to a path in the filesystem', () => {
    const path = join(tmpDir(), 'sock');
    const [fd] = autoClose(socket('unix'));
    bind(fd, { path });
    expect(getsockname(fd)).toEqual({ family: 'unix', path });
    expect(statSync(path).isSocket()).toBe(true);
    expectIoError(() => bind(autoClose(socket('unix'))[0], { path }), 'EADDRINUSE', 'bind');
  });

  it('binds a Unix socket to an abstract name, which leaves no file', () => {
    const path = `\0iomodes-test-${randomBytes(8).toString('hex')}`;
    const [fd] = autoClose(socket('unix'));
    bind(fd, { path });
    expect(getsockname(fd)).toEqual({ family: 'unix', path });
    expect(readFileSync('/proc/net/unix', 'utf8')).toContain(`@${path.slice(1)}`);
  });

  it('takes an abstract name that fills sun_path (108 bytes), not one longer', () => {
    const name = `\0iomodes-test-${randomBytes(8).toString('hex')}-`;
    const full = name.padEnd(108, 'x');
    const [fd] = autoClose(socket('unix'));
    bind(fd, { path: full });
    expect(getsockname(fd)).toEqual({ family: 'unix', path: full });
    const [other] = autoClose(socket('unix'));
    expectIoError(() => bind(other, { path: `${full}y` }), 'ENAMETOOLONG', 'bind', { fd: other });
    expectIoError(() => bind(other, { path: `/tmp/${'x'.repeat(103)}` }), 'ENAMETOOLONG', 'bind', { fd: other });
  });

  it('gives the kernel error for an address of the wrong family, or a non-socket', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectIoError(() => bind(fd, { path: '\0iomodes-wrong-family' }), 'EAFNOSUPPORT', 'bind', { fd });
    const [r] = autoClose(...pipe());
    expectIoError(() => bind(r, { host: '127.0.0.1', port: 0 }), 'ENOTSOCK', 'bind', { fd: r });
  });

  it('rejects bad addresses before any syscall', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectArgError(() => bind(fd, { host: 'localhost', port: 0 }), 'ERR_INVALID_ARG_VALUE', 'address.host');
    expectArgError(() => bind(fd, { host: '127.1', port: 0 }), 'ERR_INVALID_ARG_VALUE', 'address.host');
    expectArgError(() => bind(fd, { host: 'fe80::1%lo', port: 0 }), 'ERR_INVALID_ARG_VALUE', 'address.host');
    expectArgError(() => bind(fd, { host: '', port: 0 }), 'ERR_INVALID_ARG_VALUE', 'address.host');
    expectArgError(() => bind(fd, { host: '127.0.0.1', port: 70000 }), 'ERR_OUT_OF_RANGE', 'address.port');
    expectArgError(() => bind(fd, { host: '127.0.0.1', port: -1 }), 'ERR_OUT_OF_RANGE', 'address.port');
    expectArgError(() => bind(fd, { host: '127.0.0.1', port: 80.5 }), 'ERR_OUT_OF_RANGE', 'address.port');
    expectArgError(() => bind(fd, { host: '127.0.0.1', port: '80' as never }), 'ERR_INVALID_ARG_TYPE', 'address.port');
    expectArgError(() => bind(fd, { host: '127.0.0.1' } as never), 'ERR_INVALID_ARG_TYPE', 'address.port');
    expectArgError(() => bind(fd, { port: 0 } as never), 'ERR_INVALID_ARG_TYPE', 'address.host');
    expectArgError(() => bind(fd, { host: 127, port: 0 } as never), 'ERR_INVALID_ARG_TYPE', 'address.host');
    expectArgError(() => bind(fd, undefined as never), 'ERR_INVALID_ARG_TYPE', 'address');
    expectArgError(() => bind(fd, null as never), 'ERR_INVALID_ARG_TYPE', 'address');
    expectArgError(() => bind(fd, '127.0.0.1:0' as never), 'ERR_INVALID_ARG_TYPE', 'address');
    expectArgError(() => bind(fd, ['127.0.0.1', 0] as never), 'ERR_INVALID_ARG_TYPE', 'address');
    expectArgError(() => bind(fd, { path: 5 } as never), 'ERR_INVALID_ARG_TYPE', 'address.path');
    // Nothing reached the kernel: the socket is still unbound.
    expect(getsockname(fd)).toEqual({ family: 'IPv4', host: '0.0.0.0', port: 0 });
  });

  it('rejects a Unix path with a NUL byte inside (the kernel would cut it short)', () => {
    const dir = tmpDir();
    const [fd] = autoClose(socket('unix'));
    expectArgError(() => bind(fd, { path: join(dir, 'a\0b') }), 'ERR_INVALID_ARG_VALUE', 'address.path');
    expect(readdirSync(dir)).toEqual([]);
  });

  rejectsBadFds('bind', (fd) => bind(fd, { host: '127.0.0.1', port: 0 }));
});

// ---------------------------------------------------------------- listen

describe('listen', () => {
  it('makes a socket accept connections', () => {
    const [fd] = autoClose(socket('tcp4'));
    bind(fd, { host: '127.0.0.1', port: 0 });
    const { port } = getsockname(fd) as { port: number };
    const [before] = autoClose(socket('tcp4'));
    // Bound but not listening: the kernel answers with a reset.
    expectIoError(() => connect(before, { host: '127.0.0.1', port }), 'ECONNREFUSED', 'connect', { fd: before });
    listen(fd, 4);
    const [after] = autoClose(socket('tcp4'));
    expect(connect(after, { host: '127.0.0.1', port })).toBe(true);
  });

  it('gives the kernel errors for a non-socket and a datagram socket', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => listen(r), 'ENOTSOCK', 'listen', { fd: r });
    const [u] = autoClose(socket('udp4'));
    // EOPNOTSUPP, which libuv (and so Node) names ENOTSUP: the same number on Linux.
    expectIoError(() => listen(u), 'ENOTSUP', 'listen', { fd: u });
  });

  it('rejects a bad backlog before any syscall', () => {
    const [fd] = autoClose(socket('tcp4'));
    bind(fd, { host: '127.0.0.1', port: 0 });
    expectArgError(() => listen(fd, -1), 'ERR_OUT_OF_RANGE', 'backlog');
    expectArgError(() => listen(fd, 1.5), 'ERR_OUT_OF_RANGE', 'backlog');
    expectArgError(() => listen(fd, 2 ** 31), 'ERR_OUT_OF_RANGE', 'backlog');
    expectArgError(() => listen(fd, '5' as never), 'ERR_INVALID_ARG_TYPE', 'backlog');
    const { port } = getsockname(fd) as { port: number };
    const [c] = autoClose(socket('tcp4'));
    expectIoError(() => connect(c, { host: '127.0.0.1', port }), 'ECONNREFUSED', 'connect');
  });

  rejectsBadFds('listen', (fd) => listen(fd));
});

// ---------------------------------------------------------------- accept

describe('accept', () => {
  it('accepts a connection whose peer is the connecting socket', () => {
    const { client, server, listener } = tcpPair();
    expect(getpeername(server)).toEqual(getsockname(client));
    expect(getsockname(server)).toEqual({ family: 'IPv4', host: '127.0.0.1', port: listener.port });
    expect(isCloexec(server)).toBe(true);
    expect(isNonblocking(server)).toBe(false);
  });

  it('applies nonblocking and cloexec options to the new socket', () => {
    const listener = tcpListener();
    const [c] = autoClose(socket('tcp4'));
    connect(c, { host: '127.0.0.1', port: listener.port });
    const [s] = autoClose(accept(listener.fd, { nonblocking: true, cloexec: false }));
    expect(isNonblocking(s)).toBe(true);
    expect(isCloexec(s)).toBe(false);
    // The listener's own flags are not inherited.
    expect(isNonblocking(listener.fd)).toBe(false);
  });

  it('throws EAGAIN from accept4 on a non-blocking listener with nothing pending', () => {
    const [fd] = autoClose(socket('tcp4', { nonblocking: true }));
    bind(fd, { host: '127.0.0.1', port: 0 });
    listen(fd);
    expectIoError(() => accept(fd), 'EAGAIN', 'accept4', { fd });
  });

  it('gives EINVAL for a socket that is not listening, ENOTSOCK for a pipe', () => {
    const [fd] = autoClose(socket('tcp4', { nonblocking: true }));
    expectIoError(() => accept(fd), 'EINVAL', 'accept4', { fd });
    const [r] = autoClose(...pipe());
    expectIoError(() => accept(r), 'ENOTSOCK', 'accept4', { fd: r });
  });

  it('rejects bad options', () => {
    const [fd] = autoClose(socket('tcp4', { nonblocking: true }));
    expectArgError(() => accept(fd, { nonblocking: 'no' as never }), 'ERR_INVALID_ARG_TYPE', 'options.nonblocking');
    expectArgError(() => accept(fd, 1 as never), 'ERR_INVALID_ARG_TYPE', 'options');
  });

  rejectsBadFds('accept4', (fd) => accept(fd));
});

// ---------------------------------------------------------------- connect

describe('connect', () => {
  function exchange(a: number, b: number): void {
    setBlocking(a, false);
    setBlocking(b, false);
    expect(write(a, Buffer.from('ping'))).toBe(4);
    expect(readBytes(b, 4).toString()).toBe('ping');
    expect(write(b, Buffer.from('pong!'))).toBe(5);
    expect(readBytes(a, 5).toString()).toBe('pong!');
  }

  for (const kind of ['tcp4', 'tcp6'] as const) {
    it(`${kind} over loopback: connect, accept, peers match, data both ways, half-close`, () => {
      if (kind === 'tcp6' && withoutIpv6()) return;
    const { client, server, listener } = tcpPair(kind);
    const family = kind === 'tcp4' ? 'IPv4' : 'IPv6';
    expect(getpeername(client)).toEqual({ family, host: listener.host, port: listener.port });
    expect(getpeername(server)).toEqual(getsockname(client));
    exchange(client, server);
    shutdown(client, 'write');
    expectEof(server);
    // Half-closed: the other direction still works.
    write(server, Buffer.from('late'));
    expect(readBytes(client, 4).toString()).toBe('late');
    expectIoError(() => write(client, Buffer.from('x')), 'EPIPE', 'write', { fd: client });
    });
  }

  it('non-blocking: returns false (or true), then finishConnect succeeds once connected', () => {
    const listener = tcpListener();
    const [c] = autoClose(socket('tcp4', { nonblocking: true }));
    const now = connect(c, { host: '127.0.0.1', port: listener.port });
    expect(typeof now).toBe('boolean');
    if (!now) {
      waitFor(() => {
        try {
          getpeername(c);
          return true;
        } catch (err) {
          if ((err as IoError).code !== 'ENOTCONN') throw err;
          return false;
        }
      }, 'the connection');
    }
    finishConnect(c);
    expect(getpeername(c)).toEqual({ family: 'IPv4', host: '127.0.0.1', port: listener.port });
    const [s] = autoClose(accept(listener.fd));
    exchange(c, s);
  });

  it('non-blocking to a closed port: finishConnect throws ECONNREFUSED from connect', () => {
    // Bound but not listening: the port stays ours, so nobody else can listen on it.
    const [holder] = autoClose(socket('tcp4'));
    bind(holder, { host: '127.0.0.1', port: 0 });
    const { port } = getsockname(holder) as { port: number };
    const [c] = autoClose(socket('tcp4', { nonblocking: true }));
    const err = expectIoError(
      () => {
        if (!connect(c, { host: '127.0.0.1', port })) {
          // SYN_SENT until the reset arrives; reading SO_ERROR would consume the error.
          waitFor(() => tcpState(c) !== '02', 'the reset');
          finishConnect(c);
        }
      },
      'ECONNREFUSED',
      'connect',
      { fd: c },
    );
    expect(err.message).toBe('ECONNREFUSED: connection refused, connect');
  });

  it('blocking, to a closed port: throws ECONNREFUSED', () => {
    const [holder] = autoClose(socket('tcp4'));
    bind(holder, { host: '127.0.0.1', port: 0 });
    const { port } = getsockname(holder) as { port: number };
    const [c] = autoClose(socket('tcp4'));
    expectIoError(() => connect(c, { host: '127.0.0.1', port }), 'ECONNREFUSED', 'connect', { fd: c });
  });

  it('UDP over 127.0.0.1: a connected socket writes a datagram the other reads', () => {
    const [a, b] = autoClose(socket('udp4'), socket('udp4', { nonblocking: true }));
    bind(a, { host: '127.0.0.1', port: 0 });
    bind(b, { host: '127.0.0.1', port: 0 });
    expectIoError(() => getpeername(a), 'ENOTCONN', 'getpeername', { fd: a });
    expect(connect(a, getsockname(b) as { host: string; port: number })).toBe(true);
    expect(getpeername(a)).toEqual(getsockname(b));
    expect(write(a, Buffer.from('datagram'))).toBe(8);
    write(a, Buffer.from('two'));
    expect(readBytes(b, 8).toString()).toBe('datagram');
    const buf = Buffer.alloc(64);
    expect(read(b, buf)).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe('two');
  });

  it('UDP over ::1', () => {
    if (withoutIpv6()) return;
    const [a, b] = autoClose(socket('udp6'), socket('udp6', { nonblocking: true }));
    bind(b, { host: '::1', port: 0 });
    connect(a, getsockname(b) as { host: string; port: number });
    write(a, Buffer.from('six'));
    expect(readBytes(b, 3).toString()).toBe('six');
  });

  it('Unix stream socket on a path: connect, accept, addresses, data', () => {
    const path = join(tmpDir(), 'server.sock');
    const [l] = autoClose(socket('unix'));
    bind(l, { path });
    listen(l);
    const [c] = autoClose(socket('unix', { nonblocking: true }));
    // A Unix connect completes at once, even non-blocking.
    expect(connect(c, { path })).toBe(true);
    const [s] = autoClose(accept(l));
    expect(getpeername(c)).toEqual({ family: 'unix', path });
    expect(getsockname(s)).toEqual({ family: 'unix', path });
    expect(getpeername(s)).toEqual({ family: 'unix', path: '' });
    exchange(c, s);
    shutdown(s, 'write');
    expectEof(c);
  });

  it('Unix socket with an abstract name', () => {
    const path = `\0iomodes-test-${randomBytes(8).toString('hex')}`;
    const [l] = autoClose(socket('unix-seqpacket'));
    bind(l, { path });
    listen(l);
    const [c] = autoClose(socket('unix-seqpacket'));
    expect(connect(c, { path })).toBe(true);
    const [s] = autoClose(accept(l));
    expect(getpeername(c)).toEqual({ family: 'unix', path });
    write(c, Buffer.from('one'));
    write(c, Buffer.from('three'));
    const buf = Buffer.alloc(16);
    expect(read(s, buf)).toBe(3);
    expect(read(s, buf)).toBe(5);
  });

  it('unix-dgram between two bound names', () => {
    const dir = tmpDir();
    const [a, b] = autoClose(socket('unix-dgram'), socket('unix-dgram', { nonblocking: true }));
    bind(a, { path: join(dir, 'a') });
    bind(b, { path: join(dir, 'b') });
    connect(a, { path: join(dir, 'b') });
    write(a, Buffer.from('hey'));
    expect(readBytes(b, 3).toString()).toBe('hey');
  });

  it('gives ENOENT for a missing Unix path and ECONNREFUSED for an abstract name nobody bound', () => {
    const [c] = autoClose(socket('unix'));
    expectIoError(() => connect(c, { path: join(tmpDir(), 'nobody') }), 'ENOENT', 'connect', { fd: c });
    expectIoError(() => connect(c, { path: `\0iomodes-test-nobody-${randomBytes(8).toString('hex')}` }), 'ECONNREFUSED', 'connect', { fd: c });
  });

  it('gives EISCONN when already connected', () => {
    const { client, listener } = tcpPair();
    expectIoError(() => connect(client, { host: '127.0.0.1', port: listener.port }), 'EISCONN', 'connect', { fd: client });
  });

  it('rejects bad addresses before any syscall', () => {
    const listener = tcpListener();
    const [c] = autoClose(socket('tcp4'));
    expectArgError(() => connect(c, { host: 'localhost', port: listener.port }), 'ERR_INVALID_ARG_VALUE', 'address.host');
    expectArgError(() => connect(c, { host: '127.0.0.1', port: 70000 }), 'ERR_OUT_OF_RANGE', 'address.port');
    expectArgError(() => connect(c, { port: listener.port } as never), 'ERR_INVALID_ARG_TYPE', 'address.host');
    expectArgError(() => connect(c, undefined as never), 'ERR_INVALID_ARG_TYPE', 'address');
    expectArgError(() => connect(c, { path: 'a\0b' }), 'ERR_INVALID_ARG_VALUE', 'address.path');
    expectIoError(() => getpeername(c), 'ENOTCONN', 'getpeername', { fd: c });
  });

  rejectsBadFds('connect', (fd) => connect(fd, { host: '127.0.0.1', port: 1 }));
});

// ---------------------------------------------------------------- finishConnect

describe('finishConnect', () => {
  it('succeeds on a connected socket', () => {
    const { client } = tcpPair();
    expect(finishConnect(client)).toBeUndefined();
  });

  it('throws ENOTCONN from connect for a socket that never connected, rather than pass for success', () => {
    const [fresh] = autoClose(socket('tcp4'));
    expectIoError(() => finishConnect(fresh), 'ENOTCONN', 'connect', { fd: fresh });
  });

  it('throws ENOTSOCK from getsockopt for a non-socket', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => finishConnect(r), 'ENOTSOCK', 'getsockopt', { fd: r });
  });

  rejectsBadFds('getsockopt', (fd) => finishConnect(fd));
});

// ---------------------------------------------------------------- shutdown

describe('shutdown', () => {
  it("'write' gives the peer EOF, 'read' gives this end EOF, 'both' does both", () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    shutdown(a, 'write');
    expect(read(b, Buffer.alloc(4))).toBe(0);
    expectIoError(() => write(a, Buffer.from('x')), 'EPIPE', 'write', { fd: a });
    // a can still read what b writes.
    write(b, Buffer.from('ok'));
    expect(read(a, Buffer.alloc(4))).toBe(2);

    const [c, d] = autoClose(...socketpair({ nonblocking: true }));
    shutdown(c, 'read');
    expect(read(c, Buffer.alloc(4))).toBe(0);
    shutdown(d, 'both');
    expect(read(d, Buffer.alloc(4))).toBe(0);
    expect(read(c, Buffer.alloc(4))).toBe(0);
  });

  it('gives ENOTCONN for an unconnected socket and ENOTSOCK for a pipe', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectIoError(() => shutdown(fd, 'both'), 'ENOTCONN', 'shutdown', { fd });
    const [r] = autoClose(...pipe());
    expectIoError(() => shutdown(r, 'read'), 'ENOTSOCK', 'shutdown', { fd: r });
  });

  it('rejects an unknown direction before any syscall', () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    expectArgError(() => shutdown(a, 'sideways' as never), 'ERR_INVALID_ARG_VALUE', 'how');
    expectArgError(() => shutdown(a, 'WRITE' as never), 'ERR_INVALID_ARG_VALUE', 'how');
    expectArgError(() => shutdown(a, 1 as never), 'ERR_INVALID_ARG_TYPE', 'how');
    expectArgError(() => shutdown(a, undefined as never), 'ERR_INVALID_ARG_TYPE', 'how');
    // Still open both ways.
    write(a, Buffer.from('x'));
    expect(read(b, Buffer.alloc(1))).toBe(1);
  });

  rejectsBadFds('shutdown', (fd) => shutdown(fd, 'both'));
});

// ---------------------------------------------------------------- getsockname

describe('getsockname', () => {
  it('reports the bound address of each family', () => {
    const { fd, port } = tcpListener();
    expect(getsockname(fd)).toEqual({ family: 'IPv4', host: '127.0.0.1', port });
    const [u] = autoClose(socket('udp4'));
    bind(u, { host: '0.0.0.0', port: 0 });
    expect((getsockname(u) as { host: string }).host).toBe('0.0.0.0');
    const [s] = autoClose(socket('unix'));
    expect(getsockname(s)).toEqual({ family: 'unix', path: '' });
  });

  it('autobinds a Unix datagram socket given an empty path (Linux: an abstract name)', () => {
    const [fd] = autoClose(socket('unix-dgram'));
    bind(fd, { path: '' });
    const addr = getsockname(fd) as { family: string; path: string };
    expect(addr.family).toBe('unix');
    expect(addr.path).toMatch(/^\0[0-9a-f]{5}$/);
  });

  it('gives ENOTSOCK for a pipe or an eventfd', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => getsockname(r), 'ENOTSOCK', 'getsockname', { fd: r });
    const [e] = autoClose(eventfd());
    expectIoError(() => getsockname(e), 'ENOTSOCK', 'getsockname', { fd: e });
  });

  rejectsBadFds('getsockname', (fd) => getsockname(fd));
});

// ---------------------------------------------------------------- getpeername

describe('getpeername', () => {
  it("reports the peer's address", () => {
    const { client, server, listener } = tcpPair();
    const peer: ResolvedAddress = getpeername(client);
    expect(peer).toEqual({ family: 'IPv4', host: '127.0.0.1', port: listener.port });
    expect(getpeername(server)).toEqual(getsockname(client));
  });

  it('gives ENOTCONN for an unconnected or listening socket', () => {
    const [fd] = autoClose(socket('tcp4'));
    const err = expectIoError(() => getpeername(fd), 'ENOTCONN', 'getpeername', { fd });
    expect(err.message).toBe('ENOTCONN: socket is not connected, getpeername');
    const { fd: l } = tcpListener();
    expectIoError(() => getpeername(l), 'ENOTCONN', 'getpeername', { fd: l });
  });

  it('gives ENOTSOCK for a pipe', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => getpeername(r), 'ENOTSOCK', 'getpeername', { fd: r });
  });

  rejectsBadFds('getpeername', (fd) => getpeername(fd));
});

// ---------------------------------------------------------------- setsockopt / getsockopt

describe('setsockopt', () => {
  it('sets boolean options, read back as 0/1', () => {
    const [fd] = autoClose(socket('tcp4'));
    for (const option of ['SO_REUSEADDR', 'SO_REUSEPORT', 'TCP_NODELAY', 'SO_KEEPALIVE'] as const) {
      expect(getsockopt(fd, option), option).toBe(0);
      setsockopt(fd, option, true);
      expect(getsockopt(fd, option), option).toBe(1);
      setsockopt(fd, option, false);
      expect(getsockopt(fd, option), option).toBe(0);
      setsockopt(fd, option, 1);
      expect(getsockopt(fd, option), option).toBe(1);
    }
  });

  it('SO_REUSEPORT lets two sockets bind one port', () => {
    const [a, b] = autoClose(socket('udp4'), socket('udp4'));
    setsockopt(a, 'SO_REUSEPORT', true);
    setsockopt(b, 'SO_REUSEPORT', true);
    bind(a, { host: '127.0.0.1', port: 0 });
    const { port } = getsockname(a) as { port: number };
    bind(b, { host: '127.0.0.1', port });
    expect((getsockname(b) as { port: number }).port).toBe(port);
  });

  it('SO_RCVBUF: the kernel doubles what it is given', () => {
    const [fd] = autoClose(socket('tcp4'));
    setsockopt(fd, 'SO_RCVBUF', 65536);
    expect(getsockopt(fd, 'SO_RCVBUF')).toBeGreaterThanOrEqual(65536);
    setsockopt(fd, 'SO_SNDBUF', 32768);
    expect(getsockopt(fd, 'SO_SNDBUF')).toBeGreaterThanOrEqual(32768);
  });

  it('IPV6_V6ONLY on a tcp6 socket', () => {
    if (withoutIpv6()) return;
    const [fd] = autoClose(socket('tcp6'));
    setsockopt(fd, 'IPV6_V6ONLY', true);
    expect(getsockopt(fd, 'IPV6_V6ONLY')).toBe(1);
  });

  it('gives the kernel errors: read-only options, TCP options on Unix sockets, non-sockets', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectIoError(() => setsockopt(fd, 'SO_TYPE', 1), 'ENOPROTOOPT', 'setsockopt', { fd });
    const [u] = autoClose(socket('unix'));
    expectIoError(() => setsockopt(u, 'TCP_NODELAY', true), 'ENOTSUP', 'setsockopt', { fd: u });
    const [r] = autoClose(...pipe());
    expectIoError(() => setsockopt(r, 'SO_REUSEADDR', true), 'ENOTSOCK', 'setsockopt', { fd: r });
  });

  it('rejects unknown options and bad values before any syscall', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectArgError(() => setsockopt(fd, 'SO_LINGER' as never, 1), 'ERR_INVALID_ARG_VALUE', 'option');
    expectArgError(() => setsockopt(fd, 'so_reuseaddr' as never, 1), 'ERR_INVALID_ARG_VALUE', 'option');
    expectArgError(() => setsockopt(fd, 2 as never, 1), 'ERR_INVALID_ARG_TYPE', 'option');
    expectArgError(() => setsockopt(fd, 'SO_REUSEADDR', 1.5), 'ERR_OUT_OF_RANGE', 'value');
    expectArgError(() => setsockopt(fd, 'SO_REUSEADDR', 2 ** 31), 'ERR_OUT_OF_RANGE', 'value');
    expectArgError(() => setsockopt(fd, 'SO_REUSEADDR', '1' as never), 'ERR_INVALID_ARG_TYPE', 'value');
    expectArgError(() => setsockopt(fd, 'SO_REUSEADDR', undefined as never), 'ERR_INVALID_ARG_TYPE', 'value');
    expect(getsockopt(fd, 'SO_REUSEADDR')).toBe(0);
  });

  rejectsBadFds('setsockopt', (fd) => setsockopt(fd, 'SO_REUSEADDR', true));
});

describe('getsockopt', () => {
  it('SO_TYPE names the socket type; SO_ERROR is 0 on a healthy socket', () => {
    const [t, u] = autoClose(socket('tcp4'), socket('udp4'));
    expect(getsockopt(t, 'SO_TYPE')).toBe(constant('SOCK_STREAM'));
    expect(getsockopt(u, 'SO_TYPE')).toBe(constant('SOCK_DGRAM'));
    expect(getsockopt(t, 'SO_ERROR')).toBe(0);
    expect(getsockopt(t, 'SO_RCVBUF')).toBeGreaterThan(0);
  });

  it('gives ENOTSOCK for a pipe and ENOTSUP for a TCP option on a Unix socket', () => {
    const [r] = autoClose(...pipe());
    expectIoError(() => getsockopt(r, 'SO_TYPE'), 'ENOTSOCK', 'getsockopt', { fd: r });
    const [u] = autoClose(socket('unix'));
    expectIoError(() => getsockopt(u, 'TCP_NODELAY'), 'ENOTSUP', 'getsockopt', { fd: u });
  });

  it('rejects unknown options', () => {
    const [fd] = autoClose(socket('tcp4'));
    expectArgError(() => getsockopt(fd, 'SO_NOPE' as never), 'ERR_INVALID_ARG_VALUE', 'option');
    expectArgError(() => getsockopt(fd, undefined as never), 'ERR_INVALID_ARG_TYPE', 'option');
  });

  rejectsBadFds('getsockopt', (fd) => getsockopt(fd, 'SO_TYPE'));
});

// ---------------------------------------------------------------- leaks

describe('fd leaks', () => {
  it('200 rounds of creating and closing every kind of fd leave /proc/self/fd as it was', () => {
    const path = tmpFile('x');
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      const fds = [...pipe(), ...socketpair({ type: i % 2 ? 'dgram' : 'stream' }), eventfd(i), socket(i % 2 ? 'udp4' : 'tcp4'), open(path)];
      fds.push(dup(fds[0]!));
      // Failures must not leak either.
      try {
        open(`${path}-missing`);
      } catch {
        // expected ENOENT
      }
      expect(fdCount()).toBe(before + fds.length);
      for (const fd of fds) close(fd);
    }
    expect(fdCount()).toBe(before);
  });
});
