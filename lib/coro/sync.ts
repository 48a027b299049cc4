/**
 * Synchronisation between tasks (gevent's `gevent.event` and `gevent.lock`):
 * {@link Event}, {@link AsyncResult}, {@link Semaphore},
 * {@link BoundedSemaphore}, {@link Lock} and {@link RLock}.
 *
 * Waiters are woken in FIFO order. A wait that ends early (the task is
 * killed, or a {@link withTimeout} runs out) leaves its place in line at
 * once, and a permit is only ever handed to a task that still waits, so
 * none is lost.
 *
 * @module
 */
import { validateInteger, validateTimeout } from '../validate.js';
import { invalidState } from './errors.js';
import { useHub } from './hub.js';
import type { TimerEntry } from './heap.js';
import type { Task } from './task.js';
import { PARK, type Awaitable, type Instruction, type Operation } from './types.js';
import { Waiter, WaitList } from './waitlist.js';

// ------------------------------------------------------------------ Gate

/**
 * A flag and the tasks (or promises) waiting for it to be set: the core of
 * {@link Event}, {@link AsyncResult} and a group's or queue's `join()`.
 *
 * @internal
 */
export class Gate {
  #open: boolean;
  readonly #waiters = new WaitList<boolean>();

  constructor(open = false) {
    this.#open = open;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Tasks and promises waiting. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Sets the flag and wakes every waiter (with `true`). */
  open(): void {
    this.#open = true;
    this.#waiters.wakeAll(true);
  }

  /** Clears the flag; waiters already woken still see `true`. */
  close(): void {
    this.#open = false;
  }

  /**
   * Waits until the flag is set (`true`) or `ms` pass (`false`; `ms < 0`:
   * no limit): `yield*` it in a task, `await` it outside one.
   */
  wait(what: string, ms: number): Awaitable<boolean> {
    return awaitable(
      () => this.#waiting(what, ms),
      () => this.#promise(ms),
    );
  }

  *#waiting(what: string, ms: number): Generator<Instruction, boolean, unknown> {
    const hub = useHub();
    const me = hub.task(what);
    if (this.#open) return true;
    const ticket = hub.ticket(me);
    const waiter = this.#waiters.push(new Waiter(me, ticket));
    const timer = ms >= 0 ? hub.setTimer(ms, () => hub.resume(me, ticket, false)) : undefined;
    try {
      return (yield PARK) as boolean;
    } finally {
      this.#waiters.remove(waiter);
      if (timer !== undefined) hub.clearTimer(timer);
    }
  }

  #promise(ms: number): Promise<boolean> {
    if (this.#open) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const hub = ms >= 0 ? useHub() : undefined;
      let timer: TimerEntry | undefined;
      const waiter = this.#waiters.push(
        new Waiter<boolean>(undefined, 0, () => {
          if (timer !== undefined) hub!.clearTimer(timer);
          resolve(true);
        }),
      );
      if (hub !== undefined) {
        timer = hub.setTimer(ms, () => {
          this.#waiters.remove(waiter);
          resolve(false);
        });
      }
    });
  }
}

/**
 * An {@link Awaitable} made of a generator (inside a task) and a promise
 * (outside one), each started afresh on use.
 *
 * @internal
 */
export function awaitable<T>(op: () => Generator<Instruction, T, unknown>, promise: () => PromiseLike<T>): Awaitable<T> {
  return {
    [Symbol.iterator]: op,
    then(onfulfilled, onrejected) {
      return Promise.resolve(promise()).then(onfulfilled, onrejected);
    },
  };
}

// ----------------------------------------------------------------- Event

/**
 * A flag tasks can wait for (gevent's `Event`, Python's `threading.Event`):
 * {@link Event.set} wakes every waiter at once, and later waits return at
 * once until {@link Event.clear}. Inside a task `yield*` {@link Event.wait};
 * plain async code can `await` it.
 *
 * @example
 * ```ts
 * import { Event, spawn, sleep, joinAll } from 'iomodes/coro';
 * const ready = new Event();
 * const log: string[] = [];
 * const waiters = [1, 2].map((n) => spawn(function* () { yield* ready.wait(); log.push(`waiter ${n} woke`); }));
 * spawn(function* () { yield* sleep(100); log.push('setting'); ready.set(); });
 * await joinAll(waiters);
 * console.log(log); // [ 'setting', 'waiter 1 woke', 'waiter 2 woke' ]
 * ```
 */
export class Event {
  readonly #gate = new Gate();

  /**
   * Whether the flag is set.
   *
   * @example
   * ```ts
   * if (!event.isSet) yield* event.wait();
   * ```
   */
  get isSet(): boolean {
    return this.#gate.isOpen;
  }

  /**
   * How many tasks (and promises) wait for it now.
   *
   * @example
   * ```ts
   * console.log(`${event.waiting} waiting`);
   * ```
   */
  get waiting(): number {
    return this.#gate.waiting;
  }

  /**
   * Sets the flag and wakes every task waiting for it, in the order they
   * began to wait. Setting a set event does nothing.
   *
   * @example
   * ```ts
   * event.set();
   * ```
   */
  set(): void {
    this.#gate.open();
  }

  /**
   * Clears the flag: later waits block until the next {@link Event.set}.
   * Tasks already woken by a `set()` still return `true`.
   *
   * @example
   * ```ts
   * event.clear();
   * ```
   */
  clear(): void {
    this.#gate.close();
  }

  /**
   * Waits until the flag is set, and gives `true`; or, when `timeoutMs`
   * runs out first, gives `false` (gevent's `wait(timeout)`). Returns at once
   * if the flag is already set. Inside a task `yield*` it; outside, `await`
   * it (the timeout runs on the hub's clock either way).
   *
   * @param timeoutMs milliseconds, `>= 0`; `undefined`, `-1` or `Infinity`: no limit
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a bad `timeoutMs`;
   *   `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * if (!(yield* event.wait(500))) console.log('not set within 500 ms');
   * const isSet = await event.wait(500); // from plain async code
   * ```
   */
  wait(timeoutMs?: number): Awaitable<boolean> {
    const ms = validateTimeout(timeoutMs);
    return this.#gate.wait('Event.wait()', ms);
  }
}

// ----------------------------------------------------------- AsyncResult

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/**
 * A value that will be ready later, set once by one task and read by any
 * number of others (gevent's `AsyncResult`, a promise the scheduler can
 * `yield*`): {@link AsyncResult.set} or {@link AsyncResult.setException}
 * settles it and wakes every waiter. Unlike gevent's, it settles only once.
 *
 * @typeParam T the value
 * @example
 * ```ts
 * import { AsyncResult, spawn, sleep } from 'iomodes/coro';
 * const answer = new AsyncResult<number>();
 * spawn(function* () { yield* sleep(100); answer.set(42); });
 * const reader = spawn(function* () { return (yield* answer.get()) + 1; });
 * console.log(await reader, await answer.get()); // 43 42
 * ```
 */
export class AsyncResult<T = unknown> {
  readonly #gate = new Gate();
  #state = PENDING;
  #result: unknown = undefined;

  /**
   * Whether it is settled (set or failed).
   *
   * @example
   * ```ts
   * if (result.ready) console.log(result.value);
   * ```
   */
  get ready(): boolean {
    return this.#state !== PENDING;
  }

  /**
   * Whether it was settled with a value.
   *
   * @example
   * ```ts
   * if (result.successful) use(result.value);
   * ```
   */
  get successful(): boolean {
    return this.#state === FULFILLED;
  }

  /**
   * The value, once set; else `undefined`.
   *
   * @example
   * ```ts
   * console.log(result.value);
   * ```
   */
  get value(): T | undefined {
    return this.#state === FULFILLED ? (this.#result as T) : undefined;
  }

  /**
   * The error, once {@link AsyncResult.setException} was called; else `undefined`.
   *
   * @example
   * ```ts
   * if (result.ready && !result.successful) console.error(result.error);
   * ```
   */
  get error(): unknown {
    return this.#state === REJECTED ? this.#result : undefined;
  }

  /**
   * Settles it with `value` and wakes every waiter.
   *
   * @throws `ERR_INVALID_STATE` if it is already settled
   * @example
   * ```ts
   * result.set(42);
   * ```
   */
  set(value: T): void {
    this.#settle(FULFILLED, value);
  }

  /**
   * Settles it with `error`: waiters in {@link AsyncResult.get} throw it.
   *
   * @throws `ERR_INVALID_STATE` if it is already settled
   * @example
   * ```ts
   * result.setException(new Error('the backend is down'));
   * ```
   */
  setException(error: unknown): void {
    this.#settle(REJECTED, error);
  }

  /**
   * Waits until it is settled, then gives the value or throws the error.
   * Inside a task `yield*` it; outside, `await` it. Bound the wait with
   * {@link withTimeout} (inside a task) or {@link AsyncResult.wait}.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * const value = yield* result.get();
   * const same = await result.get(); // from plain async code
   * ```
   */
  get(): Awaitable<T> {
    return awaitable(
      () => this.#getting(),
      () => this.#gate.wait('AsyncResult.get()', -1).then(() => this.#outcome()),
    );
  }

  /**
   * Waits until it is settled and gives `true`, or `false` once `timeoutMs`
   * runs out first; never throws the stored error.
   *
   * @param timeoutMs milliseconds, `>= 0`; `undefined`, `-1` or `Infinity`: no limit
   * @example
   * ```ts
   * if (yield* result.wait(1000)) console.log(result.successful ? result.value : result.error);
   * ```
   */
  wait(timeoutMs?: number): Awaitable<boolean> {
    const ms = validateTimeout(timeoutMs);
    return this.#gate.wait('AsyncResult.wait()', ms);
  }

  *#getting(): Generator<Instruction, T, unknown> {
    yield* this.#gate.wait('AsyncResult.get()', -1);
    return this.#outcome();
  }

  #outcome(): T {
    if (this.#state === REJECTED) throw this.#result;
    return this.#result as T;
  }

  #settle(state: number, result: unknown): void {
    if (this.#state !== PENDING) throw invalidState('this AsyncResult is already settled: set() and setException() may be called once');
    this.#state = state;
    this.#result = result;
    this.#gate.open();
  }
}

// ------------------------------------------------------------- Semaphore

/**
 * A counter of permits (gevent's `Semaphore`): {@link Semaphore.acquire}
 * takes one, waiting while there is none; {@link Semaphore.release} gives
 * one back, straight to the task that has waited longest (FIFO: no task
 * jumps the line, not even with {@link Semaphore.tryAcquire}).
 *
 * Release in a `finally`, so a task killed while it holds a permit gives it
 * back. `release()` may be called by any task, or outside any task.
 *
 * @example
 * ```ts
 * import { Semaphore, spawn, sleep, joinAll } from 'iomodes/coro';
 * const slots = new Semaphore(2);
 * let inside = 0, most = 0;
 * const tasks = [1, 2, 3, 4, 5].map(() => spawn(function* () {
 *   yield* slots.acquire();
 *   try { inside++; most = Math.max(most, inside); yield* sleep(10); inside--; }
 *   finally { slots.release(); }
 * }));
 * await joinAll(tasks);
 * console.log(most); // 2
 * ```
 */
export class Semaphore {
  #count: number;
  readonly #waiters = new WaitList<undefined>();
  readonly #name: string;

  /**
   * @param value the permits it starts with: an integer `>= 0` (default 1)
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for anything else
   * @example
   * ```ts
   * const connections = new Semaphore(10);
   * ```
   */
  constructor(value = 1) {
    validateInteger(value, 'value', 0);
    this.#count = value;
    this.#name = new.target.name;
  }

  /**
   * The permits free now (gevent's `counter`).
   *
   * @example
   * ```ts
   * console.log(`${slots.count} free`);
   * ```
   */
  get count(): number {
    return this.#count;
  }

  /**
   * Whether no permit is free, so {@link Semaphore.acquire} would wait.
   *
   * @example
   * ```ts
   * if (lock.locked) console.log('busy');
   * ```
   */
  get locked(): boolean {
    return this.#count === 0;
  }

  /**
   * How many tasks wait in {@link Semaphore.acquire} now.
   *
   * @example
   * ```ts
   * console.log(`${slots.waiting} in line`);
   * ```
   */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a permit, waiting in line (FIFO) while there is none. Killed or
   * timed out while waiting, the task leaves the line and takes nothing.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * yield* slots.acquire();
   * try { yield* work(); } finally { slots.release(); }
   * ```
   */
  acquire(): Operation<void> {
    return this._acquiring(`${this.#name}.acquire()`);
  }

  /**
   * Takes a permit if one is free now, without waiting: returns whether it
   * did. Works outside tasks too.
   *
   * @example
   * ```ts
   * if (slots.tryAcquire()) { try { serve(); } finally { slots.release(); } } else reject();
   * ```
   */
  tryAcquire(): boolean {
    if (this.#count === 0) return false;
    this.#count--;
    return true;
  }

  /**
   * Gives a permit back: to the task that has waited longest, or to the
   * count if none waits.
   *
   * @example
   * ```ts
   * slots.release();
   * ```
   */
  release(): void {
    if (this.#waiters.wakeOne(undefined) !== undefined) return;
    this.#count++;
  }

  /** @internal `acquire()`, naming `what` in ERR_CORO_OUTSIDE_TASK. */
  *_acquiring(what: string): Generator<Instruction, void, unknown> {
    const hub = useHub();
    const me = hub.task(what);
    // A free permit means nobody waits: release() hands permits to waiters first.
    if (this.#count > 0) {
      this.#count--;
      return;
    }
    yield* this.#waiters.park(me, hub.ticket(me));
  }
}

/**
 * A {@link Semaphore} that refuses to be released more often than it was
 * acquired (gevent's `BoundedSemaphore`): a `release()` that would take the
 * count above its initial value throws, which catches double releases.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore } from 'iomodes/coro';
 * const sem = new BoundedSemaphore(1);
 * sem.tryAcquire();
 * sem.release();
 * try {
 *   sem.release(); // a second release: one too many
 * } catch (err) {
 *   console.log((err as { code: string }).code); // ERR_INVALID_STATE
 * }
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  readonly #initial: number;

  /**
   * @param value the permits it starts with, and the most it may hold: an integer `>= 0` (default 1)
   * @example
   * ```ts
   * const sem = new BoundedSemaphore(3);
   * ```
   */
  constructor(value = 1) {
    super(value);
    this.#initial = value;
  }

  /**
   * Gives a permit back, as {@link Semaphore.release}.
   *
   * @throws `ERR_INVALID_STATE` if every permit is already free
   * @example
   * ```ts
   * sem.release();
   * ```
   */
  override release(): void {
    // A free permit means nobody waits, so the count would go up: check it.
    if (this.count >= this.#initial) throw this._tooManyReleases(this.#initial);
    super.release();
  }

  /** @internal */
  _tooManyReleases(initial: number): Error {
    return invalidState(`${this.constructor.name}.release() was called more often than acquire(): all ${initial} permit(s) are already free`);
  }
}

/**
 * A mutual-exclusion lock: a {@link BoundedSemaphore} of one permit (gevent's
 * and Python's `Lock`). As there, any task may release it, not only the one
 * that acquired it (a lock can be handed over, or used as a one-shot
 * signal); use {@link RLock} for a lock that knows its owner. Releasing an
 * unlocked lock throws.
 *
 * @example
 * ```ts
 * import { Lock, spawn, sleep, joinAll } from 'iomodes/coro';
 * const lock = new Lock();
 * const log: string[] = [];
 * const tasks = ['a', 'b'].map((name) => spawn(function* () {
 *   yield* lock.acquire();
 *   try { log.push(`${name} in`); yield* sleep(10); log.push(`${name} out`); }
 *   finally { lock.release(); }
 * }));
 * await joinAll(tasks);
 * console.log(log); // [ 'a in', 'a out', 'b in', 'b out' ]
 * ```
 */
export class Lock extends BoundedSemaphore {
  /**
   * Makes an unlocked lock.
   *
   * @example
   * ```ts
   * const lock = new Lock();
   * ```
   */
  constructor() {
    super(1);
  }

  /** @internal */
  override _tooManyReleases(): Error {
    return invalidState('Lock.release(): the lock is not locked');
  }
}

/**
 * A reentrant lock (gevent's and Python's `RLock`): the task holding it may
 * acquire it again, and must release it as many times; only that task may
 * release it. Waiters get it in FIFO order. A task that ends while holding
 * it does not release it: release in a `finally`.
 *
 * @example
 * ```ts
 * import { RLock, spawn } from 'iomodes/coro';
 * const lock = new RLock();
 * function* inner() { yield* lock.acquire(); try { return 'inner'; } finally { lock.release(); } }
 * const task = spawn(function* () {
 *   yield* lock.acquire();
 *   try { return yield* inner(); } finally { lock.release(); } // no deadlock
 * });
 * console.log(await task, lock.locked); // inner false
 * ```
 */
export class RLock {
  #owner: Task | undefined;
  #depth = 0;
  readonly #waiters = new WaitList<undefined>();

  /**
   * Whether a task holds it.
   *
   * @example
   * ```ts
   * console.log(lock.locked);
   * ```
   */
  get locked(): boolean {
    return this.#owner !== undefined;
  }

  /**
   * The task holding it, if any.
   *
   * @example
   * ```ts
   * if (lock.owner === current()) console.log('mine');
   * ```
   */
  get owner(): Task | undefined {
    return this.#owner;
  }

  /**
   * How many times its owner has acquired it and not yet released it (0 when free).
   *
   * @example
   * ```ts
   * console.log(lock.depth);
   * ```
   */
  get depth(): number {
    return this.#depth;
  }

  /**
   * How many tasks wait in {@link RLock.acquire} now.
   *
   * @example
   * ```ts
   * console.log(`${lock.waiting} in line`);
   * ```
   */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes the lock for the running task, or takes it once more if the task
   * holds it already; waits in line (FIFO) while another task holds it.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * yield* lock.acquire();
   * try { yield* update(); } finally { lock.release(); }
   * ```
   */
  acquire(): Operation<void> {
    return this.#acquiring();
  }

  /**
   * Takes the lock for the running task if that needs no wait; returns
   * whether it did.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` outside a task (a lock held by no task could never be released)
   * @example
   * ```ts
   * if (lock.tryAcquire()) { try { touch(); } finally { lock.release(); } }
   * ```
   */
  tryAcquire(): boolean {
    const me = useHub().task('RLock.tryAcquire()');
    if (this.#owner === me) {
      this.#depth++;
      return true;
    }
    if (this.#owner !== undefined) return false;
    this.#owner = me;
    this.#depth = 1;
    return true;
  }

  /**
   * Releases it once; the last release hands it to the task that has
   * waited longest.
   *
   * @throws `ERR_INVALID_STATE` unless the running task holds it;
   *   `ERR_CORO_OUTSIDE_TASK` outside a task
   * @example
   * ```ts
   * lock.release();
   * ```
   */
  release(): void {
    const me = useHub().task('RLock.release()');
    const owner = this.#owner;
    if (owner !== me) {
      throw invalidState(
        owner === undefined
          ? 'RLock.release(): the lock is not locked'
          : `RLock.release(): the lock is held by task ${owner.id}, not by the running task ${me.id}`,
      );
    }
    if (--this.#depth > 0) return;
    this.#owner = undefined;
    const next = this.#waiters.wakeOne(undefined);
    if (next !== undefined) {
      this.#owner = next.task;
      this.#depth = 1;
    }
  }

  *#acquiring(): Generator<Instruction, void, unknown> {
    const hub = useHub();
    const me = hub.task('RLock.acquire()');
    if (this.#owner === me) {
      this.#depth++;
      return;
    }
    if (this.#owner === undefined) {
      this.#owner = me;
      this.#depth = 1;
      return;
    }
    // release() makes this task the owner as it wakes it.
    yield* this.#waiters.park(me, hub.ticket(me));
  }
}
