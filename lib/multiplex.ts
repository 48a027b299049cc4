/**
 * I/O multiplexing: one thread waits on many fds at once and learns which
 * are ready. Three kernel interfaces, from oldest to newest:
 *
 * - {@link select}: three fd bitmaps, rebuilt on every call; fds must be
 *   below `FD_SETSIZE` (1024). Cost O(highest fd) per call.
 * - {@link poll} and {@link Poller}: an array of `struct pollfd`, any fd
 *   number. Cost O(n) per call, n the number of fds watched.
 * - {@link Epoll}: a kernel object holding the interest list; a wait costs
 *   O(ready), not O(registered). Level- or edge-triggered, one-shot,
 *   exclusive wake-ups; usable synchronously ({@link Epoll.wait}) or on
 *   Node's event loop ({@link Epoll.watch}, {@link Epoll.events},
 *   {@link Epoll.waitAsync}).
 *
 * All timeouts are in milliseconds: `-1` (or `undefined`) waits forever,
 * `0` polls and returns at once. A wait interrupted by a signal resumes for
 * the time left; `EINTR` never reaches you.
 *
 * @module
 */
import { constants as osConstants } from 'node:os';
import { check, errnoError, illegalConstructor, invalidArgType, invalidArgValue, outOfRange, useAfterClose, type IoError } from './errors.js';
import { constant, native } from './native.js';
import { validateBoolean, validateFd, validateFunction, validateInteger, validateOptions, validateSignal, validateTimeout } from './validate.js';
import { WATCH, Watcher } from './watcher.js';

const { EPERM, EEXIST, ENOENT, EINVAL } = osConstants.errno;

/**
 * The number of fds an `fd_set` holds: {@link select} takes fds in
 * `[0, FD_SETSIZE)` only. 1024 on Linux.
 *
 * @example
 * ```ts
 * import { FD_SETSIZE } from 'iomodes';
 * FD_SETSIZE; // 1024
 * ```
 */
export const FD_SETSIZE: number = constant('FD_SETSIZE');

/** The error an aborted wait rejects with: `name: 'AbortError'`, `code: 'ABORT_ERR'`, `cause` the signal's reason, as Node's own. */
function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

// ---------------------------------------------------------------- select

/**
 * The fds {@link select} found ready, one list per set asked about.
 *
 * @example
 * ```ts
 * import { pipe, write, select, close, type SelectResult } from 'iomodes';
 * const [r, w] = pipe();
 * write(w, Buffer.from('x'));
 * const ready: SelectResult = select([r], [w], [], 0); // { read: [r], write: [w], except: [] }
 * close(r); close(w);
 * ```
 */
export interface SelectResult {
  /** Readable fds (from `readFds`). */
  read: number[];
  /** Writable fds (from `writeFds`). */
  write: number[];
  /** fds with an exceptional condition, such as TCP urgent data (from `exceptFds`). */
  except: number[];
}

function fdSetList(fds: unknown, name: string): Int32Array {
  if (fds === undefined) return new Int32Array(0);
  if (!Array.isArray(fds)) throw invalidArgType(name, 'an instance of Array', fds);
  const out = new Int32Array(fds.length);
  for (let i = 0; i < fds.length; i++) {
    const fd: unknown = fds[i];
    validateFd(fd, `${name}[${i}]`);
    // FD_SET beyond FD_SETSIZE writes past the fd_set (or aborts under
    // _FORTIFY_SOURCE): reject before anything reaches native code.
    if (fd >= FD_SETSIZE) throw outOfRange(`${name}[${i}]`, `>= 0 && < ${FD_SETSIZE} (FD_SETSIZE)`, fd);
    out[i] = fd;
  }
  return out;
}

/**
 * Waits with `select(2)` until one of the fds is ready, or the timeout
 * passes. Every fd must be below {@link FD_SETSIZE} (1024): larger ones
 * throw `RangeError` `ERR_OUT_OF_RANGE` before any syscall. Use {@link poll}
 * or {@link Epoll} for high fd numbers.
 *
 * @param readFds fds to check for readability
 * @param writeFds fds to check for writability
 * @param exceptFds fds to check for exceptional conditions (TCP urgent data)
 * @param timeoutMs `-1` or `undefined` waits forever, `0` polls
 * @returns the ready fds of each set (all empty after a timeout)
 * @throws {@link IoError} `EBADF` if an fd is not open
 * @example
 * ```ts
 * import { pipe, write, select } from 'iomodes';
 * const [r, w] = pipe();
 * write(w, Buffer.from('x'));
 * select([r], [w], [], 1000); // { read: [r], write: [w], except: [] }
 * ```
 */
export function select(readFds: readonly number[], writeFds: readonly number[] = [], exceptFds: readonly number[] = [], timeoutMs?: number): SelectResult {
  const lists = [fdSetList(readFds, 'readFds'), fdSetList(writeFds, 'writeFds'), fdSetList(exceptFds, 'exceptFds')] as const;
  const timeout = validateTimeout(timeoutMs);
  const out = new Uint8Array(lists[0].length + lists[1].length + lists[2].length);
  check(native.select(lists[0], lists[1], lists[2], timeout, out), 'select');
  const result: SelectResult = { read: [], write: [], except: [] };
  const targets = [result.read, result.write, result.except];
  let k = 0;
  for (let s = 0; s < 3; s++) {
    for (const fd of lists[s]!) if (out[k++] === 1) targets[s]!.push(fd);
  }
  return result;
}

// ---------------------------------------------------------------- poll

/**
 * `poll(2)` event bits, for {@link poll} and {@link Poller}. `ERR`, `HUP`
 * and `NVAL` are always reported, asked for or not. Combine with `|`.
 *
 * @example
 * ```ts
 * import { poll, POLL } from 'iomodes';
 * const [ready] = poll([{ fd, events: POLL.IN | POLL.RDHUP }], 0);
 * if (ready && ready.events & POLL.HUP) console.log('peer closed');
 * ```
 */
export const POLL = Object.freeze({
  /** Data to read. */
  IN: constant('POLLIN'),
  /** Writing will not block. */
  OUT: constant('POLLOUT'),
  /** Urgent data to read (TCP out-of-band). */
  PRI: constant('POLLPRI'),
  /** An error condition (output only). */
  ERR: constant('POLLERR'),
  /** Hang-up: the peer closed (output only). */
  HUP: constant('POLLHUP'),
  /** The fd is not open (output only). */
  NVAL: constant('POLLNVAL'),
  /** The stream socket's peer shut down its write side. */
  RDHUP: constant('POLLRDHUP'),
});
const knownPoll = Object.values(POLL).reduce((a, b) => a | b, 0);
const POLLFD_SIZE = constant('POLLFD_SIZE');
/** The most fds one {@link poll} call takes: Linux's own ceiling on RLIMIT_NOFILE (`fs.nr_open` defaults to 2**20). */
const MAX_POLL_FDS = 1 << 20;

/**
 * An fd and the {@link POLL} events to wait for.
 *
 * @example
 * ```ts
 * import { socketpair, poll, POLL, close, type PollEntry } from 'iomodes';
 * const [a, b] = socketpair();
 * const entries: PollEntry[] = [{ fd: a, events: POLL.IN }, { fd: b, events: POLL.OUT }];
 * poll(entries, 0); // [{ fd: b, events: POLL.OUT }]: nothing to read on a yet
 * close(a); close(b);
 * ```
 */
export interface PollEntry {
  fd: number;
  events: number;
}

/**
 * A ready fd and the {@link POLL} events it has (the kernel's `revents`).
 *
 * @example
 * ```ts
 * import { pipe, poll, POLL, close, type PollEvent } from 'iomodes';
 * const [r, w] = pipe();
 * close(w);
 * const ready: PollEvent[] = poll([{ fd: r, events: POLL.IN }], 0);
 * for (const { fd, events } of ready) if (events & POLL.HUP) console.log(fd, 'hung up'); // the write end is closed
 * close(r);
 * ```
 */
export interface PollEvent {
  fd: number;
  events: number;
}

function validatePollEvents(events: unknown, name: string): number {
  validateInteger(events, name, 0, 0xffff);
  if ((events & ~knownPoll) !== 0) throw invalidArgValue(name, events, `has unknown bits 0x${(events & ~knownPoll).toString(16)}`);
  return events;
}

// struct pollfd is { int fd; short events; short revents; }: as 32-bit
// words, [fd, events | revents << 16] on a little-endian machine; read
// through an Int32Array and a Uint16Array over the same memory.
function pollfdViews(capacity: number): [Int32Array, Uint16Array] {
  const buffer = new ArrayBuffer(capacity * POLLFD_SIZE);
  return [new Int32Array(buffer), new Uint16Array(buffer)];
}

function runPoll(words: Int32Array, halves: Uint16Array, count: number, timeout: number): PollEvent[] {
  const n = check(native.poll(words, count, timeout), 'poll');
  const ready: PollEvent[] = [];
  for (let i = 0; i < count && ready.length < n; i++) {
    const revents = halves[i * 4 + 3]!;
    if (revents !== 0) ready.push({ fd: words[i * 2]!, events: revents });
  }
  return ready;
}

/**
 * Waits with `poll(2)` until one of the fds has one of its events, or the
 * timeout passes. A closed fd is not an error: it comes back with
 * `POLL.NVAL`. For repeated waits on the same set, {@link Poller} reuses
 * its memory.
 *
 * @param entries the fds, each with the {@link POLL} events to wait for
 * @param timeoutMs `-1` or `undefined` waits forever, `0` polls
 * @returns the ready fds, in the order given, each with its events
 * @example
 * ```ts
 * import { socketpair, write, poll, POLL } from 'iomodes';
 * const [a, b] = socketpair();
 * write(b, Buffer.from('x'));
 * poll([{ fd: a, events: POLL.IN }], 100); // [{ fd: a, events: POLL.IN }]
 * ```
 */
export function poll(entries: readonly PollEntry[], timeoutMs?: number): PollEvent[] {
  if (!Array.isArray(entries)) throw invalidArgType('entries', 'an instance of Array', entries);
  const count = entries.length;
  // The kernel takes at most RLIMIT_NOFILE entries (EINVAL beyond); this
  // bound keeps a huge (sparse) array from a failed, code-less allocation.
  if (count > MAX_POLL_FDS) throw outOfRange('entries.length', `<= ${MAX_POLL_FDS}`, count);
  const [words, halves] = pollfdViews(count);
  for (let i = 0; i < count; i++) {
    const entry: unknown = entries[i];
    if (entry === null || typeof entry !== 'object') throw invalidArgType(`entries[${i}]`, 'of type object', entry);
    const { fd, events } = entry as Record<string, unknown>;
    validateFd(fd, `entries[${i}].fd`);
    words[i * 2] = fd;
    halves[i * 4 + 2] = validatePollEvents(events, `entries[${i}].events`);
  }
  return runPoll(words, halves, count, validateTimeout(timeoutMs));
}

/**
 * A reusable `poll(2)` set, like Python's `select.poll()`: register fds
 * once, then {@link Poller.poll} as often as needed. The `struct pollfd`
 * array is kept between calls, so a wait allocates only its results.
 *
 * @example
 * ```ts
 * import { Poller, POLL, pipe, write } from 'iomodes';
 * const [r, w] = pipe();
 * const poller = new Poller();
 * poller.register(r, POLL.IN);
 * write(w, Buffer.from('x'));
 * poller.poll(1000); // [{ fd: r, events: POLL.IN }]
 * poller.unregister(r);
 * ```
 */
export class Poller {
  #words: Int32Array;
  #halves: Uint16Array;
  #count = 0;
  readonly #slots = new Map<number, number>();

  constructor() {
    [this.#words, this.#halves] = pollfdViews(8);
  }

  /** How many fds are registered. */
  get size(): number {
    return this.#count;
  }

  /**
   * Watches `fd` for `events`. Registering an fd again replaces its events.
   *
   * @param events {@link POLL} bits; default `IN | PRI | OUT`, as Python's
   * @example
   * ```ts
   * poller.register(socketFd, POLL.IN | POLL.RDHUP);
   * ```
   */
  register(fd: number, events: number = POLL.IN | POLL.PRI | POLL.OUT): void {
    validateFd(fd);
    const bits = validatePollEvents(events, 'events');
    let slot = this.#slots.get(fd);
    if (slot === undefined) {
      if (this.#count * 2 === this.#words.length) this.#grow();
      slot = this.#count++;
      this.#slots.set(fd, slot);
      this.#words[slot * 2] = fd;
    }
    this.#halves[slot * 4 + 2] = bits;
  }

  /**
   * Changes the events of a registered fd.
   *
   * @throws `TypeError` `ERR_INVALID_ARG_VALUE` if `fd` is not registered
   * @example
   * ```ts
   * poller.modify(socketFd, POLL.IN | POLL.OUT); // also wait for buffer space
   * ```
   */
  modify(fd: number, events: number): void {
    validateFd(fd);
    const bits = validatePollEvents(events, 'events');
    const slot = this.#slots.get(fd);
    if (slot === undefined) throw invalidArgValue('fd', fd, 'is not registered');
    this.#halves[slot * 4 + 2] = bits;
  }

  /**
   * Stops watching `fd`.
   *
   * @throws `TypeError` `ERR_INVALID_ARG_VALUE` if `fd` is not registered
   * @example
   * ```ts
   * poller.unregister(socketFd);
   * ```
   */
  unregister(fd: number): void {
    validateFd(fd);
    const slot = this.#slots.get(fd);
    if (slot === undefined) throw invalidArgValue('fd', fd, 'is not registered');
    // Move the last entry into the hole: O(1), and the array stays dense.
    const last = --this.#count;
    this.#slots.delete(fd);
    if (slot !== last) {
      const lastFd = this.#words[last * 2]!;
      this.#words[slot * 2] = lastFd;
      this.#halves[slot * 4 + 2] = this.#halves[last * 4 + 2]!;
      this.#slots.set(lastFd, slot);
    }
  }

  /**
   * Waits until a registered fd is ready, or the timeout passes.
   *
   * @param timeoutMs `-1` or `undefined` waits forever, `0` polls
   * @returns the ready fds with their {@link POLL} events (`NVAL` for a closed fd)
   * @example
   * ```ts
   * for (const { fd, events } of poller.poll(1000)) if (events & POLL.IN) drain(fd);
   * ```
   */
  poll(timeoutMs?: number): PollEvent[] {
    const timeout = validateTimeout(timeoutMs);
    return runPoll(this.#words, this.#halves, this.#count, timeout);
  }

  #grow(): void {
    const [words, halves] = pollfdViews(this.#count * 2);
    words.set(this.#words);
    this.#words = words;
    this.#halves = halves;
  }
}

// ---------------------------------------------------------------- epoll

/**
 * One ready fd from an {@link Epoll}: its fd, its {@link Epoll} event bits, and the `data` given at registration.
 *
 * @example
 * ```ts
 * import { Epoll, socketpair, write, type EpollEvent } from 'iomodes';
 * using epoll = Epoll.create<{ name: string }>();
 * const [a, b] = socketpair();
 * epoll.add(a, Epoll.IN, { name: 'a' });
 * write(b, Buffer.from('ping'));
 * const events: EpollEvent<{ name: string }>[] = epoll.wait(64, 0); // [{ fd: a, events: Epoll.IN, data: { name: 'a' } }]
 * ```
 */
export interface EpollEvent<T = unknown> {
  fd: number;
  events: number;
  data: T;
}

/**
 * Options for {@link Epoll.create}.
 *
 * @example
 * ```ts
 * import { Epoll, type EpollOptions } from 'iomodes';
 * const options: EpollOptions = { cloexec: false }; // a child process inherits the epoll fd
 * const epoll = Epoll.create(options);
 * epoll.close();
 * ```
 */
export interface EpollOptions {
  /** `EPOLL_CLOEXEC`: the epoll fd does not leak into child processes. Default `true`. */
  cloexec?: boolean;
}

/**
 * Options for {@link Epoll.waitAsync} and {@link Epoll.events}.
 *
 * @example
 * ```ts
 * import { Epoll, type EpollWaitOptions } from 'iomodes';
 * using epoll = Epoll.create();
 * const options: EpollWaitOptions = { signal: AbortSignal.timeout(1000) };
 * await epoll.waitAsync(-1, options); // rejects after 1 s with an AbortError: no fd is registered
 * ```
 */
export interface EpollWaitOptions {
  /** Aborting it rejects the wait with an `AbortError`. */
  signal?: AbortSignal;
}

interface Registration {
  fd: number;
  token: number;
  events: number;
  data: unknown;
}

interface Waiter {
  resolve(events: EpollEvent[]): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const EPOLLIN = constant('EPOLLIN');
const EPOLLOUT = constant('EPOLLOUT');
const EPOLLPRI = constant('EPOLLPRI');
const EPOLLERR = constant('EPOLLERR');
const EPOLLHUP = constant('EPOLLHUP');
const EPOLLRDHUP = constant('EPOLLRDHUP');
const EPOLLET = constant('EPOLLET');
const EPOLLONESHOT = constant('EPOLLONESHOT');
const EPOLLEXCLUSIVE = constant('EPOLLEXCLUSIVE');
const EPOLLWAKEUP = constant('EPOLLWAKEUP');
const knownEpoll =
  (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP) >>> 0;
const CTL_ADD = constant('EPOLL_CTL_ADD');
const CTL_MOD = constant('EPOLL_CTL_MOD');
const CTL_DEL = constant('EPOLL_CTL_DEL');
// struct epoll_event is packed on x86-64 (12 bytes, data at 4) and aligned
// elsewhere (16, data at 8): either way every field sits on a 32-bit word.
const EVENT_WORDS = constant('EPOLL_EVENT_SIZE') / 4;
const DATA_WORD = constant('EPOLL_EVENT_DATA_OFFSET') / 4;
/** The largest `maxEvents` {@link Epoll.wait} takes. */
const MAX_EVENTS = 1 << 20;
/** Events taken per loop turn when the epoll is watched on the event loop. */
const ASYNC_BATCH = 1024;
const createKey = Symbol('Epoll.create');
/** How many retired registrations an Epoll remembers, to name an orphan. */
const MAX_RETIRED = 4096;
/** The longest pause, while only orphaned events come, between event-loop waits. */
const MAX_BACKOFF_MS = 64;

// Bit 31 (EPOLLET) makes `Epoll.IN | Epoll.ET` a negative int32 in JS:
// accept any 32-bit pattern and read it unsigned.
function validateEpollEvents(events: unknown, name = 'events'): number {
  if (typeof events !== 'number') throw invalidArgType(name, 'of type number', events);
  if (!Number.isInteger(events) || events < -(2 ** 31) || events > 2 ** 32 - 1) {
    throw outOfRange(name, 'a 32-bit integer of Epoll flags', events);
  }
  const bits = events >>> 0;
  const unknown = (bits & ~knownEpoll) >>> 0;
  if (unknown !== 0) throw invalidArgValue(name, events, `has unknown bits 0x${unknown.toString(16)}`);
  return bits;
}

/**
 * An epoll instance (`epoll_create1(2)`), like Python's `select.epoll`:
 * register fds with {@link Epoll.add}, then learn which are ready with
 * {@link Epoll.wait} (blocking the thread) or on Node's event loop with
 * {@link Epoll.watch}, {@link Epoll.events} or {@link Epoll.waitAsync}.
 *
 * Each registration carries `data`, any JS value, returned with its events.
 * The kernel is given a fresh 64-bit token per registration, not the fd, so
 * an event from an old registration can never reach the `data` of a new
 * one on a reused fd number: such stale events are dropped (and counted in
 * {@link Epoll.staleEvents}).
 *
 * A registration belongs to the open file description, not the fd number:
 * {@link Epoll.delete} an fd before closing it, or a `dup` of it keeps
 * reporting events under the old registration. Once our record of that
 * registration is gone (the number was reused, or `delete()` came after the
 * close), the kernel's cannot be removed any more: such an orphan is
 * reported once with a warning (`IOMODES_EPOLL_ORPHAN`), its events are
 * dropped, and waits on the event loop back off rather than spin.
 *
 * The epoll fd belongs to the `Epoll`: {@link close} refuses it (`EBUSY`),
 * and a thread that exits with the `Epoll` still open closes it then.
 *
 * @typeParam T the type of the `data` values
 * @example
 * ```ts
 * import { Epoll, socketpair, write } from 'iomodes';
 * using epoll = Epoll.create();
 * const [a, b] = socketpair({ nonblocking: true });
 * epoll.add(a, Epoll.IN | Epoll.RDHUP, { name: 'a' });
 * write(b, Buffer.from('ping'));
 * for (const { fd, events, data } of epoll.wait(64, 1000)) {
 *   if (events & Epoll.IN) console.log(data.name, 'is readable');
 * }
 * ```
 */
export class Epoll<T = unknown> {
  /** Readable (`EPOLLIN`). */
  static readonly IN: number = EPOLLIN;
  /** Writable (`EPOLLOUT`). */
  static readonly OUT: number = EPOLLOUT;
  /** Urgent data, or a state change on some files (`EPOLLPRI`). */
  static readonly PRI: number = EPOLLPRI;
  /** Error condition; always reported (`EPOLLERR`). */
  static readonly ERR: number = EPOLLERR;
  /** Hang-up; always reported (`EPOLLHUP`). */
  static readonly HUP: number = EPOLLHUP;
  /** The stream socket's peer closed or shut down writing (`EPOLLRDHUP`). */
  static readonly RDHUP: number = EPOLLRDHUP;
  /** Edge-triggered: report only changes; read until `EAGAIN` (`EPOLLET`, bit 31). */
  static readonly ET: number = EPOLLET;
  /** Report once, then disable until {@link Epoll.modify} re-arms (`EPOLLONESHOT`). */
  static readonly ONESHOT: number = EPOLLONESHOT;
  /** Wake only one of several epolls waiting on the same fd; {@link Epoll.add} only (`EPOLLEXCLUSIVE`). */
  static readonly EXCLUSIVE: number = EPOLLEXCLUSIVE;
  /** Hold a wakeup source while the event is pending; needs `CAP_BLOCK_SUSPEND`, ignored otherwise (`EPOLLWAKEUP`). */
  static readonly WAKEUP: number = EPOLLWAKEUP;

  #fd: number;
  #generation: number;
  #closed = false;
  #nextToken = 1;
  #stale = 0;
  // Tokens of registrations we dropped while the kernel may still hold
  // them (see the class notes), with their fd, to name an orphan.
  readonly #retired = new Map<number, number>();
  #backoffMs = 0;
  #backoffTimer: NodeJS.Timeout | undefined;
  readonly #byFd = new Map<number, Registration>();
  readonly #byToken = new Map<number, Registration>();
  #words = new Uint32Array(0);
  #capacity = 0;
  // On the event loop.
  #watcher: Watcher | undefined;
  #refed = true;
  readonly #callbacks = new Set<{ callback: (events: EpollEvent<T>[]) => void }>();
  readonly #waiters = new Set<Waiter>();

  /**
   * Creates an epoll instance (`epoll_create1(EPOLL_CLOEXEC)`).
   *
   * @example
   * ```ts
   * import { Epoll } from 'iomodes';
   * const epoll = Epoll.create();
   * epoll.close();
   * ```
   */
  static create<T = unknown>(options?: EpollOptions): Epoll<T> {
    validateOptions(options as unknown);
    const cloexec = options?.cloexec ?? true;
    validateBoolean(cloexec, 'options.cloexec');
    const fd = check(native.epoll_create1(cloexec ? constant('EPOLL_CLOEXEC') : 0), 'epoll_create1');
    // Owned natively already (so a Worker terminated right here leaks
    // nothing); fd_own gives the generation that closes it.
    const generation = native.fd_own(fd);
    if (generation < 0) throw errnoError(generation, 'epoll_create1'); // the environment's teardown closes fd
    return new Epoll<T>(createKey, fd, generation);
  }

  /** @internal Use {@link Epoll.create}. */
  constructor(key: symbol, fd: number, generation: number) {
    if (key !== createKey) throw illegalConstructor('Epoll', 'Epoll.create()');
    this.#fd = fd;
    this.#generation = generation;
  }

  /** The epoll fd, for diagnostics only (close it with {@link Epoll.close}); `-1` once closed. */
  get fd(): number {
    return this.#closed ? -1 : this.#fd;
  }

  /** Whether {@link Epoll.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many fds are registered. */
  get size(): number {
    return this.#byFd.size;
  }

  /** Events dropped because their registration was replaced (see the class notes). */
  get staleEvents(): number {
    return this.#stale;
  }

  /**
   * Registers `fd` (`EPOLL_CTL_ADD`).
   *
   * @param events {@link Epoll} bits, such as `Epoll.IN | Epoll.ET`
   * @param data any value, returned with this fd's events
   * @throws {@link IoError} `EEXIST` if already registered, `EPERM` for a
   *   regular file or directory (always ready), `EBADF` for a closed fd
   * @example
   * ```ts
   * epoll.add(socketFd, Epoll.IN | Epoll.OUT | Epoll.ET, connection);
   * ```
   */
  add(fd: number, events: number, data?: T): void {
    this.#open();
    validateFd(fd);
    const bits = validateEpollEvents(events);
    const token = this.#nextToken++;
    const r = native.epoll_ctl(this.#fd, CTL_ADD, fd, bits, token);
    if (r < 0) throw ctlError(r, fd, bits);
    // The kernel accepted it, so any registration we held under this number
    // was for a closed file: its token now marks stale events.
    const old = this.#byFd.get(fd);
    if (old !== undefined) this.#retire(old);
    const registration: Registration = { fd, token, events: bits, data };
    this.#byFd.set(fd, registration);
    this.#byToken.set(token, registration);
  }

  /**
   * Changes the events of a registered fd (`EPOLL_CTL_MOD`), and re-arms a
   * `ONESHOT` one. `data` is replaced only if given.
   *
   * @throws {@link IoError} `ENOENT` if not registered, `EINVAL` with `EXCLUSIVE`
   * @example
   * ```ts
   * epoll.modify(fd, Epoll.IN | Epoll.ONESHOT); // re-arm
   * ```
   */
  modify(fd: number, events: number, ...data: [data?: T]): void {
    this.#open();
    validateFd(fd);
    const bits = validateEpollEvents(events);
    const registration = this.#byFd.get(fd);
    const token = registration?.token ?? this.#nextToken++;
    const r = native.epoll_ctl(this.#fd, CTL_MOD, fd, bits, token);
    if (r < 0) throw ctlError(r, fd, bits);
    if (registration === undefined) {
      const fresh: Registration = { fd, token, events: bits, data: data[0] };
      this.#byFd.set(fd, fresh);
      this.#byToken.set(token, fresh);
      return;
    }
    registration.events = bits;
    if (data.length > 0) registration.data = data[0];
  }

  /**
   * Unregisters `fd` (`EPOLL_CTL_DEL`). Do this before closing the fd. Our
   * record of it goes even if the kernel refuses (for an fd already closed).
   *
   * @throws {@link IoError} `ENOENT` if not registered, `EBADF` if already closed
   * @example
   * ```ts
   * epoll.delete(fd);
   * close(fd);
   * ```
   */
  delete(fd: number): void {
    this.#open();
    validateFd(fd);
    const registration = this.#byFd.get(fd);
    if (registration !== undefined) {
      this.#byFd.delete(fd);
      this.#byToken.delete(registration.token);
    }
    const r = native.epoll_ctl(this.#fd, CTL_DEL, fd, 0, 0);
    if (r < 0) {
      // The fd was closed (or its number reused) first: a dup may keep the
      // kernel's registration alive, now out of our reach.
      if (registration !== undefined) this.#retire(registration);
      throw ctlError(r, fd, 0);
    }
  }

  /**
   * Waits (blocking this thread) until a registered fd is ready, or the
   * timeout passes (`epoll_wait(2)`). The event buffer is reused between
   * calls: only the returned array is allocated.
   *
   * May return an empty array before the timeout: a spurious wake-up, when
   * every event the kernel gave was stale.
   *
   * @param maxEvents the most events to return (1 to 1,048,576); default 64
   * @param timeoutMs `-1` or `undefined` waits forever, `0` polls
   * @example
   * ```ts
   * for (const { fd, events, data } of epoll.wait(128, 1000)) handle(fd, events, data);
   * ```
   */
  wait(maxEvents = 64, timeoutMs?: number): EpollEvent<T>[] {
    this.#open();
    validateInteger(maxEvents, 'maxEvents', 1, MAX_EVENTS);
    const timeout = validateTimeout(timeoutMs);
    return this.#wait(maxEvents, timeout);
  }

  /**
   * @internal {@link Epoll.wait} without the array: calls `each(data,
   * events)` for every event, allocating nothing. For hot loops that keep
   * their own state in `data` (the coroutine hub's epoll backend). Returns
   * how many events it delivered.
   */
  waitEach(maxEvents: number, timeoutMs: number, each: (data: T, events: number) => void): number {
    this.#open();
    this.#ensureCapacity(maxEvents);
    const n = native.epoll_wait(this.#fd, this.#words, maxEvents, timeoutMs);
    if (n < 0) throw errnoError(n, 'epoll_wait', { fd: this.#fd });
    const words = this.#words;
    let delivered = 0;
    for (let i = 0, w = 0; i < n; i++, w += EVENT_WORDS) {
      const registration = this.#registration(words[w + DATA_WORD]! + words[w + DATA_WORD + 1]! * 2 ** 32);
      if (registration === undefined) continue;
      each(registration.data as T, words[w]!);
      delivered++;
    }
    return delivered;
  }

  /**
   * Calls `callback` on Node's event loop with each batch of ready events,
   * until the returned function is called (or the epoll closed). Timers and
   * other I/O keep running meanwhile. A level-triggered fd that is not
   * drained is reported again on the next loop turn. An exception from the
   * callback is an uncaught exception, as from any Node I/O callback.
   *
   * @returns a function that stops this callback
   * @example
   * ```ts
   * const stop = epoll.watch((events) => {
   *   for (const { fd } of events) drain(fd);
   * });
   * // later
   * stop();
   * ```
   */
  watch(callback: (events: EpollEvent<T>[]) => void): () => void {
    this.#open();
    validateFunction(callback, 'callback');
    const entry = { callback };
    this.#callbacks.add(entry);
    try {
      this.#update();
    } catch (err) {
      this.#callbacks.delete(entry);
      throw err;
    }
    return () => {
      if (this.#callbacks.delete(entry) && !this.#closed) this.#update();
    };
  }

  /**
   * Waits on Node's event loop for the next batch of ready events. Resolves
   * with `[]` when the timeout passes; rejects with an `AbortError` when
   * `options.signal` aborts, and with `ERR_USE_AFTER_CLOSE` if the epoll is
   * closed meanwhile. Several pending waits all receive the same batch.
   *
   * @param timeoutMs `-1` or `undefined` waits forever, `0` polls
   * @example
   * ```ts
   * const events = await epoll.waitAsync(5000, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  waitAsync(timeoutMs?: number, options?: EpollWaitOptions): Promise<EpollEvent<T>[]> {
    try {
      this.#open();
      const timeout = validateTimeout(timeoutMs);
      validateOptions(options as unknown);
      const signal = options?.signal;
      validateSignal(signal);
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (timeout === 0) return Promise.resolve(this.#wait(ASYNC_BATCH, 0));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = { resolve: resolve as Waiter['resolve'], reject, signal };
        if (timeout > 0) {
          waiter.timer = setTimeout(() => this.#settle(waiter, []), timeout);
          if (!this.#refed) waiter.timer.unref();
        }
        if (signal !== undefined) {
          waiter.onAbort = () => this.#settle(waiter, undefined, abortError(signal));
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        this.#waiters.add(waiter);
        try {
          this.#update();
        } catch (err) {
          this.#settle(waiter, undefined, err);
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The batches of ready events as an async iterator, on Node's event loop.
   * Each `next()` waits for one batch; between them nothing is taken from
   * the kernel, so nothing is lost or queued. Ends when the epoll closes;
   * throws an `AbortError` when `options.signal` aborts.
   *
   * @example
   * ```ts
   * for await (const events of epoll.events({ signal })) {
   *   for (const { fd } of events) drain(fd);
   * }
   * ```
   */
  events(options?: EpollWaitOptions): AsyncIterableIterator<EpollEvent<T>[]> {
    this.#open();
    validateOptions(options as unknown);
    const signal = options?.signal;
    validateSignal(signal);
    return this.#iterate(signal);
  }

  /**
   * Makes waiting on the event loop keep the process alive (the default).
   *
   * @example
   * ```ts
   * epoll.ref();
   * ```
   */
  ref(): this {
    this.#open();
    this.#refed = true;
    if (this.#wanted()) this.#watcher?.ref(); // an idle watcher stays unref'd (see #update)
    this.#backoffTimer?.ref();
    for (const waiter of this.#waiters) waiter.timer?.ref();
    return this;
  }

  /**
   * Lets the process (or Worker) exit while this epoll is watched on the
   * event loop, as `timer.unref()` does.
   *
   * @example
   * ```ts
   * epoll.watch(onEvents);
   * epoll.unref(); // a background watch: don't keep the process alive for it
   * ```
   */
  unref(): this {
    this.#open();
    this.#refed = false;
    this.#watcher?.unref();
    this.#backoffTimer?.unref();
    for (const waiter of this.#waiters) waiter.timer?.unref();
    return this;
  }

  /**
   * Closes the epoll fd, after stopping its event-loop watcher. Pending
   * {@link Epoll.waitAsync} promises reject with `ERR_USE_AFTER_CLOSE`,
   * {@link Epoll.events} iterators end. Idempotent; any other use after
   * close throws `ERR_USE_AFTER_CLOSE`. The registered fds stay open.
   *
   * @example
   * ```ts
   * epoll.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#backoffTimer);
    this.#callbacks.clear();
    this.#byFd.clear();
    this.#byToken.clear();
    const waiters = [...this.#waiters];
    for (const waiter of waiters) this.#settle(waiter, undefined, useAfterClose('Epoll'));
    check(native.fd_close_owned(this.#fd, this.#generation), 'close', { fd: this.#fd });
  }

  /** Same as {@link Epoll.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): void {
    if (this.#closed) throw useAfterClose('Epoll');
  }

  #ensureCapacity(maxEvents: number): void {
    if (maxEvents <= this.#capacity) return;
    this.#capacity = Math.max(maxEvents, Math.min(this.#capacity * 2, MAX_EVENTS));
    this.#words = new Uint32Array(this.#capacity * EVENT_WORDS);
  }

  #wait(maxEvents: number, timeout: number): EpollEvent<T>[] {
    this.#ensureCapacity(maxEvents);
    const n = native.epoll_wait(this.#fd, this.#words, maxEvents, timeout);
    if (n < 0) throw errnoError(n, 'epoll_wait', { fd: this.#fd });
    return this.#decode(n);
  }

  #decode(n: number): EpollEvent<T>[] {
    const words = this.#words;
    const events: EpollEvent<T>[] = [];
    for (let i = 0, w = 0; i < n; i++, w += EVENT_WORDS) {
      const registration = this.#registration(words[w + DATA_WORD]! + words[w + DATA_WORD + 1]! * 2 ** 32);
      if (registration !== undefined) events.push({ fd: registration.fd, events: words[w]!, data: registration.data as T });
    }
    return events;
  }

  // The registration an event's token names, or undefined for a stale one.
  #registration(token: number): Registration | undefined {
    const registration = this.#byToken.get(token);
    if (registration !== undefined) return registration;
    this.#stale++;
    const fd = this.#retired.get(token);
    if (fd !== undefined) {
      // Warn once per orphan: the first stale event proves it lives.
      this.#retired.delete(token);
      warnOrphan(this.#fd, fd);
    }
    return undefined;
  }

  #retire(registration: Registration): void {
    this.#byToken.delete(registration.token);
    this.#retired.set(registration.token, registration.fd);
    // Most retired registrations died with their file; keep a bounded few.
    if (this.#retired.size > MAX_RETIRED) this.#retired.delete(this.#retired.keys().next().value!);
  }

  /** Whether someone waits on the event loop: a watch callback, or a pending waitAsync/next(). */
  #wanted(): boolean {
    return this.#callbacks.size > 0 || this.#waiters.size > 0;
  }

  // The event-loop side: one Watcher on the epoll fd, holding the loop only
  // while someone waits. When the last waiter goes, the watcher is unref'd
  // but left started, and stopped by the first readiness nobody waits for:
  // starting it is an epoll_ctl(ADD) of this epoll into libuv's, which the
  // kernel checks (for loops and wake-up paths) in time linear in the fds
  // registered here, so stopping it after every batch made each
  // waitAsync() or events() step cost O(registered fds), not O(ready).
  #update(): void {
    const wanted = this.#wanted();
    if (this.#backoffTimer !== undefined) {
      if (!wanted) {
        clearTimeout(this.#backoffTimer);
        this.#backoffTimer = undefined;
      }
      return;
    }
    if (wanted) {
      if (this.#watcher === undefined) {
        this.#watcher = new Watcher(this.#fd, (_events, error) => this.#onReadable(error));
        if (!this.#refed) this.#watcher.unref();
      }
      if (!this.#watcher.active) this.#watcher.start(WATCH.READABLE);
      if (this.#refed) this.#watcher.ref();
    } else if (this.#watcher?.active) {
      this.#watcher.unref();
    }
  }

  #onReadable(error?: IoError): void {
    if (this.#closed) return;
    if (!this.#wanted()) {
      // Nobody waits: the events stay in the kernel for the next waiter.
      this.#watcher?.stop();
      return;
    }
    let events: EpollEvent<T>[] = [];
    const staleBefore = this.#stale;
    if (error === undefined) {
      // One bounded batch per loop turn: the epoll fd stays readable while
      // more is ready, so the rest comes next turn, after other I/O.
      try {
        events = this.#wait(ASYNC_BATCH, 0);
      } catch (err) {
        error = err as IoError;
      }
    }
    if (error !== undefined) {
      this.#watcher?.stop();
      for (const waiter of [...this.#waiters]) this.#settle(waiter, undefined, error);
      if (this.#callbacks.size > 0) throw error;
      return;
    }
    if (events.length === 0) {
      // Spurious: drained by a sync wait, or every event was stale. An
      // orphaned registration keeps the epoll fd readable forever, so back
      // off (1, 2, 4 ... 64 ms) instead of spinning a core on it.
      if (this.#stale > staleBefore) this.#backOff();
      return;
    }
    this.#backoffMs = 0;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, events);
    let failure: { error: unknown } | undefined;
    for (const { callback } of [...this.#callbacks]) {
      if (this.#closed) break;
      try {
        callback(events);
      } catch (err) {
        failure ??= { error: err };
      }
    }
    if (!this.#closed) this.#update();
    if (failure !== undefined) throw failure.error;
  }

  #backOff(): void {
    this.#backoffMs = Math.min(Math.max(this.#backoffMs * 2, 1), MAX_BACKOFF_MS);
    this.#watcher?.stop();
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      if (!this.#closed) this.#update();
    }, this.#backoffMs);
    if (!this.#refed) this.#backoffTimer.unref();
  }

  #settle(waiter: Waiter, events?: EpollEvent[], error?: unknown): void {
    if (!this.#waiters.delete(waiter)) return;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    if (error !== undefined) waiter.reject(error);
    else waiter.resolve(events!);
    if (!this.#closed) this.#update();
  }

  async *#iterate(signal: AbortSignal | undefined): AsyncGenerator<EpollEvent<T>[], void, undefined> {
    while (!this.#closed) {
      let events: EpollEvent<T>[];
      try {
        events = await this.waitAsync(-1, { signal });
      } catch (err) {
        if (this.#closed && (err as { code?: string }).code === 'ERR_USE_AFTER_CLOSE') return;
        throw err;
      }
      yield events;
    }
  }
}

function warnOrphan(epfd: number, fd: number): void {
  process.emitWarning(
    `Epoll ${epfd}: fd ${fd} was closed before epoll.delete(${fd}) while a duplicate (dup, fork, SCM_RIGHTS) kept its file open. ` +
      'The kernel keeps reporting that registration, and it can no longer be removed. Its events are dropped, and waits on the ' +
      'event loop back off instead of spinning. Fix: delete() an fd before closing it; to clear it now, close every duplicate ' +
      'of that file, or replace this Epoll.',
    { type: 'IomodesWarning', code: 'IOMODES_EPOLL_ORPHAN' },
  );
}

function ctlError(r: number, fd: number, events: number): IoError {
  const errno = -r;
  let detail: string | undefined;
  if (errno === EPERM) {
    detail = 'this kind of fd cannot be polled: regular files and directories are always ready; use blocking, async or direct I/O';
  } else if (errno === EEXIST) {
    detail = 'the fd is already registered; use modify()';
  } else if (errno === ENOENT) {
    detail = 'the fd is not registered in this epoll';
  } else if (errno === EINVAL && (events & EPOLLEXCLUSIVE) !== 0) {
    detail = 'EXCLUSIVE is allowed only on add(), with IN, OUT, WAKEUP and ET';
  }
  return errnoError(r, 'epoll_ctl', { fd }, detail);
}
