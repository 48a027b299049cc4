/**
 * The readiness engines of `iomodes bench`: an echo server driven by each
 * readiness mechanism, against a client in a child process.
 *
 * The shape of a run, the same for every engine:
 *
 * - **The server runs here**, in this process, with the engine under test
 *   (`echo-servers.ts`): what is measured is what a program built on that
 *   mechanism would cost, and this process's CPU time over the run is the
 *   server's (`usr_cpu`, `sys_cpu`).
 * - **The client is another process** (`echo-client.ts`, Node, iomodes'
 *   synchronous epoll and non-blocking I/O): one message in flight per
 *   connection, each round trip timed there. A process, not a Worker: a
 *   Worker shares this process's V8 platform threads, GC and CPU figures,
 *   and an echo server's clients are other programs. Being the same program
 *   for every engine, it costs every engine the same. It reports its counts
 *   and latency summary as one line of JSON when told to stop.
 * - **The connections are made before the clock starts**, and every engine
 *   is handed the same ready set: `tcp`, sockets accepted here from a
 *   listener on 127.0.0.1:0 that the client connected to; `pipe`, two pipes
 *   per connection (requests in, echoes out), the client's ends passed as
 *   its fds 3, 4, ... through spawn's `stdio`, as bench/signal.mjs does.
 *   Accepting is not part of an echo round trip, so no engine is timed
 *   doing it.
 * - **The clock**: the server, once ready, tells the client "go" (a byte on
 *   a control pipe, the client's stdin); after a warm-up that is run but not
 *   measured ({@link rampSeconds}, as fio's `ramp_time`) it sends "mark",
 *   and both sides start counting afresh. The clock stops at the runtime, an
 *   abort or a failure, and closing the control pipe tells the client at
 *   once to stop and report. Round trips per second are the client's round
 *   trips over this clock's seconds.
 *
 * Everything is released on every path — the client is killed if it has
 * not exited, and awaited; every fd made here is closed; each server closes
 * its epoll, SignalIo or hub — before the promise settles.
 *
 * @internal
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ioUringAvailable, type Unavailable } from '../../async.js';
import { write } from '../../blocking.js';
import { codedError, invalidArgType, outOfRange, WOULD_BLOCK } from '../../errors.js';
import { bind, close, dup, getsockname, listen, pipe, setsockopt, socket } from '../../fd.js';
import { Epoll, FD_SETSIZE } from '../../multiplex.js';
import { tryAccept } from '../../nonblocking.js';
import { SignalIo } from '../../signal.js';
import { validateFunction, validateInteger, validateOneOf, validateOptions, validateSignal } from '../../validate.js';
import type { ClientReport, ClientSpec } from './echo-client.js';
import { SERVERS, SLICE_MS, type Conn, type ServeContext } from './echo-servers.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { DirectionResult, JobResult, ReadinessEngine, ReadinessWorkload, RunOptions } from './types.js';

/** Every readiness engine, in the order `iomodes bench --help` lists them. */
export const READINESS_ENGINES: readonly ReadinessEngine[] = ['nonblocking', 'select', 'poll', 'epoll', 'sigio', 'coro', 'coro-uring', 'node-net'];

/**
 * The warm-up before the measured runtime, seconds: a fifth of the runtime,
 * at most half a second. Its round trips are run but not counted: in the
 * first tens of milliseconds both sides' hot loops are still interpreted
 * (V8 compiles them as they run), and those slow round trips would
 * otherwise be the p99 of a short run.
 */
export function rampSeconds(runtime: number): number {
  return Math.min(0.5, runtime / 5);
}

/** How often `onProgress` is called while a job runs. */
const PROGRESS_MS = 250;
/** How long the client may take to start and connect before the run fails. */
const SETUP_TIMEOUT_MS = 60_000;
/** How long the client may take to report once told to stop, before it is killed. */
const REPORT_TIMEOUT_MS = 10_000;
/** The most bytes of the client's stderr kept for an error message. */
const STDERR_KEEP = 4096;

/**
 * Why `engine` cannot run here (the doctor's cause), or undefined.
 *
 * - `coro-uring`: what `ioUringAvailable()` says (the sysctl, seccomp, ...);
 * - `sigio`: a `SignalIo` is made and closed: it needs `SIGIO` and a free
 *   real-time signal, neither handled by anyone but iomodes (`reason:
 *   'limit'` when every one is taken);
 * - the others need nothing this process could lack. (`select`'s limit,
 *   fds below FD_SETSIZE, depends on the workload: {@link runReadiness}
 *   refuses a workload that needs more, as a usage error.)
 *
 * @example
 * ```ts
 * readinessUnavailable('coro-uring'); // { ok: false, reason: 'sysctl', … } where io_uring is off
 * ```
 */
export function readinessUnavailable(engine: ReadinessEngine): Unavailable | undefined {
  validateOneOf(engine, 'engine', READINESS_ENGINES);
  if (engine === 'coro-uring') {
    const probe = ioUringAvailable();
    return probe.ok ? undefined : probe;
  }
  if (engine === 'sigio') {
    try {
      new SignalIo().close();
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      const busy = code === 'ERR_SIGNAL_IN_USE';
      const errno = busy ? osConstants.errno.EBUSY : ((error as { errno?: number }).errno ?? 0);
      return {
        ok: false,
        reason: busy ? 'limit' : 'error',
        errno,
        code: busy ? 'EBUSY' : (code ?? 'UNKNOWN'),
        syscall: (error as { syscall?: string }).syscall ?? 'sigaction',
        detail: busy ? `no signal for signal-driven I/O: ${message}` : message,
      };
    }
  }
  return undefined;
}

/**
 * Runs one readiness engine on a workload until `workload.runtime` passes or
 * `options.signal` aborts: an echo ping-pong over `workload.connections`
 * connections, one `workload.msgSize`-byte message in flight on each.
 *
 * The result, in fio's terms: `read` is the round trips (`total_ios`,
 * `io_bytes` echoed, `iops` = round trips per second, `bw`, `clat_ns` = the
 * round-trip latency as the client saw it, from the start of its write to
 * the last byte of the echo). `write` stays zero: a round trip is one
 * operation, and mirroring it there would count every one twice in any sum
 * over directions. `usr_cpu`/`sys_cpu` are this process's, the server's,
 * over the run.
 *
 * An abort resolves with what was measured until then (`interrupted:
 * true`, and zeros if it came before the clock started).
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE`
 *   for a bad engine, workload or options; `ERR_OUT_OF_RANGE` when `select`
 *   would need fds at or above FD_SETSIZE (1024); `ERR_ENGINE_UNAVAILABLE`
 *   when {@link readinessUnavailable} says no (its answer is the error's
 *   `unavailable`); an `IoError` when a syscall fails; an `Error` when the
 *   client fails or a connection breaks during the run
 * @example
 * ```ts
 * const job = await runReadiness('epoll', { kind: 'readiness', target: 'tcp', connections: 50, msgSize: 64, runtime: 5 }, {});
 * ```
 */
export async function runReadiness(engine: ReadinessEngine, workload: ReadinessWorkload, options: RunOptions = {}): Promise<JobResult> {
  validateOneOf(engine, 'engine', READINESS_ENGINES);
  // Each field is read once, into copies the run uses: a getter cannot
  // show the checks one value and the run another.
  validateOptions(workload, 'workload');
  if (workload === undefined) throw invalidArgType('workload', 'of type object', workload);
  const job = { ...workload };
  validateWorkload(job);
  validateOptions(options);
  const { signal, onProgress } = options;
  validateSignal(signal);
  if (onProgress !== undefined) validateFunction(onProgress, 'options.onProgress');
  const why = readinessUnavailable(engine);
  if (why !== undefined) {
    const error = codedError(Error, 'ERR_ENGINE_UNAVAILABLE', `engine ${engine} cannot run here (${why.reason}): ${why.detail}`) as Error & { code: string; unavailable?: Unavailable };
    error.unavailable = why;
    throw error;
  }
  if (engine === 'select') checkSelectable(job);
  return await new ReadinessRun(engine, job, { signal, onProgress }).execute();
}

function validateWorkload(workload: ReadinessWorkload): void {
  validateOptions(workload, 'workload');
  if (workload === undefined) throw invalidArgType('workload', 'of type object', workload);
  validateOneOf(workload.kind, 'workload.kind', ['readiness']);
  validateOneOf(workload.target, 'workload.target', ['pipe', 'tcp']);
  validateInteger(workload.connections, 'workload.connections', 1, 65_535);
  validateInteger(workload.msgSize, 'workload.msgSize', 1, 64 * 1024 * 1024);
  if (typeof workload.runtime !== 'number') throw invalidArgType('workload.runtime', 'of type number', workload.runtime);
  if (!(workload.runtime > 0 && workload.runtime <= 86_400)) {
    throw outOfRange('workload.runtime', '> 0 && <= 86400 (seconds)', workload.runtime);
  }
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length - 1; // less the directory's own fd
}

/**
 * select(2) takes fds below FD_SETSIZE only. The server holds one fd per
 * connection (tcp) or two (pipe), besides what this process has open
 * already: refuse before starting anything if they cannot all fit.
 */
function checkSelectable(workload: ReadinessWorkload): void {
  const perConn = workload.target === 'tcp' ? 1 : 2;
  const base = openFds();
  const need = base + perConn * workload.connections + 3; // + the control pipe and the listener
  if (need > FD_SETSIZE) {
    const room = Math.max(0, Math.floor((FD_SETSIZE - base - 3) / perConn));
    const error = outOfRange('workload.connections', `<= ${room} for engine select`, workload.connections);
    error.message +=
      `: select(2) watches fds below FD_SETSIZE (${FD_SETSIZE}) only, and ${workload.connections} connections over ${workload.target === 'tcp' ? 'TCP take one fd' : 'pipes take two fds'} each ` +
      `here besides the ${base} this process has open; use poll or epoll for more`;
    throw error;
  }
}

/** Where the compiled client is. */
function clientScript(): string {
  const here = fileURLToPath(import.meta.url);
  // Running from the TypeScript source (the tests, through vitest), the
  // child still needs JavaScript: the compiled client in dist/, which
  // test/global-setup.ts builds before every test run.
  const script = here.endsWith('.ts') ? join(dirname(here), '..', '..', '..', 'dist', 'cli', 'bench', 'echo-client.js') : join(dirname(here), 'echo-client.js');
  if (!existsSync(script)) throw codedError(Error, 'ERR_MODULE_NOT_FOUND', `the bench client ${script} is missing: run \`npm run build:ts\``);
  return script;
}

function closeQuietly(fd: number): void {
  try {
    close(fd);
  } catch {
    // already closed
  }
}

function direction(ops: number, bytes: number, seconds: number, clat: LatencySummary): DirectionResult {
  const bwBytes = seconds > 0 ? bytes / seconds : 0;
  return { total_ios: ops, io_bytes: bytes, iops: seconds > 0 ? ops / seconds : 0, bw: bwBytes / 1024, bw_bytes: bwBytes, clat_ns: clat };
}

/** One job: its fds, its client, its clock; the context its server runs in. */
class ReadinessRun implements ServeContext {
  readonly target: 'pipe' | 'tcp';
  readonly msgSize: number;
  readonly conns: Conn[] = [];
  echoed = 0;
  readonly done: Promise<void>;

  readonly #engine: ReadinessEngine;
  readonly #workload: ReadinessWorkload;
  readonly #options: RunOptions;
  #resolveDone!: () => void;
  /** fds made here and not yet closed (besides the connections). */
  readonly #fds = new Set<number>();
  #listener = -1;
  #control = -1;
  #child: ChildProcess | undefined;
  #childClosed: Promise<void> = Promise.resolve();
  #exited = false;
  #stdout = '';
  #stderr = '';
  #onReady: (() => void) | undefined;
  #stopRequested = false;

  // The clock (performance.now() ms) and this process's CPU. #t0 is the
  // mark, the end of the warm-up; undefined until then.
  #started = false;
  #rampEnd = Infinity;
  #t0: number | undefined;
  #t1: number | undefined;
  #deadline = Infinity;
  #echoed0 = 0;
  #cpu0: NodeJS.CpuUsage | undefined;
  #cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #ended = false;
  #interrupted = false;
  #failure: { error: unknown } | undefined;
  #timers: NodeJS.Timeout[] = [];
  #onAbort = (): void => {
    if (this.#ended) return;
    this.#interrupted = true;
    this.#end();
  };

  constructor(engine: ReadinessEngine, workload: ReadinessWorkload, options: RunOptions) {
    this.#engine = engine;
    this.#workload = workload;
    this.#options = options;
    this.target = workload.target;
    this.msgSize = workload.msgSize;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  // ------------------------------------------------------- ServeContext

  go(): void {
    if (this.#started || this.#ended) return;
    this.#started = true;
    this.#rampEnd = performance.now() + rampSeconds(this.#workload.runtime) * 1000;
    write(this.#control, Buffer.from('g'));
    this.#arm();
    const progress = setInterval(() => this.#progress(), PROGRESS_MS);
    this.#timers.push(progress);
  }

  get stopped(): boolean {
    if (this.#ended) return true;
    const now = performance.now();
    if (this.#t0 === undefined) {
      if (now >= this.#rampEnd) this.#mark(now);
      return false;
    }
    if (now >= this.#deadline) {
      this.#end();
      return true;
    }
    return false;
  }

  sliceMs(): number {
    const next = this.#t0 === undefined ? this.#rampEnd : this.#deadline;
    return Math.max(1, Math.min(SLICE_MS, Math.ceil(next - performance.now())));
  }

  turn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  fail(error: unknown): void {
    // After the stop, a broken connection is the teardown's doing, not news.
    if (this.#ended) return;
    this.#failure ??= { error };
    this.#end();
  }

  // --------------------------------------------------------------- run

  async execute(): Promise<JobResult> {
    const signal = this.#options.signal;
    if (signal?.aborted) return this.#result(undefined, true);
    signal?.addEventListener('abort', this.#onAbort);
    let report: ClientReport | undefined;
    let accepting: Promise<void> = Promise.resolve();
    let error: { error: unknown } | undefined;
    try {
      const ready = this.#start();
      if (this.target === 'tcp') accepting = this.#acceptAll();
      const setup = setTimeout(() => this.fail(new Error(`the bench client did not connect within ${SETUP_TIMEOUT_MS / 1000} s`)), SETUP_TIMEOUT_MS);
      this.#timers.push(setup);
      await Promise.race([Promise.all([ready, accepting]), this.done]);
      clearTimeout(setup);
      await accepting;
      if (!this.#ended) {
        this.#closeFd(this.#listener);
        this.#listener = -1;
        if (this.#engine === 'select') this.#compactForSelect();
        await SERVERS[this.#engine](this);
        this.#end();
      }
      report = await this.#collect();
    } catch (e) {
      error = { error: e };
      this.fail(e);
    } finally {
      signal?.removeEventListener('abort', this.#onAbort);
      await this.#teardown(accepting);
    }
    const failure = this.#failure ?? error;
    if (failure !== undefined) throw failure.error;
    return this.#result(report, this.#interrupted);
  }

  /** Makes the fds, starts the client; resolves when it says every connection is up. */
  #start(): Promise<void> {
    const { connections } = this.#workload;
    const childFds: number[] = [];
    const spec: ClientSpec = { target: this.target, connections, msgSize: this.msgSize };
    const [controlR, controlW] = pipe();
    this.#fds.add(controlR).add(controlW);
    this.#control = controlW;
    if (this.target === 'pipe') {
      for (let i = 0; i < connections; i++) {
        // Non-blocking on both ends: a pipe's O_NONBLOCK is per end, and the
        // client makes its ends non-blocking anyway.
        const up = pipe({ nonblocking: true });
        this.conns.push({ rfd: up[0], wfd: -1, adopted: false });
        childFds.push(up[1]);
        this.#fds.add(up[1]);
        const down = pipe({ nonblocking: true });
        this.conns[i]!.wfd = down[1];
        childFds.push(down[0]);
        this.#fds.add(down[0]);
      }
    } else {
      this.#listener = socket('tcp4', { nonblocking: true });
      this.#fds.add(this.#listener);
      bind(this.#listener, { host: '127.0.0.1', port: 0 });
      // The kernel caps the backlog at net.core.somaxconn; connections
      // beyond it wait for a SYN retry, and #acceptAll accepts meanwhile.
      listen(this.#listener, Math.max(511, connections));
      spec.port = (getsockname(this.#listener) as { port: number }).port;
    }
    const ready = new Promise<void>((resolve) => (this.#onReady = resolve));
    const child = spawn(process.execPath, [clientScript(), JSON.stringify(spec)], {
      stdio: [controlR, 'pipe', 'pipe', ...childFds],
    });
    this.#child = child;
    this.#childClosed = new Promise((resolve) => child.once('close', () => resolve()));
    // The child has its copies now (spawn dup2()s them before it returns).
    this.#closeFd(controlR);
    for (const fd of childFds) this.#closeFd(fd);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.#stdout += chunk;
      if (this.#onReady !== undefined && this.#stdout.includes('ready\n')) {
        this.#onReady();
        this.#onReady = undefined;
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
    });
    child.once('error', (e) => this.fail(e));
    child.once('exit', (code, sig) => {
      this.#exited = true;
      if (!this.#stopRequested) this.fail(new Error(`the bench client exited early (${sig ?? `code ${code}`})${this.#stderrTail()}`));
    });
    return ready;
  }

  /** tcp: accepts the client's connections, waiting on Node's loop between tries. */
  async #acceptAll(): Promise<void> {
    const { connections } = this.#workload;
    const epoll = Epoll.create();
    try {
      epoll.add(this.#listener, Epoll.IN);
      while (this.conns.length < connections && !this.#ended) {
        for (let fd; this.conns.length < connections && (fd = tryAccept(this.#listener, { nonblocking: true })) !== WOULD_BLOCK; ) {
          this.conns.push({ rfd: fd, wfd: fd, adopted: false });
          setsockopt(fd, 'TCP_NODELAY', true);
        }
        if (this.conns.length < connections && !this.#ended) await epoll.waitAsync(100);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      epoll.close();
    }
  }

  /**
   * select: moves each watched fd at or above FD_SETSIZE down to the lowest
   * free number (dup, then close the high one), and refuses if one still
   * does not fit. checkSelectable() made this rare.
   */
  #compactForSelect(): void {
    for (const conn of this.conns) {
      if (conn.rfd < FD_SETSIZE) continue;
      const low = dup(conn.rfd);
      if (low >= FD_SETSIZE) {
        close(low);
        throw outOfRange('workload.connections', `small enough for select's fds to stay below FD_SETSIZE (${FD_SETSIZE})`, this.#workload.connections);
      }
      const high = conn.rfd;
      if (conn.wfd === high) conn.wfd = low;
      conn.rfd = low;
      close(high);
    }
  }

  /** Makes sure the client was told to stop, and reads its report. */
  async #collect(): Promise<ClientReport | undefined> {
    this.#stopClient();
    if (this.#t0 === undefined || this.#failure !== undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), REPORT_TIMEOUT_MS)));
    const outcome = await Promise.race([this.#childClosed, late]);
    clearTimeout(timer);
    if (outcome === 'late') throw new Error(`the bench client did not report within ${REPORT_TIMEOUT_MS / 1000} s of the stop`);
    const line = this.#stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1);
    if (line === undefined) {
      throw new Error(`the bench client ended without a report (${this.#child?.signalCode ?? `code ${this.#child?.exitCode}`})${this.#stderrTail()}`);
    }
    return JSON.parse(line) as ClientReport;
  }

  async #teardown(accepting: Promise<void>): Promise<void> {
    this.#end();
    for (const timer of this.#timers) clearTimeout(timer);
    await accepting; // it stops at #ended; it never rejects
    const child = this.#child;
    if (child !== undefined && !this.#exited) {
      // Left running only by a failure: the report is of no use then.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#failure === undefined ? REPORT_TIMEOUT_MS : 0)));
      await Promise.race([this.#childClosed, grace]);
      clearTimeout(timer);
      if (!this.#exited) child.kill('SIGKILL');
    }
    await this.#childClosed;
    for (const conn of this.conns) {
      if (conn.adopted) continue; // Node's (node-net): closed when the Socket was destroyed
      closeQuietly(conn.rfd);
      if (conn.wfd !== conn.rfd && conn.wfd >= 0) closeQuietly(conn.wfd);
    }
    this.conns.length = 0;
    for (const fd of this.#fds) closeQuietly(fd);
    this.#fds.clear();
  }

  // ------------------------------------------------------------ helpers

  /**
   * Stops the clock, once: the runtime passed, an abort, or a failure. The
   * client is told at once (end of file on its control pipe), so that it
   * stops counting when the server stops serving, not after the server's
   * teardown.
   */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#t0 !== undefined) {
      this.#t1 = performance.now();
      this.#cpu = process.cpuUsage(this.#cpu0);
    }
    this.#stopClient();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#resolveDone();
  }

  #stopClient(): void {
    this.#stopRequested = true;
    this.#closeFd(this.#control);
    this.#control = -1;
  }

  /**
   * The warm-up is over: measure from here, on both sides. The runtime
   * counts from this moment, however late it was noticed.
   */
  #mark(now: number): void {
    this.#t0 = now;
    this.#deadline = now + this.#workload.runtime * 1000;
    this.#cpu0 = process.cpuUsage();
    this.#echoed0 = this.echoed;
    write(this.#control, Buffer.from('m'));
  }

  /**
   * A timer for the next moment (the mark, then the deadline), for the
   * servers on Node's loop; the synchronous ones notice by themselves. A
   * Node timer may fire a fraction of a millisecond early by
   * performance.now(): it re-arms until the moment has passed.
   */
  #arm(): void {
    const next = this.#t0 === undefined ? this.#rampEnd : this.#deadline;
    const timer = setTimeout(
      () => {
        if (!this.stopped) this.#arm();
      },
      Math.max(1, Math.ceil(next - performance.now())),
    );
    this.#timers.push(timer);
  }

  #progress(): void {
    if (this.#ended || this.#t0 === undefined) return;
    try {
      const ops = Math.floor((this.echoed - this.#echoed0) / this.msgSize);
      this.#options.onProgress?.({ engine: this.#engine, elapsed: (performance.now() - this.#t0) / 1000, ops });
    } catch (error) {
      this.fail(error);
    }
  }

  #closeFd(fd: number): void {
    if (fd < 0 || !this.#fds.delete(fd)) return;
    close(fd);
  }

  #stderrTail(): string {
    const text = this.#stderr.trim();
    return text === '' ? '' : `:\n${text}`;
  }

  #result(report: ClientReport | undefined, interrupted: boolean): JobResult {
    const elapsed = this.#t0 !== undefined && this.#t1 !== undefined ? (this.#t1 - this.#t0) / 1000 : 0;
    const empty = new LatencyRecorder().summary();
    const ops = report?.roundTrips ?? 0;
    const percent = (us: number): number => (elapsed > 0 ? (us / 1e6 / elapsed) * 100 : 0);
    return {
      jobname: `${this.#engine}-${this.target}`,
      engine: this.#engine,
      workload: this.#workload,
      elapsed,
      read: direction(ops, report?.bytes ?? 0, elapsed, report?.latency ?? empty),
      write: direction(0, 0, elapsed, empty),
      usr_cpu: percent(this.#cpu.user),
      sys_cpu: percent(this.#cpu.system),
      interrupted,
    };
  }
}
