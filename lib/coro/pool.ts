/**
 * Sets of tasks (gevent's `gevent.pool`): a {@link Group} tracks tasks and
 * waits for or kills them together; a {@link Pool} is a group of bounded
 * size, whose `spawn()` waits while it is full, with `map()` and
 * `imapUnordered()` to run one task per item.
 *
 * @module
 */
import { isGeneratorFunction } from 'node:util/types';
import { invalidArgType } from '../errors.js';
import { validateBoolean, validateInteger, validateOptions, validateTimeout } from '../validate.js';
import { concurrentUse, invalidState, isTaskExit } from './errors.js';
import type { TimerEntry } from './heap.js';
import { useHub } from './hub.js';
import { killAll, spawn } from './spawn.js';
import { awaitable, Semaphore } from './sync.js';
import { Task } from './task.js';
import { PARK, type Awaitable, type Instruction, type Operation, type TaskFunction } from './types.js';
import { Waiter, WaitList } from './waitlist.js';

type Observer = ReturnType<Task['_observe']>;

const noop = (): void => {};

function validateTaskFunction(fn: unknown): void {
  if (!isGeneratorFunction(fn) || fn.constructor.name === 'AsyncGeneratorFunction') {
    throw invalidArgType('fn', 'a generator function (function* () {...})', fn);
  }
}

function validateTask(task: unknown): asserts task is Task {
  if (!(task instanceof Task)) throw invalidArgType('task', 'an instance of Task', task);
}

function validateIterable(items: unknown): asserts items is Iterable<unknown> {
  if (items === null || items === undefined || typeof (items as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalidArgType('items', 'an iterable (an Array, a Set, a generator, ...)', items);
  }
}

/**
 * Options for {@link Group.join} and {@link Pool.join}.
 *
 * @example
 * ```ts
 * import { Group, sleep } from 'iomodes/coro';
 * import type { GroupJoinOptions } from 'iomodes/coro';
 * const group = new Group();
 * group.spawn(function* () { yield* sleep(10_000); });
 * const options: GroupJoinOptions = { timeoutMs: 100, raiseError: true };
 * await group.join(options); // false: the task still sleeps after 100 ms
 * await group.kill();
 * ```
 */
export interface GroupJoinOptions {
  /** Give up after this long and give `false`. Default: no limit. */
  timeoutMs?: number;
  /**
   * Throw the error of the first member that fails while `join()` waits
   * (gevent's `raise_error`), which takes charge of it. Default `false`:
   * failures are not thrown, and one nobody joins is reported as an
   * unhandled rejection.
   */
  raiseError?: boolean;
}

/**
 * A set of tasks to wait for or kill together (gevent's `Group`). A task
 * leaves the group as it ends; {@link Group.join} waits until the group is
 * empty, tasks added meanwhile included.
 *
 * @example
 * ```ts
 * import { Group, sleep } from 'iomodes/coro';
 * const group = new Group();
 * for (const ms of [30, 10, 20]) group.spawn(function* () { yield* sleep(ms); });
 * console.log(group.size); // 3
 * await group.join();
 * console.log(group.size); // 0
 * ```
 */
export class Group implements Iterable<Task> {
  readonly #members = new Map<Task, Observer>();
  readonly #joiners = new WaitList<boolean>();
  readonly #failureWatchers = new Set<(task: Task) => void>();
  /** @internal Called as a task leaves (ends, or is discarded). */
  _onLeave: ((task: Task) => void) | undefined;
  /** @internal The name errors use. */
  _name = 'Group';

  /**
   * How many tasks it holds.
   *
   * @example
   * ```ts
   * console.log(`${group.size} running`);
   * ```
   */
  get size(): number {
    return this.#members.size;
  }

  /**
   * Whether `task` is in it.
   *
   * @example
   * ```ts
   * if (!group.has(task)) group.add(task);
   * ```
   */
  has(task: Task): boolean {
    return this.#members.has(task);
  }

  /**
   * Its tasks, in the order they were added.
   *
   * @example
   * ```ts
   * for (const task of group) console.log(task.id);
   * ```
   */
  [Symbol.iterator](): IterableIterator<Task> {
    return this.#members.keys();
  }

  /**
   * Adds a task; it leaves the group when it ends. Adding a task that has
   * ended, or one already in the group, does nothing.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `task` is a {@link Task}
   * @example
   * ```ts
   * group.add(spawn(worker));
   * ```
   */
  add(task: Task): void {
    validateTask(task);
    if (task.done || this.#members.has(task)) return;
    this.#members.set(
      task,
      task._observe((t) => this.#leave(t), false),
    );
  }

  /**
   * Takes a task out of the group without killing it. A task not in the group is ignored.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `task` is a {@link Task}
   * @example
   * ```ts
   * group.discard(daemon); // join() no longer waits for it
   * ```
   */
  discard(task: Task): void {
    validateTask(task);
    const observer = this.#members.get(task);
    if (observer === undefined) return;
    task._unobserve(observer);
    this.#leave(task);
  }

  /**
   * Starts `fn(...args)` as a task (see {@link spawn}) and adds it.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `fn` is a generator function
   * @example
   * ```ts
   * const task = group.spawn(function* (url: string) { return yield* fetchPage(url); }, 'http://example.com/');
   * ```
   */
  spawn<T, A extends unknown[]>(fn: TaskFunction<T, A>, ...args: A): Task<T> {
    const task = spawn(fn, ...args);
    this.add(task);
    return task;
  }

  /**
   * Waits until the group is empty, and gives `true`; or `false` once
   * `options.timeoutMs` runs out first. Inside a task `yield*` it; outside,
   * `await` it.
   *
   * @throws with `raiseError`, the error of the first member that fails while
   *   it waits; `ERR_INVALID_STATE` if the running task is a member (it would
   *   wait for itself); `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for bad options
   * @example
   * ```ts
   * yield* group.join();
   * const allDone = await group.join({ timeoutMs: 5000, raiseError: true });
   * ```
   */
  join(options?: GroupJoinOptions): Awaitable<boolean> {
    validateOptions(options as unknown);
    const ms = validateTimeout(options?.timeoutMs, 'options.timeoutMs');
    const raiseError = options?.raiseError ?? false;
    validateBoolean(raiseError, 'options.raiseError');
    return awaitable(
      () => this.#joining(ms, raiseError),
      () => this.#joinPromise(ms, raiseError),
    );
  }

  /**
   * Kills every task in the group (see {@link Task.kill}) but the running
   * one, at once; `yield*` or `await` the result to wait until they have
   * ended.
   *
   * @param error what to raise in them; default a {@link TaskExit}
   * @example
   * ```ts
   * yield* group.kill();
   * ```
   */
  kill(error?: unknown): Awaitable<void> {
    const me = useHub().current;
    return killAll(
      [...this.#members.keys()].filter((task) => task !== me),
      error,
    );
  }

  #leave(task: Task): void {
    if (!this.#members.delete(task)) return;
    this._onLeave?.(task);
    if (task.done && !task.successful && this.#failureWatchers.size > 0) {
      task._observe(noop, true); // a join({ raiseError }) takes charge of it
      for (const watcher of [...this.#failureWatchers]) watcher(task);
    }
    if (this.#members.size === 0) this.#joiners.wakeAll(true);
  }

  *#joining(ms: number, raiseError: boolean): Generator<Instruction, boolean, unknown> {
    const hub = useHub();
    const me = hub.task(`${this._name}.join()`);
    if (this.#members.has(me)) throw invalidState(`${this._name}.join(): task ${me.id} is in this ${this._name.toLowerCase()}, and would wait for itself`);
    if (this.#members.size === 0) return true;
    const ticket = hub.ticket(me);
    const joiner = this.#joiners.push(new Waiter(me, ticket));
    const watcher = raiseError ? (task: Task): void => void hub.fail(me, ticket, task.error) : undefined;
    if (watcher !== undefined) this.#failureWatchers.add(watcher);
    const timer = ms >= 0 ? hub.setTimer(ms, () => hub.resume(me, ticket, false)) : undefined;
    try {
      return (yield PARK) as boolean;
    } finally {
      this.#joiners.remove(joiner);
      if (watcher !== undefined) this.#failureWatchers.delete(watcher);
      if (timer !== undefined) hub.clearTimer(timer);
    }
  }

  #joinPromise(ms: number, raiseError: boolean): Promise<boolean> {
    if (this.#members.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      const hub = ms >= 0 ? useHub() : undefined;
      let timer: TimerEntry | undefined;
      const finish = (): void => {
        this.#joiners.remove(joiner);
        this.#failureWatchers.delete(watcher);
        if (timer !== undefined) hub!.clearTimer(timer);
      };
      const joiner = this.#joiners.push(
        new Waiter<boolean>(undefined, 0, () => {
          finish();
          resolve(true);
        }),
      );
      const watcher = (task: Task): void => {
        finish();
        reject(task.error);
      };
      if (raiseError) this.#failureWatchers.add(watcher);
      if (hub !== undefined) {
        timer = hub.setTimer(ms, () => {
          finish();
          resolve(false);
        });
      }
    });
  }
}

/**
 * A {@link Group} of at most `capacity` tasks (gevent's `Pool`): inside a
 * task, `yield* pool.spawn(fn)` waits while the pool is full, in FIFO order
 * with the other spawners, so a pool bounds how much work runs at once.
 * {@link Pool.map} and {@link Pool.imapUnordered} run one task per item.
 *
 * @example
 * ```ts
 * import { Pool, spawn, sleep } from 'iomodes/coro';
 * const pool = new Pool(2);
 * const main = spawn(function* () {
 *   return yield* pool.map(function* (ms: number) { yield* sleep(ms); return ms * 2; }, [30, 10, 20]);
 * });
 * console.log(await main); // [ 60, 20, 40 ]: in the order of the items
 * ```
 */
export class Pool implements Iterable<Task> {
  /** The most tasks it holds at once. */
  readonly capacity: number;
  readonly #group = new Group();
  readonly #slots: Semaphore;

  /**
   * @param capacity the most tasks it holds at once: an integer `>= 1`
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for anything else
   * @example
   * ```ts
   * const pool = new Pool(16);
   * ```
   */
  constructor(capacity: number) {
    validateInteger(capacity, 'capacity', 1);
    this.capacity = capacity;
    const slots = new Semaphore(capacity);
    this.#slots = slots;
    this.#group._name = 'Pool';
    this.#group._onLeave = () => slots.release();
  }

  /**
   * How many tasks it holds.
   *
   * @example
   * ```ts
   * console.log(`${pool.size}/${pool.capacity} busy`);
   * ```
   */
  get size(): number {
    return this.#group.size;
  }

  /**
   * How many more tasks it can take now without waiting (gevent's `free_count()`).
   *
   * @example
   * ```ts
   * if (pool.freeCount > 0) yield* pool.spawn(job);
   * ```
   */
  get freeCount(): number {
    return this.#slots.count;
  }

  /**
   * Whether it is full, so {@link Pool.spawn} would wait.
   *
   * @example
   * ```ts
   * if (pool.full) console.log('saturated');
   * ```
   */
  get full(): boolean {
    return this.#slots.count === 0;
  }

  /**
   * Whether `task` is in it.
   *
   * @example
   * ```ts
   * console.log(pool.has(task));
   * ```
   */
  has(task: Task): boolean {
    return this.#group.has(task);
  }

  /**
   * Its tasks, in the order they were added.
   *
   * @example
   * ```ts
   * for (const task of pool) console.log(task.id);
   * ```
   */
  [Symbol.iterator](): IterableIterator<Task> {
    return this.#group[Symbol.iterator]();
  }

  /**
   * Starts `fn(...args)` as a task in the pool, first waiting in line
   * (FIFO) while the pool is full; gives the task. Killed or timed out
   * while waiting, nothing is started.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `fn` is a generator function (at
   *   the call); `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * const task = yield* pool.spawn(function* (url: string) { return yield* fetchPage(url); }, url);
   * ```
   */
  spawn<T, A extends unknown[]>(fn: TaskFunction<T, A>, ...args: A): Operation<Task<T>> {
    validateTaskFunction(fn);
    return this.#spawning('Pool.spawn()', fn, args);
  }

  /**
   * Adds a task started elsewhere, first waiting in line while the pool is
   * full. A task that has ended (by then), or is in the pool already, is not added.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `task` is a {@link Task};
   *   `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * yield* pool.add(spawn(worker));
   * ```
   */
  add(task: Task): Operation<void> {
    validateTask(task);
    return this.#adding(task);
  }

  /**
   * Takes a task out of the pool without killing it, freeing its place.
   *
   * @throws `ERR_INVALID_ARG_TYPE` unless `task` is a {@link Task}
   * @example
   * ```ts
   * pool.discard(longRunning);
   * ```
   */
  discard(task: Task): void {
    this.#group.discard(task);
  }

  /**
   * Runs `fn(item)` in a task for every item, at most `capacity` at a time
   * (with the pool's other tasks), and gives the results in the order of
   * the items (gevent's `Pool.map`). If one fails (or is killed), the
   * others are killed and its error (or {@link TaskExit}) is thrown; if the
   * calling task is killed, so are they: no task outlives the call.
   *
   * @param fn a generator function, called with each item
   * @param items an iterable, read at the call
   * @throws `ERR_INVALID_ARG_TYPE` for a bad `fn` or `items` (at the call);
   *   `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * const sizes = yield* pool.map(function* (url: string) { return (yield* fetchPage(url)).length; }, urls);
   * ```
   */
  map<T, R>(fn: TaskFunction<R, [T]>, items: Iterable<T>): Operation<R[]> {
    validateTaskFunction(fn);
    validateIterable(items);
    return this.#mapping(fn, Array.from(items));
  }

  /**
   * Runs `fn(item)` in a task for every item, at most `capacity` at a time,
   * and gives the results as they come (gevent's `imap_unordered`): `yield*
   * results.next()` inside a task. Items are read as places free up, so the
   * iterable may be endless; new tasks start as results are taken.
   *
   * @param fn a generator function, called with each item
   * @param items an iterable, read lazily
   * @throws `ERR_INVALID_ARG_TYPE` for a bad `fn` or `items`
   * @example
   * ```ts
   * const results = pool.imapUnordered(function* (ms: number) { yield* sleep(ms); return ms; }, [30, 10, 20]);
   * for (let r; !(r = yield* results.next()).done; ) console.log(r.value); // 10 20 30
   * ```
   */
  imapUnordered<T, R>(fn: TaskFunction<R, [T]>, items: Iterable<T>): MapResults<R> {
    validateTaskFunction(fn);
    validateIterable(items);
    return new MapResults<R>(
      items[Symbol.iterator](),
      this.#slots,
      (item) => this.#launch(fn as TaskFunction<R, [unknown]>, [item]),
    );
  }

  /**
   * Waits until the pool is empty: see {@link Group.join}.
   *
   * @example
   * ```ts
   * await pool.join();
   * ```
   */
  join(options?: GroupJoinOptions): Awaitable<boolean> {
    return this.#group.join(options);
  }

  /**
   * Kills every task in the pool but the running one: see {@link Group.kill}.
   *
   * @example
   * ```ts
   * yield* pool.kill();
   * ```
   */
  kill(error?: unknown): Awaitable<void> {
    return this.#group.kill(error);
  }

  // Starts a task on a place already taken.
  #launch<T, A extends unknown[]>(fn: TaskFunction<T, A>, args: A): Task<T> {
    let task: Task<T>;
    try {
      task = spawn(fn, ...args);
    } catch (error) {
      this.#slots.release();
      throw error;
    }
    this.#group.add(task);
    return task;
  }

  *#spawning<T, A extends unknown[]>(what: string, fn: TaskFunction<T, A>, args: A): Generator<Instruction, Task<T>, unknown> {
    yield* this.#slots._acquiring(what);
    return this.#launch(fn, args);
  }

  *#adding(task: Task): Generator<Instruction, void, unknown> {
    useHub().task('Pool.add()');
    if (task.done || this.#group.has(task)) return;
    yield* this.#slots._acquiring('Pool.add()');
    if (task.done || this.#group.has(task)) {
      this.#slots.release();
      return;
    }
    this.#group.add(task);
  }

  *#mapping<T, R>(fn: TaskFunction<R, [T]>, items: T[]): Generator<Instruction, R[], unknown> {
    const hub = useHub();
    const me = hub.task('Pool.map()');
    const tasks: Task<R>[] = [];
    let failed: Task<R> | undefined;
    let left = 0;
    let wake: (() => void) | undefined;
    const ended = (task: Task<unknown>): void => {
      left--;
      if (!task.successful || isTaskExit(task.value)) failed ??= task as Task<R>;
      if (failed !== undefined || left === 0) wake?.();
    };
    try {
      for (const item of items) {
        if (failed !== undefined) break;
        yield* this.#slots._acquiring('Pool.map()');
        if (failed !== undefined) {
          this.#slots.release();
          break;
        }
        const task = this.#launch(fn, [item] as [T]);
        tasks.push(task);
        left++;
        task._observe(ended, true);
      }
      if (failed === undefined && left > 0) {
        // Until all have ended, or one fails.
        const ticket = hub.ticket(me);
        wake = () => hub.resume(me, ticket);
        try {
          yield PARK;
        } finally {
          wake = undefined;
        }
      }
      // Throws its error, or its TaskExit if it was killed.
      if (failed !== undefined) failed._outcome();
      return tasks.map((task) => task._outcome());
    } finally {
      const running = tasks.filter((task) => !task.done);
      if (running.length > 0) yield* killAll(running);
    }
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * What {@link Pool.imapUnordered} gives: the results of its tasks in the
 * order they end. `yield* results.next()` gives `{ done: false, value }`
 * for each, then `{ done: true }` (effection's `Subscription` shape). When
 * a task fails (or is killed), `next()` kills the others and throws its
 * error (or its {@link TaskExit}). Stop early with {@link MapResults.close}.
 *
 * @typeParam R the results
 * @example
 * ```ts
 * import { Pool, spawn, sleep } from 'iomodes/coro';
 * const pool = new Pool(3);
 * const main = spawn(function* () {
 *   const seen: number[] = [];
 *   const results = pool.imapUnordered(function* (ms: number) { yield* sleep(ms); return ms; }, [30, 10, 20]);
 *   for (let r; !(r = yield* results.next()).done; ) seen.push(r.value);
 *   return seen;
 * });
 * console.log(await main); // [ 10, 20, 30 ]
 * ```
 */
export class MapResults<R> {
  readonly #items: Iterator<unknown>;
  readonly #slots: Semaphore;
  readonly #launch: (item: unknown) => Task<R>;
  // An item read from the iterable that waits for a place.
  #held: { item: unknown } | undefined;
  #exhausted = false;
  #closed = false;
  readonly #running = new Set<Task<R>>();
  readonly #ended: Task<R>[] = [];
  #waiter: { task: Task; ticket: number } | undefined;

  /** @internal Use {@link Pool.imapUnordered}. */
  constructor(items: Iterator<unknown>, slots: Semaphore, launch: (item: unknown) => Task<R>) {
    this.#items = items;
    this.#slots = slots;
    this.#launch = launch;
    this.#fill();
  }

  /**
   * Tasks running, and results not taken yet.
   *
   * @example
   * ```ts
   * console.log(`${results.pending} to come`);
   * ```
   */
  get pending(): number {
    return this.#running.size + this.#ended.length;
  }

  /**
   * The next result to come: `{ done: false, value }`, or `{ done: true,
   * value: undefined }` once every item's result has been given (or after
   * {@link MapResults.close}). Starts tasks for further items as places
   * free up, waiting in line for one if the pool is full of other tasks.
   *
   * @throws the error of a task that failed, or the {@link TaskExit} of one
   *   that was killed (the others are then killed);
   *   `ERR_CONCURRENT_USE` if another task waits in `next()`;
   *   `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * const r = yield* results.next();
   * if (!r.done) console.log(r.value);
   * ```
   */
  next(): Operation<IteratorResult<R, undefined>> {
    return this.#nexting();
  }

  /**
   * Stops: no more items are read, the tasks still running are killed
   * (`yield*` or `await` the result to wait until they have ended), results
   * not taken are dropped, and `next()` gives `{ done: true }`.
   *
   * @example
   * ```ts
   * yield* results.close();
   * ```
   */
  close(): Awaitable<void> {
    this.#closed = true;
    this.#held = undefined;
    this.#ended.length = 0;
    const waiter = this.#waiter;
    if (waiter !== undefined) waiter.task.hub.resume(waiter.task, waiter.ticket);
    return killAll([...this.#running]);
  }

  *#nexting(): Generator<Instruction, IteratorResult<R, undefined>, unknown> {
    const hub = useHub();
    const me = hub.task('Pool.imapUnordered().next()');
    if (this.#waiter !== undefined) throw concurrentUse(`Pool.imapUnordered(): task ${this.#waiter.task.id} is already waiting in next()`);
    for (;;) {
      if (this.#closed) return DONE;
      this.#fill();
      const task = this.#ended.shift();
      if (task !== undefined) {
        let value: R;
        try {
          value = task._outcome(); // a killed task's TaskExit is thrown too
        } catch (error) {
          yield* this.close();
          throw error;
        }
        return { done: false, value };
      }
      if (this.#running.size === 0) {
        if (!this.#pull()) {
          this.#closed = true;
          return DONE;
        }
        // The pool is full of other tasks: wait for a place.
        yield* this.#slots._acquiring('Pool.imapUnordered().next()');
        if (this.#closed || !this.#pull()) {
          this.#slots.release();
          continue;
        }
        this.#start();
        continue;
      }
      const ticket = hub.ticket(me);
      this.#waiter = { task: me, ticket };
      try {
        yield PARK;
      } finally {
        this.#waiter = undefined;
      }
    }
  }

  // Starts tasks while places are free and items left; reads an item only for a free place.
  #fill(): void {
    while (!this.#closed && this.#slots.count > 0 && this.#pull() && this.#slots.tryAcquire()) this.#start();
  }

  // Makes sure an item waits in #held; false once the iterable is done.
  #pull(): boolean {
    if (this.#held !== undefined) return true;
    if (this.#exhausted) return false;
    let next: IteratorResult<unknown>;
    try {
      next = this.#items.next();
    } catch (error) {
      this.#exhausted = true;
      throw error;
    }
    if (next.done === true) {
      this.#exhausted = true;
      return false;
    }
    this.#held = { item: next.value };
    return true;
  }

  // Starts the held item's task, on a place already taken.
  #start(): void {
    const { item } = this.#held!;
    this.#held = undefined;
    const task = this.#launch(item);
    this.#running.add(task);
    task._observe((t) => {
      this.#running.delete(task);
      if (this.#closed) return;
      this.#ended.push(t as Task<R>);
      const waiter = this.#waiter;
      if (waiter !== undefined) waiter.task.hub.resume(waiter.task, waiter.ticket);
    }, true);
  }
}
