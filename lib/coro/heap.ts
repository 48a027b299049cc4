/**
 * A binary min-heap of timers, ordered by deadline and then by creation
 * order, so timers due at the same moment fire in the order they were set
 * (gevent's "first fun1, ... second fun1, second fun3" order depends on it).
 * Cancelling is O(log n): each entry knows its index.
 *
 * @internal
 * @module
 */

/** A timer in a {@link TimerHeap}. */
export interface TimerEntry {
  /** When it fires, in the hub's clock (ms). */
  deadline: number;
  /** Creation order, to break deadline ties. */
  seq: number;
  /** Its place in the heap; -1 once fired or cancelled. */
  index: number;
  /** Called when it fires. */
  fire: (entry: TimerEntry) => void;
  /** What the timer is for (a task to wake), so `fire` needs no closure. */
  target: unknown;
  /** The wake ticket that goes with `target`. */
  ticket: number;
}

/**
 * The hub's timers.
 *
 * @example
 * ```ts
 * const heap = new TimerHeap();
 * const t = heap.add(10, () => console.log('due'));
 * heap.cancel(t);
 * ```
 */
export class TimerHeap {
  readonly #items: TimerEntry[] = [];
  #seq = 0;

  /** How many timers are pending. */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest deadline, or `Infinity` with no timers. */
  get earliest(): number {
    return this.#items.length === 0 ? Infinity : this.#items[0]!.deadline;
  }

  /**
   * Adds a timer due at `deadline`.
   *
   * @example
   * ```ts
   * heap.add(now + 5, (entry) => wake(entry));
   * ```
   */
  add(deadline: number, fire: (entry: TimerEntry) => void, target?: unknown, ticket = 0): TimerEntry {
    const entry: TimerEntry = { deadline, seq: this.#seq++, index: this.#items.length, fire, target, ticket };
    this.#items.push(entry);
    this.#up(entry.index);
    return entry;
  }

  /**
   * Removes a pending timer; a no-op for one already fired or cancelled.
   *
   * @example
   * ```ts
   * heap.cancel(entry);
   * ```
   */
  cancel(entry: TimerEntry): void {
    const i = entry.index;
    if (i < 0) return;
    entry.index = -1;
    const last = this.#items.pop()!;
    if (i === this.#items.length) return;
    this.#items[i] = last;
    last.index = i;
    this.#down(i);
    this.#up(last.index);
  }

  /**
   * Removes and returns the earliest timer if it is due at `now`.
   *
   * @example
   * ```ts
   * for (let t; (t = heap.popDue(now)); ) t.fire(t);
   * ```
   */
  popDue(now: number): TimerEntry | undefined {
    const top = this.#items[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.cancel(top);
    return top;
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #up(i: number): void {
    const items = this.#items;
    const entry = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(entry, items[parent]!)) break;
      items[i] = items[parent]!;
      items[i]!.index = i;
      i = parent;
    }
    items[i] = entry;
    entry.index = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(items[right]!, items[left]!) ? right : left;
      if (!this.#less(items[child]!, entry)) break;
      items[i] = items[child]!;
      items[i]!.index = i;
      i = child;
    }
    items[i] = entry;
    entry.index = i;
  }
}
