/**
 * `run(main)`: drive this thread's hub directly, blocking in the kernel's
 * wait (`epoll_wait` or `poll`) rather than on Node's event loop: for
 * scripts, servers and benchmarks.
 *
 * @module
 */
import { invalidState } from './errors.js';
import { useHub } from './hub.js';
import { spawn } from './spawn.js';
import type { TaskFunction } from './types.js';

/**
 * Runs `main(...args)` as a task and drives the hub until it ends: ready
 * tasks run, then the thread blocks in the backend's wait until an fd is
 * ready or a timer is due. Other tasks run too, and go on (on the event
 * loop) after `main` ends.
 *
 * While a task waits on a promise (`call`), the thread goes back to Node's
 * event loop, so the promise can settle: `run()` never deadlocks on one. But
 * while it blocks, ordinary Node code on this thread (timers, `net`) waits.
 *
 * @returns `main`'s value; rejects with its error
 * @throws `ERR_INVALID_STATE` (as a rejection) when a `run()` already drives
 *   this thread; `ERR_CORO_DEADLOCK` when every task waits and nothing can
 *   wake one (gevent's `LoopExit`)
 * @example
 * ```ts
 * import { run, spawn, sleep, joinAll } from 'iomodes/coro';
 * await run(function* () {
 *   yield* joinAll([spawn(function* () { yield* sleep(10); })]);
 * });
 * ```
 */
export async function run<T, A extends unknown[]>(main: TaskFunction<T, A>, ...args: A): Promise<T> {
  const hub = useHub();
  if (hub.running) throw invalidState("run() is already driving this thread's hub: a thread has one run() at a time");
  if (hub.current !== undefined) throw invalidState('run() cannot be called from inside a task: yield* the operation instead');
  const task = spawn(main, ...args);
  task._observe(() => {}, true);
  try {
    await hub.drive(() => task.done);
  } catch (error) {
    if (!task.done) task.kill();
    throw error;
  }
  return task._outcome();
}
