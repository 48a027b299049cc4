/**
 * A fuzz of the raw native bindings (native/*.cc), the TypeScript wrappers
 * bypassed: every binding, called with hostile values in every argument
 * position, must either return (a number, or the object it documents) or
 * throw an Error with a non-empty string `code`; the process must never die
 * by a signal, and must be healthy afterwards.
 *
 * The calls run in child processes, one per native/*.cc area, so a crash
 * names its area and the call in flight (the child writes each call's label
 * to a progress file before making it). The children import `native` from
 * the compiled dist/native.js, exactly as the package loads the addon, so
 * IOMODES_ADDON (the ASan + UBSan build in CI) and LD_PRELOAD reach them
 * through the inherited environment.
 *
 * The bindings are enumerated at run time: a function on the addon's exports
 * (or a member of an exported class: Watcher, Ring, LinuxAio, ThreadpoolIo,
 * PosixAio, SignalIo) without an entry in the
 * child's table fails the inventory test, so the next binding is fuzzed too.
 * A new native class also adds an entry to NATIVE_CLASSES in the child: its
 * receivers in every lifecycle state, and an instance the other classes'
 * members must refuse as `this`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distEntry, tmpDir } from './helpers/index.js';

/** The native/*.cc files that export bindings: one child each. */
const AREAS = ['addon', 'fd', 'blocking', 'nonblocking', 'system', 'multiplex', 'watcher', 'async', 'uring', 'aio', 'direct', 'threadpool', 'posix_aio', 'signal'];

/** The codes a binding may throw: argument errors, native classes' receiver and constructor errors. */
const ARG_CODES = ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_THIS', 'ERR_CONSTRUCT_CALL_REQUIRED'];

/** Generous: this runs on a noisy 2-core VM, and under ASan in CI. */
const CHILD_TIMEOUT = 90_000;

/**
 * The child program. Kept as one string (no backticks or dollar-brace
 * inside) so it runs as plain JavaScript in a bare Node process: String.raw
 * leaves its escapes ('\0' is a NUL in the child) for the child to read.
 */
const CHILD = String.raw`
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { types } from 'node:util';
import { Worker } from 'node:worker_threads';

const config = JSON.parse(process.argv[2]);
const { native } = await import(config.nativeUrl);
const C = native.constants;
const W = native.Watcher;
const R = native.Ring;
const A = native.LinuxAio;
const TP = native.ThreadpoolIo;
const PA = native.PosixAio;
const SIO = native.SignalIo;
const RP = R.prototype;
// Ring members through its prototype: a ring built by Reflect.construct
// with newTarget Object has no Ring.prototype to find them on.
const ringGet = (r, p) => Object.getOwnPropertyDescriptor(RP, p).get.call(r);
const ringCall = (r, m, ...a) => RP[m].call(r, ...a);
// The same for SignalIo.
const sioGet = (s, p) => Object.getOwnPropertyDescriptor(SIO.prototype, p).get.call(s);
const sioCall = (s, m, ...a) => SIO.prototype[m].call(s, ...a);
const ENOENT = os.constants.errno.ENOENT;
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('the fuzz child needs --expose-gc');

// ---------------------------------------------------------------- reporting

// The call in flight, so the parent can name it if this process dies:
// one pwrite a call, padded over the previous text (the parent trims).
const progressFd = fs.openSync(config.progressPath, 'w');
let progressLength = 0;
function progress(text) {
  const b = Buffer.from(text.padEnd(progressLength));
  progressLength = b.length;
  fs.writeSync(progressFd, b, 0, b.length, 0);
}

function attempt(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

// A short, never-throwing description of a value (getters are not run).
function show(v, depth = 0) {
  try {
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (typeof v === 'bigint') return v + 'n';
    if (typeof v === 'string') {
      return v.length > 24 ? JSON.stringify(v.slice(0, 12)) + '... (' + v.length + ' chars)' : JSON.stringify(v);
    }
    if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'symbol') return String(v);
    if (typeof v === 'function') return 'function ' + (v.name || '(anonymous)');
    if (types.isProxy(v)) return 'a Proxy';
    if (types.isArrayBuffer(v) || types.isSharedArrayBuffer(v)) {
      const max = v.resizable || v.growable ? ', max ' + v.maxByteLength : '';
      return v.constructor.name + '(' + v.byteLength + max + ')';
    }
    if (types.isArrayBufferView(v)) {
      const len = attempt(() => v.byteLength, 'out of bounds');
      const off = attempt(() => v.byteOffset, '?');
      return v.constructor.name + ' of ' + len + ' bytes at +' + off + ' of ' + show(v.buffer);
    }
    if (Array.isArray(v)) {
      if (depth > 0) return '[array]';
      const parts = [];
      for (let k = 0; k < Math.min(v.length, 4); k++) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        parts.push(!d ? '<hole>' : d.get ? '<getter>' : show(d.value, 1));
      }
      if (v.length > 4) parts.push('... ' + v.length + ' elements');
      return '[' + parts.join(', ') + ']';
    }
    if (v instanceof W) return 'a Watcher';
    if (v instanceof R) return 'a Ring';
    if (v instanceof A) return 'a LinuxAio';
    if (v instanceof TP) return 'a ThreadpoolIo';
    if (v instanceof PA) return 'a PosixAio';
    if (v instanceof SIO) return 'a SignalIo';
    return Object.prototype.toString.call(v);
  } catch {
    return '<unprintable>';
  }
}

// --------------------------------------------------------------- buffers

const PAGE = 4096;
// Template buffers are resizable and their views length-tracking, so a
// hostile getter can shrink them as well as detach them.
const rab = (n, max = 2 * n + 64) => new ArrayBuffer(n, { maxByteLength: max });
const u8 = (n) => new Uint8Array(rab(n));
function i32(...values) {
  const a = new Int32Array(rab(values.length * 4));
  a.set(values);
  return a;
}
function detach(ab) {
  try {
    structuredClone(ab, { transfer: [ab] });
  } catch {
    // already detached, or not transferable
  }
}
const detached = () => {
  const ab = new ArrayBuffer(64);
  detach(ab);
  return ab;
};
const isBytes = (v) => types.isArrayBuffer(v) || types.isArrayBufferView(v);
// The byte length a binding may touch now (0 when detached or out of bounds).
function liveLength(v) {
  return attempt(() => (isBytes(v) ? v.byteLength : -1), 0);
}
// The same memory as a DataView, to read what a binding wrote.
function dataView(v) {
  if (types.isArrayBuffer(v) || types.isSharedArrayBuffer(v)) return new DataView(v);
  return new DataView(v.buffer, v.byteOffset, v.byteLength);
}
// Takes a template argument's memory away: a resizable buffer shrinks to
// 0 bytes, any other is detached (a SharedArrayBuffer cannot be: kept).
// Reads own data properties only, so no getter runs.
function spoil(v, grow = false) {
  if (Array.isArray(v) && !types.isProxy(v)) {
    for (let k = 0; k < v.length; k++) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (d && 'value' in d) spoil(d.value, grow);
    }
    return;
  }
  const ab = types.isArrayBuffer(v) ? v : types.isArrayBufferView(v) ? v.buffer : null;
  if (!ab || types.isSharedArrayBuffer(ab)) return;
  if (ab.resizable) ab.resize(grow ? ab.maxByteLength : 0);
  else if (!grow) detach(ab);
}
function spoilOthers(c, i, grow = false) {
  c.args.forEach((v, j) => {
    if (j !== i) spoil(v, grow);
  });
  if (c.self !== undefined) spoil(c.self, grow);
  gc();
}

// The fuzz's own exceptions, thrown on purpose from getters and traps: a
// binding passes these through, and they need no code.
class GetterError extends Error {}
const boom = () => {
  throw new GetterError('thrown on purpose by the fuzz');
};

// ------------------------------------------------------------ kinds

// What each argument position is, as its native decoder sees it; the fuzz
// derives from it whether a value must be rejected.
const int = (min, max, bigint = false) => ({ t: 'int', min: BigInt(min), max: BigInt(max), bigint });
const I32 = int(-(2 ** 31), 2 ** 31 - 1);
const U32 = int(0, 2 ** 32 - 1);
const I64 = int(-(2n ** 63n), 2n ** 63n - 1n, true);
const NONNEG64 = int(0, 2n ** 63n - 1n, true);
const PORT = int(0, 65535, true);
const GEN = int(1, 2 ** 53 - 1, true);
const LIMIT_INT = int(0, 2 ** 53 - 1, true);
const TIMEOUT = { t: 'timeout' };
const LIMIT = { t: 'limit' };
const CTX = { t: 'ctx' };
const BYTES = { t: 'bytes' };
const out = (size) => ({ t: 'out', size });
const FDLIST = { t: 'fdlist' };
const IOV = { t: 'iov' };
// Bounce::PinArray's array (the async backends' readv/writev): up to
// IOV_MAX views of any kind, or ArrayBuffers.
const VIEWS = { t: 'views' };
const HOST = { t: 'host' };
const PATH = { t: 'path' };
const FN = { t: 'fn' };
// Anything: the binding takes its truthiness (ToBoolean runs no JS).
const ANY = { t: 'any' };
// Ring: the leading slot (a U32; slotCheck adds < capacity), a position
// (-1 for the fd's offset), the trailing (timeoutMs, sqeFlags) pair, and
// wait()'s timeout. timeoutMs is a number, fractions allowed: -1 or in
// [0, 2**31 - 1] (Ring#timeout's ms: [0, 2**31 - 1] only).
const SLOT = U32;
const POS = int(-1, 2n ** 63n - 1n, true);
const TMS = { t: 'timeoutMs', min: -1 };
const TMS_NONNEG = { t: 'timeoutMs', min: 0 };
const SQEF = { t: 'sqeFlags' };
// Ring#readFixed/writeFixed: a view, or null for none; the registered
// buffer's index and the offset in it. registerBuffers: the kernel's bounds.
const BYTES_OR_NULL = { t: 'bytesOrNull' };
const BUF_OFFSET = int(0, 2n ** 63n - 1n, true);
const FIXED_COUNT = int(1, C.IOMODES_RING_MAX_BUFFERS, true);
const FIXED_SIZE = int(1, C.IOMODES_RING_MAX_BUFFER_SIZE, true);
const WAIT_MS = int(0, 2 ** 31 - 1, true);
// A ThreadpoolIo's slots (the templates open TP_CAPACITY) and capacity;
// its positions are POS (-1: the current offset).
const TP_CAPACITY = 4;
const TP_SLOT = int(0, TP_CAPACITY - 1);
const CAPACITY = int(1, 65536);
// A PosixAio the templates open holds 4 slots; its positions are >= 0.
const PA_SLOT = int(0, 3);
const PA_POSITION = int(0, 2n ** 63n - 1n, true);
// A SignalIo's signal: SIGIO or SIGRTMIN..SIGRTMAX for acquire(), and 0
// (plain SIGIO) too for enable(). The templates use SIG.
const SIGNO = { t: 'signo', zero: false };
const SIGNO_0 = { t: 'signo', zero: true };
const SIG = C.SIGRTMIN;

function intOk(k, v) {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= k.min && v <= k.max;
  return k.bigint && typeof v === 'bigint' && v >= k.min && v <= k.max;
}

// Elements of an iovec array, read without running getters: false if it
// must be rejected, null if only the binding can tell (getters, Proxies).
function iovOk(v, element = types.isUint8Array) {
  if (types.isProxy(v)) return null;
  if (!Array.isArray(v)) return false;
  if (v.length > C.IOV_MAX) return false;
  for (let k = 0; k < v.length; k++) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (!d) {
      if (Object.getPrototypeOf(v) !== Array.prototype || k in Array.prototype) return null;
      return false; // a hole reads as undefined
    }
    if (d.get) return null;
    if (!element(d.value)) return false;
  }
  return true;
}

function fdListOk(v) {
  if (!types.isInt32Array(v)) return false;
  for (let k = 0; k < v.length; k++) if (v[k] < 0 || v[k] >= C.FD_SETSIZE) return false;
  return true;
}

// true: the decoder accepts it (the call may still fail); false: it must
// throw; null: cannot tell beforehand.
function verdict(k, v) {
  switch (k.t) {
    case 'int':
      return intOk(k, v);
    case 'timeout':
      return typeof v === 'number' && !Number.isNaN(v);
    case 'limit':
      return v === Infinity || intOk(LIMIT_INT, v);
    case 'ctx':
      return typeof v === 'bigint' && v >= 0n && v < 2n ** 64n;
    case 'bytes':
      return isBytes(v);
    case 'bytesOrNull':
      return v === null || isBytes(v);
    case 'out':
      return isBytes(v) && liveLength(v) >= k.size;
    case 'fdlist':
      return fdListOk(v);
    case 'iov':
      return iovOk(v);
    case 'views':
      return iovOk(v, isBytes);
    case 'host':
      return typeof v === 'string' && (!v.includes('\0') || v[0] === '\0');
    case 'path':
      return typeof v === 'string' && !v.includes('\0');
    case 'fn':
      return typeof v === 'function';
    case 'any':
      return true;
    case 'timeoutMs':
      return typeof v === 'number' && ((k.min === -1 && v === -1) || (v >= 0 && v <= 2147483647));
    case 'signo':
      return intOk(I32, v) && ((k.zero && v === 0) || v === C.SIGIO || (v >= C.SIGRTMIN && v <= C.SIGRTMAX));
    case 'sqeFlags':
      return intOk(U32, v) && (v & ~C.IOSQE_FIXED_FILE) === 0;
  }
  throw new Error('unknown kind ' + k.t);
}

// Cross-argument checks, for values each decoder accepts alone. They
// return undefined when an argument is of the wrong kind (its own verdict
// decides then).
function rangeCheck(i) {
  return (a) => {
    if (!isBytes(a[i]) || !intOk(I64, a[i + 1]) || !intOk(I64, a[i + 2])) return undefined;
    const off = BigInt(a[i + 1]);
    const n = BigInt(a[i + 2]);
    return off >= 0n && n >= 0n && off + n <= BigInt(liveLength(a[i]));
  };
}
// NULs: only an abstract Unix name's leading one (ArgSockaddr).
function sockaddrCheck(a) {
  if (!intOk(I32, a[1]) || typeof a[2] !== 'string' || !a[2].includes('\0')) return undefined;
  return a[1] === C.AF_UNIX && a[2][0] === '\0';
}
function selectCheck(a) {
  if (!fdListOk(a[0]) || !fdListOk(a[1]) || !fdListOk(a[2]) || !isBytes(a[4])) return undefined;
  return liveLength(a[4]) >= a[0].length + a[1].length + a[2].length;
}
function pollCheck(a) {
  if (!isBytes(a[0]) || !intOk(U32, a[1])) return undefined;
  if (a[1] * C.POLLFD_SIZE > liveLength(a[0])) return false;
  // struct pollfd needs 4-byte alignment; buffers themselves are aligned.
  return attempt(() => (types.isArrayBuffer(a[0]) ? 0 : a[0].byteOffset), 0) % 4 === 0;
}
// A Ring's slot must be < its capacity, once it is open (a ring never
// opened, or closed, answers -EBADF first). self: the receiver.
function slotCheck(a, self) {
  if (!intOk(U32, a[0]) || !isRealRing(self)) return undefined;
  if (attempt(() => ringGet(self, 'fd'), -1) < 0) return undefined;
  return a[0] < ringGet(self, 'capacity');
}
// Ring#readFixed/writeFixed: (offset, length) inside the view at [2], or
// offset 0 without one (null).
function fixedRangeCheck(a) {
  if (a[2] !== null) return rangeCheck(2)(a);
  if (!intOk(I64, a[3]) || !intOk(I64, a[4])) return undefined;
  return BigInt(a[3]) === 0n && BigInt(a[4]) >= 0n;
}
// ... and bufIndex [6], bufOffset [7] and length [4] inside the registered
// buffers, when the (open) ring has some; without, it answers -EFAULT.
function fixedCheck(a, self) {
  if (!intOk(U32, a[6]) || !intOk(BUF_OFFSET, a[7]) || !intOk(I64, a[4]) || !isRealRing(self)) return undefined;
  if (attempt(() => ringGet(self, 'fd'), -1) < 0) return undefined;
  const count = ringGet(self, 'bufferCount');
  if (count === 0) return true;
  const size = BigInt(ringGet(self, 'bufferSize'));
  const off = BigInt(a[7]);
  const n = BigInt(a[4]);
  return a[6] < count && off <= size && n <= size - off;
}
function isRealRing(v) {
  return attempt(() => (ringGet(v, 'capacity'), true), false);
}
// Every check must pass; false if one fails, else true or undefined.
function all(...checks) {
  return (a, self) => {
    let r = true;
    for (const check of checks) {
      const v = check(a, self);
      if (v === false) return false;
      if (v === undefined) r = undefined;
    }
    return r;
  };
}
// Ring#poll: a multishot poll takes no timeout.
function multishotCheck(a) {
  if (verdict(TMS, a[4]) !== true) return undefined;
  return !(a[3] && a[4] !== -1);
}
// Ring#open: only the setup flags a Ring allows.
const RING_SETUP_FLAGS = ['IOPOLL', 'SQPOLL', 'SQ_AFF', 'CQSIZE', 'CLAMP', 'SUBMIT_ALL', 'COOP_TASKRUN', 'TASKRUN_FLAG', 'SINGLE_ISSUER', 'DEFER_TASKRUN']
  .reduce((m, f) => m | C['IORING_SETUP_' + f], 0);
function setupFlagsCheck(a) {
  if (!intOk(U32, a[1])) return undefined;
  return (a[1] & ~RING_SETUP_FLAGS) === 0;
}
const EV = C.EPOLL_EVENT_SIZE;
// Packed on x86-64 (data at offset 4): any address; 8 elsewhere.
const EV_ALIGN = C.EPOLL_EVENT_DATA_OFFSET === 4 ? 1 : 8;
function epollWaitCheck(a) {
  if (!isBytes(a[1]) || !intOk(I32, a[2])) return undefined;
  if (a[2] <= 0 || a[2] * EV > liveLength(a[1])) return false;
  return attempt(() => (types.isArrayBuffer(a[1]) ? 0 : a[1].byteOffset), 0) % EV_ALIGN === 0;
}

// ------------------------------------------------------ per-call resources

const FILE = join(process.cwd(), 'fuzz-file');
fs.writeFileSync(FILE, Buffer.alloc(8192, 0x61));
const noop = () => {};
let serial = 0;
// Bounce buffers the fuzz's own Ring#close calls abandoned (operations in
// flight; entries marked leaks): the only growth of
// debug_counters().leakedOnTeardown the health check allows.
let leaksReported = 0;

// Cancels every live slot of a ring, reaps until each has completed (at
// most ~200 ms), closing the fds openat/accept completions returned
// (fdSlots), then closes it. Returns what close() leaked: 0 when every
// operation was confirmed done.
function retireRing(r, fdSlots) {
  if (ringGet(r, 'fd') < 0) return ringCall(r, 'close');
  const cap = ringGet(r, 'capacity');
  let live = 0;
  for (let s = 0; s < cap; s++) if (ringCall(r, 'cancel', s) !== -ENOENT) live++;
  ringCall(r, 'submit');
  const out = new Float64Array(3 * cap);
  const deadline = Date.now() + 200;
  while (live > 0) {
    const n = ringCall(r, 'reap', out);
    for (let k = 0; k < n; k++) {
      if (out[3 * k + 2] !== 0) continue; // a multishot poll goes on
      live--;
      if (out[3 * k + 1] >= 0 && fdSlots && fdSlots.has(out[3 * k])) attempt(() => fs.closeSync(out[3 * k + 1]));
    }
    if (n === 0) {
      if (Date.now() > deadline) break;
      ringCall(r, 'wait', 20);
    }
  }
  return ringCall(r, 'close');
}

// Everything one call's template opened, closed again after the call.
class Ctx {
  fds = [];
  watchers = [];
  owned = [];
  later = [];
  rings = [];
  // ring -> the slots whose completion is an fd (openat, accept).
  fdSlots = new Map();
  aios = []; // LinuxAio
  tps = []; // ThreadpoolIo
  paios = []; // PosixAio
  sios = []; // SignalIo
  ok(r, what) {
    if (typeof r !== 'number' || r < 0) throw new Error('fuzz setup: ' + what + ' gave ' + show(r));
    return r;
  }
  fd(n) {
    if (typeof n === 'number' && n >= 0) this.fds.push(n);
    return n;
  }
  forget(n) {
    this.fds = this.fds.filter((fd) => fd !== n);
  }
  pipe(data = false) {
    const a = new Int32Array(2);
    this.ok(native.pipe2(C.O_NONBLOCK | C.O_CLOEXEC, a), 'pipe2');
    this.fd(a[0]);
    this.fd(a[1]);
    if (data) fs.writeSync(a[1], 'fuzz data in the pipe');
    return [a[0], a[1]];
  }
  socketpair(data = false) {
    const a = new Int32Array(2);
    this.ok(native.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, a), 'socketpair');
    this.fd(a[0]);
    this.fd(a[1]);
    if (data) fs.writeSync(a[1], 'fuzz data in the socket');
    return [a[0], a[1]];
  }
  socket(family = C.AF_UNIX, type = C.SOCK_STREAM) {
    return this.fd(this.ok(native.socket(family, type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), 'socket'));
  }
  // A listening Unix socket on an autobound abstract name.
  listener() {
    const s = this.socket();
    this.ok(native.bind(s, C.AF_UNIX, '', 0), 'bind (autobind)');
    this.ok(native.listen(s, 64), 'listen');
    return [s, native.getsockname(s).path];
  }
  // [client, listener]: the client connected, its connection pending.
  connected() {
    const [s, path] = this.listener();
    const client = this.socket();
    this.ok(native.connect(client, C.AF_UNIX, path, 0), 'connect');
    return [client, s];
  }
  eventfd() {
    return this.fd(this.ok(native.eventfd(0, C.EFD_NONBLOCK | C.EFD_CLOEXEC), 'eventfd'));
  }
  // An epoll fd; ready: with an always-writable eventfd registered, so
  // that no timeout, however long, can make epoll_wait block.
  epoll(ready = false) {
    // epoll_create1 owns its fd: closed through fd_close_owned.
    const ep = this.ok(native.epoll_create1(C.EPOLL_CLOEXEC), 'epoll_create1');
    this.own(ep);
    if (ready) this.ok(native.epoll_ctl(ep, C.EPOLL_CTL_ADD, this.eventfd(), C.EPOLLOUT, 1), 'epoll_ctl');
    return ep;
  }
  file() {
    return this.fd(fs.openSync(FILE, 'r+'));
  }
  watcher(fd, callback = noop) {
    const w = new W(callback);
    this.watchers.push(w);
    if (fd !== undefined) this.ok(w.open(fd), 'Watcher#open');
    return w;
  }
  // A ring of 4 entries (capacity 4), open unless open is false; make
  // builds the object (a subclass, Reflect.construct).
  ring(open = true, make = () => new R()) {
    const r = make();
    this.rings.push(r);
    if (open) this.ok(ringCall(r, 'open', 4, 0, 0, 0, -1, 0), 'Ring#open');
    return r;
  }
  // An open ring with 2 registered buffers of 4096 bytes.
  fixedRing() {
    const r = this.ring();
    this.ok(ringCall(r, 'registerBuffers', 2, 4096), 'Ring#registerBuffers');
    return r;
  }
  // Records that the operation started in ring's slot completes with an fd.
  fdSlot(r, slot) {
    if (!this.fdSlots.has(r)) this.fdSlots.set(r, new Set());
    this.fdSlots.get(r).add(Number(slot));
  }
  // A read on a pipe that never gets data: in flight until cancelled.
  pipeRead(r, slot, submit = true) {
    const fd = this.pipe()[0];
    this.ok(ringCall(r, 'read', slot, fd, u8(64), 0, 16, -1, -1, 0), 'Ring#read (pipe)');
    if (submit) this.ok(ringCall(r, 'submit'), 'Ring#submit');
    return fd;
  }
  // A read of the fuzz file: completes inside submit(); with settle, the
  // completion is confirmed posted (wait() returns once one is ready).
  fileRead(r, slot, settle = true) {
    this.ok(ringCall(r, 'read', slot, this.file(), u8(64), 0, 16, 0, -1, 0), 'Ring#read (file)');
    if (settle) {
      this.ok(ringCall(r, 'submit'), 'Ring#submit');
      this.ok(ringCall(r, 'wait', 1000), 'Ring#wait');
    }
  }
  // A LinuxAio of 2 events, closed by cleanup; open = false: never opened.
  aio(open = true) {
    const a = new A();
    this.aios.push(a);
    if (open) this.ok(a.open(2), 'LinuxAio#open');
    return a;
  }
  // The child's shared, open LinuxAio (io_destroy costs an RCU grace
  // period, too slow for one context a call): every slot is withdrawn and
  // reaped after the call; made again if a call closed it; main() closes
  // it before the health checks.
  sharedAio() {
    if (sharedAio === null || attempt(() => Object.getOwnPropertyDescriptor(A.prototype, 'eventfd').get.call(sharedAio), -1) < 0) {
      sharedAio = new A();
      this.ok(sharedAio.open(4), 'LinuxAio#open');
    }
    const a = sharedAio;
    this.later.push(() => drainAio(a));
    return a;
  }
  // A ThreadpoolIo with TP_CAPACITY slots, opened unless open is false.
  tp(open = true, make = () => new TP()) {
    const x = make();
    this.tps.push(x);
    if (open) this.ok(TP.prototype.open.call(x, TP_CAPACITY), 'ThreadpoolIo#open');
    return x;
  }
  // A PosixAio: opened with 4 slots unless told otherwise; with a read
  // prepared in slot 0 (and handed to glibc) if asked.
  paio({ open = true, prepared = false, submitted = false, make = () => new PA() } = {}) {
    const a = make();
    this.paios.push(a);
    if (open) this.ok(PA.prototype.open.call(a, 4), 'PosixAio#open');
    if (prepared || submitted) this.ok(PA.prototype.read.call(a, 0, this.file(), u8(64), 0, 16, 0), 'PosixAio#read');
    if (submitted) this.ok(PA.prototype.submit.call(a), 'PosixAio#submit');
    return a;
  }
  // A SignalIo, opened unless open is false, holding signals (by default
  // SIGIO, which enable() needs for the kernel's overflow signal, and SIG).
  // enabled: one end of a socketpair enabled with SIG (t.enabled; its peer
  // t.peer); signalled: the peer written to as well, so the kernel's signal
  // has left one record in the self-pipe (the signal is aimed at this
  // thread, and delivered before the write returns).
  sio({ open = true, signals = [C.SIGIO, SIG], enabled = false, signalled = false, make = () => new SIO() } = {}) {
    const s = make();
    this.sios.push(s);
    if (!open) return s;
    this.ok(sioCall(s, 'open'), 'SignalIo#open');
    for (const signo of signals) this.ok(sioCall(s, 'acquire', signo), 'SignalIo#acquire');
    if (enabled || signalled) {
      const [a, b] = this.socketpair();
      this.ok(sioCall(s, 'enable', a, SIG), 'SignalIo#enable');
      this.enabled = a;
      this.peer = b;
      if (signalled) fs.writeSync(b, 'a signal');
    }
    return s;
  }
  own(fd) {
    const g = this.ok(native.fd_own(fd), 'fd_own');
    this.owned.push([fd, g]);
    return g;
  }
  cleanup() {
    for (const f of this.later) f();
    // Before the fds: a SignalIo restores the fds it enabled (so no fd
    // number is closed with O_ASYNC aimed at this thread).
    for (const s of this.sios) attempt(() => sioCall(s, 'close'));
    // Before the fds: a ring's operations may use them.
    for (const r of this.rings) {
      const leaked = attempt(() => retireRing(r, this.fdSlots.get(r)), 'threw');
      if (leaked !== 0) ringCleanupProblems.push(show(leaked));
    }
    for (const a of this.aios) attempt(() => A.prototype.close.call(a));
    for (const x of this.tps) attempt(() => TP.prototype.close.call(x, 2000));
    for (const a of this.paios) attempt(() => PA.prototype.close.call(a, 2000));
    for (const w of this.watchers) attempt(() => W.prototype.close.call(w));
    for (const [fd, g] of this.owned) attempt(() => native.fd_close_owned(fd, g));
    for (const fd of this.fds) attempt(() => fs.closeSync(fd));
  }
}

// What Ctx#cleanup's close() of a ring gave when not 0 (leaked buffers,
// or a throw): each operation must have been confirmed done by then.
const ringCleanupProblems = [];

// A hostile -0 closes or reuses fd 0; put /dev/null back so no later call
// reads a pipe that happens to get number 0 and blocks.
function guardStdio() {
  for (let fd = 0; fd < 3; fd++) {
    try {
      fs.fstatSync(fd);
    } catch {
      fs.openSync('/dev/null', fd === 0 ? 'r' : 'w');
    }
  }
}

function pollfds(...entries) {
  const b = u8(entries.length * C.POLLFD_SIZE);
  const dv = new DataView(b.buffer);
  entries.forEach(([fd, events], k) => {
    dv.setInt32(k * C.POLLFD_SIZE, fd, true);
    dv.setInt16(k * C.POLLFD_SIZE + 4, events, true);
  });
  return b;
}

// after(): resources a call made, closed by the call's cleanup.
const closeResult = (r, c, t) => t.fd(r);
const closeOutPair = (i) => (r, c, t) => {
  if (r !== 0) return;
  const dv = dataView(c.args[i]);
  t.fd(dv.getInt32(0, true));
  t.fd(dv.getInt32(4, true));
};

// ------------------------------------------------------------ hostile values

// Each makes a fresh value for one call; c is that call ({ self, args }),
// i the position the value goes to, so a getter can reach the others.
const HOSTILE = [];
const value = (label, v) => HOSTILE.push({ label, make: () => v });
const fresh = (label, make) => HOSTILE.push({ label, make });

for (const n of [NaN, Infinity, -Infinity, -0, 0.5, -1.5, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 1,
  2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 64, 1e300, -1e300, Number.MIN_VALUE, Number.EPSILON]) value(show(n), n);
for (const n of [0n, 1n, -1n, 2n ** 31n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 100n]) {
  value(show(n), n);
}
for (const s of ['', '0', '7', ' 1', 'a\0b', '\0', 'x'.repeat(107), 'x'.repeat(108), 'x'.repeat(5000), '\0'.repeat(108), '\0'.repeat(109),
  '\uD800', '\u00e9\u00fc\u4e2d']) value('string ' + show(s), s);
fresh('a fresh abstract Unix name', () => '\0iomodes-fuzz-' + process.pid + '-' + ++serial);
value('undefined', undefined);
value('null', null);
value('true', true);
value('a Symbol', Symbol('fuzz'));
fresh('{}', () => ({}));
fresh('Object.create(null)', () => Object.create(null));
fresh('new Number(1)', () => new Number(1));
fresh('new String("1")', () => new String('1'));
fresh('a Date', () => new Date(0));
fresh('a Promise', () => Promise.resolve(1));
fresh('() => 0', () => () => 0);
fresh('a class', () => class {});
fresh('an async function', () => async () => {});
fresh('a native function (native.close)', () => native.close);
fresh('a callable Proxy', () => new Proxy(function () {}, {}));
fresh('a revoked Proxy', () => {
  const p = Proxy.revocable({}, {});
  p.revoke();
  return p.proxy;
});
fresh('a Proxy whose every trap throws', () => new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom }));
fresh('valueOf detaches or shrinks the other arguments', (c, i) => ({ valueOf: () => (spoilOthers(c, i), 0) }));
fresh('toPrimitive grows the other arguments', (c, i) => ({ [Symbol.toPrimitive]: () => (spoilOthers(c, i, true), 1) }));
fresh('toString detaches the other arguments', (c, i) => ({ toString: () => (spoilOthers(c, i), '/tmp') }));
fresh('valueOf throws', () => ({ valueOf: boom, toString: boom }));
fresh('a fake view whose getters detach the others', (c, i) => ({
  get buffer() { spoilOthers(c, i); return new ArrayBuffer(8); },
  get byteLength() { spoilOthers(c, i); return 8; },
  byteOffset: 0,
  length: 8,
}));
fresh('Object.create(Uint8Array.prototype)', () => Object.create(Uint8Array.prototype));
fresh('a Proxy of a Uint8Array', () => new Proxy(new Uint8Array(64), {}));
fresh('a Watcher', () => new W(noop));
fresh('a Ring, never opened', () => new R());
value('the addon exports object', native);

// Buffers. Every one is fresh (a binding may write into it).
fresh('ArrayBuffer(512)', () => new ArrayBuffer(512));
fresh('ArrayBuffer(0)', () => new ArrayBuffer(0));
fresh('a detached ArrayBuffer', detached);
fresh('Uint8Array over a detached buffer', () => {
  const v = new Uint8Array(64);
  detach(v.buffer);
  return v;
});
fresh('Int32Array over a detached buffer', () => {
  const v = new Int32Array(16);
  detach(v.buffer);
  return v;
});
fresh('DataView over a detached buffer', () => {
  const v = new DataView(new ArrayBuffer(64));
  detach(v.buffer);
  return v;
});
fresh('a resizable ArrayBuffer shrunk to 3 bytes', () => {
  const b = rab(512);
  b.resize(3);
  return b;
});
fresh('length-tracking Uint8Array at +8 of a resizable buffer shrunk to 4 (out of bounds)', () => {
  const b = rab(64);
  const v = new Uint8Array(b, 8);
  b.resize(4);
  return v;
});
fresh('Uint8Array(rab, 8, 16) after the buffer shrank to 12 (out of bounds)', () => {
  const b = rab(64);
  const v = new Uint8Array(b, 8, 16);
  b.resize(12);
  return v;
});
fresh('DataView(rab, 8) after the buffer shrank to 4 (out of bounds)', () => {
  const b = rab(64);
  const v = new DataView(b, 8);
  b.resize(4);
  return v;
});
fresh('DataView(rab, 8, 16) after the buffer shrank to 12 (out of bounds)', () => {
  const b = rab(64);
  const v = new DataView(b, 8, 16);
  b.resize(12);
  return v;
});
fresh('length-tracking DataView of a resizable buffer shrunk to 0', () => {
  const b = rab(64);
  const v = new DataView(b);
  b.resize(0);
  return v;
});
fresh('length-tracking Int32Array of a resizable buffer shrunk to 6 bytes', () => {
  const b = rab(64);
  const v = new Int32Array(b);
  b.resize(6);
  return v;
});
// Pages past a shrunk resizable buffer's end are decommitted: a stale
// length that reached them would fault, not just misbehave.
fresh('DataView(rab, 2 pages, 1 page) after the buffer shrank to 0', () => {
  const b = new ArrayBuffer(4 * PAGE, { maxByteLength: 16 * PAGE });
  const v = new DataView(b, 2 * PAGE, PAGE);
  b.resize(0);
  return v;
});
fresh('Uint8Array(rab, 2 pages, 1 page) after the buffer shrank to 0', () => {
  const b = new ArrayBuffer(4 * PAGE, { maxByteLength: 16 * PAGE });
  const v = new Uint8Array(b, 2 * PAGE, PAGE);
  b.resize(0);
  return v;
});
fresh('a resizable buffer grown past its views', () => {
  const b = rab(64, 4096);
  b.resize(4096);
  return new Uint8Array(b, 0, 64);
});
fresh('SharedArrayBuffer(512)', () => new SharedArrayBuffer(512));
fresh('Uint8Array over a SharedArrayBuffer', () => new Uint8Array(new SharedArrayBuffer(512)));
fresh('Int32Array over a SharedArrayBuffer', () => new Int32Array(new SharedArrayBuffer(512)));
fresh('BigUint64Array over a SharedArrayBuffer', () => new BigUint64Array(new SharedArrayBuffer(512)));
fresh('DataView over a SharedArrayBuffer', () => new DataView(new SharedArrayBuffer(512)));
fresh('length-tracking Uint8Array of a growable SharedArrayBuffer', () => new Uint8Array(new SharedArrayBuffer(512, { maxByteLength: 4096 })));
fresh('unaligned Uint8Array (byteOffset 1)', () => new Uint8Array(new ArrayBuffer(513), 1, 512));
fresh('unaligned Uint8Array (byteOffset 2)', () => new Uint8Array(new ArrayBuffer(514), 2, 512));
fresh('unaligned DataView (byteOffset 1)', () => new DataView(new ArrayBuffer(513), 1, 512));
fresh('unaligned Uint8Array over a SharedArrayBuffer (byteOffset 3)', () => new Uint8Array(new SharedArrayBuffer(515), 3, 512));
fresh('unaligned Buffer slice', () => Buffer.alloc(520).subarray(5, 517));
fresh('Buffer from the pool', () => Buffer.from('pooled bytes, pooled bytes, pooled bytes!!'));
fresh('1 MiB Uint8Array', () => new Uint8Array(1 << 20));
fresh('a Uint8Array subclass', () => new (class Bytes extends Uint8Array {})(512));
// Every element type, small and of the sizes the templates need (16
// bytes: read's range, two pollfds; 48: epoll_wait's four events): the
// byte length a binding computes from (element count, element size) must
// be the view's own.
//
// Found by this test: Node 24 reports a Float16Array as
// napi_float16_array, which ArgBytes did not know, so it counted its
// elements as 1 byte each, half its byte length, and refused buffers that
// fit. Unknown element types are now refused instead of guessed.
const elementTypes = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array,
  Float64Array, BigInt64Array, BigUint64Array];
if (typeof globalThis.Float16Array === 'function') elementTypes.push(globalThis.Float16Array);
for (const T of elementTypes) {
  for (const n of [0, 1, 3]) fresh(T.name + '(' + n + ')', () => new T(n));
  for (const bytes of [16, 48, 512]) fresh(T.name + ' of ' + bytes + ' bytes', () => new T(bytes / T.BYTES_PER_ELEMENT));
}

// A second thread that rewrites a SharedArrayBuffer while the binding
// runs: select's fd lists flip between valid and out-of-range fds under
// it, so a binding that checked the JS memory and then read it again
// would use an fd it never checked (rule 2: copy, then check).
const RACER_SOURCE = [
  "const { workerData } = require('node:worker_threads');",
  'const { sab, ctrl, values } = workerData;',
  'const a = new Int32Array(sab);',
  'for (;;) {',
  '  Atomics.wait(ctrl, 0, 0);',
  '  if (Atomics.load(ctrl, 0) === 2) break;',
  '  Atomics.store(ctrl, 1, 1);',
  '  Atomics.notify(ctrl, 1);',
  '  for (let k = 0; Atomics.load(ctrl, 0) === 1; k++) a.fill(values[k % values.length]);',
  '  Atomics.store(ctrl, 1, 0);',
  '  Atomics.notify(ctrl, 1);',
  '}',
].join('\n');
let racer = null;
// Started before the fd count is taken: the thread's own fds are not leaks.
async function startRacer() {
  const sab = new SharedArrayBuffer(256);
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const values = [0, C.FD_SETSIZE, -1, 2 ** 31 - 1, C.FD_SETSIZE - 1, -(2 ** 31)];
  const worker = new Worker(RACER_SOURCE, { eval: true, workerData: { sab, ctrl, values } });
  await new Promise((resolve) => worker.once('online', resolve));
  worker.unref();
  racer = { sab, ctrl, worker };
}
function racing(t, make) {
  const { ctrl } = racer;
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
  Atomics.wait(ctrl, 1, 0, 5000); // until it is writing
  t.later.push(() => {
    Atomics.store(ctrl, 0, 0);
    while (Atomics.load(ctrl, 1) === 1) Atomics.wait(ctrl, 1, 1, 100);
  });
  return make(racer.sab);
}
async function stopRacer() {
  if (racer === null) return;
  Atomics.store(racer.ctrl, 0, 2);
  Atomics.notify(racer.ctrl, 0);
  racer.worker.ref(); // or the loop, idle, would not wait for its exit
  await new Promise((resolve) => racer.worker.once('exit', resolve));
  racer = null;
}
HOSTILE.push(
  { label: 'Int32Array(1) another thread keeps rewriting', only: ['fdlist'], racy: true, make: (c) => racing(c.t, (b) => new Int32Array(b, 0, 1)) },
  { label: 'Uint8Array(64) another thread keeps rewriting', only: ['bytes'], racy: true, make: (c) => racing(c.t, (b) => new Uint8Array(b, 64, 64)) },
  { label: '[Uint8Array another thread keeps rewriting]', only: ['iov', 'views'], racy: true, make: (c) => racing(c.t, (b) => [new Uint8Array(b, 128, 64)]) },
);

// Arrays (for the iovec positions, and as junk everywhere else). Getters
// run while the binding collects the elements: they detach or shrink an
// earlier element's buffer and collect garbage, so a pointer taken too
// early points at freed memory.
const arrayWith = (elements, accessors) => {
  const a = [...elements];
  for (const [k, get] of Object.entries(accessors)) {
    Object.defineProperty(a, k, { get, enumerable: true, configurable: true });
  }
  return a;
};
value('[]', []);
fresh('[1, 2, 3]', () => [1, 2, 3]);
fresh('[Uint8Array(8), Uint8Array(8)]', () => [new Uint8Array(8), new Uint8Array(8)]);
fresh('the same view twice', () => {
  const v = new Uint8Array(16);
  return [v, v];
});
fresh('two views overlapping one buffer', () => {
  const b = new ArrayBuffer(16);
  return [new Uint8Array(b, 0, 12), new Uint8Array(b, 4, 12)];
});
fresh('[Uint8Array over a SharedArrayBuffer]', () => [new Uint8Array(new SharedArrayBuffer(16))]);
fresh('[Uint8Array over a detached buffer, Uint8Array(8)]', () => {
  const v = new Uint8Array(64);
  detach(v.buffer);
  return [v, new Uint8Array(8)];
});
fresh('[out-of-bounds view of a shrunk resizable buffer]', () => {
  const b = rab(64);
  const v = new Uint8Array(b, 32, 16);
  b.resize(8);
  return [v];
});
fresh('[unaligned Uint8Array]', () => [new Uint8Array(new ArrayBuffer(17), 1, 16)]);
fresh('[Uint8ClampedArray]', () => [new Uint8ClampedArray(8)]);
fresh('[Int8Array]', () => [new Int8Array(8)]);
fresh('[DataView]', () => [new DataView(new ArrayBuffer(8))]);
fresh('[ArrayBuffer]', () => [new ArrayBuffer(8)]);
fresh('[Buffer]', () => [Buffer.alloc(8)]);
fresh('[null]', () => [null]);
fresh('sparse [, Uint8Array]', () => [, new Uint8Array(8)]); // eslint-disable-line no-sparse-arrays
fresh('new Array(3)', () => new Array(3));
fresh('IOV_MAX views of 1 byte', () => new Array(C.IOV_MAX).fill(new Uint8Array(1)));
fresh('IOV_MAX + 1 views', () => new Array(C.IOV_MAX + 1).fill(new Uint8Array(1)));
fresh('2**20 holes', () => {
  const a = [];
  a[2 ** 20 - 1] = 0; // dictionary elements: cheap to make, unlike new Array(2 ** 20)
  delete a[2 ** 20 - 1];
  return a;
});
fresh('getter at [1] detaches [0], then gc()', (c, i) => {
  const first = new Uint8Array(4096);
  return arrayWith([first], {
    1: () => {
      detach(first.buffer);
      spoilOthers(c, i);
      gc();
      return new Uint8Array(8);
    },
  });
});
fresh('getter at [1] shrinks [0] (length-tracking) to 0, then gc()', (c, i) => {
  const first = u8(4096);
  return arrayWith([first], {
    1: () => {
      first.buffer.resize(0);
      spoilOthers(c, i);
      gc();
      return new Uint8Array(8);
    },
  });
});
fresh('getter at [1] puts [0] (fixed view at +2048) out of bounds, then gc()', (c, i) => {
  const b = rab(4096);
  const first = new Uint8Array(b, 2048, 2048);
  return arrayWith([first], {
    1: () => {
      b.resize(16);
      gc();
      return new Uint8Array(8);
    },
  });
});
fresh('getter at [1] grows [0]', () => {
  const first = u8(16);
  return arrayWith([first], {
    1: () => {
      first.buffer.resize(first.buffer.maxByteLength);
      return new Uint8Array(8);
    },
  });
});
fresh('getter at [2] detaches [0] and [1], then gc()', () => {
  const a = new Uint8Array(1024);
  const b = new Uint8Array(1024);
  return arrayWith([a, b], {
    2: () => {
      detach(a.buffer);
      detach(b.buffer);
      gc();
      return new Uint8Array(8);
    },
  });
});
fresh('getter at [1] detaches [0] and returns a view of the moved memory', () => {
  const first = new Uint8Array(4096);
  return arrayWith([first], {
    1: () => {
      const moved = structuredClone(first.buffer, { transfer: [first.buffer] });
      gc();
      return new Uint8Array(moved);
    },
  });
});
fresh('getter at [0] empties the array', () => {
  const a = arrayWith([new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)], {
    0: () => {
      a.length = 0;
      gc();
      return new Uint8Array(8);
    },
  });
  return a;
});
fresh('getter at [0] grows the array to 4096 elements', () => {
  const a = arrayWith([new Uint8Array(8), new Uint8Array(8)], {
    0: () => {
      for (let k = 0; k < 4096; k++) a.push(new Uint8Array(1));
      return new Uint8Array(8);
    },
  });
  return a;
});
fresh('getter throws', () => arrayWith([new Uint8Array(8)], { 1: boom }));
fresh('hole filled by a prototype getter that detaches [0]', () => {
  const first = new Uint8Array(1024);
  const a = [first, , new Uint8Array(8)]; // eslint-disable-line no-sparse-arrays
  const proto = Object.create(Array.prototype, {
    1: {
      get() {
        detach(first.buffer);
        gc();
        return new Uint8Array(8);
      },
    },
  });
  Object.setPrototypeOf(a, proto);
  return a;
});
fresh('a Proxy of an array whose get trap detaches [0]', () => {
  const first = new Uint8Array(1024);
  return new Proxy([first, new Uint8Array(8)], {
    get(target, key, receiver) {
      if (key === '1') {
        detach(first.buffer);
        gc();
      }
      return Reflect.get(target, key, receiver);
    },
  });
});
fresh('a Proxy of an array whose traps throw', () => new Proxy([new Uint8Array(8)], { get: boom, getOwnPropertyDescriptor: boom, has: boom }));
fresh('an Array subclass', () => {
  class Views extends Array {}
  return Views.from([new Uint8Array(8), new Uint8Array(8)]);
});
fresh('a frozen array', () => Object.freeze([new Uint8Array(8)]));

// A sample of the above, for bindings too slow to take every value in
// every extra position.
const FEW = ['NaN', '-0', '1n', 'string ' + show('a\0b'), 'null', '{}', 'a detached ArrayBuffer', 'getter at [1] detaches [0], then gc()'];

// ------------------------------------------------------------ the table

// Every binding: its area (native file), the kind of each argument, a
// template of valid arguments (fresh fds per call), what it returns, and
// what to close after it. A binding missing here fails the inventory test.
const STREAM_NB = C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC;
// The current RLIMIT_MEMLOCK limits. A hostile -0 resource makes them
// RLIMIT_CPU's (seconds): one too small to be harmless is replaced by
// Infinity (the call may then fail with EINVAL or EPERM, which is fine).
const MEMLOCK = (() => {
  const lim = new Float64Array(2);
  if (native.getrlimit(C.RLIMIT_MEMLOCK, lim) !== 0) return [Infinity, Infinity];
  return [...lim].map((v) => (v >= 3600 ? v : Infinity));
})();

const TABLE = {
  debug_counters: { area: 'addon', kinds: [], make: () => [], returns: 'object' },
  debug_leak_check: { area: 'addon', kinds: [], make: () => [] },

  open: { area: 'fd', kinds: [PATH, I32, U32], make: () => [FILE, C.O_RDONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0], after: closeResult },
  close: { area: 'fd', kinds: [I32], make: (t) => [t.pipe()[0]] },
  fd_own: {
    area: 'fd',
    kinds: [I32],
    make: (t) => [t.pipe()[0]],
    after: (r, c, t) => {
      if (r > 0) t.owned.push([Number(c.args[0]), r]);
    },
  },
  fd_close_owned: {
    area: 'fd',
    kinds: [I32, GEN],
    make: (t) => {
      const [r] = t.pipe();
      return [r, t.own(r)];
    },
  },
  dup: { area: 'fd', kinds: [I32, I32], make: (t) => [t.pipe()[0], 1], after: closeResult },
  pipe2: { area: 'fd', kinds: [I32, out(8)], make: () => [C.O_NONBLOCK | C.O_CLOEXEC, i32(-1, -1)], after: closeOutPair(1) },
  socketpair: { area: 'fd', kinds: [I32, I32, I32, out(8)], make: () => [C.AF_UNIX, STREAM_NB, 0, i32(-1, -1)], after: closeOutPair(3) },
  eventfd: { area: 'fd', kinds: [U32, I32], make: () => [0, C.EFD_NONBLOCK | C.EFD_CLOEXEC], after: closeResult },
  socket: { area: 'fd', kinds: [I32, I32, I32], make: () => [C.AF_UNIX, STREAM_NB, 0], after: closeResult },
  // A relative Unix path: bound in this process's cwd, a temp dir.
  bind: {
    area: 'fd',
    kinds: [I32, I32, HOST, PORT],
    variants: {
      unix: (t) => [t.socket(), C.AF_UNIX, 'bound-' + ++serial + '.sock', 0],
      inet: (t) => [t.socket(C.AF_INET, C.SOCK_DGRAM), C.AF_INET, '127.0.0.1', 0],
    },
    check: sockaddrCheck,
  },
  listen: {
    area: 'fd',
    kinds: [I32, I32],
    make: (t) => {
      const s = t.socket();
      t.ok(native.bind(s, C.AF_UNIX, '', 0), 'bind (autobind)');
      return [s, 8];
    },
  },
  accept4: { area: 'fd', kinds: [I32, I32], make: (t) => [t.connected()[1], C.SOCK_NONBLOCK | C.SOCK_CLOEXEC], after: closeResult },
  // UDP for inet: connect() then only records the peer, sends nothing.
  connect: {
    area: 'fd',
    kinds: [I32, I32, HOST, PORT],
    variants: {
      unix: (t) => [t.socket(), C.AF_UNIX, t.listener()[1], 0],
      inet: (t) => [t.socket(C.AF_INET, C.SOCK_DGRAM), C.AF_INET, '127.0.0.1', 9],
    },
    check: sockaddrCheck,
  },
  shutdown: { area: 'fd', kinds: [I32, I32], make: (t) => [t.socketpair()[0], C.SHUT_RDWR] },
  getsockname: { area: 'fd', kinds: [I32], make: (t) => [t.connected()[1]], returns: 'int|sockaddr' },
  getpeername: { area: 'fd', kinds: [I32], make: (t) => [t.connected()[0]], returns: 'int|sockaddr' },
  setsockopt: { area: 'fd', kinds: [I32, I32, I32, I32], make: (t) => [t.socketpair()[0], C.SOL_SOCKET, C.SO_SNDBUF, 65536] },
  getsockopt: { area: 'fd', kinds: [I32, I32, I32, out(4)], make: (t) => [t.socketpair()[0], C.SOL_SOCKET, C.SO_TYPE, i32(0)] },

  read: { area: 'blocking', kinds: [I32, BYTES, I64, I64], make: (t) => [t.pipe(true)[0], u8(64), 0, 16], check: rangeCheck(1) },
  write: { area: 'blocking', kinds: [I32, BYTES, I64, I64], make: (t) => [t.pipe()[1], u8(64), 0, 16], check: rangeCheck(1) },
  pread: { area: 'blocking', kinds: [I32, BYTES, I64, I64, I64], make: (t) => [t.file(), u8(64), 0, 16, 0], check: rangeCheck(1) },
  pwrite: { area: 'blocking', kinds: [I32, BYTES, I64, I64, I64], make: (t) => [t.file(), u8(64), 0, 16, 0], check: rangeCheck(1) },
  readv: { area: 'blocking', kinds: [I32, IOV], make: (t) => [t.pipe(true)[0], [u8(8), u8(8)]] },
  writev: { area: 'blocking', kinds: [I32, IOV], make: (t) => [t.pipe()[1], [u8(8), u8(8)]] },
  preadv2: { area: 'blocking', kinds: [I32, IOV, I64, I32], make: (t) => [t.file(), [u8(8), u8(8)], 0, 0] },
  pwritev2: { area: 'blocking', kinds: [I32, IOV, I64, I32], make: (t) => [t.file(), [u8(8), u8(8)], 0, 0] },
  fsync: { area: 'blocking', kinds: [I32], make: (t) => [t.file()] },
  fdatasync: { area: 'blocking', kinds: [I32], make: (t) => [t.file()] },

  fcntl_getfl: { area: 'nonblocking', kinds: [I32], make: (t) => [t.pipe()[0]] },
  fcntl_setfl: { area: 'nonblocking', kinds: [I32, I32], make: (t) => [t.pipe()[0], C.O_NONBLOCK] },
  recv: { area: 'nonblocking', kinds: [I32, BYTES, I64, I64, I32], make: (t) => [t.socketpair(true)[0], u8(64), 0, 16, C.MSG_DONTWAIT], check: rangeCheck(1) },
  send: {
    area: 'nonblocking',
    kinds: [I32, BYTES, I64, I64, I32],
    make: (t) => [t.socketpair()[0], u8(64), 0, 16, C.MSG_DONTWAIT | C.MSG_NOSIGNAL],
    check: rangeCheck(1),
  },

  getrlimit: { area: 'system', kinds: [I32, out(16)], make: () => [C.RLIMIT_NOFILE, new Float64Array(rab(16))] },
  // The current RLIMIT_MEMLOCK values: setting them changes nothing, and a
  // hostile -0 resource (RLIMIT_CPU) gets limits that cannot hurt.
  setrlimit: { area: 'system', kinds: [I32, LIMIT, LIMIT], make: () => [C.RLIMIT_MEMLOCK, MEMLOCK[0], MEMLOCK[1]] },

  // Every multiplexing template holds a ready fd (a pipe's write end, an
  // always-writable eventfd), so that no timeout a hostile value leaves
  // behind (Infinity, -1, 1e300) can block: the fuzz never hangs.
  select: {
    area: 'multiplex',
    kinds: [FDLIST, FDLIST, FDLIST, TIMEOUT, BYTES],
    make: (t) => {
      const [r, w] = t.pipe();
      return [i32(r), i32(w), i32(), 0, u8(2)];
    },
    check: selectCheck,
  },
  poll: {
    area: 'multiplex',
    kinds: [BYTES, U32, TIMEOUT],
    make: (t) => {
      const [r, w] = t.pipe();
      return [pollfds([w, C.POLLOUT], [r, C.POLLIN]), 2, 0];
    },
    check: pollCheck,
  },
  epoll_create1: {
    area: 'multiplex',
    kinds: [I32],
    make: () => [C.EPOLL_CLOEXEC],
    after: (r, c, t) => {
      if (r >= 0) t.own(r);
    },
  },
  epoll_ctl: { area: 'multiplex', kinds: [I32, I32, I32, U32, I64], make: (t) => [t.epoll(), C.EPOLL_CTL_ADD, t.eventfd(), C.EPOLLIN, 1] },
  epoll_wait: { area: 'multiplex', kinds: [I32, BYTES, I32, TIMEOUT], make: (t) => [t.epoll(true), u8(4 * EV), 4, 0], check: epollWaitCheck },

  Watcher: {
    area: 'watcher',
    kinds: [FN],
    make: () => [noop],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.watchers.push(r);
    },
  },
  'Watcher#open': { area: 'watcher', kinds: [I32], self: (t) => t.watcher(), make: (t) => [t.pipe()[0]] },
  'Watcher#start': { area: 'watcher', kinds: [U32], self: (t) => t.watcher(t.pipe()[0]), make: () => [C.UV_READABLE] },
  'Watcher#stop': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [] },
  'Watcher#ref': { area: 'watcher', kinds: [], self: (t) => t.watcher(t.pipe()[0]), make: () => [] },
  'Watcher#unref': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [] },
  'Watcher#hasRef': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [], returns: 'bool' },
  'Watcher#close': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [] },
  'Watcher#fd': { area: 'watcher', kinds: [], self: (t) => t.watcher(t.pipe()[0]), make: () => [], getter: true, returns: 'fd' },
  'Watcher#active': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [], getter: true, returns: 'bool' },
  'Watcher#closed': { area: 'watcher', kinds: [], self: (t) => started(t), make: () => [], getter: true, returns: 'bool' },

  io_uring_setup: { area: 'async', kinds: [U32, out(C.sizeof_io_uring_params)], make: () => [2, u8(C.sizeof_io_uring_params)], after: closeResult },
  // io_destroy waits for an RCU grace period (~30 ms here): the contexts
  // io_setup makes are left to the child's exit, which frees them at once,
  // and io_destroy's receiver and extra-argument cases are few.
  io_setup: { area: 'async', kinds: [U32, out(8)], make: () => [1, new BigUint64Array(rab(8))] },
  io_destroy: {
    area: 'async',
    kinds: [CTX],
    make: () => [liveAioContext()],
    after: (r, c) => {
      if (r === 0 && c.args[0] === aioContext) aioContext = null;
    },
    few: true,
  },

  statx: { area: 'direct', kinds: [I32, PATH, I32, U32, out(C.sizeof_statx)], make: () => [C.AT_FDCWD, FILE, 0, C.STATX_BASIC_STATS, u8(C.sizeof_statx)] },
  statfs: { area: 'direct', kinds: [PATH], make: () => [FILE] },
  fstatfs: { area: 'direct', kinds: [I32], make: (t) => [t.file()] },
  // ENOTTY on a file; BLKSSZGET writes one int, never more.
  ioctl_blksszget: { area: 'direct', kinds: [I32], make: (t) => [t.file()] },
  // alignment: a power of two up to 2**30, else a RangeError.
  address_mod: { area: 'direct', kinds: [BYTES, U32], make: () => [u8(64), 4096], check: (a) => (intOk(U32, a[1]) ? a[1] >= 1 && a[1] <= 2 ** 30 && (a[1] & (a[1] - 1)) === 0 : undefined) },
  // The range is clamped to the file's size: a hostile length maps nothing more.
  mincore: { area: 'direct', kinds: [I32, NONNEG64, NONNEG64], make: (t) => [t.file(), 0, 4096] },
  posix_fadvise: { area: 'direct', kinds: [I32, I64, I64, I32], make: (t) => [t.file(), 0, 4096, C.POSIX_FADV_NORMAL] },
  // On a read-only fd (EBADF whatever the mode and range), so no hostile
  // length can allocate real disk space.
  fallocate: { area: 'direct', kinds: [I32, I32, I64, I64], make: (t) => [t.fd(fs.openSync(FILE, 'r')), 0, 0, 4096] },

  // Each Ring case gets a fresh ring of capacity 4 (t.ring()); operations
  // are only prepared, and Ctx#cleanup cancels, submits and reaps them
  // before closing the ring. The slot is 0 unless the case puts another.
  Ring: {
    area: 'uring',
    kinds: [],
    make: () => [],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.rings.push(r);
    },
  },
  'Ring#open': { area: 'uring', kinds: [U32, U32, U32, U32, I32, U32], self: (t) => t.ring(false), make: () => [4, 0, 0, 0, -1, 0], check: setupFlagsCheck },
  'Ring#read': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES, I64, I64, POS, TMS, SQEF],
    self: (t) => t.ring(),
    variants: {
      file: (t) => [0, t.file(), u8(64), 0, 16, 0, -1, 0],
      'pipe, with a timeout': (t) => [0, t.pipe()[0], u8(64), 0, 16, -1, 1000, 0],
    },
    check: all(slotCheck, rangeCheck(2)),
  },
  'Ring#write': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES, I64, I64, POS, TMS, SQEF],
    self: (t) => t.ring(),
    make: (t) => [0, t.pipe()[1], u8(64), 0, 16, -1, -1, 0],
    check: all(slotCheck, rangeCheck(2)),
  },
  'Ring#readv': { area: 'uring', kinds: [SLOT, I32, VIEWS, POS, TMS, SQEF], self: (t) => t.ring(), make: (t) => [0, t.file(), [u8(8), u8(8)], 0, -1, 0], check: slotCheck },
  'Ring#writev': { area: 'uring', kinds: [SLOT, I32, VIEWS, POS, TMS, SQEF], self: (t) => t.ring(), make: (t) => [0, t.pipe()[1], [u8(8), u8(8)], -1, -1, 0], check: slotCheck },
  'Ring#recv': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES, I64, I64, U32, TMS, SQEF],
    self: (t) => t.ring(),
    make: (t) => [0, t.socketpair(true)[0], u8(64), 0, 16, 0, -1, 0],
    check: all(slotCheck, rangeCheck(2)),
  },
  'Ring#send': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES, I64, I64, U32, TMS, SQEF],
    self: (t) => t.ring(),
    make: (t) => [0, t.socketpair()[0], u8(64), 0, 16, C.MSG_NOSIGNAL, -1, 0],
    check: all(slotCheck, rangeCheck(2)),
  },
  'Ring#fsync': { area: 'uring', kinds: [SLOT, I32, ANY, TMS, SQEF], self: (t) => t.ring(), make: (t) => [0, t.file(), false, -1, 0], check: slotCheck },
  'Ring#openat': {
    area: 'uring',
    kinds: [SLOT, I32, PATH, I32, U32, TMS, SQEF],
    self: (t) => t.ring(),
    make: () => [0, C.AT_FDCWD, FILE, C.O_RDONLY | C.O_CLOEXEC, 0, -1, 0],
    check: slotCheck,
    after: (r, c, t) => {
      if (r === 0) t.fdSlot(c.self, c.args[0]);
    },
  },
  // A fixed file's index is the fd: never negative.
  'Ring#closeFd': {
    area: 'uring',
    kinds: [SLOT, I32, TMS, SQEF],
    self: (t) => t.ring(),
    make: (t) => [0, t.pipe()[0], -1, 0],
    check: all(slotCheck, (a) => (intOk(I32, a[1]) && verdict(SQEF, a[3]) ? !(a[3] & C.IOSQE_FIXED_FILE && a[1] < 0) : undefined)),
  },
  'Ring#statx': {
    area: 'uring',
    kinds: [SLOT, I32, PATH, I32, U32, out(C.sizeof_statx), TMS, SQEF],
    self: (t) => t.ring(),
    make: () => [0, C.AT_FDCWD, FILE, 0, C.STATX_BASIC_STATS, u8(C.sizeof_statx), -1, 0],
    check: slotCheck,
  },
  'Ring#accept': {
    area: 'uring',
    kinds: [SLOT, I32, I32, TMS, SQEF],
    self: (t) => t.ring(),
    make: (t) => [0, t.connected()[1], C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, -1, 0],
    check: slotCheck,
    after: (r, c, t) => {
      if (r === 0) t.fdSlot(c.self, c.args[0]);
    },
  },
  // (slot, fd, family, host, port, timeoutMs, sqeFlags): sockaddrCheck
  // reads (family, host) at [1], [2]: shifted by the slot and fd.
  'Ring#connect': {
    area: 'uring',
    kinds: [SLOT, I32, I32, HOST, PORT, TMS, SQEF],
    self: (t) => t.ring(),
    variants: {
      unix: (t) => [0, t.socket(), C.AF_UNIX, t.listener()[1], 0, -1, 0],
      inet: (t) => [0, t.socket(C.AF_INET, C.SOCK_DGRAM), C.AF_INET, '127.0.0.1', 9, -1, 0],
    },
    check: all(slotCheck, (a) => sockaddrCheck(a.slice(1))),
  },
  'Ring#poll': {
    area: 'uring',
    kinds: [SLOT, I32, U32, ANY, TMS, SQEF],
    self: (t) => t.ring(),
    variants: {
      oneshot: (t) => [0, t.pipe()[0], C.POLLIN, false, -1, 0],
      multishot: (t) => [0, t.pipe()[1], C.POLLOUT, true, -1, 0],
    },
    check: all(slotCheck, multishotCheck),
  },
  'Ring#timeout': { area: 'uring', kinds: [SLOT, TMS_NONNEG, SQEF], self: (t) => t.ring(), make: () => [0, 1, 0], check: slotCheck },
  'Ring#cancelFd': {
    area: 'uring',
    kinds: [SLOT, I32, SQEF],
    // self is made first: a ring reading the pipe whose fd make() names.
    self: (t) => {
      const r = t.ring();
      t.reading = t.pipeRead(r, 1);
      return r;
    },
    make: (t) => [0, t.reading, 0],
    check: slotCheck,
  },
  // Out of range is -ENOENT here, not a RangeError: a plain U32.
  'Ring#cancel': {
    area: 'uring',
    kinds: [U32],
    self: (t) => {
      const r = t.ring();
      t.pipeRead(r, 0);
      return r;
    },
    make: () => [0],
  },
  'Ring#submit': {
    area: 'uring',
    kinds: [],
    self: (t) => {
      const r = t.ring();
      t.fileRead(r, 0, false);
      return r;
    },
    make: () => [],
  },
  'Ring#reap': {
    area: 'uring',
    kinds: [BYTES],
    self: (t) => {
      const r = t.ring();
      t.fileRead(r, 0);
      return r;
    },
    make: () => [new Float64Array(rab(4 * 3 * 8))],
  },
  // A completion is posted before the call, so no timeout, however long,
  // blocks (as epoll_wait's templates hold a ready fd).
  'Ring#wait': {
    area: 'uring',
    kinds: [WAIT_MS],
    self: (t) => {
      const r = t.ring();
      t.fileRead(r, 0);
      return r;
    },
    make: () => [0],
  },
  'Ring#registerFiles': { area: 'uring', kinds: [BYTES], self: (t) => t.ring(), make: (t) => [i32(...t.pipe())] },
  'Ring#unregisterFiles': {
    area: 'uring',
    kinds: [],
    self: (t) => {
      const r = t.ring();
      t.ok(ringCall(r, 'registerFiles', i32(...t.pipe())), 'Ring#registerFiles');
      return r;
    },
    make: () => [],
  },
  // Fixed reads and writes on a ring with 2 registered buffers of 4096
  // bytes: (slot, fd, view | null, offset, length, position, bufIndex,
  // bufOffset, timeoutMs, sqeFlags).
  'Ring#readFixed': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES_OR_NULL, I64, I64, POS, U32, BUF_OFFSET, TMS, SQEF],
    self: (t) => t.fixedRing(),
    variants: {
      file: (t) => [0, t.file(), u8(64), 0, 16, 0, 1, 100, -1, 0],
      'pipe, no view, with a timeout': (t) => [0, t.pipe()[0], null, 0, 16, -1, 0, 0, 1000, 0],
    },
    check: all(slotCheck, fixedRangeCheck, fixedCheck),
  },
  'Ring#writeFixed': {
    area: 'uring',
    kinds: [SLOT, I32, BYTES_OR_NULL, I64, I64, POS, U32, BUF_OFFSET, TMS, SQEF],
    self: (t) => t.fixedRing(),
    variants: {
      pipe: (t) => [0, t.pipe()[1], u8(64), 0, 16, -1, 1, 100, -1, 0],
      'pipe, no view': (t) => [0, t.pipe()[1], null, 0, 16, -1, 0, 4080, -1, 0],
    },
    check: all(slotCheck, fixedRangeCheck, fixedCheck),
  },
  'Ring#registerBuffers': { area: 'uring', kinds: [FIXED_COUNT, FIXED_SIZE], self: (t) => t.ring(), make: () => [2, 4096] },
  'Ring#unregisterBuffers': { area: 'uring', kinds: [], self: (t) => t.fixedRing(), make: () => [] },
  'Ring#bufferCount': { area: 'uring', kinds: [], self: (t) => t.fixedRing(), make: () => [], getter: true },
  'Ring#bufferSize': { area: 'uring', kinds: [], self: (t) => t.fixedRing(), make: () => [], getter: true },
  'Ring#close': {
    area: 'uring',
    kinds: [],
    self: (t) => t.ring(),
    make: () => [],
    // Abandons the buffers of operations in flight: counted by runCase.
    leaks: true,
  },
  'Ring#eventfd': { area: 'uring', kinds: [], self: (t) => t.ring(), make: () => [], getter: true, returns: 'fd' },
  'Ring#fd': { area: 'uring', kinds: [], self: (t) => t.ring(), make: () => [], getter: true, returns: 'fd' },
  'Ring#capacity': { area: 'uring', kinds: [], self: (t) => t.ring(), make: () => [], getter: true },
  'Ring#info': { area: 'uring', kinds: [], self: (t) => t.ring(), make: () => [], getter: true, returns: 'object' },

  // LinuxAio: the operations only queue an iocb (nothing is submitted but
  // in submit's own template, an fsync of the fuzz file), on one shared
  // context; open and close get fresh ones.
  LinuxAio: {
    area: 'aio',
    kinds: [],
    make: () => [],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.aios.push(r);
    },
  },
  'LinuxAio#open': { area: 'aio', kinds: [U32], self: (t) => t.aio(false), make: () => [1], few: true },
  'LinuxAio#read': { area: 'aio', kinds: [U32, I32, BYTES, I64, I64, I64], self: (t) => t.sharedAio(), make: (t) => [0, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'LinuxAio#write': { area: 'aio', kinds: [U32, I32, BYTES, I64, I64, I64], self: (t) => t.sharedAio(), make: (t) => [1, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'LinuxAio#readv': { area: 'aio', kinds: [U32, I32, VIEWS, I64], self: (t) => t.sharedAio(), make: (t) => [2, t.file(), [u8(8), u8(8)], 0] },
  'LinuxAio#writev': { area: 'aio', kinds: [U32, I32, VIEWS, I64], self: (t) => t.sharedAio(), make: (t) => [3, t.file(), [u8(8), u8(8)], 0] },
  'LinuxAio#fsync': { area: 'aio', kinds: [U32, I32], self: (t) => t.sharedAio(), make: (t) => [0, t.file()] },
  'LinuxAio#fdatasync': { area: 'aio', kinds: [U32, I32], self: (t) => t.sharedAio(), make: (t) => [1, t.file()] },
  'LinuxAio#cancel': {
    area: 'aio',
    kinds: [U32],
    self: (t) => {
      const a = t.sharedAio();
      A.prototype.fsync.call(a, 0, t.file());
      return a;
    },
    make: () => [0],
  },
  'LinuxAio#reap': {
    area: 'aio',
    kinds: [BYTES],
    self: (t) => {
      const a = t.sharedAio();
      A.prototype.fsync.call(a, 0, t.file());
      A.prototype.cancel.call(a, 0);
      return a;
    },
    make: () => [new Float64Array(rab(32))],
  },
  // Submits an fsync of the fuzz file: reaped by this call's cleanup.
  'LinuxAio#submit': {
    area: 'aio',
    kinds: [],
    self: (t) => {
      const a = t.sharedAio();
      A.prototype.fsync.call(a, 0, t.file());
      return a;
    },
    make: () => [],
  },
  'LinuxAio#close': { area: 'aio', kinds: [], self: (t) => t.aio(), make: () => [] },
  'LinuxAio#eventfd': { area: 'aio', kinds: [], self: (t) => t.sharedAio(), make: () => [], getter: true, returns: 'fd' },
  'LinuxAio#capacity': { area: 'aio', kinds: [], self: (t) => t.sharedAio(), make: () => [], getter: true },

  // ThreadpoolIo: a fresh object of TP_CAPACITY slots a call; operations
  // start on libuv's pool at once, and close(2000) in the cleanup waits
  // for them.
  ThreadpoolIo: {
    area: 'threadpool',
    kinds: [],
    make: () => [],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.tps.push(r);
    },
  },
  'ThreadpoolIo#open': { area: 'threadpool', kinds: [CAPACITY], self: (t) => t.tp(false), make: () => [TP_CAPACITY] },
  'ThreadpoolIo#read': { area: 'threadpool', kinds: [TP_SLOT, I32, BYTES, I64, I64, POS], self: (t) => t.tp(), make: (t) => [0, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'ThreadpoolIo#write': { area: 'threadpool', kinds: [TP_SLOT, I32, BYTES, I64, I64, POS], self: (t) => t.tp(), make: (t) => [0, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'ThreadpoolIo#readv': { area: 'threadpool', kinds: [TP_SLOT, I32, VIEWS, POS], self: (t) => t.tp(), make: (t) => [0, t.file(), [u8(8), new DataView(rab(8))], 0] },
  'ThreadpoolIo#writev': { area: 'threadpool', kinds: [TP_SLOT, I32, VIEWS, POS], self: (t) => t.tp(), make: (t) => [0, t.file(), [u8(8), u8(8)], 0] },
  'ThreadpoolIo#fsync': { area: 'threadpool', kinds: [TP_SLOT, I32], self: (t) => t.tp(), make: (t) => [0, t.file()] },
  'ThreadpoolIo#fdatasync': { area: 'threadpool', kinds: [TP_SLOT, I32], self: (t) => t.tp(), make: (t) => [0, t.file()] },
  'ThreadpoolIo#cancel': { area: 'threadpool', kinds: [TP_SLOT], self: (t) => busyTp(t), make: () => [0] },
  'ThreadpoolIo#reap': { area: 'threadpool', kinds: [BYTES], self: (t) => busyTp(t), make: () => [new Float64Array(rab(64))] },
  'ThreadpoolIo#close': { area: 'threadpool', kinds: [U32], self: (t) => busyTp(t), make: () => [2000], leaks: true },
  'ThreadpoolIo#eventfd': { area: 'threadpool', kinds: [], self: (t) => t.tp(), make: () => [], getter: true, returns: 'fd' },

  // PosixAio: a fresh object of 4 slots a call (t.paio()); what glibc
  // runs, close(2000) in the cleanup waits for.
  PosixAio: {
    area: 'posix_aio',
    kinds: [],
    make: () => [],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.paios.push(r);
    },
  },
  'PosixAio#open': { area: 'posix_aio', kinds: [int(1, 65536, true)], self: (t) => t.paio({ open: false }), make: () => [4] },
  'PosixAio#read': { area: 'posix_aio', kinds: [PA_SLOT, I32, BYTES, I64, I64, PA_POSITION], self: (t) => t.paio(), make: (t) => [0, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'PosixAio#write': { area: 'posix_aio', kinds: [PA_SLOT, I32, BYTES, I64, I64, PA_POSITION], self: (t) => t.paio(), make: (t) => [1, t.file(), u8(64), 0, 16, 0], check: rangeCheck(2) },
  'PosixAio#readv': { area: 'posix_aio', kinds: [PA_SLOT, I32, VIEWS, PA_POSITION], self: (t) => t.paio(), make: (t) => [2, t.file(), [u8(8), u8(8)], 0] },
  'PosixAio#writev': { area: 'posix_aio', kinds: [PA_SLOT, I32, VIEWS, PA_POSITION], self: (t) => t.paio(), make: (t) => [3, t.file(), [u8(8), u8(8)], 0] },
  'PosixAio#fsync': { area: 'posix_aio', kinds: [PA_SLOT, I32], self: (t) => t.paio(), make: (t) => [0, t.file()] },
  'PosixAio#fdatasync': { area: 'posix_aio', kinds: [PA_SLOT, I32], self: (t) => t.paio(), make: (t) => [0, t.file()] },
  'PosixAio#submit': { area: 'posix_aio', kinds: [], self: (t) => t.paio({ prepared: true }), make: () => [] },
  'PosixAio#cancel': { area: 'posix_aio', kinds: [PA_SLOT], self: (t) => t.paio({ submitted: true }), make: () => [0] },
  'PosixAio#reap': { area: 'posix_aio', kinds: [BYTES], self: (t) => t.paio({ submitted: true }), make: () => [new Float64Array(rab(64))] },
  // A hostile timeout of 0 may abandon the read glibc still runs: counted, as a ring's close is.
  'PosixAio#close': { area: 'posix_aio', kinds: [int(0, 60000, true)], self: (t) => t.paio({ submitted: true }), make: () => [2000], leaks: true },
  'PosixAio#eventfd': { area: 'posix_aio', kinds: [], self: (t) => t.paio(), make: () => [], getter: true, returns: 'fd' },

  // SignalIo: a fresh object a call (t.sio()), holding SIGIO and SIG; its
  // fds are a socketpair's, and Ctx#cleanup closes the object (restoring
  // every fd it enabled) before it closes them.
  SignalIo: {
    area: 'signal',
    kinds: [],
    make: () => [],
    construct: true,
    returns: 'object',
    after: (r, c, t) => {
      if (r !== null && typeof r === 'object') t.sios.push(r);
    },
  },
  'SignalIo#open': { area: 'signal', kinds: [], self: (t) => t.sio({ open: false }), make: () => [] },
  'SignalIo#acquire': { area: 'signal', kinds: [SIGNO], self: (t) => t.sio({ signals: [] }), make: () => [SIG] },
  'SignalIo#enable': {
    area: 'signal',
    kinds: [I32, SIGNO_0],
    self: (t) => t.sio(),
    variants: {
      realtime: (t) => [t.socketpair()[0], SIG],
      'plain SIGIO': (t) => [t.pipe()[0], 0],
    },
  },
  // self is made first: its enabled fd is the argument.
  'SignalIo#disable': { area: 'signal', kinds: [I32], self: (t) => t.sio({ enabled: true }), make: (t) => [t.enabled] },
  // A record waits in the pipe: the drain writes into the argument.
  'SignalIo#drain': { area: 'signal', kinds: [BYTES], self: (t) => t.sio({ signalled: true }), make: () => [new Int32Array(rab(4 * 20))] },
  'SignalIo#takeOverflow': { area: 'signal', kinds: [], self: (t) => t.sio({ signalled: true }), make: () => [] },
  'SignalIo#close': { area: 'signal', kinds: [], self: (t) => t.sio({ signalled: true }), make: () => [] },
  'SignalIo#fd': { area: 'signal', kinds: [], self: (t) => t.sio(), make: () => [], getter: true, returns: 'fd' },
  'SignalIo#tid': { area: 'signal', kinds: [], self: (t) => t.sio(), make: () => [], getter: true },
  signal_handler: { area: 'signal', kinds: [I32], make: () => [C.SIGIO] },
};

// The shared LinuxAio (Ctx#sharedAio), made on first use in any area (a
// stranger to the other classes' members), closed before the health checks.
let sharedAio = null;

// Withdraws every slot of a LinuxAio and reaps until each is free again
// (cancel answers -ENOENT), for at most ~200 ms: an fsync io_cancel cannot
// stop completes on its own.
function drainAio(a) {
  const out = new Float64Array(8);
  const deadline = Date.now() + 200;
  for (;;) {
    let busy = 0;
    for (let slot = 0; slot < 4; slot++) {
      const r = A.prototype.cancel.call(a, slot);
      if (r !== -ENOENT && r !== -os.constants.errno.EBADF) busy++;
    }
    A.prototype.reap.call(a, out);
    if (busy === 0 || Date.now() > deadline) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

// A ThreadpoolIo with a read blocked on an empty pipe in slot 0 (close
// interrupts it) and a file read in slot 1.
function busyTp(t) {
  const x = t.tp();
  t.ok(TP.prototype.read.call(x, 0, t.pipe()[0], u8(8), 0, 8, -1), 'ThreadpoolIo#read');
  t.ok(TP.prototype.read.call(x, 1, t.file(), u8(8), 0, 8, 0), 'ThreadpoolIo#read');
  return x;
}

// One live AIO context for io_destroy's template, made again once destroyed.
let aioContext = null;
function liveAioContext() {
  if (aioContext === null) {
    const ctx = new BigUint64Array(1);
    aioContext = native.io_setup(1, ctx) === 0 ? ctx[0] : 0n;
  }
  return aioContext;
}

function started(t) {
  const w = t.watcher(t.pipe()[0]);
  t.ok(w.start(C.UV_READABLE), 'Watcher#start');
  return w;
}

// ------------------------------------------------------- signal-driven I/O

const errno = os.constants.errno;
// Whether fd is signal-driven (O_ASYNC in its status flags).
const isAsync = (fd) => (native.fcntl_getfl(fd) & C.O_ASYNC) !== 0;
// What a SignalIo's pipe holds now: [fd, signo, code, band, tid] records.
function records(s, max = 16) {
  const out = new Int32Array(5 * max);
  const n = sioCall(s, 'drain', out);
  if (n < 0) return n;
  return Array.from({ length: n }, (_, k) => Array.from(out.subarray(5 * k, 5 * k + 5)));
}
// A single record of signo for fd, from this thread, or what is wrong.
function oneRecord(s, fd, signo) {
  const got = records(s);
  if (!Array.isArray(got) || got.length !== 1) return 'expected one record, drained ' + JSON.stringify(got);
  const [rfd, rsig, , , tid] = got[0];
  if (rfd !== fd || rsig !== signo || tid !== process.pid) return 'expected fd ' + fd + ', signal ' + signo + ', tid ' + process.pid + ', got ' + JSON.stringify(got[0]);
  return null;
}
// The other end of the pipe whose one end is fd (same inode), or -1.
function pipePeer(fd) {
  const ino = fs.fstatSync(fd).ino;
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const n = Number(name);
    if (n !== fd && attempt(() => fs.fstatSync(n).ino === ino && fs.fstatSync(n).isFIFO(), false)) return n;
  }
  return -1;
}
// fd number n (closed) taken again by a new file: the fuzz file opened for
// appending, so its flags (O_WRONLY | O_APPEND, blocking) differ from a
// socket's. Files opened on the way (lower free numbers) are t's too.
function reuseNumber(t, n) {
  for (;;) {
    const fd = t.fd(fs.openSync(FILE, 'a'));
    if (fd === n) return fd;
    if (fd > n) throw new Error('fuzz setup: fd ' + n + ' was not free');
  }
}
// An enabled socket closed with fs.closeSync, its number taken by a new
// file: { self, fd, flags } (the new file's status flags before the call).
function reusedEnabledFd(t) {
  const s = t.sio({ enabled: true });
  const fd = t.enabled;
  fs.closeSync(fd);
  t.forget(fd);
  reuseNumber(t, fd);
  return { self: s, fd, flags: native.fcntl_getfl(fd) };
}
function untouched(c) {
  const now = native.fcntl_getfl(c.fd);
  return now === c.flags ? null : 'the file that took fd ' + c.fd + ' had its flags changed from 0o' + c.flags.toString(8) + ' to 0o' + now.toString(8);
}
const expectResult = (want, name) => (v) => (v === want ? null : 'expected ' + name + ', got ' + show(v));

// ------------------------------------------------------------ receivers

// Each native class: how to make an instance (for strangers: a Proxy of
// one, or one as "this" for another class's members), and its own real
// receivers in every lifecycle state, each of which must answer (return).
// A new class adds an entry here and its table entries.
class SubWatcher extends W {}
class SubRing extends R {}
class SubTp extends TP {}
class SubPosixAio extends PA {}
class SubSio extends SIO {}
const CLOSED_WATCHERS = []; // closed in an earlier tick (see main)
const CLOSED_RINGS = [];
const NATIVE_CLASSES = {
  Watcher: {
    cls: W,
    an: 'an open watcher',
    instance: (t) => t.watcher(t.pipe()[0]),
    real: [
      { label: 'a new watcher, never opened', make: (t) => t.watcher() },
      { label: 'an open watcher', make: (t) => t.watcher(t.pipe()[0]) },
      { label: 'a started watcher', make: started },
      {
        label: 'a watcher closed in this tick',
        make: (t) => {
          const w = started(t);
          w.close();
          return w;
        },
      },
      { label: 'a watcher closed in an earlier tick', make: () => CLOSED_WATCHERS[serial++ % CLOSED_WATCHERS.length] },
      {
        label: 'a started watcher whose fd was closed with fs.closeSync',
        make: (t) => {
          const [r] = t.pipe();
          const w = t.watcher(r);
          t.ok(w.start(C.UV_READABLE), 'Watcher#start');
          fs.closeSync(r);
          t.forget(r);
          return w;
        },
      },
      {
        label: 'a Watcher subclass instance',
        make: (t) => {
          const w = new SubWatcher(noop);
          t.watchers.push(w);
          t.ok(w.open(t.pipe()[0]), 'open');
          return w;
        },
      },
      {
        label: 'a watcher built by Reflect.construct with newTarget Object',
        make: (t) => {
          const w = Reflect.construct(W, [noop], Object);
          t.watchers.push(w);
          t.ok(W.prototype.open.call(w, t.pipe()[0]), 'open');
          return w;
        },
      },
    ],
  },
  Ring: {
    cls: R,
    an: 'an open ring',
    instance: (t) => t.ring(),
    real: [
      { label: 'a new ring, never opened', make: (t) => t.ring(false) },
      { label: 'an open, idle ring', make: (t) => t.ring() },
      {
        label: 'a ring with operations prepared, not submitted',
        make: (t) => {
          const r = t.ring();
          t.fileRead(r, 1, false);
          t.pipeRead(r, 2, false);
          return r;
        },
      },
      {
        label: 'a ring with operations in flight',
        make: (t) => {
          const r = t.ring();
          t.pipeRead(r, 1);
          t.ok(ringCall(r, 'timeout', 2, 60_000, 0), 'Ring#timeout');
          t.ok(ringCall(r, 'submit'), 'Ring#submit');
          return r;
        },
      },
      { label: 'a ring with buffers registered', make: (t) => t.fixedRing() },
      {
        label: 'a ring with a fixed read in flight, into a registered buffer only',
        make: (t) => {
          const r = t.fixedRing();
          t.ok(ringCall(r, 'readFixed', 1, t.pipe()[0], null, 0, 16, -1, 0, 0, -1, 0), 'Ring#readFixed');
          t.ok(ringCall(r, 'submit'), 'Ring#submit');
          return r;
        },
      },
      {
        label: 'a ring with a fixed read in flight into a view',
        make: (t) => {
          const r = t.fixedRing();
          t.ok(ringCall(r, 'readFixed', 1, t.pipe()[0], u8(64), 0, 16, -1, 1, 0, -1, 0), 'Ring#readFixed');
          t.ok(ringCall(r, 'submit'), 'Ring#submit');
          return r;
        },
      },
      {
        label: 'a ring with a completion not yet reaped',
        make: (t) => {
          const r = t.ring();
          t.fileRead(r, 1);
          return r;
        },
      },
      {
        label: 'a ring closed in this tick',
        make: (t) => {
          const r = t.ring();
          t.ok(ringCall(r, 'close'), 'Ring#close');
          return r;
        },
      },
      { label: 'a ring closed in an earlier tick', make: () => CLOSED_RINGS[serial++ % CLOSED_RINGS.length] },
      { label: 'a Ring subclass instance', make: (t) => t.ring(true, () => new SubRing()) },
      { label: 'a ring built by Reflect.construct with newTarget Object', make: (t) => t.ring(true, () => Reflect.construct(R, [], Object)) },
    ],
  },
  // Few real LinuxAios: each open one costs an io_destroy at cleanup.
  LinuxAio: {
    cls: A,
    an: 'the shared LinuxAio',
    instance: (t) => t.sharedAio(),
    real: [
      { label: 'a LinuxAio never opened', make: (t) => t.aio(false) },
      { label: 'an open LinuxAio', make: (t) => t.aio() },
      {
        label: 'a closed LinuxAio',
        make: (t) => {
          const a = t.aio();
          A.prototype.close.call(a);
          return a;
        },
      },
      { label: 'the shared LinuxAio', make: (t) => t.sharedAio() },
    ],
  },
  ThreadpoolIo: {
    cls: TP,
    an: 'an open ThreadpoolIo',
    instance: (t) => t.tp(),
    real: [
      { label: 'a new ThreadpoolIo, never opened', make: (t) => t.tp(false) },
      { label: 'an open ThreadpoolIo', make: (t) => t.tp() },
      { label: 'a ThreadpoolIo with operations in flight', make: busyTp },
      {
        label: 'a closed ThreadpoolIo',
        make: (t) => {
          const x = busyTp(t);
          TP.prototype.close.call(x, 2000);
          return x;
        },
      },
      { label: 'a ThreadpoolIo subclass instance', make: (t) => t.tp(true, () => new SubTp()) },
    ],
  },
  PosixAio: {
    cls: PA,
    an: 'an open PosixAio',
    instance: (t) => t.paio(),
    real: [
      { label: 'a PosixAio never opened', make: (t) => t.paio({ open: false }) },
      { label: 'an open PosixAio', make: (t) => t.paio() },
      { label: 'a PosixAio with an operation in flight', make: (t) => t.paio({ submitted: true }) },
      {
        label: 'a closed PosixAio',
        make: (t) => {
          const a = t.paio({ submitted: true });
          PA.prototype.close.call(a, 2000);
          return a;
        },
      },
      { label: 'a PosixAio subclass instance', make: (t) => t.paio({ make: () => new SubPosixAio() }) },
    ],
  },
  SignalIo: {
    cls: SIO,
    an: 'an open SignalIo',
    instance: (t) => t.sio(),
    real: [
      { label: 'a new SignalIo, never opened', make: (t) => t.sio({ open: false }) },
      { label: 'an open SignalIo holding no signal', make: (t) => t.sio({ signals: [] }) },
      { label: 'an open SignalIo holding SIGIO and SIGRTMIN', make: (t) => t.sio() },
      { label: 'a SignalIo with an fd enabled', make: (t) => t.sio({ enabled: true }) },
      { label: 'a SignalIo with a record waiting in its pipe', make: (t) => t.sio({ signalled: true }) },
      {
        label: 'a SignalIo whose enabled fd was closed with fs.closeSync',
        make: (t) => {
          const s = t.sio({ enabled: true });
          fs.closeSync(t.enabled);
          t.forget(t.enabled);
          return s;
        },
      },
      {
        label: 'a closed SignalIo',
        make: (t) => {
          const s = t.sio({ signalled: true });
          t.ok(sioCall(s, 'close'), 'SignalIo#close');
          return s;
        },
      },
      { label: 'a SignalIo subclass instance', make: (t) => t.sio({ enabled: true, make: () => new SubSio() }) },
      { label: 'a SignalIo built by Reflect.construct with newTarget Object', make: (t) => t.sio({ enabled: true, make: () => Reflect.construct(SIO, [], Object) }) },
    ],
  },
};

// Receivers for a class's methods and getters: strangers must be refused
// with a code (an instance of another native class among them), the
// class's real receivers must answer.
function receivers(name) {
  const { cls, an, instance, real } = NATIVE_CLASSES[name];
  const others = Object.keys(NATIVE_CLASSES).filter((n) => n !== name);
  return [
    { label: '{}', make: () => ({}) },
    { label: 'undefined', make: () => undefined },
    { label: 'null', make: () => null },
    { label: '42', make: () => 42 },
    { label: 'a string', make: () => 'watcher' },
    { label: 'a Symbol', make: () => Symbol('this') },
    { label: 'Object.create(' + name + '.prototype)', make: () => Object.create(cls.prototype) },
    { label: name + '.prototype', make: () => cls.prototype },
    { label: 'the addon exports object', make: () => native },
    { label: 'a function', make: () => function () {} },
    { label: 'a Uint8Array', make: () => new Uint8Array(8) },
    { label: 'a Proxy of ' + an, make: (t) => new Proxy(instance(t), {}) },
    {
      label: 'a revoked Proxy',
      make: () => {
        const p = Proxy.revocable({}, {});
        p.revoke();
        return p.proxy;
      },
    },
    ...others.map((n) => ({ label: NATIVE_CLASSES[n].an + ' (a ' + n + ')', make: NATIVE_CLASSES[n].instance })),
    ...real.map((r) => ({ ...r, real: true })),
  ];
}
// Per class; plain functions ignore "this" and get the Watcher's list.
const THIS_VALUES = Object.fromEntries(Object.keys(NATIVE_CLASSES).map((n) => [n, receivers(n)]));

// Extra cases, beyond the positional ones: aliasing, exact-size and
// unaligned out-parameters, and the Watcher's lifecycle.
const EXTRAS = {
  LinuxAio: [
    { label: 'called without new', expect: 'throw', make: () => ({ args: [], invoke: () => A() }) },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ args: [], invoke: () => Reflect.construct(A, [], Object) }) },
  ],
  ThreadpoolIo: [
    { label: 'called without new', expect: 'throw', make: () => ({ args: [], invoke: () => TP() }) },
    { label: 'called without new, with a ThreadpoolIo as this', expect: 'throw', make: (t) => ({ args: [], invoke: () => TP.call(t.tp()) }) },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ args: [], invoke: () => Reflect.construct(TP, [], Object) }) },
    { label: 'a subclass', expect: 'return', make: () => ({ args: [], invoke: () => new SubTp() }) },
  ],
  'ThreadpoolIo#read': [
    {
      label: 'a slot already in use',
      expect: 'return',
      make: (t) => ({ self: busyTp(t), args: [1, t.file(), u8(8), 0, 8, 0] }),
      verify: (v) => (v === -os.constants.errno.EBUSY || v === 0 ? null : 'expected -EBUSY (or 0 if reaped), got ' + show(v)),
    },
    {
      label: 'a getter in the views closes the object (readv)',
      expect: 'return',
      make: (t) => {
        const x = t.tp();
        const views = arrayWith([u8(8)], { 1: () => (x.close(2000), new Uint8Array(8)) });
        return { self: x, args: [0, t.file(), views, 0], invoke: () => x.readv(0, t.file(), views, 0) };
      },
      verify: (v) => (v === -os.constants.errno.EBADF ? null : 'expected -EBADF, got ' + show(v)),
    },
    {
      label: 'a getter in the views submits into the same slot (writev)',
      expect: 'return',
      make: (t) => {
        const x = t.tp();
        const fd = t.file();
        const box = { inner: null };
        const views = arrayWith([u8(8)], { 1: () => ((box.inner = x.writev(0, fd, [u8(4)], 0)), new Uint8Array(8)) });
        return { self: x, args: [], box, invoke: () => x.writev(0, fd, views, 0) };
      },
      verify: (v, c) => (v === 0 && c.box.inner === -os.constants.errno.EBUSY ? null : 'expected 0 and -EBUSY inside, got ' + show(v) + ' and ' + show(c.box.inner)),
    },
  ],
  PosixAio: [
    { label: 'called without new', expect: 'throw', make: () => ({ args: [], invoke: () => PA() }) },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ args: [], invoke: () => Reflect.construct(PA, [], Object) }) },
  ],
  'PosixAio#read': [
    {
      label: 'a slot already in use',
      expect: 'return',
      make: (t) => ({ self: t.paio({ prepared: true }), args: [0, t.file(), u8(64), 0, 16, 0] }),
      verify: (v) => (v === -os.constants.errno.EBUSY ? null : 'expected -EBUSY, got ' + show(v)),
    },
  ],
  'PosixAio#reap': [
    {
      label: 'a completed read reaped into a Float64Array',
      expect: 'return',
      make: (t) => {
        const a = t.paio({ submitted: true });
        const out = new Float64Array(8);
        // glibc's thread finishes it soon; reap() until it is there.
        for (let k = 0; k < 2000 && PA.prototype.reap.call(a, out) === 0; k++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        return { self: a, args: [out], out };
      },
      // Reaped by the loop above: a second reap finds nothing.
      verify: (v, c) => (v === 0 && c.out[0] === 0 && c.out[1] === 16 ? null : 'got ' + show(v) + ' and ' + show(Array.from(c.out.slice(0, 2)))),
    },
    { label: 'out over a SharedArrayBuffer', expect: 'return', make: (t) => ({ self: t.paio({ submitted: true }), args: [new Float64Array(new SharedArrayBuffer(64))] }) },
    { label: 'out of 15 bytes (no pair fits)', expect: 'return', make: (t) => ({ self: t.paio({ submitted: true }), args: [new Uint8Array(15)] }) },
  ],
  // Signal-driven I/O. A case that makes process.on('SIGIO') take the
  // signal removes its listener again (libuv then puts SIG_DFL back), and
  // enables no fd meanwhile: a SIGIO under SIG_DFL would kill the child.
  SignalIo: [
    { label: 'called without new', expect: 'throw', code: 'ERR_CONSTRUCT_CALL_REQUIRED', make: () => ({ args: [], invoke: () => SIO() }) },
    {
      label: 'called without new, with a SignalIo as this',
      expect: 'throw',
      code: 'ERR_CONSTRUCT_CALL_REQUIRED',
      make: (t) => {
        const s = t.sio();
        return { args: [], invoke: () => SIO.call(s) };
      },
    },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ args: [], invoke: () => Reflect.construct(SIO, [], Object) }) },
    { label: 'a subclass', expect: 'return', make: () => ({ args: [], invoke: () => new SubSio() }) },
  ],
  'SignalIo#open': [
    { label: 'open twice', expect: 'return', make: (t) => ({ self: t.sio(), args: [] }), verify: expectResult(-errno.EALREADY, '-EALREADY') },
    {
      label: 'open after close',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ open: false });
        sioCall(s, 'close');
        return { self: s, args: [] };
      },
      verify: expectResult(-errno.EBADF, '-EBADF'),
    },
  ],
  'SignalIo#acquire': [
    {
      label: 'SIGRTMAX - 1',
      expect: 'return',
      make: (t) => ({ self: t.sio({ signals: [] }), args: [C.SIGRTMAX - 1] }),
      verify: (v) => (v === 0 && native.signal_handler(C.SIGRTMAX - 1) === 1 ? null : 'got ' + show(v) + ', handler ' + native.signal_handler(C.SIGRTMAX - 1)),
    },
    // A foreign handler from native code: a ThreadpoolIo's open() installs
    // its interrupt handler on SIGRTMAX (once per process).
    {
      label: "SIGRTMAX under a ThreadpoolIo's interrupt handler (refused, never replaced)",
      expect: 'return',
      make: (t) => {
        t.tp();
        return { self: t.sio({ signals: [] }), args: [C.SIGRTMAX] };
      },
      verify: (v) => (v === -errno.EBUSY && native.signal_handler(C.SIGRTMAX) === 2 ? null : 'got ' + show(v) + ', handler ' + native.signal_handler(C.SIGRTMAX)),
    },
    { label: 'a signal it holds already', expect: 'return', make: (t) => ({ self: t.sio(), args: [SIG] }), verify: expectResult(0, '0') },
    { label: 'SIGRTMIN - 1 (glibc keeps it)', expect: 'throw', code: 'ERR_OUT_OF_RANGE', make: (t) => ({ self: t.sio({ signals: [] }), args: [C.SIGRTMIN - 1] }) },
    { label: 'SIGRTMAX + 1', expect: 'throw', code: 'ERR_OUT_OF_RANGE', make: (t) => ({ self: t.sio({ signals: [] }), args: [C.SIGRTMAX + 1] }) },
    { label: 'SIGUSR2 (not queued; Node may want it)', expect: 'throw', code: 'ERR_OUT_OF_RANGE', make: (t) => ({ self: t.sio({ signals: [] }), args: [os.constants.signals.SIGUSR2] }) },
    {
      label: "SIGIO while process.on('SIGIO') has it: refused, never replaced; ours again once libuv lets go",
      expect: 'return',
      make: (t) => {
        const self = t.sio({ signals: [] });
        const listener = () => {};
        process.on('SIGIO', listener);
        t.later.push(() => process.off('SIGIO', listener));
        return { self, args: [C.SIGIO], listener };
      },
      verify: (v, c) => {
        if (v !== -errno.EBUSY) return 'expected -EBUSY, got ' + show(v);
        if (native.signal_handler(C.SIGIO) !== 2) return "process.on('SIGIO')'s handler is gone: signal_handler says " + native.signal_handler(C.SIGIO);
        process.off('SIGIO', c.listener);
        // libuv put SIG_DFL back, and no SignalIo holds SIGIO.
        const r = sioCall(c.self, 'acquire', C.SIGIO);
        return r === 0 && native.signal_handler(C.SIGIO) === 1 ? null : 'SIGIO after process.off: acquire gave ' + show(r) + ', handler ' + native.signal_handler(C.SIGIO);
      },
    },
    {
      label: "a signal it holds, after process.on('SIGIO') replaced the handler",
      expect: 'return',
      make: (t) => {
        const self = t.sio();
        const listener = () => {};
        process.on('SIGIO', listener);
        t.later.push(() => process.off('SIGIO', listener));
        return { self, args: [C.SIGIO], listener };
      },
      verify: (v, c) => {
        if (v !== -errno.EBUSY) return 'expected -EBUSY, got ' + show(v);
        process.off('SIGIO', c.listener);
        // SIG_DFL now, and still held by c.self: whatever another object
        // gets meanwhile, once the holder closes, the signal is ours again.
        const other = c.t.sio({ signals: [] });
        const meanwhile = sioCall(other, 'acquire', C.SIGIO);
        if (meanwhile !== 0 && meanwhile !== -errno.EBUSY) return 'a second SignalIo acquiring SIGIO got ' + show(meanwhile);
        sioCall(c.self, 'close');
        const r = meanwhile === 0 ? 0 : sioCall(other, 'acquire', C.SIGIO);
        return r === 0 && native.signal_handler(C.SIGIO) === 1 ? null : 'SIGIO once its holder closed: acquire gave ' + show(r) + ', handler ' + native.signal_handler(C.SIGIO);
      },
    },
  ],
  'SignalIo#enable': [
    ...[
      ['a real-time signal it has not acquired', [C.SIGIO], C.SIGRTMIN + 1],
      ['without SIGIO acquired (the kernel signals it on overflow)', [SIG], SIG],
      ['plain SIGIO (signo 0) without SIGIO acquired', [SIG], 0],
      ['SIGRTMAX, not acquired', [C.SIGIO], C.SIGRTMAX],
    ].map(([label, signals, signo]) => ({
      label: label + ' (refused: its signal would kill the process)',
      expect: 'return',
      make: (t) => {
        const [a, b] = t.socketpair();
        return { self: t.sio({ signals }), args: [a, signo], fd: a, peer: b };
      },
      verify: (v, c) => {
        if (v !== -errno.EBUSY) return 'expected -EBUSY, got ' + show(v);
        if (isAsync(c.fd)) return 'refused, but left O_ASYNC set';
        fs.writeSync(c.peer, 'no signal'); // nothing is aimed at us: the child lives
        return null;
      },
    })),
    {
      label: 'its own pipe fd',
      expect: 'return',
      make: (t) => {
        const s = t.sio();
        return { self: s, args: [sioGet(s, 'fd'), SIG], fd: sioGet(s, 'fd') };
      },
      verify: (v, c) => (v === -errno.EBUSY && !isAsync(c.fd) ? null : 'expected -EBUSY, got ' + show(v)),
    },
    {
      label: "its own pipe's write end",
      expect: 'return',
      make: (t) => {
        const s = t.sio();
        return { self: s, args: [pipePeer(sioGet(s, 'fd')), SIG] };
      },
      verify: (v, c) => (c.args[0] >= 0 && v === -errno.EBUSY ? null : 'expected -EBUSY for fd ' + c.args[0] + ', got ' + show(v)),
    },
    {
      label: "another SignalIo's pipe fd",
      expect: 'return',
      make: (t) => ({ self: t.sio(), args: [sioGet(t.sio(), 'fd'), SIG] }),
      verify: expectResult(-errno.EBUSY, '-EBUSY'),
    },
    {
      label: 'an fd it enabled already',
      expect: 'return',
      make: (t) => ({ self: t.sio({ enabled: true }), args: [t.enabled, SIG] }),
      verify: expectResult(-errno.EEXIST, '-EEXIST'),
    },
    {
      label: 'an fd closed with fs.closeSync',
      expect: 'return',
      make: (t) => {
        const self = t.sio(); // first: its pipe would take the number
        const [a] = t.socketpair();
        fs.closeSync(a);
        t.forget(a);
        return { self, args: [a, SIG] };
      },
      verify: expectResult(-errno.EBADF, '-EBADF'),
    },
    { label: 'fd 2**31 - 1', expect: 'return', make: (t) => ({ self: t.sio(), args: [2 ** 31 - 1, SIG] }), verify: expectResult(-errno.EBADF, '-EBADF') },
    {
      label: 'a write then signals this thread: one record, with the fd and signal',
      expect: 'return',
      make: (t) => {
        const [a, b] = t.socketpair();
        return { self: t.sio(), args: [a, SIG], fd: a, peer: b };
      },
      verify: (v, c) => {
        if (v !== 0 || !isAsync(c.fd)) return 'got ' + show(v) + (isAsync(c.fd) ? '' : ', O_ASYNC not set');
        fs.writeSync(c.peer, 'x');
        return oneRecord(c.self, c.fd, SIG);
      },
    },
    {
      label: 'SIGRTMAX - 1: a write queues SIGRTMAX - 1 with the fd',
      expect: 'return',
      make: (t) => {
        const [a, b] = t.socketpair();
        return { self: t.sio({ signals: [C.SIGIO, C.SIGRTMAX - 1] }), args: [a, C.SIGRTMAX - 1], fd: a, peer: b };
      },
      verify: (v, c) => {
        if (v !== 0) return 'got ' + show(v);
        fs.writeSync(c.peer, 'x');
        return oneRecord(c.self, c.fd, C.SIGRTMAX - 1);
      },
    },
    {
      label: 'SIGIO as the signal: a write sends SIGIO with the fd',
      expect: 'return',
      make: (t) => {
        const [a, b] = t.socketpair();
        return { self: t.sio({ signals: [C.SIGIO] }), args: [a, C.SIGIO], fd: a, peer: b };
      },
      verify: (v, c) => {
        if (v !== 0) return 'got ' + show(v);
        fs.writeSync(c.peer, 'x');
        return oneRecord(c.self, c.fd, C.SIGIO);
      },
    },
    {
      label: 'plain SIGIO (signo 0): a write sends SIGIO with no fd',
      expect: 'return',
      make: (t) => {
        const [a, b] = t.socketpair();
        return { self: t.sio({ signals: [C.SIGIO] }), args: [a, 0], fd: a, peer: b };
      },
      verify: (v, c) => {
        if (v !== 0) return 'got ' + show(v);
        fs.writeSync(c.peer, 'x');
        return oneRecord(c.self, -1, C.SIGIO);
      },
    },
    // Accepted (the kernel never signals them); the TS layer refuses files.
    { label: 'a regular file', expect: 'return', make: (t) => ({ self: t.sio(), args: [t.file(), SIG] }), verify: expectResult(0, '0') },
    { label: 'an eventfd', expect: 'return', make: (t) => ({ self: t.sio(), args: [t.eventfd(), SIG] }), verify: expectResult(0, '0') },
    // epoll_create1 makes its fd owned, and an owned fd is its owner's alone.
    { label: 'an epoll fd', expect: 'return', make: (t) => ({ self: t.sio(), args: [t.epoll(), SIG] }), verify: expectResult(-errno.EBUSY, '-EBUSY') },
    {
      label: 'an fd another SignalIo enabled (no check here: the TS layer keeps one owner)',
      expect: 'return',
      make: (t) => {
        t.sio({ enabled: true });
        return { self: t.sio(), args: [t.enabled, SIG] };
      },
      verify: expectResult(0, '0'),
    },
  ],
  'SignalIo#disable': [
    {
      label: 'O_ASYNC goes, and a write signals no more',
      expect: 'return',
      make: (t) => ({ self: t.sio({ enabled: true }), args: [t.enabled], peer: t.peer }),
      verify: (v, c) => {
        if (v !== 0 || isAsync(c.args[0])) return 'got ' + show(v) + (isAsync(c.args[0]) ? ', O_ASYNC still set' : '');
        fs.writeSync(c.peer, 'x');
        const got = records(c.self);
        return Array.isArray(got) && got.length === 0 ? null : 'a disabled fd signalled: ' + JSON.stringify(got);
      },
    },
    {
      label: 'an fd closed with fs.closeSync (the record goes)',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ enabled: true });
        fs.closeSync(t.enabled);
        t.forget(t.enabled);
        return { self: s, args: [t.enabled] };
      },
      verify: (v, c) => {
        if (v !== -errno.EBADF) return 'expected -EBADF, got ' + show(v);
        const again = sioCall(c.self, 'disable', c.args[0]);
        return again === -errno.ENOENT ? null : 'disable() again gave ' + show(again) + ', expected -ENOENT';
      },
    },
    {
      label: 'an fd closed with fs.closeSync whose number a new file took (left alone)',
      expect: 'return',
      make: (t) => {
        const r = reusedEnabledFd(t);
        return { ...r, args: [r.fd] };
      },
      verify: (v, c) => untouched(c) ?? (v === -errno.EBADF ? null : 'expected -EBADF, got ' + show(v)),
    },
    { label: 'an fd it never enabled', expect: 'return', make: (t) => ({ self: t.sio({ enabled: true }), args: [t.peer] }), verify: expectResult(-errno.ENOENT, '-ENOENT') },
    {
      label: 'twice',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ enabled: true });
        t.ok(sioCall(s, 'disable', t.enabled), 'SignalIo#disable');
        return { self: s, args: [t.enabled] };
      },
      verify: expectResult(-errno.ENOENT, '-ENOENT'),
    },
  ],
  // As for Ring#reap: a drain with no room for a whole record (a detached
  // or shrunk buffer among them) must leave the record in the pipe.
  'SignalIo#drain': [
    ...[
      ['a detached ArrayBuffer', detached],
      ['ArrayBuffer(0)', () => new ArrayBuffer(0)],
      ['Int32Array over a detached buffer', () => {
        const v = new Int32Array(10);
        detach(v.buffer);
        return v;
      }],
      ['a length-tracking Int32Array of a resizable buffer shrunk to 0', () => {
        const v = new Int32Array(rab(40));
        v.buffer.resize(0);
        return v;
      }],
      ['Int32Array(4): less than one record', () => new Int32Array(4)],
      ['Uint8Array(19)', () => new Uint8Array(19)],
    ].map(([label, value]) => ({
      label: label + ' (the record stays)',
      expect: 'return',
      make: () => ({ args: [value()] }),
      verify: (v, c) => (v === 0 ? oneRecord(c.self, c.t.enabled, SIG) : 'returned ' + show(v) + ' with no room for a record'),
    })),
    ...[
      ['exactly one record, unaligned (Uint8Array at byteOffset 1)', () => new Uint8Array(new ArrayBuffer(21), 1, 20)],
      ['a DataView at byteOffset 3', () => new DataView(new ArrayBuffer(43), 3)],
      ['an Int32Array over a SharedArrayBuffer', () => new Int32Array(new SharedArrayBuffer(40))],
      ['a length-tracking view of a resizable buffer grown to 1 MiB', () => {
        const v = new Uint8Array(new ArrayBuffer(8, { maxByteLength: 1 << 20 }));
        v.buffer.resize(1 << 20);
        return v;
      }],
    ].map(([label, value]) => ({
      label: label,
      expect: 'return',
      make: () => ({ args: [value()] }),
      verify: (v, c) => {
        if (v !== 1) return 'expected 1 record, got ' + show(v);
        const dv = dataView(c.args[0]);
        const fd = dv.getInt32(0, true);
        const signo = dv.getInt32(4, true);
        return fd === c.t.enabled && signo === SIG ? null : 'read back fd ' + fd + ', signal ' + signo;
      },
    })),
    {
      label: 'two records waiting, room for one and a half: one read, one left',
      expect: 'return',
      make: (t) => {
        fs.writeSync(t.peer, 'a second signal');
        return { args: [new Uint8Array(30)] };
      },
      verify: (v, c) => (v === 1 ? oneRecord(c.self, c.t.enabled, SIG) : 'expected 1 record, got ' + show(v)),
    },
    {
      label: 'the record, checked: fd, signal, POLL_IN, readable band, this thread',
      expect: 'return',
      make: () => ({ args: [new Int32Array(10)] }),
      verify: (v, c) => {
        const [fd, signo, code, band, tid] = c.args[0];
        if (v !== 1 || fd !== c.t.enabled || signo !== SIG || code !== C.POLL_IN || !(band & C.POLLIN) || tid !== process.pid) {
          return 'got ' + show(v) + ': ' + JSON.stringify(Array.from(c.args[0].subarray(0, 5)));
        }
        return null;
      },
    },
    { label: 'an empty pipe', expect: 'return', make: (t) => ({ self: t.sio({ enabled: true }), args: [new Int32Array(10)] }), verify: expectResult(0, '0') },
  ],
  'SignalIo#takeOverflow': [
    {
      label: 'after a signal found its pipe full (then cleared)',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ enabled: true });
        const wfd = pipePeer(sioGet(s, 'fd'));
        if (wfd < 0) throw new Error("fuzz setup: the SignalIo's write end not found");
        const junk = new Uint8Array(65536);
        while (native.write(wfd, junk, 0, junk.length) > 0);
        fs.writeSync(t.peer, 'x'); // its record finds no room
        return { self: s, args: [] };
      },
      verify: (v, c) => {
        const again = sioCall(c.self, 'takeOverflow');
        return v === 1 && again === 0 ? null : 'got ' + show(v) + ', then ' + show(again) + ': expected 1, then 0';
      },
    },
    { label: 'no overflow', expect: 'return', make: (t) => ({ self: t.sio({ signalled: true }), args: [] }), verify: expectResult(0, '0') },
  ],
  'SignalIo#close': [
    {
      label: 'twice',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ enabled: true });
        sioCall(s, 'close');
        return { self: s, args: [] };
      },
      verify: expectResult(0, '0'),
    },
    {
      label: 'with an fd enabled: O_ASYNC goes, the pipe closes',
      expect: 'return',
      make: (t) => {
        const s = t.sio({ signalled: true });
        return { self: s, args: [], fd: t.enabled, pipe: sioGet(s, 'fd') };
      },
      verify: (v, c) => {
        if (v !== 0 || isAsync(c.fd)) return 'got ' + show(v) + (isAsync(c.fd) ? ', O_ASYNC still set' : '');
        if (sioGet(c.self, 'fd') !== -1) return 'fd is ' + sioGet(c.self, 'fd') + ' after close';
        return attempt(() => (fs.fstatSync(c.pipe).isFIFO() ? 'its pipe fd ' + c.pipe + ' is still open' : null), null);
      },
    },
    {
      label: 'after its enabled fd was closed and the number taken by a new file (left alone)',
      expect: 'return',
      make: (t) => ({ ...reusedEnabledFd(t), args: [] }),
      verify: (v, c) => untouched(c) ?? expectResult(0, '0')(v),
    },
    {
      label: 'two SignalIos enabled one fd, the first closed first: the second must not set O_ASYNC again',
      expect: 'return',
      make: (t) => {
        const first = t.sio({ enabled: true });
        const second = t.sio();
        t.ok(sioCall(second, 'enable', t.enabled, SIG), 'SignalIo#enable');
        t.ok(sioCall(first, 'close'), 'SignalIo#close');
        return { self: second, args: [], fd: t.enabled };
      },
      verify: (v, c) => (v === 0 && !isAsync(c.fd) ? null : 'got ' + show(v) + (isAsync(c.fd) ? ', and the fd is signal-driven again' : '')),
    },
  ],
  'SignalIo#fd': [
    {
      label: 'a plain close() of the pipe is refused, both ends',
      expect: 'return',
      make: (t) => ({ self: t.sio(), args: [] }),
      verify: (v) => {
        const r = native.close(v);
        const w = native.close(pipePeer(v));
        return r === -errno.EBUSY && w === -errno.EBUSY ? null : 'native.close gave ' + show(r) + ' and ' + show(w) + ' for the two ends';
      },
    },
  ],
  'SignalIo#tid': [
    { label: 'the main thread: the pid', expect: 'return', make: (t) => ({ self: t.sio(), args: [] }), verify: expectResult(process.pid, 'the pid') },
    { label: 'never opened: the calling thread', expect: 'return', make: (t) => ({ self: t.sio({ open: false }), args: [] }), verify: expectResult(process.pid, 'the pid') },
  ],
  // Every signal number, and beyond: 0 free, 1 ours, 2 another handler's,
  // or -EINVAL (0, 65, glibc's own 32 and 33).
  signal_handler: [
    ...Array.from({ length: 67 }, (_, signo) => ({
      label: 'signal ' + signo,
      expect: 'return',
      make: () => ({ args: [signo] }),
      verify: (v) => ([0, 1, 2, -errno.EINVAL].includes(v) ? null : 'got ' + show(v)),
    })),
    {
      label: 'a signal a SignalIo acquired: ours',
      expect: 'return',
      make: (t) => {
        t.sio({ signals: [C.SIGIO, C.SIGRTMIN + 2] });
        return { args: [C.SIGRTMIN + 2] };
      },
      verify: expectResult(1, '1'),
    },
  ],
  'PosixAio#eventfd': [
    {
      label: 'a plain close() of the eventfd is refused',
      expect: 'return',
      make: (t) => ({ self: t.paio(), args: [] }),
      verify: (v) => (native.close(v) === -os.constants.errno.EBUSY ? null : 'native.close(eventfd) was not refused'),
    },
  ],
  close: [
    {
      label: 'an fd an iomodes object owns',
      expect: 'return',
      make: (t) => {
        const [r] = t.pipe();
        t.own(r);
        return { args: [r] };
      },
      verify: (v) => (v === -os.constants.errno.EBUSY ? null : 'expected -EBUSY, got ' + show(v)),
    },
  ],
  // Names as long as sun_path allows: the address comes back whole.
  getsockname: [
    {
      label: 'a socket bound to a 108-byte abstract name',
      expect: 'return',
      make: (t) => {
        const s = t.socket();
        const name = ('\0iomodes-fuzz-' + process.pid + '-' + ++serial + '-').padEnd(108, 'a');
        t.ok(native.bind(s, C.AF_UNIX, name, 0), 'bind');
        return { args: [s], name };
      },
      verify: (v, c) => (v.path === c.name ? null : 'got back ' + show(v.path)),
    },
    {
      label: 'a socket bound to a 107-byte relative path',
      expect: 'return',
      make: (t) => {
        const s = t.socket();
        const name = ('p' + ++serial + '-').padEnd(107, 'p');
        t.ok(native.bind(s, C.AF_UNIX, name, 0), 'bind');
        return { args: [s], name };
      },
      verify: (v, c) => (v.path === c.name ? null : 'got back ' + show(v.path)),
    },
    {
      label: 'a UDP socket bound to 127.0.0.1',
      expect: 'return',
      make: (t) => {
        const s = t.socket(C.AF_INET, C.SOCK_DGRAM);
        t.ok(native.bind(s, C.AF_INET, '127.0.0.1', 0), 'bind');
        return { args: [s] };
      },
      verify: (v) => (v.address === '127.0.0.1' && v.port > 0 ? null : 'got back ' + JSON.stringify(v)),
    },
  ],
  select: [
    {
      label: 'each list FD_SETSIZE entries long',
      expect: 'return',
      make: (t) => {
        const [r, w] = t.pipe();
        const n = C.FD_SETSIZE;
        return { args: [i32(...new Array(n).fill(r)), i32(...new Array(n).fill(w)), i32(...new Array(n).fill(r)), 0, u8(3 * n)] };
      },
      verify: (v) => (v === 1 ? null : 'expected 1 ready fd, got ' + show(v)),
    },
    {
      label: 'out overlays readFds',
      expect: 'return',
      make: (t) => {
        const [r, w] = t.pipe();
        const rf = i32(r);
        return { args: [rf, i32(w), i32(), 0, new Uint8Array(rf.buffer)] };
      },
      verify: (v) => (v === 1 ? null : 'expected 1 ready fd, got ' + show(v)),
    },
    {
      // out[1] (set: the first write fd is ready) lands on the high byte of
      // the second write fd; a binding that read the lists again after
      // writing out would see fd + 2**24 there.
      label: 'out overlays the high byte of a later fd',
      expect: 'return',
      make: (t) => {
        const [r, w] = t.pipe();
        const b = new ArrayBuffer(16);
        new Int32Array(b, 0, 1)[0] = r;
        new Int32Array(b, 4, 2).set([w, w]);
        return { args: [new Int32Array(b, 0, 1), new Int32Array(b, 4, 2), i32(), 0, new Uint8Array(b, 11, 3)] };
      },
      verify: (v) => (v === 1 ? null : 'expected 1 ready fd, got ' + show(v)),
    },
    {
      label: 'one Int32Array as all three lists, out a Uint8Array over it',
      expect: 'return',
      make: (t) => {
        const l = i32(t.pipe()[1]);
        return { args: [l, l, l, 0, new Uint8Array(l.buffer)] };
      },
    },
    {
      label: 'lists and out over one SharedArrayBuffer',
      expect: 'return',
      make: (t) => {
        const [r, w] = t.pipe();
        const b = new SharedArrayBuffer(16);
        const l = new Int32Array(b, 0, 2);
        l.set([r, w]);
        return { args: [new Int32Array(b, 0, 1), new Int32Array(b, 4, 1), new Int32Array(b, 8, 0), 0, new Uint8Array(b, 6, 2)] };
      },
    },
    {
      label: 'lists on a resizable buffer, out a length-tracking DataView of it',
      expect: 'return',
      make: (t) => {
        const [r, w] = t.pipe();
        const b = rab(8);
        new Int32Array(b).set([r, w]);
        return { args: [new Int32Array(b, 0, 1), new Int32Array(b, 4, 1), i32(), 0, new DataView(b)] };
      },
    },
    { label: 'fd FD_SETSIZE - 1 (closed)', expect: 'return', make: () => ({ args: [i32(), i32(C.FD_SETSIZE - 1), i32(), 0, u8(1)] }) },
    { label: 'fd FD_SETSIZE', expect: 'throw', make: () => ({ args: [i32(C.FD_SETSIZE), i32(), i32(), 0, u8(1)] }) },
    { label: 'fd 2**31 - 1', expect: 'throw', make: () => ({ args: [i32(), i32(), i32(2 ** 31 - 1), 0, u8(1)] }) },
    { label: 'fd -1', expect: 'throw', make: () => ({ args: [i32(), i32(-1), i32(), 0, u8(1)] }) },
    {
      label: 'out one byte short',
      expect: 'throw',
      make: (t) => {
        const [r, w] = t.pipe();
        return { args: [i32(r), i32(w), i32(), 0, u8(1)] };
      },
    },
  ],
  poll: [
    {
      label: 'pollfds over a SharedArrayBuffer',
      expect: 'return',
      make: (t) => {
        const b = new Int32Array(new SharedArrayBuffer(8));
        b[0] = t.pipe()[1];
        b[1] = C.POLLOUT;
        return { args: [b, 1, 0] };
      },
      verify: (v) => (v === 1 ? null : 'expected 1 ready fd, got ' + show(v)),
    },
    {
      label: 'pollfds as a DataView at +4 of its buffer',
      expect: 'return',
      make: (t) => {
        const dv = new DataView(new ArrayBuffer(12), 4);
        dv.setInt32(0, t.pipe()[1], true);
        dv.setInt16(4, C.POLLOUT, true);
        return { args: [dv, 1, 0] };
      },
    },
    {
      label: 'pollfds as a BigInt64Array',
      expect: 'return',
      make: (t) => {
        const b = new BigInt64Array(1);
        new Int32Array(b.buffer).set([t.pipe()[1], C.POLLOUT]);
        return { args: [b, 1, 0] };
      },
    },
    { label: 'pollfds at byteOffset 2', expect: 'throw', make: () => ({ args: [new Uint8Array(new ArrayBuffer(18), 2, 16), 2, 0] }) },
    { label: 'pollfds at byteOffset 1', expect: 'throw', make: () => ({ args: [new Uint8Array(new ArrayBuffer(17), 1, 16), 1, 0] }) },
    {
      label: 'pollfds on a resizable buffer shrunk to one byte short',
      expect: 'throw',
      make: (t) => {
        const [r, w] = t.pipe();
        const b = pollfds([w, C.POLLOUT], [r, C.POLLIN]);
        b.buffer.resize(15);
        return { args: [b, 2, 0] };
      },
    },
    {
      label: 'nfds 0 on a detached buffer',
      expect: 'return',
      make: () => {
        const v = new Uint8Array(16);
        detach(v.buffer);
        return { args: [v, 0, 0] };
      },
    },
    {
      label: 'entries with fd -1 and fd 2**31 - 1',
      expect: 'return',
      make: (t) => ({ args: [pollfds([-1, C.POLLIN], [2 ** 31 - 1, C.POLLIN], [t.pipe()[1], C.POLLOUT]), 3, 0] }),
    },
  ],
  epoll_wait: [
    {
      label: 'out over a SharedArrayBuffer',
      expect: 'return',
      make: (t) => ({ args: [t.epoll(true), new Uint8Array(new SharedArrayBuffer(2 * EV)), 2, 0] }),
      verify: (v) => (v === 1 ? null : 'expected 1 event, got ' + show(v)),
    },
    { label: 'out as a DataView', expect: 'return', make: (t) => ({ args: [t.epoll(true), new DataView(new ArrayBuffer(EV)), 1, 0] }) },
    { label: 'out exactly maxEvents long', expect: 'return', make: (t) => ({ args: [t.epoll(true), new Uint8Array(3 * EV), 3, 0] }) },
    { label: 'maxEvents one too many', expect: 'throw', make: (t) => ({ args: [t.epoll(true), new Uint8Array(3 * EV), 4, 0] }) },
    {
      label: 'out a length-tracking view of a resizable buffer shrunk below one event',
      expect: 'throw',
      make: (t) => {
        const b = u8(4 * EV);
        b.buffer.resize(EV - 1);
        return { args: [t.epoll(true), b, 1, 0] };
      },
    },
  ],
  Watcher: [
    { label: 'called without new', expect: 'throw', make: () => ({ args: [noop], invoke: () => W(noop) }) },
    {
      label: 'called without new, with a watcher as this',
      expect: 'throw',
      make: (t) => {
        const w = t.watcher();
        return { args: [noop], invoke: () => W.call(w, noop) };
      },
    },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ args: [noop], invoke: () => Reflect.construct(W, [noop], Object) }) },
    { label: 'Reflect.construct with a bound newTarget', expect: 'return', make: () => ({ args: [noop], invoke: () => Reflect.construct(W, [noop], function () {}.bind(null)) }) },
    { label: 'a subclass', expect: 'return', make: () => ({ args: [noop], invoke: () => new SubWatcher(noop) }) },
  ],
  Ring: [
    { label: 'called without new', expect: 'throw', code: 'ERR_CONSTRUCT_CALL_REQUIRED', make: () => ({ invoke: () => R() }) },
    {
      label: 'called without new, with a ring as this',
      expect: 'throw',
      code: 'ERR_CONSTRUCT_CALL_REQUIRED',
      make: (t) => {
        const r = t.ring();
        return { invoke: () => R.call(r) };
      },
    },
    { label: 'Reflect.construct with newTarget Object', expect: 'return', make: () => ({ invoke: () => Reflect.construct(R, [], Object) }) },
    { label: 'Reflect.construct with a bound newTarget', expect: 'return', make: () => ({ invoke: () => Reflect.construct(R, [], function () {}.bind(null)) }) },
    { label: 'a subclass', expect: 'return', make: () => ({ invoke: () => new SubRing() }) },
  ],
  // Each flag bit alone: those a Ring allows reach the kernel (which may
  // refuse them), any other is refused before the syscall.
  'Ring#open': [
    ...Array.from({ length: 32 }, (_, bit) => ({
      label: 'flags = 1 << ' + bit,
      expect: (RING_SETUP_FLAGS & (2 ** bit)) !== 0 ? 'return' : 'throw',
      make: () => ({ args: [4, 2 ** bit, 8, 0, -1, 0] }),
    })),
    {
      label: 'open twice',
      expect: 'return',
      make: (t) => ({ self: t.ring(), args: [4, 0, 0, 0, -1, 0] }),
      verify: (v) => (v < 0 ? null : 'a second open() must fail, got ' + show(v)),
    },
    // Found by this test: an open ring answered -EALREADY before looking
    // at the flags, so a flag no Ring allows was not refused.
    {
      label: 'open twice, with a flag a Ring does not allow',
      expect: 'throw',
      code: 'ERR_INVALID_ARG_VALUE',
      make: (t) => ({ self: t.ring(), args: [4, 1 << 14, 0, 0, -1, 0] }),
    },
    {
      label: 'open after close',
      expect: 'return',
      make: (t) => {
        const r = t.ring(false);
        ringCall(r, 'close');
        return { self: r, args: [4, 0, 0, 0, -1, 0] };
      },
      verify: (v) => (v < 0 ? null : 'open() after close() must fail, got ' + show(v)),
    },
  ],
  // Found by this test: an address the kernel cannot take returned its
  // -errno before the slot was decoded, so any slot, a string among them,
  // got -ENAMETOOLONG.
  'Ring#connect': [
    {
      label: 'a string slot with a Unix path too long for sun_path',
      expect: 'throw',
      code: 'ERR_INVALID_ARG_TYPE',
      make: (t) => ({ args: ['0', t.socket(), C.AF_UNIX, 'x'.repeat(200), 0, -1, 0] }),
    },
  ],
  'Ring#read': [
    // The capacity is the CQ's size (twice the 4 SQ entries asked for).
    {
      label: 'the last slot',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        return { self: r, args: [ringGet(r, 'capacity') - 1, t.file(), u8(64), 0, 16, 0, -1, 0] };
      },
      verify: (v) => (v === 0 ? null : 'got ' + show(v)),
    },
    {
      label: 'slot = capacity',
      expect: 'throw',
      code: 'ERR_OUT_OF_RANGE',
      make: (t) => {
        const r = t.ring();
        return { self: r, args: [ringGet(r, 'capacity'), t.file(), u8(64), 0, 16, 0, -1, 0] };
      },
    },
    {
      label: 'a slot already in use',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        t.pipeRead(r, 0);
        return { self: r, args: [0, t.file(), u8(64), 0, 16, 0, -1, 0] };
      },
      verify: (v) => (v === -os.constants.errno.EBUSY ? null : 'expected -EBUSY, got ' + show(v)),
    },
    {
      label: 'every slot, each with a linked timeout (two SQEs each, four times the SQ)',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        for (let s = 1; s < ringGet(r, 'capacity'); s++) t.ok(ringCall(r, 'read', s, t.pipe()[0], u8(8), 0, 8, -1, 60_000, 0), 'Ring#read');
        return { self: r, args: [0, t.pipe()[0], u8(8), 0, 8, -1, 60_000, 0] };
      },
      verify: (v) => (v === 0 ? null : 'got ' + show(v)),
    },
  ],
  'Ring#closeFd': [
    {
      label: "the ring's own fd",
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        return { self: r, args: [0, ringGet(r, 'fd'), -1, 0] };
      },
      verify: (v) => (v === -os.constants.errno.EBUSY ? null : 'expected -EBUSY, got ' + show(v)),
    },
    // Found by this test: the owned-fd check ran before the slot was
    // decoded, so any slot, a string among them, got -EBUSY.
    {
      label: "a string slot with the ring's own fd",
      expect: 'throw',
      code: 'ERR_INVALID_ARG_TYPE',
      make: (t) => {
        const r = t.ring();
        return { self: r, args: ['0', ringGet(r, 'fd'), -1, 0] };
      },
    },
    {
      label: "the ring's eventfd",
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        return { self: r, args: [0, ringGet(r, 'eventfd'), -1, 0] };
      },
      verify: (v) => (v === -os.constants.errno.EBUSY ? null : 'expected -EBUSY, got ' + show(v)),
    },
    // Found by this test: a fixed-file close put fd + 1 in file_index, so
    // fd -1 made it 0, "no fixed file", and the kernel closed sqe->fd: fd 0,
    // whoever owned it (the owned-fd check is skipped for fixed files).
    {
      label: 'fixed file -1 (must not close fd 0)',
      expect: 'throw',
      code: 'ERR_OUT_OF_RANGE',
      make: (t) => {
        const r = t.ring();
        t.ok(ringCall(r, 'registerFiles', i32(t.pipe()[0])), 'Ring#registerFiles');
        return { self: r, args: [0, -1, -1, C.IOSQE_FIXED_FILE] };
      },
      verify: (v, c) => {
        ringCall(c.self, 'submit');
        ringCall(c.self, 'wait', 1000);
        return attempt(() => (fs.fstatSync(0), null), 'returned ' + show(v) + ' and closed fd 0');
      },
    },
    {
      label: 'fixed file 0',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        t.ok(ringCall(r, 'registerFiles', i32(t.pipe()[0])), 'Ring#registerFiles');
        return { self: r, args: [0, 0, -1, C.IOSQE_FIXED_FILE] };
      },
      verify: (v) => (v === 0 ? null : 'got ' + show(v)),
    },
  ],
  // Found by this test: a 0-byte out (a detached buffer: its data pointer
  // is null) made reap() settle every completion without reporting any,
  // and return how many it had settled: the operations' results were lost.
  'Ring#reap': [
    ...[
      ['a detached ArrayBuffer', detached],
      ['ArrayBuffer(0)', () => new ArrayBuffer(0)],
      ['Float64Array over a detached buffer', () => {
        const v = new Float64Array(12);
        detach(v.buffer);
        return v;
      }],
      ['a length-tracking Float64Array of a resizable buffer shrunk to 0', () => {
        const v = new Float64Array(rab(96));
        v.buffer.resize(0);
        return v;
      }],
      ['Float64Array(2): less than one triple', () => new Float64Array(2)],
    ].map(([label, value]) => ({
      label: label + ' (the completion stays)',
      expect: 'return',
      make: () => ({ args: [value()] }),
      verify: (v, c) => {
        if (v !== 0) return 'returned ' + show(v) + ' with no room for a triple';
        const n = ringCall(c.self, 'reap', new Float64Array(12));
        return n === 1 ? null : 'the completion was lost: the next reap() found ' + show(n);
      },
    })),
    {
      label: 'out exactly one triple, at byteOffset 4',
      expect: 'return',
      make: () => ({ args: [new Uint8Array(new ArrayBuffer(28), 4, 24)] }),
      verify: (v) => (v === 1 ? null : 'expected 1 completion, got ' + show(v)),
    },
  ],
  'Ring#statx': [
    { label: 'out a string', expect: 'throw', code: 'ERR_INVALID_ARG_TYPE', make: () => ({ args: [0, C.AT_FDCWD, FILE, 0, C.STATX_BASIC_STATS, 'x'.repeat(512), -1, 0] }) },
    { label: 'out a number', expect: 'throw', code: 'ERR_INVALID_ARG_TYPE', make: () => ({ args: [0, C.AT_FDCWD, FILE, 0, C.STATX_BASIC_STATS, 512, -1, 0] }) },
    { label: 'out one byte short', expect: 'throw', code: 'ERR_OUT_OF_RANGE', make: () => ({ args: [0, C.AT_FDCWD, FILE, 0, C.STATX_BASIC_STATS, u8(C.sizeof_statx - 1), -1, 0] }) },
  ],
  'Ring#timeout': [
    { label: 'ms = -1 (no timeout is no timeout here)', expect: 'throw', code: 'ERR_OUT_OF_RANGE', make: () => ({ args: [0, -1, 0] }) },
    { label: 'ms = 0.5', expect: 'return', make: () => ({ args: [0, 0.5, 0] }) },
  ],
  'Ring#close': [
    {
      label: 'with an operation in flight (its buffer is abandoned)',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        t.pipeRead(r, 0);
        return { self: r };
      },
      verify: (v) => (v === 1 ? null : 'expected 1 abandoned operation, got ' + show(v)),
    },
    {
      label: 'twice',
      expect: 'return',
      make: (t) => {
        const r = t.ring();
        ringCall(r, 'close');
        return { self: r };
      },
      verify: (v) => (v === 0 ? null : 'got ' + show(v)),
    },
  ],
  // Each flag bit alone in io_uring_params (the rest zero): whatever the
  // kernel makes of it, the binding returns a number; any ring is closed.
  io_uring_setup: [
    // Flags that keep the rings in kernel memory pass (bits 0-13, and 16:
    // NO_SQARRAY); NO_MMAP (14), REGISTERED_FD_ONLY (15) and unknown bits
    // are refused before the syscall.
    ...Array.from({ length: 32 }, (_, bit) => ({
      label: 'params.flags = 1 << ' + bit,
      expect: bit < 14 || bit === 16 ? 'return' : 'throw',
      make: () => {
        const p = u8(C.sizeof_io_uring_params);
        new DataView(p.buffer).setUint32(C.offsetof_io_uring_params_flags, 2 ** bit, true);
        return { args: [2, p] };
      },
    })),
    // Found by this test: params could ask the kernel to place the rings in
    // caller memory (IORING_SETUP_NO_MMAP, kernel 6.5+) at any address,
    // here a SharedArrayBuffer's. The kernel wrote the ring header there
    // and kept using the memory as the ring after returning, though nothing
    // pinned the buffer (rule 5), and any other address of the process was
    // as acceptable to it (an arbitrary write from JS). Now refused.
    {
      label: 'params placing the rings in a SharedArrayBuffer (IORING_SETUP_NO_MMAP)',
      expect: 'throw',
      make: () => {
        // Above glibc's largest mmap threshold (32 MiB): its own mapping.
        const sab = new SharedArrayBuffer(64 << 20);
        const base = addressOf(sab);
        if (base === null) throw new Error('could not find the SharedArrayBuffer in /proc/self/mem');
        new Uint8Array(sab).fill(0xee);
        const page = (base + 4095n) & ~4095n;
        const p = u8(C.sizeof_io_uring_params);
        const dv = new DataView(p.buffer);
        dv.setUint32(C.offsetof_io_uring_params_flags, IORING_SETUP_NO_MMAP, true);
        dv.setBigUint64(IORING_SQ_OFF + 32, page, true); // sq_off.user_addr: the SQEs
        dv.setBigUint64(IORING_CQ_OFF + 32, page + 4096n, true); // cq_off.user_addr: the rings
        return { args: [1, p], sab };
      },
      verify: (v, c) => {
        const touched = new Uint8Array(c.sab).findIndex((b) => b !== 0xee);
        if (v < 0 && touched < 0) return null;
        return 'returned ' + show(v) + (touched >= 0 ? ', and the kernel wrote into the SharedArrayBuffer (at +' + touched + ')' : '') +
          ': it uses JS memory as its rings';
      },
    },
  ],
  'Watcher#open': [
    {
      label: 'open twice',
      expect: 'return',
      make: (t) => {
        const w = t.watcher(t.pipe()[0]);
        return { self: w, args: [t.pipe()[0]] };
      },
      verify: (v) => (v < 0 ? null : 'a second open() must fail, got ' + show(v)),
    },
    {
      label: 'open after close',
      expect: 'return',
      make: (t) => {
        const w = t.watcher();
        w.close();
        return { self: w, args: [t.pipe()[0]] };
      },
      verify: (v) => (v < 0 ? null : 'open() after close() must fail, got ' + show(v)),
    },
    { label: 'open a regular file', expect: 'return', make: (t) => ({ self: t.watcher(), args: [t.file()] }) },
    { label: 'open an epoll fd', expect: 'return', make: (t) => ({ self: t.watcher(), args: [t.epoll(true)] }) },
  ],
  'Watcher#start': [
    {
      label: 'start after fs.closeSync of the watched fd',
      expect: 'return',
      make: (t) => {
        const [r] = t.pipe();
        const w = t.watcher(r);
        fs.closeSync(r);
        t.forget(r);
        return { self: w, args: [C.UV_READABLE] };
      },
    },
    {
      label: 'start after the watched fd number was closed and reused',
      expect: 'return',
      make: (t) => {
        const [r] = t.pipe();
        const w = t.watcher(r);
        fs.closeSync(r);
        t.forget(r);
        t.pipe(true); // likely takes number r again
        return { self: w, args: [C.UV_READABLE | C.UV_WRITABLE] };
      },
    },
    {
      label: 'start every event at once',
      expect: 'return',
      make: (t) => ({ self: t.watcher(t.pipe()[0]), args: [C.UV_READABLE | C.UV_WRITABLE | C.UV_DISCONNECT | C.UV_PRIORITIZED] }),
    },
  ],
};

// struct io_uring_params: flags, then sq_off and cq_off (40 bytes each,
// user_addr at +32 in both), from <linux/io_uring.h>.
const IORING_SETUP_NO_MMAP = 1 << 14;
const IORING_SQ_OFF = 40;
const IORING_CQ_OFF = 80;

// The address of a SharedArrayBuffer's first byte: a marker written into
// it, found again through /proc/self/mem near the start of a writable
// mapping large enough to hold the buffer, then confirmed with a second
// marker (the first may have a copy elsewhere). null if not found.
function addressOf(sab) {
  const bytes = new Uint8Array(sab);
  const marker = (k) => Buffer.from('iomodes-fuzz-marker-' + k + '-' + process.pid + '-' + Math.random());
  const mem = fs.openSync('/proc/self/mem', 'r');
  const read = (at, n) => {
    const b = Buffer.alloc(n);
    return b.subarray(0, attempt(() => fs.readSync(mem, b, 0, n, at), 0));
  };
  try {
    const first = marker(1);
    bytes.set(first);
    const regions = [];
    for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      if (!/ rw.p /.test(line)) continue;
      const [start, end] = line.split(' ')[0].split('-').map((x) => BigInt('0x' + x));
      // Not ASan's shadow (terabytes, never the buffer).
      if (end - start >= BigInt(sab.byteLength) && end - start <= 1n << 31n) regions.push([start, end]);
    }
    const confirm = (at) => {
      const second = marker(2);
      bytes.set(second);
      if (read(at, second.length).equals(second)) return true;
      bytes.set(first);
      return false;
    };
    // The buffer's own mapping starts a header away from its data. But the
    // kernel merges it with an adjacent anonymous mapping of the same
    // protection (ASan's allocator makes many), and then the data may be
    // anywhere in the region: scan it whole, a MiB at a time.
    for (const [start] of regions) {
      const at = read(start, 3 * PAGE).indexOf(first);
      if (at >= 0 && confirm(start + BigInt(at))) return start + BigInt(at);
    }
    const CHUNK = 1 << 20;
    for (const [start, end] of regions) {
      for (let from = start; from < end; from += BigInt(CHUNK)) {
        const at = read(from, Math.min(CHUNK + first.length, Number(end - from))).indexOf(first);
        if (at >= 0 && confirm(from + BigInt(at))) return from + BigInt(at);
      }
    }
    return null;
  } finally {
    fs.closeSync(mem);
  }
}

// Exact-size and odd out-parameters: each must be accepted, and the
// binding must write only inside them (ASan watches).
function outCases(size) {
  const cases = [
    { label: 'Uint8Array of exactly ' + size + ' bytes at byteOffset 1', expect: 'return', value: () => new Uint8Array(new ArrayBuffer(size + 1), 1, size) },
    { label: 'Uint8Array of exactly ' + size + ' bytes over a SharedArrayBuffer', expect: 'return', value: () => new Uint8Array(new SharedArrayBuffer(size)) },
    { label: 'DataView of exactly ' + size + ' bytes at byteOffset 3', expect: 'return', value: () => new DataView(new ArrayBuffer(size + 3), 3) },
    { label: 'ArrayBuffer of exactly ' + size + ' bytes', expect: 'return', value: () => new ArrayBuffer(size) },
    { label: 'Uint8Array one byte short', expect: 'throw', value: () => new Uint8Array(size - 1) },
    {
      label: 'length-tracking view of a resizable buffer shrunk one byte short',
      expect: 'throw',
      value: () => {
        const b = rab(size);
        const v = new Uint8Array(b);
        b.resize(size - 1);
        return v;
      },
    },
  ];
  for (const T of elementTypes) {
    if (size % T.BYTES_PER_ELEMENT === 0) {
      cases.push({ label: T.name + ' of exactly ' + size + ' bytes', expect: 'return', value: () => new T(size / T.BYTES_PER_ELEMENT) });
    }
  }
  return cases;
}

// ------------------------------------------------------------ the runner

const results = { area: config.area, counts: {}, codes: {}, outcomes: {}, failures: [], failureCount: 0 };
const MAX_FAILURES = 150;

function fail(binding, label, problem) {
  results.failureCount++;
  if (results.failures.length < MAX_FAILURES) results.failures.push({ binding, call: label, problem });
}

// The function a table key names: an export ('read'), a class's method or
// getter ('Watcher#start'), or a class's static ('Watcher.from').
function resolve(name) {
  const [cls, member] = name.split(/[#.]/);
  if (member === undefined) return native[name];
  const d = Object.getOwnPropertyDescriptor(name.includes('#') ? native[cls].prototype : native[cls], member);
  return d && (d.get ?? d.value);
}

function shapeProblem(returns, v) {
  const isInt = (x) => Number.isInteger(x) && x >= -4095;
  switch (returns ?? 'int') {
    case 'int':
      return isInt(v) ? null : 'returned ' + show(v) + ', not r >= 0 or -errno';
    case 'int|sockaddr':
      return isInt(v) || (v !== null && typeof v === 'object' && typeof v.family === 'number') ? null : 'returned ' + show(v);
    case 'object':
      return v !== null && typeof v === 'object' ? null : 'returned ' + show(v) + ', not an object';
    case 'bool':
      return typeof v === 'boolean' ? null : 'returned ' + show(v) + ', not a boolean';
    case 'fd':
      return Number.isInteger(v) && v >= -1 ? null : 'returned ' + show(v) + ', not an fd or -1';
  }
  return 'unknown return shape';
}

function judge(e, expected, outcome) {
  if (outcome.threw) {
    const err = outcome.err;
    if (err instanceof GetterError) return null;
    if (!(err instanceof Error)) return 'threw a non-Error: ' + show(err);
    if (typeof err.code !== 'string' || err.code === '') return 'threw ' + err.name + ' without a code: ' + err.message;
    if (err.code === 'ERR_OUT_OF_RANGE' && !(err instanceof RangeError)) return 'threw ' + err.code + ' as ' + err.name + ': ' + err.message;
    if (/^ERR_INVALID_(ARG_TYPE|ARG_VALUE|THIS)$/.test(err.code) && !(err instanceof TypeError)) {
      return 'threw ' + err.code + ' as ' + err.name + ': ' + err.message;
    }
    if (expected === 'return') return 'threw ' + err.code + ': ' + err.message;
    return null;
  }
  if (expected === 'throw') return 'returned ' + show(outcome.value) + ' for a value it must reject';
  return shapeProblem(e.returns, outcome.value);
}

function invoke(name, e, fn, c) {
  if (c.invoke) return c.invoke();
  if (e.construct) return Reflect.construct(fn, c.args);
  if (e.getter) return Reflect.apply(fn, c.self, []);
  return Reflect.apply(fn, c.self, c.args);
}

function runCase(name, e, fn, k) {
  const t = new Ctx();
  const label = name + ': ' + k.label;
  let c;
  let expected;
  try {
    c = k.build(t);
    c.t = t;
    // Decided before the call: a getter may change the arguments.
    expected = k.expect ?? (k.racy ? 'either' : expectFor(e, k.position, c.args, c.self));
  } catch (err) {
    fail(name, label, 'fuzz setup failed: ' + (err && err.stack));
    t.cleanup();
    return;
  }
  const before = c.args.map((v) => show(v)).join(', ');
  progress(label + '\n  args: ' + before);
  let outcome;
  const leaked = e.leaks ? native.debug_counters().leakedOnTeardown : 0;
  try {
    outcome = { threw: false, value: invoke(name, e, fn, c) };
  } catch (err) {
    outcome = { threw: true, err };
  }
  if (e.leaks) {
    // close() counts the operations it abandoned, the counter their
    // buffers (a timeout or a poll has none): never more buffers.
    const n = native.debug_counters().leakedOnTeardown - leaked;
    leaksReported += n;
    if (n > 0 && !(n <= outcome.value)) fail(name, label, 'abandoned ' + n + ' buffers but returned ' + show(outcome.value));
  }
  results.counts[name] = (results.counts[name] ?? 0) + 1;
  const o = (results.outcomes[name] ??= { returned: 0, threw: 0, getter: 0 });
  if (!outcome.threw) o.returned++;
  else if (outcome.err instanceof GetterError) o.getter++;
  else {
    o.threw++;
    const codes = (results.codes[name] ??= []);
    const code = outcome.err && outcome.err.code;
    if (typeof code === 'string' && !codes.includes(code)) codes.push(code);
  }
  const problem =
    judge(e, expected, outcome) ??
    (!outcome.threw && k.verify ? k.verify(outcome.value, c) : null) ??
    (outcome.threw && k.code && outcome.err.code !== k.code ? 'threw ' + outcome.err.code + ', expected ' + k.code + ': ' + outcome.err.message : null);
  if (problem) fail(name, label, problem + '\n  args: ' + before + (c.self !== undefined ? '\n  this: ' + show(c.self) : ''));
  try {
    if (!outcome.threw) e.after?.(outcome.value, c, t);
  } catch (err) {
    fail(name, label, 'fuzz cleanup failed: ' + (err && err.stack));
  }
  const ringProblems = ringCleanupProblems.length;
  t.cleanup();
  if (ringCleanupProblems.length > ringProblems) {
    fail(name, label, 'cleanup could not confirm every ring operation done: close() gave ' + ringCleanupProblems.slice(ringProblems).join(', '));
  }
  guardStdio();
}

// 'throw' for a value a decoder must reject; 'return' for one every
// decoder and check accepts (then only the syscall can fail, as -errno);
// 'either' when that cannot be told beforehand (getters, Proxies).
function expectFor(e, position, args, self) {
  const accepted = verdict(e.kinds[position], args[position]);
  const fits = e.check ? e.check(args, self) : true;
  if (accepted === false || fits === false) return 'throw';
  return accepted === true ? 'return' : 'either';
}

// The cases for one binding, made lazily.
function* cases(name, e) {
  const variants = e.variants ? Object.entries(e.variants) : [['', e.make]];
  const base = (make) => (t) => ({ self: e.self ? e.self(t) : undefined, args: make(t), t });
  const n = e.kinds.length;
  for (const [variant, make] of variants) {
    const v = variant ? ' [' + variant + ']' : '';
    const template = base(make);
    yield { label: 'template' + v, expect: 'return', build: template };
    for (let i = 0; i < n; i++) {
      for (const h of HOSTILE) {
        if (h.only && !h.only.includes(e.kinds[i].t)) continue;
        yield {
          label: 'argument ' + i + ' = ' + h.label + v,
          position: i,
          racy: h.racy,
          build: (t) => {
            const c = template(t);
            c.args[i] = h.make(c, i);
            return c;
          },
        };
      }
      if (e.kinds[i].t === 'out') {
        for (const o of outCases(e.kinds[i].size)) {
          yield {
            label: 'argument ' + i + ' = ' + o.label + v,
            expect: o.expect,
            build: (t) => {
              const c = template(t);
              c.args[i] = o.value();
              return c;
            },
          };
        }
      }
    }
  }
  // Whole-argument-list hostility.
  const template = base(variants[0][1]);
  for (let k = 0; k < n; k++) {
    yield {
      label: 'only the first ' + k + ' arguments',
      expect: 'throw',
      build: (t) => {
        const c = template(t);
        c.args = c.args.slice(0, k);
        return c;
      },
    };
  }
  for (const filler of [undefined, null]) {
    yield {
      label: filler + ' for every argument',
      expect: n ? 'throw' : 'return',
      build: (t) => {
        const c = template(t);
        c.args = new Array(n).fill(filler);
        return c;
      },
    };
  }
  // Extra arguments are never read, whatever they are.
  for (const h of e.few ? HOSTILE.filter((h) => FEW.includes(h.label)) : HOSTILE.filter((h) => !h.only)) {
    yield {
      label: 'extra argument ' + h.label,
      expect: 'return',
      build: (t) => {
        const c = template(t);
        c.args.push(h.make(c, c.args.length), h.make(c, c.args.length + 1));
        return c;
      },
    };
  }
  // The receiver: ignored by plain functions, checked by class members.
  const member = name.includes('#');
  const receiverList = THIS_VALUES[member ? name.split('#')[0] : 'Watcher'];
  // few: three strangers, and a member's real receivers (LinuxAio#open's
  // in every state: each open one costs an io_destroy).
  const few = () => [...receiverList.slice(0, 3), ...(member ? receiverList.filter((th) => th.real) : [])];
  for (const th of e.few ? few() : receiverList) {
    yield {
      label: 'this = ' + th.label,
      expect: !member || th.real ? 'return' : 'throw',
      build: (t) => ({ ...template(t), self: th.make(t) }),
    };
  }
  for (const x of EXTRAS[name] ?? []) {
    yield { label: x.label, expect: x.expect, code: x.code, verify: x.verify, build: (t) => ({ self: e.self ? e.self(t) : undefined, args: [], t, ...x.make(t) }) };
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

// Open fds with O_ASYNC set: a SignalIo that forgot one leaves it aimed at
// this thread (fdinfo's flags are octal).
function asyncFdCount() {
  let n = 0;
  for (const name of fs.readdirSync('/proc/self/fdinfo')) {
    const info = attempt(() => fs.readFileSync('/proc/self/fdinfo/' + name, 'utf8'), '');
    const m = /^flags:\s+([0-7]+)/m.exec(info);
    if (m && (parseInt(m[1], 8) & C.O_ASYNC) !== 0) n++;
  }
  return n;
}

// The Watcher with the event loop running: a callback that calls every
// method with hostile arguments and closes its own watcher; a watcher
// whose fd is closed with fs.closeSync while it is started.
async function liveWatchers() {
  const name = 'Watcher (live)';
  const t = new Ctx();
  let calls = 0;
  const [r, w] = t.pipe();
  let watcher;
  const callback = function (status, events) {
    calls++;
    for (const m of ['start', 'stop', 'ref', 'unref', 'hasRef', 'open', 'close', 'start']) {
      for (const h of HOSTILE.slice(0, 40)) {
        const label = 'inside the callback: ' + m + '(' + h.label + ')';
        let outcome;
        try {
          outcome = { threw: false, value: W.prototype[m].call(watcher, h.make({ args: [] }, 0)) };
        } catch (err) {
          outcome = { threw: true, err };
        }
        results.counts[name] = (results.counts[name] ?? 0) + 1;
        const problem = judge({ returns: m === 'hasRef' ? 'bool' : 'int' }, 'either', outcome);
        if (problem) fail(name, label, problem);
      }
    }
    W.prototype.close.call(watcher);
  };
  watcher = t.watcher(w, callback);
  t.ok(watcher.start(C.UV_WRITABLE), 'Watcher#start');
  // Started, then its fd closed under it, then made readable through the
  // other end of the same pipe: libuv polls the watcher's own duplicate.
  const [r2, w2] = t.pipe();
  let calls2 = 0;
  const second = t.watcher(r2, () => {
    calls2++;
    W.prototype.close.call(second);
  });
  t.ok(second.start(C.UV_READABLE), 'Watcher#start');
  fs.closeSync(r2);
  t.forget(r2);
  fs.writeSync(w2, 'wake up');
  for (let k = 0; k < 200 && (calls === 0 || calls2 === 0); k++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (calls !== 1) fail(name, 'a writable watcher', 'its callback ran ' + calls + ' times, expected once');
  if (calls2 !== 1) fail(name, 'a watcher whose fd was closed with fs.closeSync', 'its callback ran ' + calls2 + ' times, expected once');
  t.cleanup();
}

// Hostile values while operations are in flight on the same ring: every
// Ring method that takes arguments, with each position of its template in
// turn hostile, on one ring with reads pending on a pipe, a long timeout,
// a multishot poll and completions waiting to be reaped; the slot rotates
// so calls land on free and busy slots alike, and the ring is submitted
// and reaped between calls. wait() is left out: a valid long timeout on a
// ring where nothing completes would block; openat and accept too, as a
// reap with a hostile buffer would lose the fds they return.
async function liveRing() {
  const name = 'Ring (live)';
  const t = new Ctx();
  const ring = t.ring(false);
  t.ok(ringCall(ring, 'open', 32, 0, 0, 0, -1, 0), 'Ring#open');
  const cap = ringGet(ring, 'capacity');
  t.pipeRead(ring, 0);
  t.ok(ringCall(ring, 'timeout', 2, 60_000, 0), 'Ring#timeout');
  t.ok(ringCall(ring, 'poll', 3, t.pipe()[1], C.POLLOUT, true, -1, 0), 'Ring#poll');
  t.fileRead(ring, 4);
  const reading = t.pipeRead(ring, 1);
  // Registered buffers, one with a fixed read in flight into a view.
  t.ok(ringCall(ring, 'registerBuffers', 4, 4096), 'Ring#registerBuffers');
  t.ok(ringCall(ring, 'readFixed', 5, t.pipe()[0], u8(64), 0, 16, -1, 3, 0, -1, 0), 'Ring#readFixed');
  t.ok(ringCall(ring, 'submit'), 'Ring#submit');
  const out = new Float64Array(3 * cap);
  const sample = HOSTILE.filter((h, k) => !h.only && k % 3 === 0);
  let calls = 0;
  for (const [key, e] of Object.entries(TABLE)) {
    if (!key.startsWith('Ring#') || e.getter || e.kinds.length === 0 || ['Ring#wait', 'Ring#open', 'Ring#openat', 'Ring#accept'].includes(key)) continue;
    const m = key.slice('Ring#'.length);
    const make = e.make ?? Object.values(e.variants)[0];
    for (let i = 0; i < e.kinds.length; i++) {
      // The templates' fds, closed after each position's calls: operations
      // still in flight on them then end (a pipe read sees end of file).
      const tt = new Ctx();
      tt.reading = reading;
      for (const h of sample) {
        const args = make(tt);
        // Slots 6 and up rotate; 0 to 5 keep their operations.
        if (e.kinds[0] === SLOT) args[0] = 6 + (calls % (cap - 6));
        const c = { self: ring, args, t: tt };
        args[i] = h.make(c, i);
        const label = m + ': argument ' + i + ' = ' + h.label;
        progress(name + ': ' + label);
        let outcome;
        try {
          outcome = { threw: false, value: ringCall(ring, m, ...args) };
        } catch (err) {
          outcome = { threw: true, err };
        }
        calls++;
        guardStdio(); // closeFd(-0) closed fd 0
        results.counts[name] = (results.counts[name] ?? 0) + 1;
        const problem = judge(e, 'either', outcome);
        if (problem) fail(name, label, problem);
        if (!outcome.threw) e.after?.(outcome.value, c, t);
        if (calls % 7 === 0) ringCall(ring, 'submit');
        if (calls % 11 === 0) {
          // Reap, closing what openat and accept opened.
          const n = ringCall(ring, 'reap', out);
          const fdSlots = t.fdSlots.get(ring);
          for (let k = 0; k < n; k++) {
            if (out[3 * k + 2] === 0 && out[3 * k + 1] >= 0 && fdSlots && fdSlots.delete(out[3 * k])) attempt(() => fs.closeSync(out[3 * k + 1]));
          }
        }
      }
      tt.cleanup();
      await tick();
    }
  }
  const problems = ringCleanupProblems.length;
  t.cleanup();
  if (ringCleanupProblems.length > problems) fail(name, 'cleanup', 'close() gave ' + ringCleanupProblems.slice(problems).join(', '));
}

function inventory() {
  const names = [];
  for (const key of Object.keys(native)) {
    const v = native[key];
    if (typeof v !== 'function') continue;
    names.push(key);
    if (v.prototype && typeof v.prototype === 'object') {
      for (const p of Object.getOwnPropertyNames(v.prototype)) if (p !== 'constructor') names.push(key + '#' + p);
    }
    for (const p of Object.getOwnPropertyNames(v)) {
      if (!['length', 'name', 'prototype', 'arguments', 'caller'].includes(p)) names.push(key + '.' + p);
    }
  }
  return names;
}

// Heap corruption shows up as a crash or wrong bytes once the allocator
// and the collector have been given some work.
function heapCheck() {
  const keep = [];
  for (let k = 0; k < 3000; k++) {
    const b = Buffer.alloc(1 + ((k * 7919) % 32768), k & 0xff);
    if (b[b.length - 1] !== (k & 0xff)) return false;
    if (k % 3 === 0) keep.push(b);
    if (k % 500 === 0) keep.push(new ArrayBuffer(1 << 20), 'x'.repeat(k));
  }
  gc();
  gc();
  return keep.every((b) => typeof b === 'string' || b.byteLength > 0);
}

async function main() {
  if (config.area === 'inventory') {
    const names = inventory();
    const areas = Object.fromEntries(Object.entries(TABLE).map(([k, e]) => [k, e.area]));
    fs.writeFileSync(config.resultPath, JSON.stringify({ names, areas }));
    return;
  }
  guardStdio();
  // Watchers closed in an earlier tick, for the receiver cases.
  for (let k = 0; k < 4; k++) {
    const w = new W(noop);
    const fds = new Int32Array(2);
    native.pipe2(C.O_NONBLOCK | C.O_CLOEXEC, fds);
    w.open(fds[0]);
    w.close();
    fs.closeSync(fds[0]);
    fs.closeSync(fds[1]);
    CLOSED_WATCHERS.push(w);
  }
  // Rings closed in an earlier tick: one idle, one that had an operation
  // in flight until it was cancelled and reaped.
  for (let k = 0; k < 2; k++) {
    const t = new Ctx();
    const r = t.ring();
    if (k === 1) t.pipeRead(r, 0);
    t.cleanup();
    CLOSED_RINGS.push(r);
  }
  const leakedBefore = native.debug_counters().leakedOnTeardown;
  await startRacer();
  await tick();
  await tick();
  const fdsBefore = fdCount();
  const started = Date.now();
  // Under npm run test:lsan every debug_leak_check() is a whole leak check,
  // seconds each: fuzzing it there would only run out the clock.
  const lsan = process.env.IOMODES_LSAN === '1';
  const bindings = Object.keys(TABLE).filter((k) => TABLE[k].area === config.area && !(lsan && k === 'debug_leak_check'));
  let made = 0;
  for (const name of bindings) {
    const e = TABLE[name];
    const fn = resolve(name);
    if (typeof fn !== 'function') {
      fail(name, 'lookup', 'the addon has no ' + name);
      continue;
    }
    for (const k of cases(name, e)) {
      runCase(name, e, fn, k);
      // Let closed watchers finish closing (each holds a duplicate fd).
      if (++made % 64 === 0) await tick();
    }
  }
  if (config.area === 'watcher') await liveWatchers();
  if (config.area === 'uring') await liveRing();
  if (sharedAio !== null) {
    A.prototype.close.call(sharedAio);
    sharedAio = null;
  }
  progress('(after the calls: health checks)');
  for (let k = 0; k < 5; k++) await new Promise((resolve) => setTimeout(resolve, 10));
  results.bindings = bindings;
  results.ms = Date.now() - started;
  const counters = native.debug_counters();
  results.health = {
    heapOk: heapCheck(),
    watchers: counters.watchers,
    ownedFds: counters.ownedFds,
    fdDrift: fdCount() - fdsBefore,
    asyncFds: asyncFdCount(),
    pinnedOps: counters.pinnedOps,
    // Buffers abandoned beyond those Ring#close calls reported.
    leakedOnTeardown: counters.leakedOnTeardown - leakedBefore - leaksReported,
  };
  results.leaksReported = leaksReported;
  await stopRacer();
  fs.writeFileSync(config.resultPath, JSON.stringify(results));
  if (config.area === 'watcher') {
    // Left open on purpose: an unref'd, started watcher and an owned fd
    // must be closed by the environment's teardown as the process exits.
    const fds = new Int32Array(2);
    native.pipe2(C.O_NONBLOCK | C.O_CLOEXEC, fds);
    const w = new W(noop);
    w.open(fds[0]);
    w.start(C.UV_READABLE | C.UV_WRITABLE);
    w.unref();
    native.fd_own(fds[1]);
    progress('(exiting with a watcher and an owned fd left open)');
  } else if (config.area === 'signal') {
    // Left open on purpose, each with a socket enabled and a record in its
    // pipe: the environment's cleanup hook restores the fds and closes the
    // pipes as the process exits, one object still referenced, one
    // collected (its State then orphaned to the hook).
    const t = new Ctx();
    globalThis.keptSignalIo = t.sio({ signalled: true });
    (() => new Ctx().sio({ signalled: true }))();
    gc();
    await tick();
    progress('(exiting with two SignalIos left open)');
  } else {
    progress('(done)');
  }
}

await main();
`;

interface Failure {
  binding: string;
  call: string;
  problem: string;
}

interface FuzzResult {
  area: string;
  bindings: string[];
  counts: Record<string, number>;
  codes: Record<string, string[]>;
  outcomes: Record<string, { returned: number; threw: number; getter: number }>;
  failures: Failure[];
  failureCount: number;
  ms: number;
  health: { heapOk: boolean; watchers: number; ownedFds: number; fdDrift: number; asyncFds: number; pinnedOps: number; leakedOnTeardown: number };
  leaksReported: number;
}

interface Inventory {
  names: string[];
  areas: Record<string, string>;
}

/** How a child ended, and where it wrote. */
interface Exited {
  area: string;
  resultPath: string;
  progressPath: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  timedOut: boolean;
  stderr: string;
}

/**
 * Starts the child for one area (or 'inventory') in `cwd`, a fresh temp dir,
 * so a relative Unix socket path it binds lands there. Settles (never
 * rejects) once it has exited. Asynchronous, so a child started early keeps
 * running, its output read, while the others run.
 */
function startFuzz(area: string, cwd: string): Promise<Exited> {
  const program = join(cwd, 'native-fuzz-child.mjs');
  writeFileSync(program, CHILD);
  const resultPath = join(cwd, 'result.json');
  const progressPath = join(cwd, 'progress.txt');
  const config = { area, nativeUrl: new URL('native.js', distEntry()).href, resultPath, progressPath };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', program, JSON.stringify(config)], {
      cwd,
      env: process.env, // LD_PRELOAD, ASAN_OPTIONS and IOMODES_ADDON included
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let error: Error | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, CHILD_TIMEOUT);
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (e) => (error = e));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ area, resultPath, progressPath, status, signal, error, timedOut, stderr });
    });
  });
}

/**
 * Asserts the child exited 0 with no signal and no sanitizer report, and
 * returns what it wrote.
 */
function outcome<T = FuzzResult>(r: Exited): T {
  const last = existsSync(r.progressPath) ? readFileSync(r.progressPath, 'utf8').trimEnd() : '(none)';
  const shown =
    `native fuzz child (${r.area}): status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}` +
    `${r.timedOut ? `, killed after ${CHILD_TIMEOUT / 1000} s` : ''}\n` +
    `call in flight: ${last}\n--- child stderr ---\n${r.stderr}`;
  expect({ status: r.status, signal: r.signal }, shown).toEqual({ status: 0, signal: null });
  // UBSan is built not to recover, but say so plainly if a report slips out.
  expect(r.stderr, shown).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error:/);
  return JSON.parse(readFileSync(r.resultPath, 'utf8')) as T;
}

/**
 * Areas whose child spends most of its time asleep, started with the file:
 * their wait overlaps the other children instead of adding to the file's
 * time, and their tests take the result. aio: each LinuxAio it closes waits
 * in io_destroy for an RCU grace period (about 30 ms here, some 270 times: 10
 * of its 12 s, on 2 s of CPU).
 */
const EARLY_AREAS = ['aio'];
const early = new Map<string, { cwd: string; exited: Promise<Exited> }>();

/** Runs the child for `area` (or takes the one started early) and returns what it wrote. */
async function runFuzz<T = FuzzResult>(area: string): Promise<T> {
  const started = early.get(area);
  if (started) return outcome<T>(await started.exited);
  return outcome<T>(await startFuzz(area, tmpDir()));
}

function describeFailures(res: FuzzResult): string {
  const lines = res.failures.map((f) => `- ${f.call}\n    ${f.problem.replace(/\n/g, '\n    ')}`);
  const more = res.failureCount > res.failures.length ? `\n(${res.failureCount - res.failures.length} more)` : '';
  return `${res.failureCount} bad outcomes in ${res.area}:\n${lines.join('\n')}${more}`;
}

describe('native binding fuzz', () => {
  beforeAll(() => {
    for (const area of EARLY_AREAS) {
      const cwd = mkdtempSync(join(tmpdir(), 'iomodes-test-'));
      early.set(area, { cwd, exited: startFuzz(area, cwd) });
    }
  });

  afterAll(async () => {
    for (const { cwd, exited } of early.values()) {
      await exited; // nothing may still be writing in cwd, or hold an fd
      rmSync(cwd, { recursive: true, force: true });
    }
  }, CHILD_TIMEOUT + 30_000);

  it('has a fuzz table entry for every binding, native class members included, and only for bindings that exist', async () => {
    const inv = await runFuzz<Inventory>('inventory');
    const missing = inv.names.filter((n) => !(n in inv.areas));
    const stale = Object.keys(inv.areas).filter((n) => !inv.names.includes(n));
    expect(missing, 'bindings the fuzz table in test/native-fuzz.test.ts has no entry for').toEqual([]);
    expect(stale, 'fuzz table entries for bindings the addon no longer has').toEqual([]);
    const unknownAreas = Object.entries(inv.areas).filter(([, a]) => !AREAS.includes(a));
    expect(unknownAreas, 'entries whose area is not in AREAS (no child would run them)').toEqual([]);
    for (const area of AREAS) expect(Object.values(inv.areas), `no bindings in ${area}`).toContain(area);
    expect(inv.names).toContain('Watcher#start');
    expect(inv.names).toContain('Ring#read');
  });

  for (const area of AREAS) {
    it(`${area}: every call returns or throws an Error with a code, and the child stays healthy`, async () => {
      const res = await runFuzz(area);
      const summary = Object.entries(res.counts)
        .map(([b, n]) => `${b} ${n}`)
        .join(', ');
      console.log(`native fuzz ${area} (${res.ms} ms): ${summary}`);
      expect(res.failures, describeFailures(res)).toEqual([]);
      expect(res.bindings.length).toBeGreaterThan(0);
      for (const b of res.bindings) expect(res.counts[b] ?? 0, `calls made to ${b}`).toBeGreaterThan(20);
      // Each binding with arguments did reject some: its decoders ran.
      for (const b of res.bindings) if (b !== 'debug_counters' && b !== 'debug_leak_check' && !b.startsWith('Watcher#')) expect(res.outcomes[b]!.threw, b).toBeGreaterThan(0);
      // Native code throws only for bad arguments (DESIGN.md): Node's codes for them.
      const codes = new Set(Object.values(res.codes).flat());
      for (const code of codes) expect(ARG_CODES, `a binding threw ${code}`).toContain(code);
      expect(res.health).toEqual({ heapOk: true, watchers: 0, ownedFds: 0, fdDrift: 0, asyncFds: 0, pinnedOps: 0, leakedOnTeardown: 0 });
    }, 2 * CHILD_TIMEOUT);
  }
});
