/**
 * The types every part of the scheduler shares.
 *
 * @module
 */

/**
 * The one thing a task ever yields to the hub: "I have arranged to be woken;
 * suspend me". Operations yield it; task code never sees it, because it
 * `yield*`s operations instead of yielding values.
 *
 * @example
 * ```ts
 * // inside an operation, after arranging the wake-up:
 * const value = yield PARK;
 * ```
 */
export const PARK: unique symbol = Symbol('iomodes.coro.park');
/**
 * The type of `PARK`.
 *
 * @example
 * ```ts
 * import { spawn, sleep } from 'iomodes/coro';
 * import type { Instruction } from 'iomodes/coro';
 * function* worker(ms: number): Generator<Instruction, string, unknown> {
 *   yield* sleep(ms);
 *   return 'done';
 * }
 * console.log(await spawn(worker, 10)); // 'done'
 * ```
 */
export type Instruction = typeof PARK;

/**
 * Something a task waits for with `yield*`, which evaluates to `T`:
 * `const n = yield* read(fd, buf)`. Every operation is an iterable whose
 * iterator yields `PARK` while it waits and returns its result.
 *
 * @typeParam T what `yield*` gives back
 * @example
 * ```ts
 * import type { Operation } from 'iomodes/coro';
 * function* twice(op: () => Operation<number>): Operation<number> {
 *   return (yield* op()) + (yield* op());
 * }
 * ```
 */
export interface Operation<T> {
  [Symbol.iterator](): Iterator<Instruction, T, unknown>;
}

/**
 * The body of a task: a generator function. Its return value is the task's
 * value, and what it throws is the task's error.
 *
 * @example
 * ```ts
 * import { spawn, sleep, type TaskFunction } from 'iomodes/coro';
 * const worker: TaskFunction<string, [number]> = function* (ms) { yield* sleep(ms); return 'done'; };
 * spawn(worker, 10);
 * ```
 */
export type TaskFunction<T, A extends unknown[] = []> = (...args: A) => Generator<Instruction, T, unknown>;

/**
 * An operation that plain async code can also `await`: `joinAll`, `race`, a
 * task's `join()` and `kill()`. Inside a task, `yield*` it; outside, `await` it.
 *
 * @example
 * ```ts
 * import { joinAll, spawn, sleep } from 'iomodes/coro';
 * const all = joinAll([spawn(function* () { yield* sleep(1); return 1; })]);
 * console.log(await all); // [1]
 * ```
 */
export interface Awaitable<T> extends Operation<T>, PromiseLike<T> {}

/**
 * @internal What an operation's iterator returns while it waits: one shared,
 * frozen result, so parking allocates nothing (`yield*` hands an inner
 * iterator's result to the hub unchanged).
 */
export const PARKED: IteratorYieldResult<Instruction> = Object.freeze({ value: PARK, done: false as const });

/** @internal A finished operation's result with no value, shared. */
export const DONE_VOID: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true as const });
