/**
 * The watcher: a `uv_poll_t` on an fd, on the event loop of the calling
 * thread. It is the one native async mechanism every asynchronous mode
 * stands on: the epoll fd of an {@link Epoll}, an io_uring completion
 * eventfd, an AIO eventfd or the signal self-pipe are each just an fd handed
 * to a `Watcher`, whose callback runs on Node's loop beside timers and other
 * I/O (with `MakeCallback` semantics: microtasks drain after it, and an
 * exception it throws is an uncaught exception).
 *
 * The watcher polls its own duplicate of the fd (`F_DUPFD_CLOEXEC`), which
 * it closes when it is closed. libuv aborts the process when an fd it polls
 * is closed under it; with the duplicate, closing the caller's fd cannot
 * reach libuv, several watchers on one fd do not collide (nor with fds Node
 * itself watches), and a reused fd number is never taken for the old one.
 * What remains of libuv's rules (docs.libuv.org, `uv_poll_t`):
 * - the duplicate keeps the file open: closing your fd does not stop the
 *   watcher (it goes on reporting the file's readiness); close the watcher;
 * - readiness may be spurious, so the callback must tolerate `EAGAIN`;
 * - libuv puts the file (shared by both fds) in non-blocking mode.
 *
 * @internal
 * @module
 */
import { check, errnoError, invalidArgType, useAfterClose, type IoError } from './errors.js';
import { constant, native } from './native.js';
import { validateFd, validateFlags } from './validate.js';

/**
 * Event bits for {@link Watcher.start}, libuv's `UV_*` poll events.
 *
 * @example
 * ```ts
 * import { Watcher, WATCH } from './watcher.js';
 * const w = new Watcher(fd, (events) => { if (events & WATCH.READABLE) drain(); });
 * w.start(WATCH.READABLE | WATCH.DISCONNECT);
 * ```
 */
export const WATCH = Object.freeze({
  /** The fd is readable (`POLLIN`). */
  READABLE: constant('UV_READABLE'),
  /** The fd is writable (`POLLOUT`). */
  WRITABLE: constant('UV_WRITABLE'),
  /** The peer hung up its write side (`EPOLLRDHUP`). */
  DISCONNECT: constant('UV_DISCONNECT'),
  /** Urgent data is readable (`POLLPRI`). */
  PRIORITIZED: constant('UV_PRIORITIZED'),
});
const knownWatch = WATCH.READABLE | WATCH.WRITABLE | WATCH.DISCONNECT | WATCH.PRIORITIZED;

/**
 * Called on the loop with the ready events, or with an error (libuv reports
 * `EBADF` when the fd broke under it; the watcher is then stopped).
 */
export type WatcherCallback = (events: number, error?: IoError) => void;

type NativeWatcher = InstanceType<typeof native.Watcher>;

/**
 * A `uv_poll_t` on one fd, calling back on this thread's event loop.
 * Created stopped and ref'd; `close()` is idempotent, and closing from
 * inside the callback is safe.
 *
 * @example
 * ```ts
 * import { Watcher, WATCH } from './watcher.js';
 * const w = new Watcher(eventFd, () => { read(eventFd, counter); w.close(); });
 * w.start(WATCH.READABLE);
 * ```
 */
export class Watcher {
  readonly #native: NativeWatcher;
  readonly #fd: number;
  #closed = false;

  /**
   * @param fd the fd to watch; it stays the caller's (the watcher polls a duplicate)
   * @param callback receives the ready {@link WATCH} bits
   * @throws {@link IoError} `EPERM` for a regular file (always ready),
   *   `EBADF` for a closed fd
   */
  constructor(fd: number, callback: WatcherCallback) {
    validateFd(fd);
    if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
    this.#fd = fd;
    this.#native = new native.Watcher((status, events) => {
      if (status < 0) callback(0, errnoError(status, 'uv_poll', { fd }));
      else callback(events);
    });
    const r = this.#native.open(fd);
    if (r < 0) {
      this.#native.close();
      throw errnoError(r, 'uv_poll_init', { fd });
    }
  }

  /** The watched fd, or -1 once closed. */
  get fd(): number {
    return this.#closed ? -1 : this.#fd;
  }

  /** Whether the watcher is started. */
  get active(): boolean {
    return this.#native.active;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the watcher keeps the event loop alive while started. */
  get hasRef(): boolean {
    return this.#native.hasRef();
  }

  /**
   * Starts watching for `events` (or changes the set while started).
   *
   * @param events {@link WATCH} bits; default `WATCH.READABLE`
   */
  start(events: number = WATCH.READABLE): void {
    validateFlags(events, knownWatch, 'events');
    this.#open();
    check(this.#native.start(events), 'uv_poll_start', { fd: this.#fd });
  }

  /** Stops watching; `start()` resumes. */
  stop(): void {
    this.#open();
    check(this.#native.stop(), 'uv_poll_stop', { fd: this.#fd });
  }

  /** Makes the started watcher keep the event loop (the process or Worker) alive. The default. */
  ref(): void {
    this.#open();
    this.#native.ref();
  }

  /** Lets the process or Worker exit even while the watcher is started. */
  unref(): void {
    this.#open();
    this.#native.unref();
  }

  /** Stops and closes the watcher (not the fd). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): void {
    if (this.#closed) throw useAfterClose('Watcher');
  }
}
