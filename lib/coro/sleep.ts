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
import { DONE_VOID, PARKED, type Instruction, type Operation } from './types.js';
import { IteratorOperation } from './operation.js';

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
  return new Sleeping(ms);
}

function wakeSleeper(entry: TimerEntry): void {
  const task = entry.target as Task;
  task.hub.resume(task, entry.ticket);
}

// A plain iterator rather than a generator: sleep(0) is how tasks yield to
// each other, and a generator per call is an allocation and a second resume.
class Sleeping extends IteratorOperation<void> {
  #timer: TimerEntry | undefined;
  #started = false;

  constructor(readonly ms: number) {
    super();
  }

  next(): IteratorResult<Instruction, void> {
    if (this.#started) {
      this.leave();
      return DONE_VOID;
    }
    this.#started = true;
    const hub = useHub();
    const task = hub.task('sleep()');
    const ticket = hub.ticket(task);
    if (this.ms === 0) hub.requeue(task);
    else if (this.ms !== Infinity) this.#timer = hub.setTimer(this.ms, wakeSleeper, task, ticket);
    return PARKED;
  }

  protected leave(): void {
    const timer = this.#timer;
    if (timer === undefined) return;
    this.#timer = undefined;
    (timer.target as Task).hub.clearTimer(timer);
  }
}
