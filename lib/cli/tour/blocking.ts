/**
 * Tour part `blocking`: `read(2)` on an empty pipe puts the thread to sleep
 * until a worker thread writes; Node's event loop stands still meanwhile.
 *
 * @internal
 * @module
 */
import { close, pipe, read } from '../../index.js';
import { now } from './peer.js';
import type { TourPart } from './types.js';
import { delay, dur, fig, num, threadSpan } from './util.js';

/** How long the worker waits before writing. */
const WRITE_AFTER_MS = 100;
/** A timer set just before the read, to show the frozen loop. */
const TIMER_MS = 10;

/**
 * The `blocking` part.
 *
 * @example
 * ```ts
 * const outcome = await blocking.run(ctx); // outcome.figure: { name: 'blocked in read(2)', value: ≈100, unit: 'ms' }
 * ```
 */
export const blocking: TourPart = {
  name: 'blocking',
  model: 'blocking I/O',
  title: 'read(2) on an empty pipe',
  async run(ctx) {
    const [r, w] = pipe();
    try {
      await ctx.wait(ctx.peer.ready());
      const buf = Buffer.alloc(64);
      let firedAt = 0;
      const timerSetAt = now();
      const timer = setTimeout(() => (firedAt = now()), TIMER_MS);
      const wrote = ctx.peer.writeLater(w, WRITE_AFTER_MS, 'hello');
      const span = threadSpan();
      const t0 = now();
      const n = read(r, buf); // sleeps in the kernel until the worker writes
      const t1 = now();
      const thread = span();
      const { at } = await ctx.wait(wrote);
      // The overdue timer runs on the loop's next timers phase.
      await delay(0);
      clearTimeout(timer);
      const blockedMs = t1 - t0;
      const lateMs = Math.max(0, firedAt - timerSetAt - TIMER_MS);
      const wakeUs = Math.max(0, (t1 - at) * 1000);
      return {
        syscalls: ['pipe2', 'read', 'write'],
        blocked: true,
        waited: 'the main thread, asleep in read(2)',
        figure: fig('blocked in read(2)', blockedMs, 'ms'),
        figures: [
          fig('wake-up after the write', wakeUs, 'µs'),
          fig('a 10 ms timer fired late by', lateMs, 'ms'),
          ...(thread === undefined ? [] : [fig('thread asleep in read(2)', thread.sleptMs, 'ms')]),
        ],
        narrative: [
          'The main thread called read(2) on an empty pipe; with nothing to read, the kernel put the thread to sleep.',
          `A worker thread wrote ${n} bytes when its ${WRITE_AFTER_MS} ms timer fired; the kernel woke the reader, and read returned them ${dur(wakeUs / 1000)} after the write.`,
          `The thread was blocked for ${num(blockedMs)} ms${thread === undefined ? '' : ` (asleep for ${num(thread.sleptMs)} ms of it, says the scheduler)`}, and Node's event loop with it: a ${TIMER_MS} ms timer fired ${num(lateMs)} ms late.`,
          'Simple and cheap per call, but one thread per wait: fine in a script or a Worker, not on a server\'s main thread.',
        ],
        summary: `blocked ${num(blockedMs)} ms; a 10 ms timer ${num(lateMs)} ms late`,
      };
    } finally {
      close(r);
      close(w);
    }
  },
};
