/**
 * iomodes: every Linux I/O mode as a typed API. One module per mode; this
 * file re-exports them all.
 *
 * @module iomodes
 */
export { IoError, WOULD_BLOCK } from './errors.js';
export type { ArgumentError, IoErrorContext, UseAfterCloseError, WouldBlock } from './errors.js';
export {
  O,
  open,
  close,
  dup,
  pipe,
  socketpair,
  eventfd,
  socket,
  bind,
  listen,
  accept,
  connect,
  finishConnect,
  shutdown,
  getsockname,
  getpeername,
  setsockopt,
  getsockopt,
} from './fd.js';
export type {
  EventfdOptions,
  InetAddress,
  OpenFlagString,
  OpenOptions,
  PipeOptions,
  ResolvedAddress,
  SocketAddress,
  SocketKind,
  SocketOption,
  SocketOptions,
  SocketpairOptions,
  SocketpairType,
  UnixAddress,
} from './fd.js';
export { RWF, read, write, pread, pwrite, readv, writev, preadv2, pwritev2, fsync, fdatasync } from './blocking.js';
export { MSG, setBlocking, isBlocking, tryRead, tryWrite, tryReadv, tryWritev, recv, send, tryAccept } from './nonblocking.js';
export { debugCounters, getrlimit, setrlimit } from './system.js';
export type { DebugCounters, Limit, Resource } from './system.js';

// lib/multiplex.ts
export { FD_SETSIZE, POLL, select, poll, Poller, Epoll } from './multiplex.js';
export type { SelectResult, PollEntry, PollEvent, EpollEvent, EpollOptions, EpollWaitOptions } from './multiplex.js';

// lib/signal.ts, lib/direct.ts: probes used by `iomodes doctor`; lib/async.ts: asynchronous I/O and its probes
export { realtimeSignals, SignalIo, signalIoAvailable } from './signal.js';
export type {
  RealtimeSignals,
  SignalIoCounts,
  SignalIoEnableOptions,
  SignalIoEvent,
  SignalIoMode,
  SignalIoOptions,
  SignalIoOverflow,
  SignalSpec,
} from './signal.js';
export { ioUringAvailable, aioAvailable, createAsyncIo, LinuxAio, PosixAio, Ring, ThreadpoolIo } from './async.js';
export type {
  AioProbe,
  AsyncBackend,
  AsyncIo,
  AsyncIoOptions,
  ChosenAsyncIo,
  IoUringProbe,
  LinuxAioOptions,
  OperationOptions,
  PassedOver,
  PosixAioOptions,
  ReadWriteOptions,
  RingFixedOptions,
  RingInfo,
  RingOpenOptions,
  RingOperationOptions,
  RingOptions,
  RingReadWriteOptions,
  RingRegisteredBuffers,
  RingSocketOptions,
  RingStat,
  RingVectoredOptions,
  ThreadpoolIoOptions,
  Unavailable,
  UnavailableReason,
  VectoredOptions,
} from './async.js';
export { advise, allocAligned, directIoAlignment, directIoAvailable, dropCache, fallocate, isAligned, openDirect, residency, uncachedIoAvailable } from './direct.js';
export type { Advice, DirectIoAlignment, DirectIoAlignmentOptions, DirectIoProbe, FallocateMode, FileRange, Residency } from './direct.js';
