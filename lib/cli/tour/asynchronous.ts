/**
 * Tour part `asynchronous`: operations handed to the kernel whole — with
 * io_uring, or where io_uring is refused the threadpool backend — while the
 * thread goes on with other work: 16 reads of a temp file in one
 * `io_uring_enter`, then a read of an empty pipe that a worker fills later.
 *
 * @internal
 * @module
 */
import { close, createAsyncIo, dropCache, open, pipe, residency } from '../../index.js';
import { now } from './peer.js';
import type { TourContext, TourPart } from './types.js';
import { dur, fig, mib, nextTurn, num, threadSpan, type ThreadSpan } from './util.js';

const CHUNK = 1 << 20;
const CHUNKS = 16;
/** The file the `asynchronous` and `direct` parts read. */
export const DATA_FILE = { name: 'data', size: CHUNK * CHUNKS };
const WRITE_AFTER_MS = 50;
/** The slice of other work done between two looks at the loop. */
const SLICE_MS = 0.5;

/** Does other work, in slices, each followed by a loop turn, until `promise` settles. */
async function workWhile(ctx: TourContext, promise: Promise<unknown>): Promise<{ ms: number; workMs: number; turns: number; thread: ThreadSpan | undefined }> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  let workMs = 0;
  let turns = 0;
  const t0 = now();
  const span = threadSpan();
  while (!done) {
    ctx.checkpoint();
    const s = now();
    while (now() - s < SLICE_MS); // other work: the thread is not waiting for the I/O
    // Counted at its nominal length: a slice the scheduler stretched did no more work.
    workMs += SLICE_MS;
    turns++;
    await nextTurn();
  }
  const thread = span();
  return { ms: now() - t0, workMs, turns, thread };
}

/**
 * The `asynchronous` part.
 *
 * @example
 * ```ts
 * const outcome = await asynchronous.run(ctx); // outcome.figure: { name: 'thread free during a pipe read', unit: '%', … }
 * ```
 */
export const asynchronous: TourPart = {
  name: 'asynchronous',
  model: 'asynchronous I/O',
  title: `${CHUNKS} reads of a ${mib(DATA_FILE.size)} file, then a pipe read, in flight while the thread works`,
  async run(ctx) {
    const path = ctx.file(DATA_FILE.name, DATA_FILE.size);
    const io = createAsyncIo();
    const fd = open(path, 'r');
    const [r, w] = pipe();
    try {
      const uring = io.backend === 'io_uring';
      const skipped = io.passedOver.find((p) => p.backend === 'io_uring');
      const fallback = uring ? null : `io_uring is not available here (${skipped?.reason ?? 'unknown'}: ${skipped?.detail ?? 'createAsyncIo passed it over'}); used the ${io.backend} backend instead`;
      await ctx.wait(ctx.peer.ready());

      // 1. The file, out of the page cache first, so the reads have a device to wait for.
      dropCache(fd);
      const cold = residency(fd).resident === 0;
      const buffers = Array.from({ length: CHUNKS }, () => Buffer.alloc(CHUNK));
      // One JS turn starts all of them: one io_uring_enter for the lot.
      const reads = Promise.all(buffers.map((buf, i) => io.read(fd, buf, { position: i * CHUNK })));
      const file = await workWhile(ctx, reads);
      const bytes = (await reads).reduce((sum, n) => sum + n, 0);
      if (bytes !== DATA_FILE.size) throw new Error(`read ${bytes} bytes, expected ${DATA_FILE.size}`);
      const mbps = bytes / 1e6 / (file.ms / 1000);
      const filePct = (100 * file.workMs) / file.ms;

      // 2. A pipe nobody has written to yet: the operation waits in the kernel (or a pool thread), not here.
      const buf = Buffer.alloc(64);
      const reading = io.read(r, buf);
      const completedAt = reading.then(() => now(), () => NaN);
      const wrote = ctx.peer.writeLater(w, WRITE_AFTER_MS, 'hello');
      const piped = await workWhile(ctx, reading);
      const n = await reading;
      const { at } = await ctx.wait(wrote);
      const pipePct = (100 * piped.workMs) / piped.ms;
      const t = piped.thread;
      const latencyUs = Math.max(0, ((await completedAt) - at) * 1000);

      const who = uring ? 'the kernel' : 'a pool thread';
      return {
        syscalls: uring ? ['io_uring_setup', 'io_uring_enter', 'read (eventfd)'] : ['pread64 ×16 (pool threads)', 'read (a pool thread)', 'write (eventfd)', 'read (eventfd)'],
        blocked: false,
        waited: uring ? 'the kernel held the reads; the thread worked on' : 'libuv pool threads, in pread64 and read',
        figure: fig(`loop turns during a ${WRITE_AFTER_MS} ms pipe read`, piped.turns, 'turns'),
        figures: [
          fig(`read ${mib(bytes)}, ${CHUNKS} in flight`, mbps, 'MB/s'),
          fig('thread free during the file reads', filePct, '%'),
          fig('thread free during the pipe read', pipePct, '%'),
          ...(t === undefined ? [] : [fig('thread asleep during the pipe read', t.sleptMs, 'ms'), fig('thread running during the pipe read', t.runMs, 'ms')]),
          fig('pipe read, from the write to the completion', latencyUs, 'µs'),
        ],
        narrative: [
          uring
            ? `${CHUNKS} reads of 1 MiB of the temp file${cold ? ', just dropped from the page cache,' : ''} went to the kernel as ${CHUNKS} submission queue entries in one io_uring_enter(2), and the thread did not wait for them: the ${mib(bytes)} came in ${num(file.ms)} ms (${num(mbps)} MB/s), while it did ${file.turns} slices of other work (${SLICE_MS} ms each), turning Node's loop between them.`
            : `io_uring is refused here (${skipped?.reason ?? 'unknown'}), so the ${CHUNKS} reads of 1 MiB went to libuv's threadpool, where pool threads each blocked in pread64(2) so that the main thread did not: the ${mib(bytes)} came in ${num(file.ms)} ms (${num(mbps)} MB/s), while it did ${file.turns} slices of other work (${SLICE_MS} ms each), turning Node's loop between them.`,
          `The completions were reaped on the loop as they came, iomodes copying each read from its native bounce buffer into the JS buffer before settling its promise${
            file.thread === undefined ? '' : ` (the scheduler's account of those ${num(file.thread.ms)} ms: ran ${num(file.thread.runMs)}, waited ${num(file.thread.waitMs)} for a CPU, slept ${num(file.thread.sleptMs)})`
          }.`,
          `Then a read of an empty pipe, handed over the same way: ${who} held it until a worker wrote ${WRITE_AFTER_MS} ms later, and the completion came back through an eventfd on Node's loop ${dur(latencyUs / 1000)} after the write, the ${n} bytes already in the buffer.`,
          `Meanwhile the thread did ${piped.turns} slices of other work, turning Node's loop between them, where a blocking read would have allowed none${
            t === undefined ? '' : ` (the scheduler's account of those ${num(t.ms)} ms: ran ${num(t.runMs)}, waited ${num(t.waitMs)} for a CPU, slept ${num(t.sleptMs)})`
          }.`,
        ],
        summary: `${piped.turns} loop turns during a 50 ms pipe read; file ${num(mbps)} MB/s${uring ? '' : `; ${io.backend}`}`,
        fallback,
      };
    } finally {
      io.close();
      close(fd);
      close(r);
      close(w);
    }
  },
};
