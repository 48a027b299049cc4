/**
 * Soak of io_uring (lib/async/ring.ts): 100,000 operations — reads and
 * writes on pipes and socketpairs, polls, kernel timeouts, reads of a
 * regular file — a random 20% of them aborted at a random moment, and the
 * pipes, socketpairs and files they target closed at random moments while
 * operations on them are in flight.
 *
 * What must hold: every promise settles, resolved or rejected with an error
 * that has one of the `code`s its situation allows; a completed read's bytes
 * are the stream's next bytes (nothing lost, doubled or altered) and nothing
 * lands past them, and a rejected read leaves its buffer untouched; a
 * stream closed gracefully delivers every byte written to it; the rings
 * close cleanly, with nothing pinned, and fds and watchers back at baseline.
 *
 * The work goes in rounds: a round opens its pipes, socketpairs and a file,
 * and the next round opens new ones only once every operation of the last
 * has settled. So an fd number closed mid-round is never reused while an
 * operation aimed at it may still be submitted: that would be the caller's
 * bug (as with any syscall on a stale number), not the ring's.
 *
 * Random choices come from IOMODES_SOAK_SEED (a fresh seed otherwise),
 * which the report names.
 */
import { describe, expect, it } from 'vitest';
import { close, debugCounters, ioUringAvailable, open, pipe, POLL, Ring, socketpair } from '../../lib/index.js';
import { mayskip, tmpFile } from '../helpers/index.js';
import { FULL, nativeHandles, openFds, report, rssMiB, RSS_GROWTH_LIMIT_MIB, scaled, settle, SEED, seededRandom } from './harness.js';



const rand = seededRandom(SEED);
/** An integer in [0, n). */
const below = (n: number): number => Math.floor(rand() * n);

const OPERATIONS = scaled(100_000, 5000);
const ABORTED = 0.2; // the share of operations given a signal that aborts
const LINKED_TIMEOUT = 0.05; // the share given a short `timeoutMs` as well
const CHANNELS = 24; // pipes and socketpairs per round
const MAX_CHUNK = 4096;
const FILE_SIZE = 1 << 20;
const SENTINEL = 0xa5;
const STUCK_MS = 10_000; // a round takes milliseconds: one this long has an operation that never settles // what a read buffer holds before the read

// The codes each kind of operation may reject with here: aborted (ABORT_ERR),
// its linked timeout ran out (ETIME), submitted after its fd was closed
// (EBADF), or a write whose reader went away (EPIPE, ECONNRESET).
const READ_CODES = ['ABORT_ERR', 'ETIME', 'EBADF'];
const WRITE_CODES = ['ABORT_ERR', 'ETIME', 'EBADF', 'EPIPE', 'ECONNRESET'];
const TIMEOUT_CODES = ['ABORT_ERR'];

/** Byte `p` of channel `id`'s stream. */
const streamByte = (id: number, p: number): number => (id * 131 + p * 7 + (p >>> 9)) & 0xff;
/** Byte `p` of the test file. */
const fileByte = (p: number): number => (p ^ (p >>> 8) ^ (p >>> 16)) & 0xff;

/** Everything the soak counts. */
const tally = {
  started: 0,
  resolved: 0,
  rejected: 0,
  aborts: 0, // signals that fired
  abortedButCompleted: 0, // aborted too late: resolved with the result
  codes: {} as Record<string, number>,
  unexpected: [] as string[], // a rejection without an allowed code
  corrupted: 0, // a read whose bytes are not the stream's (or file's) next ones
  spilled: 0, // a read that wrote past the bytes it reported
  touched: 0, // a rejected read that changed its buffer anyway
  lostBytes: 0, // bytes written to a gracefully closed stream and never read
  badPoll: 0, // a poll that resolved without a ready bit
  earlyTimeouts: 0, // a kernel timeout that ended before its time
  closedMidFlight: 0, // channels and files closed at a random moment while operations on them were in flight
};

type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

/** Counts `promise` in, and turns its settlement into an outcome; a code not in `allowed` is recorded. */
function track<T>(what: string, promise: Promise<T>, allowed: readonly string[]): Promise<Outcome<T>> {
  tally.started++;
  return promise.then(
    (value) => {
      tally.resolved++;
      return { ok: true, value };
    },
    (error: unknown) => {
      tally.rejected++;
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code !== 'string' || !allowed.includes(code)) {
        if (tally.unexpected.length < 20) tally.unexpected.push(`${what}: ${String(code)} ${String(error)}`);
      }
      const key = typeof code === 'string' ? code : 'none';
      tally.codes[key] = (tally.codes[key] ?? 0) + 1;
      return { ok: false, code: key };
    },
  );
}

/**
 * The options of one operation: for a random 20%, a signal that aborts at a
 * random moment — before the call, right after it (before the ring submits),
 * in a microtask (just after), on the next loop turn, or a few ms later.
 * Call `armed()` once the operation has started.
 */
function plan(linkedTimeout: boolean): { options: { signal?: AbortSignal; timeoutMs?: number }; armed: () => void } {
  const options: { signal?: AbortSignal; timeoutMs?: number } = {};
  if (linkedTimeout && rand() < LINKED_TIMEOUT) options.timeoutMs = 1 + below(5);
  if (rand() >= ABORTED) return { options, armed: () => {} };
  const controller = new AbortController();
  options.signal = controller.signal;
  const abort = (): void => {
    tally.aborts++;
    controller.abort();
  };
  const moment = below(5);
  if (moment === 0) abort();
  return {
    options,
    armed: () => {
      if (moment === 1) abort();
      else if (moment === 2) queueMicrotask(abort);
      else if (moment === 3) setImmediate(abort);
      else if (moment === 4) setTimeout(abort, below(4));
    },
  };
}

/** One pipe or socketpair: written at one end, read at the other. */
interface Channel {
  id: number;
  kind: 'pipe' | 'socketpair';
  readFd: number;
  writeFd: number;
  readOpen: boolean;
  writeOpen: boolean;
  /** Closed when the writer is done (so every byte must arrive), or else both ends at a random moment. */
  graceful: boolean;
  written: number;
  read: number;
  /** Operations in flight on it, to tell a close mid-flight. */
  inFlight: number;
}

let nextChannel = 0;

/** The fds rounds have opened and not closed yet: a round that fails leaves them for the test to close. */
const roundFds = new Set<number>();

function opened<T extends number[]>(...fds: T): T {
  for (const fd of fds) roundFds.add(fd);
  return fds;
}

function closeFd(fd: number): void {
  roundFds.delete(fd);
  close(fd);
}

function openChannel(): Channel {
  const kind = rand() < 0.5 ? 'pipe' : 'socketpair';
  const [readFd, writeFd] = opened(...(kind === 'pipe' ? pipe() : socketpair()));
  return { id: nextChannel++, kind, readFd, writeFd, readOpen: true, writeOpen: true, graceful: rand() < 0.5, written: 0, read: 0, inFlight: 0 };
}

/** Closes both ends, in a random order (the read end first makes writes fail; the write end first ends reads). */
function closeChannel(ch: Channel): void {
  if (ch.inFlight > 0) tally.closedMidFlight++;
  const ends: ('read' | 'write')[] = rand() < 0.5 ? ['read', 'write'] : ['write', 'read'];
  for (const end of ends) {
    if (end === 'read' && ch.readOpen) {
      ch.readOpen = false;
      closeFd(ch.readFd);
    } else if (end === 'write' && ch.writeOpen) {
      ch.writeOpen = false;
      closeFd(ch.writeFd);
    }
  }
}

/** Checks a resolved read of `n` into `buf` (of `length` asked) against `expected(k)`, the k-th byte it should hold. */
function checkRead(buf: Buffer, n: number, length: number, expected: (k: number) => number): void {
  let bad = false;
  for (let k = 0; k < n && !bad; k++) bad = buf[k] !== expected(k);
  if (bad) tally.corrupted++;
  for (let k = n; k < length; k++) {
    if (buf[k] !== SENTINEL) {
      tally.spilled++;
      break;
    }
  }
}

/** Checks that a rejected read left its buffer as it was. */
function checkUntouched(buf: Buffer, length: number): void {
  for (let k = 0; k < length; k++) {
    if (buf[k] !== SENTINEL) {
      tally.touched++;
      return;
    }
  }
}

/** Writes the channel's stream in random chunks; a graceful channel then closes its write end. */
async function writer(ring: Ring, ch: Channel, writes: number): Promise<void> {
  const buf = Buffer.alloc(MAX_CHUNK);
  for (let i = 0; i < writes && ch.writeOpen; i++) {
    const length = 1 + below(MAX_CHUNK);
    for (let k = 0; k < length; k++) buf[k] = streamByte(ch.id, ch.written + k);
    const { options, armed } = plan(true);
    const op = ch.kind === 'pipe' ? ring.write(ch.writeFd, buf, { ...options, length }) : ring.send(ch.writeFd, buf, { ...options, length });
    armed();
    ch.inFlight++;
    const r = await track(`${ch.kind} write`, op, WRITE_CODES);
    ch.inFlight--;
    if (r.ok) {
      ch.written += r.value;
      if (options.signal?.aborted) tally.abortedButCompleted++;
    } else if (r.code !== 'ABORT_ERR' && r.code !== 'ETIME') break; // closed under it
  }
  if (ch.graceful && ch.writeOpen) {
    ch.writeOpen = false;
    closeFd(ch.writeFd);
  }
}

/** Reads the channel until end of stream (or until it is closed), checking every byte. */
async function reader(ring: Ring, ch: Channel): Promise<void> {
  const buf = Buffer.alloc(MAX_CHUNK);
  while (ch.readOpen) {
    const length = 1 + below(MAX_CHUNK);
    buf.fill(SENTINEL, 0, length);
    const { options, armed } = plan(true);
    const op = ch.kind === 'pipe' ? ring.read(ch.readFd, buf, { ...options, length }) : ring.recv(ch.readFd, buf, { ...options, length });
    armed();
    ch.inFlight++;
    const r = await track(`${ch.kind} read`, op, READ_CODES);
    ch.inFlight--;
    if (r.ok) {
      if (options.signal?.aborted) tally.abortedButCompleted++;
      const from = ch.read;
      checkRead(buf, r.value, length, (k) => streamByte(ch.id, from + k));
      ch.read += r.value;
      if (r.value === 0) break; // end of stream
    } else {
      checkUntouched(buf, length);
      if (r.code === 'EBADF') break;
    }
  }
  if (ch.graceful && ch.readOpen) {
    // Every byte the writer was told it wrote must have come.
    tally.lostBytes += ch.written - ch.read;
    ch.readOpen = false;
    closeFd(ch.readFd);
  }
}

/** A few one-shot polls on the read end: each resolves with a ready bit, or is aborted, or meets a closed fd. */
async function poller(ring: Ring, ch: Channel, polls: number): Promise<void> {
  for (let i = 0; i < polls && ch.readOpen; i++) {
    const { options, armed } = plan(true);
    const op = ring.poll(ch.readFd, POLL.IN, options);
    armed();
    ch.inFlight++;
    const r = await track('poll', op, READ_CODES);
    ch.inFlight--;
    if (r.ok) {
      if ((r.value & (POLL.IN | POLL.HUP | POLL.ERR | POLL.RDHUP)) === 0) tally.badPoll++;
      if (r.value & (POLL.HUP | POLL.ERR)) break; // for good: polling again would return at once
    } else if (r.code === 'EBADF') break;
    await new Promise((resolve) => setImmediate(resolve)); // let the reader take the data
  }
}

/** Reads at random positions of a regular file, checking the bytes. */
async function fileReader(ring: Ring, file: { fd: number; open: boolean; inFlight: number }, reads: number): Promise<void> {
  const buf = Buffer.alloc(MAX_CHUNK);
  for (let i = 0; i < reads && file.open; i++) {
    const length = 1 + below(MAX_CHUNK);
    const position = below(FILE_SIZE + MAX_CHUNK); // sometimes past the end: a short read, or 0
    buf.fill(SENTINEL, 0, length);
    const { options, armed } = plan(true);
    const op = ring.read(file.fd, buf, { ...options, length, position });
    armed();
    file.inFlight++;
    const r = await track('file read', op, READ_CODES);
    file.inFlight--;
    if (r.ok) {
      if (options.signal?.aborted) tally.abortedButCompleted++;
      const expectedLength = Math.max(0, Math.min(length, FILE_SIZE - position));
      if (r.value !== expectedLength) tally.corrupted++;
      checkRead(buf, r.value, length, (k) => fileByte(position + k));
    } else {
      checkUntouched(buf, length);
      if (r.code === 'EBADF') break;
    }
  }
}

/** Kernel timeouts of 0-3 ms: each ends no earlier than asked, or is aborted. */
async function timeouts(ring: Ring, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const ms = below(4);
    const { options, armed } = plan(false);
    const t0 = performance.now();
    const op = ring.timeout(ms, options);
    armed();
    const r = await track('timeout', op, TIMEOUT_CODES);
    // Never early; 1 ms of slack for the two clocks' rounding.
    if (r.ok && performance.now() - t0 < ms - 1) tally.earlyTimeouts++;
  }
}

/**
 * One round: CHANNELS pipes and socketpairs, each with a writer, a reader
 * and a poller; a file read through `ring` and closed at a random moment;
 * file reads and timeouts on `small`, a ring too small for them, so they
 * also wait in its queue (and are aborted there).
 */
async function round(ring: Ring, small: Ring, path: string, smallFile: number): Promise<void> {
  // Everything the round opens, it opens first: a number closed mid-round
  // is then never reused while an operation aimed at it may be submitted.
  const file = { fd: opened(open(path))[0], open: true, inFlight: 0 };
  const channels = Array.from({ length: CHANNELS }, openChannel);
  const work: Promise<void>[] = [];
  for (const ch of channels) {
    work.push(writer(ring, ch, 1 + below(20)), reader(ring, ch), poller(ring, ch, below(4)));
    if (!ch.graceful) {
      // Close both ends at a random moment: now (before the ring has even
      // submitted their first operations), on the next turn, or a few ms on.
      const moment = below(3);
      if (moment === 0) closeChannel(ch);
      else if (moment === 1) setImmediate(() => closeChannel(ch));
      else setTimeout(() => closeChannel(ch), below(5));
    }
  }
  work.push(fileReader(ring, file, 1 + below(20)), fileReader(ring, file, 1 + below(20)));
  work.push(
    new Promise<void>((resolve) =>
      setTimeout(() => {
        if (file.inFlight > 0) tally.closedMidFlight++;
        file.open = false;
        closeFd(file.fd);
        resolve();
      }, below(3)),
    ),
  );
  const smallFileState = { fd: smallFile, open: true, inFlight: 0 };
  work.push(fileReader(small, smallFileState, 1 + below(10)), fileReader(small, smallFileState, 1 + below(10)), timeouts(small, 1 + below(5)), timeouts(small, 1 + below(5)));
  // An operation that never settles would hang the round: name what is stuck instead.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const open = channels.filter((ch) => ch.inFlight > 0).map((ch) => `${ch.kind} ${ch.id} (${ch.graceful ? 'graceful' : 'abrupt'}, read end ${ch.readOpen ? 'open' : 'closed'}, write end ${ch.writeOpen ? 'open' : 'closed'}): ${ch.inFlight} in flight`);
      // The small ring is often full: its cancels' and linked timeouts'
      // completions may overflow its CQ (see the 'full ring' test).
      reject(new Error(`a round did not settle in ${STUCK_MS} ms: ring.pending ${ring.pending}, small.pending ${small.pending}; ${open.join('; ')}`));
    }, STUCK_MS);
  });
  try {
    await Promise.race([Promise.all(work), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

const probe = ioUringAvailable();
const haveRing = probe.ok || mayskip(`io_uring: ${probe.ok ? '' : probe.detail}`);

describe.runIf(haveRing)('soak: io_uring with random aborts and closes', () => {
  it(`${OPERATIONS.toLocaleString('en')} operations, 20% aborted, their fds closed under them: each settles once, no byte lost or altered`, async () => {
    const content = Buffer.alloc(FILE_SIZE);
    for (let p = 0; p < FILE_SIZE; p++) content[p] = fileByte(p);
    const path = tmpFile(content);
    const fdsBefore = openFds();
    const handlesBefore = nativeHandles();
    const leakedBefore = debugCounters().leakedOnTeardown;
    const ring = Ring.create();
    const small = Ring.create({ entries: 2 }); // 4 operations in the kernel at once; more queue
    const smallFile = open(path);
    let warm = 0;
    let seconds = 0;
    let rounds = 0;
    const t0 = performance.now();
    try {
      while (tally.started < OPERATIONS) {
        await round(ring, small, path, smallFile);
        rounds++;
        expect(ring.pending + small.pending, 'every operation of the round settled').toBe(0);
        // After warm-up (JIT, the bounce-block caches, the heap at its
        // working size: measured, RSS still climbs through the first 10%).
        if (warm === 0 && tally.started >= OPERATIONS / 4) warm = rssMiB();
      }
      seconds = (performance.now() - t0) / 1000;
    } finally {
      // The rings first: closing cancels what is in flight, and waits for it.
      small.close();
      ring.close();
      close(smallFile);
      for (const fd of roundFds) closeFd(fd); // a round that failed left these open
    }
    const pinned = nativeHandles().pinnedOps;
    await settle(() => openFds() === fdsBefore && nativeHandles().watchers === handlesBefore.watchers);
    const fdsAfter = openFds();
    const handlesAfter = nativeHandles();
    const end = rssMiB();
    const settled = tally.resolved + tally.rejected;
    report({
      name: 'io_uring aborts and closes',
      operations: tally.started,
      settled,
      lost: tally.lostBytes + (tally.started - settled),
      duplicated: tally.corrupted,
      fds: { before: fdsBefore, after: fdsAfter },
      rss: { warm, end },
      seconds,
      extra: {
        seed: SEED,
        rounds,
        channels: nextChannel,
        resolved: tally.resolved,
        aborts: tally.aborts,
        abortedButCompleted: tally.abortedButCompleted,
        closedMidFlight: tally.closedMidFlight,
        codes: JSON.stringify(tally.codes),
        spilled: tally.spilled,
        touched: tally.touched,
        badPoll: tally.badPoll,
        earlyTimeouts: tally.earlyTimeouts,
      },
    });
    expect(tally.unexpected, 'rejections without an allowed code').toEqual([]);
    expect(settled).toBe(tally.started);
    expect({ lostBytes: tally.lostBytes, corrupted: tally.corrupted, spilled: tally.spilled, touched: tally.touched, badPoll: tally.badPoll, earlyTimeouts: tally.earlyTimeouts }).toEqual({
      lostBytes: 0,
      corrupted: 0,
      spilled: 0,
      touched: 0,
      badPoll: 0,
      earlyTimeouts: 0,
    });
    // The soak did what it says: aborts reached operations, and fds closed under them.
    expect(tally.codes.ABORT_ERR ?? 0).toBeGreaterThan(0);
    expect(tally.closedMidFlight).toBeGreaterThan(0);
    expect(pinned, 'bounce buffers still pinned after close').toBe(0);
    expect(debugCounters().leakedOnTeardown, 'buffers leaked by a close that timed out').toBe(leakedBefore);
    expect(fdsAfter).toBe(fdsBefore);
    expect(handlesAfter).toEqual(handlesBefore);
    if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, FULL ? 600_000 : 60_000);
  it('a full ring whose operations all end at once settles every one, though its own completions overflow the CQ', async () => {
    // Each operation posts one completion; the ring's own requests post
    // more: a linked timeout's, a cancel's. With the ring full, those
    // overflow the CQ, and the kernel keeps the excess (IORING_FEAT_NODROP)
    // until the process asks for completions with io_uring_enter.
    const BURSTS = scaled(200, 10);
    const fdsBefore = openFds();
    const handlesBefore = nativeHandles();
    const ring = Ring.create({ entries: 16 }); // 32 operations in the kernel at once
    const capacity = ring.info.cqEntries;
    const pipes = Array.from({ length: capacity }, () => pipe());
    let started = 0;
    let settled = 0;
    let stuck = 0;
    let warm = 0;
    const t0 = performance.now();
    try {
      for (let burst = 0; burst < BURSTS && stuck === 0; burst++) {
        // Reads of pipes nobody writes, each with a linked timeout (two
        // completions), half also aborted at about the same moment (a
        // cancel's completion too): all end together, posting up to three
        // times what the CQ holds.
        const controller = new AbortController();
        const ops = pipes.map(([readFd], i) => {
          started++;
          const options = i % 2 === 0 ? { timeoutMs: 5 } : { timeoutMs: 5, signal: controller.signal };
          return ring.read(readFd, Buffer.alloc(8), options).then(
            () => 'resolved',
            (error: { code?: string }) => error.code,
          );
        });
        setTimeout(() => controller.abort(), 5);
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([Promise.all(ops), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 3000)))]);
        clearTimeout(timer);
        if (outcome === null) {
          stuck = ring.pending;
          settled += capacity - stuck;
        } else {
          settled += capacity;
          // The aborted ones end by whichever came first.
          const wrong = outcome.filter((code, i) => !(code === 'ETIME' || (i % 2 === 1 && code === 'ABORT_ERR')));
          expect(wrong, 'reads ended by a linked timeout or an abort').toEqual([]);
        }
        if (burst === Math.floor(BURSTS / 10)) warm = rssMiB();
      }
    } finally {
      ring.close(); // waits for the kernel: what was stuck settles here
      for (const [readFd, writeFd] of pipes) {
        close(readFd);
        close(writeFd);
      }
    }
    await settle(() => openFds() === fdsBefore && nativeHandles().watchers === handlesBefore.watchers);
    const end = rssMiB();
    report({
      name: 'io_uring full ring, CQ overflow',
      operations: started,
      settled,
      lost: started - settled,
      duplicated: 0,
      fds: { before: fdsBefore, after: openFds() },
      rss: { warm, end },
      seconds: (performance.now() - t0) / 1000,
      extra: { capacity, stuck },
    });
    expect(stuck, `${stuck} of ${capacity} operations of a full ring never settled: completions the CQ overflowed into the kernel's list were never flushed (IORING_SQ_CQ_OVERFLOW, io_uring_enter with GETEVENTS)`).toBe(0);
    expect(settled).toBe(started);
    expect(openFds()).toBe(fdsBefore);
    expect(nativeHandles()).toEqual(handlesBefore);
    if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, FULL ? 600_000 : 60_000);
});
