/**
 * The io_uring backend: one ring (native/uring.cc) that is both the hub's
 * readiness source and its I/O engine.
 *
 * - **Readiness** (`waitReadable`, `waitWritable`, and everything that
 *   still tries a syscall first): each fd gets one multishot
 *   `IORING_OP_POLL_ADD` for `IN | OUT | RDHUP` at its first wait, kept
 *   until the fd is forgotten (closed), as the epoll backend keeps an
 *   edge-triggered registration: every wake-up of the fd posts one
 *   completion, which becomes readiness bits on the fd's state.
 * - **I/O** (`read`, `write`, `recv`, `send`, `accept`, `connect` inside a
 *   task): each is one ring operation, not a readiness poll plus a syscall.
 *   The kernel does the I/O and posts its result; the task resumes with it.
 *   A killed or timed-out task cancels its operation in the kernel
 *   (`IORING_OP_ASYNC_CANCEL`); its buffer stays pinned (a native bounce
 *   copy) until the cancelled operation's completion is reaped. Reads and
 *   writes of regular files work the same way, with no thread.
 * - **Batching**: operations a hub turn starts are submitted together, when
 *   the hub next waits (`run()`) or when its batch of ready tasks is done
 *   (the event-loop driver), in one `io_uring_enter`.
 *
 * @internal
 * @module
 */
import { openRing } from '../../async/ring.js';
import { errnoError } from '../../errors.js';
import { constant, native, type NativeRing } from '../../native.js';
import { POLL } from '../../multiplex.js';
import { Watcher, WATCH } from '../../watcher.js';
import { HANGUP, READABLE, WRITABLE, type Backend, type Dispatch, type FdState } from './backend.js';

const INTEREST = POLL.IN | POLL.OUT | POLL.RDHUP;
const READ_BITS = POLL.IN | POLL.PRI | POLL.RDHUP | POLL.HUP | POLL.ERR | POLL.NVAL;
const WRITE_BITS = POLL.OUT | POLL.HUP | POLL.ERR | POLL.NVAL;
const HANGUP_BITS = POLL.RDHUP | POLL.HUP | POLL.ERR | POLL.NVAL;
const ENTRIES = 1024;
/**
 * Completion queue entries, the kernel's maximum: how many operations can
 * wait in the kernel at once (10,000 tasks each parked in a read must all
 * fit, or reads could hold every slot while the writes they wait for queue).
 */
const CQ_ENTRIES = 65536;
/** Completions taken per reap. */
const BATCH = 256;

function bitsOf(revents: number): number {
  return (revents & READ_BITS ? READABLE : 0) | (revents & WRITE_BITS ? WRITABLE : 0) | (revents & HANGUP_BITS ? HANGUP : 0);
}

/** Handles at or below this are operations still waiting for a slot. */
const QUEUED = -1_000_000;

/** One I/O operation the backend runs in the ring for a task. */
export interface RingOperation {
  /**
   * Where the operation is, kept by the backend from its start: a slot while
   * in the kernel, a number at or below -1,000,000 while it waits for one.
   * What {@link RingIo.cancel} takes.
   */
  handle: number;
  /** Prepares it under `slot` (a native Ring method call): 0 or -errno. */
  prepare(ring: NativeRing, slot: number): number;
  /** Its result (bytes, an fd, or -errno), once per start unless cancelled. */
  complete(result: number): void;
  /**
   * It waited for a slot and, given one, could not start: `prepare` threw
   * (the native side refuses a buffer detached or shrunk meanwhile).
   */
  fail(error: unknown): void;
}

/** An fd whose multishot poll the backend keeps: `pollSlot` is its handle, as an operation's. */
type PolledFd = FdState & { pollSlot?: number };

/** What a slot's completion goes to: an fd's readiness poll, or one I/O operation. */
type Target = PolledFd | RingOperation;

function isOperation(target: Target): target is RingOperation {
  return typeof (target as RingOperation).complete === 'function';
}

/** The completion-based I/O the io_uring backend runs for tasks. */
export interface RingIo {
  /**
   * Starts `op`: its `prepare` runs now or, when every slot is taken, once
   * one frees. Returns a handle for {@link RingIo.cancel}, or -errno
   * (> -4096) if it could not start.
   */
  start(op: RingOperation): number;
  /** The task no longer wants the result: cancel it in the kernel (its completion is then dropped), or drop it from the queue. */
  cancel(handle: number): void;
}

/**
 * The hub's io_uring backend.
 *
 * @example
 * ```ts
 * const backend = new UringBackend();
 * backend.update(state); // a multishot poll on state.fd
 * backend.io.start({ handle: NaN, prepare: (ring, slot) => ring.recv(slot, fd, buf, 0, 64, 0, -1, 0), complete: (n) => wake(n), fail: (e) => wake(e) });
 * backend.wait(100, (s, bits) => wake(s, bits));
 * ```
 */
export class UringBackend implements Backend, RingIo {
  readonly name = 'io_uring';
  readonly #ring: NativeRing;
  readonly #slots: (Target | undefined)[];
  readonly #free: number[] = [];
  /** Operations and polls waiting for a free slot, in order (a Map keeps insertion order). */
  readonly #waiting = new Map<number, Target>();
  #queuedSerial = 0;
  readonly #out = new Float64Array(3 * BATCH);
  #watcher: Watcher | undefined;
  #attached: { dispatch: Dispatch; after: () => void } | undefined;
  #refed = true;
  #unsubmitted = false;

  constructor() {
    const ring = new native.Ring();
    // Deferred task work, as Ring.create() has it: completions wait for the
    // hub's own io_uring_enter instead of interrupting the thread one by one.
    const r = openRing(ring, true, ENTRIES, constant('IORING_SETUP_CQSIZE'), CQ_ENTRIES, 0, -1, 0);
    if (r < 0) throw errnoError(r, 'io_uring_setup');
    this.#ring = ring;
    this.#slots = new Array<Target | undefined>(ring.capacity).fill(undefined);
    for (let i = ring.capacity - 1; i >= 0; i--) this.#free.push(i);
  }

  /** Completion-based I/O for tasks on this hub. */
  get io(): RingIo {
    return this;
  }

  update(state: FdState): void {
    if (state.registered) return;
    state.registered = true;
    this.#arm(state);
  }

  // One multishot poll per fd, from its first wait until it is forgotten.
  #arm(state: FdState): void {
    const slot = this.#start(state);
    if (slot < 0 && slot > QUEUED) {
      state.registered = false;
      throw errnoError(slot, 'io_uring:poll', { fd: state.fd });
    }
  }

  forget(state: FdState): void {
    if (!state.registered) return;
    state.registered = false;
    const slot = (state as PolledFd).pollSlot;
    if (slot !== undefined && slot <= QUEUED) this.cancel(slot);
    else if (slot !== undefined && this.#slots[slot] === state) {
      this.#slots[slot] = undefined;
      this.#ring.cancel(slot);
      // The fd is about to be closed: the poll must be gone from the kernel
      // first. (Completions reaped meanwhile wait for the next reap.)
      this.#unsubmitted = false;
      this.#ring.submit();
    }
  }

  start(op: RingOperation): number {
    return this.#start(op);
  }

  #start(target: Target): number {
    if (this.#free.length === 0) {
      // Every slot is in the kernel: wait for one, in order, under a
      // handle below QUEUED that cancel() understands.
      const handle = QUEUED - ++this.#queuedSerial;
      this.#waiting.set(handle, target);
      this.#located(target, handle);
      return handle;
    }
    const slot = this.#free.pop()!;
    let r: number;
    try {
      r = isOperation(target) ? target.prepare(this.#ring, slot) : this.#ring.poll(slot, target.fd, INTEREST, true, -1, 0);
    } catch (error) {
      this.#free.push(slot);
      throw error;
    }
    if (r < 0) {
      this.#free.push(slot);
      return r;
    }
    this.#slots[slot] = target;
    this.#unsubmitted = true;
    this.#located(target, slot);
    return slot;
  }

  // The target's handle follows it from the queue into a slot: a cancel
  // after it was given one must reach the kernel.
  #located(target: Target, handle: number): void {
    if (isOperation(target)) target.handle = handle;
    else target.pollSlot = handle;
  }

  cancel(handle: number): void {
    if (handle <= QUEUED) {
      this.#waiting.delete(handle);
      return;
    }
    if (handle < 0 || this.#slots[handle] === undefined) return;
    this.#slots[handle] = undefined;
    this.#ring.cancel(handle);
    // At once, not with the next batch: a byte the task's caller writes
    // next must not be taken by the operation it walked away from.
    this.#ring.submit();
  }

  // Freed slots take the operations that waited for one. One that cannot
  // start now fails alone, as it would have at its start: an operation with
  // its -errno or the native side's refusal, a poll by waking its waiters
  // to find out, as a poll that fails in the kernel does.
  #startWaiting(dispatch: Dispatch): void {
    for (const [handle, target] of this.#waiting) {
      if (this.#free.length === 0) return;
      this.#waiting.delete(handle);
      let r: number;
      try {
        r = this.#start(target);
      } catch (error) {
        if (isOperation(target)) target.fail(error);
        continue;
      }
      if (r >= 0) continue;
      if (isOperation(target)) {
        target.complete(r);
      } else if (target.registered) {
        target.registered = false;
        dispatch(target, READABLE | WRITABLE | HANGUP);
      }
    }
  }

  /**
   * Submits what this turn prepared, in one io_uring_enter, and reaps what
   * completed inside it (the ring does not signal its eventfd for those).
   */
  flush(dispatch: Dispatch): boolean {
    if (!this.#unsubmitted) return false;
    this.#unsubmitted = false;
    this.#ring.submit();
    return this.#reap(dispatch, false) > 0;
  }

  wait(timeoutMs: number, dispatch: Dispatch): number {
    // The eventfd only matters to the loop's watcher: run() (detached)
    // waits in io_uring_enter, and reading the eventfd there was one failed
    // read(2) per wait. The watcher drains it if the loop takes over.
    const woken = this.#attached !== undefined;
    let n = this.flush(dispatch) ? 1 : 0;
    n += this.#reap(dispatch, woken);
    if (n > 0 || timeoutMs === 0) return n;
    const r = this.#ring.wait(timeoutMs < 0 ? 2 ** 31 - 1 : Math.ceil(timeoutMs));
    if (r < 0 && r !== -62 /* ETIME */ && r !== -4 /* EINTR */) throw errnoError(r, 'io_uring_enter');
    n = this.#reap(dispatch, woken);
    return n;
  }

  #reap(dispatch: Dispatch, woken = true): number {
    const out = this.#out;
    let total = 0;
    for (;;) {
      const n = this.#ring.reap(out, woken);
      for (let i = 0; i < n; i++) {
        const slot = out[3 * i]!;
        const result = out[3 * i + 1]!;
        const more = out[3 * i + 2] === 1;
        const target = this.#slots[slot];
        if (!more) {
          this.#slots[slot] = undefined;
          this.#free.push(slot);
        }
        if (target === undefined) continue;
        if (isOperation(target)) {
          target.complete(result);
        } else if (result >= 0) {
          // A poll the kernel ended (a regular file's, ready at once, ends at
          // its first event; any may on overflow) is armed again by the next
          // wait, not here: re-arming now would spin on an always-ready fd.
          if (!more) target.registered = false;
          dispatch(target, bitsOf(result));
        } else if (target.registered) {
          // The poll failed (EBADF: the fd was closed behind our back): wake its waiters to find out.
          dispatch(target, READABLE | WRITABLE | HANGUP);
          target.registered = false;
        }
      }
      total += n;
      if (this.#waiting.size > 0) this.#startWaiting(dispatch);
      if (n < BATCH) break;
    }
    return total;
  }

  attach(dispatch: Dispatch, after: () => void): void {
    if (this.#attached !== undefined) return;
    this.#attached = { dispatch, after };
    this.#watcher = new Watcher(this.#ring.eventfd, () => {
      const attached = this.#attached;
      if (attached === undefined) return;
      this.#reap(attached.dispatch);
      attached.after();
    });
    this.#watcher.start(WATCH.READABLE);
    if (!this.#refed) this.#watcher.unref();
  }

  detach(): void {
    this.#attached = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  ref(refed: boolean): void {
    this.#refed = refed;
    if (this.#watcher === undefined) return;
    if (refed) this.#watcher.ref();
    else this.#watcher.unref();
  }

  close(): void {
    this.detach();
    for (let slot = 0; slot < this.#slots.length; slot++) if (this.#slots[slot] !== undefined) this.#ring.cancel(slot);
    this.#ring.submit();
    for (let i = 0; i < 100 && this.#free.length < this.#slots.length; i++) {
      this.#ring.wait(20);
      this.#reap(() => {});
    }
    this.#ring.close();
  }
}
