/**
 * greenlet's explicit transfer of control: `switchTo(task, value)` runs
 * `task` now, in place of the running one, and gives back the value that
 * is later switched back in.
 *
 * @module
 */
import { invalidArgType } from '../errors.js';
import { invalidState } from './errors.js';
import { Task } from './task.js';
import { PARKED, type Instruction, type Operation } from './types.js';
import { IteratorOperation } from './operation.js';

/**
 * Suspends the running task and runs `task` at once, ahead of every ready
 * task (greenlet's `switch`). `task` must be new (it starts; `value` is
 * ignored, as the arguments were given to `spawn`) or waiting in its own
 * `switchTo` (which then returns `value`). This task waits until someone
 * switches back to it — or until a task it spawned ends, which switches
 * back with that task's value (greenlet's parent rule).
 *
 * @returns the value switched back in
 * @throws `ERR_INVALID_STATE` if `task` has ended or waits on something else
 * @example
 * ```ts
 * import { spawn, switchTo, run } from 'iomodes/coro';
 * await run(function* () {
 *   const gr1 = spawn(function* () { console.log(12); yield* switchTo(gr2); console.log(34); });
 *   const gr2 = spawn(function* () { console.log(56); yield* switchTo(gr1); console.log(78); });
 *   yield* switchTo(gr1); // 12 56 34; 78 is never printed
 * });
 * ```
 */
export function switchTo<T = unknown>(task: Task, value?: unknown): Operation<T> {
  if (!(task instanceof Task)) throw invalidArgType('task', 'an instance of Task', task);
  return new Switching<T>(task, value);
}

// An operation as a plain iterator, not a generator: a switch is the
// scheduler's hottest path, and a generator per switch costs an allocation
// and a second resume. `yield*` forwards throw/return here, so a kill still
// runs the cleanup.
//
// It is its own iterator result, too, once done: one allocation per switch.
class Switching<T> extends IteratorOperation<T> {
  #me: Task | undefined;
  #started = false;
  /** As an iterator result: whether the switch has come back. */
  done = false;
  /** As an iterator result: the value switched back in. */
  value: unknown;

  constructor(
    readonly target: Task,
    value: unknown,
  ) {
    super();
    this.value = value;
  }

  #finish(value: unknown): IteratorResult<Instruction, T> {
    this.done = true;
    this.value = value;
    return this as IteratorReturnResult<T>;
  }

  next(received?: unknown): IteratorResult<Instruction, T> {
    if (this.#started) {
      this.leave();
      return this.#finish(received);
    }
    this.#started = true;
    // The target's hub is this thread's (a live task's hub is the open one).
    const target = this.target;
    const hub = target.hub;
    const me = hub.task('switchTo()');
    if (target === me) return this.#finish(this.value);
    if (target.done) throw invalidState(`switchTo(): task ${target.id} has ended`);
    const ticket = hub.ticket(me);
    hub.transfer(target, target._switchTicket, this.value);
    me._switchTicket = ticket;
    this.#me = me;
    return PARKED;
  }

  protected leave(): void {
    if (this.#me !== undefined) this.#me._switchTicket = 0;
    this.#me = undefined;
  }
}
