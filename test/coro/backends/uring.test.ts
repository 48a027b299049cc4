/**
 * The hub's io_uring backend (lib/coro/backends/uring.ts) below the hub:
 * operations that wait for a slot, and cancels that must follow them into
 * the kernel.
 */
import { describe, expect, it } from 'vitest';
import { POLL, close, ioUringAvailable, pipe, write } from '../../../lib/index.js';
import { UringBackend, type RingOperation } from '../../../lib/coro/backends/uring.js';
import { mayskip } from '../../helpers/index.js';

const probe = ioUringAvailable();
const haveRing = probe.ok || mayskip(`io_uring: ${probe.ok ? '' : probe.detail}`);

/** A one-shot poll for POLLIN on `fd` that records its result. */
function pollOp(fd: number, results: number[]): RingOperation {
  return {
    handle: Number.NaN,
    prepare: (ring, slot) => ring.poll(slot, fd, POLL.IN, false, -1, 0),
    complete: (result) => results.push(result),
  };
}

describe.skipIf(!haveRing)('UringBackend', () => {
  it('an operation that waited for a slot is cancelled in the kernel once it has one', () => {
    const backend = new UringBackend();
    const [idle, idleW] = pipe();
    const [watched, watchedW] = pipe();
    try {
      // Every slot takes a poll on a pipe that stays empty; the first that
      // finds none free waits in the queue.
      const fillers: RingOperation[] = [];
      const ignored: number[] = [];
      for (;;) {
        const op = pollOp(idle, ignored);
        const handle = backend.io.start(op);
        expect(handle).toBe(op.handle);
        fillers.push(op);
        if (handle < 0) break;
      }
      const results: number[] = [];
      const op = pollOp(watched, results);
      const queued = backend.io.start(op);
      expect(queued).toBeLessThan(0);
      // Two slots free up: the queued filler takes one, `op` the other.
      backend.io.cancel(fillers[0]!.handle);
      backend.io.cancel(fillers[1]!.handle);
      for (let i = 0; i < 100 && op.handle < 0; i++) backend.wait(20, () => {});
      expect(op.handle).toBeGreaterThanOrEqual(0);
      backend.wait(0, () => {}); // submits it
      // The task walks away: the cancel must reach the kernel, under the
      // slot, not the handle it had while queued.
      backend.io.cancel(op.handle);
      write(watchedW, Buffer.from('x'));
      for (let i = 0; i < 5; i++) backend.wait(20, () => {});
      expect(results).toEqual([]);
    } finally {
      backend.close();
      for (const fd of [idle, idleW, watched, watchedW]) close(fd);
    }
  });
});
