/**
 * The poll backend: one {@link Poller} (`poll(2)`), level-triggered, each
 * fd in it only while a task waits on it, for just the directions waited
 * for. Every wait passes the whole set to the kernel: O(n), as poll is.
 *
 * On Node's event loop there is no poll fd to watch, so each fd in the set
 * gets a {@link Watcher} whose only job is to wake the hub; the hub then
 * asks `poll(2)` what is ready, so readiness always comes from poll. The
 * watchers that fire in one turn of the loop wake it once: one `poll(2)`
 * for them all, not one each.
 *
 * @internal
 * @module
 */
import { POLL, Poller } from '../../multiplex.js';
import { WATCH, Watcher } from '../../watcher.js';
import { HANGUP, READABLE, WRITABLE, type Backend, type Dispatch, type FdState } from './backend.js';

const READ_BITS = POLL.IN | POLL.PRI | POLL.RDHUP | POLL.HUP | POLL.ERR | POLL.NVAL;
const WRITE_BITS = POLL.OUT | POLL.HUP | POLL.ERR | POLL.NVAL;
const HANGUP_BITS = POLL.RDHUP | POLL.HUP | POLL.ERR | POLL.NVAL;

/** The watcher events for a hub interest. */
function watchEvents(interest: number): number {
  return (interest & READABLE ? WATCH.READABLE | WATCH.DISCONNECT : 0) | (interest & WRITABLE ? WATCH.WRITABLE : 0);
}

/**
 * The hub's poll backend.
 *
 * @example
 * ```ts
 * const backend = new PollBackend();
 * state.interest = READABLE;
 * backend.update(state);
 * backend.wait(100, (s, bits) => wake(s, bits));
 * ```
 */
export class PollBackend implements Backend {
  readonly name = 'poll';
  readonly #poller = new Poller();
  readonly #states = new Map<number, FdState>();
  readonly #watchers = new Map<number, Watcher>();
  #attached: { dispatch: Dispatch; after: () => void } | undefined;
  #refed = true;
  #collectQueued = false;
  /** What each fd's watcher is started for (absent or 0: stopped). */
  readonly #watching = new Map<number, number>();
  /** fds whose watcher may need starting, changing or stopping. */
  readonly #stale = new Set<number>();
  #syncQueued = false;

  update(state: FdState): void {
    const events = (state.interest & READABLE ? POLL.IN | POLL.RDHUP : 0) | (state.interest & WRITABLE ? POLL.OUT : 0);
    if (events === 0) {
      this.#idle(state);
      return;
    }
    if (!state.registered) this.#states.set(state.fd, state);
    this.#poller.register(state.fd, events);
    state.registered = true;
    this.#mark(state.fd);
  }

  forget(state: FdState): void {
    this.#idle(state);
    this.#watchers.get(state.fd)?.close();
    this.#watchers.delete(state.fd);
    this.#watching.delete(state.fd);
  }

  // Nobody waits on the fd: out of poll's set. Its watcher is stopped but
  // kept for the next wait (a new one costs a dozen syscalls: dup, fcntl,
  // epoll_ctl, close); forget() closes it, before the fd is closed.
  #idle(state: FdState): void {
    if (!state.registered) return;
    state.registered = false;
    this.#states.delete(state.fd);
    this.#poller.unregister(state.fd);
    this.#mark(state.fd);
  }

  wait(timeoutMs: number, dispatch: Dispatch): number {
    const ready = this.#poller.poll(timeoutMs);
    for (const { fd, events } of ready) {
      const state = this.#states.get(fd);
      if (state === undefined) continue;
      dispatch(state, (events & READ_BITS ? READABLE : 0) | (events & WRITE_BITS ? WRITABLE : 0) | (events & HANGUP_BITS ? HANGUP : 0));
    }
    return ready.length;
  }

  attach(dispatch: Dispatch, after: () => void): void {
    if (this.#attached !== undefined) return;
    this.#attached = { dispatch, after };
    for (const state of this.#states.values()) this.#watch(state.fd, watchEvents(state.interest));
  }

  detach(): void {
    this.#attached = undefined;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#watching.clear();
    this.#stale.clear();
  }

  ref(refed: boolean): void {
    this.#refed = refed;
    for (const watcher of this.#watchers.values()) {
      if (refed) watcher.ref();
      else watcher.unref();
    }
  }

  close(): void {
    this.detach();
    for (const state of [...this.#states.values()]) this.forget(state);
  }

  // A task's wake and its next park usually fall in one turn of the loop:
  // the watchers are brought up to date once, at the end of the turn (a
  // microtask, so before the loop waits again), and an interest that went
  // and came back costs no uv_poll_stop/uv_poll_start.
  #mark(fd: number): void {
    if (this.#attached === undefined) return;
    this.#stale.add(fd);
    if (this.#syncQueued) return;
    this.#syncQueued = true;
    queueMicrotask(this.#sync);
  }

  readonly #sync = (): void => {
    this.#syncQueued = false;
    if (this.#attached === undefined) return;
    for (const fd of this.#stale) {
      const state = this.#states.get(fd);
      try {
        this.#watch(fd, state === undefined ? 0 : watchEvents(state.interest));
      } catch {
        // Not watchable after all: poll(2) says what it is (POLLNVAL).
        this.#wake();
      }
    }
    this.#stale.clear();
  };

  // A watcher per fd, started for the directions waited on: it only wakes
  // the hub, which then asks poll(2).
  #watch(fd: number, events: number): void {
    if ((this.#watching.get(fd) ?? 0) === events) return;
    let watcher = this.#watchers.get(fd);
    if (watcher === undefined) {
      if (events === 0) return;
      try {
        watcher = new Watcher(fd, this.#wake);
      } catch {
        // libuv cannot watch a regular file (EPERM) or a closed fd (EBADF);
        // poll(2) reports both at once (always ready; POLLNVAL), so ask it.
        this.#wake();
        return;
      }
      if (!this.#refed) watcher.unref();
      this.#watchers.set(fd, watcher);
    }
    if (events === 0) watcher.stop();
    else watcher.start(events);
    this.#watching.set(fd, events);
  }

  // In the check phase of the loop turn whose poll phase ran the watchers:
  // by then every watcher that fired has asked, and the next poll phase has
  // not come yet.
  readonly #wake = (): void => {
    if (this.#collectQueued) return;
    this.#collectQueued = true;
    setImmediate(this.#collect);
  };

  readonly #collect = (): void => {
    this.#collectQueued = false;
    const attached = this.#attached;
    if (attached === undefined) return;
    this.wait(0, attached.dispatch);
    attached.after();
  };
}
