/**
 * The errors of the coroutine scheduler. {@link TaskExit} and
 * {@link TimeoutError} are thrown into a task at its current `yield`; the
 * others report a misuse, each with a Node-style `code`.
 *
 * @module
 */
import { codedError, invalidArgType } from '../errors.js';

/**
 * What {@link Task.kill} raises inside a task at its current `yield`
 * (greenlet's `GreenletExit`): `finally` blocks run, and a task that lets it
 * propagate ends *successfully*, with the `TaskExit` as its value.
 *
 * @example
 * ```ts
 * import { spawn, sleep, TaskExit } from 'iomodes/coro';
 * const task = spawn(function* () {
 *   try { yield* sleep(60_000); } catch (err) { if (err instanceof TaskExit) console.log('killed'); throw err; }
 * });
 * await task.kill();
 * ```
 */
export class TaskExit extends Error {
  /** Always `'ERR_TASK_EXIT'`. */
  readonly code = 'ERR_TASK_EXIT';
  constructor(message = 'the task was killed') {
    // Exported, so anyone may build one: a message Error cannot turn into a
    // string (a Symbol, a null-prototype object) gets a coded error, not
    // the bare TypeError String() would throw.
    if (typeof message !== 'string') throw invalidArgType('message', 'of type string', message);
    super(message);
    this.name = 'TaskExit';
  }
}

/**
 * @internal Whether `value` is a {@link TaskExit}, for the scheduler's own
 * bookkeeping: a kill's error or a task's value is the caller's, and
 * `instanceof` runs a Proxy's getPrototypeOf trap, which may throw. A value
 * that cannot say is no TaskExit (it is the task's error, passed on as is).
 */
export function isTaskExit(value: unknown): value is TaskExit {
  try {
    return value instanceof TaskExit;
  } catch {
    return false;
  }
}

/**
 * What {@link withTimeout} and {@link Timeout} raise inside a task when time
 * runs out. The wait it interrupts is cancelled: its fd registration, its
 * timer, its place in a queue.
 *
 * @example
 * ```ts
 * import { withTimeout, sleep, TimeoutError } from 'iomodes/coro';
 * try { yield* withTimeout(10, sleep(1000)); } catch (err) { if (err instanceof TimeoutError) console.log(err.ms); }
 * ```
 */
export class TimeoutError extends Error {
  /** Always `'ETIMEDOUT'`, as Node names a timed-out operation. */
  readonly code = 'ETIMEDOUT';
  /** The timeout, in milliseconds. */
  readonly ms: number;
  constructor(ms: number, message?: string) {
    // As TaskExit's: checked before the message is built from them.
    if (typeof ms !== 'number') throw invalidArgType('ms', 'of type number', ms);
    if (message !== undefined && typeof message !== 'string') throw invalidArgType('message', 'of type string', message);
    super(message ?? `the operation timed out after ${ms} ms`);
    this.name = 'TimeoutError';
    this.ms = ms;
  }
}

/**
 * `ERR_CORO_OUTSIDE_TASK`: an operation was run outside any task.
 *
 * @example
 * ```ts
 * throw outsideTask('sleep');
 * ```
 */
export function outsideTask(what: string): Error & { code: 'ERR_CORO_OUTSIDE_TASK' } {
  return codedError(Error, 'ERR_CORO_OUTSIDE_TASK', `${what} must run inside a task: yield* it from a generator passed to spawn() or run()`);
}

/**
 * `ERR_CONCURRENT_USE`: a second task waits on what one task already waits on (gevent's `ConcurrentObjectUseError`).
 *
 * @example
 * ```ts
 * throw concurrentUse('fd 7 is already waited on for reading by another task');
 * ```
 */
export function concurrentUse(message: string): Error & { code: 'ERR_CONCURRENT_USE' } {
  return codedError(Error, 'ERR_CONCURRENT_USE', message);
}

/**
 * `ERR_INVALID_STATE`: the call makes no sense in the object's current state.
 *
 * @example
 * ```ts
 * throw invalidState('run() is already driving this thread\'s hub');
 * ```
 */
export function invalidState(message: string): Error & { code: 'ERR_INVALID_STATE' } {
  return codedError(Error, 'ERR_INVALID_STATE', message);
}

/**
 * `ERR_CORO_DEADLOCK`: every task waits, and nothing (no timer, fd, or promise) can wake any of them (gevent's `LoopExit`).
 *
 * @example
 * ```ts
 * throw deadlock();
 * ```
 */
export function deadlock(): Error & { code: 'ERR_CORO_DEADLOCK' } {
  return codedError(
    Error,
    'ERR_CORO_DEADLOCK',
    'run(): every task is waiting, and no timer, fd or promise can wake any of them: this would block forever',
  );
}
