/**
 * What the hub needs from a readiness backend. A backend is one file
 * (`backends/epoll.ts`, `backends/poll.ts`, `backends/uring.ts`): it tells
 * the kernel which fds the hub's waiters care about, waits, and reports
 * readiness as {@link READABLE} and {@link WRITABLE} bits on the hub's
 * {@link FdState}s. The io_uring backend also runs tasks' I/O itself, as
 * ring operations.
 *
 * @internal
 * @module
 */

/**
 * Readiness bit: a read will not block (or the peer hung up, or an error is pending).
 *
 * @example
 * ```ts
 * if (hub.readiness(fd) & READABLE) tryAgainNow();
 * ```
 */
export const READABLE = 1;
/**
 * Readiness bit: a write will not block (or an error is pending).
 *
 * @example
 * ```ts
 * hub.addWaiter(fd, WRITABLE, task, ticket);
 * ```
 */
export const WRITABLE = 2;
/**
 * Readiness bit, with READABLE: the peer hung up or an error is pending
 * (RDHUP, HUP, ERR). It stays set: end of stream does not go away.
 *
 * @example
 * ```ts
 * const drained = n < length && (hub.readiness(fd) & HANGUP) === 0;
 * ```
 */
export const HANGUP = 4;

/** The hub's record of one fd: who waits on it, and what readiness was seen. */
export interface FdState {
  readonly fd: number;
  /** READABLE | WRITABLE bits some task waits for now. */
  interest: number;
  /** Readiness seen by the backend and not yet used up (READABLE, WRITABLE, HANGUP bits): a hint, cleared when a syscall says EAGAIN. */
  ready: number;
  /** Backend-private: whether (and how) the kernel knows this fd. */
  registered: boolean;
}

/** Called for every fd the backend found ready, with its READABLE | WRITABLE bits. */
export type Dispatch = (state: FdState, bits: number) => void;

/** A readiness backend, as the hub drives it. */
export interface Backend {
  /** `'epoll'`, `'poll'` or `'io_uring'`. */
  readonly name: BackendName;
  /**
   * The waiters on `state` changed (its `interest`): make the kernel report
   * what they need. Throws an {@link IoError} for an fd that cannot be
   * polled (`EPERM` for a regular file) or is not open (`EBADF`).
   */
  update(state: FdState): void;
  /** The fd is about to be closed: take its registration down first. */
  forget(state: FdState): void;
  /** Blocks up to `timeoutMs` (-1: forever, 0: just look), dispatching what is ready; returns the number of events. */
  wait(timeoutMs: number, dispatch: Dispatch): number;
  /**
   * Starts reporting readiness on Node's event loop: `dispatch` for each
   * ready fd, then `after()` once per batch. Until `detach()`.
   */
  attach(dispatch: Dispatch, after: () => void): void;
  /** Stops reporting on Node's event loop. */
  detach(): void;
  /** Whether reporting on the event loop keeps the process alive. */
  ref(refed: boolean): void;
  /** Closes the backend's kernel object. */
  close(): void;
  /**
   * Submits what the hub's turn prepared (a completion backend batches its
   * operations), and dispatches what completed at once. Returns whether
   * anything was dispatched: woken tasks may be ready to run.
   */
  flush?(dispatch: Dispatch): boolean;
}

/**
 * The backends a hub can run on: readiness through `epoll` or `poll`, or
 * completions through `io_uring`.
 *
 * @example
 * ```ts
 * import { createHub, type BackendName } from 'iomodes/coro';
 * const backend: BackendName = process.env.HUB === 'poll' ? 'poll' : 'epoll';
 * const hub = createHub({ backend });
 * console.log(hub.backend); // 'epoll' unless HUB=poll
 * hub.close();
 * ```
 */
export type BackendName = 'epoll' | 'poll' | 'io_uring';
