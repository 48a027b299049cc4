/**
 * The FIFO of tasks (and promise callbacks) waiting on a synchronisation
 * object: an intrusive doubly linked list, so a waiter leaves it in O(1)
 * from its `finally`, however its wait ended.
 *
 * @internal
 * @module
 */
import type { Task } from './task.js';
import { PARK, type Instruction } from './types.js';

/**
 * What a {@link WaitList} links: a {@link Waiter}, or an operation that is
 * its own list node (a queue's get and put), which spares an allocation per
 * wait.
 *
 * @internal
 */
export interface WaitNode<V = unknown> {
  _prev: WaitNode<V> | undefined;
  _next: WaitNode<V> | undefined;
  _list: WaitList<V, WaitNode<V>> | undefined;
  /** Wakes it with `value`; returns whether the wake took (see {@link Waiter.wake}). */
  wake(value: V): boolean;
}

/**
 * One waiter: a task parked under `ticket`, or (outside any task) a
 * callback. `item` is what a blocked `put()` carries.
 *
 * @internal
 */
export class Waiter<V = unknown> implements WaitNode<V> {
  /** @internal */ _prev: WaitNode<V> | undefined = undefined;
  /** @internal */ _next: WaitNode<V> | undefined = undefined;
  /** @internal */ _list: WaitList<V, WaitNode<V>> | undefined = undefined;

  constructor(
    readonly task: Task | undefined,
    readonly ticket: number,
    readonly callback?: (value: V) => void,
    readonly item?: unknown,
  ) {}

  /**
   * Wakes it with `value`. For a task, the wake counts only if the task
   * still waits under its ticket (not killed or timed out meanwhile, which
   * leaves it in the list until its `finally` runs): returns whether it took.
   */
  wake(value: V): boolean {
    const task = this.task;
    if (task !== undefined) return task.hub.resume(task, this.ticket, value);
    this.callback!(value);
    return true;
  }
}

/**
 * A FIFO of {@link Waiter}s (or of other {@link WaitNode}s, all of one kind: `N`).
 *
 * @internal
 * @example
 * ```ts
 * const list = new WaitList();
 * const w = list.push(new Waiter(task, ticket));
 * list.remove(w); // in the wait's finally
 * ```
 */
export class WaitList<V = unknown, N extends WaitNode<V> = Waiter<V>> {
  #head: N | undefined;
  #tail: N | undefined;
  #length = 0;

  /** How many wait. */
  get length(): number {
    return this.#length;
  }

  /** Appends `waiter` and returns it. */
  push(waiter: N): N {
    waiter._list = this as WaitList<V, WaitNode<V>>;
    waiter._prev = this.#tail;
    waiter._next = undefined;
    if (this.#tail === undefined) this.#head = waiter;
    else this.#tail._next = waiter;
    this.#tail = waiter;
    this.#length++;
    return waiter;
  }

  /** Takes `waiter` out if it is still in this list (idempotent). */
  remove(waiter: N): void {
    if (waiter._list !== (this as WaitList<V, WaitNode<V>>)) return;
    const prev = waiter._prev as N | undefined;
    const next = waiter._next as N | undefined;
    if (prev === undefined) this.#head = next;
    else prev._next = next;
    if (next === undefined) this.#tail = prev;
    else next._prev = prev;
    waiter._prev = waiter._next = waiter._list = undefined;
    this.#length--;
  }

  /**
   * Parks `task` (under `ticket`) at the end of the line and gives what it
   * is woken with; however the wait ends, the task leaves the line.
   */
  *park(task: Task, ticket: number): Generator<Instruction, V, unknown> {
    const waiter = this.push(new Waiter<V>(task, ticket) as WaitNode<V> as N);
    try {
      return (yield PARK) as V;
    } finally {
      this.remove(waiter);
    }
  }

  /** Takes out and returns the first waiter. */
  shift(): N | undefined {
    const first = this.#head;
    if (first !== undefined) this.remove(first);
    return first;
  }

  /**
   * Wakes the first waiter that still waits with `value`, dropping the
   * stale ones before it; returns it, or `undefined` if none took the wake.
   */
  wakeOne(value: V): N | undefined {
    for (let waiter; (waiter = this.shift()) !== undefined; ) {
      if (waiter.wake(value)) return waiter;
    }
    return undefined;
  }

  /** Wakes every waiter with `value` and empties the list. */
  wakeAll(value: V): void {
    for (let waiter; (waiter = this.shift()) !== undefined; ) waiter.wake(value);
  }
}
