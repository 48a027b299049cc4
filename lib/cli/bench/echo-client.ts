/**
 * The load generator of `iomodes bench`'s readiness workloads: a child
 * process that `readiness.ts` starts (`node echo-client.js '<spec json>'`)
 * against the echo server under test in its parent.
 *
 * It is the same program for every engine, so it costs each one the same:
 * one synchronous `Epoll` loop over non-blocking fds (iomodes' own, so it
 * needs no compiler, unlike bench/echo-client.c), level-triggered, keeping
 * exactly one message in flight on every connection. A round trip is timed
 * from the start of the message's write to the arrival of its last echoed
 * byte, and recorded in a {@link LatencyRecorder}.
 *
 * The protocol with the parent, all of it:
 * - Its stdin (fd 0) is the control pipe. `pipe` target: fds 3 + 2i
 *   (write: requests) and 4 + 2i (read: echoes) are connection i's; `tcp`:
 *   the client makes `connections` sockets to 127.0.0.1:`port` itself.
 * - Once every connection is up it prints `ready` on stdout, then waits for
 *   one byte on its stdin ("go") and starts sending.
 * - Any later byte on stdin ("mark": the warm-up is over) starts the
 *   measurement afresh: counts, latencies, the clock and CPU time.
 * - End of file on stdin means stop (the parent closed its end, or died):
 *   it prints one line of JSON ({@link ClientReport}) and exits.
 *
 * @internal
 * @module
 */
import { realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WOULD_BLOCK } from '../../errors.js';
import { close, connect, finishConnect, setsockopt, socket } from '../../fd.js';
import { Epoll } from '../../multiplex.js';
import { setBlocking, tryRead, tryWrite } from '../../nonblocking.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** What the parent passes as the one argument, as JSON. */
export interface ClientSpec {
  target: 'pipe' | 'tcp';
  connections: number;
  msgSize: number;
  /** The server's port on 127.0.0.1 (tcp only). */
  port?: number;
}

/** The one line of JSON the client prints when told to stop. */
export interface ClientReport {
  /** Round trips completed: a whole message written and all of it read back. */
  roundTrips: number;
  /** Bytes echoed back in those round trips. */
  bytes: number;
  /** From "go" to "stop", as the client saw it. */
  seconds: number;
  /** The client's own CPU over that window, percent of one CPU (is it the bottleneck?). */
  cpu: number;
  /** Connections the server closed or broke before the stop. */
  lost: number;
  latency: LatencySummary;
}

/** The control pipe: stdin. */
export const CONTROL_FD = 0;
/** The first connection fd (pipe target): spawn's stdio beyond 0-2. */
export const FIRST_CONN_FD = 3;

interface Peer {
  rfd: number;
  wfd: number;
  /** performance.now() when the message in flight was started. */
  sentAt: number;
  /** Bytes of the echo received so far. */
  got: number;
  /** Bytes of the message not written yet (> 0 only when the fd was full). */
  unsent: number;
  /** Waiting for room to write the rest. */
  blocked: boolean;
  alive: boolean;
}

const CONTROL = -1;

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '') as ClientSpec;
  const { target, connections, msgSize } = spec;
  const epoll = Epoll.create<number>();
  const peers: Peer[] = [];
  setBlocking(CONTROL_FD, false);
  epoll.add(CONTROL_FD, Epoll.IN, CONTROL);

  // Connections up. TCP: all connects started at once, then waited for
  // together (the parent accepts them meanwhile).
  if (target === 'pipe') {
    for (let i = 0; i < connections; i++) {
      const wfd = FIRST_CONN_FD + 2 * i;
      const rfd = FIRST_CONN_FD + 1 + 2 * i;
      setBlocking(wfd, false);
      setBlocking(rfd, false);
      peers.push({ rfd, wfd, sentAt: 0, got: 0, unsent: 0, blocked: false, alive: true });
      epoll.add(rfd, Epoll.IN, i);
    }
  } else {
    let pending = 0;
    for (let i = 0; i < connections; i++) {
      const fd = socket('tcp4', { nonblocking: true });
      setsockopt(fd, 'TCP_NODELAY', true);
      peers.push({ rfd: fd, wfd: fd, sentAt: 0, got: 0, unsent: 0, blocked: false, alive: true });
      if (connect(fd, { host: '127.0.0.1', port: spec.port! })) epoll.add(fd, Epoll.IN, i);
      else {
        epoll.add(fd, Epoll.OUT, i);
        pending++;
      }
    }
    while (pending > 0) {
      for (const { data, events } of epoll.wait(256, -1)) {
        if (data === CONTROL) return stopEarly(epoll);
        if ((events & Epoll.OUT) === 0) continue;
        finishConnect(peers[data]!.rfd); // throws ECONNREFUSED and the like: the parent sees the exit
        epoll.modify(peers[data]!.rfd, Epoll.IN);
        pending--;
      }
    }
  }
  process.stdout.write('ready\n');

  // Wait for "go".
  const control = Buffer.alloc(16);
  for (;;) {
    epoll.wait(1, -1);
    const r = tryRead(CONTROL_FD, control);
    if (r === WOULD_BLOCK) continue;
    if (r === 0) return stopEarly(epoll);
    break;
  }

  const msg = Buffer.alloc(msgSize, 0x6d);
  const inbox = Buffer.allocUnsafe(64 * 1024);
  let recorder = new LatencyRecorder();
  let roundTrips = 0;
  let lost = 0;
  let stopping = false;

  const flush = (p: Peer, i: number): void => {
    while (p.unsent > 0) {
      let w: number | typeof WOULD_BLOCK;
      try {
        w = tryWrite(p.wfd, msg, msgSize - p.unsent, p.unsent);
      } catch {
        return drop(p); // EPIPE, ECONNRESET: the server went away
      }
      if (w === WOULD_BLOCK) {
        // Rare: a message larger than the pipe or socket buffer. Wait for
        // room: on the socket's own registration (tcp), or a second one on
        // the write end (pipe).
        if (!p.blocked) {
          p.blocked = true;
          if (p.rfd === p.wfd) epoll.modify(p.wfd, Epoll.IN | Epoll.OUT);
          else epoll.add(p.wfd, Epoll.OUT, -2 - i);
        }
        return;
      }
      p.unsent -= w;
    }
    if (p.blocked) {
      p.blocked = false;
      if (p.rfd === p.wfd) epoll.modify(p.wfd, Epoll.IN);
      else epoll.delete(p.wfd);
    }
  };
  const send = (p: Peer, i: number): void => {
    p.got = 0;
    p.unsent = msgSize;
    p.sentAt = performance.now();
    flush(p, i);
  };
  const receive = (p: Peer, i: number): void => {
    for (;;) {
      let n: number | typeof WOULD_BLOCK;
      try {
        n = tryRead(p.rfd, inbox);
      } catch {
        return drop(p);
      }
      if (n === WOULD_BLOCK) return;
      if (n === 0) return drop(p);
      p.got += n;
      if (p.got >= msgSize) {
        // The whole echo is back (the server sends nothing else).
        recorder.record((performance.now() - p.sentAt) * 1e6);
        roundTrips++;
        send(p, i);
        return;
      }
      if (n < inbox.length) return; // a short read drained the fd
    }
  };
  function drop(p: Peer): void {
    if (!p.alive) return;
    p.alive = false;
    lost++;
    epoll.delete(p.rfd);
    if (p.rfd !== p.wfd && p.blocked) epoll.delete(p.wfd);
  }

  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  peers.forEach((p, i) => send(p, i));
  while (!stopping) {
    epoll.waitEach(256, -1, (data, events) => {
      if (stopping) return;
      if (data === CONTROL) {
        let r: number | typeof WOULD_BLOCK;
        try {
          r = tryRead(CONTROL_FD, control);
        } catch {
          r = 0;
        }
        if (r === WOULD_BLOCK) return;
        if (r === 0) {
          // End of file: stop now, count nothing more.
          stopping = true;
          return;
        }
        // "mark": what came before was the warm-up.
        recorder = new LatencyRecorder();
        roundTrips = 0;
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        return;
      }
      if (data < -1) {
        const i = -2 - data;
        if (peers[i]!.alive) flush(peers[i]!, i);
        return;
      }
      const p = peers[data]!;
      if (!p.alive) return;
      if (events & Epoll.OUT) flush(p, data);
      if (p.alive && events & (Epoll.IN | Epoll.HUP | Epoll.ERR)) receive(p, data);
    });
  }
  const seconds = (performance.now() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  const report: ClientReport = {
    roundTrips,
    bytes: roundTrips * msgSize,
    seconds,
    cpu: seconds > 0 ? ((cpu.user + cpu.system) / 1e6 / seconds) * 100 : 0,
    lost,
    latency: recorder.summary(),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  epoll.close();
  for (const p of peers) {
    close(p.rfd);
    if (p.wfd !== p.rfd) close(p.wfd);
  }
}

/** Told to stop before "go" (the parent gave up during setup): nothing to report. */
function stopEarly(epoll: Epoll<number>): void {
  epoll.close();
}

// Only when run as the child, never on import (readiness.ts imports its types only).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
