import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Epoll,
  FD_SETSIZE,
  IoError,
  MSG,
  POLL,
  Poller,
  WOULD_BLOCK,
  bind,
  close,
  connect,
  dup,
  eventfd,
  finishConnect,
  getrlimit,
  getsockname,
  open,
  pipe,
  poll,
  read,
  select,
  send,
  setrlimit,
  shutdown,
  socket,
  socketpair,
  tryRead,
  tryWrite,
  write,
} from '../lib/index.js';
import { native } from '../lib/native.js';
import { autoClose, distEntry, expectCode, fixture, mayskip, nodeArgv, root, tcpPair, tmpDir, tmpFile, withoutPreload } from './helpers/index.js';

const byte = Buffer.from('x');

/** A fresh epoll, closed when the test ends. */
const epolls: Epoll<any>[] = [];
function epoll<T = unknown>(): Epoll<T> {
  const e = Epoll.create<T>();
  epolls.push(e);
  return e;
}
afterEach(() => {
  for (const e of epolls.splice(0)) e.close();
});

/** How many epoll fds this process has open (libuv's own included). */
function epollFds(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]') count++;
    } catch {
      // closed while listing (readdir's own fd among them)
    }
  }
  return count;
}

function drain(fd: number): number {
  const buf = Buffer.alloc(65536);
  let total = 0;
  for (;;) {
    const n = tryRead(fd, buf);
    if (n === WOULD_BLOCK || n === 0) return total;
    total += n;
  }
}


/** A port on 127.0.0.1 that nobody listens on (bound, read, then closed). */
function closedPort(): number {
  const fd = socket('tcp4');
  bind(fd, { host: '127.0.0.1', port: 0 });
  const { port } = getsockname(fd) as { port: number };
  close(fd);
  return port;
}

function runModule(code: string, timeout = 20_000) {
  const path = fixture(code);
  return spawnSync(process.execPath, [path], { cwd: root, encoding: 'utf8', timeout });
}

describe('select', () => {
  it('reports a pipe readable after a write, and its write end writable', () => {
    const [r, w] = autoClose(...pipe());
    expect(select([r], [w], [], 0)).toEqual({ read: [], write: [w], except: [] });
    write(w, byte);
    expect(select([r], [w], [], 1000)).toEqual({ read: [r], write: [w], except: [] });
  });

  it('reports TCP urgent data in the except set', () => {
    const [client, server] = tcpPair();
    expect(select([], [], [server], 0).except).toEqual([]);
    send(client, byte, 0, 1, MSG.OOB);
    expect(select([], [], [server], 5000).except).toEqual([server]);
  });

  it('returns empty sets when the timeout passes', () => {
    const [r] = autoClose(...pipe());
    expect(select([r], [], [], 10)).toEqual({ read: [], write: [], except: [] });
  });

  it('works at fd 1023 and rejects fd 1024 before any syscall', () => {
    expect(FD_SETSIZE).toBe(1024);
    const [r, w] = autoClose(...pipe());
    const dups: number[] = [];
    let fd = -1;
    while ((fd = dup(r)) < 1023) dups.push(fd);
    autoClose(...dups, fd);
    expect(fd).toBe(1023);
    const high = dup(r);
    autoClose(high);
    expect(high).toBe(1024);

    write(w, byte);
    expect(select([1023], [], [], 1000).read).toEqual([1023]);

    const spy = vi.spyOn(native, 'select');
    try {
      for (const call of [() => select([1024]), () => select([r], [1024]), () => select([], [], [5000]), () => select([-1])]) {
        expectCode(call, 'ERR_OUT_OF_RANGE');
      }
      expect(() => select([1024])).toThrow(/must be >= 0 && < 1024/);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    // The native binding re-checks, and never FD_SETs out of range.
    expectCode(() => native.select(new Int32Array([1024]), new Int32Array(0), new Int32Array(0), 0, new Uint8Array(1)), 'ERR_OUT_OF_RANGE');
  });

  it('rejects bad input', () => {
    const [r] = autoClose(...pipe());
    expectCode(() => select(r as unknown as number[]), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => select(['3'] as unknown as number[]), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => select([1.5]), 'ERR_OUT_OF_RANGE');
    expectCode(() => select([r], [], [], -2), 'ERR_OUT_OF_RANGE');
    expectCode(() => select([r], [], [], NaN), 'ERR_OUT_OF_RANGE');
    expectCode(() => select([r], [], [], '1' as unknown as number), 'ERR_INVALID_ARG_TYPE');
    const [x, y] = pipe();
    close(x);
    close(y);
    expectCode(() => select([x], [], [], 0), 'EBADF', 'select');
  });
});

describe('poll', () => {
  it('reports readable, writable, hang-up and error on pipes', () => {
    const [r, w] = autoClose(...pipe());
    expect(poll([{ fd: r, events: POLL.IN }], 0)).toEqual([]);
    expect(poll([{ fd: w, events: POLL.OUT }], 0)).toEqual([{ fd: w, events: POLL.OUT }]);
    write(w, byte);
    expect(poll([{ fd: r, events: POLL.IN }, { fd: w, events: POLL.OUT }], 1000)).toEqual([
      { fd: r, events: POLL.IN },
      { fd: w, events: POLL.OUT },
    ]);
    close(w);
    // Writer gone: data still readable, plus HUP.
    expect(poll([{ fd: r, events: POLL.IN }], 0)).toEqual([{ fd: r, events: POLL.IN | POLL.HUP }]);

    const [r2, w2] = autoClose(...pipe());
    close(r2);
    // Reader gone: writing would fail, so ERR (with OUT).
    const [event] = poll([{ fd: w2, events: POLL.OUT }], 0);
    expect(event!.events & POLL.ERR).toBe(POLL.ERR);
  });

  it('reports RDHUP when a socket peer shuts down writing', () => {
    const [a, b] = autoClose(...socketpair());
    expect(poll([{ fd: a, events: POLL.IN | POLL.RDHUP }], 0)).toEqual([]);
    shutdown(b, 'write');
    expect(poll([{ fd: a, events: POLL.IN | POLL.RDHUP }], 0)).toEqual([{ fd: a, events: POLL.IN | POLL.RDHUP }]);
  });

  it('reports a closed fd as NVAL, not an exception', () => {
    const [r, w] = pipe();
    close(r);
    close(w);
    expect(poll([{ fd: r, events: POLL.IN }], 0)).toEqual([{ fd: r, events: POLL.NVAL }]);
  });

  it('times out with nothing ready', () => {
    const [r] = autoClose(...pipe());
    expect(poll([{ fd: r, events: POLL.IN }], 10)).toEqual([]);
    expect(poll([], 0)).toEqual([]);
  });

  it('takes fds above FD_SETSIZE', () => {
    const [r, w] = autoClose(...pipe());
    const dups: number[] = [];
    let fd: number;
    while ((fd = dup(r)) < 1100) dups.push(fd);
    autoClose(...dups, fd);
    write(w, byte);
    expect(poll([{ fd, events: POLL.IN }], 1000)).toEqual([{ fd, events: POLL.IN }]);
  });

  it('rejects bad input', () => {
    const [r] = autoClose(...pipe());
    expectCode(() => poll({} as unknown as []), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => poll([null as unknown as { fd: number; events: number }]), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => poll([{ fd: 'x' as unknown as number, events: POLL.IN }]), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => poll([{ fd: -1, events: POLL.IN }]), 'ERR_OUT_OF_RANGE');
    expectCode(() => poll([{ fd: r, events: 0x4000 }]), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => poll([{ fd: r, events: -1 }]), 'ERR_OUT_OF_RANGE');
    expectCode(() => poll([{ fd: r, events: POLL.IN }], -5), 'ERR_OUT_OF_RANGE');
  });
});

describe('Poller', () => {
  it('registers, modifies and unregisters, reusing its set between polls', () => {
    const poller = new Poller();
    const pipes = Array.from({ length: 20 }, () => autoClose(...pipe()));
    for (const [r] of pipes) poller.register(r, POLL.IN);
    expect(poller.size).toBe(20);
    expect(poller.poll(0)).toEqual([]);
    write(pipes[3]![1], byte);
    write(pipes[17]![1], byte);
    expect(poller.poll(1000)).toEqual(expect.arrayContaining([{ fd: pipes[3]![0], events: POLL.IN }, { fd: pipes[17]![0], events: POLL.IN }]));
    expect(poller.poll(0)).toHaveLength(2); // level-triggered: still there

    poller.unregister(pipes[3]![0]);
    expect(poller.poll(0)).toEqual([{ fd: pipes[17]![0], events: POLL.IN }]);
    // The slot of the last entry moved into the hole: it must still work.
    write(pipes[19]![1], byte);
    expect(poller.poll(0).map((e) => e.fd).sort((x, y) => x - y)).toEqual([pipes[17]![0], pipes[19]![0]]);

    poller.modify(pipes[17]![0], POLL.OUT); // a read end is never writable
    expect(poller.poll(0)).toEqual([{ fd: pipes[19]![0], events: POLL.IN }]);
    poller.register(pipes[17]![0], POLL.IN); // registering again replaces
    expect(poller.size).toBe(19);
    expect(poller.poll(0)).toHaveLength(2);
  });

  it('defaults to IN | PRI | OUT, like Python', () => {
    const poller = new Poller();
    const [, w] = autoClose(...pipe());
    poller.register(w);
    expect(poller.poll(0)).toEqual([{ fd: w, events: POLL.OUT }]);
  });

  it('reports a closed fd as NVAL', () => {
    const poller = new Poller();
    const [r, w] = pipe();
    poller.register(r, POLL.IN);
    close(r);
    close(w);
    expect(poller.poll(0)).toEqual([{ fd: r, events: POLL.NVAL }]);
  });

  it('rejects bad input', () => {
    const poller = new Poller();
    const [r] = autoClose(...pipe());
    expectCode(() => poller.modify(r, POLL.IN), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => poller.unregister(r), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => poller.register(r, 1 << 20), 'ERR_OUT_OF_RANGE');
    expectCode(() => poller.register(r, 0x4000), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => poller.register(null as unknown as number), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => poller.poll(-3), 'ERR_OUT_OF_RANGE');
  });
});

describe('Epoll: readiness', () => {
  it('reports readable after a write on pipes, socketpairs, eventfds and TCP', () => {
    const ep = epoll<string>();
    const [pr, pw] = autoClose(...pipe());
    const [sa, sb] = autoClose(...socketpair());
    const [efd] = autoClose(eventfd(0));
    const [client, server] = tcpPair();
    ep.add(pr, Epoll.IN, 'pipe');
    ep.add(sa, Epoll.IN, 'socketpair');
    ep.add(efd, Epoll.IN, 'eventfd');
    ep.add(server, Epoll.IN, 'tcp');
    expect(ep.wait(8, 0)).toEqual([]);
    write(pw, byte);
    write(sb, byte);
    write(efd, new BigUint64Array([1n]));
    write(client, byte);
    const seen = new Map<string, number>();
    // TCP over loopback may land a moment later: gather until all four are in.
    for (let i = 0; i < 100 && seen.size < 4; i++) for (const e of ep.wait(8, 100)) seen.set(e.data, e.events);
    expect(Object.fromEntries(seen)).toEqual({ pipe: Epoll.IN, socketpair: Epoll.IN, eventfd: Epoll.IN, tcp: Epoll.IN });
  });

  it('reports writable until the buffer fills, and again once drained', () => {
    const ep = epoll();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.OUT);
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.OUT, data: undefined }]);
    const chunk = Buffer.alloc(65536);
    let total = 0;
    for (let n; (n = tryWrite(a, chunk)) !== WOULD_BLOCK; ) total += n;
    expect(total).toBeGreaterThan(0);
    expect(ep.wait(8, 0)).toEqual([]);
    expect(drain(b)).toBe(total);
    expect(ep.wait(8, 1000)).toEqual([{ fd: a, events: Epoll.OUT, data: undefined }]);
  });

  it('reports HUP and RDHUP when the peer closes', () => {
    const ep = epoll<string>();
    const [a, b] = autoClose(...socketpair());
    const [r, w] = autoClose(...pipe());
    ep.add(a, Epoll.IN | Epoll.RDHUP, 'socket');
    ep.add(r, Epoll.IN, 'pipe');
    close(b);
    close(w);
    const got = Object.fromEntries(ep.wait(8, 1000).map((e) => [e.data, e.events]));
    expect(got.socket).toBe(Epoll.IN | Epoll.RDHUP | Epoll.HUP);
    expect(got.pipe).toBe(Epoll.HUP); // HUP is reported without being asked for
  });

  it('reports RDHUP (not HUP) on a TCP peer shutting down writing', () => {
    const ep = epoll();
    const [client, server] = tcpPair();
    ep.add(server, Epoll.IN | Epoll.RDHUP);
    shutdown(client, 'write');
    let events = 0;
    for (let i = 0; i < 100 && events === 0; i++) for (const e of ep.wait(8, 100)) events = e.events;
    expect(events).toBe(Epoll.IN | Epoll.RDHUP);
  });

  it('reports ERR on a refused TCP connection and on a pipe with no reader', () => {
    const ep = epoll<string>();
    const [fd] = autoClose(socket('tcp4', { nonblocking: true }));
    const connected = connect(fd, { host: '127.0.0.1', port: closedPort() });
    ep.add(fd, Epoll.OUT, 'tcp');
    const [r, w] = autoClose(...pipe());
    close(r);
    ep.add(w, Epoll.OUT, 'pipe');
    const got = new Map<string, number>();
    for (let i = 0; i < 100 && got.size < 2; i++) for (const e of ep.wait(8, 100)) got.set(e.data, e.events);
    expect(got.get('tcp')! & Epoll.ERR).toBe(Epoll.ERR);
    expect(got.get('pipe')! & Epoll.ERR).toBe(Epoll.ERR);
    if (!connected) expectCode(() => finishConnect(fd), 'ECONNREFUSED');
  });

  it('is level-triggered by default: fires every wait until drained', () => {
    const ep = epoll();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN);
    write(b, Buffer.from('abc'));
    for (let i = 0; i < 3; i++) expect(ep.wait(8, 0)).toHaveLength(1);
    expect(drain(a)).toBe(3);
    expect(ep.wait(8, 0)).toEqual([]);
  });

  it('is edge-triggered with ET: fires once per new arrival', () => {
    const ep = epoll();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN | Epoll.ET);
    write(b, Buffer.from('abc'));
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.IN, data: undefined }]);
    expect(ep.wait(8, 0)).toEqual([]); // not drained, but no new edge
    write(b, Buffer.from('d'));
    expect(ep.wait(8, 0)).toHaveLength(1); // new arrival, new edge
    expect(ep.wait(8, 0)).toEqual([]);
    expect(drain(a)).toBe(4);
  });

  it('fires ONESHOT once, until modify re-arms it', () => {
    const ep = epoll<string>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN | Epoll.ONESHOT, 'first');
    write(b, byte);
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.IN, data: 'first' }]);
    write(b, byte);
    expect(ep.wait(8, 0)).toEqual([]);
    ep.modify(a, Epoll.IN | Epoll.ONESHOT);
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.IN, data: 'first' }]); // data kept when not given
    ep.modify(a, Epoll.IN | Epoll.ONESHOT, 'second');
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.IN, data: 'second' }]);
  });

  it('accepts EXCLUSIVE on add and rejects it on modify (kernel rule)', () => {
    const ep = epoll();
    const [a, b] = autoClose(...socketpair());
    ep.add(a, Epoll.IN | Epoll.EXCLUSIVE);
    write(b, byte);
    expect(ep.wait(8, 0)).toHaveLength(1);
    let caught: unknown;
    try {
      ep.modify(a, Epoll.IN | Epoll.EXCLUSIVE);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IoError);
    expect(caught).toMatchObject({ code: 'EINVAL', syscall: 'epoll_ctl', fd: a });
    expect((caught as Error).message).toMatch(/EXCLUSIVE is allowed only on add/);
    expectCode(() => ep.modify(a, Epoll.IN), 'EINVAL', 'epoll_ctl'); // no MOD at all on an exclusive fd
    expectCode(() => ep.add(b, Epoll.IN | Epoll.EXCLUSIVE | Epoll.ONESHOT), 'EINVAL', 'epoll_ctl');
  });

  it('accepts the whole flag set (WAKEUP included)', () => {
    const ep = epoll();
    const [a] = autoClose(...socketpair());
    const all = Epoll.IN | Epoll.OUT | Epoll.PRI | Epoll.ERR | Epoll.HUP | Epoll.RDHUP | Epoll.ET | Epoll.ONESHOT | Epoll.WAKEUP;
    expect(all).toBeLessThan(0); // bit 31 (ET) makes the JS number negative
    ep.add(a, all);
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.OUT, data: undefined }]);
    expect(Epoll.ET >>> 0).toBe(2 ** 31);
  });

  it('returns any JS value as data, with its events', () => {
    const ep = epoll<{ id: number } | (() => void) | symbol>();
    const [a, b] = autoClose(...socketpair());
    const [c, d] = autoClose(...socketpair());
    const [e, f] = autoClose(...socketpair());
    const obj = { id: 1 };
    const fn = () => {};
    const sym = Symbol('x');
    ep.add(a, Epoll.IN, obj);
    ep.add(c, Epoll.IN, fn);
    ep.add(e, Epoll.IN, sym);
    for (const fd of [b, d, f]) write(fd, byte);
    const got = ep.wait(8, 1000);
    expect(got.find((x) => x.fd === a)!.data).toBe(obj);
    expect(got.find((x) => x.fd === c)!.data).toBe(fn);
    expect(got.find((x) => x.fd === e)!.data).toBe(sym);
    expect(ep.size).toBe(3);
  });

  it('limits a wait to maxEvents, the rest coming next time', () => {
    const ep = epoll<number>();
    const pairs = Array.from({ length: 10 }, () => autoClose(...socketpair()));
    pairs.forEach(([a, b], i) => {
      ep.add(a, Epoll.IN, i);
      write(b, byte);
    });
    const first = ep.wait(4, 0);
    expect(first).toHaveLength(4);
    const all = new Set([...first, ...ep.wait(6, 0)].map((e) => e.data));
    expect(all.size).toBe(10);
  });

  it('explains EPERM for a regular file', () => {
    const ep = epoll();
    const [fd] = autoClose(open(tmpFile('data')));
    let caught: unknown;
    try {
      ep.add(fd, Epoll.IN);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'EPERM', syscall: 'epoll_ctl', fd });
    expect((caught as Error).message).toMatch(/^EPERM: operation not permitted, epoll_ctl \(.*regular files .* always ready; use blocking, async or direct I\/O\)$/);
  });

  it('gives EEXIST, ENOENT and EBADF from the kernel', () => {
    const ep = epoll();
    const [a, b] = autoClose(...socketpair());
    ep.add(a, Epoll.IN);
    expectCode(() => ep.add(a, Epoll.IN), 'EEXIST', 'epoll_ctl');
    expectCode(() => ep.modify(b, Epoll.IN), 'ENOENT', 'epoll_ctl');
    expectCode(() => ep.delete(b), 'ENOENT', 'epoll_ctl');
    ep.delete(a);
    expect(ep.size).toBe(0);
    const [x, y] = pipe();
    close(x);
    close(y);
    expectCode(() => ep.add(x, Epoll.IN), 'EBADF', 'epoll_ctl');
  });
});

describe('Epoll: fd churn and stale registrations', () => {
  it('never lets an old registration reach the data of a reused fd number', () => {
    const ep = epoll<string>();
    const [a, peerA] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN, 'old');
    // A dup keeps the old open file description, and so its registration, alive.
    const [keep] = autoClose(dup(a));
    close(a);
    const [a2, peerA2] = autoClose(...socketpair({ nonblocking: true }));
    expect(a2).toBe(a); // the number is reused
    ep.add(a2, Epoll.IN, 'new');
    write(peerA, byte); // wakes the OLD registration
    const before = ep.staleEvents;
    for (const e of ep.wait(8, 0)) expect(e.data).not.toBe('old');
    expect(ep.staleEvents).toBeGreaterThan(before);
    write(peerA2, byte);
    expect(ep.wait(8, 1000).map((e) => e.data)).toContain('new');
    drain(keep);
  });

  it('reports an orphaned registration once, and backs off instead of spinning a core on it', async () => {
    // Let warnings from earlier tests (emitted on nextTick) go by first.
    await new Promise((resolve) => setImmediate(resolve));
    const ep = epoll<string>();
    const [a, peer] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN, 'orphan');
    const [keep] = autoClose(dup(a));
    close(a);
    // delete() after the close: the kernel says EBADF and our record goes,
    // but the dup keeps the kernel's registration, now beyond reach.
    expectCode(() => ep.delete(a), 'EBADF', 'epoll_ctl');
    write(peer, byte); // level-triggered and never drained: ready forever
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === 'IOMODES_EPOLL_ORPHAN') warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const [x, y] = autoClose(...socketpair({ nonblocking: true }));
      ep.add(x, Epoll.IN, 'live');
      const live = ep.waitAsync(-1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Spinning, 300 ms is thousands of loop turns, each with a stale
      // event; backing off (1, 2, 4 ... 64 ms) it is about ten.
      expect(ep.staleEvents).toBeGreaterThan(0);
      expect(ep.staleEvents).toBeLessThan(100);
      write(y, byte);
      expect((await live).map((e) => e.data)).toEqual(['live']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.name).toBe('IomodesWarning');
      expect(warnings[0]!.message).toMatch(new RegExp(`fd ${a} was closed before epoll.delete\\(${a}\\).*delete\\(\\) an fd before closing it`));
    } finally {
      process.off('warning', onWarning);
      drain(keep);
    }
  });

  it('survives 1,000 cycles of register, close, reopen, register', () => {
    const ep = epoll<number>();
    let [a, b] = socketpair();
    let generation = 0;
    ep.add(a, Epoll.IN, generation);
    for (let i = 0; i < 1000; i++) {
      write(b, byte);
      // Close without delete (the kernel drops the registration with the last fd).
      close(a);
      close(b);
      [a, b] = socketpair();
      generation++;
      ep.add(a, Epoll.IN, generation);
      if (i % 2 === 0) write(b, byte);
      for (const e of ep.wait(8, 0)) {
        expect(e.fd).toBe(a);
        expect(e.data).toBe(generation);
      }
    }
    autoClose(a, b);
  });
});

describe('Epoll: scale', () => {
  it('waits on 5,000 registered socketpairs, 1,000 times, each returning exactly the fds made ready', () => {
    const want = 5000;
    const need = want * 2 + 1000;
    const limit = getrlimit('nofile');
    if (limit.soft < need && limit.hard > limit.soft) setrlimit('nofile', { soft: Math.min(need, limit.hard), hard: limit.hard });
    const soft = getrlimit('nofile').soft;
    // Largest N that fits when the limit cannot be raised far enough.
    const n = Math.min(want, Math.floor((soft - 1000) / 2));
    if (n < want) console.log(`scale test: RLIMIT_NOFILE ${soft} allows ${n} socketpairs, not ${want}`);
    expect(n).toBeGreaterThanOrEqual(500);

    const ep = epoll<number>();
    const pairs: [number, number][] = [];
    try {
      for (let i = 0; i < n; i++) {
        const pair = socketpair({ nonblocking: true });
        pairs.push(pair);
        ep.add(pair[0], Epoll.IN, i);
      }
      expect(ep.size).toBe(n);
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const buf = Buffer.alloc(16);
      for (let round = 0; round < 1000; round++) {
        const chosen = new Set<number>();
        const k = 1 + (round % 5);
        while (chosen.size < k) chosen.add(Math.floor(random() * n));
        for (const i of chosen) write(pairs[i]![1], byte);
        const got = ep.wait(64, 5000);
        expect(got.map((e) => e.data).sort((x, y) => x - y)).toEqual([...chosen].sort((x, y) => x - y));
        for (const e of got) {
          expect(e.fd).toBe(pairs[e.data]![0]);
          expect(read(e.fd, buf)).toBe(1);
        }
      }
    } finally {
      for (const [a, b] of pairs) {
        close(a);
        close(b);
      }
    }
  });
});

describe('Epoll: bad input and use after close', () => {
  it('rejects wrong types, unknown flags and bad counts', () => {
    const ep = epoll();
    const [a] = autoClose(...socketpair());
    expectCode(() => ep.add('3' as unknown as number, Epoll.IN), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => ep.add(-1, Epoll.IN), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.add(a, 'in' as unknown as number), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => ep.add(a, 1 << 20), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => ep.add(a, 2 ** 32), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.add(a, 1.5), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.modify(a, 1 << 20), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => ep.wait(-1, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.wait(0, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.wait(2 ** 21, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.wait('8' as unknown as number, 0), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => ep.wait(8, -2), 'ERR_OUT_OF_RANGE');
    expectCode(() => ep.wait(8, null as unknown as number), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => ep.watch('f' as unknown as () => void), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => ep.events({ signal: {} as AbortSignal }), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => Epoll.create({ cloexec: 1 as unknown as boolean }), 'ERR_INVALID_ARG_TYPE');
    expect(() => new (Epoll as unknown as new (k: symbol, fd: number) => Epoll)(Symbol('x'), 0)).toThrow(TypeError);
    expect(ep.size).toBe(0);
  });

  it('rejects waitAsync input in the promise', async () => {
    const ep = epoll();
    await expect(ep.waitAsync(-7)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(ep.waitAsync(10, { signal: 'x' as unknown as AbortSignal })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('throws ERR_USE_AFTER_CLOSE after close, which is idempotent', async () => {
    const ep = Epoll.create();
    const [a] = autoClose(...socketpair());
    const fd = ep.fd;
    expect(fd).toBeGreaterThan(2);
    ep.close();
    ep.close();
    expect(ep.closed).toBe(true);
    expect(ep.fd).toBe(-1);
    for (const use of [
      () => ep.add(a, Epoll.IN),
      () => ep.modify(a, Epoll.IN),
      () => ep.delete(a),
      () => ep.wait(8, 0),
      () => ep.watch(() => {}),
      () => ep.events(),
      () => ep.ref(),
      () => ep.unref(),
    ]) {
      expectCode(use, 'ERR_USE_AFTER_CLOSE');
    }
    expect(() => ep.wait()).toThrow('This Epoll is closed');
    await expect(ep.waitAsync(0)).rejects.toMatchObject({ code: 'ERR_USE_AFTER_CLOSE' });
  });

  it('closes with using', () => {
    let fd: number;
    {
      using ep = Epoll.create();
      fd = ep.fd;
      expect(poll([{ fd, events: POLL.IN }], 0)).toEqual([]);
    }
    expect(poll([{ fd, events: POLL.IN }], 0)).toEqual([{ fd, events: POLL.NVAL }]);
  });
});

describe('Epoll on the event loop', () => {
  it('lets a 5 ms timer fire while it waits, then delivers the event', async () => {
    const ep = epoll<string>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN, 'a');
    const order: string[] = [];
    const got = new Promise<unknown>((resolve) => {
      const stop = ep.watch((events) => {
        order.push('event');
        drain(a);
        stop();
        resolve(events);
      });
    });
    setTimeout(() => {
      order.push('timer');
      write(b, byte);
    }, 5);
    expect(await got).toEqual([{ fd: a, events: Epoll.IN, data: 'a' }]);
    expect(order).toEqual(['timer', 'event']);
  });

  it('resolves waitAsync with the ready events, or [] on timeout', async () => {
    const ep = epoll<number>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN, 7);
    expect(await ep.waitAsync(20)).toEqual([]);
    expect(await ep.waitAsync(0)).toEqual([]);
    setTimeout(() => write(b, byte), 5);
    expect(await ep.waitAsync(10_000)).toEqual([{ fd: a, events: Epoll.IN, data: 7 }]);
    expect(await ep.waitAsync(0)).toEqual([{ fd: a, events: Epoll.IN, data: 7 }]); // level-triggered
    // Two waits pending at once get the same batch.
    drain(a);
    const both = Promise.all([ep.waitAsync(), ep.waitAsync()]);
    write(b, byte);
    const [x, y] = await both;
    expect(x).toEqual(y);
    expect(x).toHaveLength(1);
  });

  it('rejects a waitAsync aborted by its AbortSignal with an AbortError', async () => {
    const ep = epoll();
    const [a] = autoClose(...socketpair());
    ep.add(a, Epoll.IN);
    const controller = new AbortController();
    const pending = ep.waitAsync(-1, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('enough')), 5);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((err as Error).cause).toEqual(new Error('enough'));
    await expect(ep.waitAsync(-1, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('iterates batches with for await, and ends when the epoll closes', async () => {
    const ep = Epoll.create<string>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN | Epoll.ET, 'a');
    const seen: number[] = [];
    setTimeout(() => write(b, Buffer.from('1')), 1);
    for await (const events of ep.events()) {
      expect(events.map((e) => e.data)).toEqual(['a']);
      seen.push(drain(a));
      if (seen.length === 3) {
        setTimeout(() => ep.close(), 1);
        continue;
      }
      setTimeout(() => write(b, Buffer.from('22')), 1);
    }
    expect(seen).toEqual([1, 2, 2]);
    expect(ep.closed).toBe(true);
  });

  it('throws an AbortError from the iterator when its signal aborts', async () => {
    const ep = epoll();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5);
    const run = async () => {
      for await (const _ of ep.events({ signal: controller.signal })) expect.unreachable();
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('is safe to close from inside its own watch callback, and while waits are pending', async () => {
    const ep = Epoll.create();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN);
    const pending = ep.waitAsync(-1);
    const pendingResult = pending.then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    const calls: number[] = [];
    ep.watch((events) => {
      calls.push(events.length);
      ep.close();
    });
    ep.watch(() => calls.push(-1)); // skipped: the epoll closed during dispatch
    write(b, byte);
    // The pending wait saw the batch before the close.
    expect(await pendingResult).toBe('resolved');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual([1]);
    expect(ep.closed).toBe(true);

    const ep2 = Epoll.create();
    ep2.add(a, Epoll.IN);
    const wait = ep2.waitAsync(-1).catch((e: { code?: string }) => e.code);
    ep2.watch(() => {});
    ep2.close();
    expect(await wait).toBe('ERR_USE_AFTER_CLOSE');
  });

  it('mixes synchronous waits with watching', async () => {
    const ep = epoll<string>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN | Epoll.ET, 'a');
    const batches: unknown[] = [];
    const stop = ep.watch((events) => batches.push(events));
    write(b, byte);
    // Taken synchronously first: the watcher then wakes spuriously and delivers nothing.
    expect(ep.wait(8, 0)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).toEqual([]);
    write(b, byte);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).toHaveLength(1);
    stop();
  });
  it('takes nothing from the kernel between two waits, however long the loop turns', async () => {
    const ep = epoll<string>();
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    ep.add(a, Epoll.IN | Epoll.ET, 'a');
    write(b, byte);
    expect(await ep.waitAsync(10_000)).toHaveLength(1);
    // Nobody waits now: an event that comes stays in the kernel for the next waiter.
    write(b, byte);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ep.wait(8, 0)).toEqual([{ fd: a, events: Epoll.IN, data: 'a' }]);
    write(b, byte);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await ep.waitAsync(10_000)).toEqual([{ fd: a, events: Epoll.IN, data: 'a' }]);
  });
});

describe('Epoll on the event loop, in other processes and threads', () => {
  it('lets the process exit while an unref()ed epoll is watched', () => {
    const code = `
      const { Epoll, pipe } = await import(${JSON.stringify(distEntry())});
      const [r] = pipe();
      const ep = Epoll.create();
      ep.add(r, Epoll.IN);
      ep.watch(() => console.log('unexpected event'));
      ep.unref();
      ep.waitAsync(60_000).then(() => console.log('unexpected resolve'));
      process.on('exit', () => console.log('exited'));
    `;
    const result = runModule(code, 20_000);
    expect(result.signal).toBe(null);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('exited');
  });

  it('lets the process exit once its waits have resolved, though the epoll stays open', () => {
    const code = `
      const { Epoll, pipe, write } = await import(${JSON.stringify(distEntry())});
      const [r, w] = pipe();
      const ep = Epoll.create();
      ep.add(r, Epoll.IN);
      write(w, Buffer.from('x'));
      console.log('events', (await ep.waitAsync(10_000)).length);
      process.on('exit', () => console.log('exited'));
    `;
    const result = runModule(code, 20_000);
    expect(result.signal).toBe(null);
    expect(result.stdout.trim().split('\n')).toEqual(['events 1', 'exited']);
    expect(result.status).toBe(0);
  });

  it('keeps its watcher between back-to-back waits: no epoll_ctl per waitAsync, which costs time linear in the fds registered', () => {
    // Starting the watcher adds the epoll fd to libuv's epoll, and the kernel
    // checks that add against every fd registered in ours (measured: 1-5 ms
    // with 5,000 fds). A wait loop must not pay it per batch.
    if (spawnSync('strace', ['-V'], { env: withoutPreload() }).status !== 0 && mayskip('strace is not installed')) return;
    const trace = join(tmpDir(), 'trace.txt');
    const script = fixture(`
      const { Epoll, open, pipe, tryRead, write } = await import(${JSON.stringify(distEntry())});
      const marker = open('/dev/null', 'w');
      const ep = Epoll.create();
      const [r, w] = pipe({ nonblocking: true });
      ep.add(r, Epoll.IN);
      const one = Buffer.from('x');
      const wait = async () => { write(w, one); await ep.waitAsync(10_000); tryRead(r, Buffer.alloc(8)); };
      await wait(); // the watcher starts
      write(marker, Buffer.from('@@loop@@'));
      for (let i = 0; i < 50; i++) await wait();
      write(marker, Buffer.from('@@end@@'));
      ep.close();
    `);
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=epoll_ctl,write', '-o', trace, ...nodeArgv(), script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: withoutPreload(),
    });
    if (run.status !== 0 && /ptrace|Operation not permitted/.test(run.stderr) && mayskip(`strace cannot trace here: ${run.stderr}`)) return;
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(trace, 'utf8').split('\n');
    const start = lines.findIndex((line) => line.includes('"@@loop@@"'));
    const end = lines.findIndex((line) => line.includes('"@@end@@"'));
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const ctl = lines.slice(start, end).filter((line) => /epoll_ctl\(/.test(line));
    expect(ctl.length, `epoll_ctl calls in 50 waits:\n${ctl.slice(0, 10).join('\n')}`).toBeLessThan(10);
  });

  it('keeps the process alive while a ref()ed epoll is watched, until the event and close', () => {
    const code = `
      const { Epoll, pipe, write } = await import(${JSON.stringify(distEntry())});
      const [r, w] = pipe();
      const ep = Epoll.create();
      ep.add(r, Epoll.IN);
      ep.unref();
      ep.ref();
      ep.watch((events) => { console.log('event', events.length); ep.close(); });
      setTimeout(() => write(w, Buffer.from('x')), 50).unref();
    `;
    const result = runModule(code, 20_000);
    expect(result.signal).toBe(null);
    expect(result.stdout.trim()).toBe('event 1');
    expect(result.status).toBe(0);
  });

  it('reports an exception thrown by a watch callback as uncaught, and keeps working', () => {
    const code = `
      const { Epoll, socketpair, write, tryRead } = await import(${JSON.stringify(distEntry())});
      const [a, b] = socketpair({ nonblocking: true });
      const ep = Epoll.create();
      ep.add(a, Epoll.IN | Epoll.ET);
      let n = 0;
      process.on('uncaughtException', (err) => {
        console.log('uncaught', err.message);
        write(b, Buffer.from('y'));
      });
      ep.watch(() => {
        n++;
        tryRead(a, Buffer.alloc(8));
        if (n === 1) throw new Error('boom');
        console.log('second event');
        ep.close();
      });
      write(b, Buffer.from('x'));
    `;
    const result = runModule(code, 20_000);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['uncaught boom', 'second event']);
    expect(result.status).toBe(0);
  });

  it('gives each worker thread its own epoll and watcher', async () => {
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { Epoll, close, socketpair, write, tryRead } = await import(workerData.entry);
      const [a, b] = socketpair({ nonblocking: true });
      const ep = Epoll.create();
      ep.add(a, Epoll.IN, workerData.id);
      let timers = 0;
      const t = setInterval(() => timers++, 1);
      setTimeout(() => write(b, Buffer.from(workerData.id)), 10);
      const events = await ep.waitAsync(10_000);
      clearInterval(t);
      const buf = Buffer.alloc(16);
      const n = tryRead(a, buf);
      parentPort.postMessage({ data: events.map((e) => e.data), read: buf.toString('utf8', 0, n), timers: timers > 0, epfd: ep.fd });
      // Stay open until every worker has reported, so no two can share an fd number.
      parentPort.once('message', () => {
        ep.close();
        close(a);
        close(b);
        parentPort.close();
      });
    `;
    const path = fixture(code, 'worker.mjs');
    const workers = ['w1', 'w2', 'w3'].map((id) => new Worker(path, { workerData: { entry: distEntry(), id } }));
    const exits = workers.map((w) => once(w, 'exit'));
    const results = await Promise.all(workers.map(async (w) => (await once(w, 'message'))[0]));
    for (const w of workers) w.postMessage('close');
    expect((await Promise.all(exits)).map(([status]) => status)).toEqual([0, 0, 0]);
    expect(results.map((r) => [r.data, r.read, r.timers])).toEqual([
      [['w1'], 'w1', true],
      [['w2'], 'w2', true],
      [['w3'], 'w3', true],
    ]);
    expect(new Set(results.map((r) => r.epfd)).size).toBe(3);
  });

  it('tears down a still-watching epoll when its worker is terminated or exits', async () => {
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { Epoll, pipe } = await import(workerData.entry);
      const eps = [];
      for (let i = 0; i < 5; i++) {
        const [r, w] = pipe();
        // Plain pipes are the process's, not the thread's: the parent
        // closes them once the worker is gone.
        workerData.pipes[2 * i] = r;
        workerData.pipes[2 * i + 1] = w;
        const ep = Epoll.create();
        ep.add(r, Epoll.IN);
        ep.watch(() => {});
        ep.waitAsync(-1);
        eps.push(ep);
      }
      parentPort.postMessage('ready');
      if (workerData.exit) process.exit(3);
    `;
    const path = fixture(code, 'teardown.mjs');
    const before = epollFds();
    for (let i = 0; i < 4; i++) {
      const exit = i % 2 === 1;
      const pipes = new Int32Array(new SharedArrayBuffer(40)).fill(-1);
      const w = new Worker(path, { workerData: { entry: distEntry(), exit, pipes } });
      if (!exit) {
        await once(w, 'message');
        await w.terminate();
      } else {
        const [status] = await once(w, 'exit');
        expect(status).toBe(3);
      }
      for (const fd of pipes) if (fd >= 0) close(fd);
    }
    // Each Epoll's fd closed with its thread: fds are the process's, so a
    // leak would show here, 5 per worker.
    expect(epollFds()).toBe(before);
    // This thread's own epoll still works.
    const ep = epoll();
    const [a, b] = autoClose(...socketpair());
    ep.add(a, Epoll.IN);
    write(b, byte);
    expect(await ep.waitAsync(5000)).toHaveLength(1);
  });

  it('resumes a synchronous wait after a signal, for the time left (EINTR never surfaces)', () => {
    const code = `
      const { Epoll, pipe, poll, select, POLL } = await import(${JSON.stringify(distEntry())});
      process.on('SIGUSR2', () => {});
      const [r] = pipe();
      const ep = Epoll.create();
      ep.add(r, Epoll.IN);
      const { spawn } = await import('node:child_process');
      // A separate process signals this one every few ms while it blocks.
      const pinger = spawn('sh', ['-c', 'while kill -USR2 ' + process.pid + ' 2>/dev/null; do sleep 0.005; done'], { stdio: 'ignore', env: { PATH: process.env.PATH } });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const out = {};
      for (const [name, fn] of [['epoll', () => ep.wait(1, 300)], ['poll', () => poll([{ fd: r, events: POLL.IN }], 300)], ['select', () => select([r], [], [], 300).read]]) {
        const t0 = performance.now();
        const got = fn();
        out[name] = { n: got.length, ms: performance.now() - t0 };
      }
      pinger.kill();
      console.log(JSON.stringify(out));
    `;
    const result = runModule(code, 30_000);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as Record<string, { n: number; ms: number }>;
    for (const name of ['epoll', 'poll', 'select']) {
      expect(out[name]!.n).toBe(0);
      // Never returns early: the deadline is kept across interruptions.
      expect(out[name]!.ms).toBeGreaterThanOrEqual(295);
    }
  });
});
