/**
 * Queues between tasks (gevent's `gevent.queue`): {@link Queue} (FIFO),
 * {@link LifoQueue}, {@link PriorityQueue} and {@link JoinableQueue}.
 *
 * `put()` waits while a bounded queue is full and `get()` while it is
 * empty; waiters are served in FIFO order. An item put while a task waits
 * in `get()` goes straight to that task. A wait that ends early (the task
 * is killed, or a {@link withTimeout} runs out) leaves the line at once, and
 * no item is ever lost: an item is handed only to a getter that still
 * waits, and a getter it was handed to receives it even if it is killed
 * right after (the kill takes effect at its next `yield`).
 *
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { validateFunction, validateOptions, validateTimeout } from '../validate.js';
import { invalidState } from './errors.js';
import { useHub } from './hub.js';
import type { Task } from './task.js';
import { Gate } from './sync.js';
import { PARK, PARKED, type Awaitable, type Instruction, type Operation } from './types.js';
import { IteratorOperation } from './operation.js';
import { WaitList, type WaitNode } from './waitlist.js';

/**
 * What {@link Queue.tryGet} and {@link Queue.peek} give: `{ ok: true, value }`
 * when there was an item, `{ ok: false, value: undefined }` when the queue
 * was empty. `ok` tells the two apart even for a queue of `undefined`s.
 *
 * @typeParam T the queue's items
 * @example
 * ```ts
 * import { Queue } from 'iomodes/coro';
 * const queue = new Queue<string>();
 * queue.tryPut('a');
 * const { ok, value } = queue.tryGet();
 * if (ok) console.log(value); // a
 * ```
 */
export type TryResult<T> = { ok: true; value: T } | { ok: false; value: undefined };

const EMPTY: TryResult<never> = Object.freeze({ ok: false, value: undefined });
const NONE: unique symbol = Symbol('none');

/**
 * How a queue stores its items: the one thing {@link Queue},
 * {@link LifoQueue} and {@link PriorityQueue} do differently.
 *
 * @internal
 */
export interface Store<T> {
  readonly length: number;
  push(item: T): void;
  /** Removes and returns the next item (the store is not empty). */
  take(): T;
  /** The next item, left in place (the store is not empty). */
  first(): T;
}

// FIFO: a growable ring.
class Deque<T> implements Store<T> {
  #ring: (T | undefined)[] = new Array(16);
  #mask = 15;
  #head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.length) & this.#mask] = item;
    this.length++;
  }

  take(): T {
    const item = this.#ring[this.#head] as T;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.length--;
    return item;
  }

  first(): T {
    return this.#ring[this.#head] as T;
  }

  #grow(): void {
    const size = this.#ring.length;
    const ring = new Array<T | undefined>(size * 2);
    for (let i = 0; i < size; i++) ring[i] = this.#ring[(this.#head + i) & this.#mask];
    this.#ring = ring;
    this.#head = 0;
    this.#mask = size * 2 - 1;
  }
}

// LIFO: an array used as a stack.
class Stack<T> implements Store<T> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T {
    return this.#items.pop() as T;
  }

  first(): T {
    return this.#items[this.#items.length - 1] as T;
  }
}

interface HeapEntry<T> {
  item: T;
  seq: number;
}

// Priority: a binary min-heap; ties go to the item put first. Each change
// makes all its comparisons before it moves anything, so a comparator that
// throws leaves the heap as it was.
class Heap<T> implements Store<T> {
  readonly #heap: HeapEntry<T>[] = [];
  readonly #compare: (a: T, b: T) => number;
  #seq = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get length(): number {
    return this.#heap.length;
  }

  push(item: T): void {
    const heap = this.#heap;
    const entry = { item, seq: this.#seq };
    const path: number[] = [];
    for (let i = heap.length; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#less(entry, heap[parent]!)) break;
      path.push(parent);
      i = parent;
    }
    this.#seq++;
    let hole = heap.length;
    heap.push(entry);
    for (const parent of path) {
      heap[hole] = heap[parent]!;
      hole = parent;
    }
    heap[hole] = entry;
  }

  take(): T {
    const heap = this.#heap;
    const n = heap.length - 1;
    const last = heap[n]!;
    const path: number[] = [];
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(heap[right]!, heap[left]!) ? right : left;
      if (!this.#less(heap[child]!, last)) break;
      path.push(child);
      i = child;
    }
    const top = heap[0]!;
    heap.pop();
    if (n > 0) {
      let hole = 0;
      for (const child of path) {
        heap[hole] = heap[child]!;
        hole = child;
      }
      heap[hole] = last;
    }
    return top.item;
  }

  first(): T {
    return this.#heap[0]!.item;
  }

  #less(a: HeapEntry<T>, b: HeapEntry<T>): boolean {
    const order = this.#compare(a.item, b.item);
    return order < 0 || (!(order > 0) && a.seq < b.seq);
  }
}

/** What a waiting put() is woken with: whether its item went in (only a throwing comparator refuses it). */
interface PutOutcome {
  refused: boolean;
  error: unknown;
}

function validateMaxsize(maxsize: unknown, name: string): asserts maxsize is number {
  if (typeof maxsize !== 'number') throw invalidArgType(name, 'of type number', maxsize);
  if (maxsize === Infinity) return;
  if (!Number.isInteger(maxsize) || maxsize < 1) throw outOfRange(name, 'an integer >= 1, or Infinity', maxsize);
}

/**
 * A FIFO queue between tasks (gevent's `Queue`). {@link Queue.put} waits
 * while the queue holds `maxsize` items (backpressure), {@link Queue.get}
 * while it is empty; {@link Queue.tryPut} and {@link Queue.tryGet} never
 * wait. Tasks waiting to put or to get are served in the order they came.
 *
 * @typeParam T the items
 * @example
 * ```ts
 * import { Queue, spawn, joinAll } from 'iomodes/coro';
 * const queue = new Queue<number>(2);
 * const producer = spawn(function* () {
 *   for (let i = 1; i <= 5; i++) yield* queue.put(i); // waits while 2 are queued
 *   yield* queue.put(0);
 * });
 * const consumer = spawn(function* () {
 *   let sum = 0;
 *   for (let n; (n = yield* queue.get()) !== 0; ) sum += n;
 *   return sum;
 * });
 * await joinAll([producer, consumer]);
 * console.log(consumer.value); // 15
 * ```
 */
export class Queue<T> {
  /** The most items it holds (`Infinity`: unbounded). */
  readonly maxsize: number;
  /** @internal The items; subclasses replace it. */
  protected _items: Store<T> = new Deque<T>();
  /** @internal Tasks waiting in get(). */
  readonly _getters = new WaitList<unknown, Getting<unknown>>();
  /** @internal Tasks waiting in put(), with their items. */
  readonly _putters = new WaitList<PutOutcome, Putting<unknown>>();
  /** @internal Names for errors, made once: "LifoQueue.get()". */
  readonly _labels: { get: string; put: string };

  /**
   * @param maxsize the most items it holds: an integer `>= 1`, or `Infinity` (the default)
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for anything else
   * @example
   * ```ts
   * const unbounded = new Queue<string>();
   * const bounded = new Queue<Buffer>(64);
   * ```
   */
  constructor(maxsize = Infinity) {
    validateMaxsize(maxsize, 'maxsize');
    this.maxsize = maxsize;
    this._labels = { get: `${new.target.name}.get()`, put: `${new.target.name}.put()` };
  }

  /**
   * How many items it holds (not counting those of `put()`s still waiting).
   *
   * @example
   * ```ts
   * console.log(`${queue.size} queued`);
   * ```
   */
  get size(): number {
    return this._items.length;
  }

  /**
   * Whether it holds no item, so {@link Queue.get} would wait.
   *
   * @example
   * ```ts
   * if (queue.empty) console.log('idle');
   * ```
   */
  get empty(): boolean {
    return this._items.length === 0;
  }

  /**
   * Whether it holds `maxsize` items, so {@link Queue.put} would wait
   * (unless a task waits in `get()`, which takes the item at once).
   *
   * @example
   * ```ts
   * if (queue.full) console.log('backpressure');
   * ```
   */
  get full(): boolean {
    return this._items.length >= this.maxsize;
  }

  /**
   * How many tasks wait in {@link Queue.get} now (gevent's `getters`).
   *
   * @example
   * ```ts
   * console.log(`${queue.getters} consumers idle`);
   * ```
   */
  get getters(): number {
    return this._getters.length;
  }

  /**
   * How many tasks wait in {@link Queue.put} now, their items not yet in (gevent's `putters`).
   *
   * @example
   * ```ts
   * console.log(`${queue.putters} producers held back`);
   * ```
   */
  get putters(): number {
    return this._putters.length;
  }

  /**
   * Adds `item`: hands it to the task that has waited longest in
   * {@link Queue.get}, or stores it, or, while the queue is full, waits in
   * line until a `get()` makes room. Killed or timed out while waiting, the
   * task leaves the line and its item is not added.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * yield* queue.put(job);
   * ```
   */
  put(item: T): Operation<void> {
    return new Putting(this, item);
  }

  /**
   * Removes and gives the next item, waiting in line while the queue is
   * empty. Killed or timed out while waiting, the task leaves the line and
   * takes nothing: the next item goes to the next getter.
   *
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * const job = yield* queue.get();
   * ```
   */
  get(): Operation<T> {
    return new Getting(this);
  }

  /**
   * Adds `item` if that needs no wait (a task waits in `get()`, or the queue
   * is not full); returns whether it did. Works outside tasks too.
   *
   * @example
   * ```ts
   * if (!queue.tryPut(line)) console.log('queue full: dropped');
   * ```
   */
  tryPut(item: T): boolean {
    return this._offer(item);
  }

  /**
   * Removes and gives the next item if there is one, without waiting:
   * `{ ok: true, value }`, or `{ ok: false, value: undefined }` when empty.
   * Works outside tasks too.
   *
   * @example
   * ```ts
   * for (let next = queue.tryGet(); next.ok; next = queue.tryGet()) handle(next.value);
   * ```
   */
  tryGet(): TryResult<T> {
    const item = this._take();
    return item === NONE ? EMPTY : { ok: true, value: item };
  }

  /**
   * The item {@link Queue.get} would give next, left in the queue:
   * `{ ok: true, value }`, or `{ ok: false, value: undefined }` when empty.
   *
   * @example
   * ```ts
   * const next = queue.peek();
   * if (next.ok) console.log('next up:', next.value);
   * ```
   */
  peek(): TryResult<T> {
    return this._items.length > 0 ? { ok: true, value: this._items.first() } : EMPTY;
  }

  /** @internal An item entered the queue (stored, or handed to a getter). */
  protected _accepted(): void {}

  // Hands `item` to a waiting getter, or stores it if there is room.
  /** @internal */
  _offer(item: T): boolean {
    // A getter waits only while the queue is empty: it comes first.
    if (this._getters.wakeOne(item) !== undefined) {
      this._accepted();
      return true;
    }
    // A putter waits only while the queue is full: no jumping the line.
    if (this._items.length >= this.maxsize) return false;
    this._items.push(item);
    this._accepted();
    return true;
  }

  // Takes the next item, and lets the longest-waiting put() into the room.
  /** @internal */
  _take(): T | typeof NONE {
    if (this._items.length === 0) return NONE;
    const item = this._items.take();
    if (this._putters.length > 0 && this._items.length < this.maxsize) {
      // The putter reads the outcome when it runs, after this.
      const outcome: PutOutcome = { refused: false, error: undefined };
      const putter = this._putters.wakeOne(outcome);
      if (putter !== undefined) {
        try {
          this._items.push(putter.item as T);
          this._accepted();
        } catch (error) {
          // Only a PriorityQueue's comparator can throw: the put() fails, not this get().
          outcome.refused = true;
          outcome.error = error;
        }
      }
    }
    return item;
  }
}

// get() and put() as plain iterators, not generators: a queue hand-over is
// the scheduler's common switch, and a generator per call costs an
// allocation and a second resume. `yield*` forwards throw/return here, so a
// killed or timed-out waiter leaves the line.
//
// Each is also its own place in the queue's line (a WaitNode) and, once
// done, its own iterator result: one allocation per call, waiting or not.
// (Two flat classes, not a shared base: V8 did not inline the deeper
// constructor chain, which cost more than the Waiter it saves.)
class Getting<T> extends IteratorOperation<T> implements WaitNode<unknown> {
  /** @internal */ _prev: WaitNode<unknown> | undefined = undefined;
  /** @internal */ _next: WaitNode<unknown> | undefined = undefined;
  /** @internal */ _list: WaitList<unknown, WaitNode<unknown>> | undefined = undefined;
  #task: Task | undefined = undefined;
  #ticket = 0;
  #started = false;
  /** As an iterator result: whether it has ended. */
  done = false;
  /** As an iterator result: the item. */
  value: T | undefined = undefined;

  constructor(readonly queue: Queue<T>) {
    super();
  }

  #finish(item: T): IteratorReturnResult<T> {
    this.done = true;
    this.value = item;
    return this as IteratorReturnResult<T>;
  }

  next(received?: unknown): IteratorResult<Instruction, T> {
    const queue = this.queue;
    if (this.#started) {
      this.leave();
      return this.#finish(received as T);
    }
    this.#started = true;
    const hub = useHub();
    const me = hub.task(queue._labels.get);
    const item = queue._take();
    if (item !== NONE) return this.#finish(item);
    this.#task = me;
    this.#ticket = hub.ticket(me);
    queue._getters.push(this as Getting<unknown>);
    return PARKED;
  }

  wake(item: unknown): boolean {
    return this.#task!.hub.resume(this.#task!, this.#ticket, item);
  }

  protected leave(): void {
    this.queue._getters.remove(this as Getting<unknown>);
  }
}

class Putting<T> extends IteratorOperation<void> implements WaitNode<PutOutcome> {
  /** @internal */ _prev: WaitNode<PutOutcome> | undefined = undefined;
  /** @internal */ _next: WaitNode<PutOutcome> | undefined = undefined;
  /** @internal */ _list: WaitList<PutOutcome, WaitNode<PutOutcome>> | undefined = undefined;
  #task: Task | undefined = undefined;
  #ticket = 0;
  #started = false;
  /** As an iterator result: whether it has ended. */
  done = false;
  /** As an iterator result: nothing. */
  readonly value = undefined;

  constructor(
    readonly queue: Queue<T>,
    readonly item: T,
  ) {
    super();
  }

  #finish(): IteratorReturnResult<void> {
    this.done = true;
    return this as IteratorReturnResult<void>;
  }

  next(received?: unknown): IteratorResult<Instruction, void> {
    const queue = this.queue;
    if (this.#started) {
      this.leave();
      const outcome = received as PutOutcome;
      if (outcome.refused) throw outcome.error;
      return this.#finish();
    }
    this.#started = true;
    const hub = useHub();
    const me = hub.task(queue._labels.put);
    if (queue._offer(this.item)) return this.#finish();
    this.#task = me;
    this.#ticket = hub.ticket(me);
    queue._putters.push(this as Putting<unknown>);
    return PARKED;
  }

  wake(outcome: PutOutcome): boolean {
    return this.#task!.hub.resume(this.#task!, this.#ticket, outcome);
  }

  protected leave(): void {
    this.queue._putters.remove(this as Putting<unknown>);
  }
}

/**
 * A last-in, first-out queue (gevent's `LifoQueue`): {@link Queue.get}
 * gives the item put most recently. A task waiting in `get()` still takes
 * the next `put()` at once.
 *
 * @typeParam T the items
 * @example
 * ```ts
 * import { LifoQueue } from 'iomodes/coro';
 * const stack = new LifoQueue<number>();
 * for (const n of [1, 2, 3]) stack.tryPut(n);
 * console.log(stack.tryGet().value, stack.tryGet().value, stack.tryGet().value); // 3 2 1
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /**
   * @param maxsize the most items it holds: an integer `>= 1`, or `Infinity` (the default)
   * @example
   * ```ts
   * const undo = new LifoQueue<string>(100);
   * ```
   */
  constructor(maxsize = Infinity) {
    super(maxsize);
    this._items = new Stack<T>();
  }
}

/**
 * Options for {@link PriorityQueue}.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from 'iomodes/coro';
 * import type { PriorityQueueOptions } from 'iomodes/coro';
 * const options: PriorityQueueOptions<number> = { compare: (a, b) => b - a, maxsize: 100 }; // largest first
 * const queue = new PriorityQueue<number>(options);
 * queue.tryPut(1); queue.tryPut(3); queue.tryPut(2);
 * queue.tryGet(); // { ok: true, value: 3 }
 * ```
 */
export interface PriorityQueueOptions<T> {
  /**
   * Orders items, as for `Array.prototype.sort`: negative when `a` comes
   * before `b`. The default compares with `<` and `>` (numbers, strings,
   * bigints). It must not throw; if it does, the `put()` or `get()` that
   * called it throws and the queue is left as it was.
   */
  compare?: (a: T, b: T) => number;
  /** The most items it holds: an integer `>= 1`, or `Infinity` (the default). */
  maxsize?: number;
}

function naturalOrder(a: unknown, b: unknown): number {
  try {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  } catch (error) {
    // `<` on a Symbol or a null-prototype object is V8's code-less
    // TypeError: say what went wrong, and what to do. An error of the
    // items' own (a throwing valueOf) passes through.
    if (!(error instanceof TypeError)) throw error;
    throw invalidArgValue('item', typeof a === 'symbol' || (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === null) ? a : b, 'cannot be compared with <: give the PriorityQueue a compare function');
  }
}

/**
 * A queue that gives its smallest item first (gevent's `PriorityQueue`, a
 * binary min-heap): by `<` or by `options.compare`. Items that compare equal
 * come out in the order they went in.
 *
 * @typeParam T the items
 * @example
 * ```ts
 * import { PriorityQueue } from 'iomodes/coro';
 * type Job = { priority: number; name: string };
 * const jobs = new PriorityQueue<Job>({ compare: (a, b) => a.priority - b.priority });
 * jobs.tryPut({ priority: 2, name: 'backup' });
 * jobs.tryPut({ priority: 1, name: 'page the on-call' });
 * jobs.tryPut({ priority: 2, name: 'rotate logs' });
 * const order: string[] = [];
 * for (let next = jobs.tryGet(); next.ok; next = jobs.tryGet()) order.push(next.value.name);
 * console.log(order); // [ 'page the on-call', 'backup', 'rotate logs' ]
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /**
   * @param options `compare` and `maxsize`
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a bad option
   * @example
   * ```ts
   * const timers = new PriorityQueue<{ at: number }>({ compare: (a, b) => a.at - b.at });
   * ```
   */
  constructor(options: PriorityQueueOptions<T> = {}) {
    validateOptions(options as unknown);
    const compare = options.compare ?? naturalOrder;
    validateFunction(compare, 'options.compare');
    const maxsize = options.maxsize ?? Infinity;
    validateMaxsize(maxsize, 'options.maxsize');
    super(maxsize);
    this._items = new Heap<T>(compare);
  }
}

/**
 * A {@link Queue} that counts unfinished items (gevent's and Python's
 * `JoinableQueue`): every item put counts until a consumer calls
 * {@link JoinableQueue.taskDone} for it, and {@link JoinableQueue.join}
 * waits until the count is back to zero.
 *
 * @typeParam T the items
 * @example
 * ```ts
 * import { JoinableQueue, spawn, sleep } from 'iomodes/coro';
 * const queue = new JoinableQueue<number>();
 * const done: number[] = [];
 * const worker = spawn(function* () {
 *   for (;;) {
 *     const n = yield* queue.get();
 *     try { yield* sleep(10); done.push(n); } finally { queue.taskDone(); }
 *   }
 * });
 * for (const n of [1, 2, 3]) queue.tryPut(n);
 * await queue.join();
 * console.log(done); // [ 1, 2, 3 ]
 * await worker.kill();
 * ```
 */
export class JoinableQueue<T> extends Queue<T> {
  #unfinished = 0;
  readonly #idle = new Gate(true);

  /**
   * @param maxsize the most items it holds: an integer `>= 1`, or `Infinity` (the default)
   * @example
   * ```ts
   * const work = new JoinableQueue<URL>(100);
   * ```
   */
  constructor(maxsize = Infinity) {
    super(maxsize);
  }

  /**
   * Items put and not yet marked done with {@link JoinableQueue.taskDone}.
   *
   * @example
   * ```ts
   * console.log(`${queue.unfinished} in progress or queued`);
   * ```
   */
  get unfinished(): number {
    return this.#unfinished;
  }

  /**
   * Marks one item taken with `get()` as processed. When none is left
   * unfinished, every task (or promise) waiting in `join()` wakes.
   *
   * @throws `ERR_INVALID_STATE` if called more often than items were put
   * @example
   * ```ts
   * const item = yield* queue.get();
   * try { yield* handle(item); } finally { queue.taskDone(); }
   * ```
   */
  taskDone(): void {
    if (this.#unfinished === 0) throw invalidState('JoinableQueue.taskDone() was called more often than items were put');
    if (--this.#unfinished === 0) this.#idle.open();
  }

  /**
   * Waits until every item put has been marked done, and gives `true`; or
   * `false` once `timeoutMs` runs out first. Returns at once when nothing is
   * unfinished. Inside a task `yield*` it; outside, `await` it.
   *
   * @param timeoutMs milliseconds, `>= 0`; `undefined`, `-1` or `Infinity`: no limit
   * @throws `ERR_CORO_OUTSIDE_TASK` if `yield*`-ed outside a task
   * @example
   * ```ts
   * yield* queue.join();
   * const finished = await queue.join(5000); // from plain async code
   * ```
   */
  join(timeoutMs?: number): Awaitable<boolean> {
    const ms = validateTimeout(timeoutMs);
    return this.#idle.wait('JoinableQueue.join()', ms);
  }

  /** @internal */
  protected override _accepted(): void {
    if (this.#unfinished++ === 0) this.#idle.close();
  }
}
