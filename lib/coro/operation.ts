/**
 * The base of the hot operations: a plain iterator instead of a generator.
 * A generator per wait costs an allocation and a second resume on every
 * switch; an iterator object costs neither. `yield*` forwards `throw` and
 * `return` to it, so a kill or a timeout still takes the wait down, through
 * {@link IteratorOperation.leave}.
 *
 * @internal
 * @module
 */
import { useHub, type Hub } from './hub.js';
import type { Task } from './task.js';
import { PARKED, type Instruction, type Operation } from './types.js';

/**
 * An operation that is its own iterator. Subclasses write `next()` (first
 * call: try, or set the wait up and return {@link PARKED}; later calls: the
 * value it was woken with) and `leave()`, which takes the wait down however
 * it ended.
 *
 * @example
 * ```ts
 * class Nap extends IteratorOperation<void> {
 *   next() { ... }
 *   protected leave() { ... }
 * }
 * ```
 */
export abstract class IteratorOperation<T> implements Operation<T>, Iterator<Instruction, T, unknown> {
  [Symbol.iterator](): Iterator<Instruction, T, unknown> {
    return this;
  }

  abstract next(received?: unknown): IteratorResult<Instruction, T>;

  /** Takes the wait down (a waiter, a timer): called however it ends. */
  protected abstract leave(): void;

  throw(error: unknown): IteratorResult<Instruction, T> {
    this.leave();
    throw error;
  }

  return(value?: unknown): IteratorResult<Instruction, T> {
    this.leave();
    return { value: value as T, done: true };
  }
}

/**
 * An operation that parks on one fd, for reading or for writing, until the
 * hub sees it ready: {@link FdOperation.park} sets the wait up,
 * {@link FdOperation.resumed} (at the top of the next `next()`) and
 * `leave()` take it down.
 *
 * @example
 * ```ts
 * if (this.resumed()) ... // woken: try again
 * return this.park(hub, task);
 * ```
 */
export abstract class FdOperation<T> extends IteratorOperation<T> {
  #waiting = false;

  constructor(
    readonly fd: number,
    readonly direction: number,
  ) {
    super();
  }

  /** Parks `task` on the fd. */
  protected park(hub: Hub, task: Task): IteratorResult<Instruction, T> {
    hub.addWaiter(this.fd, this.direction, task, hub.ticket(task));
    this.#waiting = true;
    return PARKED;
  }

  /** Whether this call resumes a park (whose wait it then takes down). */
  protected resumed(): boolean {
    if (!this.#waiting) return false;
    this.leave();
    return true;
  }

  protected leave(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    const hub = useHub();
    hub.removeWaiter(this.fd, this.direction, hub.current!);
  }
}
