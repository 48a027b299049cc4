/**
 * Soak of the coroutine hub (lib/coro/).
 *
 * - 10,000 tasks on 5,000 socketpairs ping-pong sequence-numbered messages
 *   through the hub for a minute, on the epoll and io_uring backends: every
 *   message must arrive once, in order, unaltered.
 * - 1,000,000 switches (sleep(0) among tasks, switchTo between greenlets),
 *   each in the order the design promises.
 * - 100,000 timers on the virtual clock, some cut short by withTimeout, some
 *   killed: each fires exactly once at its deadline or is cancelled exactly
 *   once, and all of them in deadline order.
 *
 * Random choices come from IOMODES_SOAK_SEED (a fresh seed otherwise), which
 * each report names, so a failure can be replayed.
 */
import { describe, expect, it } from 'vitest';
import { close, getrlimit, ioUringAvailable, setrlimit, socketpair } from '../../lib/index.js';
import { createHub, joinAll, read, run, sleep, spawn, switchTo, TimeoutError, useHub, withTimeout, write, type Instruction, type Task } from '../../lib/coro/index.js';
import { mayskip } from '../helpers/index.js';
import { FULL, nativeHandles, openFds, report, rssMiB, RSS_GROWTH_LIMIT_MIB, scaled, settle, SEED, seededRandom } from './harness.js';



/** An integer in [0, n). */
const below = (rand: () => number, n: number): number => Math.floor(rand() * n);

/**
 * Raises the soft fd limit to `needed` (within the hard limit) while `fn`
 * runs, and puts it back: a process may start with a low soft limit.
 */
async function withFdLimit<T>(needed: number, fn: () => Promise<T>): Promise<T> {
  const limit = getrlimit('nofile');
  expect(limit.hard, `RLIMIT_NOFILE's hard limit must allow ${needed} fds`).toBeGreaterThanOrEqual(needed);
  if (limit.soft >= needed) return fn();
  setrlimit('nofile', { soft: needed, hard: limit.hard });
  try {
    return await fn();
  } finally {
    setrlimit('nofile', limit);
  }
}

/** The JS heap in use, in MiB (after the GC rssMiB() just ran): to tell a leak from RSS the heap keeps. */
function heapMiB(): number {
  return +(process.memoryUsage().heapUsed / (1 << 20)).toFixed(1);
}

/** What must be back at baseline once a scenario has closed everything. */
function baseline(): { fds: number; handles: ReturnType<typeof nativeHandles> } {
  return { fds: openFds(), handles: nativeHandles() };
}

/** Waits (bounded) for watchers closed on the loop to let go of their fds, then says what is left. */
async function restored(before: ReturnType<typeof baseline>): Promise<ReturnType<typeof baseline>> {
  await settle(() => openFds() === before.fds && nativeHandles().watchers === before.handles.watchers);
  return baseline();
}

// ------------------------------------------------------------------ ping-pong

const MESSAGE = 64; // bytes: pair (u32), seq (u32), then a payload derived from both
const HEADER = 8;
const MAX_BURST = 4; // messages a pinger sends before it reads the replies

/** The payload byte `k` of message `seq` of pair `pair`; a reply carries its complement. */
const payloadByte = (pair: number, seq: number, k: number): number => (pair * 31 + seq * 7 + k * 13) & 0xff;

function encode(buf: Buffer, at: number, pair: number, seq: number): void {
  buf.writeUInt32LE(pair, at);
  buf.writeUInt32LE(seq, at + 4);
  for (let k = HEADER; k < MESSAGE; k++) buf[at + k] = payloadByte(pair, seq, k);
}

/** What the two ends of every pair saw, summed. */
interface Tally {
  sent: number; // messages pingers sent
  echoed: number; // messages pongers received in order and answered
  replied: number; // replies pingers received in order
  lost: number; // sequence numbers skipped
  duplicated: number; // sequence numbers seen again
  corrupted: number; // wrong pair or payload
}

/**
 * Checks message `seq` (as read at `at`) against what `expected` says comes
 * next; counts what is wrong in `tally`; returns the sequence number read.
 */
function check(buf: Buffer, at: number, pair: number, expected: number, reply: boolean, tally: Tally): number {
  const seq = buf.readUInt32LE(at + 4);
  if (seq < expected) tally.duplicated++;
  else if (seq > expected) tally.lost += seq - expected;
  let intact = buf.readUInt32LE(at) === pair;
  for (let k = HEADER; k < MESSAGE && intact; k++) intact = buf[at + k] === (reply ? ~payloadByte(pair, seq, k) & 0xff : payloadByte(pair, seq, k));
  if (!intact) tally.corrupted++;
  return seq;
}

/** Reads exactly `length` bytes into `buf`; false at end of stream. */
function* readFully(fd: number, buf: Buffer, length: number): Generator<Instruction, boolean, unknown> {
  for (let got = 0; got < length; ) {
    const n = yield* read(fd, buf, got, length - got);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

/** Sends bursts of 1 to MAX_BURST messages and checks each reply, until `deadline`; then closes its end. */
function* pinger(pair: number, fd: number, deadline: number, tally: Tally): Generator<Instruction, void, unknown> {
  const rand = seededRandom(SEED ^ (pair * 2654435761));
  const out = Buffer.alloc(MESSAGE * MAX_BURST);
  const replies = Buffer.alloc(MESSAGE * MAX_BURST);
  const hub = useHub();
  let seq = 0;
  try {
    while (hub.now() < deadline) {
      const burst = 1 + below(rand, MAX_BURST);
      for (let i = 0; i < burst; i++) encode(out, i * MESSAGE, pair, seq + i);
      yield* write(fd, out, 0, burst * MESSAGE);
      tally.sent += burst;
      if (!(yield* readFully(fd, replies, burst * MESSAGE))) throw new Error(`pair ${pair}: the ponger hung up`);
      for (let i = 0; i < burst; i++) {
        check(replies, i * MESSAGE, pair, seq, true, tally);
        tally.replied++;
        seq++;
      }
    }
  } finally {
    close(fd); // the ponger reads end of stream, and ends
  }
}

/** Answers every whole message with its complement, in order, until end of stream; then closes its end. */
function* ponger(pair: number, fd: number, tally: Tally): Generator<Instruction, void, unknown> {
  const buf = Buffer.alloc(MESSAGE * MAX_BURST * 2);
  let have = 0;
  let expected = 0;
  try {
    for (;;) {
      const n = yield* read(fd, buf, have, buf.length - have);
      if (n === 0) break;
      have += n;
      const whole = have - (have % MESSAGE);
      for (let at = 0; at < whole; at += MESSAGE) {
        expected = check(buf, at, pair, expected, false, tally) + 1;
        for (let k = HEADER; k < MESSAGE; k++) buf[at + k] = ~buf[at + k]! & 0xff;
        tally.echoed++;
      }
      if (whole > 0) yield* write(fd, buf, 0, whole);
      buf.copyWithin(0, whole, have); // a partial message waits for the rest
      have -= whole;
    }
    if (have !== 0) tally.lost++; // a message cut short by end of stream
  } finally {
    close(fd);
  }
}

const uring = ioUringAvailable();
const BACKENDS = ['epoll', ...(uring.ok || mayskip(`io_uring: ${uring.ok ? '' : uring.detail}`) ? (['io_uring'] as const) : [])] as const;

describe.each(BACKENDS)('soak: tasks on socketpairs, %s backend', (backend) => {
  const PAIRS = scaled(5000, 100);
  const SECONDS = scaled(60, 1);

  it(`${2 * PAIRS} tasks ping-pong through the hub for ${SECONDS} s: every message once, in order, unaltered`, async () => {
    await withFdLimit(2 * PAIRS + 512, async () => {
      const before = baseline();
      const hub = createHub({ backend });
      const tally: Tally = { sent: 0, echoed: 0, replied: 0, lost: 0, duplicated: 0, corrupted: 0 };
      const tasks: Task[] = [];
      let warm = 0;
      let heapWarm = 0;
      let seconds = 0;
      try {
        const t0 = hub.now();
        const deadline = t0 + SECONDS * 1000;
        for (let pair = 0; pair < PAIRS; pair++) {
          const [a, b] = socketpair({ nonblocking: true });
          tasks.push(spawn(pinger, pair, a, deadline, tally), spawn(ponger, pair, b, tally));
        }
        // RSS once every task has run a while: what grows after that is a leak.
        const warmUp = spawn(function* () {
          yield* sleep(SECONDS * 100);
          warm = rssMiB();
          heapWarm = heapMiB();
        });
        await joinAll([...tasks, warmUp], { raiseError: true });
        seconds = (hub.now() - t0) / 1000;
        expect(hub.counts).toMatchObject({ tasks: 0, parked: 0, ready: 0, timers: 0, waiters: 0, registrations: 0 });
      } finally {
        for (const task of tasks) if (!task.done) task.kill(); // an assertion failed: let nothing run on
        await settle(() => tasks.every((task) => task.done));
        hub.close();
      }
      const after = await restored(before);
      const end = rssMiB();
      const heapEnd = heapMiB();
      const lost = tally.lost + (tally.sent - tally.replied);
      report({
        name: `coro ping-pong (${backend})`,
        operations: tally.sent,
        settled: tally.replied,
        lost,
        duplicated: tally.duplicated,
        fds: { before: before.fds, after: after.fds },
        rss: { warm, end },
        seconds,
        extra: { seed: SEED, tasks: 2 * PAIRS, echoed: tally.echoed, corrupted: tally.corrupted, roundTripsPerTask: +(tally.replied / PAIRS).toFixed(1), heapWarmMiB: heapWarm, heapEndMiB: heapEnd },
      });
      expect(tally.sent, 'every pair exchanged messages').toBeGreaterThanOrEqual(PAIRS);
      expect({ lost, duplicated: tally.duplicated, corrupted: tally.corrupted }).toEqual({ lost: 0, duplicated: 0, corrupted: 0 });
      expect(tally.echoed).toBe(tally.sent);
      expect(tally.replied).toBe(tally.sent);
      expect(after).toEqual(before);
      if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
    });
  }, FULL ? 600_000 : 60_000);
});

// ------------------------------------------------------------------ switches

describe('soak: switches', () => {
  const SWITCHES = scaled(1_000_000, 50_000);
  const RING = 10; // tasks taking turns with sleep(0)

  /**
   * Half the switches are sleep(0) among RING tasks, which must take turns in
   * FIFO order; the other half are switchTo between two greenlets passing a
   * counter, which each must receive incremented. Returns what went wrong.
   */
  async function switches(total: number): Promise<{ planned: number; switches: number; outOfTurn: number; wrongValue: number }> {
    let switched = 0;
    let outOfTurn = 0;
    let wrongValue = 0;
    const perTask = Math.ceil(total / 2 / RING);
    let last = RING - 1;
    const turnTakers = Array.from({ length: RING }, (_, id) =>
      spawn(function* () {
        for (let i = 0; i < perTask; i++) {
          if (last !== (id + RING - 1) % RING) outOfTurn++; // the task before it in the ring ran last
          last = id;
          yield* sleep(0);
          switched++;
        }
      }),
    );
    const exchanges = Math.ceil(total / 4); // two switches per exchange
    await spawn(function* () {
      // greenlet's pattern: `a` returns to its parent (this task) when done,
      // and `b`, left waiting in switchTo, is killed.
      const a: Task = spawn(function* () {
        yield* switchTo(b); // starts b, which switches straight back
        switched++;
        for (let n = 0; n < exchanges; n++) {
          const got = yield* switchTo<number>(b, n);
          switched++;
          if (got !== n + 1) wrongValue++;
        }
      });
      const b: Task = spawn(function* () {
        let got = yield* switchTo<number>(a);
        for (let n = 0; ; n++) {
          switched++;
          if (got !== n) wrongValue++;
          got = yield* switchTo<number>(a, got + 1);
        }
      });
      yield* switchTo(a);
      yield* b.kill();
    });
    await joinAll(turnTakers, { raiseError: true });
    // Every sleep(0), and every switchTo that came back: a's first (b's
    // hand-shake), then one each way per exchange.
    const planned = RING * perTask + 1 + 2 * exchanges;
    return { planned, switches: switched, outOfTurn, wrongValue };
  }

  it(`${SWITCHES.toLocaleString('en')} switches, each in the order the design promises`, async () => {
    const before = baseline();
    const hub = createHub();
    let warm = 0;
    let result = { planned: 0, switches: 0, outOfTurn: 0, wrongValue: 0 };
    let seconds = 0;
    try {
      await switches(SWITCHES / 10); // warm-up: JIT, the ready queue at size
      warm = rssMiB();
      const t0 = performance.now();
      result = await switches(SWITCHES);
      seconds = (performance.now() - t0) / 1000;
      expect(hub.counts).toMatchObject({ tasks: 0, parked: 0, ready: 0, timers: 0, waiters: 0 });
    } finally {
      hub.close();
    }
    const after = await restored(before);
    const end = rssMiB();
    report({
      name: 'coro switches',
      operations: result.planned,
      settled: result.switches,
      lost: Math.max(0, result.planned - result.switches),
      duplicated: result.outOfTurn + result.wrongValue,
      fds: { before: before.fds, after: after.fds },
      rss: { warm, end },
      seconds,
      extra: { seed: SEED, outOfTurn: result.outOfTurn, wrongValue: result.wrongValue },
    });
    expect(result.planned).toBeGreaterThanOrEqual(SWITCHES); // both halves round up to whole turns and exchanges
    expect(result.switches).toBe(result.planned);
    expect({ outOfTurn: result.outOfTurn, wrongValue: result.wrongValue }).toEqual({ outOfTurn: 0, wrongValue: 0 });
    expect(after).toEqual(before);
    if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, FULL ? 600_000 : 60_000);
});

// ------------------------------------------------------------------ timers

describe('soak: timers on the virtual clock', () => {
  const TIMERS = scaled(100_000, 5000);
  const MAX_MS = 10_000; // a wide spread of deadlines, with ties

  // How each timer ended: the outcome, when (virtual ms), and how often.
  const FIRED = 1;
  const TIMED_OUT = 2;
  const KILLED = 3;

  /**
   * Runs `n` timers under run(): 80% plain sleeps, 10% under a withTimeout,
   * 10% killed by another task at a random moment (before or after they fire;
   * never at the same moment, which would make the outcome a tie-break).
   * Returns the mismatches against the outcome each plan makes certain.
   */
  async function timers(n: number, rand: () => number): Promise<{ fired: number; cancelled: number; lost: number; duplicated: number; wrong: number; outOfOrder: number }> {
    const hub = useHub();
    const t0 = hub.now(); // the virtual clock goes on from the warm-up's end
    const ms = new Int32Array(n);
    const timeoutAt = new Int32Array(n).fill(-1);
    const killAt = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      ms[i] = 1 + below(rand, MAX_MS);
      const plan = rand();
      // A moment before or after the timer's, never the same: a tie would
      // leave the outcome to a tie-break.
      const other = (from: number): number => {
        let when = from + below(rand, 2 * ms[i]!);
        if (when === ms[i]) when++;
        return when;
      };
      if (plan < 0.1) timeoutAt[i] = other(1);
      else if (plan < 0.2) killAt[i] = other(0);
    }
    const killOrder = new Int32Array(n);
    const outcome = new Uint8Array(n);
    const at = new Float64Array(n);
    const times = new Uint8Array(n);
    // Event order: each event's key is (virtual time, the order its timer was
    // set). Targets set theirs first, in index order; killers after, in theirs.
    let lastTime = -1;
    let lastOrder = -1;
    let outOfOrder = 0;
    const log = (i: number, kind: number, order: number): void => {
      const now = hub.now() - t0;
      outcome[i] = kind;
      at[i] = now;
      times[i]!++;
      if (now < lastTime || (now === lastTime && order <= lastOrder)) outOfOrder++;
      lastTime = now;
      lastOrder = order;
    };
    await run(function* () {
      const targets: Task[] = [];
      for (let i = 0; i < n; i++) {
        targets.push(
          spawn(function* (): Generator<Instruction, void, unknown> {
            try {
              if (timeoutAt[i]! >= 0) yield* withTimeout(timeoutAt[i]!, sleep(ms[i]!));
              else yield* sleep(ms[i]!);
              log(i, FIRED, i);
            } catch (err) {
              if (!(err instanceof TimeoutError)) throw err;
              log(i, TIMED_OUT, i);
            } finally {
              if (outcome[i] === 0) log(i, KILLED, n + killOrder[i]!);
            }
          }),
        );
      }
      const killers: Task[] = [];
      for (let i = 0; i < n; i++) {
        if (killAt[i]! < 0) continue;
        killOrder[i] = killers.length;
        killers.push(
          spawn(function* () {
            yield* sleep(killAt[i]!);
            targets[i]!.kill(); // a no-op on a timer that fired already
          }),
        );
      }
      yield* joinAll([...targets, ...killers], { raiseError: true });
    });
    let lost = 0;
    let duplicated = 0;
    let wrong = 0;
    let fired = 0;
    let cancelled = 0;
    for (let i = 0; i < n; i++) {
      if (times[i] === 0) lost++;
      if (times[i]! > 1) duplicated += times[i]! - 1;
      let expected: [number, number] = [FIRED, ms[i]!];
      if (timeoutAt[i]! >= 0 && timeoutAt[i]! < ms[i]!) expected = [TIMED_OUT, timeoutAt[i]!];
      if (killAt[i]! >= 0 && killAt[i]! < ms[i]!) expected = [KILLED, killAt[i]!];
      // At its deadline exactly: the virtual clock jumps to each timer's deadline.
      if (outcome[i] !== expected[0] || at[i] !== expected[1]) wrong++;
      if (outcome[i] === FIRED) fired++;
      else if (outcome[i] !== 0) cancelled++;
    }
    return { fired, cancelled, lost, duplicated, wrong, outOfOrder };
  }

  it(`${TIMERS.toLocaleString('en')} timers, some cut short or killed: each fires or is cancelled exactly once, in deadline order`, async () => {
    const before = baseline();
    const hub = createHub({ clock: 'virtual' });
    const rand = seededRandom(SEED);
    let warm = 0;
    let seconds = 0;
    let result = { fired: 0, cancelled: 0, lost: 0, duplicated: 0, wrong: 0, outOfOrder: 0 };
    try {
      // Warm-up at full size: the heap grows to hold every task and timer
      // once; a second round as large must not grow it further.
      await timers(TIMERS, rand);
      warm = rssMiB();
      const t0 = performance.now();
      result = await timers(TIMERS, rand);
      seconds = (performance.now() - t0) / 1000;
      // A cancelled timer left in the heap would show here.
      expect(hub.counts).toMatchObject({ tasks: 0, parked: 0, ready: 0, timers: 0, waiters: 0 });
    } finally {
      hub.close();
    }
    const after = await restored(before);
    const end = rssMiB();
    report({
      name: 'coro timers (virtual clock)',
      operations: TIMERS,
      settled: result.fired + result.cancelled,
      lost: result.lost,
      duplicated: result.duplicated,
      fds: { before: before.fds, after: after.fds },
      rss: { warm, end },
      seconds,
      extra: { seed: SEED, fired: result.fired, cancelled: result.cancelled, wrongOutcome: result.wrong, outOfOrder: result.outOfOrder },
    });
    expect(result).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, outOfOrder: 0 });
    expect(result.fired + result.cancelled).toBe(TIMERS);
    expect(result.cancelled, 'some timers were cancelled').toBeGreaterThan(0);
    expect(after).toEqual(before);
    if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, FULL ? 600_000 : 60_000);
});
