import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MSG,
  WOULD_BLOCK,
  bind,
  close,
  connect,
  dup,
  getpeername,
  getsockname,
  isBlocking,
  listen,
  open,
  pipe,
  read,
  recv,
  send,
  setBlocking,
  socket,
  socketpair,
  tryAccept,
  tryRead,
  tryReadv,
  tryWrite,
  tryWritev,
  write,
} from '../lib/index.js';
import { constant } from '../lib/native.js';
import { autoClose, bad, closedFd, distEntry, expectArgError, expectIoError, NEVER_OPENED, root, tmpFile, withoutPreload } from './helpers/index.js';

const IOV_MAX = constant('IOV_MAX');





/** The fd's file status flags as the kernel reports them, independently of fcntl. */
function fdinfoFlags(fd: number): number {
  const match = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!match) throw new Error(`no flags line in /proc/self/fdinfo/${fd}`);
  return parseInt(match[1]!, 8);
}
const O_NONBLOCK_OCTAL = 0o4000;
const O_APPEND_OCTAL = 0o2000;


/** A listening TCP socket on 127.0.0.1 and its port. */
function tcpListener(nonblocking: boolean): [fd: number, port: number] {
  const [fd] = autoClose(socket('tcp4', { nonblocking }));
  bind(fd, { host: '127.0.0.1', port: 0 });
  listen(fd);
  const address = getsockname(fd);
  if (address.family === 'unix') throw new Error('expected an inet address');
  return [fd, address.port];
}

/** F_GETPIPE_SZ, asked by another process through /proc (Node has no fcntl). */
function pipeCapacity(fd: number): number | undefined {
  const script = 'import fcntl,os,sys\nf=os.open(sys.argv[1],os.O_RDONLY|os.O_NONBLOCK)\nprint(fcntl.fcntl(f,fcntl.F_GETPIPE_SZ))';
  const r = spawnSync('python3', ['-c', script, `/proc/${process.pid}/fd/${fd}`], { encoding: 'utf8', env: withoutPreload() });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

describe('setBlocking and isBlocking', () => {
  it('round-trip O_NONBLOCK, as /proc/self/fdinfo confirms', () => {
    const [r, w] = autoClose(...pipe());
    expect(isBlocking(r)).toBe(true);
    expect(fdinfoFlags(r) & O_NONBLOCK_OCTAL).toBe(0);
    setBlocking(r, false);
    expect(isBlocking(r)).toBe(false);
    expect(fdinfoFlags(r) & O_NONBLOCK_OCTAL).toBe(O_NONBLOCK_OCTAL);
    expect(fdinfoFlags(w) & O_NONBLOCK_OCTAL).toBe(0); // the other end is its own file description
    setBlocking(r, false); // idempotent
    expect(isBlocking(r)).toBe(false);
    setBlocking(r, true);
    expect(isBlocking(r)).toBe(true);
    expect(fdinfoFlags(r) & O_NONBLOCK_OCTAL).toBe(0);
  });

  it('report what pipe({ nonblocking }) and socket({ nonblocking }) set', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    expect([isBlocking(r), isBlocking(w)]).toEqual([false, false]);
    const [s] = autoClose(socket('tcp4', { nonblocking: true }));
    expect(isBlocking(s)).toBe(false);
    expect(fdinfoFlags(s) & O_NONBLOCK_OCTAL).toBe(O_NONBLOCK_OCTAL);
  });

  it('act on the open file description, so a dup sees the change', () => {
    const [r] = autoClose(...pipe());
    const [copy] = autoClose(dup(r));
    setBlocking(copy, false);
    expect(isBlocking(r)).toBe(false);
    expect(fdinfoFlags(r) & O_NONBLOCK_OCTAL).toBe(O_NONBLOCK_OCTAL);
  });

  it('keep the other status flags', () => {
    const [fd] = autoClose(open(tmpFile('x'), 'a'));
    expect(fdinfoFlags(fd) & O_APPEND_OCTAL).toBe(O_APPEND_OCTAL);
    setBlocking(fd, false);
    expect(fdinfoFlags(fd) & (O_APPEND_OCTAL | O_NONBLOCK_OCTAL)).toBe(O_APPEND_OCTAL | O_NONBLOCK_OCTAL);
    setBlocking(fd, true);
    expect(fdinfoFlags(fd) & (O_APPEND_OCTAL | O_NONBLOCK_OCTAL)).toBe(O_APPEND_OCTAL);
  });

  it('reject bad input before any syscall', () => {
    const [r] = autoClose(...pipe());
    for (const fd of ['3', null, undefined, 3n]) {
      expectArgError(() => setBlocking(bad(fd), true), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => isBlocking(bad(fd)), 'ERR_INVALID_ARG_TYPE');
    }
    for (const fd of [-1, 1.5, 2 ** 31]) {
      expectArgError(() => setBlocking(fd, true), 'ERR_OUT_OF_RANGE');
      expectArgError(() => isBlocking(fd), 'ERR_OUT_OF_RANGE');
    }
    for (const blocking of [0, 1, 'false', undefined, null]) expectArgError(() => setBlocking(r, bad(blocking)), 'ERR_INVALID_ARG_TYPE');
    expect(isBlocking(r)).toBe(true);
  });

  it('throw IoError EBADF from fcntl on a closed or never-opened fd', () => {
    const closed = closedFd();
    for (const fd of [closed, NEVER_OPENED]) {
      expectIoError(() => setBlocking(fd, false), 'EBADF', 'fcntl', fd);
      expectIoError(() => isBlocking(fd), 'EBADF', 'fcntl', fd);
    }
  });
});

describe('tryRead and tryWrite', () => {
  it('tryRead on an empty non-blocking pipe returns WOULD_BLOCK, not a throw', () => {
    const [r] = autoClose(...pipe({ nonblocking: true }));
    const result = tryRead(r, Buffer.alloc(16));
    expect(result).toBe(WOULD_BLOCK);
    expect(typeof result).toBe('symbol');
  });

  it('tryRead returns what there is, with offset and length honoured', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    expect(tryWrite(w, Buffer.from('abcdef'), 1, 3)).toBe(3);
    const buf = Buffer.alloc(8, '.');
    expect(tryRead(r, buf, 2)).toBe(3);
    expect(buf.toString()).toBe('..bcd...');
    expect(tryRead(r, buf)).toBe(WOULD_BLOCK);
  });

  it('EOF returns 0, not WOULD_BLOCK', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    write(w, Buffer.from('z'));
    close(w);
    const buf = Buffer.alloc(4);
    expect(tryRead(r, buf)).toBe(1);
    expect(tryRead(r, buf)).toBe(0);
    expect(tryReadv(r, [buf])).toBe(0);
  });

  it('tryWrite fills a non-blocking pipe to its capacity, then WOULD_BLOCK; draining makes room again', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    // Page-sized writes fill whole pipe slots, so the total is the capacity.
    const page = Buffer.alloc(4096, 0x78);
    let written = 0;
    for (;;) {
      const n = tryWrite(w, page);
      if (n === WOULD_BLOCK) break;
      expect(n).toBe(4096);
      written += n;
    }
    expect(written).toBeGreaterThan(0);
    const capacity = pipeCapacity(w);
    if (capacity !== undefined) expect(written).toBe(capacity);
    expect(tryWrite(w, Buffer.from('1'))).toBe(WOULD_BLOCK);

    const sink = Buffer.alloc(65536);
    let drained = 0;
    for (;;) {
      const n = tryRead(r, sink);
      if (n === WOULD_BLOCK) break;
      expect(n).toBeGreaterThan(0);
      drained += n;
    }
    expect(drained).toBe(written);
    expect(tryWrite(w, Buffer.from('again'))).toBe(5);
    expect(tryRead(r, sink)).toBe(5);
  });

  it('tryWrite to a pipe with no reader is IoError EPIPE', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    close(r);
    expectIoError(() => tryWrite(w, Buffer.from('x')), 'EPIPE', 'write', w);
  });

  it('reject bad input before any syscall', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    write(w, Buffer.from('keep'));
    const buf = Buffer.alloc(4, '.');
    for (const call of [tryRead, tryWrite]) {
      const fd = call === tryRead ? r : w;
      expectArgError(() => call(bad('3'), buf), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(-1, buf), 'ERR_OUT_OF_RANGE');
      for (const b of ['abcd', 4, [1, 2], null, new ArrayBuffer(4)]) expectArgError(() => call(fd, bad(b)), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(fd, buf, bad('0')), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(fd, buf, 0, bad('1')), 'ERR_INVALID_ARG_TYPE');
      for (const [offset, length] of [[5, undefined], [-1, undefined], [0, 5], [3, 2], [1.5, 1], [0, NaN]] as const) {
        expectArgError(() => call(fd, buf, offset, length), 'ERR_OUT_OF_RANGE');
      }
    }
    expect(buf.toString()).toBe('....');
    const out = Buffer.alloc(16);
    expect(tryRead(r, out)).toBe(4); // only what was there before
    expect(out.subarray(0, 4).toString()).toBe('keep');
  });

  it('throw IoError for errors other than EAGAIN: closed, never-opened, wrong-direction fds', () => {
    const closed = closedFd();
    for (const fd of [closed, NEVER_OPENED]) {
      expectIoError(() => tryRead(fd, Buffer.alloc(1)), 'EBADF', 'read', fd);
      expectIoError(() => tryWrite(fd, Buffer.alloc(1)), 'EBADF', 'write', fd);
      expectIoError(() => tryReadv(fd, [Buffer.alloc(1)]), 'EBADF', 'readv', fd);
      expectIoError(() => tryWritev(fd, [Buffer.alloc(1)]), 'EBADF', 'writev', fd);
    }
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    expectIoError(() => tryRead(w, Buffer.alloc(1)), 'EBADF', 'read', w);
    expectIoError(() => tryWrite(r, Buffer.alloc(1)), 'EBADF', 'write', r);
  });
});

describe('tryReadv and tryWritev', () => {
  it('scatter and gather, and return WOULD_BLOCK on an empty or full pipe', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    expect(tryReadv(r, [Buffer.alloc(4)])).toBe(WOULD_BLOCK);
    expect(tryWritev(w, [Buffer.from('ab'), Buffer.from('cde')])).toBe(5);
    const a = Buffer.alloc(1);
    const b = Buffer.alloc(8, '.');
    expect(tryReadv(r, [a, b])).toBe(5);
    expect(a.toString() + b.toString()).toBe('abcde....');
    expect(tryReadv(r, [a, b])).toBe(WOULD_BLOCK);

    const page = Buffer.alloc(4096);
    while (tryWrite(w, page) !== WOULD_BLOCK);
    expect(tryWritev(w, [Buffer.from('x'), page])).toBe(WOULD_BLOCK);
  });

  it('reject bad buffer lists before any syscall', () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    write(w, Buffer.from('keep'));
    for (const call of [tryReadv, tryWritev]) {
      const fd = call === tryReadv ? r : w;
      expectArgError(() => call(bad('3'), []), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(1.5, []), 'ERR_OUT_OF_RANGE');
      for (const bufs of ['ab', Buffer.alloc(2), null, 7]) expectArgError(() => call(fd, bad(bufs)), 'ERR_INVALID_ARG_TYPE');
      for (const element of ['ab', new Uint32Array(1), new DataView(new ArrayBuffer(1)), undefined]) {
        expectArgError(() => call(fd, bad([Buffer.alloc(1), element])), 'ERR_INVALID_ARG_TYPE');
      }
      const tooMany = Array.from({ length: IOV_MAX + 1 }, () => Buffer.alloc(1));
      expectArgError(() => call(fd, tooMany), 'ERR_OUT_OF_RANGE');
    }
    const out = Buffer.alloc(16);
    expect(tryRead(r, out)).toBe(4);
    expect(out.subarray(0, 4).toString()).toBe('keep');
  });
});

describe('recv and send', () => {
  it('recv on a blocking socketpair returns WOULD_BLOCK and leaves the socket blocking', () => {
    const [a] = autoClose(...socketpair());
    expect(isBlocking(a)).toBe(true);
    expect(recv(a, Buffer.alloc(8))).toBe(WOULD_BLOCK);
    expect(isBlocking(a)).toBe(true);
    expect(fdinfoFlags(a) & O_NONBLOCK_OCTAL).toBe(0);
  });

  it('send and recv move bytes, with offset and length honoured', () => {
    const [a, b] = autoClose(...socketpair());
    expect(send(a, Buffer.from('xxhello'), 2)).toBe(5);
    const buf = Buffer.alloc(8, '.');
    expect(recv(b, buf, 1, 3)).toBe(3);
    expect(buf.toString()).toBe('.hel....');
    expect(recv(b, buf)).toBe(2);
    expect(buf.subarray(0, 2).toString()).toBe('lo');
  });

  it('recv with MSG.PEEK does not consume', () => {
    const [a, b] = autoClose(...socketpair());
    send(a, Buffer.from('hello'));
    const peek = Buffer.alloc(5);
    expect(recv(b, peek, 0, 5, MSG.PEEK)).toBe(5);
    expect(peek.toString()).toBe('hello');
    const again = Buffer.alloc(5);
    expect(recv(b, again, 0, undefined, MSG.PEEK)).toBe(5);
    expect(recv(b, again)).toBe(5);
    expect(again.toString()).toBe('hello');
    expect(recv(b, again)).toBe(WOULD_BLOCK);
  });

  it('recv returns 0 at EOF, not WOULD_BLOCK', () => {
    const [a, b] = autoClose(...socketpair());
    close(a);
    expect(recv(b, Buffer.alloc(4))).toBe(0);
  });

  it('send returns WOULD_BLOCK when the socket buffer is full, even on a blocking socket', () => {
    const [a] = autoClose(...socketpair());
    const chunk = Buffer.alloc(65536);
    let sent = 0;
    for (;;) {
      const n = send(a, chunk);
      if (n === WOULD_BLOCK) break;
      sent += n;
    }
    expect(sent).toBeGreaterThan(0);
    expect(isBlocking(a)).toBe(true);
  });

  it('send to a socket whose peer is closed is IoError EPIPE, and the process lives on', () => {
    const [a, b] = autoClose(...socketpair());
    close(b);
    expectIoError(() => send(a, Buffer.from('x')), 'EPIPE', 'send', a);
    expect(process.pid).toBeGreaterThan(0);
  });

  it('send raises no SIGPIPE, where a plain write does (checked in a child process)', () => {
    // Node ignores SIGPIPE, so listening for it is the way to see one. The
    // child listens, then send()s and write()s to a closed peer: only the
    // write may raise the signal. Each raised signal is dispatched to the
    // listener separately, so a SIGPIPE from send would make the count 2.
    const entry = distEntry();
    const code = `
      import { socketpair, close, send, write } from ${JSON.stringify(entry)};
      let signals = 0;
      process.on('SIGPIPE', () => signals++);
      const [a, b] = socketpair();
      close(b);
      const errors = [];
      try { send(a, Buffer.from('x')); } catch (err) { errors.push(err.code + ' ' + err.syscall); }
      try { write(a, Buffer.from('x')); } catch (err) { errors.push(err.code + ' ' + err.syscall); }
      const done = () => { console.log(JSON.stringify({ errors, signals })); process.exit(0); };
      const deadline = Date.now() + 10000;
      const wait = () => signals > 0 ? setImmediate(() => setImmediate(done)) : Date.now() > deadline ? done() : setTimeout(wait, 10);
      wait();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ errors: ['EPIPE send', 'EPIPE write'], signals: 1 });
  });

  it('reject bad input before any syscall', () => {
    const [a, b] = autoClose(...socketpair());
    send(a, Buffer.from('keep'));
    const buf = Buffer.alloc(4, '.');
    for (const call of [recv, send]) {
      const fd = call === recv ? b : a;
      expectArgError(() => call(bad('3'), buf), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(-1, buf), 'ERR_OUT_OF_RANGE');
      for (const x of ['abcd', 4, [1], null]) expectArgError(() => call(fd, bad(x)), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(fd, buf, bad('0')), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(fd, buf, 0, bad('4')), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => call(fd, buf, 2, 3), 'ERR_OUT_OF_RANGE');
      expectArgError(() => call(fd, buf, 5), 'ERR_OUT_OF_RANGE');
      // MSG_DONTWAIT and MSG_NOSIGNAL are added by the call itself; they and
      // unknown bits are not the caller's to pass.
      for (const flags of [constant('MSG_DONTWAIT'), constant('MSG_NOSIGNAL'), 1 << 30, MSG.PEEK | (1 << 29)]) {
        expectArgError(() => call(fd, buf, 0, 4, flags), 'ERR_INVALID_ARG_VALUE');
      }
      for (const flags of [-1, 0.5]) expectArgError(() => call(fd, buf, 0, 4, flags), 'ERR_OUT_OF_RANGE');
      expectArgError(() => call(fd, buf, 0, 4, bad('2')), 'ERR_INVALID_ARG_TYPE');
    }
    expect(buf.toString()).toBe('....');
    const out = Buffer.alloc(16);
    expect(recv(b, out)).toBe(4);
    expect(recv(b, out)).toBe(WOULD_BLOCK);
  });

  it('throw IoError from recv and send on closed, never-opened and non-socket fds', () => {
    const closed = closedFd();
    for (const fd of [closed, NEVER_OPENED]) {
      expectIoError(() => recv(fd, Buffer.alloc(1)), 'EBADF', 'recv', fd);
      expectIoError(() => send(fd, Buffer.alloc(1)), 'EBADF', 'send', fd);
    }
    const [r, w] = autoClose(...pipe());
    expectIoError(() => recv(r, Buffer.alloc(1)), 'ENOTSOCK', 'recv', r);
    expectIoError(() => send(w, Buffer.alloc(1)), 'ENOTSOCK', 'send', w);
  });
});

describe('tryAccept', () => {
  it('returns WOULD_BLOCK on a non-blocking listener, then the connection once a client connects', () => {
    const [listener, port] = tcpListener(true);
    expect(tryAccept(listener)).toBe(WOULD_BLOCK);
    const [client] = autoClose(socket('tcp4'));
    expect(connect(client, { host: '127.0.0.1', port })).toBe(true);
    const conn = tryAccept(listener);
    if (conn === WOULD_BLOCK) throw new Error('expected a connection');
    autoClose(conn);
    expect(getpeername(conn)).toEqual(getsockname(client));
    expect(isBlocking(conn)).toBe(true);
    expect(tryAccept(listener)).toBe(WOULD_BLOCK);
    // The accepted socket works.
    expect(send(client, Buffer.from('hi'))).toBe(2);
    const buf = Buffer.alloc(2);
    expect(read(conn, buf)).toBe(2); // conn is blocking: this waits for the bytes
    expect(buf.toString()).toBe('hi');
  });

  it('gives the accepted socket O_NONBLOCK on request', () => {
    const [listener, port] = tcpListener(true);
    const [client] = autoClose(socket('tcp4'));
    connect(client, { host: '127.0.0.1', port });
    const conn = tryAccept(listener, { nonblocking: true });
    if (conn === WOULD_BLOCK) throw new Error('expected a connection');
    autoClose(conn);
    expect(fdinfoFlags(conn) & O_NONBLOCK_OCTAL).toBe(O_NONBLOCK_OCTAL);
    expect(tryRead(conn, Buffer.alloc(1))).toBe(WOULD_BLOCK);
  });

  it('rejects bad input, and throws IoError for fds that cannot accept', () => {
    const [listener] = tcpListener(true);
    expectArgError(() => tryAccept(bad('3')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => tryAccept(-1), 'ERR_OUT_OF_RANGE');
    expectArgError(() => tryAccept(listener, bad('nonblocking')), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => tryAccept(listener, bad({ nonblocking: 1 })), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => tryAccept(listener, bad({ cloexec: 'yes' })), 'ERR_INVALID_ARG_TYPE');
    const closed = closedFd();
    expectIoError(() => tryAccept(closed), 'EBADF', 'accept4', closed);
    expectIoError(() => tryAccept(NEVER_OPENED), 'EBADF', 'accept4', NEVER_OPENED);
    const [r] = autoClose(...pipe());
    expectIoError(() => tryAccept(r), 'ENOTSOCK', 'accept4', r);
    const [unlistened] = autoClose(socket('tcp4', { nonblocking: true }));
    expectIoError(() => tryAccept(unlistened), 'EINVAL', 'accept4', unlistened);
  });
});

