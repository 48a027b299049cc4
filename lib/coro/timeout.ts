/**
 * Timeouts: `withTimeout(ms, op)` for one operation, {@link Timeout} for a
 * block of several (gevent's `Timeout`). When time runs out, a
 * {@link TimeoutError} is raised in the task at the `yield` it waits at, and
 * that wait is cancelled: its fd registration, its timer, its place in a
 * queue, exactly as a kill cancels it.
 *
 * @module
 */
import { invalidArgType, outOfRange } from '../errors.js';
import { TimeoutError } from './errors.js';
import { useHub } from './hub.js';
import type { TimerEntry } from './heap.js';
import type { Task } from './task.js';
import type { Instruction, Operation } from './types.js';

function validateMs(ms: unknown): asserts ms is number {
  if (typeof ms !== 'number') throw invalidArgType('ms', 'of type number', ms);
  if (!(ms >= 0)) throw outOfRange('ms', '>= 0', ms);
}

/**
 * A deadline for the running task: after `ms`, its {@link Timeout.error} is
 * raised in it at the `yield` it waits at, unless cancelled first. Use it
 * for a block of several operations; {@link withTimeout} covers one.
 *
 * @example
 * ```ts
 * import { Timeout, TimeoutError } from 'iomodes/coro';
 * const timeout = Timeout.start(500);
 * try {
 *   yield* stream.write(request);
 *   reply = yield* stream.readLine();
 * } catch (err) {
 *   if (err !== timeout.error) throw err;
 *   console.log('no reply within 500 ms');
 * } finally {
 *   timeout.cancel();
 * }
 * ```
 */
export class Timeout implements Disposable {
  /** The milliseconds it was started with. */
  readonly ms: number;
  /** What it raises: compare with `===` to tell this timeout from others. */
  readonly error: TimeoutError;
  readonly #task: Task;
  #timer: TimerEntry | undefined;
  #expired = false;

  /**
   * Starts a timeout for the running task.
   *
   * @param ms milliseconds, `>= 0` (`Infinity`: never)
   * @param error what to raise; default a new {@link TimeoutError}
   * @throws `ERR_CORO_OUTSIDE_TASK` outside a task
   * @example
   * ```ts
   * const timeout = Timeout.start(100);
   * ```
   */
  static start(ms: number, error?: TimeoutError): Timeout {
    validateMs(ms);
    return new Timeout(ms, error ?? new TimeoutError(ms));
  }

  private constructor(ms: number, error: TimeoutError) {
    const hub = useHub();
    this.#task = hub.task('Timeout.start()');
    this.ms = ms;
    this.error = error;
    if (ms !== Infinity) this.#timer = hub.setTimer(ms, () => this.#expire());
  }

  /** Whether it is still running (neither expired nor cancelled). */
  get pending(): boolean {
    return this.#timer !== undefined && this.#timer.index >= 0;
  }

  /** Whether it ran out. */
  get expired(): boolean {
    return this.#expired;
  }

  /**
   * Stops it; idempotent. An expiry not yet delivered (the task was ready to
   * run, not waiting) is withdrawn too.
   *
   * @example
   * ```ts
   * timeout.cancel();
   * ```
   */
  cancel(): void {
    const hub = this.#task.hub;
    if (this.#timer !== undefined) hub.clearTimer(this.#timer);
    this.#timer = undefined;
    const task = this.#task;
    if (task._pendingThrow && task._pendingError === this.error) {
      task._pendingThrow = false;
      task._pendingError = undefined;
    }
  }

  /** Same as {@link Timeout.cancel}, for `using`. */
  [Symbol.dispose](): void {
    this.cancel();
  }

  #expire(): void {
    this.#timer = undefined;
    this.#expired = true;
    this.#task.hub.interrupt(this.#task, this.error);
  }
}

/**
 * Runs `op` in the running task with a deadline: after `ms`, a
 * {@link TimeoutError} is raised where it waits, and the wait underneath
 * (fd registration, timer, queue place) is cancelled.
 *
 * @param ms milliseconds, `>= 0`
 * @param op an operation, or a function making one
 * @example
 * ```ts
 * import { withTimeout, read, TimeoutError } from 'iomodes/coro';
 * try {
 *   const n = yield* withTimeout(1000, read(fd, buf));
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log('nothing within a second');
 * }
 * ```
 */
export function withTimeout<T>(ms: number, op: Operation<T> | (() => Operation<T>)): Operation<T> {
  validateMs(ms);
  if (typeof op === 'function') return timed(ms, () => operationIterator<T>(op(), op));
  const iterator = operationIterator<T>(op, op);
  return timed(ms, () => iterator);
}

// An operation's iterator takes throw(): that is how the timeout (or a kill)
// reaches the wait. A plain iterable (an array, a Buffer) has none, and
// yield* would turn the hub's coded error into V8's bare TypeError.
function operationIterator<T>(op: unknown, given: unknown): Iterator<Instruction, T, unknown> {
  // A typed array is no operation either, and asking one over a detached or
  // shrunk buffer for its iterator is V8's code-less TypeError: refused first.
  const make = op !== null && typeof op === 'object' && !ArrayBuffer.isView(op) ? (op as Partial<Operation<T>>)[Symbol.iterator] : undefined;
  const iterator: unknown = typeof make === 'function' ? make.call(op) : undefined;
  if (iterator === null || typeof iterator !== 'object' || typeof (iterator as Iterator<Instruction>).next !== 'function' || typeof (iterator as Iterator<Instruction>).throw !== 'function') {
    throw invalidArgType('op', 'an operation or a function returning one', given);
  }
  return iterator as Iterator<Instruction, T, unknown>;
}

function* timed<T>(ms: number, start: () => Iterator<Instruction, T, unknown>): Generator<Instruction, T, unknown> {
  const timeout = Timeout.start(ms);
  try {
    const iterator = start();
    return yield* { [Symbol.iterator]: () => iterator };
  } finally {
    timeout.cancel();
  }
}
