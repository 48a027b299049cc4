/**
 * Starting tasks and waiting for groups of them: `spawn`, `spawnLater`,
 * `current`, `joinAll`, `killAll`, `race`, `asCompleted` (gevent's
 * `spawn`, `spawn_later`, `getcurrent`, `joinall`, `killall`, `iwait`).
 *
 * @module
 */
import { isGeneratorFunction } from 'node:util/types';
import { invalidArgType } from '../errors.js';
import { validateBoolean, validateInteger, validateOptions, validateTimeout } from '../validate.js';
import { concurrentUse } from './errors.js';
import { useHub } from './hub.js';
import { sleep } from './sleep.js';
import { Task } from './task.js';
import { PARK, type Awaitable, type Instruction, type TaskFunction } from './types.js';

function validateTaskFunction(fn: unknown): asserts fn is (...args: unknown[]) => Generator<Instruction, unknown, unknown> {
  if (!isGeneratorFunction(fn) || fn.constructor.name === 'AsyncGeneratorFunction') {
    throw invalidArgType('fn', 'a generator function (function* () {...})', fn);
  }
}

function validateTasks(tasks: unknown, name = 'tasks'): Task<unknown>[] {
  if (!Array.isArray(tasks)) throw invalidArgType(name, 'an instance of Array', tasks);
  const list: Task<unknown>[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const task: unknown = tasks[i];
    if (!(task instanceof Task)) throw invalidArgType(`${name}[${i}]`, 'an instance of Task', task);
    list.push(task);
  }
  return list;
}

/**
 * Starts `fn(...args)` as a new task on this thread's hub. It runs when the
 * hub next runs tasks (after the ones already ready: FIFO), not inside this
 * call. Outside a task, that is in a microtask, so ordinary async code can
 * spawn tasks and `await` them.
 *
 * @param fn a generator function: the task's body
 * @param args its arguments
 * @throws `TypeError` `ERR_INVALID_ARG_TYPE` unless `fn` is a generator function
 * @example
 * ```ts
 * import { spawn, sleep } from 'iomodes/coro';
 * const task = spawn(function* (name: string) { yield* sleep(10); return `hello, ${name}`; }, 'world');
 * console.log(await task);
 * ```
 */
export function spawn<T, A extends unknown[]>(fn: TaskFunction<T, A>, ...args: A): Task<T> {
  validateTaskFunction(fn);
  const hub = useHub();
  hub.assertOpen();
  const task = new Task<T>(hub, fn(...args), hub.current);
  hub.start(task);
  return task;
}

/**
 * Like {@link spawn}, but the task starts after `ms` milliseconds. Killed
 * before then, it never runs.
 *
 * @example
 * ```ts
 * import { spawnLater } from 'iomodes/coro';
 * spawnLater(1000, function* () { console.log('a second later'); });
 * ```
 */
export function spawnLater<T, A extends unknown[]>(ms: number, fn: TaskFunction<T, A>, ...args: A): Task<T> {
  validateTaskFunction(fn);
  const wait = sleep(ms);
  return spawn(function* (): Generator<Instruction, T, unknown> {
    yield* wait;
    return yield* fn(...args);
  });
}

/**
 * The task running now, or `undefined` outside any task.
 *
 * @example
 * ```ts
 * import { spawn, current } from 'iomodes/coro';
 * spawn(function* () { console.log(current()!.id); });
 * ```
 */
export function current(): Task | undefined {
  return useHub().current;
}

/**
 * Options for {@link joinAll}.
 *
 * @example
 * ```ts
 * import { spawn, sleep, joinAll, killAll } from 'iomodes/coro';
 * import type { JoinAllOptions } from 'iomodes/coro';
 * const tasks = [spawn(function* () { yield* sleep(10); }), spawn(function* () { yield* sleep(10_000); })];
 * const options: JoinAllOptions = { timeoutMs: 100 };
 * const done = await joinAll(tasks, options); // [tasks[0]]: the other still sleeps
 * await killAll(tasks);
 * ```
 */
export interface JoinAllOptions {
  /** Give up after this long and return the tasks done so far. Default: wait for all. */
  timeoutMs?: number;
  /** Throw the first failure as soon as it happens (gevent's `raise_error`). Default `false`. */
  raiseError?: boolean;
  /** Return once this many tasks are done. Default: all of them. */
  count?: number;
}

/**
 * Waits until every task in `tasks` has ended (or `count` of them, or the
 * timeout passes), and gives the ones that ended, in the order they ended
 * (gevent's `joinall`). Inside a task `yield*` it; outside, `await` it.
 *
 * Failures are not raised unless `raiseError` is set: check each task's
 * `successful`. A failure nobody takes charge of (by `raiseError`, `join()`
 * or `await`) is reported as an unhandled rejection, never lost.
 *
 * @example
 * ```ts
 * import { spawn, sleep, joinAll } from 'iomodes/coro';
 * const done = await joinAll([spawn(function* () { yield* sleep(20); }), spawn(function* () {})]);
 * console.log(done.length); // 2
 * ```
 */
export function joinAll<T extends Task<unknown>>(tasks: readonly T[], options?: JoinAllOptions): Awaitable<T[]> {
  const list = validateTasks(tasks) as T[];
  validateOptions(options as unknown);
  const timeout = validateTimeout(options?.timeoutMs, 'options.timeoutMs');
  const raiseError = options?.raiseError ?? false;
  validateBoolean(raiseError, 'options.raiseError');
  const count = options?.count ?? list.length;
  validateInteger(count, 'options.count', 0, list.length);
  return new Waiting(list, count, timeout, raiseError, false) as unknown as Awaitable<T[]>;
}

/**
 * Kills every task (see {@link Task.kill}) and waits until all have ended.
 *
 * @example
 * ```ts
 * import { killAll } from 'iomodes/coro';
 * yield* killAll(workers);
 * ```
 */
export function killAll(tasks: readonly Task[], error?: unknown): Awaitable<void> {
  const list = validateTasks(tasks);
  const hub = useHub();
  for (const task of list) {
    if (task !== hub.current) task.kill(...(error === undefined ? [] : [error]));
  }
  const all = new Waiting(list, list.length, -1, false, false);
  return {
    *[Symbol.iterator]() {
      yield* all;
    },
    then(onfulfilled, onrejected) {
      return all.then(() => undefined, undefined).then(onfulfilled, onrejected);
    },
  };
}

/**
 * Waits for the first of `tasks` to end and gives its value (or throws its
 * error); the others are killed, so none outlives the race.
 *
 * @example
 * ```ts
 * import { spawn, sleep, race } from 'iomodes/coro';
 * const winner = await race([spawn(function* () { yield* sleep(50); return 'slow'; }), spawn(function* () { return 'fast'; })]);
 * ```
 */
export function race<T>(tasks: readonly Task<T>[]): Awaitable<T> {
  // (Tasks of different value types: race<A | B>([...]).)
  const list = validateTasks(tasks) as Task<T>[];
  if (list.length === 0) throw invalidArgType('tasks', 'a non-empty array of tasks', tasks);
  const first = new Waiting(list, 1, -1, false, true);
  const finish = (done: Task<T>[]): T => {
    const winner = done[0]!;
    for (const task of list) if (task !== winner) task.kill();
    return winner._outcome();
  };
  return {
    *[Symbol.iterator]() {
      return finish(yield* first);
    },
    then(onfulfilled, onrejected) {
      return first.then(finish).then(onfulfilled, onrejected);
    },
  };
}

/**
 * The tasks of `tasks` as they end (gevent's `iwait`), inside a task:
 * `yield* completed.next()` gives the next one, or `undefined` once all have
 * been given. (Outside a task, race the tasks as promises: a task is
 * awaitable, so a promise cannot carry the task itself.)
 *
 * @example
 * ```ts
 * import { asCompleted } from 'iomodes/coro';
 * const completed = asCompleted(tasks);
 * for (let task; (task = yield* completed.next()) !== undefined; ) console.log(task.id, task.value);
 * ```
 */
export function asCompleted<T>(tasks: readonly Task<T>[]): CompletedTasks<T> {
  return new CompletedTasks(validateTasks(tasks) as Task<T>[]);
}

/**
 * What {@link asCompleted} returns: `yield* completed.next()` gives the next
 * task to end.
 *
 * @example
 * ```ts
 * const completed = asCompleted(tasks);
 * const first = yield* completed.next();
 * ```
 */
export class CompletedTasks<T> {
  readonly #ended: Task<T>[] = [];
  #left: number;
  #wake: (() => void) | undefined;

  /** @internal Use {@link asCompleted}. */
  constructor(tasks: Task<T>[]) {
    this.#left = tasks.length;
    for (const task of tasks) {
      task._observe(() => {
        this.#ended.push(task);
        const wake = this.#wake;
        this.#wake = undefined;
        wake?.();
      }, false);
    }
  }

  /**
   * The next task to end, or `undefined` once every one has been given.
   *
   * @example
   * ```ts
   * const task = yield* completed.next();
   * ```
   */
  *next(): Generator<Instruction, Task<T> | undefined, unknown> {
    if (this.#ended.length === 0 && this.#left > 0) {
      const hub = useHub();
      const me = hub.task('asCompleted().next()');
      if (this.#wake !== undefined) throw concurrentUse('another task already waits in this asCompleted().next()');
      const ticket = hub.ticket(me);
      this.#wake = () => hub.resume(me, ticket);
      try {
        yield PARK;
      } finally {
        this.#wake = undefined;
      }
    }
    const task = this.#ended.shift();
    if (task !== undefined) this.#left--;
    return task;
  }
}

// joinAll, killAll and race: wait until `count` tasks have ended.
class Waiting<T> implements Awaitable<Task<T>[]> {
  constructor(
    readonly tasks: Task<T>[],
    readonly count: number,
    readonly timeout: number,
    readonly raiseError: boolean,
    readonly handles: boolean,
  ) {}

  *[Symbol.iterator](): Generator<Instruction, Task<T>[], unknown> {
    const ended: Task<T>[] = [];
    const failure = this.#collect(ended);
    if (failure !== undefined) throw failure.error;
    if (ended.length >= this.count) return ended;
    const hub = useHub();
    const me = hub.task('joinAll()');
    const ticket = hub.ticket(me);
    const observers = this.tasks.map((task) =>
      task.done
        ? undefined
        : task._observe((t) => {
            ended.push(t as Task<T>);
            if (ended.length >= this.count || (this.raiseError && !t.successful)) hub.resume(me, ticket);
          }, this.handles || this.raiseError),
    );
    const timer = this.timeout >= 0 ? hub.setTimer(this.timeout, () => hub.resume(me, ticket)) : undefined;
    try {
      yield PARK;
    } finally {
      if (timer !== undefined) hub.clearTimer(timer);
      this.tasks.forEach((task, i) => {
        const observer = observers[i];
        if (observer !== undefined) task._unobserve(observer);
      });
    }
    if (this.raiseError) {
      const failed = ended.find((t) => !t.successful);
      if (failed !== undefined) throw failed.error;
    }
    return ended;
  }

  then<R1 = Task<T>[], R2 = never>(
    onfulfilled?: ((value: Task<T>[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const promise = new Promise<Task<T>[]>((resolve, reject) => {
      const ended: Task<T>[] = [];
      const failure = this.#collect(ended);
      if (failure !== undefined) return reject(failure.error);
      if (ended.length >= this.count) return resolve(ended);
      let settled = false;
      const timer = this.timeout >= 0 ? setTimeout(() => finish(), this.timeout) : undefined;
      const finish = (error?: { error: unknown }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) reject(error.error);
        else resolve(ended);
      };
      for (const task of this.tasks) {
        if (task.done) continue;
        task._observe((t) => {
          ended.push(t as Task<T>);
          if (this.raiseError && !t.successful) finish({ error: t.error });
          else if (ended.length >= this.count) finish();
        }, this.handles || this.raiseError);
      }
    });
    return promise.then(onfulfilled, onrejected);
  }

  // The tasks already ended, in the list's order; a failure to raise at once.
  #collect(ended: Task<T>[]): { error: unknown } | undefined {
    for (const task of this.tasks) {
      if (!task.done) continue;
      if (this.handles || this.raiseError) task._observe(() => {}, true);
      if (this.raiseError && !task.successful) return { error: task.error };
      ended.push(task);
    }
    return undefined;
  }
}
