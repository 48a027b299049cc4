/**
 * `sleep(ms)`: park the running task for a while; `sleep(0)` just lets the
 * other ready tasks run first.
 *
 * @module
 */
import { invalidArgType, outOfRange } from '../errors.js';
import { useHub } from './hub.js';
import type { TimerEntry } from './heap.js';
import type { Task } from './task.js';
import { PARK, type Instruction, type Operation } from './types.js';

/**
 * Parks the running task for `ms` milliseconds on the hub's clock (never
 * less); `sleep(0)` (the default) yields to the other ready tasks, which run
 * first, in FIFO order; `sleep(Infinity)` waits until killed. Killed or
 * timed out meanwhile, its timer is cancelled.
 *
 * @param ms milliseconds, `>= 0`
 * @throws `RangeError` `ERR_OUT_OF_RANGE` for a negative or NaN `ms`
 * @example
 * ```ts
 * import { spawn, sleep } from 'iomodes/coro';
 * spawn(function* () { yield* sleep(100); console.log('100 ms later'); });
 * ```
 */
export function sleep(ms = 0): Operation<void> {
  if (typeof ms !== 'number') throw invalidArgType('ms', 'of type number', ms);
  if (!(ms >= 0)) throw outOfRange('ms', '>= 0', ms);
  return sleeping(ms);
}

function wakeSleeper(entry: TimerEntry): void {
  const task = entry.target as Task;
  task.hub.resume(task, entry.ticket);
}

function* sleeping(ms: number): Generator<Instruction, void, unknown> {
  const hub = useHub();
  const task = hub.task('sleep()');
  const ticket = hub.ticket(task);
  if (ms === 0) {
    hub.requeue(task);
    yield PARK;
    return;
  }
  if (ms === Infinity) {
    yield PARK;
    return;
  }
  const timer = hub.setTimer(ms, wakeSleeper, task, ticket);
  try {
    yield PARK;
  } finally {
    hub.clearTimer(timer);
  }
}
