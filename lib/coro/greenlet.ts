/**
 * greenlet's explicit transfer of control: `switchTo(task, value)` runs
 * `task` now, in place of the running one, and gives back the value that
 * is later switched back in.
 *
 * @module
 */
import { invalidArgType } from '../errors.js';
import { invalidState } from './errors.js';
import { useHub } from './hub.js';
import { Task } from './task.js';
import { PARK, type Instruction, type Operation } from './types.js';

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
  return switching<T>(task, value);
}

function* switching<T>(target: Task, value: unknown): Generator<Instruction, T, unknown> {
  const hub = useHub();
  const me = hub.task('switchTo()');
  if (target === me) return value as T;
  if (target.done) throw invalidState(`switchTo(): task ${target.id} has ended`);
  const ticket = hub.ticket(me);
  hub.transfer(target, target._switchTicket, value);
  me._switchTicket = ticket;
  try {
    return (yield PARK) as T;
  } finally {
    me._switchTicket = 0;
  }
}
