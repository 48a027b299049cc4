/**
 * The hub: one per thread, as in gevent. It owns the ready queue (FIFO), the
 * timers, the fd waiters and a readiness backend (epoll or poll), and it runs
 * tasks. Two drivers move it:
 *
 * - **the event-loop driver** (the default): the backend is watched on
 *   Node's event loop, timers are one Node timer, and ready tasks run in a
 *   microtask — so tasks live beside ordinary Node code;
 * - **`run(main)`**, which drives the hub itself and blocks in the kernel's
 *   wait, handing the thread back to Node's loop whenever a task waits on a
 *   promise.
 *
 * The engine (this file and `task.ts`) never imports the verbs (`sleep`,
 * `read`, ...): they import it.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { codedError, errnoError, useAfterClose } from '../errors.js';
import { beforeClose } from '../fd.js';
import { validateOneOf, validateOptions } from '../validate.js';
import { READABLE, WRITABLE, type Backend, type BackendName, type FdState } from './backends/backend.js';
import { EpollBackend } from './backends/epoll.js';
import { PollBackend } from './backends/poll.js';
import { UringBackend, type RingIo } from './backends/uring.js';
import { concurrentUse, deadlock, invalidState, outsideTask } from './errors.js';
import { TimerHeap, type TimerEntry } from './heap.js';
import { PARK } from './types.js';
import type { Task } from './task.js';

export { HANGUP, READABLE, WRITABLE } from './backends/backend.js';

/**
 * Options for {@link createHub}.
 *
 * @example
 * ```ts
 * import { createHub } from 'iomodes/coro';
 * import type { HubOptions } from 'iomodes/coro';
 * const options: HubOptions = { backend: 'poll', clock: 'virtual' };
 * const hub = createHub(options);
 * console.log(hub.backend, hub.now()); // 'poll' 0
 * ```
 */
export interface HubOptions {
  /**
   * The backend: `'epoll'` (default), `'poll'`, or `'io_uring'`, on which a
   * task's reads, writes, accepts and connects are ring operations instead
   * of readiness waits plus syscalls. The same task code runs on each.
   */
  backend?: BackendName;
  /**
   * `'real'` (default) or `'virtual'`: on the virtual clock, time stands
   * still while any task can run, and jumps to the next timer as soon as
   * every task waits (and no fd is ready and no promise pending). Sleeps
   * then take no time and always wake in the same order: for tests.
   */
  clock?: 'real' | 'virtual';
}

/**
 * What a hub holds, for tests and leak checks. Every count returns to 0 when no task waits.
 *
 * @example
 * ```ts
 * import { spawn, sleep, joinAll, useHub } from 'iomodes/coro';
 * import type { HubCounts } from 'iomodes/coro';
 * await joinAll([spawn(function* () { yield* sleep(10); })]);
 * const counts: HubCounts = useHub().counts;
 * console.log(counts.tasks, counts.timers); // 0 0: nothing left behind
 * ```
 */
export interface HubCounts {
  /** Tasks started and not yet finished. */
  tasks: number;
  /** Tasks waiting for something to wake them. */
  parked: number;
  /** Tasks ready to run. */
  ready: number;
  /** Pending timers (sleeps, timeouts). */
  timers: number;
  /** Tasks waiting on an fd (for reading or writing). */
  waiters: number;
  /** fds the backend has registered with the kernel (until closed through iomodes). */
  registrations: number;
  /** Promises (and callbacks) tasks wait on through `call()` and `action()`. */
  calls: number;
}

// Task states.
/** @internal */ export const NEW = 0;
/** @internal */ export const READY = 1;
/** @internal */ export const RUNNING = 2;
/** @internal */ export const PARKED = 3;
/** @internal */ export const DONE = 4;

// How a task resumes.
/** @internal */ export const NEXT = 0;
/** @internal */ export const THROW = 1;

// %GeneratorPrototype%'s methods, for #step.
const generatorPrototype = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())) as Generator;
const generatorNext = generatorPrototype.next;
const generatorThrow = generatorPrototype.throw;

/** Tasks resumed per event-loop turn before Node's loop gets a turn. */
const BUDGET = 4096;

/** One fd's waiters and readiness hints. */
interface HubFd extends FdState {
  reader: Task | undefined;
  readerTicket: number;
  writer: Task | undefined;
  writerTicket: number;
}

/**
 * A scheduler of tasks: see the module notes. Get this thread's with
 * {@link useHub}; make a new one (another backend, the virtual clock) with
 * {@link createHub}.
 *
 * @example
 * ```ts
 * import { createHub, spawn, sleep } from 'iomodes/coro';
 * const hub = createHub({ backend: 'poll', clock: 'virtual' });
 * spawn(function* () { yield* sleep(60_000); console.log(hub.now()); }); // 60000, at once
 * ```
 */
export class Hub {
  /** The readiness backend's name. */
  readonly backend: BackendName;
  /** `'real'` or `'virtual'`. */
  readonly clock: 'real' | 'virtual';

  readonly #backend: Backend;
  /** @internal The io_uring backend's completion-based I/O, or undefined on a readiness backend. */
  readonly ringIo: RingIo | undefined;
  // The ready queue: a growable ring of tasks.
  #ring: (Task | undefined)[] = new Array(256);
  #head = 0;
  #tail = 0;
  #mask = 255;
  // A task to run before the queue (switchTo's direct transfer).
  #next: Task | undefined;
  #current: Task | undefined;
  #draining = false;
  #drainQueued = false;
  #closed = false;
  readonly #timers = new TimerHeap();
  readonly #fds = new Map<number, HubFd>();
  #virtualNow = 0;
  // Counts.
  #tasks = 0;
  #parked = 0;
  #ready = 0;
  #waiters = 0;
  #calls = 0;
  // The event-loop driver's pieces.
  #attached = false;
  #nodeTimer: NodeJS.Timeout | undefined;
  #nodeTimerAt = Infinity;
  #advanceQueued = false;
  // run(): #driving while a run() drives this hub; #blocking while it drives
  // it itself (not lending the thread to Node's loop); #runCheck while it
  // waits on the loop for a promise.
  #driving = false;
  #blocking = false;
  #runCheck: (() => void) | undefined;
  readonly #drainBound = (): void => this.#drainFromLoop();
  readonly #dispatchBound = (state: FdState, bits: number): void => this.#dispatch(state as HubFd, bits);
  readonly #afterBound = (): void => this.#afterEvents();

  /** @internal Use {@link createHub} or {@link useHub}. */
  constructor(options: HubOptions = {}) {
    validateOptions(options as unknown);
    const backend = options.backend ?? 'epoll';
    const clock = options.clock ?? 'real';
    validateOneOf(backend, 'options.backend', ['epoll', 'poll', 'io_uring']);
    validateOneOf(clock, 'options.clock', ['real', 'virtual']);
    this.backend = backend;
    this.clock = clock;
    const made = backend === 'epoll' ? new EpollBackend() : backend === 'poll' ? new PollBackend() : new UringBackend();
    this.#backend = made;
    this.ringIo = made instanceof UringBackend ? made.io : undefined;
    beforeClose.add(this.#onClose);
  }

  // iomodes' close(fd): take the registration down first, and wake the
  // fd's waiters with EBADF (gevent: "closed in another greenlet").
  readonly #onClose = (fd: number): void => {
    if (!this.#fds.has(fd)) return;
    this.forget(fd, errnoError(-osConstants.errno.EBADF, 'close', { fd }, 'the fd was closed while this task waited on it'));
  };

  /** Whether {@link Hub.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a {@link run} drives this hub now. */
  get running(): boolean {
    return this.#driving;
  }

  /** The task running now, if any. */
  get current(): Task | undefined {
    return this.#current;
  }

  /**
   * What the hub holds now: tasks, parked tasks, timers, fd waiters,
   * registrations, pending promises.
   *
   * @example
   * ```ts
   * expect(useHub().counts).toMatchObject({ parked: 0, timers: 0, waiters: 0 });
   * ```
   */
  get counts(): HubCounts {
    let registrations = 0;
    for (const state of this.#fds.values()) if (state.registered) registrations++;
    return {
      tasks: this.#tasks,
      parked: this.#parked,
      ready: this.#ready,
      timers: this.#timers.size,
      waiters: this.#waiters,
      registrations,
      calls: this.#calls,
    };
  }

  /**
   * The hub's clock, in milliseconds: `performance.now()`, or the virtual
   * time (which starts at 0).
   *
   * @example
   * ```ts
   * const t0 = useHub().now();
   * ```
   */
  now(): number {
    return this.clock === 'virtual' ? this.#virtualNow : performance.now();
  }

  /**
   * Closes the hub: its backend's kernel object, its Node timer. Only an idle
   * hub (no task alive) can close. Idempotent.
   *
   * @throws `ERR_INVALID_STATE` while a task is alive
   * @example
   * ```ts
   * useHub().close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    if (this.#tasks > 0) throw invalidState(`this hub still has ${this.#tasks} live task(s): kill or join them before closing it`);
    this.#closed = true;
    beforeClose.delete(this.#onClose);
    clearTimeout(this.#nodeTimer);
    for (const state of this.#fds.values()) this.#backend.forget(state);
    this.#fds.clear();
    this.#backend.close();
    if (hub === this) hub = undefined;
  }

  // ------------------------------------------------------------- engine

  /** @internal Throws unless the hub is open. */
  assertOpen(): void {
    if (this.#closed) throw useAfterClose('Hub');
  }

  /** @internal The running task, or ERR_CORO_OUTSIDE_TASK naming `what`. */
  task(what: string): Task {
    const task = this.#current;
    if (task === undefined) throw outsideTask(what);
    return task;
  }

  /** @internal A task was spawned: queue its start. */
  start(task: Task): void {
    this.assertOpen();
    this.#tasks++;
    this.#enqueue(task);
  }

  /**
   * @internal The running task is about to park: returns the ticket a wake
   * must present. Wakes with any other ticket (from a wait that ended) are
   * ignored, so a task is never woken twice for one park.
   */
  ticket(task: Task): number {
    return ++task._ticket;
  }

  /**
   * @internal Wakes `task` with `value` if it still waits under `ticket`.
   * Returns whether the wake took: `false` when the task was already woken
   * (killed, timed out) or waits on something else now, so a queue or a
   * semaphore hands its item or permit to the next waiter instead.
   */
  resume(task: Task, ticket: number, value?: unknown): boolean {
    return this.#wake(task, ticket, NEXT, value);
  }

  /**
   * @internal The running task will go to the back of the ready queue when
   * it parks: `sleep(0)`, a plain yield to the others.
   */
  requeue(task: Task): void {
    task._early = 3;
  }

  /** @internal Wakes `task` by throwing `error` into it if it still waits under `ticket`; returns whether the wake took. */
  fail(task: Task, ticket: number, error: unknown): boolean {
    return this.#wake(task, ticket, THROW, error);
  }

  /**
   * @internal Throws `error` into `task` at its current `yield` if it is
   * parked, or else at its next one (so a value already handed to a ready
   * task, a queue item say, is never lost).
   */
  interrupt(task: Task, error: unknown): void {
    if (task._state === DONE) return;
    if (task._state === PARKED) {
      this.#wake(task, task._ticket, THROW, error);
    } else {
      task._pendingThrow = true;
      task._pendingError = error;
    }
  }

  /**
   * @internal Runs `target` next, before the ready queue (switchTo). It must
   * be new, or parked under `ticket`.
   */
  transfer(target: Task, ticket: number, value: unknown): void {
    if (target._state === NEW) {
      // Already counted ready (and queued: that entry will be skipped).
      this.#next = target;
    } else if (target._state === PARKED && target._ticket === ticket) {
      this.#parked--;
      this.#ready++;
      target._state = READY;
      target._resumeKind = NEXT;
      target._resumeValue = value;
      this.#next = target;
    } else {
      throw invalidState(`switchTo(): task ${target.id} is neither new nor waiting in switchTo()`);
    }
    this.#kickDrain();
  }

  #wake(task: Task, ticket: number, kind: number, value: unknown): boolean {
    if (task._ticket !== ticket) return false;
    if (task._state === PARKED) {
      this.#parked--;
      task._state = READY;
      task._resumeKind = kind;
      task._resumeValue = value;
      this.#enqueue(task);
      return true;
    }
    if (task._state === RUNNING && task._early === 0) {
      // Woken before it parked (a callback that ran synchronously): it
      // continues at once when it yields PARK.
      task._early = kind === NEXT ? 1 : 2;
      task._resumeValue = value;
      return true;
    }
    return false;
  }

  #enqueue(task: Task): void {
    if (task._state !== NEW) task._state = READY;
    this.#ready++;
    if (task._inQueue) return;
    task._inQueue = true;
    this.#ring[this.#tail] = task;
    this.#tail = (this.#tail + 1) & this.#mask;
    if (this.#tail === this.#head) this.#grow();
    this.#kickDrain();
  }

  #grow(): void {
    const old = this.#ring;
    const size = old.length;
    const ring = new Array<Task | undefined>(size * 2);
    for (let i = 0; i < size; i++) ring[i] = old[(this.#head + i) & this.#mask];
    this.#ring = ring;
    this.#head = 0;
    this.#tail = size;
    this.#mask = size * 2 - 1;
  }

  // The next task from the ring (the caller has checked #next first).
  #dequeue(): Task | undefined {
    while (this.#head !== this.#tail) {
      const task = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) & this.#mask;
      task._inQueue = false;
      // A stale entry (the task was switched into meanwhile) is skipped.
      if (task._state === READY || task._state === NEW) return task;
    }
    return undefined;
  }

  /** @internal Runs ready tasks: up to `budget` of them; returns whether any remain. */
  drain(budget: number): boolean {
    if (this.#draining) return false;
    this.#draining = true;
    // Saved once per batch rather than per task: #step leaves #current set.
    const previous = this.#current;
    try {
      for (let n = 0; n < budget; n++) {
        // switchTo's direct transfer runs before the ready queue.
        let task = this.#next;
        if (task !== undefined) this.#next = undefined;
        else if ((task = this.#dequeue()) === undefined) return false;
        this.#step(task);
      }
      return this.#next !== undefined || this.#head !== this.#tail;
    } finally {
      this.#current = previous;
      this.#draining = false;
    }
  }

  // Runs a task until it parks or ends.
  #step(task: Task): void {
    this.#ready--;
    this.#current = task;
    // A new task's resume kind and value are NEXT and undefined already.
    let kind = task._resumeKind;
    let value = task._resumeValue;
    if (task._pendingThrow && task._state === NEW) {
      // Interrupted before it ever ran: thrown before its first line, so it
      // never runs. (A task interrupted while ready first gets what it was
      // woken with, so nothing handed to it is lost; the interruption is
      // thrown at its next yield, below.)
      kind = THROW;
      value = task._pendingError;
      task._pendingThrow = false;
      task._pendingError = undefined;
    }
    task._state = RUNNING;
    task._resumeValue = undefined;
    const gen = task._gen;
    for (;;) {
      let result: IteratorResult<unknown, unknown>;
      try {
        // The prototype's own next/throw, called directly: every task's
        // generator has its own hidden class, so `gen.next` would be a
        // megamorphic lookup on the hottest line of the scheduler.
        result = kind === NEXT ? generatorNext.call(gen, value) : generatorThrow.call(gen, value);
      } catch (error) {
        task._finish(false, error);
        this.#tasks--;
        return;
      }
      if (result.value === PARK && result.done !== true) {
        // The common case first: parked, nothing early, nothing pending.
        if (task._early === 0 && !task._pendingThrow) {
          task._state = PARKED;
          this.#parked++;
          return;
        }
        if (task._early === 3) {
          task._early = 0;
          task._resumeKind = NEXT;
          task._state = PARKED;
          this.#parked++;
          this.#wake(task, task._ticket, NEXT, undefined);
          return;
        }
        if (task._early !== 0) {
          kind = task._early === 1 ? NEXT : THROW;
          value = task._resumeValue;
          task._early = 0;
          task._resumeValue = undefined;
          continue;
        }
        // After an early wake, so that what it handed over is received first.
        kind = THROW;
        value = task._pendingError;
        task._pendingThrow = false;
        task._pendingError = undefined;
        continue;
      }
      if (result.done === true) {
        task._finish(true, result.value);
        this.#tasks--;
        return;
      }
      kind = THROW;
      value = codedError(
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        `a task yielded ${typeof result.value === 'object' ? 'an object' : String(result.value)}: use yield* with an operation (yield* sleep(10)), not yield`,
      );
    }
  }

  // ------------------------------------------------------------- timers

  /**
   * @internal Calls `fire` after `ms` on the hub's clock.
   */
  setTimer(ms: number, fire: (entry: TimerEntry) => void, target?: unknown, ticket?: number): TimerEntry {
    this.assertOpen();
    const entry = this.#timers.add(this.now() + ms, fire, target, ticket);
    this.#armTimers();
    return entry;
  }

  /** @internal Cancels a timer from {@link setTimer}. */
  clearTimer(entry: TimerEntry): void {
    this.#timers.cancel(entry);
  }

  // Fires due timers; returns how many.
  #fireTimers(): number {
    const now = this.now();
    let fired = 0;
    for (let entry; (entry = this.#timers.popDue(now)) !== undefined; fired++) entry.fire(entry);
    return fired;
  }

  // ------------------------------------------------------------- fds

  /**
   * @internal Parks-to-be `task` (under `ticket`) as the reader or writer of
   * `fd`. One of each per fd: a second is `ERR_CONCURRENT_USE`.
   */
  addWaiter(fd: number, direction: number, task: Task, ticket: number): void {
    this.assertOpen();
    let state = this.#fds.get(fd);
    if (state === undefined) {
      state = { fd, interest: 0, ready: 0, registered: false, reader: undefined, readerTicket: 0, writer: undefined, writerTicket: 0 };
      this.#fds.set(fd, state);
    }
    if (direction === READABLE) {
      if (state.reader !== undefined) throw concurrentUse(`fd ${fd} is already waited on for reading by task ${state.reader.id}`);
      state.reader = task;
      state.readerTicket = ticket;
    } else {
      if (state.writer !== undefined) throw concurrentUse(`fd ${fd} is already waited on for writing by task ${state.writer.id}`);
      state.writer = task;
      state.writerTicket = ticket;
    }
    state.interest |= direction;
    state.ready &= ~direction;
    try {
      this.#backend.update(state);
    } catch (error) {
      this.#unwait(state, direction);
      throw error;
    }
    if (++this.#waiters === 1) this.#refBackend();
  }

  /** @internal Removes `task` as a waiter of `fd` (if it still is one). */
  removeWaiter(fd: number, direction: number, task: Task): void {
    const state = this.#fds.get(fd);
    if (state === undefined) return;
    if ((direction === READABLE ? state.reader : state.writer) !== task) return;
    this.#unwait(state, direction);
    // poll keeps an fd in its set only while someone waits on it.
    if (this.#backend.name === 'poll') this.#backend.update(state);
    if (--this.#waiters === 0) this.#refBackend();
  }

  #unwait(state: HubFd, direction: number): void {
    if (direction === READABLE) state.reader = undefined;
    else state.writer = undefined;
    state.interest &= ~direction;
  }

  /**
   * @internal Readiness seen for `fd` and not used up (READABLE | WRITABLE
   * bits). A waiter clears its bit when it parks.
   */
  readiness(fd: number): number {
    return this.#fds.get(fd)?.ready ?? 0;
  }

  /** @internal Clears readiness bits for `fd`: a syscall said EAGAIN (or a short read drained it). */
  clearReadiness(fd: number, bits: number): void {
    const state = this.#fds.get(fd);
    if (state !== undefined) state.ready &= ~bits;
  }

  /**
   * @internal `fd` is about to be closed: its registration comes down first,
   * and its waiters are woken with `error` (EBADF, "closed in another task").
   */
  forget(fd: number, error: unknown): void {
    const state = this.#fds.get(fd);
    if (state === undefined) return;
    this.#fds.delete(fd);
    const { reader, readerTicket, writer, writerTicket } = state;
    this.#backend.forget(state);
    // The waiters' own cleanup will not find the fd any more: count them out here.
    if (reader !== undefined) this.#waiters--;
    if (writer !== undefined) this.#waiters--;
    this.#unwait(state, READABLE);
    this.#unwait(state, WRITABLE);
    if (this.#waiters === 0) this.#refBackend();
    if (reader !== undefined) this.fail(reader, readerTicket, error);
    if (writer !== undefined) this.fail(writer, writerTicket, error);
  }

  #dispatch(state: HubFd, bits: number): void {
    if (this.#fds.get(state.fd) !== state) return; // forgotten meanwhile
    state.ready |= bits;
    if (bits & READABLE && state.reader !== undefined) this.resume(state.reader, state.readerTicket);
    if (bits & WRITABLE && state.writer !== undefined) this.resume(state.writer, state.writerTicket);
  }

  /**
   * @internal A task parks on a ring operation (io_uring backend): it counts
   * as a waiter, as a task parked on an fd does.
   */
  ioStarted(): void {
    if (++this.#waiters === 1) this.#refBackend();
  }

  /** @internal The ring operation completed, or was cancelled. */
  ioEnded(): void {
    if (--this.#waiters === 0) this.#refBackend();
  }

  // ------------------------------------------------------------- promises

  /** @internal A task starts waiting on a promise (`call`). */
  callStarted(): void {
    this.#calls++;
  }

  /** @internal A promise a task waited on settled, or the wait ended. */
  callEnded(): void {
    this.#calls--;
  }

  // ------------------------------------------------------------- drivers

  // Makes sure ready tasks run soon: in a microtask on the event-loop
  // driver. run() drains them itself.
  #kickDrain(): void {
    if (this.#draining || this.#drainQueued || this.#blocking) return;
    this.#drainQueued = true;
    queueMicrotask(this.#drainBound);
  }

  #drainFromLoop(): void {
    this.#drainQueued = false;
    if (!this.#closed) this.#afterEvents();
  }

  // The event-loop driver, after events, a timer or a microtask kick: run
  // ready tasks (a bounded batch, then Node's loop gets a turn), then arm
  // the Node timer and the backend watch for what tasks now wait on.
  #afterEvents(): void {
    if (this.#blocking) return;
    let more = this.drain(BUDGET);
    // A completion backend submits the batch now; what completed at once
    // woke tasks, which run in this same turn.
    while (!more && this.#backend.flush?.(this.#dispatchBound) === true) more = this.drain(BUDGET);
    if (more) {
      if (!this.#drainQueued) {
        this.#drainQueued = true;
        setImmediate(this.#drainBound);
      }
      return;
    }
    this.#armTimers();
    this.#attach();
    if (this.clock === 'virtual') this.#queueAdvance();
    this.#runCheck?.();
  }

  #attach(): void {
    if (this.#attached || this.#closed) return;
    this.#attached = true;
    this.#backend.attach(this.#dispatchBound, this.#afterBound);
    this.#refBackend();
  }

  #detach(): void {
    if (this.#attached) this.#backend.detach();
    this.#attached = false;
    clearTimeout(this.#nodeTimer);
    this.#nodeTimer = undefined;
    this.#nodeTimerAt = Infinity;
  }

  // On the event loop, waiting on an fd keeps the process alive; a watch
  // with no waiter does not.
  #refBackend(): void {
    if (this.#attached) this.#backend.ref(this.#waiters > 0);
  }

  // One Node timer for the earliest hub timer (real clock), alive only while
  // a hub timer is pending.
  #armTimers(): void {
    if (this.#blocking) return;
    if (this.clock === 'virtual') {
      this.#queueAdvance();
      return;
    }
    const at = this.#timers.earliest;
    if (at === this.#nodeTimerAt) return;
    clearTimeout(this.#nodeTimer);
    this.#nodeTimer = undefined;
    this.#nodeTimerAt = at;
    if (at === Infinity) return;
    // Node's timers have 1 ms granularity and may fire a little early:
    // #onNodeTimer re-arms for what is left, so no sleep ends early.
    this.#nodeTimer = setTimeout(this.#onNodeTimerBound, Math.max(1, Math.ceil(at - performance.now())));
  }

  readonly #onNodeTimerBound = (): void => {
    this.#nodeTimer = undefined;
    this.#nodeTimerAt = Infinity;
    if (this.#closed) return;
    this.#fireTimers();
    this.#afterEvents();
    this.#armTimers();
  };

  // The virtual clock on the event loop: once the loop has turned and still
  // nothing can run, no fd is ready and no promise is pending, time jumps
  // to the next timer.
  #queueAdvance(): void {
    if (this.#advanceQueued || this.#timers.size === 0 || this.#blocking) return;
    this.#advanceQueued = true;
    setImmediate(() => {
      this.#advanceQueued = false;
      if (this.#closed || this.#blocking) return;
      if (this.#advanceVirtual()) this.#afterEvents();
      else this.#queueAdvance();
    });
  }

  // Returns whether time moved (or an fd turned out ready).
  #advanceVirtual(): boolean {
    if (this.#next !== undefined || this.#head !== this.#tail || this.#calls > 0 || this.#timers.size === 0) return false;
    if (this.#waiters > 0 && this.#backend.wait(0, this.#dispatchBound) > 0) return true;
    this.#virtualNow = Math.max(this.#virtualNow, this.#timers.earliest);
    this.#fireTimers();
    return true;
  }

  /**
   * @internal The run() driver: runs tasks until `done()`, blocking in the
   * backend's wait. While a task waits on a promise, it hands the thread to
   * Node's loop (with the event-loop driver on) until no promise is pending.
   */
  async drive(done: () => boolean): Promise<void> {
    this.assertOpen();
    if (this.#driving) throw invalidState("run() is already driving this thread's hub: a thread has one run() at a time");
    if (this.#current !== undefined) throw invalidState('run() cannot be called from inside a task: yield* the operation instead');
    this.#driving = true;
    this.#blocking = true;
    this.#detach();
    try {
      for (;;) {
        while (this.drain(Infinity));
        if (done()) return;
        this.#fireTimers();
        if (this.#next !== undefined || this.#head !== this.#tail) continue;
        if (this.#calls > 0) {
          await this.#awaitLoop(() => this.#calls === 0 || done());
          continue;
        }
        if (this.clock === 'virtual' && this.#advanceVirtual()) continue;
        const earliest = this.#timers.earliest;
        if (earliest === Infinity && this.#waiters === 0) throw deadlock();
        const timeout = earliest === Infinity ? -1 : Math.max(0, Math.ceil(earliest - this.now()));
        this.#backend.wait(timeout, this.#dispatchBound);
      }
    } finally {
      this.#backend.flush?.(this.#dispatchBound);
      this.#driving = false;
      this.#blocking = false;
      this.#runCheck = undefined;
      if (!this.#closed) {
        this.#attach();
        this.#armTimers();
        if (this.#next !== undefined || this.#head !== this.#tail) this.#kickDrain();
      }
    }
  }

  // run() lends the thread to Node's loop, event-loop driver on, until `until()`.
  #awaitLoop(until: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#blocking = false;
      this.#runCheck = () => {
        if (!until()) return;
        this.#runCheck = undefined;
        this.#blocking = true;
        this.#detach();
        resolve();
      };
      this.#attach();
      this.#armTimers();
      if (this.#next !== undefined || this.#head !== this.#tail) this.#kickDrain();
    });
  }
}

let hub: Hub | undefined;

/**
 * This thread's hub, made with the defaults (epoll, real clock) on first
 * use. Each Worker thread has its own.
 *
 * @example
 * ```ts
 * import { useHub } from 'iomodes/coro';
 * console.log(useHub().counts);
 * ```
 */
export function useHub(): Hub {
  if (hub === undefined || hub.closed) hub = new Hub();
  return hub;
}

/**
 * Makes a new hub this thread's hub: to choose the backend (`'poll'`) or the
 * virtual clock. The previous hub must be idle (no task alive); it is closed.
 *
 * @throws `ERR_INVALID_STATE` if the current hub still has live tasks
 * @example
 * ```ts
 * import { createHub, spawn, sleep, joinAll } from 'iomodes/coro';
 * createHub({ clock: 'virtual' });
 * await joinAll([spawn(function* () { yield* sleep(1000); })]); // at once
 * ```
 */
export function createHub(options?: HubOptions): Hub {
  const fresh = new Hub(options);
  if (hub !== undefined && !hub.closed) {
    try {
      hub.close();
    } catch (error) {
      fresh.close();
      throw error;
    }
  }
  hub = fresh;
  return fresh;
}
