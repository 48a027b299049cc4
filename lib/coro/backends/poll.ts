/**
 * The poll backend: one {@link Poller} (`poll(2)`), level-triggered, each
 * fd in it only while a task waits on it, for just the directions waited
 * for. Every wait passes the whole set to the kernel: O(n), as poll is.
 *
 * On Node's event loop there is no poll fd to watch, so each fd in the set
 * gets a {@link Watcher} whose only job is to wake the hub; the hub then
 * asks `poll(2)` what is ready, so readiness always comes from poll.
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

  update(state: FdState): void {
    const events = (state.interest & READABLE ? POLL.IN | POLL.RDHUP : 0) | (state.interest & WRITABLE ? POLL.OUT : 0);
    if (events === 0) {
      this.forget(state);
      return;
    }
    if (!state.registered) this.#states.set(state.fd, state);
    this.#poller.register(state.fd, events);
    state.registered = true;
    if (this.#attached !== undefined) this.#watch(state.fd, state.interest);
  }

  forget(state: FdState): void {
    if (!state.registered) return;
    state.registered = false;
    this.#states.delete(state.fd);
    this.#poller.unregister(state.fd);
    this.#watchers.get(state.fd)?.close();
    this.#watchers.delete(state.fd);
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
    for (const state of this.#states.values()) this.#watch(state.fd, state.interest);
  }

  detach(): void {
    this.#attached = undefined;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
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

  // A watcher per fd, started for the directions waited on: it only wakes
  // the hub, which then asks poll(2).
  #watch(fd: number, interest: number): void {
    let watcher = this.#watchers.get(fd);
    if (watcher === undefined) {
      try {
        watcher = new Watcher(fd, this.#collect);
      } catch {
        // libuv cannot watch a regular file (EPERM) or a closed fd (EBADF);
        // poll(2) reports both at once (always ready; POLLNVAL), so ask it.
        setImmediate(this.#collect);
        return;
      }
      if (!this.#refed) watcher.unref();
      this.#watchers.set(fd, watcher);
    }
    watcher.start((interest & READABLE ? WATCH.READABLE | WATCH.DISCONNECT : 0) | (interest & WRITABLE ? WATCH.WRITABLE : 0));
  }

  readonly #collect = (): void => {
    const attached = this.#attached;
    if (attached === undefined) return;
    this.wait(0, attached.dispatch);
    attached.after();
  };
}
