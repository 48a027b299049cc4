/**
 * Signal-driven I/O: `O_ASYNC`, `F_SETOWN_EX` and `F_SETSIG`. The kernel
 * sends a signal when an fd becomes ready; with a real-time signal it is
 * queued once per event and carries the fd and its poll bits (siginfo's
 * `si_fd`, `si_band`), which no JavaScript runtime hands to JS. Here a
 * native handler writes each signal's siginfo to a self-pipe, and the
 * watcher turns them into typed events on Node's loop.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { fstatSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

import { check, codedError, errnoError, invalidArgType, invalidArgValue, useAfterClose } from './errors.js';
import type { Unavailable } from './async.js';
import { beforeClose, close, socketpair } from './fd.js';
import { write } from './blocking.js';
import { POLL, poll, type PollEntry } from './multiplex.js';
import { constant, native, type NativeSignalIo } from './native.js';
import { validateBoolean, validateFd, validateOneOf, validateOptions, validateSignal } from './validate.js';
import { Watcher, WATCH } from './watcher.js';

/**
 * The real-time signal range, as glibc reports it at run time.
 *
 * @example
 * ```ts
 * import { realtimeSignals, SignalIo, type RealtimeSignals } from 'iomodes';
 * const { min, count }: RealtimeSignals = realtimeSignals(); // min 34, count 31
 * const sio = new SignalIo({ signal: min + 3 }); // SIGRTMIN+3
 * sio.close();
 * ```
 */
export interface RealtimeSignals {
  /** `SIGRTMIN`: 34 with glibc, which keeps the first two for its threads. */
  min: number;
  /** `SIGRTMAX`: 64 on Linux. */
  max: number;
  /** How many real-time signals there are: `max - min + 1`. */
  count: number;
}

/**
 * The real-time signals (`SIGRTMIN`..`SIGRTMAX`) this process may use, for
 * example as `F_SETSIG`'s signal, which queues one signal per ready fd.
 * Node's `os.constants.signals` does not list them.
 *
 * @example
 * ```ts
 * import { realtimeSignals } from 'iomodes';
 * const { min, max, count } = realtimeSignals(); // { min: 34, max: 64, count: 31 }
 * ```
 */
export function realtimeSignals(): RealtimeSignals {
  const min = constant('SIGRTMIN');
  const max = constant('SIGRTMAX');
  return { min, max, count: max - min + 1 };
}

const SIGRTMIN = constant('SIGRTMIN');
const SIGRTMAX = constant('SIGRTMAX');
const SIGIO = constant('SIGIO');
const RECORD_INTS = constant('SIGNAL_RECORD_SIZE') / 4;
const BAND = Object.freeze({
  READABLE: POLL.IN | constant('POLLRDNORM'),
  WRITABLE: POLL.OUT | constant('POLLWRNORM'),
  ERROR: POLL.ERR,
  HANGUP: POLL.HUP,
});
/** Pipe reads (of 1,024 records each) per watcher callback. */
const DRAIN_BATCHES = 4;
/** Most events an {@link SignalIo.events} iterator holds for a slow consumer; beyond, it rescans instead. */
const ITERATOR_QUEUE_MAX = 65536;

/**
 * How an fd signals: `'realtime'` (the default) queues a real-time signal
 * per event, with the fd and its readiness; `'sigio'` is the classic form,
 * a plain `SIGIO` with no fd (signals merge, so every one means "rescan
 * every fd"), kept for teaching and comparison.
 *
 * @example
 * ```ts
 * import { SignalIo, socketpair, write, type SignalIoMode } from 'iomodes';
 * const mode: SignalIoMode = 'sigio'; // plain SIGIO: it names no fd, so each one means a rescan
 * const [a, b] = socketpair({ nonblocking: true });
 * const sio = new SignalIo({ mode });
 * sio.on('io', ({ fd, source }) => console.log(fd === a, source)); // true 'rescan'
 * sio.enable(a);
 * write(b, Buffer.from('ping'));
 * ```
 */
export type SignalIoMode = 'realtime' | 'sigio';

/**
 * A signal number, or a name such as `'SIGRTMIN+3'`, `'SIGRTMAX-2'` or `'SIGIO'`.
 *
 * @example
 * ```ts
 * import { SignalIo, type SignalSpec } from 'iomodes';
 * const signal: SignalSpec = 'SIGRTMIN+3'; // or its number: 37 with glibc
 * const sio = new SignalIo({ signal });
 * sio.signal; // 37
 * sio.close();
 * ```
 */
export type SignalSpec = number | string;

/**
 * Options of {@link SignalIo}'s constructor: the defaults for {@link SignalIo.enable}.
 *
 * @example
 * ```ts
 * import { SignalIo, type SignalIoOptions } from 'iomodes';
 * const options: SignalIoOptions = { signal: 'SIGRTMIN+5', rescanOnOverflow: false };
 * const sio = new SignalIo(options);
 * sio.on('overflow', () => sio.rescan()); // rescanning after an overflow is now ours to do
 * ```
 */
export interface SignalIoOptions {
  /**
   * The real-time signal for `'realtime'` mode. Default: chosen at run time,
   * the first of `SIGRTMIN..SIGRTMAX - 1` that iomodes already handles, else
   * the first nobody handles (Node, V8 and libuv use none of them;
   * `SIGRTMAX` is left to iomodes' threadpool backend).
   */
  signal?: SignalSpec;
  /** Default `'realtime'`. */
  mode?: SignalIoMode;
  /**
   * Whether an overflow triggers {@link SignalIo.rescan} by itself
   * (default `true`); with `false`, listen for `'overflow'` and rescan.
   */
  rescanOnOverflow?: boolean;
}

/**
 * Options of {@link SignalIo.enable}.
 *
 * @example
 * ```ts
 * import { SignalIo, socketpair, type SignalIoEnableOptions } from 'iomodes';
 * const [a] = socketpair({ nonblocking: true });
 * using sio = new SignalIo();
 * const options: SignalIoEnableOptions = { signal: 'SIGRTMIN+6', writable: true }; // a writer waits for room on a
 * sio.enable(a, options);
 * ```
 */
export interface SignalIoEnableOptions {
  /** This fd's signal, instead of the object's. */
  signal?: SignalSpec;
  /** This fd's mode, instead of the object's. */
  mode?: SignalIoMode;
  /**
   * Whether {@link SignalIo.rescan} reports this fd's writability too
   * (default `false`: a socket is nearly always writable, so a rescan would
   * report it every time). Set it while a writer waits for room.
   */
  writable?: boolean;
}

/**
 * An fd's readiness, from a signal's siginfo or from a rescan.
 *
 * @example
 * ```ts
 * import { SignalIo, socketpair, write, type SignalIoEvent } from 'iomodes';
 * const [a, b] = socketpair({ nonblocking: true });
 * const sio = new SignalIo();
 * sio.on('io', (event: SignalIoEvent) => console.log(event));
 * // { fd: a, readable: true, writable: false, error: false, hangup: false, band: 65, signal: 34, source: 'signal' }
 * sio.enable(a);
 * write(b, Buffer.from('ping'));
 * ```
 */
export interface SignalIoEvent {
  /** The fd (`si_fd`). */
  fd: number;
  /** Data (or a connection, or end of file) to read: `POLLIN` in the band. */
  readable: boolean;
  /** Room to write: `POLLOUT` in the band. */
  writable: boolean;
  /** An error is pending on the fd: `POLLERR`. */
  error: boolean;
  /** The peer hung up: `POLLHUP`. */
  hangup: boolean;
  /** The raw poll bits (`si_band` for a signal, `revents` for a rescan). */
  band: number;
  /** The signal that carried it, or 0 for an event a rescan found. */
  signal: number;
  /** `'signal'`: from the fd's own signal; `'rescan'`: from {@link SignalIo.rescan}. */
  source: 'signal' | 'rescan';
}

/**
 * Why events may have been lost: see {@link SignalIo}'s `'overflow'` event.
 *
 * @example
 * ```ts
 * import { SignalIo, type SignalIoOverflow } from 'iomodes';
 * const sio = new SignalIo({ rescanOnOverflow: false });
 * sio.on('overflow', ({ reason }: SignalIoOverflow) => {
 *   console.warn(`signal-driven I/O lost events (${reason})`); // 'sigqueue' or 'pipe'
 *   sio.rescan();
 * });
 * ```
 */
export interface SignalIoOverflow {
  /**
   * `'sigqueue'`: the real-time signal queue was full (`RLIMIT_SIGPENDING`)
   * and the kernel fell back to a plain `SIGIO`, which names no fd;
   * `'pipe'`: the self-pipe was full, so the handler dropped records.
   */
  reason: 'sigqueue' | 'pipe';
}

/**
 * Counters of one {@link SignalIo}, since it was created.
 *
 * @example
 * ```ts
 * import { SignalIo, socketpair, write, type SignalIoCounts } from 'iomodes';
 * const [a, b] = socketpair({ nonblocking: true });
 * const sio = new SignalIo();
 * sio.on('io', () => {
 *   const counts: SignalIoCounts = sio.counts; // { signals: 1, events: 1, overflows: 0, rescans: 0 }
 *   sio.close();
 * });
 * sio.enable(a); write(b, Buffer.from('ping'));
 * ```
 */
export interface SignalIoCounts {
  /** Signal records the handler wrote and this object read. */
  signals: number;
  /** `'io'` events emitted (from signals and rescans). */
  events: number;
  /** Overflows detected. */
  overflows: number;
  /** Rescans done. */
  rescans: number;
}

interface Enabled {
  signal: number; // 0: plain SIGIO
  writable: boolean;
}

// fd -> the SignalIo that enabled it, for this thread (each Worker loads
// its own copy of this module): one fd, one owner, one signal.
const enabledBy = new Map<number, SignalIo>();
beforeClose.add((fd) => enabledBy.get(fd)?.disable(fd));

function parseSignal(spec: unknown, name: string): number {
  let signo: number;
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec)) throw invalidArgValue(name, spec, 'must be an integer signal number');
    signo = spec;
  } else if (typeof spec === 'string') {
    const m = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(spec);
    if (spec === 'SIGIO' || spec === 'SIGPOLL') signo = SIGIO;
    else if (m) signo = (m[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + (m[2] === '-' ? -1 : 1) * Number(m[3] ?? 0);
    else {
      const n = (osConstants.signals as Record<string, number | undefined>)[spec];
      if (n === undefined) throw invalidArgValue(name, spec, "is not a signal name (use e.g. 'SIGRTMIN+3')");
      signo = n;
    }
  } else {
    throw invalidArgType(name, 'of type number or string', spec);
  }
  if (signo === SIGIO) return signo;
  if (signo >= 32 && signo < SIGRTMIN) {
    throw invalidArgValue(name, spec, `is reserved: glibc keeps signals 32..${SIGRTMIN - 1} for its threads (SIGRTMIN is ${SIGRTMIN})`);
  }
  if (signo < SIGRTMIN || signo > SIGRTMAX) {
    throw invalidArgValue(name, spec, `must be a real-time signal (${SIGRTMIN}..${SIGRTMAX}) or SIGIO: standard signals are not queued, and Node and V8 rely on several of them`);
  }
  return signo;
}

// The default: a signal iomodes already handles (another SignalIo, maybe on
// another thread, so all agree), else the first nobody handles.
function pickSignal(): number {
  let free = 0;
  for (let signo = SIGRTMIN; signo < SIGRTMAX; signo++) {
    const state = native.signal_handler(signo);
    if (state === 1) return signo;
    if (state === 0 && free === 0) free = signo;
  }
  if (free === 0) throw codedError(Error, 'ERR_SIGNAL_IN_USE', `every real-time signal ${SIGRTMIN}..${SIGRTMAX - 1} has a handler already: pass options.signal`);
  return free;
}

/**
 * Whether signal-driven I/O works in this process, by a real round: a
 * `SignalIo`'s handler for a free real-time signal and `SIGIO`, a
 * socketpair end enabled (`F_SETSIG`, `F_SETOWN_EX`, `O_ASYNC`), one byte
 * written to its peer, and the signal's siginfo read back from the
 * self-pipe, naming the fd. Everything is undone after.
 *
 * @returns `{ ok: true, signal }`, or why not (a foreign handler on every
 *   real-time signal, a seccomp filter refusing `fcntl`…)
 * @example
 * ```ts
 * import { signalIoAvailable } from 'iomodes';
 * const probe = signalIoAvailable();
 * if (!probe.ok) console.log(probe.detail);
 * ```
 */
export function signalIoAvailable(): { ok: true; signal: number } | Unavailable {
  const fail = (code: string, syscall: string, detail: string): Unavailable => ({ ok: false, reason: 'error', errno: (osConstants.errno as Record<string, number>)[code] ?? 0, code, syscall, detail });
  const sio = new native.SignalIo();
  let fds: [number, number] | undefined;
  try {
    const opened = sio.open();
    if (opened < 0) return fail(errnoError(opened, 'pipe2').code, 'pipe2', 'no self-pipe for the signal handler');
    let signal: number;
    try {
      signal = pickSignal();
    } catch (err) {
      return fail('EBUSY', 'sigaction', (err as Error).message);
    }
    for (const signo of [SIGIO, signal]) {
      const r = sio.acquire(signo);
      if (r < 0) return fail(errnoError(r, 'sigaction').code, 'sigaction', acquireError(r, signo).message);
    }
    fds = socketpair({ nonblocking: true });
    const r = sio.enable(fds[0], signal);
    if (r < 0) return fail(errnoError(r, 'fcntl').code, 'fcntl', `F_SETSIG/F_SETOWN_EX/O_ASYNC on a socketpair failed: ${errnoError(r, 'fcntl').message}`);
    write(fds[1], Buffer.from('x'));
    // The kernel queued the signal to this thread as the write returned,
    // and the handler has run: its record is in the pipe already.
    const records = new Int32Array(RECORD_INTS * 4);
    const n = sio.drain(records);
    if (n < 1 || records[0] !== fds[0] || records[1] !== signal) {
      return fail('EIO', 'rt_sigaction', `no signal with the fd's siginfo came back (records: ${n})`);
    }
    return { ok: true, signal };
  } finally {
    sio.close();
    if (fds) for (const fd of fds) close(fd);
  }
}

function signalName(signo: number): string {
  if (signo === SIGIO) return 'SIGIO';
  return signo - SIGRTMIN <= SIGRTMAX - signo ? `SIGRTMIN+${signo - SIGRTMIN}` : `SIGRTMAX-${SIGRTMAX - signo}`;
}

function acquireError(r: number, signo: number): Error {
  if (r === -osConstants.errno.EBUSY) {
    return codedError(Error, 'ERR_SIGNAL_IN_USE', `signal ${signo} (${signalName(signo)}) has a handler that is not iomodes' (process.on() or another addon): it is refused, never replaced; choose another signal`);
  }
  return errnoError(r, 'sigaction', {}, `signal ${signo}`);
}

function toEvent(fd: number, band: number, signal: number, source: SignalIoEvent['source']): SignalIoEvent {
  return {
    fd,
    readable: (band & BAND.READABLE) !== 0,
    writable: (band & BAND.WRITABLE) !== 0,
    error: (band & BAND.ERROR) !== 0,
    hangup: (band & BAND.HANGUP) !== 0,
    band,
    signal,
    source,
  };
}

/**
 * Signal-driven I/O for the calling thread. {@link SignalIo.enable} sets an
 * fd's `O_ASYNC` flag, makes the calling thread its owner with
 * `F_SETOWN_EX(F_OWNER_TID)` (Node runs many threads; a plain `F_SETOWN`
 * lets any of them take the signal) and sets its signal with `F_SETSIG`.
 * From then on the kernel signals the thread whenever the fd becomes ready,
 * and the object emits:
 *
 * - `'io'` with a {@link SignalIoEvent}: `{ fd, readable, writable, error,
 *   hangup, band }`, one per signal, in the order the kernel queued them;
 * - `'overflow'` with a {@link SignalIoOverflow}, when events were lost: the
 *   real-time queue was full (see `RLIMIT_SIGPENDING` in `docs/signal.md`)
 *   or the self-pipe was. A {@link SignalIo.rescan} then follows, unless
 *   `rescanOnOverflow: false`.
 *
 * A signal means "became ready", not "is ready": read or write until
 * `EAGAIN`, as with edge-triggered epoll. The fds should be non-blocking.
 *
 * The signal handler is installed once per signal for the whole process,
 * and shared by every `SignalIo` of every thread; it is refused, never
 * installed over, when the signal already has another handler, so Node's
 * own signals (`process.on('SIGINT')`...) are untouched. While fds are
 * enabled the object keeps the event loop alive, like a socket
 * ({@link SignalIo.unref} to not). `close()` (or `using`) restores every
 * fd; so does a Worker's exit.
 *
 * @example
 * ```ts
 * import { SignalIo, socketpair, write, tryRead } from 'iomodes';
 * const [a, b] = socketpair();
 * using sio = new SignalIo();
 * sio.on('io', ({ fd, readable }) => { if (readable) tryRead(fd, Buffer.alloc(64)); });
 * sio.enable(a);
 * write(b, Buffer.from('ping')); // -> 'io' { fd: a, readable: true, ... }
 * ```
 */
export class SignalIo extends EventEmitter<{ io: [SignalIoEvent]; overflow: [SignalIoOverflow] }> {
  readonly #native: NativeSignalIo;
  readonly #watcher: Watcher;
  readonly #fds = new Map<number, Enabled>();
  readonly #signal: number; // the default; 0 in 'sigio' mode
  readonly #rescanOnOverflow: boolean;
  readonly #records = new Int32Array(RECORD_INTS * 1024);
  readonly #iterators = new Set<(event: SignalIoEvent | null) => void>();
  readonly #counts: SignalIoCounts = { signals: 0, events: 0, overflows: 0, rescans: 0 };
  #refed = true;
  #closed = false;
  /** Enabled fds in 'sigio' mode (plain SIGIO, signal 0). */
  #plainSigio = 0;

  /**
   * @throws `ERR_SIGNAL_IN_USE` when the signal (or `SIGIO`, which the
   *   kernel sends on overflow) has a handler that is not iomodes'
   */
  constructor(options?: SignalIoOptions) {
    super();
    validateOptions(options);
    const o: SignalIoOptions = options ?? {};
    for (const key of Object.keys(o)) {
      if (!['signal', 'mode', 'rescanOnOverflow'].includes(key)) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property 'options.${key}' is not an option of SignalIo`);
    }
    const mode = o.mode ?? 'realtime';
    validateOneOf(mode, 'options.mode', ['realtime', 'sigio']);
    if (o.rescanOnOverflow !== undefined) validateBoolean(o.rescanOnOverflow, 'options.rescanOnOverflow');
    this.#rescanOnOverflow = o.rescanOnOverflow ?? true;
    if (mode === 'sigio' && o.signal !== undefined) throw invalidArgValue('options.signal', o.signal, "has no use in mode 'sigio' (plain SIGIO)");
    let signal = mode === 'sigio' ? 0 : o.signal === undefined ? 0 : parseSignal(o.signal, 'options.signal');
    this.#native = new native.SignalIo();
    check(this.#native.open(), 'pipe2');
    try {
      // SIGIO always: it is what the kernel sends when the real-time queue
      // overflows, and its default action kills the process.
      this.#acquire(SIGIO);
      if (mode === 'realtime') {
        if (signal === 0) signal = pickSignal();
        this.#acquire(signal);
      }
      this.#signal = signal;
      this.#watcher = new Watcher(this.#native.fd, () => this.#drain());
    } catch (err) {
      this.#native.close();
      throw err;
    }
    this.#watcher.start(WATCH.READABLE);
    this.#updateRef();
  }

  /** The signal enabled fds get by default: a real-time signal, or `SIGIO` in `'sigio'` mode. */
  get signal(): number {
    return this.#signal === 0 ? SIGIO : this.#signal;
  }

  /** The thread id (`gettid()`) the kernel signals: the thread that created this object. */
  get threadId(): number {
    return this.#native.tid;
  }

  /** The enabled fds. */
  get fds(): number[] {
    return [...this.#fds.keys()];
  }

  /** Whether {@link SignalIo.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Signals read, events emitted, overflows and rescans so far. */
  get counts(): Readonly<SignalIoCounts> {
    return { ...this.#counts };
  }

  /**
   * Makes `fd` signal-driven: `F_SETSIG`, then `F_SETOWN_EX` to this
   * thread, then `O_ASYNC` (`fcntl(2)`), remembering what the fd had so that
   * {@link SignalIo.disable} restores it.
   *
   * @throws {@link IoError} `EBADF` for a closed fd, `EEXIST` if already
   *   enabled (here or by another `SignalIo`); `ERR_INVALID_ARG_VALUE` for
   *   a regular file or directory (the kernel never signals them: they are
   *   always ready); `ERR_SIGNAL_HANDLER_REPLACED` if someone installed
   *   another handler over iomodes' for the signal
   * @example
   * ```ts
   * sio.enable(socketFd);
   * sio.enable(pipeReadEnd, { signal: 'SIGRTMIN+5' });
   * sio.enable(fd, { mode: 'sigio' }); // plain SIGIO: the classic form
   * ```
   */
  enable(fd: number, options?: SignalIoEnableOptions): void {
    this.#open();
    validateFd(fd);
    validateOptions(options);
    const o: SignalIoEnableOptions = options ?? {};
    for (const key of Object.keys(o)) {
      if (!['signal', 'mode', 'writable'].includes(key)) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property 'options.${key}' is not an option of enable()`);
    }
    if (o.mode !== undefined) validateOneOf(o.mode, 'options.mode', ['realtime', 'sigio']);
    if (o.writable !== undefined) validateBoolean(o.writable, 'options.writable');
    if (o.mode === 'sigio' && o.signal !== undefined) throw invalidArgValue('options.signal', o.signal, "has no use in mode 'sigio' (plain SIGIO)");
    let signal: number;
    if (o.mode === 'sigio') signal = 0;
    else if (o.signal !== undefined) signal = parseSignal(o.signal, 'options.signal');
    else if (o.mode === 'realtime' && this.#signal === 0) signal = pickSignal();
    else signal = this.#signal;
    const eexist = -osConstants.errno.EEXIST;
    if (enabledBy.has(fd)) throw errnoError(eexist, 'fcntl', { fd }, 'already enabled for signal-driven I/O');
    try {
      const stat = fstatSync(fd);
      if (stat.isFile() || stat.isDirectory()) {
        throw invalidArgValue('fd', fd, `is a ${stat.isFile() ? 'regular file' : 'directory'}: the kernel never signals its readiness (it is always ready); use blocking or asynchronous I/O`);
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_INVALID_ARG_VALUE') throw err;
      // fstat failed (EBADF): the native call below says so in our own form.
    }
    if (signal !== 0) this.#acquire(signal);
    const r = this.#native.enable(fd, signal);
    if (r === -osConstants.errno.EBUSY) {
      // Ours, unless someone installed a handler over iomodes' for the
      // fd's signal or for SIGIO (whose default action would kill us).
      const replaced = [SIGIO, signal].find((s) => s !== 0 && native.signal_handler(s) === 2);
      if (replaced !== undefined) {
        throw codedError(Error, 'ERR_SIGNAL_HANDLER_REPLACED', `another handler replaced iomodes' for signal ${replaced} (process.on('${signalName(replaced)}')?): fd ${fd} would signal it, without its siginfo`);
      }
    }
    if (r === -osConstants.errno.EBUSY) throw errnoError(r, 'fcntl', { fd }, 'an iomodes object owns this fd');
    check(r, 'fcntl', { fd });
    this.#fds.set(fd, { signal, writable: o.writable ?? false });
    if (signal === 0) this.#plainSigio++;
    enabledBy.set(fd, this);
    this.#updateRef();
  }

  /**
   * Stops signal-driven I/O on `fd`: its flags (`O_ASYNC`), owner and
   * signal as they were before {@link SignalIo.enable}. Events already
   * queued for it are dropped. iomodes' `close(fd)` does this by itself.
   *
   * @throws {@link IoError} `ENOENT` if the fd is not enabled here
   * @example
   * ```ts
   * sio.disable(fd);
   * ```
   */
  disable(fd: number): void {
    this.#open();
    validateFd(fd);
    if (!this.#fds.has(fd)) throw errnoError(-osConstants.errno.ENOENT, 'fcntl', { fd }, 'not enabled for signal-driven I/O by this SignalIo');
    this.#forget(fd);
    const r = this.#native.disable(fd);
    // Closed behind our back (fs.closeSync), its number maybe reused by
    // now: nothing of ours left to restore, and the fd was left alone.
    if (r !== -osConstants.errno.EBADF) check(r, 'fcntl', { fd });
  }

  /**
   * Polls every enabled fd (`poll(2)`, not waiting) and emits an `'io'`
   * event, `source: 'rescan'`, for each that is readable, has an error or
   * hung up (writable too, for fds enabled with `writable: true`). This is
   * how nothing is missed after an overflow, and how `'sigio'` mode, whose
   * signals name no fd, works at all.
   *
   * @returns the events emitted
   * @example
   * ```ts
   * sio.on('overflow', () => sio.rescan());
   * ```
   */
  rescan(): SignalIoEvent[] {
    this.#open();
    this.#counts.rescans++;
    const entries: PollEntry[] = [];
    for (const [fd, { writable }] of this.#fds) entries.push({ fd, events: POLL.IN | POLL.PRI | (writable ? POLL.OUT : 0) });
    const events: SignalIoEvent[] = [];
    if (entries.length === 0) return events;
    for (const { fd, events: revents } of poll(entries, 0)) {
      if (revents & POLL.NVAL) continue; // closed behind our back
      events.push(toEvent(fd, revents, 0, 'rescan'));
    }
    for (const event of events) this.#emitIo(event);
    return events;
  }

  /**
   * The `'io'` events as an async iterator, one event per step. Ends when
   * the object closes; throws an `AbortError` when `options.signal`
   * aborts. A consumer more than 65,536 events behind gets a rescan in
   * place of what it missed.
   *
   * @example
   * ```ts
   * for await (const { fd, readable } of sio.events()) {
   *   if (readable) drain(fd);
   * }
   * ```
   */
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<SignalIoEvent> {
    this.#open();
    validateOptions(options);
    const abort = options?.signal;
    validateSignal(abort);
    const queue: SignalIoEvent[] = [];
    let lost = false;
    let done = false;
    let wake: (() => void) | null = null;
    const push = (event: SignalIoEvent | null): void => {
      if (event === null) done = true;
      else if (queue.length < ITERATOR_QUEUE_MAX) queue.push(event);
      else lost = true;
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.#iterators.add(push);
    abort?.addEventListener('abort', onAbort);
    const finish = (): void => {
      done = true;
      this.#iterators.delete(push);
      abort?.removeEventListener('abort', onAbort);
    };
    const self = this;
    return {
      async next(): Promise<IteratorResult<SignalIoEvent>> {
        for (;;) {
          if (abort?.aborted) {
            finish();
            throw abort.reason ?? new DOMException('The operation was aborted', 'AbortError');
          }
          const event = queue.shift();
          if (event !== undefined) return { value: event, done: false };
          if (lost && !self.#closed) {
            lost = false;
            self.rescan();
            continue;
          }
          if (done) {
            finish();
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      },
      async return(): Promise<IteratorResult<SignalIoEvent>> {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Keeps the event loop alive while fds are enabled (the default).
   *
   * @example
   * ```ts
   * sio.ref();
   * ```
   */
  ref(): this {
    this.#open();
    this.#refed = true;
    this.#updateRef();
    return this;
  }

  /**
   * Lets the process (or Worker) exit while fds are enabled, as
   * `socket.unref()` does.
   *
   * @example
   * ```ts
   * sio.unref();
   * ```
   */
  unref(): this {
    this.#open();
    this.#refed = false;
    this.#updateRef();
    return this;
  }

  /**
   * Restores every enabled fd (as {@link SignalIo.disable} does), releases
   * the signals and closes the self-pipe; {@link SignalIo.events} iterators
   * end. Idempotent; other methods then throw `ERR_USE_AFTER_CLOSE`.
   *
   * @example
   * ```ts
   * sio.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#fds.keys()) enabledBy.delete(fd);
    this.#fds.clear();
    this.#plainSigio = 0;
    this.#watcher.close();
    this.#native.close();
    for (const push of this.#iterators) push(null);
  }

  /** Same as {@link SignalIo.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): void {
    if (this.#closed) throw useAfterClose('SignalIo');
  }

  #acquire(signo: number): void {
    const r = this.#native.acquire(signo);
    if (r < 0) throw acquireError(r, signo);
  }

  #forget(fd: number): void {
    if (this.#fds.get(fd)?.signal === 0) this.#plainSigio--;
    this.#fds.delete(fd);
    if (enabledBy.get(fd) === this) enabledBy.delete(fd);
    this.#updateRef();
  }

  #updateRef(): void {
    if (this.#refed && this.#fds.size > 0) this.#watcher.ref();
    else this.#watcher.unref();
  }

  #emitIo(event: SignalIoEvent): void {
    this.#counts.events++;
    for (const push of this.#iterators) push(event);
    this.emit('io', event);
  }

  // The watcher saw records in the pipe: read them all, emit their events,
  // then, once, what an overflow asks for.
  #drain(): void {
    const records = this.#records;
    let overflow: SignalIoOverflow['reason'] | null = null;
    let rescan = false;
    // At most DRAIN_BATCHES reads per loop turn, as epoll_wait returns at
    // most maxEvents: in a signal storm the handler refills the pipe as
    // fast as it is emptied, and the rest of the loop must get its turn.
    // The pipe stays readable, so the watcher calls again next turn.
    for (let batch = 0; batch < DRAIN_BATCHES; batch++) {
      if (this.#closed) return;
      const n = this.#native.drain(records);
      if (n <= 0) break;
      this.#counts.signals += n;
      for (let i = 0; i < n; i++) {
        const fd = records[i * RECORD_INTS]!;
        const signo = records[i * RECORD_INTS + 1]!;
        const band = records[i * RECORD_INTS + 3]!;
        if (fd < 0) {
          // A plain SIGIO names no fd: 'sigio' mode's every signal, or the
          // real-time queue's overflow. Anything else (kill(2)) is noise.
          if (signo !== SIGIO) continue;
          rescan = true;
          // Real-time fds enabled: the SIGIO is their queue's overflow.
          if (this.#fds.size > this.#plainSigio) overflow = 'sigqueue';
          continue;
        }
        const enabled = this.#fds.get(fd);
        // A signal queued before its fd was disabled (or re-enabled with
        // another signal) is stale.
        if (enabled === undefined || enabled.signal !== signo) continue;
        this.#emitIo(toEvent(fd, band, signo, 'signal'));
        if (this.#closed) return;
      }
      if (n < records.length / RECORD_INTS) break;
    }
    if (this.#native.takeOverflow() === 1) overflow = 'pipe';
    if (overflow !== null) {
      this.#counts.overflows++;
      this.emit('overflow', { reason: overflow });
      if (this.#closed) return;
    }
    if ((overflow !== null && this.#rescanOnOverflow) || (rescan && this.#plainSigio > 0)) this.rescan();
  }
}
