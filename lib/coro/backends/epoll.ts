/**
 * The epoll backend: one {@link Epoll}, each fd registered once,
 * edge-triggered for both directions (`IN | OUT | RDHUP | ET`), from its
 * first wait until it is forgotten (closed). A wait then costs no
 * `epoll_ctl` at all: the edge that arrives after a syscall said `EAGAIN`
 * wakes the waiter, and an edge nobody waits for is kept as a readiness
 * hint on the fd's state.
 *
 * @internal
 * @module
 */
import { Epoll, type EpollEvent } from '../../multiplex.js';
import { HANGUP, READABLE, WRITABLE, type Backend, type Dispatch, type FdState } from './backend.js';

const INTEREST = Epoll.IN | Epoll.OUT | Epoll.RDHUP | Epoll.ET;
const READ_BITS = Epoll.IN | Epoll.RDHUP | Epoll.HUP | Epoll.ERR | Epoll.PRI;
const WRITE_BITS = Epoll.OUT | Epoll.HUP | Epoll.ERR;
const HANGUP_BITS = Epoll.RDHUP | Epoll.HUP | Epoll.ERR;
/** Events taken per wait. */
const BATCH = 1024;

function bitsOf(events: number): number {
  return (events & READ_BITS ? READABLE : 0) | (events & WRITE_BITS ? WRITABLE : 0) | (events & HANGUP_BITS ? HANGUP : 0);
}

/**
 * The hub's epoll backend.
 *
 * @example
 * ```ts
 * const backend = new EpollBackend();
 * backend.update(state); // registers state.fd, edge-triggered
 * backend.wait(100, (s, bits) => wake(s, bits));
 * ```
 */
export class EpollBackend implements Backend {
  readonly name = 'epoll';
  readonly #epoll = Epoll.create<FdState>();
  #stop: (() => void) | undefined;

  update(state: FdState): void {
    if (state.registered) return;
    this.#epoll.add(state.fd, INTEREST, state);
    state.registered = true;
  }

  forget(state: FdState): void {
    if (!state.registered) return;
    state.registered = false;
    try {
      this.#epoll.delete(state.fd);
    } catch {
      // Already gone with its last fd: nothing left to take down.
    }
  }

  wait(timeoutMs: number, dispatch: Dispatch): number {
    this.#dispatch = dispatch;
    return this.#epoll.waitEach(BATCH, timeoutMs, this.#each);
  }

  #dispatch: Dispatch | undefined;
  readonly #each = (state: FdState, events: number): void => this.#dispatch!(state, bitsOf(events));

  attach(dispatch: Dispatch, after: () => void): void {
    if (this.#stop !== undefined) return;
    this.#stop = this.#epoll.watch((events) => {
      deliver(events, dispatch);
      after();
    });
  }

  detach(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  ref(refed: boolean): void {
    if (refed) this.#epoll.ref();
    else this.#epoll.unref();
  }

  close(): void {
    this.detach();
    this.#epoll.close();
  }
}

function deliver(events: EpollEvent<FdState>[], dispatch: Dispatch): void {
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    dispatch(event.data, bitsOf(event.events));
  }
}
