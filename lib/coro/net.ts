/**
 * A small TCP layer for tasks: `listen()` gives a {@link Server} whose
 * `accept()` is an operation, and `connect()` an operation giving a
 * {@link Stream} with `read`, `readExactly`, `readLine`, `write` and
 * `close`. Addresses are numeric IPv4/IPv6, or `localhost`.
 *
 * @module
 */
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import { codedError, errnoError, invalidArgType, invalidArgValue, useAfterClose, WOULD_BLOCK } from '../errors.js';
import { constant, native } from '../native.js';
import { bind, close, connect as connectNow, encodeAddress, finishConnect, getpeername, getsockname, listen as listenNow, setsockopt, shutdown, socket } from '../fd.js';
import { tryAccept } from '../nonblocking.js';
import { validateBoolean, validateBuffer, validateInteger, validateOptions, validateRange, validateString } from '../validate.js';
import { RingAccept, RingConnect, RingTransfer, RingWriteAll } from './completion.js';
import { HANGUP, READABLE, useHub, WRITABLE, type Hub } from './hub.js';
import { FdOperation } from './operation.js';
import { waiting } from './io.js';
import { DONE_VOID, type Instruction, type Operation } from './types.js';

/**
 * Where to listen: {@link listen}'s options.
 *
 * @example
 * ```ts
 * import { net } from 'iomodes/coro';
 * import type { ListenOptions } from 'iomodes/coro';
 * const options: ListenOptions = { host: 'localhost', port: 0, backlog: 128 };
 * const server = net.listen(options);
 * console.log(server.address); // { host: '127.0.0.1', port: 40123 }: the kernel picked the port
 * server.close();
 * ```
 */
export interface ListenOptions {
  /** A numeric address or `localhost`; default `127.0.0.1`. */
  host?: string;
  /** Default 0: the kernel picks a free port (read it from `server.address`). */
  port?: number;
  /** The accept queue's length; default 511. */
  backlog?: number;
  /** `SO_REUSEADDR`; default `true`. */
  reuseAddress?: boolean;
  /** `TCP_NODELAY` on accepted streams; default `true` (request/response traffic is not delayed by Nagle's algorithm). */
  noDelay?: boolean;
}

/**
 * Where to connect: {@link connect}'s options.
 *
 * @example
 * ```ts
 * import { net, run } from 'iomodes/coro';
 * import type { ConnectOptions } from 'iomodes/coro';
 * const server = net.listen({ port: 0 });
 * const options: ConnectOptions = { host: '127.0.0.1', port: server.address.port, noDelay: true };
 * await run(function* () {
 *   const stream = yield* net.connect(options);
 *   stream.close();
 * });
 * server.close();
 * ```
 */
export interface ConnectOptions {
  /** A numeric address or `localhost`. */
  host: string;
  port: number;
  /** `TCP_NODELAY`; default `true`. */
  noDelay?: boolean;
}

/**
 * A TCP endpoint.
 *
 * @example
 * ```ts
 * import { net } from 'iomodes/coro';
 * import type { NetAddress } from 'iomodes/coro';
 * const server = net.listen({ port: 0 });
 * const { host, port }: NetAddress = server.address;
 * console.log(`listening on ${host}:${port}`);
 * server.close();
 * ```
 */
export interface NetAddress {
  host: string;
  port: number;
}

function resolveHost(host: unknown, name: string): { host: string; kind: 'tcp4' | 'tcp6' } {
  validateString(host, name);
  const numeric = host === 'localhost' ? '127.0.0.1' : host;
  const version = isIP(numeric);
  if (version === 0 || numeric.includes('%')) throw invalidArgValue(name, host, "must be a numeric IPv4 or IPv6 address, or 'localhost'");
  return { host: numeric, kind: version === 4 ? 'tcp4' : 'tcp6' };
}

function netAddress(address: ReturnType<typeof getsockname>): NetAddress {
  return 'host' in address ? { host: address.host, port: address.port } : { host: '', port: 0 };
}

/**
 * Listens on a TCP address; `yield* server.accept()` takes connections.
 *
 * @example
 * ```ts
 * import { net, spawn } from 'iomodes/coro';
 * const server = net.listen({ host: '127.0.0.1', port: 0 });
 * spawn(function* () {
 *   for (;;) {
 *     const stream = yield* server.accept();
 *     spawn(function* () { yield* stream.write('hello\n'); stream.close(); });
 *   }
 * });
 * console.log(server.address.port);
 * ```
 */
export function listen(options: ListenOptions = {}): Server {
  validateOptions(options as unknown);
  const { host, kind } = resolveHost(options.host ?? '127.0.0.1', 'options.host');
  const port = options.port ?? 0;
  validateInteger(port, 'options.port', 0, 65535);
  const backlog = options.backlog ?? 511;
  validateInteger(backlog, 'options.backlog', 0, 2 ** 31 - 1);
  const reuseAddress = options.reuseAddress ?? true;
  validateBoolean(reuseAddress, 'options.reuseAddress');
  const noDelay = options.noDelay ?? true;
  validateBoolean(noDelay, 'options.noDelay');
  const fd = socket(kind, { nonblocking: true });
  try {
    if (reuseAddress) setsockopt(fd, 'SO_REUSEADDR', true);
    bind(fd, { host, port });
    listenNow(fd, backlog);
  } catch (error) {
    close(fd);
    throw error;
  }
  return new Server(fd, noDelay);
}

/**
 * A listening TCP socket, made by {@link listen}.
 *
 * @example
 * ```ts
 * const stream = yield* server.accept();
 * ```
 */
export class Server implements Disposable {
  /** The listening socket's fd; -1 once closed. */
  #fd: number;
  readonly #noDelay: boolean;
  /** Where it listens (the port the kernel picked, for port 0). */
  readonly address: NetAddress;

  /** @internal Use {@link listen}. */
  constructor(fd: number, noDelay: boolean) {
    this.#fd = fd;
    this.#noDelay = noDelay;
    this.address = netAddress(getsockname(fd));
  }

  /** The listening socket's fd, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Waits for the next connection.
   *
   * @throws `ERR_USE_AFTER_CLOSE` after {@link Server.close}; a task waiting
   *   in `accept()` when the server closes gets `EBADF`
   * @example
   * ```ts
   * const stream = yield* server.accept();
   * ```
   */
  accept(): Operation<Stream> {
    if (this.#fd < 0) throw useAfterClose('Server');
    return this.#accepting(this.#fd);
  }

  *#accepting(fd: number): Generator<Instruction, Stream, unknown> {
    const hub = useHub();
    if (hub.ringIo) {
      const conn = yield* new RingAccept(hub, 'accept()', fd, SOCK_FLAGS);
      if (this.#noDelay) setsockopt(conn, 'TCP_NODELAY', true);
      return new Stream(conn);
    }
    for (;;) {
      const conn = tryAccept(fd, { nonblocking: true });
      if (conn !== WOULD_BLOCK) {
        if (this.#noDelay) setsockopt(conn, 'TCP_NODELAY', true);
        return new Stream(conn);
      }
      yield* waiting(fd, READABLE);
    }
  }

  /**
   * Stops listening; a task waiting in `accept()` gets `EBADF`. Idempotent.
   *
   * @example
   * ```ts
   * server.close();
   * ```
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }

  /** Same as {@link Server.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Connects to a TCP address, waiting cooperatively for the handshake.
 *
 * @throws {@link iomodes!IoError} `ECONNREFUSED` and the like
 * @example
 * ```ts
 * import { net } from 'iomodes/coro';
 * const stream = yield* net.connect({ host: 'localhost', port: 8080 });
 * yield* stream.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
 * console.log(yield* stream.readLine()); // HTTP/1.1 200 OK
 * ```
 */
export function connect(options: ConnectOptions): Operation<Stream> {
  if (options === undefined) throw invalidArgType('options', 'of type object', options);
  validateOptions(options as unknown);
  const { host, kind } = resolveHost(options.host, 'options.host');
  validateInteger(options.port, 'options.port', 0, 65535);
  const noDelay = options.noDelay ?? true;
  validateBoolean(noDelay, 'options.noDelay');
  return connecting(kind, host, options.port, noDelay);
}

function* connecting(kind: 'tcp4' | 'tcp6', host: string, port: number, noDelay: boolean): Generator<Instruction, Stream, unknown> {
  useHub().task('connect()');
  const fd = socket(kind, { nonblocking: true });
  try {
    if (noDelay) setsockopt(fd, 'TCP_NODELAY', true);
    const hub = useHub();
    if (hub.ringIo) {
      const [family, address, at] = encodeAddress({ host, port });
      yield* new RingConnect(hub, 'connect()', fd, family, address, at);
    } else if (!connectNow(fd, { host, port })) {
      yield* waiting(fd, WRITABLE);
      finishConnect(fd);
    }
  } catch (error) {
    close(fd);
    throw error;
  }
  return new Stream(fd);
}

/** The bytes a {@link Stream.readLine} line may hold before it is an error. */
const MAX_LINE = 1 << 20;

/**
 * A connected TCP socket for tasks: buffered reads (`readExactly`,
 * `readLine`), writes that send everything, and `close`. One task may read
 * while another writes; two readers (or writers) at once is
 * `ERR_CONCURRENT_USE`.
 *
 * @example
 * ```ts
 * const line = yield* stream.readLine();
 * yield* stream.write(`you said: ${line}\n`);
 * stream.close();
 * ```
 */
export class Stream implements Disposable {
  #fd: number;
  // Bytes read ahead by readLine/readExactly, not yet handed out.
  #buffered: Buffer = Buffer.alloc(0);
  // Whether the last read drained the socket (see Receiving).
  readonly #drain = { drained: false };

  /** @internal Made by {@link listen}'s accept or {@link connect}. */
  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The socket's fd, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** The local end's address. */
  get localAddress(): NetAddress {
    return netAddress(getsockname(this.#open()));
  }

  /** The peer's address. */
  get remoteAddress(): NetAddress {
    return netAddress(getpeername(this.#open()));
  }

  /**
   * Reads what has arrived (at least 1 byte, waiting cooperatively for it)
   * into `buffer`.
   *
   * @returns bytes read; 0 when the peer has finished sending
   * @example
   * ```ts
   * const n = yield* stream.read(buf);
   * ```
   */
  read(buffer: ArrayBufferView, offset = 0, length?: number): Operation<number> {
    const fd = this.#open();
    validateBuffer(buffer);
    const n = validateRange(buffer, offset, length);
    // Nothing read ahead (the common case): straight to the socket, with no
    // generator in between.
    if (this.#buffered.length === 0) return receiving(this.#drain, fd, buffer, offset, n);
    return this.#read(fd, buffer, offset, n);
  }

  *#read(fd: number, buffer: ArrayBufferView, offset: number, length: number): Generator<Instruction, number, unknown> {
    if (this.#buffered.length > 0) {
      const n = Math.min(length, this.#buffered.length);
      new Uint8Array(buffer.buffer, buffer.byteOffset + offset, n).set(this.#buffered.subarray(0, n));
      this.#buffered = this.#buffered.subarray(n);
      return n;
    }
    return yield* receiving(this.#drain, fd, buffer, offset, length);
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @throws `ERR_STREAM_PREMATURE_CLOSE` if the peer finishes first (the
   *   bytes that did arrive are in the error's `partial`)
   * @example
   * ```ts
   * const header = yield* stream.readExactly(8);
   * ```
   */
  readExactly(n: number): Operation<Buffer> {
    const fd = this.#open();
    validateInteger(n, 'n', 0, 2 ** 31 - 1);
    return this.#readExactly(fd, n);
  }

  *#readExactly(fd: number, n: number): Generator<Instruction, Buffer, unknown> {
    while (this.#buffered.length < n) {
      if (!(yield* this.#fill(fd, n - this.#buffered.length))) {
        const partial = this.#buffered;
        this.#buffered = Buffer.alloc(0);
        const error = codedError(Error, 'ERR_STREAM_PREMATURE_CLOSE', `the peer closed the stream after ${partial.length} of ${n} bytes`) as Error & {
          code: string;
          partial: Buffer;
        };
        error.partial = partial;
        throw error;
      }
    }
    const out = this.#buffered.subarray(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return Buffer.from(out);
  }

  /**
   * Reads one line, up to `\n`, and gives it without its `\n` (or `\r\n`),
   * decoded as UTF-8. At the end of the stream, gives what is left (a last
   * line without `\n`), then `null`.
   *
   * @throws `ERR_OUT_OF_RANGE` for a line longer than 1 MiB
   * @example
   * ```ts
   * for (let line; (line = yield* stream.readLine()) !== null; ) console.log(line);
   * ```
   */
  readLine(): Operation<string | null> {
    return this.#readLine(this.#open());
  }

  *#readLine(fd: number): Generator<Instruction, string | null, unknown> {
    let searched = 0;
    for (;;) {
      const at = this.#buffered.indexOf(10, searched);
      if (at >= 0) {
        const end = at > 0 && this.#buffered[at - 1] === 13 ? at - 1 : at;
        const line = this.#buffered.toString('utf8', 0, end);
        this.#buffered = this.#buffered.subarray(at + 1);
        return line;
      }
      searched = this.#buffered.length;
      if (searched > MAX_LINE) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `a line is longer than ${MAX_LINE} bytes`);
      if (!(yield* this.#fill(fd, 16384))) {
        if (this.#buffered.length === 0) return null;
        const line = this.#buffered.toString('utf8');
        this.#buffered = Buffer.alloc(0);
        return line;
      }
    }
  }

  // Appends up to `want` bytes from the socket to #buffered; false at EOF.
  *#fill(fd: number, want: number): Generator<Instruction, boolean, unknown> {
    const chunk = Buffer.allocUnsafe(Math.max(want, 4096));
    const n = yield* receiving(this.#drain, fd, chunk, 0, chunk.length);
    if (n === 0) return false;
    this.#buffered = this.#buffered.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.#buffered, chunk.subarray(0, n)]);
    return true;
  }

  /**
   * Writes all of `data` (a string is UTF-8), or the `length` bytes at
   * `offset` in it, waiting cooperatively while the socket is full.
   *
   * @param offset where to start in `data`, in bytes; default 0
   * @param length how many bytes; default the rest of `data`
   * @example
   * ```ts
   * yield* stream.write('hello\n');
   * yield* stream.write(buf, 0, n); // what a read put into buf, no subarray
   * ```
   */
  write(data: string | ArrayBufferView, offset = 0, length?: number): Operation<void> {
    const fd = this.#open();
    if (typeof data === 'string') data = Buffer.from(data);
    else validateBuffer(data, 'data');
    const n = validateRange(data, offset, length);
    return sending(fd, data, offset, n);
  }

  /**
   * Shuts down the sending side: the peer reads end of stream; reading goes on.
   *
   * @example
   * ```ts
   * stream.end();
   * ```
   */
  end(): void {
    shutdown(this.#open(), 'write');
  }

  /**
   * Closes the socket; a task waiting on it gets `EBADF`. Idempotent.
   *
   * @example
   * ```ts
   * stream.close();
   * ```
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }

  /** Same as {@link Stream.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): number {
    if (this.#fd < 0) throw useAfterClose('Stream');
    return this.#fd;
  }
}

// On the io_uring backend the kernel does each recv and send: one ring
// operation, no readiness wait. (A send, not a write: it skips the file
// layer, 3-7% more round trips in the echo benchmark.)
function receiving(drain: { drained: boolean }, fd: number, buffer: ArrayBufferView, offset: number, length: number): Operation<number> {
  const hub = useHub();
  if (hub.ringIo) return new RingTransfer(hub, 'Stream.read()', 'recv', fd, buffer, offset, length, 0);
  return new Receiving(drain, fd, buffer, offset, length);
}

function sending(fd: number, data: ArrayBufferView, offset: number, length: number): Operation<void> {
  const hub = useHub();
  if (hub.ringIo) return new RingWriteAll(hub, 'Stream.write()', 'send', fd, data, offset, length, undefined);
  return new Sending(fd, data, offset, length);
}

// The hot paths of a Stream as plain iterators, not generators (a generator
// per read is an allocation and a second resume), calling the bindings
// directly: Stream.read/write checked the arguments once already.
const EAGAIN = -osConstants.errno.EAGAIN;
const MSG_DONTWAIT = constant('MSG_DONTWAIT');
const SEND_FLAGS = MSG_DONTWAIT | constant('MSG_NOSIGNAL');
const SOCK_FLAGS = constant('SOCK_NONBLOCK') | constant('SOCK_CLOEXEC');

/**
 * recv(2) into a checked range, parking on EAGAIN. After a short read the
 * socket is taken as drained, and the next read waits for readiness first
 * instead of paying a read that would say EAGAIN (libuv's heuristic). Safe
 * with the hub's edge-triggered epoll: data or a FIN arriving after the
 * read makes a new edge. Not after a hang-up was reported (a FIN queued
 * before the read makes no new edge), nor after end of stream, which stays
 * readable.
 */
class Receiving extends FdOperation<number> {
  constructor(
    readonly drain: { drained: boolean },
    fd: number,
    readonly buffer: ArrayBufferView,
    readonly offset: number,
    readonly length: number,
  ) {
    super(fd, READABLE);
  }

  next(): IteratorResult<Instruction, number> {
    const hub = useHub();
    const fd = this.fd;
    if (!this.resumed()) {
      const task = hub.task('Stream.read()');
      if (this.length === 0) return { value: 0, done: true };
      if (this.drain.drained && (hub.readiness(fd) & READABLE) === 0) return this.park(hub, task);
    }
    const r = native.recv(fd, this.buffer, this.offset, this.length, MSG_DONTWAIT);
    if (r >= 0) {
      const drained = r > 0 && r < this.length && (hub.readiness(fd) & HANGUP) === 0;
      this.drain.drained = drained;
      if (drained) hub.clearReadiness(fd, READABLE);
      return { value: r, done: true };
    }
    if (r !== EAGAIN) throw errnoError(r, 'recv', { fd });
    return this.park(hub, hub.current!);
  }
}

/**
 * send(2) of a checked range, whole, parking whenever the socket is full;
 * `MSG_NOSIGNAL`, so a peer that went away is `EPIPE` and no `SIGPIPE`.
 */
class Sending extends FdOperation<void> {
  #done = 0;

  constructor(
    fd: number,
    readonly data: ArrayBufferView,
    readonly offset: number,
    readonly length: number,
  ) {
    super(fd, WRITABLE);
  }

  next(): IteratorResult<Instruction, void> {
    const hub = useHub();
    const fd = this.fd;
    if (!this.resumed()) hub.task('Stream.write()');
    while (this.#done < this.length) {
      const r = native.send(fd, this.data, this.offset + this.#done, this.length - this.#done, SEND_FLAGS);
      if (r >= 0) {
        this.#done += r;
        continue;
      }
      if (r !== EAGAIN) throw errnoError(r, 'send', { fd });
      return this.park(hub, hub.current!);
    }
    return DONE_VOID;
  }
}
