/**
 * The task: gevent's `Greenlet`, a generator run by the hub. This file holds
 * its state and how others wait for it; the hub runs it. Neither imports
 * the verbs.
 *
 * @module
 */
import { DONE, NEW, type Hub } from './hub.js';
import { invalidState, isTaskExit, TaskExit } from './errors.js';
import { PARK, type Awaitable, type Instruction } from './types.js';

let nextId = 1;

const noop = (): void => {};

/** How a waiter hears that a task ended. `handles`: it takes charge of a failure (join does; joinAll without raiseError does not). */
interface Observer {
  done: (task: Task<unknown>) => void;
  handles: boolean;
}

/**
 * A running generator (gevent's `Greenlet`). Made by {@link spawn}; it
 * starts when the hub next runs tasks, in FIFO order with the others.
 *
 * - `yield* task` (or `yield* task.join()`) inside a task, or `await task`
 *   outside one, gives its value or throws its error;
 * - {@link Task.kill} ends it at its current `yield` with {@link TaskExit},
 *   running its `finally` blocks;
 * - a failure nobody joins is reported as an unhandled rejection.
 *
 * @typeParam T the task's value
 * @example
 * ```ts
 * import { spawn, sleep } from 'iomodes/coro';
 * const task = spawn(function* () { yield* sleep(10); return 42; });
 * console.log(await task, task.done, task.successful); // 42 true true
 * ```
 */
export class Task<T = unknown> implements Awaitable<T> {
  /** A number unique in this thread, in creation order. */
  readonly id: number = nextId++;
  /** The task that spawned this one (greenlet's `parent`), if it was spawned inside a task. */
  readonly parent: Task | undefined;
  /** The hub that runs it. */
  readonly hub: Hub;

  /** @internal */ _gen: Generator<Instruction, T, unknown>;
  /** @internal */ _state = NEW;
  /** @internal */ _resumeKind = 0;
  /** @internal */ _resumeValue: unknown = undefined;
  /** @internal */ _ticket = 0;
  /** @internal 0, or 1/2: woken (with a value / an error) before it parked. */ _early = 0;
  /** @internal */ _pendingThrow = false;
  /** @internal */ _pendingError: unknown = undefined;
  /** @internal */ _inQueue = false;
  /** @internal The ticket it waits under in switchTo(), or 0. */ _switchTicket = 0;

  #successful = false;
  #result: unknown = undefined;
  // Whether #result is a TaskExit (asked once, in _finish).
  #exited = false;
  #observers: Observer[] | undefined;
  #handled = false;
  #promise: Promise<T> | undefined;
  #settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined;

  /** @internal Use {@link spawn}. */
  constructor(hub: Hub, gen: Generator<Instruction, T, unknown>, parent: Task | undefined) {
    this.hub = hub;
    this._gen = gen;
    this.parent = parent;
  }

  /** Whether it has ended (returned, thrown, or been killed). */
  get done(): boolean {
    return this._state === DONE;
  }

  /** Whether it ended without an error (a kill with the default {@link TaskExit} counts as success, as in gevent). */
  get successful(): boolean {
    return this._state === DONE && this.#successful;
  }

  /** Its return value once it succeeded, the {@link TaskExit} if it was killed; else `undefined`. */
  get value(): T | TaskExit | undefined {
    return this.successful ? (this.#result as T | TaskExit) : undefined;
  }

  /** The error it failed with; else `undefined`. */
  get error(): unknown {
    return this._state === DONE && !this.#successful ? this.#result : undefined;
  }

  /**
   * Waits for the task to end: its value, or its error thrown (a killed
   * task's {@link TaskExit} too). Inside a task, `yield*` it; outside,
   * `await` it. To wait for a task you kill, `yield* task.kill()`.
   *
   * @example
   * ```ts
   * const value = yield* task.join();
   * ```
   */
  join(): Awaitable<T> {
    return new JoinOperation(this);
  }

  /**
   * Ends the task at its current `yield` by raising `error` there (default a
   * {@link TaskExit}, which ends it successfully). Its `finally` blocks run,
   * and the wait it was in is cancelled: fd registration, timer, queue place.
   * A task never started never runs. Takes effect at once; `yield*` or
   * `await` the result to wait until the task has ended. A task killing
   * itself throws `error` on the spot.
   *
   * @example
   * ```ts
   * task.kill();             // fire and forget
   * yield* task.kill();      // inside a task: wait until it is dead
   * await task.kill();       // outside
   * ```
   */
  kill(error: unknown = new TaskExit()): Awaitable<void> {
    if (this.hub.current === this) throw error;
    this.hub.interrupt(this, error);
    return new DeathOperation(this);
  }

  /**
   * Raises `error` inside the task at its current `yield` (greenlet's
   * `throw`); unlike {@link Task.kill}, the task may catch it and go on.
   *
   * @example
   * ```ts
   * task.throw(new Error('reload the configuration'));
   * ```
   */
  throw(error: unknown): void {
    if (this.hub.current === this) throw error;
    this.hub.interrupt(this, error);
  }

  /**
   * Makes a task awaitable: `await task` gives its value or throws its error.
   *
   * @example
   * ```ts
   * const value = await spawn(function* () { return 1; });
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#getPromise().then(onfulfilled, onrejected);
  }

  /** `yield* task` is `yield* task.join()`. */
  [Symbol.iterator](): Iterator<Instruction, T, unknown> {
    return new JoinOperation(this)[Symbol.iterator]();
  }

  /**
   * @internal Calls `done(task)` when the task ends (at once if it has).
   * `handles`: the caller takes charge of a failure, so it is not reported
   * as unhandled. Returns the observer, for {@link Task._unobserve}.
   */
  _observe(done: (task: Task<unknown>) => void, handles: boolean): Observer {
    const observer = { done, handles };
    if (handles) this.#markHandled();
    if (this._state === DONE) {
      done(this as Task<unknown>);
      return observer;
    }
    (this.#observers ??= []).push(observer);
    return observer;
  }

  /** @internal Stops an observer from hearing of the end. */
  _unobserve(observer: Observer): void {
    const list = this.#observers;
    if (list === undefined) return;
    const i = list.indexOf(observer);
    if (i >= 0) list.splice(i, 1);
  }

  /** @internal The hub ends the task: `ok` with its value, or failed with `result`. */
  _finish(ok: boolean, result: unknown): void {
    // Asked once, safely: `result` is the caller's (a kill's error, a return
    // value), and a Proxy's trap that throws here would leave the task
    // counted alive forever (found by the api fuzz: task.kill(proxy)).
    const exited = isTaskExit(result);
    this.#exited = exited;
    if (!ok && exited) ok = true;
    this._state = DONE;
    this.#successful = ok;
    this.#result = result;
    this._gen = undefined as never;
    const observers = this.#observers;
    this.#observers = undefined;
    if (observers !== undefined) {
      for (const observer of observers) if (observer.handles) this.#handled = true;
    }
    // greenlet: a task that ends hands control back to a parent waiting in switchTo().
    const parent = this.parent;
    if (parent !== undefined && parent._switchTicket !== 0 && parent._switchTicket === parent._ticket) {
      this.#handled = true;
      if (ok) this.hub.transfer(parent, parent._ticket, result);
      else this.hub.fail(parent, parent._ticket, result);
    }
    if (this.#settle !== undefined) {
      if (ok && !exited) this.#settle.resolve(result);
      else this.#settle.reject(result);
      this.#settle = undefined;
    } else if (!ok && !this.#handled) {
      // Nobody waits for this failure: report it as Node reports an
      // unhandled rejection (a later join still gets the error, and
      // marks it handled).
      this.#promise = Promise.reject(result);
    }
    if (observers !== undefined) for (const observer of observers) observer.done(this as Task<unknown>);
  }

  /**
   * @internal The outcome, for operations that end with it: the value, or
   * the error thrown; a killed task's {@link TaskExit} is thrown too, so
   * that a join always gives a `T` (gevent's `join` returns nothing).
   */
  _outcome(): T {
    if (this.#successful && !this.#exited) return this.#result as T;
    throw this.#result;
  }

  #markHandled(): void {
    if (this.#handled) return;
    this.#handled = true;
    // A failure already reported as unhandled now has a handler.
    this.#promise?.catch(noop);
  }

  #getPromise(): Promise<T> {
    this.#markHandled();
    if (this.#promise === undefined) {
      if (this._state === DONE) {
        this.#promise = this.#successful && !this.#exited ? Promise.resolve(this.#result as T) : Promise.reject(this.#result);
      } else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#settle = { resolve: resolve as (value: unknown) => void, reject };
        });
      }
    }
    return this.#promise;
  }
}

// join(): wait for the end, then its value or error.
class JoinOperation<T> implements Awaitable<T> {
  readonly #task: Task<T>;
  constructor(task: Task<T>) {
    this.#task = task;
  }

  *[Symbol.iterator](): Generator<Instruction, T, unknown> {
    const target = this.#task;
    if (!target.done) {
      const hub = target.hub;
      const me = hub.task('join()');
      if (me === target) throw invalidState('a task cannot join itself');
      const ticket = hub.ticket(me);
      const observer = target._observe(() => hub.resume(me, ticket), true);
      try {
        yield PARK;
      } finally {
        target._unobserve(observer);
      }
    } else {
      target._observe(noop, true);
    }
    return target._outcome();
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#task.then(onfulfilled, onrejected);
  }
}

// kill(): wait for the end, whatever it was.
class DeathOperation implements Awaitable<void> {
  readonly #task: Task<unknown>;
  constructor(task: Task<unknown>) {
    this.#task = task;
  }

  *[Symbol.iterator](): Generator<Instruction, void, unknown> {
    const target = this.#task;
    if (target.done) return;
    const hub = target.hub;
    const me = hub.task('kill()');
    const ticket = hub.ticket(me);
    const observer = target._observe(() => hub.resume(me, ticket), false);
    try {
      yield PARK;
    } finally {
      target._unobserve(observer);
    }
  }

  then<R1 = void, R2 = never>(
    onfulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const target = this.#task;
    const ended = new Promise<void>((resolve) => target._observe(() => resolve(), false));
    return ended.then(onfulfilled, onrejected);
  }
}
