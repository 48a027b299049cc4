/**
 * The hub's io_uring backend (lib/coro/backends/uring.ts) below the hub:
 * operations that wait for a slot, and cancels that must follow them into
 * the kernel.
 */
import { describe, expect, it } from 'vitest';
import { POLL, close, pipe, write } from '../../../lib/index.js';
import { UringBackend, type RingOperation } from '../../../lib/coro/backends/uring.js';

// Like the rest of the coroutine suite (test/helpers/coro.ts's MATRIX), this
// runs the io_uring backend unconditionally: the machines that run vitest
// have io_uring.

/** A one-shot poll for POLLIN on `fd` that records its result (or failure). */
function pollOp(fd: number, results: unknown[]): RingOperation {
  return {
    handle: Number.NaN,
    prepare: (ring, slot) => ring.poll(slot, fd, POLL.IN, false, -1, 0),
    complete: (result) => results.push(result),
    fail: (error) => results.push(error),
  };
}

/** Starts polls on `fd` until one has to wait for a slot; returns them all, the waiting one last. */
function fillSlots(backend: UringBackend, fd: number): RingOperation[] {
  const ops: RingOperation[] = [];
  const ignored: unknown[] = [];
  for (;;) {
    const op = pollOp(fd, ignored);
    const handle = backend.io.start(op);
    expect(handle).toBe(op.handle);
    ops.push(op);
    if (handle < 0) return ops;
  }
}

/**
 * Runs `body` on a new backend whose every slot holds a poll on a pipe that
 * stays empty (`fillers`, the last of them waiting for a slot), with a
 * second pipe to watch; closes it all after.
 */
function withFullBackend(body: (backend: UringBackend, fillers: RingOperation[], watched: number, watchedW: number) => void): void {
  const backend = new UringBackend();
  const [idle, idleW] = pipe();
  const [watched, watchedW] = pipe();
  try {
    body(backend, fillSlots(backend, idle), watched, watchedW);
  } finally {
    backend.close();
    for (const fd of [idle, idleW, watched, watchedW]) close(fd);
  }
}

describe('UringBackend', () => {
  it('an operation that waited for a slot is cancelled in the kernel once it has one', () => {
    withFullBackend((backend, fillers, watched, watchedW) => {
      const results: unknown[] = [];
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
    });
  });

  it('an operation that waited for a slot and then cannot start fails alone, and gives its slot back', () => {
    withFullBackend((backend, fillers, watched, watchedW) => {
      // Refused by the native side once it has a slot (as a buffer detached
      // while it waited would be), then one behind it in the queue.
      const refused: unknown[] = [];
      const refusal = new RangeError('offset and length must lie inside the buffer');
      backend.io.start({ handle: Number.NaN, prepare: () => { throw refusal; }, complete: (r) => refused.push(r), fail: (e) => refused.push(e) });
      const results: unknown[] = [];
      const next = pollOp(watched, results);
      backend.io.start(next);
      // Two slots free: the waiting filler takes one, the refused one the
      // other, which it gives back, to `next`.
      for (const op of fillers.slice(0, 2)) backend.io.cancel(op.handle);
      for (let i = 0; i < 100 && next.handle < 0; i++) backend.wait(20, () => {});
      expect(refused).toEqual([refusal]);
      expect(next.handle).toBeGreaterThanOrEqual(0);
      write(watchedW, Buffer.from('x'));
      for (let i = 0; i < 100 && results.length === 0; i++) backend.wait(20, () => {});
      expect(results).toEqual([POLL.IN]);
    });
  });
});
