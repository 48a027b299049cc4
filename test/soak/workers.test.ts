/**
 * Soak: worker churn. Worker threads one after another, a few at a time,
 * each with a Ring, an Epoll watched on its loop, a SignalIo and 1,000
 * io_uring reads in flight, terminated at a random moment: while it loads,
 * while it sets up, as it says it is ready, or while its operations run.
 * The process must stay healthy, give back every fd, and every
 * terminate() must resolve.
 *
 * The churn runs in a child process, so that a crash in a Worker's teardown
 * fails this test instead of taking the test runner down, and a teardown
 * that hangs is caught by the child's timeout.
 *
 * The fds a worker works on (pipes, socketpairs) are its parent's: fds
 * belong to the process, and a terminated worker cannot close what it
 * opened, so the parent makes them and closes them once the worker is
 * gone. What the worker's iomodes objects own (the ring, its eventfd, the
 * epoll fd, the signal self-pipe, their libuv handles) is the teardown's
 * to release, and that is what the fd count checks.
 */
import { expect, it } from 'vitest';
import { distEntry, fixture, runChild } from '../helpers/index.js';
import { FULL, report, RSS_GROWTH_LIMIT_MIB, scaled, type SoakReport } from './harness.js';

const WORKERS = scaled(200, 16);
const PARALLEL = scaled(8, 4);
/** Pipes no one writes to, and ring reads on each: they stay in flight until the teardown. */
const SILENT_PIPES = 9;
const READS_PER_SILENT_PIPE = 100;
/** Ring reads on a pipe the worker feeds: they complete, and are started again. */
const BUSY_READS = 100;
const SIGNAL_PAIRS = 4;

const worker = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { Epoll, Ring, SignalIo, tryRead, tryWrite, WOULD_BLOCK } = await import(workerData.entry);
  parentPort.postMessage({ loaded: true });
  const { silent, busy, signalled, watched } = workerData;
  // 1,024 completions: every read below is in the kernel at once.
  const ring = Ring.create({ entries: 512 });
  const epoll = Epoll.create();
  const sio = new SignalIo();
  const sink = Buffer.alloc(4096);
  const drain = (fd) => {
    for (;;) {
      const n = tryRead(fd, sink);
      if (n === WOULD_BLOCK || n === 0) return;
    }
  };
  epoll.add(watched[0], Epoll.IN, watched[0]);
  epoll.watch((events) => { for (const { data } of events) drain(data); });
  sio.on('io', ({ fd, readable }) => { if (readable) drain(fd); });
  for (const [a] of signalled) sio.enable(a);
  let inflight = 0;
  // Rejections come only when a teardown cancels them (no JS runs then).
  for (const [r] of silent) {
    for (let k = 0; k < ${READS_PER_SILENT_PIPE}; k++, inflight++) ring.read(r, Buffer.alloc(64)).catch(() => {});
  }
  const again = () => ring.read(busy[0], Buffer.alloc(64)).then(again, () => {});
  for (let k = 0; k < ${BUSY_READS}; k++, inflight++) again();
  // Data keeps moving, so reads complete and signals and epoll events come
  // in whenever the parent terminates this worker.
  const byte = Buffer.from('x');
  setInterval(() => {
    tryWrite(busy[1], Buffer.alloc(640));
    tryWrite(watched[1], byte);
    for (const [, b] of signalled) tryWrite(b, byte);
  }, 1);
  // And the worker drives its ring by hand in bursts, as one that computes
  // between loop turns does: submit() reaps what completed meanwhile. A
  // terminate() then often lands inside a call into iomodes.
  const burst = () => {
    const until = performance.now() + 2;
    while (performance.now() < until) for (let k = 0; k < 32; k++) ring.submit();
    setTimeout(burst, 1);
  };
  burst();
  parentPort.postMessage({ ready: true, inflight });
`;

/**
 * fds a worker's ES module loader had open when terminate() stopped it:
 * Node (20.20) never closes them (reproduced without iomodes: a worker
 * terminated while it imports a chain of modules leaves one open). They are
 * Node's, so they are reported apart, not counted against iomodes.
 */
const MODULE_SOURCE = String.raw`\.(?:m?js|cjs|json)$`;

const churn = (entry: string, workerPath: string, seed: number): string => `
  import { Worker } from 'node:worker_threads';
  import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
  import { close, debugCounters, pipe, socketpair, tryWrite } from ${JSON.stringify(entry)};
  const TOTAL = ${WORKERS}, PARALLEL = ${PARALLEL};
  // Each open fd and what it is, to name the ones left over.
  const openFds = () => new Map(readdirSync('/proc/self/fd').map((fd) => {
    try { return [fd, readlinkSync('/proc/self/fd/' + fd)]; } catch { return [fd, '']; }
  }));
  const rssMiB = () => (gc(), process.memoryUsage().rss / (1 << 20));
  const handles = () => { const { watchers, ownedFds, pinnedOps } = debugCounters(); return { watchers, ownedFds, pinnedOps }; };
  const O_ASYNC = 0o20000;
  const asyncFlag = (fd) => (parseInt(readFileSync('/proc/self/fdinfo/' + fd, 'utf8').match(/flags:\\s+(\\d+)/)[1], 8) & O_ASYNC) !== 0;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  let seed = ${seed};
  const random = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };

  // libuv opens a spare fd (/dev/null, its EMFILE reserve) with the loop's
  // first stream, for good: let process.stdout be that stream, before the baseline.
  void process.stdout;
  const fdsBefore = openFds();
  const handlesBefore = handles();
  const count = { terminated: 0, exits: 0, loading: 0, settingUp: 0, ready: 0, inflight: 0, asyncLeft: 0 };
  const errors = [];
  const exitCodes = {};
  const byte = Buffer.from('!');

  async function one(i) {
    const silent = Array.from({ length: ${SILENT_PIPES} }, () => pipe({ nonblocking: true }));
    const busy = pipe({ nonblocking: true });
    const signalled = Array.from({ length: ${SIGNAL_PAIRS} }, () => socketpair({ nonblocking: true }));
    const watched = socketpair({ nonblocking: true });
    const w = new Worker(${JSON.stringify(workerPath)}, {
      workerData: { entry: ${JSON.stringify(entry)}, silent, busy, signalled, watched },
      execArgv: [], // not this process's --input-type, which a file entry refuses
    });
    // When to terminate, each way in turn so that each happens whatever the
    // seed: at once (it is still loading), a moment after it has loaded
    // iomodes (mostly while it sets up), the moment it says it is ready,
    // or a random time after that (operations in flight, bursts running).
    const when = i % 4;
    let loaded = false;
    let ready = false;
    let terminating;
    let wake = () => {};
    const woken = new Promise((resolve) => (wake = resolve));
    w.on('message', (m) => {
      if (m.loaded) loaded = true;
      if (m.ready) {
        ready = true;
        count.ready++;
        count.inflight += m.inflight;
        if (when === 2) terminating ??= w.terminate();
      }
      if ((m.loaded && when === 1) || (m.ready && when >= 2)) wake();
    });
    w.on('error', (err) => errors.push(String((err && err.stack) || err)));
    const exited = new Promise((resolve) => w.on('exit', (code) => {
      count.exits++;
      exitCodes[code] = (exitCodes[code] ?? 0) + 1;
      wake();
      resolve();
    }));
    if (when !== 0) await woken;
    if (when === 1) await sleep(random() * 3);
    if (when === 3) await sleep(random() * 50);
    if (!loaded) count.loading++;
    else if (!ready) count.settingUp++;
    // Signals aimed at the worker's thread as it goes.
    for (const [, b] of signalled) tryWrite(b, byte);
    await (terminating ?? w.terminate());
    count.terminated++;
    await exited;
    // Its teardown restored the fds it had enabled: a write now signals no one.
    for (const [a, b] of signalled) {
      if (asyncFlag(a)) count.asyncLeft++;
      tryWrite(b, byte);
    }
    for (const pair of [...silent, busy, ...signalled, watched]) for (const fd of pair) close(fd);
  }

  let next = 0;
  const run = (upTo) => Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < upTo) await one(next++);
  }));
  // Warm-up: the first two waves; then RSS is measured at rest (no worker alive).
  await run(Math.min(TOTAL, 2 * PARALLEL));
  const warm = rssMiB();
  const t0 = performance.now();
  await run(TOTAL);
  const seconds = (performance.now() - t0) / 1000;
  const moduleSource = new RegExp(${JSON.stringify(MODULE_SOURCE)});
  const leftOver = () => [...openFds()].filter(([fd, target]) => fdsBefore.get(fd) !== target);
  // A Worker's last handles close after its exit event.
  for (let i = 0; i < 200 && leftOver().some(([, target]) => !moduleSource.test(target)); i++) await sleep(10);
  const end = rssMiB();
  const left = leftOver();
  const nodeModuleFds = left.filter(([, target]) => moduleSource.test(target)).length;
  console.log(JSON.stringify({
    name: 'worker churn',
    operations: TOTAL,
    settled: count.terminated,
    lost: TOTAL - count.exits,
    duplicated: count.exits - count.terminated,
    fds: { before: fdsBefore.size, after: fdsBefore.size + left.length - nodeModuleFds },
    rss: { warm, end },
    seconds,
    extra: { seed: ${seed}, parallel: PARALLEL, ...count, nodeModuleFds, leakedOnTeardown: debugCounters().leakedOnTeardown, exitCodes: JSON.stringify(exitCodes) },
    handles: { before: handlesBefore, after: handles() },
    errors,
    leftOver: left.filter(([, target]) => !moduleSource.test(target)).map(([fd, target]) => fd + ' -> ' + target),
  }));
`;

it(`worker churn: ${WORKERS} workers, ${PARALLEL} at a time, each with a Ring, an Epoll, a SignalIo and 1,000 reads in flight, terminated at random moments`, () => {
  const seed = Number(process.env.IOMODES_SOAK_SEED ?? Date.now() % 2 ** 31);
  const workerPath = fixture(worker, 'churn-worker.mjs');
  const r = runChild(churn(distEntry(), workerPath, seed), { execArgv: ['--expose-gc'], timeout: FULL ? 1_000_000 : 60_000 });
  expect(r.stderr).toBe('');
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  type Out = SoakReport & { extra: Record<string, number>; handles: { before: unknown; after: unknown }; errors: string[]; leftOver: string[] };
  const out = JSON.parse(r.stdout) as Out;
  const { handles, errors, leftOver, ...figures } = out;
  report(figures);
  expect(errors).toEqual([]);
  expect(out.lost).toBe(0);
  expect(out.duplicated).toBe(0);
  expect(out.settled).toBe(out.operations);
  // Every ready worker had its 1,000 reads in flight when it was terminated.
  expect(out.extra.inflight).toBe(out.extra.ready * (SILENT_PIPES * READS_PER_SILENT_PIPE + BUSY_READS));
  // Some went before they were ready, some after: both teardowns ran.
  expect(out.extra.loading).toBeGreaterThan(0);
  expect(out.extra.ready).toBeGreaterThan(0);
  expect(out.extra.asyncLeft).toBe(0);
  expect(out.extra.leakedOnTeardown).toBe(0);
  expect(leftOver).toEqual([]);
  expect(out.fds.after).toBe(out.fds.before);
  expect(handles.after).toEqual(handles.before);
  if (FULL) expect(out.rss.end - out.rss.warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
});

/**
 * The same churn, seen from a process whose main thread never loads
 * iomodes: then the addon is loaded with each worker and unloaded (Node
 * dlcloses it) when the last one using it exits. iomodes' signal handlers
 * stay installed, idle, for good (docs/signal.md): each next worker's
 * SignalIo must still find them its own, and a stray SIGIO or real-time
 * signal must still find them, not unmapped code.
 */
const alone = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { close, SignalIo, socketpair, write } = await import(workerData.entry);
  const sio = new SignalIo();
  const [a, b] = socketpair({ nonblocking: true });
  sio.enable(a);
  const ok = await new Promise((resolve) => {
    sio.once('io', (e) => resolve(e.fd === a));
    write(b, Buffer.from('x'));
  });
  parentPort.postMessage({ ok, signal: sio.signal });
  if (workerData.stay) setInterval(() => {}, 1000); // to be terminated with the fd enabled
  else {
    sio.close();
    close(a);
    close(b);
  }
`;

const aloneChurn = (workerPath: string, entry: string, workers: number): string => `
  import { Worker } from 'node:worker_threads';
  const results = [];
  const errors = [];
  let signal = 0;
  for (let i = 0; i < ${workers}; i++) {
    // Every other one ends by itself, the rest are terminated.
    const stay = i % 2 === 1;
    const w = new Worker(${JSON.stringify(workerPath)}, { workerData: { entry: ${JSON.stringify(entry)}, stay }, execArgv: [] });
    w.on('error', (err) => errors.push(i + ': ' + String(err)));
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const m = await Promise.race([new Promise((resolve) => w.once('message', resolve)), exited.then(() => null)]);
    results.push(m?.ok ?? false);
    signal = m?.signal ?? signal;
    if (stay) await w.terminate();
    await exited;
  }
  console.log(JSON.stringify({ results, errors, signal }));
  // No iomodes object is left anywhere: signals now find the idle handlers.
  process.kill(process.pid, 'SIGIO');
  if (signal !== 0) process.kill(process.pid, signal);
  await new Promise((resolve) => setTimeout(resolve, 100));
`;

it('worker churn with iomodes loaded by the workers alone: each SignalIo works, and stray signals after the last are harmless', () => {
  const workers = scaled(20, 4);
  const r = runChild(aloneChurn(fixture(alone, 'alone-worker.mjs'), distEntry(), workers), { timeout: FULL ? 300_000 : 60_000 });
  const out = JSON.parse(r.stdout) as { results: boolean[]; errors: string[]; signal: number };
  expect(out.errors).toEqual([]);
  expect(out.results).toEqual(new Array(workers).fill(true));
  expect(out.signal).toBeGreaterThan(0);
  expect(r.stderr).toBe('');
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
});

/**
 * The moment the churn above finds at full scale, made frequent: workers
 * that do nothing but drive their ring by hand (submit() reaps what
 * completed), terminated a few milliseconds after they start. terminate()
 * then usually stops the worker inside a call into iomodes, where Node-API
 * refuses calls that might run JavaScript; iomodes must give up quietly
 * there, as Wrap::Self does, and never abort the whole process.
 */
const busy = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { Ring } = await import(workerData.entry);
  const ring = Ring.create({ entries: 8 });
  parentPort.postMessage('ready');
  for (;;) ring.submit();
`;

it('terminating workers busy in Ring calls never aborts the process', () => {
  const workers = scaled(100, 16);
  const r = runChild(
    `
    import { Worker } from 'node:worker_threads';
    let terminated = 0;
    const lane = async (n) => {
      for (let i = 0; i < n; i++) {
        const w = new Worker(${JSON.stringify(fixture(busy, 'busy-worker.mjs'))}, { workerData: { entry: ${JSON.stringify(distEntry())} }, execArgv: [] });
        await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        await w.terminate();
        terminated++;
      }
    };
    await Promise.all([lane(${workers / 4}), lane(${workers / 4}), lane(${workers / 4}), lane(${workers / 4})]);
    console.log(terminated);
    `,
    { timeout: FULL ? 300_000 : 60_000 },
  );
  expect(r.stderr).toBe('');
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  expect(Number(r.stdout)).toBe(workers);
});
