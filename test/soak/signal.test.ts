/**
 * Soak: signal-driven I/O on many fds under a low RLIMIT_SIGPENDING, round
 * after round, so the real-time queue overflows every round and the
 * 'overflow' path (plain SIGIO, then a rescan) carries most of the data.
 *
 * It runs in a child process, which lowers its own RLIMIT_SIGPENDING to 16
 * and enables N socketpair ends. A writer (bash, holding the peers as its
 * fds 3..N+2) does each round on the child's word: it stops the child
 * (SIGSTOP, and waits until /proc says it is stopped), writes one 100-byte
 * chunk to every peer, and continues it. While stopped the child takes no
 * signal, so at most 16 queue and the rest fall back to one SIGIO: the
 * overflow is certain, every round. The child reads until the round's
 * bytes are all in, then asks for the next.
 *
 * Each chunk names its round, so a byte read twice, skipped or out of
 * order shows as wrong bytes, not just a wrong count.
 */
import { expect, it } from 'vitest';
import { distEntry, runChild } from '../helpers/index.js';
import { FULL, report, RSS_GROWTH_LIMIT_MIB, scaled, type SoakReport } from './harness.js';

const FDS = scaled(1000, 200);
const ROUNDS = scaled(50, 5);
const CHUNK = 100;
const SIGPENDING = 16;

const child = (entry: string): string => `
  import { close, debugCounters, getrlimit, setrlimit, SignalIo, socketpair, tryRead, WOULD_BLOCK } from ${JSON.stringify(entry)};
  import { spawn } from 'node:child_process';
  import { readdirSync, readFileSync } from 'node:fs';
  const N = ${FDS}, ROUNDS = ${ROUNDS}, CHUNK = ${CHUNK};
  const openFds = () => readdirSync('/proc/self/fd').length - 1;
  const rssMiB = () => (gc(), process.memoryUsage().rss / (1 << 20));
  const handles = () => { const { watchers, ownedFds, pinnedOps } = debugCounters(); return { watchers, ownedFds, pinnedOps }; };
  // Signals still pending on any thread, or on the process.
  const pendingSignals = () => readdirSync('/proc/self/task').flatMap((t) =>
    readFileSync('/proc/self/task/' + t + '/status', 'utf8').split('\\n').filter((l) => /^(SigPnd|ShdPnd):/.test(l) && !/\\s0+$/.test(l)));

  // libuv opens a spare fd (/dev/null, its EMFILE reserve) with the loop's
  // first stream, for good: let process.stdout be that stream, before the
  // baseline, rather than the writer's stdin.
  void process.stdout;
  const fdsBefore = openFds();
  const handlesBefore = handles();
  setrlimit('sigpending', { soft: ${SIGPENDING}, hard: getrlimit('sigpending').hard });
  const sio = new SignalIo();
  const readers = [];
  const peers = [];
  const got = new Map(); // reader fd -> bytes read so far
  for (let i = 0; i < N; i++) {
    const [a, b] = socketpair({ nonblocking: true });
    sio.enable(a);
    readers.push(a);
    peers.push(b);
    got.set(a, 0);
  }
  // Round r's chunk is r, zero-padded to CHUNK digits: what printf "%0100d" r writes.
  const expected = (offset) => String(Math.floor(offset / CHUNK) + 1).padStart(CHUNK, '0').charCodeAt(offset % CHUNK);
  let total = 0, wrongBytes = 0, extraBytes = 0, emptyEvents = 0, overflowEvents = 0;
  const buf = Buffer.alloc(65536);
  const drain = (fd) => {
    let any = false;
    for (;;) {
      const n = tryRead(fd, buf);
      if (n === WOULD_BLOCK || n === 0) break;
      any = true;
      let at = got.get(fd);
      for (let i = 0; i < n; i++, at++) {
        if (at >= ROUNDS * CHUNK) extraBytes++;
        else if (buf[i] !== expected(at)) wrongBytes++;
      }
      got.set(fd, at);
      total += n;
    }
    if (!any) emptyEvents++;
  };
  sio.on('io', (e) => { if (e.readable) drain(e.fd); });
  sio.on('overflow', ({ reason }) => { if (reason === 'sigqueue') overflowEvents++; });

  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  const script = [
    'for r in $(seq 1 ' + ROUNDS + '); do',
    '  read -r go || exit 3',
    '  kill -STOP ' + process.pid,
    // kill returns before the child has stopped: wait until it has (and
    // give up if it is gone, rather than spin on forever).
    '  until while read -r k v _; do [[ $k == State: ]] && break; done < /proc/' + process.pid + '/status; [[ $v == T ]]; do',
    '    [[ -e /proc/' + process.pid + ' ]] || exit 4',
    '  done',
    '  for ((fd = 3; fd < ' + (N + 3) + '; fd++)); do printf "%0' + CHUNK + 'd" $r >&$fd; done',
    '  kill -CONT ' + process.pid,
    'done',
  ].join('\\n');
  const writer = spawn('bash', ['-c', script], { env, stdio: ['pipe', 'inherit', 'inherit', ...peers] });
  const writerExit = new Promise((resolve) => writer.on('exit', (code, signal) => resolve({ code, signal })));

  const t0 = performance.now();
  let warm = 0;
  let round = 0;
  const deadline = Date.now() + ${FULL ? 900_000 : 50_000};
  await new Promise((resolve, reject) => {
    const next = () => {
      if (round === Math.max(1, Math.floor(ROUNDS / 5))) warm = rssMiB();
      if (round === ROUNDS) return resolve();
      round++;
      writer.stdin.write('go\\n');
      check();
    };
    const check = () => {
      if (total >= round * N * CHUNK) return next();
      if (Date.now() > deadline) return reject(new Error('round ' + round + ' stuck at ' + total + ' of ' + round * N * CHUNK + ' bytes'));
      setTimeout(check, 5);
    };
    next();
  });
  const seconds = (performance.now() - t0) / 1000;
  const end = rssMiB();
  writer.stdin.end();
  const exit = await writerExit;
  // Anything late (a duplicate) would come now.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const counts = sio.counts;
  const pending = pendingSignals();
  const limit = getrlimit('sigpending').soft;
  const unread = [...got.values()].filter((v) => v < ROUNDS * CHUNK).length;
  sio.close();
  for (const fd of [...readers, ...peers]) close(fd);
  // The watcher's handle closes on the loop.
  for (let i = 0; i < 200 && (openFds() !== fdsBefore || handles().watchers !== handlesBefore.watchers); i++) await new Promise((r) => setTimeout(r, 10));
  const want = N * ROUNDS * CHUNK;
  console.log(JSON.stringify({
    name: 'signal-driven I/O, RLIMIT_SIGPENDING=${SIGPENDING}',
    operations: want,
    settled: Math.min(total, want),
    lost: Math.max(0, want - total) + wrongBytes,
    duplicated: extraBytes,
    fds: { before: fdsBefore, after: openFds() },
    rss: { warm, end },
    seconds,
    extra: { fdCount: N, rounds: ROUNDS, overflows: overflowEvents, countedOverflows: counts.overflows, rescans: counts.rescans, signals: counts.signals, events: counts.events, emptyEvents, unread, limit },
    handles: { before: handlesBefore, after: handles() },
    pending,
    writer: exit,
  }));
`;

it(`signal-driven I/O: ${FDS} fds x ${ROUNDS} rounds under RLIMIT_SIGPENDING=${SIGPENDING}, every byte read once through overflow and rescan`, () => {
  const r = runChild(child(distEntry()), { execArgv: ['--expose-gc'], timeout: FULL ? 1_000_000 : 60_000 });
  expect(r.stderr).toBe('');
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  const out = JSON.parse(r.stdout) as SoakReport & {
    extra: Record<string, number>;
    handles: { before: unknown; after: unknown };
    pending: string[];
    writer: { code: number | null; signal: string | null };
  };
  const { handles, pending, writer, ...figures } = out;
  report(figures);
  expect(writer).toEqual({ code: 0, signal: null });
  expect(out.extra.limit).toBe(SIGPENDING);
  expect(out.lost).toBe(0);
  expect(out.duplicated).toBe(0);
  expect(out.settled).toBe(out.operations);
  expect(out.extra.unread).toBe(0);
  // Every round overflowed (the child was stopped while N > 16 fds got
  // data) and was recovered by a rescan.
  expect(out.extra.overflows).toBeGreaterThanOrEqual(ROUNDS);
  expect(out.extra.rescans).toBeGreaterThanOrEqual(ROUNDS);
  // At most 16 real-time signals and one SIGIO a round: the rest of the
  // events were never queued, and the rescans found them.
  expect(out.extra.signals).toBeLessThanOrEqual(ROUNDS * (SIGPENDING + 1));
  expect(pending).toEqual([]);
  expect(out.fds.after).toBe(out.fds.before);
  expect(handles.after).toEqual(handles.before);
  if (FULL) expect(out.rss.end - out.rss.warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
});
