// The coroutine scheduler (iomodes/coro), measured against what a Node user
// would write instead, side by side in one run (interleaved rounds, median of
// per-round ratios). It measures and prints; it asserts nothing.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:coro       [-- switch|echo|memory] [--rounds=N --seconds=2 --conns=50 --switches=1000000 --tasks=100000]
//
// --rounds sets the rounds of both timed parts (default 20 for switch, 5 for
// echo); --switches is the total per contender, spread over the rounds. The
// default run takes about 95 s (the echo part, 8 servers × 5 rounds × 2 s, is most of it).
//
// (1) switch: two tasks ping-ponging through a Queue (put/get) and through
//     switchTo(), each under run() and under the event-loop driver (spawn +
//     await), against two async functions ping-ponging through Promises (each
//     awaits a promise the other resolves). ns per switch, where a switch is
//     one hand-over of control from one side to the other. Default 20 rounds
//     × 50,000 switches = 1,000,000 per contender. Two floors for context:
//     bare generators resumed in turn, and the same with each switch a
//     `yield*` of a fresh operation object (the least any scheduler built on
//     `yield*` operations pays).
// (2) echo: 64-byte ping-pong over 50 TCP connections on 127.0.0.1, driven by
//     the C client of bench:multiplex (bench/echo-client.c) in its own
//     process. Servers, each in its own process: the coroutine echo server
//     (one task per connection over net.listen) on each backend (epoll, poll,
//     io_uring: there each socket read and write is a ring operation, not a
//     readiness wait plus a syscall) and each driver (run(), event loop),
//     Node's `net` echo server and the plain Epoll server (both started as
//     bench:multiplex starts them: `node bench/multiplex.mjs
//     --serve=net|epoll`). io_uring against epoll is printed on each driver
//     (target ≥ 1.0×), besides the other ratios. Round trips/s and server
//     CPU per round trip (/proc/<pid>/stat), split into user and system
//     time. Default 5 rounds × 2 s.
// (3) memory: 100,000 tasks parked in sleep(60_000) and in sleep(Infinity),
//     and for context 100,000 async functions awaiting a never-resolved
//     promise and a timers/promises setTimeout: heap and RSS per task, each
//     in a fresh `node --expose-gc` process, gc before and after.
//
// The plain Epoll and `net` servers are bench/multiplex.mjs's, run as it runs
// them; CPU pinning, /proc CPU time and server children come from ./lib.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, median, numberOption, pairedRatio, perSecond, pinned, startServer, table } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** Loads the built iomodes/coro (dist/coro/), or explains how to build it. */
async function loadCoro() {
  try {
    return await import('../dist/coro/index.js');
  } catch (err) {
    console.error(`bench: cannot load dist/coro/index.js (${err.code ?? err.message}); run \`npm run build\` first.`);
    process.exit(1);
  }
}

async function main() {
  const parts = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const known = ['switch', 'echo', 'memory'];
  for (const p of parts) {
    if (!known.includes(p)) {
      console.error(`bench: unknown part '${p}': expected ${known.join(', ')}`);
      process.exit(2);
    }
  }
  const want = (p) => parts.length === 0 || parts.includes(p);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}, ${availableParallelism()} CPUs\n`);
  if (want('switch')) await switchCost();
  if (want('echo')) await echo();
  if (want('memory')) memory();
}

// (1) Switch cost ----------------------------------------------------------

/**
 * Like lib.mjs's interleaved(), for contenders whose run(ops) returns a
 * promise: each round runs every contender once, rotating who goes first.
 */
async function interleavedAsync(contenders, { rounds, ops, warmup }) {
  for (const c of contenders) await c.run(warmup);
  const rates = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const c of order) {
      const t0 = process.hrtime.bigint();
      await c.run(ops);
      const ns = Number(process.hrtime.bigint() - t0);
      rates.get(c.name).push((ops * 1e9) / ns);
    }
  }
  return Object.fromEntries([...rates].map(([name, r]) => [name, { rates: r, median: median(r) }]));
}

async function switchCost() {
  const coro = await loadCoro();
  const { run, spawn, switchTo, current, Queue } = coro;
  const rounds = numberOption('rounds', 20);
  const total = numberOption('switches', 1_000_000);
  const ops = Math.max(2, Math.round(total / rounds / 2) * 2); // switches per round, even

  // Each side hands control to the other: n switches, n/2 round trips.
  function* viaSwitchTo(n) {
    const me = current();
    const pong = spawn(function* () {
      for (;;) yield* switchTo(me);
    });
    for (let i = 0; i < n; i += 2) yield* switchTo(pong);
    pong.kill();
  }
  function* viaQueue(n) {
    const there = new Queue();
    const back = new Queue();
    const pong = spawn(function* () {
      for (;;) yield* back.put(yield* there.get());
    });
    for (let i = 0; i < n; i += 2) {
      yield* there.put(i);
      yield* back.get();
    }
    pong.kill();
  }
  // The plain-Promise ping-pong: each side awaits a promise the other
  // resolves. A native promise per hop and `await` on it (one microtask per
  // resume) is the cheapest a Node user can do; thenables, EventEmitter.once
  // or async iterators all cost more.
  function viaPromises(n) {
    let toPong;
    let toPing;
    const pong = async () => {
      for (;;) {
        const v = await new Promise((resolve) => (toPong = resolve));
        if (v < 0) return;
        toPing(v);
      }
    };
    const ping = async () => {
      for (let i = 0; i < n; i += 2) {
        const answered = new Promise((resolve) => (toPing = resolve));
        toPong(i);
        await answered;
      }
      toPong(-1);
    };
    pong();
    return ping();
  }
  // Context only, the floor: two bare generators resumed in turn by a loop,
  // no scheduler, no queue, no wake-up bookkeeping.
  function viaBareGenerators(n) {
    const side = function* () {
      for (;;) yield;
    };
    const a = side();
    const b = side();
    for (let i = 0; i < n; i += 2) {
      a.next();
      b.next();
    }
  }

  // Context, the floor of the design: what any scheduler whose waits are
  // `yield*` of an operation pays per switch at least. Two generators each
  // `yield*` a fresh two-step operation (the first next() names the other
  // side and parks, the second gives the value back), resumed by a bare
  // loop: an allocation, GetIterator, two next() calls and a resume, with
  // no queue, tickets, counts or kill support.
  const PARK_RESULT = { value: undefined, done: false };
  class Handoff {
    constructor(to) {
      this.to = to;
      this.started = false;
      this.done = false;
      this.value = undefined;
    }
    [Symbol.iterator]() {
      return this;
    }
    next(value) {
      if (this.started) {
        this.done = true;
        this.value = value;
        return this;
      }
      this.started = true;
      handoffNext = this.to;
      return PARK_RESULT;
    }
  }
  let handoffNext;
  function viaBareYieldStar(n) {
    const a = {};
    const b = {};
    a.gen = (function* () {
      for (let i = 0; i < n; i += 2) yield* new Handoff(b);
    })();
    b.gen = (function* () {
      for (;;) yield* new Handoff(a);
    })();
    handoffNext = a;
    for (let side = a; !side.gen.next().done; side = handoffNext);
  }

  const contenders = [
    { name: 'switchTo, run()', run: (n) => run(viaSwitchTo, n) },
    { name: 'switchTo, event loop', run: (n) => spawn(viaSwitchTo, n) },
  ];
  if (typeof Queue === 'function') {
    contenders.push({ name: 'Queue put/get, run()', run: (n) => run(viaQueue, n) });
    contenders.push({ name: 'Queue put/get, event loop', run: (n) => spawn(viaQueue, n) });
  }
  contenders.push({ name: 'async/await + Promise', run: viaPromises });
  contenders.push({ name: 'yield* operations, bare loop (floor)', run: async (n) => viaBareYieldStar(n) });
  contenders.push({ name: 'bare generators (floor)', run: async (n) => viaBareGenerators(n) });

  const results = await interleavedAsync(contenders, { rounds, ops, warmup: Math.min(ops, 50_000) });
  const base = 'async/await + Promise';
  const rows = [['contender', 'ns/switch', 'switches/s', `vs ${base}`, 'rounds (ns/switch)']];
  for (const c of contenders) {
    const r = results[c.name];
    rows.push([
      c.name,
      (1e9 / r.median).toFixed(1),
      perSecond(r.median),
      c.name === base ? '1.00×' : `${pairedRatio(results, c.name, base).toFixed(2)}×`,
      r.rates.map((x) => (1e9 / x).toFixed(0)).join(' '),
    ]);
  }
  console.log(`(1) switch cost: two sides handing control back and forth, ${rounds} rounds × ${perSecond(ops)} switches = ${perSecond(rounds * ops)} per contender\n`);
  table(rows);
  console.log('');
  if (typeof Queue !== 'function') console.log('Queue is not exported by iomodes/coro yet: its rows are missing.');
  console.log('run(): the hub drains its ready queue in a plain loop. event loop: spawn() + await; the hub drains');
  console.log('in a microtask, 4,096 tasks per turn, then yields to Node with setImmediate. Both are measured.');
  const ratio = (name) => (results[name] ? `${pairedRatio(results, name, base).toFixed(2)}×` : 'n/a');
  console.log(`switchTo under run() / Promise ping-pong = ${ratio('switchTo, run()')} switches/s (median of per-round ratios; target ≥ 2×)`);
  console.log(`Queue under run() / Promise ping-pong    = ${ratio('Queue put/get, run()')} switches/s (target ≥ 2×)`);
  console.log(`yield* floor / Promise ping-pong          = ${ratio('yield* operations, bare loop (floor)')}: the most any scheduler whose waits are`);
  console.log('  `yield*` of an operation can reach (a Queue hand-over is two such operations per switch)');
  console.log('');
}

// (2) Echo server -----------------------------------------------------------

/** The coroutine echo server, in a child process: `--serve=<driver>-<backend>`. */
async function serveCoro(kind) {
  const [driver, backend] = kind.split('-');
  if (!['run', 'loop'].includes(driver) || !['epoll', 'poll', 'io_uring'].includes(backend)) {
    console.error(`bench: unknown server '${kind}'`);
    process.exit(2);
  }
  const { createHub, net, run, spawn } = await loadCoro();
  createHub({ backend });
  const server = net.listen({ host: '127.0.0.1', port: 0, backlog: 1024 });
  console.log(server.address.port);
  function* connection(stream) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    try {
      for (;;) {
        const n = yield* stream.read(buf);
        if (!n) break;
        yield* stream.write(buf, 0, n);
      }
    } catch {
      // ECONNRESET when the client exits: the connection is over.
    } finally {
      stream.close();
    }
  }
  function* acceptor() {
    for (;;) spawn(connection, yield* server.accept());
  }
  // run(): the hub blocks in epoll_wait/poll/io_uring_enter itself. loop:
  // the acceptor waits on the listening fd, which keeps the process alive.
  if (driver === 'run') await run(acceptor);
  else spawn(acceptor);
}

const SERVERS = [
  { key: 'run-epoll', label: 'coro, run(), epoll', script: self },
  { key: 'run-poll', label: 'coro, run(), poll', script: self },
  { key: 'loop-epoll', label: 'coro, event loop, epoll', script: self },
  { key: 'loop-poll', label: 'coro, event loop, poll', script: self },
  { key: 'run-io_uring', label: 'coro, run(), io_uring', script: self },
  { key: 'loop-io_uring', label: 'coro, event loop, io_uring', script: self },
  { key: 'epoll', label: 'plain Epoll (bench:multiplex)', script: join(here, 'multiplex.mjs') },
  { key: 'net', label: 'node:net echo', script: join(here, 'multiplex.mjs') },
];

async function echo() {
  const seconds = numberOption('seconds', 2);
  const rounds = numberOption('rounds', 5);
  const conns = numberOption('conns', 50);
  const dir = mkdtempSync(join(tmpdir(), 'iomodes-bench-'));
  const client = join(dir, 'echo-client');
  try {
    execFileSync('cc', ['-O2', '-o', client, join(here, 'echo-client.c')], { stdio: 'inherit' });
  } catch {
    console.error('bench: could not compile bench/echo-client.c with cc; skipping the echo benchmark');
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const servers = {};
  const runs = Object.fromEntries(SERVERS.map((s) => [s.key, []]));
  try {
    for (const s of SERVERS) servers[s.key] = await startServer(s.script, s.key);
    // Warm-up (JIT, socket buffers), off the record.
    for (const s of SERVERS) execFileSync(...pinned(0, client, [String(servers[s.key].port), String(conns), '0.5', '64']));
    for (let round = 0; round < rounds; round++) {
      const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length]);
      for (const s of order) {
        const { child, port } = servers[s.key];
        const cpu0 = cpuSeconds(child.pid);
        const out = execFileSync(...pinned(0, client, [String(port), String(conns), String(seconds), '64']), { encoding: 'utf8' });
        const cpu1 = cpuSeconds(child.pid);
        const r = JSON.parse(out);
        const user = cpu1.user - cpu0.user;
        const sys = cpu1.sys - cpu0.sys;
        runs[s.key].push({
          rate: r.roundTrips / r.seconds,
          clientCpu: r.cpuSeconds / r.seconds,
          serverCpu: (user + sys) / r.seconds,
          userPerTrip: (user / r.roundTrips) * 1e6,
          sysPerTrip: (sys / r.roundTrips) * 1e6,
        });
      }
    }
  } finally {
    for (const { child } of Object.values(servers)) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const pct = (x) => `${Math.round(x * 100)}%`;
  const cost = {};
  const userCost = {};
  const rows = [
    ['server', 'median round trips/s', 'rounds (round trips/s)', 'client CPU', 'server CPU', 'server CPU µs/round trip', 'user µs', 'sys µs', 'vs net'],
  ];
  const rates = Object.fromEntries(Object.entries(runs).map(([key, r]) => [key, { rates: r.map((x) => x.rate) }]));
  for (const s of SERVERS) {
    const r = runs[s.key];
    cost[s.key] = median(r.map((x) => x.userPerTrip + x.sysPerTrip));
    userCost[s.key] = median(r.map((x) => x.userPerTrip));
    rows.push([
      s.label,
      perSecond(median(r.map((x) => x.rate))),
      r.map((x) => perSecond(x.rate)).join(' '),
      pct(median(r.map((x) => x.clientCpu))),
      pct(median(r.map((x) => x.serverCpu))),
      cost[s.key].toFixed(2),
      userCost[s.key].toFixed(2),
      median(r.map((x) => x.sysPerTrip)).toFixed(2),
      `${pairedRatio(rates, s.key, 'net').toFixed(2)}×`,
    ]);
  }
  console.log(
    `(2) echo ping-pong, 64 B messages, ${conns} TCP connections on 127.0.0.1, ${rounds} rounds × ${seconds} s; C client in its own process${canPin() ? ' (client on CPU 0, servers on CPU 1)' : ''}\n`,
  );
  table(rows);
  console.log('');
  const r = (a, b) => pairedRatio(rates, a, b).toFixed(2);
  const c = (a, b) =>
    `${(cost[b] / cost[a]).toFixed(2)}× (user CPU alone: ${userCost[a] > 0 && userCost[b] > 0 ? `${(userCost[b] / userCost[a]).toFixed(2)}×` : 'too few ticks'})`;
  // Aligned "x / y = value" lines.
  const LABEL = {
    'run-epoll': 'coro run() epoll',
    'loop-epoll': 'coro event loop epoll',
    'run-poll': 'coro run() poll',
    'loop-poll': 'coro event loop poll',
    'run-io_uring': 'coro run() io_uring',
    'loop-io_uring': 'coro event loop io_uring',
    epoll: 'plain Epoll',
    net: 'net',
  };
  const lines = (entries) => {
    const width = Math.max(...entries.map(([x]) => LABEL[x].length));
    const names = entries.map(([x, y]) => `${LABEL[x].padEnd(width)} / ${LABEL[y]}`);
    const width2 = Math.max(...names.map((n) => n.length));
    entries.forEach(([, , value, goal], i) => console.log(`  ${names[i].padEnd(width2)} = ${value}${goal ? `  (target ≥ ${goal})` : ''}`));
  };
  console.log('round trips/s, median of per-round ratios (the two ran back to back in each round):');
  lines(
    [
      ['run-epoll', 'net', '1.5×'],
      ['run-epoll', 'epoll', '0.9×'],
      ['loop-epoll', 'net', '1.2×'],
      ['run-poll', 'net'],
      ['loop-poll', 'net'],
      ['run-io_uring', 'net'],
      ['loop-io_uring', 'net'],
      ['run-io_uring', 'run-epoll', '1.0×'],
      ['loop-io_uring', 'loop-epoll', '1.0×'],
    ].map(([a, b, goal]) => [a, b, `${r(a, b)}×`, goal]),
  );
  console.log('server CPU per round trip, how many times cheaper than the other (ratio of medians):');
  lines(
    [
      ['net', 'run-epoll'],
      ['epoll', 'run-epoll'],
      ['net', 'loop-epoll'],
      ['run-epoll', 'run-io_uring'],
      ['loop-epoll', 'loop-io_uring'],
    ].map(([b, a]) => [b, a, c(a, b)]),
  );
  console.log('On 2 cores the client and the server share the machine: when both are near 100%, the');
  console.log('round-trip ratio is capped by the client, and the CPU cost per round trip is the fairer measure.');
  console.log('CPU is the share of one core over the run; user/sys µs are per round trip (USER_HZ ticks:');
  console.log('10 ms resolution, so short runs are coarse). sys is mostly the two syscalls (recv + write) every');
  console.log('readiness server makes per round trip (on io_uring, the kernel does them for the ring\'s');
  console.log('io_uring_enter); user is where the servers differ.');
  console.log('');
}

// (3) Memory ---------------------------------------------------------------

const MEMORY_KINDS = [
  { key: 'coro-sleep', label: 'task in sleep(60_000)' },
  { key: 'coro-forever', label: 'task in sleep(Infinity)' },
  { key: 'async-never', label: 'async fn awaiting a never-resolved promise' },
  { key: 'async-timeout', label: 'async fn awaiting timers/promises setTimeout(60_000)' },
];

/** In a fresh `node --expose-gc` child: park `--tasks` of one kind, print bytes per task. */
async function measureMemory(kind) {
  const n = numberOption('tasks', 100_000);
  const coro = await loadCoro();
  const { setTimeout: delay } = await import('node:timers/promises');
  const { spawn, sleep, useHub } = coro;
  const hub = useHub();
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  // What a user keeps per task to end it later (the Task, to kill it; the
  // resolve function and the promise of an async function), allocated before
  // the baseline so that only the tasks themselves are counted.
  // (On globalThis: V8 does not keep a local alive past its last use.)
  const handles = (globalThis.handles = new Array(n).fill(null));
  const resolvers = (globalThis.resolvers = new Array(n).fill(null));
  // Warm the code paths with a few, then drop them.
  if (kind.startsWith('coro')) {
    const warm = Array.from({ length: 100 }, () => spawn(function* () { yield* sleep(Infinity); }));
    await tick();
    for (const t of warm) t.kill();
    await tick();
  }
  await tick();
  globalThis.gc();
  globalThis.gc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  if (kind === 'coro-sleep' || kind === 'coro-forever') {
    const ms = kind === 'coro-sleep' ? 60_000 : Infinity;
    const body = function* () {
      yield* sleep(ms);
    };
    for (let i = 0; i < n; i++) handles[i] = spawn(body);
    while (hub.counts.parked < n) await tick();
  } else if (kind === 'async-never') {
    const body = async (i) => {
      await new Promise((resolve) => (resolvers[i] = resolve));
    };
    for (let i = 0; i < n; i++) handles[i] = body(i);
  } else if (kind === 'async-timeout') {
    const body = async () => {
      await delay(60_000);
    };
    for (let i = 0; i < n; i++) handles[i] = body();
  } else {
    console.error(`bench: unknown memory kind '${kind}'`);
    process.exit(2);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  await tick();
  globalThis.gc();
  globalThis.gc();
  const after = process.memoryUsage();
  console.log(
    JSON.stringify({
      heapPerTask: (after.heapUsed - before.heapUsed) / n,
      rssPerTask: (after.rss - before.rss) / n,
      createUsPerTask: ns / 1e3 / n,
      parked: kind.startsWith('coro') ? hub.counts.parked : undefined,
    }),
  );
  process.exit(0);
}

function memory() {
  const n = numberOption('tasks', 100_000);
  const rows = [['what', 'heap B/task', 'RSS B/task', 'create+park µs/task']];
  const got = {};
  for (const k of MEMORY_KINDS) {
    const res = spawnSync(process.execPath, ['--expose-gc', self, `--memory-child=${k.key}`, `--tasks=${n}`], { encoding: 'utf8' });
    if (res.status !== 0) {
      console.error(`bench: memory child '${k.key}' failed:\n${res.stderr}`);
      continue;
    }
    const r = JSON.parse(res.stdout.trim().split('\n').pop());
    got[k.key] = r;
    rows.push([k.label, Math.round(r.heapPerTask).toLocaleString('en-US'), Math.round(r.rssPerTask).toLocaleString('en-US'), r.createUsPerTask.toFixed(2)]);
  }
  console.log(`(3) memory: ${perSecond(n)} parked tasks, each kind in a fresh node --expose-gc process (gc before and after; the`);
  console.log('    baseline, taken after loading iomodes/coro, is subtracted; the handle a user keeps per task is not counted)\n');
  table(rows);
  console.log('');
  const kib = (k) => (got[k] ? `${(got[k].heapPerTask / 1024).toFixed(2)} KiB` : 'n/a');
  console.log(`heap per task in sleep(60_000)  = ${kib('coro-sleep')} (target ≤ 1 KiB)`);
  console.log(`heap per task in sleep(Infinity) = ${kib('coro-forever')} (target ≤ 1 KiB)`);
  if (got['coro-sleep'] && got['async-timeout']) {
    console.log(`async fn on a setTimeout promise / task in sleep(60_000) = ${(got['async-timeout'].heapPerTask / got['coro-sleep'].heapPerTask).toFixed(2)}× heap`);
  }
  console.log('');
}

// Entry: a server or memory child when asked, else the benchmark (last, so
// that every constant above is initialised).
const serve = option('serve');
const memoryChild = option('memory-child');
if (serve !== undefined) await serveCoro(serve);
else if (memoryChild !== undefined) await measureMemory(memoryChild);
else await main();
