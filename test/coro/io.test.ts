/**
 * Cooperative I/O (lib/coro/io.ts) on every backend and driver: try the
 * syscall, park on EAGAIN, resume when the fd is ready; kill and timeouts
 * take the wait down; closing an fd wakes its waiters; 10,000 tasks.
 */
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bind, close, getrlimit, getsockname, listen, open, pipe, socket, socketpair, tryRead, write as writeNow, WOULD_BLOCK } from '../../lib/index.js';
import {
  accept,
  connect,
  createHub,
  joinAll,
  read,
  recv,
  send,
  sleep,
  spawn,
  TimeoutError,
  useHub,
  waitReadable,
  waitWritable,
  withTimeout,
  write,
  type Instruction,
} from '../../lib/coro/index.js';
import { autoClose, caught, closedFd, expectArgError, tmpFile } from '../helpers/index.js';
import { drive, expectIdle, MATRIX, turns } from '../helpers/coro.js';

const text = (buf: Buffer, n: number): string => buf.toString('utf8', 0, n);

describe.each(MATRIX)('cooperative I/O, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend });
  });
  afterEach(() => {
    expectIdle();
  });

  it('a read parks until a writer task writes, while other tasks run', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const log: string[] = [];
    const out = await drive(driver, function* () {
      const reader = spawn(function* () {
        const buf = Buffer.alloc(16);
        log.push('reader waits');
        const n = yield* read(r, buf);
        log.push('reader got');
        return text(buf, n);
      });
      const writer = spawn(function* () {
        yield* sleep(5);
        log.push('writer writes');
        yield* write(w, Buffer.from('hello'));
      });
      yield* joinAll([reader, writer]);
      return reader.value;
    });
    expect(out).toBe('hello');
    expect(log).toEqual(['reader waits', 'writer writes', 'reader got']);
  });

  it('write writes everything, parking while the pipe is full', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const size = 1 << 20; // well past a pipe's 64 KiB
    const payload = Buffer.alloc(size, 0x5a);
    const total = await drive(driver, function* () {
      const writer = spawn(function* () {
        return yield* write(w, payload);
      });
      const reader = spawn(function* () {
        const buf = Buffer.alloc(65536);
        let got = 0;
        while (got < size) got += yield* read(r, buf);
        return got;
      });
      yield* joinAll([writer, reader]);
      return [writer.value, reader.value];
    });
    expect(total).toEqual([size, size]);
  });

  it('recv/send, accept and connect over TCP', async () => {
    const listener = socket('tcp4', { nonblocking: true });
    autoClose(listener);
    bind(listener, { host: '127.0.0.1', port: 0 });
    listen(listener);
    const { port } = getsockname(listener) as { port: number };
    const echoed = await drive(driver, function* () {
      const server = spawn(function* () {
        const conn = yield* accept(listener);
        const buf = Buffer.alloc(64);
        const n = yield* recv(conn, buf);
        yield* send(conn, buf, 0, n);
        close(conn);
      });
      const client = spawn(function* () {
        const fd = socket('tcp4', { nonblocking: true });
        try {
          yield* connect(fd, { host: '127.0.0.1', port });
          yield* send(fd, Buffer.from('ping'));
          const buf = Buffer.alloc(64);
          return text(buf, yield* recv(fd, buf));
        } finally {
          close(fd);
        }
      });
      yield* joinAll([server, client], { raiseError: true });
      return client.value;
    });
    expect(echoed).toBe('ping');
  });

  it('connect throws ECONNREFUSED from a closed port', async () => {
    const probe = socket('tcp4');
    bind(probe, { host: '127.0.0.1', port: 0 });
    const { port } = getsockname(probe) as { port: number };
    close(probe);
    const code = await drive(driver, function* () {
      const fd = socket('tcp4', { nonblocking: true });
      try {
        yield* connect(fd, { host: '127.0.0.1', port });
        return 'connected';
      } catch (err) {
        return (err as { code: string }).code;
      } finally {
        close(fd);
      }
    });
    expect(code).toBe('ECONNREFUSED');
  });

  it('kill during a read runs finally once and leaves no waiter; the fd still works', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    let finallies = 0;
    const after = await drive(driver, function* () {
      const reader = spawn(function* () {
        try {
          yield* read(r, Buffer.alloc(8));
        } finally {
          finallies++;
        }
      });
      yield* sleep(1);
      expect(useHub().counts.waiters).toBe(1);
      yield* reader.kill();
      expect(useHub().counts.waiters).toBe(0);
      writeNow(w, Buffer.from('still'));
      const buf = Buffer.alloc(8);
      return text(buf, yield* read(r, buf));
    });
    expect(finallies).toBe(1);
    expect(after).toBe('still');
  });

  it('withTimeout on a read that never completes raises TimeoutError; the fd works afterwards', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    const out = await drive(driver, function* () {
      let error: unknown;
      try {
        yield* withTimeout(20, read(r, Buffer.alloc(8)));
      } catch (err) {
        error = err;
      }
      const counts = useHub().counts;
      const later = spawn(function* () {
        yield* sleep(5);
        writeNow(w, Buffer.from('late'));
      });
      const buf = Buffer.alloc(8);
      const n = yield* read(r, buf);
      yield* later;
      return { timedOut: error instanceof TimeoutError, code: (error as { code?: string }).code, waiters: counts.waiters, timers: counts.timers, got: text(buf, n) };
    });
    expect(out).toEqual({ timedOut: true, code: 'ETIMEDOUT', waiters: 0, timers: 0, got: 'late' });
  });

  it('closing an fd wakes the task waiting on it with EBADF, at once', async () => {
    const [r, w] = pipe({ nonblocking: true });
    autoClose(w);
    const out = await drive(driver, function* () {
      const reader = spawn(function* () {
        try {
          yield* read(r, Buffer.alloc(8));
          return 'read';
        } catch (err) {
          return (err as { code: string }).code;
        }
      });
      yield* sleep(1);
      close(r);
      return yield* reader;
    });
    expect(out).toBe('EBADF');
  });

  it('a second reader of one fd is ERR_CONCURRENT_USE; a reader and a writer may share it', async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const out = await drive(driver, function* () {
      const first = spawn(function* () {
        yield* waitReadable(a);
      });
      yield* sleep(0);
      const second = spawn(function* () {
        yield* waitReadable(a);
      });
      const writer = spawn(function* () {
        yield* waitWritable(a); // a socket with room: ready at once
        return 'writable';
      });
      let code: unknown;
      try {
        yield* second;
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      const writable = yield* writer;
      writeNow(b, Buffer.from('x'));
      yield* first;
      return { second: code, writer: writable };
    });
    expect(out).toEqual({ second: 'ERR_CONCURRENT_USE', writer: 'writable' });
  });

  it('waiting on a closed fd is EBADF, on a regular file EPERM (epoll) or ready at once (poll)', async () => {
    const file = open(tmpFile('data'));
    autoClose(file);
    const out = await drive(driver, function* () {
      const codes: string[] = [];
      try {
        yield* waitReadable(closedFd());
        codes.push('ready');
      } catch (err) {
        codes.push((err as { code: string }).code);
      }
      try {
        yield* waitReadable(file);
        codes.push('ready');
      } catch (err) {
        codes.push((err as { code: string }).code);
      }
      return codes;
    });
    expect(out[0]).toMatch(backend === 'epoll' ? /^EBADF$/ : /^(EBADF|ready)$/);
    expect(out[1]).toBe(backend === 'epoll' ? 'EPERM' : 'ready');
  });
});

describe.each(MATRIX)('10,000 tasks, $backend backend, $driver driver', ({ backend, driver }) => {
  it('each holds one end of a socketpair and ping-pongs 64 bytes: nothing lost or doubled, fds back to start', async () => {
    createHub({ backend });
    const pairs = 5000;
    const rounds = 4;
    const nofile = getrlimit('nofile').soft;
    expect(nofile, 'RLIMIT_NOFILE must allow 10,000 more fds').toBeGreaterThan(2 * pairs + 200);
    // The hub's own fds (its epoll, and the watcher's duplicate of it) are
    // made on first use: use it once before counting.
    await drive(driver, function* () {
      yield* sleep(0);
    });
    await turns(2);
    const fdsBefore = openFds();
    const result = await drive(driver, function* () {
      const tasks = [];
      for (let p = 0; p < pairs; p++) {
        const [a, b] = socketpair({ nonblocking: true });
        for (const [fd, first] of [[a, true], [b, false]] as const) {
          tasks.push(
            spawn(function* (): Generator<Instruction, number, unknown> {
              const buf = Buffer.alloc(64);
              let received = 0;
              try {
                for (let i = 0; i < rounds; i++) {
                  if (first) {
                    buf.writeUInt32LE(p * 1000 + i, 0);
                    yield* write(fd, buf);
                  }
                  let got = 0;
                  while (got < 64) got += yield* read(fd, buf, got, 64 - got);
                  if (buf.readUInt32LE(0) !== p * 1000 + i) throw new Error(`pair ${p} round ${i}: got ${buf.readUInt32LE(0)}`);
                  received++;
                  if (!first) yield* write(fd, buf);
                }
              } finally {
                close(fd);
              }
              return received;
            }),
          );
        }
      }
      const done = yield* joinAll(tasks, { raiseError: true });
      return done.reduce((sum, t) => sum + (t.value as number), 0);
    });
    expect(result).toBe(pairs * 2 * rounds);
    // Closed watchers (the poll backend's, one per waited fd) free their
    // duplicate fds once libuv has closed them, on the next loop turns.
    await turns(3);
    expect(openFds()).toBe(fdsBefore);
    expectIdle();
    expect(useHub().counts.registrations).toBe(0);
  }, 120_000);
});

describe('cooperative I/O: bad input', () => {
  beforeEach(() => {
    createHub();
  });

  it('checks its arguments before any wait', () => {
    const [r] = autoClose(...pipe({ nonblocking: true }));
    for (const fn of [waitReadable, waitWritable] as ((fd: unknown) => unknown)[]) {
      expectArgError(() => fn(-1), 'ERR_OUT_OF_RANGE', 'fd');
      expectArgError(() => fn('3'), 'ERR_INVALID_ARG_TYPE', 'fd');
    }
    expectArgError(() => read(r, 'buf' as never), 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectArgError(() => read(r, Buffer.alloc(4), 0, 5), 'ERR_OUT_OF_RANGE', 'length');
    expectArgError(() => write(r, Buffer.alloc(4), 5), 'ERR_OUT_OF_RANGE', 'offset');
    expectArgError(() => recv(1.5, Buffer.alloc(4)), 'ERR_OUT_OF_RANGE', 'fd');
    expectArgError(() => send(r, null as never), 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectArgError(() => accept(r, { nonblocking: 'yes' } as never), 'ERR_INVALID_ARG_TYPE');
    expect(caught(() => read(r, Buffer.alloc(4))[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });

  it('a read on a fd with data never parks', async () => {
    const [r, w] = autoClose(...pipe({ nonblocking: true }));
    writeNow(w, Buffer.from('ready'));
    const n = await spawn(function* () {
      return yield* read(r, Buffer.alloc(8));
    });
    expect(n).toBe(5);
    expect(tryRead(r, Buffer.alloc(1))).toBe(WOULD_BLOCK);
    expect(useHub().counts.registrations).toBe(0);
  });
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

