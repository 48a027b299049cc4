/**
 * The only loader of the compiled addon, and its type. Every other module
 * reaches the kernel through {@link native}; nothing else touches the `.node`.
 *
 * Convention: a binding returns `r >= 0` on success and `-errno` on failure
 * (io_uring's rule), so synchronous and asynchronous results share one error
 * path ({@link errnoError}). Bindings throw only for arguments the TypeScript
 * layer should already have rejected.
 *
 * @internal
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Any byte-addressable memory a binding accepts. */
export type Bytes = ArrayBufferView | ArrayBuffer;

/** A socket address as the addon returns it. */
export interface NativeSockaddr {
  family: number;
  address?: string;
  port?: number;
  path?: string;
}

/** Typed surface of `native/*.cc`. Names are the syscalls' own. */
export interface NativeBinding {
  readonly constants: Readonly<Record<string, number>>;

  // native/fd.cc
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  dup(fd: number, cloexec: number): number;
  pipe2(flags: number, out: Int32Array): number;
  socketpair(domain: number, type: number, protocol: number, out: Int32Array): number;
  eventfd(initval: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, family: number, hostOrPath: string, port: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, flags: number): number;
  connect(fd: number, family: number, hostOrPath: string, port: number): number;
  shutdown(fd: number, how: number): number;
  getsockname(fd: number): NativeSockaddr | number;
  getpeername(fd: number): NativeSockaddr | number;
  setsockopt(fd: number, level: number, name: number, value: number): number;
  getsockopt(fd: number, level: number, name: number, out: Int32Array): number;

  // native/blocking.cc
  read(fd: number, buf: Bytes, offset: number, length: number): number;
  write(fd: number, buf: Bytes, offset: number, length: number): number;
  pread(fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
  pwrite(fd: number, buf: Bytes, offset: number, length: number, position: number | bigint): number;
  readv(fd: number, bufs: readonly Uint8Array[]): number;
  writev(fd: number, bufs: readonly Uint8Array[]): number;
  preadv2(fd: number, bufs: readonly Uint8Array[], position: number | bigint, flags: number): number;
  pwritev2(fd: number, bufs: readonly Uint8Array[], position: number | bigint, flags: number): number;
  fsync(fd: number): number;
  fdatasync(fd: number): number;

  // native/nonblocking.cc
  fcntl_getfl(fd: number): number;
  fcntl_setfl(fd: number, flags: number): number;
  recv(fd: number, buf: Bytes, offset: number, length: number, flags: number): number;
  send(fd: number, buf: Bytes, offset: number, length: number, flags: number): number;

  // native/system.cc
  getrlimit(resource: number, out: Float64Array): number;
  setrlimit(resource: number, soft: number, hard: number): number;

  // native/multiplex.cc

  // native/watcher.cc

  // native/signal.cc

  // native/async.cc

  // native/direct.cc
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = createRequire(import.meta.url)('node-gyp-build') as (dir: string) => unknown;

/** The addon, loaded once per thread (each Worker gets its own instance). */
export const native = load(root) as NativeBinding;

/** A kernel constant the addon exported; throws if the build lacks it. */
export function constant(name: string): number {
  const value = native.constants[name];
  if (value === undefined) throw new Error(`iomodes: the addon exports no constant ${name}`);
  return value;
}
