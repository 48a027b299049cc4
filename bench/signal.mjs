// Signal-driven I/O (SignalIo), measured against the epoll watcher (Epoll
// driven on Node's loop with epoll.watch()), on the same sockets, against
// the same peer, in one run, in interleaved rounds. Both are "one native
// watcher on Node's loop": SignalIo's is its self-pipe, which the signal
// handler writes a record to per signal; Epoll's is the epoll fd itself.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:signal     [-- --rounds=5 --pings=3000 --seconds=1 --fds=100 --sigpending=16]
//
// --rounds: interleaved rounds of each part; --pings: round trips per
// contender and round in (1); --seconds: each contender's time per round in
// (2) and (3) (decimals allowed); --fds: the sockets of (2) and (3);
// --sigpending: the RLIMIT_SIGPENDING of (2)'s overflow contender. The
// default run takes about 45 s.
//
// The peer is another process (`node bench/signal.mjs --peer`): a plain
// synchronous epoll loop that reflects every message it reads, stamping its
// first 8 bytes with CLOCK_MONOTONIC (process.hrtime, the same clock in
// every process) just before its write. A process, not a Worker: a Worker
// shares this process's V8 platform threads and GC, and a signal-driven
// program's peer is, in practice, another program; in a separate process
// the peer costs every contender the same and its CPU time is measured
// apart. The sockets are AF_UNIX socketpairs, one end here, one in the
// peer. On a machine with 2+ CPUs the peer is pinned to CPU 0 and this
// process (the receiving side, every thread) to CPU 1, as in bench:multiplex.
//
// Receiving side, the only thing that changes between contenders:
// - 'SignalIo realtime': sio.enable(fd): F_SETSIG to a real-time signal, one
//   queued signal per arrival, with si_fd and si_band; one 'io' event each;
// - 'SignalIo sigio': sio.enable(fd, { mode: 'sigio' }): the classic plain
//   SIGIO, which merges and names no fd, so every drain of the self-pipe
//   rescans (poll(2)) all enabled fds;
// - 'Epoll watcher': epoll.add(fd, Epoll.IN), epoll.watch(callback): libuv
//   wakes on the epoll fd, one epoll_wait(0) returns every ready fd;
// - in (2) only, 'realtime, sigpending=N': SignalIo realtime with this
//   process's RLIMIT_SIGPENDING lowered to N, so the real-time queue
//   overflows, the kernel falls back to plain SIGIO, and SignalIo rescans.
// Every handler does the same: take the time, tryRead() the message, and
// (in (2)) write it back.
//
// On a 2-core machine shared with other work, absolute figures swing by
// ±30% from round to round; compare the ratios, taken per round.
//
// (1) latency: one socket, one message (8 bytes) in flight: this process
//     writes it, the peer reads it and writes it back stamped; the handler
//     takes hrtime first thing. One-way = handler entry - the peer's stamp
//     (the peer's write, the kernel's wake-up, the notification path and
//     JS dispatch: the figure the issue asks for); round trip = handler
//     entry - our own write. Median and p99 over every sample of every
//     round, in µs; the ratio is the median over rounds of (signal median /
//     epoll median) in the same round. Receiving CPU µs per round trip from
//     process.cpuUsage() (every thread of this process).
// (2) throughput: --fds sockets (100), one 64-byte message in flight on
//     each at all times: the handler reads it and writes it back at once,
//     the peer reflects it. Events/s = messages handled in JS per second;
//     bytes/s = the bytes read by them; with one message in flight per fd an
//     event is a message for every contender. Events that found nothing to
//     read are counted as 'empty'. SignalIo's counts (signals read,
//     overflows, rescans) per round are printed per event. Ratios are
//     medians over rounds of the two rates in the same round.
// (3) flood: the peer writes 64-byte messages, stamped, to every socket
//     with room, as fast as it can, for --seconds; the handler reads each
//     ready socket until it is empty and writes nothing back. The receiver
//     is the bottleneck: MB/s read in JS, events/s, bytes per event, the
//     share of events that found nothing to read, and the age of the data
//     when JS read it (the oldest message of each read). A real-time signal
//     is sent per write, not per empty-to-ready change, so here signals
//     outnumber what there is to do, and their records queue in the
//     self-pipe (1 MiB) until it fills and loses some (an overflow).
//
// It measures and prints; it asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, loadIomodes, median, numberOption, pairedRatio, perSecond, pinned, table, secondsOption } from './lib.mjs';

const io = await loadIomodes();
const { Epoll, SignalIo, WOULD_BLOCK } = io;
const self = fileURLToPath(import.meta.url);
/** The peer's sockets are its fds 3, 4, ... (spawn's stdio beyond 0-2). */
const PEER_FD_BASE = 3;
const MESSAGE = 64;

// Peer ---------------------------------------------------------------------

// Reflects every message, stamped, until every socket is closed; floods
// on command. The same code for every contender: it does not know which one
// is on the other end.
function peer() {
  const n = numberOption('fds', 1);
  const epoll = Epoll.create();
  for (let i = 0; i < n; i++) epoll.add(PEER_FD_BASE + i, Epoll.IN, null);
  epoll.add(0, Epoll.IN, 'control'); // stdin: "flood <seconds>" lines
  const buf = Buffer.allocUnsafe(64 * 1024);
  let open = n;
  console.log('ready');
  while (open > 0) {
    for (const { fd, data } of epoll.wait(256, -1)) {
      const r = io.tryRead(fd, buf);
      if (r === WOULD_BLOCK) continue;
      if (data === 'control') {
        if (r === 0) return;
        flood(n, Number(String(buf.subarray(0, r)).split(' ')[1]));
        continue;
      }
      if (r === 0) {
        epoll.delete(fd);
        open--;
        continue;
      }
      if (r >= 8) buf.writeBigUInt64LE(process.hrtime.bigint(), 0);
      // One message in flight per socket: the socket buffer never fills.
      io.tryWrite(fd, buf, 0, r);
    }
  }
}

// (3)'s writer: for `seconds`, one MESSAGE-byte write, stamped, to every
// socket that has room, pass after pass (poll(2) says which have room), then
// a line on stdout with what it did.
function flood(n, seconds) {
  const poller = new io.Poller();
  for (let i = 0; i < n; i++) poller.register(PEER_FD_BASE + i, io.POLL.OUT);
  const msg = Buffer.alloc(MESSAGE);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let writes = 0;
  while (process.hrtime.bigint() < end) {
    for (const { fd, events } of poller.poll(10)) {
      if ((events & io.POLL.OUT) === 0) continue;
      msg.writeBigUInt64LE(process.hrtime.bigint(), 0);
      if (io.tryWrite(fd, msg) !== WOULD_BLOCK) writes++;
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ writes, seconds: secs, cpu: (cpu.user + cpu.system) / 1e6 / secs }));
}

// Receiving side -----------------------------------------------------------

/**
 * The contenders, each `attach(fds, onReadable)` / `detach(fds)` around one
 * SignalIo and one Epoll shared by all rounds. One SignalIo, not one per
 * mode: the signal handler writes each record to every self-pipe of the
 * thread, so a second, idle SignalIo would double the realtime cost.
 */
function receivers(sigpending) {
  const sio = new SignalIo();
  const epoll = Epoll.create();
  let handler = null;
  sio.on('io', (event) => {
    if (event.readable) handler(event.fd);
  });
  const limit = io.getrlimit('sigpending');
  const viaSignals = (options, rlimit) => ({
    counts: () => sio.counts,
    attach(fds, onReadable) {
      handler = onReadable;
      if (rlimit !== undefined) io.setrlimit('sigpending', { soft: rlimit, hard: limit.hard });
      for (const fd of fds) sio.enable(fd, options);
    },
    detach(fds) {
      for (const fd of fds) sio.disable(fd);
      if (rlimit !== undefined) io.setrlimit('sigpending', limit);
      handler = null;
    },
  });
  let stop = null;
  const contenders = {
    realtime: viaSignals(undefined),
    sigio: viaSignals({ mode: 'sigio' }),
    epoll: {
      counts: () => null,
      attach(fds, onReadable) {
        for (const fd of fds) epoll.add(fd, Epoll.IN, fd);
        stop = epoll.watch((events) => {
          for (const { fd } of events) onReadable(fd);
        });
      },
      detach(fds) {
        stop();
        for (const fd of fds) epoll.delete(fd);
      },
    },
    overflow: viaSignals(undefined, sigpending),
  };
  return {
    contenders,
    signal: sio.signal,
    close() {
      sio.close();
      epoll.close();
    },
  };
}

const LABELS = {
  realtime: 'SignalIo realtime',
  sigio: 'SignalIo sigio (+ rescan)',
  epoll: 'Epoll watcher',
  overflow: 'SignalIo realtime, sigpending=N',
};

// (1) One message in flight on one socket; `count` round trips.
function latencyRound(contender, fd, count) {
  return new Promise((resolve) => {
    const oneWay = new Float64Array(count);
    const rtt = new Float64Array(count);
    const ping = Buffer.alloc(8);
    const inbox = Buffer.alloc(MESSAGE);
    let i = 0;
    let empty = 0;
    let sent = 0n;
    const send = () => {
      sent = process.hrtime.bigint();
      io.tryWrite(fd, ping);
    };
    const cpu0 = process.cpuUsage();
    contender.attach([fd], () => {
      const now = process.hrtime.bigint();
      if (io.tryRead(fd, inbox) === WOULD_BLOCK) return void empty++;
      oneWay[i] = Number(now - inbox.readBigUInt64LE(0)) / 1e3;
      rtt[i] = Number(now - sent) / 1e3;
      if (++i < count) return send();
      const cpu = process.cpuUsage(cpu0);
      contender.detach([fd]);
      resolve({ oneWay, rtt, empty, cpuPerTrip: (cpu.user + cpu.system) / count });
    });
    send();
  });
}

// (2) One message in flight on each socket for `seconds`, then the last
// ones come home (uncounted) so the sockets are empty for the next contender.
function throughputRound(contender, fds, seconds, peerPid) {
  return new Promise((resolve) => {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const msg = Buffer.alloc(MESSAGE);
    let events = 0;
    let empty = 0;
    let bytes = 0;
    let stopping = false;
    let homeward = fds.length;
    let result = null;
    const counts0 = contender.counts();
    const cpu0 = process.cpuUsage();
    const peer0 = cpuSeconds(peerPid);
    const t0 = process.hrtime.bigint();
    contender.attach(fds, (fd) => {
      const r = io.tryRead(fd, buf);
      if (r === WOULD_BLOCK || r === 0) {
        if (!stopping) empty++;
        return;
      }
      if (stopping) {
        if (--homeward === 0) {
          contender.detach(fds);
          quiesce(contender).then(() => resolve(result));
        }
        return;
      }
      events++;
      bytes += r;
      io.tryWrite(fd, msg);
    });
    for (const fd of fds) io.tryWrite(fd, msg);
    setTimeout(() => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const peer1 = cpuSeconds(peerPid);
      const counts1 = contender.counts();
      stopping = true;
      result = {
        rate: events / secs,
        bytesPerSecond: bytes / secs,
        emptyShare: empty / (events + empty),
        cpuPerEvent: (cpu.user + cpu.system) / events,
        cpuShare: (cpu.user + cpu.system) / 1e6 / secs,
        peerCpu: (peer1.user + peer1.sys - peer0.user - peer0.sys) / secs,
        signalsPerEvent: counts1 && (counts1.signals - counts0.signals) / events,
        overflowsPerSecond: counts1 && (counts1.overflows - counts0.overflows) / secs,
        rescansPerSecond: counts1 && (counts1.rescans - counts0.rescans) / secs,
      };
    }, seconds * 1000);
  });
}

// (3) The peer floods every socket for `seconds`; the handler reads until
// the socket is empty and writes nothing back. Counted: bytes and events
// handled until `seconds` have passed here; then the rest is drained
// (uncounted) and stray signals are let through before the next contender.
async function floodRound(contender, fds, seconds, control) {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let events = 0;
  let empty = 0;
  let bytes = 0;
  let result = null;
  const counts0 = contender.counts();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  const ages = [];
  const read = (fd) => {
    let got = 0;
    for (;;) {
      const r = io.tryRead(fd, buf);
      if (r === WOULD_BLOCK || r === 0) break;
      // The oldest message of the read: how long data waited for JS.
      if (got === 0 && result === null) ages.push(Number(process.hrtime.bigint() - buf.readBigUInt64LE(0)) / 1e3);
      got += r;
      if (r < buf.length) break; // a short read emptied the socket
    }
    return got;
  };
  const closeWindow = () => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    result = {
      rate: events / secs,
      bytesPerSecond: bytes / secs,
      bytesPerEvent: bytes / events,
      emptyShare: empty / events,
      cpuShare: (cpu.user + cpu.system) / 1e6 / secs,
    };
  };
  contender.attach(fds, (fd) => {
    const got = read(fd);
    if (result !== null) return;
    events++;
    if (got === 0) empty++;
    bytes += got;
    // The window is timed here, not by a timer: a signal storm can starve
    // the loop's timers for a second or more, never this handler.
    if ((events & 63) === 0 && process.hrtime.bigint() >= end) closeWindow();
  });
  control.stdin.write(`flood ${seconds}\n`);
  const peerReport = JSON.parse(String((await once(control.stdout, 'data'))[0]));
  // The peer stops on its own clock: if the window is still open here,
  // what is left to come is the backlog, which the window should not wait for.
  if (result === null) closeWindow();
  for (const fd of fds) read(fd);
  contender.detach(fds);
  await quiesce(contender);
  for (const fd of fds) read(fd);
  const counts2 = contender.counts();
  return {
    ...result,
    writesPerSecond: peerReport.writes / peerReport.seconds,
    peerCpu: peerReport.cpu,
    // Every signal of the round, the window's and the backlog's, per write.
    signalsPerWrite: counts2 && (counts2.signals - counts0.signals) / peerReport.writes,
    overflows: counts2 && counts2.overflows - counts0.overflows,
    ages: Float64Array.from(ages),
  };
}

// Lets the signals still queued (in the kernel, in the self-pipe) for fds
// just disabled arrive and be dropped, so that they cost the next contender
// nothing: until no signal came for 30 ms (at most 3 s).
async function quiesce(contender) {
  if (contender.counts() === null) return;
  const t0 = Date.now();
  for (let last = -1; Date.now() - t0 < 3000; ) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { signals } = contender.counts();
    if (signals === last) return;
    last = signals;
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function sortedAll(arrays) {
  const all = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let k = 0;
  for (const a of arrays) {
    all.set(a, k);
    k += a.length;
  }
  return all.sort();
}

async function main() {
  const rounds = numberOption('rounds', 5);
  const pings = numberOption('pings', 3000);
  const seconds = secondsOption(1);
  const nfds = numberOption('fds', 100);
  const sigpending = numberOption('sigpending', 16);
  const pinnedRun = canPin();
  // Every thread of this process on CPU 1; the peer goes to CPU 0.
  if (pinnedRun) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const { contenders, signal, close } = receivers(sigpending);
  const limit = io.getrlimit('sigpending');
  console.log(`node ${process.version}, ${process.platform} ${process.arch}, RLIMIT_SIGPENDING ${limit.soft}, real-time signal ${signal}${pinnedRun ? ', peer on CPU 0, receiver on CPU 1' : ', not pinned'}\n`);

  // Socket 0 is (1)'s; sockets 0..nfds-1 are (2)'s.
  const pairs = Array.from({ length: nfds }, () => io.socketpair({ nonblocking: true }));
  const child = spawn(...pinned(0, process.execPath, [self, '--peer', `--fds=${nfds}`]), {
    stdio: ['pipe', 'pipe', 'inherit', ...pairs.map((p) => p[1])],
  });
  for (const p of pairs) io.close(p[1]);
  await once(child.stdout, 'data');
  const fds = pairs.map((p) => p[0]);

  try {
    await latency(contenders, fds[0], { rounds, pings });
    await throughput(contenders, fds, { rounds, seconds, peerPid: child.pid, sigpending });
    await floodPart(contenders, fds, { rounds, seconds, control: child });
  } finally {
    close();
    child.stdin.end(); // the peer sees end of file and exits
    for (const fd of fds) io.close(fd);
  }
  await once(child, 'exit');
}

async function latency(contenders, fd, { rounds, pings }) {
  const names = ['realtime', 'sigio', 'epoll'];
  for (const name of names) await latencyRound(contenders[name], fd, Math.min(pings, 1000)); // warm-up
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      runs[name].push(await latencyRound(contenders[name], fd, pings));
    }
  }
  const rows = [['receiver', 'one-way median µs', 'one-way p99 µs', 'round trip median µs', 'round trip p99 µs', 'CPU µs/round trip', 'empty events']];
  const stats = {};
  for (const name of names) {
    const r = runs[name];
    const oneWay = sortedAll(r.map((x) => x.oneWay));
    const rtt = sortedAll(r.map((x) => x.rtt));
    stats[name] = { oneWay: r.map((x) => median(x.oneWay)), rtt: r.map((x) => median(x.rtt)) };
    rows.push([
      LABELS[name],
      median(oneWay).toFixed(1),
      percentile(oneWay, 99).toFixed(1),
      median(rtt).toFixed(1),
      percentile(rtt, 99).toFixed(1),
      median(r.map((x) => x.cpuPerTrip)).toFixed(1),
      r.reduce((n, x) => n + x.empty, 0),
    ]);
  }
  console.log(`(1) latency: one socket, one 8-byte message in flight, ${rounds} rounds × ${pings} round trips per receiver`);
  console.log('    one-way: the peer stamps just before its write -> the JS handler is entered\n');
  table(rows);
  console.log('');
  // Lower is better here: a ratio > 1 means the signal path is slower.
  const ratio = (a, b, key) => median(stats[a][key].map((x, i) => x / stats[b][key][i]));
  for (const name of ['realtime', 'sigio']) {
    console.log(
      `${LABELS[name]} / Epoll watcher latency = ${ratio(name, 'epoll', 'oneWay').toFixed(2)}× one-way, ` +
        `${ratio(name, 'epoll', 'rtt').toFixed(2)}× round trip (median of per-round ratios of medians; < 1: signals are faster)`,
    );
  }
  console.log('');
}

async function throughput(contenders, fds, { rounds, seconds, peerPid, sigpending }) {
  const names = ['realtime', 'sigio', 'epoll', 'overflow'];
  for (const name of names) await throughputRound(contenders[name], fds, Math.min(seconds, 0.3), peerPid); // warm-up
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      runs[name].push(await throughputRound(contenders[name], fds, seconds, peerPid));
    }
  }
  const pct = (x) => `${Math.round(x * 100)}%`;
  const rows = [['receiver', 'median events/s', 'bytes/s', 'rounds (events/s)', 'CPU µs/event', 'CPU', 'peer CPU', 'signals/event', 'overflows/s', 'rescans/s', 'empty']];
  for (const name of names) {
    const r = runs[name];
    const m = (key) => median(r.map((x) => x[key]));
    const signals = name === 'epoll';
    rows.push([
      LABELS[name].replace('=N', `=${sigpending}`),
      perSecond(m('rate')),
      perSecond(m('bytesPerSecond')),
      r.map((x) => perSecond(x.rate)).join(' '),
      m('cpuPerEvent').toFixed(2),
      pct(m('cpuShare')),
      pct(m('peerCpu')),
      signals ? '-' : m('signalsPerEvent').toFixed(2),
      signals ? '-' : perSecond(m('overflowsPerSecond')),
      signals ? '-' : perSecond(m('rescansPerSecond')),
      pct(m('emptyShare')),
    ]);
  }
  console.log(`(2) throughput: ${fds.length} sockets, one ${MESSAGE}-byte message in flight on each, handler reads it and writes it back; ${rounds} rounds × ${seconds} s`);
  console.log('    an event is a message handled in JS; CPU is this process\'s (every thread), as a share of one core and per event\n');
  table(rows);
  const results = Object.fromEntries(names.map((n) => [n, { rates: runs[n].map((x) => x.rate) }]));
  console.log('');
  for (const name of ['realtime', 'sigio', 'overflow']) {
    console.log(`${LABELS[name].replace('=N', `=${sigpending}`)} / Epoll watcher = ${pairedRatio(results, name, 'epoll').toFixed(2)}× events/s (median of per-round ratios; > 1: signals are faster)`);
  }
  console.log('\nA signal is delivered, handled (a write to the self-pipe) and returned from once per arrival;');
  console.log('epoll_wait hands over every ready fd in one call. CPU share is of one core over the round.\n');
}
async function floodPart(contenders, fds, { rounds, seconds, control }) {
  const names = ['realtime', 'sigio', 'epoll'];
  for (const name of names) await floodRound(contenders[name], fds, Math.min(seconds, 0.3), control); // warm-up
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      runs[name].push(await floodRound(contenders[name], fds, seconds, control));
    }
  }
  const pct = (x) => `${Math.round(x * 100)}%`;
  const rows = [['receiver', 'median MB/s', 'rounds (MB/s)', 'events/s', 'bytes/event', 'empty', 'data age median µs', 'p99 µs', 'CPU', 'peer writes/s', 'peer CPU', 'signals/write', 'overflows/round']];
  for (const name of names) {
    const r = runs[name];
    const m = (key) => median(r.map((x) => x[key]));
    const ages = sortedAll(r.map((x) => x.ages));
    const signals = name === 'epoll';
    rows.push([
      LABELS[name],
      (m('bytesPerSecond') / 1e6).toFixed(1),
      r.map((x) => (x.bytesPerSecond / 1e6).toFixed(1)).join(' '),
      perSecond(m('rate')),
      perSecond(m('bytesPerEvent')),
      pct(m('emptyShare')),
      perSecond(median(ages)),
      perSecond(percentile(ages, 99)),
      pct(m('cpuShare')),
      perSecond(m('writesPerSecond')),
      pct(m('peerCpu')),
      signals ? '-' : m('signalsPerWrite').toFixed(2),
      signals ? '-' : m('overflows').toFixed(0),
    ]);
  }
  console.log(`(3) flood: the peer writes ${MESSAGE}-byte messages to every one of ${fds.length} sockets that has room, as fast as it can;`);
  console.log(`    the handler reads each ready socket until it is empty; ${rounds} rounds × ${seconds} s. MB/s is what JS read;`);
  console.log('    data age: the oldest message of each read, from its write (stamped) to the read; empty: events that read nothing;');
  console.log('    signals/write and overflows: the whole round, including the backlog drained after the window\n');
  table(rows);
  const results = Object.fromEntries(names.map((n) => [n, { rates: runs[n].map((x) => x.bytesPerSecond) }]));
  console.log('');
  for (const name of ['realtime', 'sigio']) {
    console.log(`${LABELS[name]} / Epoll watcher = ${pairedRatio(results, name, 'epoll').toFixed(2)}× bytes/s (median of per-round ratios; > 1: signals are faster)`);
  }
  console.log('\nEvery write the peer makes sends one real-time signal (the kernel signals each arrival, not each');
  console.log('empty-to-ready change); a self-pipe that fills loses records (an overflow, then a rescan).');
}

// Run last: the constants above must be initialised first.
if (process.argv.includes('--peer')) peer();
else await main();
