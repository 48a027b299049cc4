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
import { fig, mib, nextTurn, num } from './util.js';

const CHUNK = 1 << 20;
const CHUNKS = 16;
/** The file the `asynchronous` and `direct` parts read. */
export const DATA_FILE = { name: 'data', size: CHUNK * CHUNKS };
const WRITE_AFTER_MS = 50;
/** The slice of other work done between two looks at the loop. */
const SLICE_MS = 0.5;

/** Does other work, in slices, each followed by a loop turn, until `promise` settles. */
async function workWhile(ctx: TourContext, promise: Promise<unknown>): Promise<{ ms: number; workMs: number; turns: number }> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  let workMs = 0;
  let turns = 0;
  const t0 = now();
  while (!done) {
    ctx.checkpoint();
    const s = now();
    while (now() - s < SLICE_MS); // other work: the thread is not waiting for the I/O
    workMs += now() - s;
    turns++;
    await nextTurn();
  }
  return { ms: now() - t0, workMs, turns };
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
      const latencyUs = Math.max(0, ((await completedAt) - at) * 1000);

      const who = uring ? 'the kernel' : 'a pool thread';
      return {
        syscalls: uring ? ['io_uring_setup', 'io_uring_enter', 'read (eventfd)'] : ['pread64 ×16 (pool threads)', 'read (a pool thread)', 'write (eventfd)', 'read (eventfd)'],
        blocked: false,
        waited: uring ? 'the kernel held the reads; the thread worked on' : 'libuv pool threads, in pread64 and read',
        figure: fig(`thread free during a ${WRITE_AFTER_MS} ms pipe read`, pipePct, '%'),
        figures: [
          fig(`read ${mib(bytes)}, ${CHUNKS} in flight`, mbps, 'MB/s'),
          fig('thread free during the file reads', filePct, '%'),
          fig('pipe read, from the write to the completion', latencyUs, 'µs'),
        ],
        narrative: [
          uring
            ? `${CHUNKS} reads of 1 MiB of the temp file${cold ? ', just dropped from the page cache,' : ''} went to the kernel as ${CHUNKS} submission queue entries in one io_uring_enter(2); the thread did not wait for them: it did ${num(file.workMs)} ms of other work in ${SLICE_MS} ms slices while the ${mib(bytes)} came in, in ${num(file.ms)} ms (${num(mbps)} MB/s).`
            : `io_uring is refused here (${skipped?.reason ?? 'unknown'}), so the ${CHUNKS} reads of 1 MiB went to libuv's threadpool, where pool threads each blocked in pread64(2) so that the main thread did not: it did ${num(file.workMs)} ms of other work while the ${mib(bytes)} came in, in ${num(file.ms)} ms (${num(mbps)} MB/s).`,
          `Between slices the thread turned Node's loop ${file.turns} times, and reaped the completions there as they came: iomodes copies each read from its native bounce buffer into the JS buffer, then settles its promise.`,
          `Then a read of an empty pipe, handed over the same way: ${who} held it until a worker wrote ${WRITE_AFTER_MS} ms later, while the thread worked ${num(pipePct)}% of the time; the completion came back through an eventfd on Node's loop ${num(latencyUs)} µs after the write, the ${n} bytes already in the buffer.`,
        ],
        summary: `free ${num(pipePct)}% of a pipe read; file ${num(mbps)} MB/s${uring ? '' : `; ${io.backend}`}`,
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
