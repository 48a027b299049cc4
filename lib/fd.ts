/**
 * fd primitives every mode needs: files, pipes, eventfds and sockets (TCP,
 * UDP and Unix domain, IPv4 and IPv6). Each function returns plain fd numbers,
 * close-on-exec by default, so they can be handed to any mode of this package
 * (or to Node's `fs`). Addresses are `{ host, port }` or `{ path }`.
 *
 * @module
 */
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import { check, errnoError, invalidArgType, invalidArgValue } from './errors.js';
import { constant, native } from './native.js';
import {
  validateBoolean,
  validateFd,
  validateInteger,
  validateOneOf,
  validateOptions,
  validatePath,
  validateString,
} from './validate.js';

/**
 * `open(2)` flags, for {@link open}. Combine with `|`.
 *
 * @example
 * ```ts
 * import { open, O } from 'iomodes';
 * const fd = open('/tmp/x', O.RDWR | O.CREAT | O.TRUNC);
 * ```
 */
export const O = Object.freeze({
  RDONLY: constant('O_RDONLY'),
  WRONLY: constant('O_WRONLY'),
  RDWR: constant('O_RDWR'),
  CREAT: constant('O_CREAT'),
  EXCL: constant('O_EXCL'),
  TRUNC: constant('O_TRUNC'),
  APPEND: constant('O_APPEND'),
  NONBLOCK: constant('O_NONBLOCK'),
  CLOEXEC: constant('O_CLOEXEC'),
  DIRECT: constant('O_DIRECT'),
  SYNC: constant('O_SYNC'),
  DSYNC: constant('O_DSYNC'),
  NOATIME: constant('O_NOATIME'),
  NOFOLLOW: constant('O_NOFOLLOW'),
  DIRECTORY: constant('O_DIRECTORY'),
  TMPFILE: constant('O_TMPFILE'),
  NOCTTY: constant('O_NOCTTY'),
  PATH: constant('O_PATH'),
  ASYNC: constant('O_ASYNC'),
});

/**
 * Node's string flags, as `fs.openSync` takes them.
 *
 * @example
 * ```ts
 * import { open, close, type OpenFlagString } from 'iomodes';
 * const flags: OpenFlagString = 'a'; // O_WRONLY | O_CREAT | O_APPEND, as fs.openSync reads 'a'
 * const fd = open('/tmp/iomodes.log', flags);
 * close(fd);
 * ```
 */
export type OpenFlagString = 'r' | 'r+' | 'rs+' | 'w' | 'wx' | 'w+' | 'wx+' | 'a' | 'ax' | 'a+' | 'ax+' | 'as' | 'as+';

const stringFlags: Record<OpenFlagString, number> = {
  r: O.RDONLY,
  'r+': O.RDWR,
  'rs+': O.RDWR | O.SYNC,
  w: O.TRUNC | O.CREAT | O.WRONLY,
  wx: O.TRUNC | O.CREAT | O.WRONLY | O.EXCL,
  'w+': O.TRUNC | O.CREAT | O.RDWR,
  'wx+': O.TRUNC | O.CREAT | O.RDWR | O.EXCL,
  a: O.APPEND | O.CREAT | O.WRONLY,
  ax: O.APPEND | O.CREAT | O.WRONLY | O.EXCL,
  'a+': O.APPEND | O.CREAT | O.RDWR,
  'ax+': O.APPEND | O.CREAT | O.RDWR | O.EXCL,
  as: O.APPEND | O.CREAT | O.WRONLY | O.SYNC,
  'as+': O.APPEND | O.CREAT | O.RDWR | O.SYNC,
};

const knownOpenFlags = Object.values(O).reduce((a, b) => a | b, 0);

/**
 * Options for {@link open}.
 *
 * @example
 * ```ts
 * import { open, close, type OpenOptions } from 'iomodes';
 * const options: OpenOptions = { mode: 0o600, cloexec: false }; // owner-only; inherited by child processes
 * const fd = open('/tmp/iomodes.secret', 'w', options);
 * close(fd);
 * ```
 */
export interface OpenOptions {
  /** Permission bits for a created file. Default `0o666` (before umask). */
  mode?: number;
  /** Add `O_CLOEXEC`, so the fd does not leak into child processes. Default `true`. */
  cloexec?: boolean;
}

function validateCloexec(options: { cloexec?: unknown } | undefined): boolean {
  validateOptions(options);
  const cloexec = options?.cloexec ?? true;
  validateBoolean(cloexec, 'options.cloexec');
  return cloexec;
}

function flag(options: Record<string, unknown> | undefined, name: string, fallback: boolean): boolean {
  const value = options?.[name] ?? fallback;
  validateBoolean(value, `options.${name}`);
  return value;
}

/**
 * `O_*` bits from `open()`'s `flags` argument: a string such as `'r+'`, or
 * a number made of `O_*` bits only.
 *
 * @internal
 * @example
 * ```ts
 * resolveOpenFlags('r'); // O_RDONLY
 * ```
 */
export function resolveOpenFlags(flags: unknown, name = 'flags'): number {
  if (typeof flags === 'string') {
    if (!Object.hasOwn(stringFlags, flags)) throw invalidArgValue(name, flags, `must be one of ${Object.keys(stringFlags).join(', ')}`);
    return stringFlags[flags as OpenFlagString];
  }
  validateInteger(flags, name, 0, 2 ** 31 - 1);
  if ((flags & ~knownOpenFlags) !== 0) throw invalidArgValue(name, flags, 'has bits that are not O_* flags');
  return flags;
}

/**
 * Opens a file with `open(2)`: `O_CLOEXEC` is added unless `cloexec: false`.
 *
 * @param path the file's path
 * @param flags Node's string flags (`'r'`, `'w+'`, …) or {@link O} bits
 * @returns the new fd
 * @throws {@link IoError} from `open` (with `path`), such as `ENOENT`
 * @example
 * ```ts
 * import { open, close, O } from 'iomodes';
 * const fd = open('/etc/hostname', 'r');
 * close(fd);
 * const direct = open('/var/tmp/data', O.RDWR | O.CREAT | O.DIRECT, { mode: 0o600 });
 * close(direct);
 * ```
 */
export function open(path: string, flags: OpenFlagString | number = 'r', options?: OpenOptions): number {
  validatePath(path);
  const bits = resolveOpenFlags(flags);
  const cloexec = validateCloexec(options);
  const mode = options?.mode ?? 0o666;
  validateInteger(mode, 'options.mode', 0, 0o7777);
  const fd = check(native.open(path, bits | (cloexec ? O.CLOEXEC : 0), mode), 'open', { path });
  if (bits & O.DIRECT) directFds.set(fd, null);
  return fd;
}

/**
 * @internal The fds {@link open} opened with `O_DIRECT`, each with its
 * alignment once lib/direct.ts looked it up (`null` before): their reads
 * and writes are checked against it before the syscall. {@link close}
 * forgets them.
 */
export const directFds = new Map<number, { memory: number; offset: number } | null>();

/**
 * @internal Called with each fd {@link close} is about to close. The
 * coroutine hub subscribes, to take its registration down first and wake the
 * tasks waiting on the fd.
 */
export const beforeClose = new Set<(fd: number) => void>();

/**
 * Closes an fd with `close(2)`. Closing it twice is an `EBADF` error, since
 * the number may by then name another file.
 *
 * An fd an iomodes object owns (an {@link Epoll}'s `fd`) is not closed here:
 * that is `EBUSY`, and the object's own `close()` is the way. Otherwise the
 * object would close the number a second time, by then perhaps another file.
 *
 * @throws {@link IoError} `EBADF` for an fd that is not open, `EBUSY` for
 *   one an iomodes object owns
 * @example
 * ```ts
 * import { pipe, close } from 'iomodes';
 * const [r, w] = pipe();
 * close(r); close(w);
 * ```
 */
export function close(fd: number): void {
  validateFd(fd);
  // Registrations come down before the fd goes (a coroutine hub's epoll
  // entry, its waiters woken with EBADF): never after, when the number may
  // already name another file.
  for (const hook of beforeClose) hook(fd);
  directFds.delete(fd);
  const r = native.close(fd);
  if (r === -osConstants.errno.EBUSY) throw errnoError(r, 'close', { fd }, 'an iomodes object (such as an Epoll) owns this fd: close that object instead');
  check(r, 'close', { fd });
}

/**
 * Duplicates an fd (`fcntl(F_DUPFD_CLOEXEC)`, or `F_DUPFD` with
 * `cloexec: false`). Both fds share one open file description: offset,
 * status flags and epoll registrations.
 *
 * @example
 * ```ts
 * import { open, dup, close } from 'iomodes';
 * const fd = open('/etc/hostname');
 * const copy = dup(fd);
 * close(fd); close(copy);
 * ```
 */
export function dup(fd: number, options?: { cloexec?: boolean }): number {
  validateFd(fd);
  const cloexec = validateCloexec(options);
  return check(native.dup(fd, cloexec ? 1 : 0), 'dup', { fd });
}

/**
 * Options for {@link pipe}.
 *
 * @example
 * ```ts
 * import { pipe, tryRead, close, type PipeOptions } from 'iomodes';
 * const options: PipeOptions = { nonblocking: true };
 * const [r, w] = pipe(options);
 * tryRead(r, Buffer.alloc(16)); // WOULD_BLOCK instead of waiting
 * close(r); close(w);
 * ```
 */
export interface PipeOptions {
  /** Open both ends `O_NONBLOCK`. Default `false`. */
  nonblocking?: boolean;
  /** Open both ends `O_CLOEXEC`. Default `true`. */
  cloexec?: boolean;
}

/**
 * Creates a pipe with `pipe2(2)`.
 *
 * @returns `[readEnd, writeEnd]`
 * @example
 * ```ts
 * import { pipe, write, read } from 'iomodes';
 * const [r, w] = pipe({ nonblocking: true });
 * write(w, Buffer.from('hi'));
 * const buf = Buffer.alloc(2);
 * read(r, buf); // 2
 * ```
 */
export function pipe(options?: PipeOptions): [readEnd: number, writeEnd: number] {
  const cloexec = validateCloexec(options);
  const nonblocking = flag(options as Record<string, unknown>, 'nonblocking', false);
  const out = new Int32Array(2);
  check(native.pipe2((cloexec ? O.CLOEXEC : 0) | (nonblocking ? O.NONBLOCK : 0), out), 'pipe2');
  return [out[0]!, out[1]!];
}

/**
 * Socket types for {@link socketpair}.
 *
 * @example
 * ```ts
 * import { socketpair, write, read, close, type SocketpairType } from 'iomodes';
 * const type: SocketpairType = 'seqpacket'; // messages keep their boundaries
 * const [a, b] = socketpair({ type });
 * write(a, Buffer.from('one')); write(a, Buffer.from('two'));
 * read(b, Buffer.alloc(64)); // 3: 'one' only
 * close(a); close(b);
 * ```
 */
export type SocketpairType = 'stream' | 'dgram' | 'seqpacket';

/**
 * Options for {@link socketpair}.
 *
 * @example
 * ```ts
 * import { socketpair, close, type SocketpairOptions } from 'iomodes';
 * const options: SocketpairOptions = { type: 'dgram', nonblocking: true };
 * const [a, b] = socketpair(options);
 * close(a); close(b);
 * ```
 */
export interface SocketpairOptions {
  /** `'stream'` (default), `'dgram'` or `'seqpacket'`. */
  type?: SocketpairType;
  /** Open both ends non-blocking. Default `false`. */
  nonblocking?: boolean;
  /** Default `true`. */
  cloexec?: boolean;
}

const socketTypes: Record<SocketpairType, string> = { stream: 'SOCK_STREAM', dgram: 'SOCK_DGRAM', seqpacket: 'SOCK_SEQPACKET' };

/**
 * `SOCK_CLOEXEC`/`SOCK_NONBLOCK` bits from socket options.
 *
 * @internal
 * @example
 * ```ts
 * socketFlags({ nonblocking: true }); // SOCK_CLOEXEC | SOCK_NONBLOCK
 * ```
 */
export function socketFlags(options: Record<string, unknown> | undefined): number {
  const cloexec = validateCloexec(options);
  const nonblocking = flag(options, 'nonblocking', false);
  return (cloexec ? constant('SOCK_CLOEXEC') : 0) | (nonblocking ? constant('SOCK_NONBLOCK') : 0);
}

/**
 * Creates a connected pair of Unix domain sockets with `socketpair(2)`.
 *
 * @returns `[a, b]`: what is written to one is read from the other
 * @example
 * ```ts
 * import { socketpair, write, read } from 'iomodes';
 * const [a, b] = socketpair({ type: 'seqpacket' });
 * write(a, Buffer.from('ping'));
 * read(b, Buffer.alloc(4)); // 4
 * ```
 */
export function socketpair(options?: SocketpairOptions): [number, number] {
  const flags = socketFlags(options as Record<string, unknown>);
  const type = options?.type ?? 'stream';
  validateOneOf(type, 'options.type', Object.keys(socketTypes) as SocketpairType[]);
  const out = new Int32Array(2);
  check(native.socketpair(constant('AF_UNIX'), constant(socketTypes[type]) | flags, 0, out), 'socketpair');
  return [out[0]!, out[1]!];
}

/**
 * Options for {@link eventfd}.
 *
 * @example
 * ```ts
 * import { eventfd, read, close, type EventfdOptions } from 'iomodes';
 * const options: EventfdOptions = { semaphore: true, nonblocking: true };
 * const efd = eventfd(3, options);
 * const value = new BigUint64Array(1);
 * read(efd, value); // 8; value[0] === 1n, and the counter is now 2
 * close(efd);
 * ```
 */
export interface EventfdOptions {
  /** `EFD_NONBLOCK`. Default `false`. */
  nonblocking?: boolean;
  /** `EFD_SEMAPHORE`: each read takes 1 instead of the whole count. Default `false`. */
  semaphore?: boolean;
  /** `EFD_CLOEXEC`. Default `true`. */
  cloexec?: boolean;
}

/**
 * Creates an eventfd (`eventfd(2)`): a 64-bit counter that is readable while
 * non-zero. Read and write it with 8-byte buffers.
 *
 * @param initval the counter's starting value (0 to 2^32-1)
 * @example
 * ```ts
 * import { eventfd, write, read } from 'iomodes';
 * const efd = eventfd(0, { nonblocking: true });
 * const one = new BigUint64Array([1n]);
 * write(efd, one);
 * read(efd, one); // 8; one[0] === 1n
 * ```
 */
export function eventfd(initval = 0, options?: EventfdOptions): number {
  validateInteger(initval, 'initval', 0, 2 ** 32 - 1);
  const cloexec = validateCloexec(options);
  const o = options as Record<string, unknown> | undefined;
  const flags =
    (cloexec ? constant('EFD_CLOEXEC') : 0) |
    (flag(o, 'nonblocking', false) ? constant('EFD_NONBLOCK') : 0) |
    (flag(o, 'semaphore', false) ? constant('EFD_SEMAPHORE') : 0);
  return check(native.eventfd(initval, flags), 'eventfd');
}

/**
 * The kinds of socket {@link socket} makes.
 *
 * @example
 * ```ts
 * import { socket, close, type SocketKind } from 'iomodes';
 * const kinds: SocketKind[] = ['tcp4', 'udp6', 'unix-dgram'];
 * for (const kind of kinds) close(socket(kind));
 * ```
 */
export type SocketKind = 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unix' | 'unix-dgram' | 'unix-seqpacket';

const socketKinds: Record<SocketKind, [family: string, type: string]> = {
  tcp4: ['AF_INET', 'SOCK_STREAM'],
  tcp6: ['AF_INET6', 'SOCK_STREAM'],
  udp4: ['AF_INET', 'SOCK_DGRAM'],
  udp6: ['AF_INET6', 'SOCK_DGRAM'],
  unix: ['AF_UNIX', 'SOCK_STREAM'],
  'unix-dgram': ['AF_UNIX', 'SOCK_DGRAM'],
  'unix-seqpacket': ['AF_UNIX', 'SOCK_SEQPACKET'],
};

/**
 * Options for {@link socket} and {@link accept}.
 *
 * @example
 * ```ts
 * import { socket, bind, listen, tryAccept, close, type SocketOptions } from 'iomodes';
 * const options: SocketOptions = { nonblocking: true };
 * const listener = socket('tcp4', options);
 * bind(listener, { host: '127.0.0.1', port: 0 });
 * listen(listener);
 * tryAccept(listener, options); // WOULD_BLOCK: no client yet (one accepted would be non-blocking too)
 * close(listener);
 * ```
 */
export interface SocketOptions {
  /** `SOCK_NONBLOCK`. Default `false`. */
  nonblocking?: boolean;
  /** `SOCK_CLOEXEC`. Default `true`. */
  cloexec?: boolean;
}

/**
 * Creates a socket with `socket(2)`.
 *
 * @param kind `'tcp4'`, `'tcp6'`, `'udp4'`, `'udp6'`, `'unix'`, `'unix-dgram'` or `'unix-seqpacket'`
 * @example
 * ```ts
 * import { socket, bind, listen, getsockname } from 'iomodes';
 * const fd = socket('tcp4', { nonblocking: true });
 * bind(fd, { host: '127.0.0.1', port: 0 });
 * listen(fd);
 * getsockname(fd); // { family: 'IPv4', host: '127.0.0.1', port: 40123 }
 * ```
 */
export function socket(kind: SocketKind, options?: SocketOptions): number {
  validateOneOf(kind, 'kind', Object.keys(socketKinds) as SocketKind[]);
  const flags = socketFlags(options as Record<string, unknown>);
  const [family, type] = socketKinds[kind];
  return check(native.socket(constant(family), constant(type) | flags, 0), 'socket');
}

/**
 * An IP address and port: `host` is a numeric IPv4 or IPv6 address.
 *
 * @example
 * ```ts
 * import { socket, bind, getsockname, close, type InetAddress } from 'iomodes';
 * const address: InetAddress = { host: '127.0.0.1', port: 0 }; // port 0: the kernel picks one
 * const fd = socket('tcp4');
 * bind(fd, address);
 * getsockname(fd); // { family: 'IPv4', host: '127.0.0.1', port: 40123 }
 * close(fd);
 * ```
 */
export interface InetAddress {
  host: string;
  port: number;
}

/**
 * A Unix domain socket path; a leading `'\0'` names an abstract socket.
 *
 * @example
 * ```ts
 * import { socket, bind, getsockname, close, type UnixAddress } from 'iomodes';
 * const address: UnixAddress = { path: '\0iomodes-demo' }; // abstract: no file to remove after
 * const fd = socket('unix');
 * bind(fd, address);
 * getsockname(fd); // { family: 'unix', path: '\0iomodes-demo' }
 * close(fd);
 * ```
 */
export interface UnixAddress {
  path: string;
}

/**
 * A socket address, as {@link bind} and {@link connect} take it.
 *
 * @example
 * ```ts
 * import { socket, bind, close, type SocketAddress } from 'iomodes';
 * const addresses: SocketAddress[] = [{ host: '127.0.0.1', port: 0 }, { path: '\0iomodes-demo' }];
 * for (const address of addresses) {
 *   const fd = socket('path' in address ? 'unix' : 'tcp4');
 *   bind(fd, address);
 *   close(fd);
 * }
 * ```
 */
export type SocketAddress = InetAddress | UnixAddress;

/**
 * A socket address, as {@link getsockname} and {@link getpeername} return it.
 *
 * @example
 * ```ts
 * import { socket, bind, getsockname, close, type ResolvedAddress } from 'iomodes';
 * const fd = socket('tcp4');
 * bind(fd, { host: '127.0.0.1', port: 0 });
 * const local: ResolvedAddress = getsockname(fd);
 * if (local.family !== 'unix') console.log(local.port); // the port the kernel picked
 * close(fd);
 * ```
 */
export type ResolvedAddress =
  | { family: 'IPv4' | 'IPv6'; host: string; port: number }
  | { family: 'unix'; path: string };

/**
 * An address as the native bindings take it, validated.
 *
 * @internal
 * @example
 * ```ts
 * encodeAddress({ host: '127.0.0.1', port: 80 }); // [AF_INET, '127.0.0.1', 80]
 * ```
 */
export function encodeAddress(address: unknown): [family: number, hostOrPath: string, port: number] {
  if (address === undefined) throw invalidArgType('address', 'of type object', address);
  validateOptions(address, 'address');
  if ('path' in address) {
    validateString(address.path, 'address.path');
    // Only an abstract name (leading NUL) may hold NULs: the kernel would
    // silently cut a pathname at the first one.
    if (!address.path.startsWith('\0') && address.path.includes('\0')) {
      throw invalidArgValue('address.path', address.path, 'must be a string without null bytes (or start with one, for an abstract name)');
    }
    return [constant('AF_UNIX'), address.path, 0];
  }
  validateString(address.host, 'address.host');
  validateInteger(address.port, 'address.port', 0, 65535);
  const version = isIP(address.host);
  // isIP accepts an IPv6 zone index ('fe80::1%eth0'), which inet_pton does not.
  if (version === 0 || address.host.includes('%')) {
    throw invalidArgValue('address.host', address.host, 'must be a numeric IPv4 or IPv6 address');
  }
  return [constant(version === 4 ? 'AF_INET' : 'AF_INET6'), address.host, address.port];
}

function decodeAddress(result: ReturnType<typeof native.getsockname>, syscall: string, fd: number): ResolvedAddress {
  if (typeof result === 'number') throw errnoError(result, syscall, { fd });
  if (result.path !== undefined) return { family: 'unix', path: result.path };
  return { family: result.family === constant('AF_INET6') ? 'IPv6' : 'IPv4', host: result.address!, port: result.port! };
}

/**
 * Binds a socket to an address with `bind(2)`. Port `0` picks a free port;
 * read it back with {@link getsockname}.
 *
 * @example
 * ```ts
 * import { socket, bind } from 'iomodes';
 * bind(socket('udp6'), { host: '::1', port: 0 });
 * bind(socket('unix'), { path: '/tmp/iomodes.sock' });
 * ```
 */
export function bind(fd: number, address: SocketAddress): void {
  validateFd(fd);
  const [family, hostOrPath, port] = encodeAddress(address);
  check(native.bind(fd, family, hostOrPath, port), 'bind', { fd });
}

/**
 * Marks a socket as listening with `listen(2)`.
 *
 * @param backlog the accept queue's length; default 511, as Node's `net` uses
 * @example
 * ```ts
 * import { socket, bind, listen } from 'iomodes';
 * const fd = socket('tcp4');
 * bind(fd, { host: '127.0.0.1', port: 0 });
 * listen(fd, 128);
 * ```
 */
export function listen(fd: number, backlog = 511): void {
  validateFd(fd);
  validateInteger(backlog, 'backlog', 0, 2 ** 31 - 1);
  check(native.listen(fd, backlog), 'listen', { fd });
}

/**
 * Accepts a connection with `accept4(2)`, blocking if the listening socket is
 * blocking. On a non-blocking socket with no pending connection it throws
 * `EAGAIN`; use {@link tryAccept} to get `WOULD_BLOCK` instead.
 *
 * @returns the connected socket's fd (peer: {@link getpeername})
 * @example
 * ```ts
 * import { accept } from 'iomodes';
 * const conn = accept(listener, { nonblocking: true });
 * ```
 */
export function accept(fd: number, options?: SocketOptions): number {
  validateFd(fd);
  const flags = socketFlags(options as Record<string, unknown>);
  return check(native.accept4(fd, flags), 'accept4', { fd });
}

/**
 * Connects a socket with `connect(2)`. On a non-blocking socket the kernel
 * answers `EINPROGRESS`: then this returns `false`, and the caller waits for
 * the socket to become writable and calls {@link finishConnect}.
 *
 * @returns `true` if connected now, `false` if the connection is in progress
 * @example
 * ```ts
 * import { socket, connect, finishConnect } from 'iomodes';
 * const fd = socket('tcp4', { nonblocking: true });
 * if (!connect(fd, { host: '127.0.0.1', port: 8080 })) {
 *   // … wait for writability (poll/epoll), then:
 *   finishConnect(fd);
 * }
 * ```
 */
export function connect(fd: number, address: SocketAddress): boolean {
  validateFd(fd);
  const [family, hostOrPath, port] = encodeAddress(address);
  const r = native.connect(fd, family, hostOrPath, port);
  if (r === -osConstants.errno.EINPROGRESS) return false;
  check(r, 'connect', { fd });
  return true;
}

/**
 * Completes a non-blocking {@link connect}: reads `SO_ERROR` and throws the
 * connection's error (`ECONNREFUSED`, …) as an {@link IoError} from
 * `connect`. Call it once the socket is writable. A socket that is not
 * connected (yet) — still in progress, or never connected — throws
 * `ENOTCONN`, so an early call cannot pass for success.
 *
 * @example
 * ```ts
 * import { finishConnect } from 'iomodes';
 * finishConnect(fd); // throws IoError ECONNREFUSED if nobody listened
 * ```
 */
export function finishConnect(fd: number): void {
  const error = getsockopt(fd, 'SO_ERROR');
  if (error !== 0) throw errnoError(-error, 'connect', { fd });
  const peer = native.getpeername(fd);
  if (typeof peer === 'number') throw errnoError(peer, 'connect', { fd });
}

/**
 * Shuts down one or both directions of a socket with `shutdown(2)`.
 *
 * @param how `'read'`, `'write'` (the peer reads EOF) or `'both'`
 * @example
 * ```ts
 * import { shutdown } from 'iomodes';
 * shutdown(fd, 'write');
 * ```
 */
export function shutdown(fd: number, how: 'read' | 'write' | 'both'): void {
  validateFd(fd);
  validateOneOf(how, 'how', ['read', 'write', 'both']);
  const value = constant(how === 'read' ? 'SHUT_RD' : how === 'write' ? 'SHUT_WR' : 'SHUT_RDWR');
  check(native.shutdown(fd, value), 'shutdown', { fd });
}

/**
 * The socket's own address (`getsockname(2)`).
 *
 * @example
 * ```ts
 * import { getsockname } from 'iomodes';
 * const { port } = getsockname(listener) as { port: number };
 * ```
 */
export function getsockname(fd: number): ResolvedAddress {
  validateFd(fd);
  return decodeAddress(native.getsockname(fd), 'getsockname', fd);
}

/**
 * The connected peer's address (`getpeername(2)`).
 *
 * @throws {@link IoError} `ENOTCONN` for an unconnected socket
 * @example
 * ```ts
 * import { getpeername } from 'iomodes';
 * getpeername(conn); // { family: 'IPv4', host: '127.0.0.1', port: 51234 }
 * ```
 */
export function getpeername(fd: number): ResolvedAddress {
  validateFd(fd);
  return decodeAddress(native.getpeername(fd), 'getpeername', fd);
}

/**
 * Integer socket options {@link setsockopt} and {@link getsockopt} know.
 *
 * @example
 * ```ts
 * import { socket, setsockopt, getsockopt, close, type SocketOption } from 'iomodes';
 * const option: SocketOption = 'TCP_NODELAY';
 * const fd = socket('tcp4');
 * setsockopt(fd, option, true);
 * getsockopt(fd, option); // 1
 * close(fd);
 * ```
 */
export type SocketOption =
  | 'SO_REUSEADDR'
  | 'SO_REUSEPORT'
  | 'SO_KEEPALIVE'
  | 'SO_BROADCAST'
  | 'SO_RCVBUF'
  | 'SO_SNDBUF'
  | 'SO_RCVLOWAT'
  | 'SO_SNDLOWAT'
  | 'SO_ERROR'
  | 'SO_TYPE'
  | 'TCP_NODELAY'
  | 'IPV6_V6ONLY';

const socketOptionLevels: Record<SocketOption, string> = {
  SO_REUSEADDR: 'SOL_SOCKET',
  SO_REUSEPORT: 'SOL_SOCKET',
  SO_KEEPALIVE: 'SOL_SOCKET',
  SO_BROADCAST: 'SOL_SOCKET',
  SO_RCVBUF: 'SOL_SOCKET',
  SO_SNDBUF: 'SOL_SOCKET',
  SO_RCVLOWAT: 'SOL_SOCKET',
  SO_SNDLOWAT: 'SOL_SOCKET',
  SO_ERROR: 'SOL_SOCKET',
  SO_TYPE: 'SOL_SOCKET',
  TCP_NODELAY: 'IPPROTO_TCP',
  IPV6_V6ONLY: 'IPPROTO_IPV6',
};
const socketOptions = Object.keys(socketOptionLevels) as SocketOption[];

/**
 * Sets an integer socket option with `setsockopt(2)`. Booleans become 0/1.
 *
 * @example
 * ```ts
 * import { socket, setsockopt } from 'iomodes';
 * const fd = socket('tcp4');
 * setsockopt(fd, 'SO_REUSEADDR', true);
 * setsockopt(fd, 'SO_RCVBUF', 1 << 20);
 * ```
 */
export function setsockopt(fd: number, option: SocketOption, value: boolean | number): void {
  validateFd(fd);
  validateOneOf(option, 'option', socketOptions);
  if (typeof value === 'boolean') value = value ? 1 : 0;
  else validateInteger(value, 'value', -(2 ** 31), 2 ** 31 - 1);
  check(native.setsockopt(fd, constant(socketOptionLevels[option]), constant(option), value), 'setsockopt', { fd });
}

/**
 * Reads an integer socket option with `getsockopt(2)`.
 *
 * @example
 * ```ts
 * import { getsockopt } from 'iomodes';
 * getsockopt(fd, 'SO_SNDBUF'); // 16384
 * ```
 */
export function getsockopt(fd: number, option: SocketOption): number {
  validateFd(fd);
  validateOneOf(option, 'option', socketOptions);
  const out = new Int32Array(1);
  check(native.getsockopt(fd, constant(socketOptionLevels[option]), constant(option), out), 'getsockopt', { fd });
  return out[0]!;
}
