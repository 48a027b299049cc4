// I/O multiplexing, measured: what one wait costs as the number of watched
// fds grows (select and poll are O(n), epoll is O(ready)), and a TCP echo
// server driven by iomodes' Epoll against Node's `net`, in one run.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:multiplex  [-- --seconds=2 --rounds=5 --conns=50]
//
// (1) wait cost: 10, 100, 1,000 registered socketpairs, one made ready per
//     round (write 1 byte, wait, read it back); select (fds < 1024 only),
//     Poller (poll) and Epoll (epoll_wait), in µs per round.
// (2) echo ping-pong: 64-byte messages over 50 TCP connections on 127.0.0.1.
//     Each server runs in its own process: an Epoll server (synchronous wait
//     loop, non-blocking sockets) and a `net` echo server. The client is the
//     C program bench/echo-client.c, compiled here with `cc`, in a third
//     process; its CPU use is printed beside the figures so that one can see
//     whether it is the bottleneck. On a machine with 2+ CPUs the client is
//     pinned to CPU 0 and the servers to CPU 1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, loadIomodes, median, numberOption, pairedRatio, perSecond, pinned, startServer, table } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const serve = process.argv.find((a) => a.startsWith('--serve='))?.slice(8);

if (serve === 'net') await serveNet();
else if (serve === 'epoll') await serveEpoll();
else await main();

// Servers ------------------------------------------------------------------

async function serveNet() {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
}

async function serveEpoll() {
  const io = await loadIomodes();
  const { Epoll, WOULD_BLOCK } = io;
  const listener = io.socket('tcp4', { nonblocking: true });
  io.setsockopt(listener, 'SO_REUSEADDR', true);
  io.bind(listener, { host: '127.0.0.1', port: 0 });
  io.listen(listener, 1024);
  console.log(io.getsockname(listener).port);
  const epoll = Epoll.create();
  epoll.add(listener, Epoll.IN, null);
  const buf = Buffer.allocUnsafe(64 * 1024);
  // Per connection: bytes not yet written back (rare: only when the socket
  // buffer is full), so no echo is ever lost.
  const pending = new Map();
  for (;;) {
    for (const { fd, events, data } of epoll.wait(256, -1)) {
      if (data === null) {
        for (let conn; (conn = io.tryAccept(listener, { nonblocking: true })) !== WOULD_BLOCK; ) {
          io.setsockopt(conn, 'TCP_NODELAY', true);
          epoll.add(conn, Epoll.IN | Epoll.RDHUP, conn);
        }
        continue;
      }
      if (events & Epoll.OUT) flush(fd);
      if (events & (Epoll.IN | Epoll.RDHUP | Epoll.HUP | Epoll.ERR)) echo(fd);
    }
  }

  function echo(fd) {
    for (;;) {
      let n;
      try {
        n = io.tryRead(fd, buf);
      } catch {
        n = 0;
      }
      if (n === WOULD_BLOCK) return;
      if (n === 0) return drop(fd);
      // A short read drained the socket (as libuv assumes too): stop here
      // rather than pay a read that would say EAGAIN. Level-triggered epoll
      // reports the fd again if more arrived meanwhile.
      const drained = n < buf.length;
      if (pending.has(fd)) {
        pending.set(fd, Buffer.concat([pending.get(fd), buf.subarray(0, n)]));
        if (drained) return;
        continue;
      }
      const w = io.tryWrite(fd, buf, 0, n);
      if (w !== n) {
        pending.set(fd, Buffer.from(buf.subarray(w === WOULD_BLOCK ? 0 : w, n)));
        epoll.modify(fd, Epoll.IN | Epoll.RDHUP | Epoll.OUT);
      }
      if (drained) return;
    }
  }

  function flush(fd) {
    const rest = pending.get(fd);
    if (rest === undefined) return;
    const w = io.tryWrite(fd, rest);
    if (w === WOULD_BLOCK) return;
    if (w < rest.length) return void pending.set(fd, rest.subarray(w));
    pending.delete(fd);
    epoll.modify(fd, Epoll.IN | Epoll.RDHUP);
  }

  function drop(fd) {
    pending.delete(fd);
    epoll.delete(fd);
    io.close(fd);
  }
}

// Driver -------------------------------------------------------------------

async function main() {
  const io = await loadIomodes();
  const seconds = numberOption('seconds', 2);
  const rounds = numberOption('rounds', 5);
  const conns = numberOption('conns', 50);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}\n`);
  waitCost(io);
  await echo({ seconds, rounds, conns });
}

function waitCost(io) {
  const { Epoll, Poller, POLL, FD_SETSIZE, WOULD_BLOCK } = io;
  const one = Buffer.from('x');
  const inbox = Buffer.alloc(16);
  const rows = [['fds', 'select µs/round', 'poll µs/round', 'epoll µs/round', 'poll/epoll']];
  for (const n of [10, 100, 1000]) {
    // The watched ends take the lowest fd numbers (so select can see them):
    // hold n low numbers with placeholders, make the pairs above them, then
    // move each watched end down into a freed low number.
    const placeholders = Array.from({ length: n }, () => io.eventfd(0));
    const pairs = Array.from({ length: n }, () => io.socketpair({ nonblocking: true }));
    for (const p of placeholders) io.close(p);
    for (const pair of pairs) {
      const low = io.dup(pair[0]);
      io.close(pair[0]);
      pair[0] = low;
    }
    const watched = pairs.map((p) => p[0]);
    const selectable = watched.every((fd) => fd < FD_SETSIZE);

    const poller = new Poller();
    for (const fd of watched) poller.register(fd, POLL.IN);
    const epoll = Epoll.create();
    watched.forEach((fd, i) => epoll.add(fd, Epoll.IN, i));

    let turn = 0;
    // One round: make one fd ready, wait, check it is the one, read it.
    const round = (wait) => {
      const i = turn++ % n;
      io.tryWrite(pairs[i][1], one);
      const ready = wait();
      if (ready !== watched[i]) throw new Error(`expected fd ${watched[i]} ready, got ${ready}`);
      if (io.tryRead(watched[i], inbox) === WOULD_BLOCK) throw new Error('not readable');
    };
    const contenders = [
      ['select', selectable ? () => round(() => io.select(watched, [], [], -1).read[0]) : null],
      ['poll', () => round(() => poller.poll(-1)[0].fd)],
      ['epoll', () => round(() => epoll.wait(64, -1)[0].fd)],
    ];
    const results = {};
    for (const [name, run] of contenders) if (run) results[name] = [];
    for (let rep = 0; rep < 5; rep++) {
      for (const [name, run] of contenders) {
        if (!run) continue;
        const t0 = process.hrtime.bigint();
        let count = 0;
        // ~150 ms of rounds, checked every 100 rounds.
        while (Number(process.hrtime.bigint() - t0) < 150e6) {
          for (let k = 0; k < 100; k++) run();
          count += 100;
        }
        results[name].push(Number(process.hrtime.bigint() - t0) / 1e3 / count);
      }
    }
    const us = (name) => (results[name] ? median(results[name]).toFixed(2) : 'n/a (fd ≥ 1024)');
    rows.push([n.toLocaleString('en-US'), us('select'), us('poll'), us('epoll'), `${(median(results.poll) / median(results.epoll)).toFixed(2)}×`]);
    epoll.close();
    for (const [a, b] of pairs) {
      io.close(a);
      io.close(b);
    }
  }
  console.log('(1) one wait, one fd ready, n registered (write 1 byte + wait + read 1 byte per round)\n');
  table(rows);
  console.log('');
}

async function echo({ seconds, rounds, conns }) {
  const dir = mkdtempSync(join(tmpdir(), 'iomodes-bench-'));
  const client = join(dir, 'echo-client');
  try {
    execFileSync('cc', ['-O2', '-o', client, join(here, 'echo-client.c')], { stdio: 'inherit' });
  } catch {
    console.error('bench: could not compile bench/echo-client.c with cc; skipping the echo benchmark');
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const servers = { epoll: await startServer(self, 'epoll'), net: await startServer(self, 'net') };
  const runs = { epoll: [], net: [] };
  try {
    // Warm-up (JIT, socket buffers), off the record.
    for (const kind of ['epoll', 'net']) execFileSync(client, [String(servers[kind].port), String(conns), '0.5', '64']);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['epoll', 'net'] : ['net', 'epoll'];
      for (const kind of order) {
        const { child, port } = servers[kind];
        const cpu0 = cpuSeconds(child.pid);
        const out = execFileSync(...pinned(0, client, [String(port), String(conns), String(seconds), '64']), { encoding: 'utf8' });
        const cpu1 = cpuSeconds(child.pid);
        const serverCpu = cpu1.user + cpu1.sys - (cpu0.user + cpu0.sys);
        const r = JSON.parse(out);
        runs[kind].push({ rate: r.roundTrips / r.seconds, clientCpu: r.cpuSeconds / r.seconds, serverCpu: serverCpu / r.seconds });
      }
    }
  } finally {
    for (const { child } of Object.values(servers)) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const pct = (x) => `${Math.round(x * 100)}%`;
  const rows = [['server', 'median round trips/s', 'rounds (round trips/s)', 'client CPU', 'server CPU', 'server CPU µs/round trip']];
  const cost = {};
  for (const [kind, label] of [
    ['epoll', 'iomodes Epoll (sync loop)'],
    ['net', 'node:net echo'],
  ]) {
    const r = runs[kind];
    cost[kind] = median(r.map((x) => (x.serverCpu / x.rate) * 1e6));
    rows.push([
      label,
      perSecond(median(r.map((x) => x.rate))),
      r.map((x) => perSecond(x.rate)).join(' '),
      pct(median(r.map((x) => x.clientCpu))),
      pct(median(r.map((x) => x.serverCpu))),
      cost[kind].toFixed(2),
    ]);
  }
  // Both servers ran back to back in each round: the ratio is taken per round.
  const rates = Object.fromEntries(Object.entries(runs).map(([kind, r]) => [kind, { rates: r.map((x) => x.rate) }]));
  console.log(`(2) echo ping-pong, 64 B messages, ${conns} TCP connections on 127.0.0.1, ${rounds} rounds × ${seconds} s; C client in its own process${canPin() ? ' (client on CPU 0, server on CPU 1)' : ''}\n`);
  table(rows);
  console.log('');
  console.log(`epoll server / net server = ${pairedRatio(rates, 'epoll', 'net').toFixed(2)}× round trips/s (median of per-round ratios; target ≥ 1.5×)`);
  console.log(`server CPU per round trip, net / epoll = ${(cost.net / cost.epoll).toFixed(2)}×`);
  console.log('On 2 cores the client and the server share the machine: when both are near 100%, the');
  console.log('round-trip ratio is capped by the client, and the CPU cost per round trip is the fairer measure.');
  console.log('CPU is the share of one core over the run.');
}
