/**
 * The echo servers of `iomodes bench`'s readiness engines: the same echo
 * (read what arrived, write it back) driven by each way a Linux program
 * learns that a connection is ready. `readiness.ts` sets the connections up
 * (accepted sockets, or pipe pairs), starts the client and keeps the time;
 * a server here only serves them, and releases what it made (an epoll, a
 * SignalIo, a hub, Node sockets) before it returns. The connections' fds
 * belong to the caller, except those a server hands to Node
 * ({@link Conn.adopted}), which Node closes.
 *
 * Every server stops at the same signal, {@link ServeContext.stopped}, and
 * gives Node's event loop a turn at least every {@link SLICE_MS} (the
 * synchronous ones come up for air): that is how an abort (Ctrl-C), the
 * progress timer and the client's exit reach a server that blocks the
 * thread in `select`/`poll`/`epoll_wait`. One loop turn per 50 ms costs a
 * few microseconds, nothing beside the tens of thousands of round trips in
 * between.
 *
 * @internal
 * @module
 */
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WOULD_BLOCK } from '../../errors.js';
import { Epoll, POLL, poll, Poller, select } from '../../multiplex.js';
import { tryRead, tryWrite } from '../../nonblocking.js';
import { SignalIo, type SignalIoEvent } from '../../signal.js';
import { call } from '../../coro/call.js';
import { TaskExit } from '../../coro/errors.js';
import { createHub } from '../../coro/hub.js';
import { read as coRead, write as coWrite } from '../../coro/io.js';
import { Stream } from '../../coro/net.js';
import { run } from '../../coro/run.js';
import { sleep } from '../../coro/sleep.js';
import { killAll, spawn } from '../../coro/spawn.js';
import type { Instruction } from '../../coro/types.js';
import type { ReadinessEngine } from './types.js';

/** The longest a synchronous server keeps the thread before Node's loop gets a turn. */
export const SLICE_MS = 50;

/** One connection, as the server sees it. */
export interface Conn {
  /** Where requests arrive: the socket (tcp) or the read end of the client-to-server pipe. */
  rfd: number;
  /** Where echoes go: the same socket, or the write end of the server-to-client pipe. */
  wfd: number;
  /** Node took the fds over (node-net): Node closes them, the caller must not. */
  adopted: boolean;
}

/** What a server is given, and how it reports. */
export interface ServeContext {
  readonly target: 'pipe' | 'tcp';
  readonly conns: readonly Conn[];
  readonly msgSize: number;
  /** Bytes echoed so far: each server adds what it writes back (for the progress line). */
  echoed: number;
  /** The server is ready to serve: starts the clock and tells the client to start sending. Once. */
  go(): void;
  /** True once the run is over: the runtime has passed, the run was aborted, or it failed. Cheap. */
  readonly stopped: boolean;
  /** Milliseconds a synchronous server may wait before its next turn of Node's loop: ≤ SLICE_MS, ≥ 1. */
  sliceMs(): number;
  /** One turn of Node's event loop (timers, I/O callbacks, signals, an abort). */
  turn(): Promise<void>;
  /** Settles when {@link ServeContext.stopped} becomes true: for servers on Node's loop. */
  readonly done: Promise<void>;
  /** Ends the run with an error (a connection broke). */
  fail(error: unknown): void;
}

type Serve = (ctx: ServeContext) => Promise<void>;

/** Big enough for any message a read can hold at once: what one read of a socket or pipe returns. */
const BUFFER_SIZE = 64 * 1024;

/**
 * Reads once from `conn` and writes what came back; returns false when the
 * connection is over (end of file or an error, reported through
 * `ctx.fail`). A write that finds the fd full — only with messages larger
 * than the pipe or socket buffer — waits in `poll(2)` for room: the client
 * always reads its echoes, so room comes.
 */
function echoOnce(ctx: ServeContext, conn: Conn, buf: Buffer): number {
  let n: number | typeof WOULD_BLOCK;
  try {
    n = tryRead(conn.rfd, buf);
    if (n === WOULD_BLOCK) return 0;
    if (n === 0) {
      ctx.fail(new Error(`the load generator closed connection (fd ${conn.rfd}) during the run`));
      return -1;
    }
    writeAll(conn.wfd, buf, n);
  } catch (error) {
    ctx.fail(error);
    return -1;
  }
  ctx.echoed += n;
  return n;
}

function writeAll(fd: number, buf: Buffer, n: number): void {
  let done = 0;
  for (;;) {
    const w = tryWrite(fd, buf, done, n - done);
    if (w !== WOULD_BLOCK) done += w;
    if (done === n) return;
    poll([{ fd, events: POLL.OUT }], 1000);
  }
}

// ------------------------------------------------------------ nonblocking

/**
 * No readiness API at all — the naive model: try a non-blocking read on
 * every connection in turn, forever. It never sleeps, so it burns a whole
 * CPU whatever the load (its `usr_cpu + sys_cpu` shows it), and each pass
 * costs a syscall per connection, ready or not.
 */
const serveNonblocking: Serve = async (ctx) => {
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  const conns = ctx.conns;
  ctx.go();
  while (!ctx.stopped) {
    const end = performance.now() + ctx.sliceMs();
    while (performance.now() < end && !ctx.stopped) {
      for (let i = 0; i < conns.length; i++) echoOnce(ctx, conns[i]!, buf);
    }
    await ctx.turn();
  }
};

// ----------------------------------------------------------------- select

/**
 * `select(2)`: the whole fd list goes to the kernel and back on every wait
 * (O(connections) per wait, and fds below FD_SETSIZE only: readiness.ts
 * checks). Level-triggered: one read per ready fd, and an fd with more
 * left is reported again.
 */
const serveSelect: Serve = async (ctx) => {
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  const byFd: Conn[] = [];
  for (const c of ctx.conns) byFd[c.rfd] = c;
  const fds = ctx.conns.map((c) => c.rfd);
  ctx.go();
  while (!ctx.stopped) {
    const end = performance.now() + ctx.sliceMs();
    for (let ms; (ms = end - performance.now()) > 0 && !ctx.stopped; ) {
      for (const fd of select(fds, [], [], Math.ceil(ms)).read) echoOnce(ctx, byFd[fd]!, buf);
    }
    await ctx.turn();
  }
};

// ------------------------------------------------------------------- poll

/**
 * `poll(2)` through a `Poller`, which keeps the pollfd array between waits
 * (no copy in JS), but the kernel still walks every entry on every wait.
 */
const servePoll: Serve = async (ctx) => {
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  const byFd: Conn[] = [];
  const poller = new Poller();
  for (const c of ctx.conns) {
    byFd[c.rfd] = c;
    poller.register(c.rfd, POLL.IN);
  }
  ctx.go();
  while (!ctx.stopped) {
    const end = performance.now() + ctx.sliceMs();
    for (let ms; (ms = end - performance.now()) > 0 && !ctx.stopped; ) {
      for (const { fd } of poller.poll(Math.ceil(ms))) echoOnce(ctx, byFd[fd]!, buf);
    }
    await ctx.turn();
  }
};

// ------------------------------------------------------------------ epoll

/**
 * `epoll`, level-triggered, in a synchronous `epoll_wait` loop as
 * bench/multiplex.mjs's server: the mechanism on its own, O(ready) per
 * wait. Not on Node's loop (`epoll.watch()`): that is what node-net
 * measures already — libuv is epoll on Node's loop — and the difference
 * between the two rows is then exactly what Node's machinery (libuv
 * callbacks, streams, a Buffer per read) costs over the bare mechanism.
 */
const serveEpoll: Serve = async (ctx) => {
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  const epoll = Epoll.create<Conn>();
  try {
    for (const c of ctx.conns) epoll.add(c.rfd, Epoll.IN, c);
    const each = (conn: Conn): void => void echoOnce(ctx, conn, buf);
    ctx.go();
    while (!ctx.stopped) {
      const end = performance.now() + ctx.sliceMs();
      for (let ms; (ms = end - performance.now()) > 0 && !ctx.stopped; ) epoll.waitEach(256, Math.ceil(ms), each);
      await ctx.turn();
    }
  } finally {
    epoll.close();
  }
};

// ------------------------------------------------------------------ sigio

/**
 * Signal-driven I/O: `SignalIo` in its default mode, a real-time signal per
 * arrival carrying the fd (`F_SETSIG`), written by the handler to a
 * self-pipe that Node's loop watches; so this server lives on Node's loop.
 * A signal says "became ready", so each one reads until a short read
 * drains the fd; an arrival after that read queues another signal. After a
 * queue overflow SignalIo rescans by itself.
 */
const serveSigio: Serve = async (ctx) => {
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  const byFd: Conn[] = [];
  const sio = new SignalIo();
  try {
    sio.on('io', (event: SignalIoEvent) => {
      const conn = byFd[event.fd];
      if (conn === undefined || ctx.stopped) return;
      if (!(event.readable || event.hangup || event.error)) return;
      for (;;) {
        const n = echoOnce(ctx, conn, buf);
        if (n <= 0 || n < buf.length) return;
      }
    });
    for (const c of ctx.conns) {
      byFd[c.rfd] = c;
      sio.enable(c.rfd);
    }
    ctx.go();
    await ctx.done;
  } finally {
    sio.close(); // restores every fd's flags, owner and signal
  }
};

// ------------------------------------------------------------------- coro

/**
 * The coroutine hub, a task per connection written as blocking code
 * (`read`, then `write`), driven by `run()`: the hub blocks in its own wait
 * (epoll, edge-triggered; or io_uring, where each read and write is a ring
 * operation and there is no readiness wait at all). TCP connections are
 * `net.Stream`s, as `net.listen()`'s `accept()` gives them (libuv's
 * short-read heuristic saves the read that would say EAGAIN); pipes use the
 * plain `read`/`write` operations.
 *
 * A control task sleeps a slice at a time and then waits on a promise that
 * settles on the next turn of Node's loop: while a task waits on a promise,
 * `run()` gives Node's loop the thread, so an abort and the progress timer
 * get through. The connection tasks check the deadline themselves after
 * each read and end at it: under full load on io_uring the control task's
 * sleep was seen to wake a quarter of a second late, and the run must end
 * on time whatever the hub's timers do.
 */
function serveCoro(backend: 'epoll' | 'io_uring'): Serve {
  return async (ctx) => {
    const hub = createHub({ backend });
    const size = Math.min(BUFFER_SIZE, Math.max(4096, ctx.msgSize));
    function* connection(conn: Conn): Generator<Instruction, void, unknown> {
      const buf = Buffer.allocUnsafe(size);
      try {
        if (ctx.target === 'tcp') {
          const stream = new Stream(conn.rfd);
          for (;;) {
            const n = yield* stream.read(buf);
            if (n === 0) throw new Error(`the load generator closed connection (fd ${conn.rfd}) during the run`);
            if (ctx.stopped) return;
            yield* stream.write(buf.subarray(0, n));
            ctx.echoed += n;
          }
        } else {
          for (;;) {
            const n = yield* coRead(conn.rfd, buf);
            if (n === 0) throw new Error(`the load generator closed connection (fd ${conn.rfd}) during the run`);
            if (ctx.stopped) return;
            yield* coWrite(conn.wfd, buf, 0, n);
            ctx.echoed += n;
          }
        }
      } catch (error) {
        if (error instanceof TaskExit) throw error; // killed at the end: a normal ending
        ctx.fail(error); // kept from becoming an unhandled rejection
      }
      // The fds are the caller's: no stream.close() here.
    }
    function* main(): Generator<Instruction, void, unknown> {
      const tasks = ctx.conns.map((c) => spawn(connection, c));
      try {
        ctx.go();
        while (!ctx.stopped) {
          yield* sleep(ctx.sliceMs());
          yield* call(ctx.turn());
        }
      } finally {
        yield* killAll(tasks); // the hub closes only once no task is alive
      }
    }
    try {
      await run(main);
    } finally {
      // Closing the hub cancels what its ring still has in flight and
      // closes its epoll or ring; useHub() makes a default one when next
      // needed.
      hub.close();
    }
  };
}

// --------------------------------------------------------------- node-net

/**
 * What a Node user writes: `socket.on('data', (chunk) => socket.write(chunk))`
 * on `net.Socket`s, which is libuv's epoll on Node's loop, streams and a
 * Buffer per read. The fds are handed to Node (`new Socket({ fd })`, as a
 * `net.Server` does with an accepted fd, and as Node opens a pipe on
 * stdin), and Node closes them. On pipes, requests come in on one Socket
 * and echoes go out on another.
 */
const serveNodeNet: Serve = async (ctx) => {
  const sockets: Socket[] = [];
  const closed: Promise<unknown>[] = [];
  const adopt = (fd: number, readable: boolean, writable: boolean): Socket => {
    const socket = new Socket({ fd, readable, writable });
    sockets.push(socket);
    closed.push(new Promise((resolve) => socket.once('close', resolve)));
    socket.on('error', (error) => ctx.fail(error));
    return socket;
  };
  try {
    for (const c of ctx.conns) {
      c.adopted = true;
      if (ctx.target === 'tcp') {
        const socket = adopt(c.rfd, true, true).setNoDelay(true);
        socket.on('data', (chunk: Buffer) => {
          socket.write(chunk);
          ctx.echoed += chunk.length;
        });
      } else {
        const out = adopt(c.wfd, false, true);
        adopt(c.rfd, true, false).on('data', (chunk: Buffer) => {
          out.write(chunk);
          ctx.echoed += chunk.length;
        });
      }
      const last = sockets.at(-1)!;
      last.on('end', () => ctx.fail(new Error(`the load generator closed connection (fd ${c.rfd}) during the run`)));
    }
    ctx.go();
    await ctx.done;
  } finally {
    for (const socket of sockets) {
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.destroy();
    }
    await Promise.all(closed);
  }
};

/** Each engine's server. */
export const SERVERS: Readonly<Record<ReadinessEngine, Serve>> = {
  nonblocking: serveNonblocking,
  select: serveSelect,
  poll: servePoll,
  epoll: serveEpoll,
  sigio: serveSigio,
  coro: serveCoro('epoll'),
  'coro-uring': serveCoro('io_uring'),
  'node-net': serveNodeNet,
};
