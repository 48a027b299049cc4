/**
 * The child process of test/api-fuzz.test.ts: a fast-check fuzz of the
 * package as users get it (dist/), every exported function and every
 * member of every exported class, with hostile arguments. Plain JavaScript,
 * so a bare Node runs it.
 *
 * Property, for every call: it returns, or throws / rejects with an Error
 * carrying a non-empty string `code` (errors the fuzz threw itself from a
 * getter or a callback, and values the caller handed in to be thrown, such
 * as `task.kill(error)`'s, pass through). The call in flight is written to a
 * progress file first, so if this process dies the parent names it.
 *
 * argv[2]: JSON { area, distUrl, coroUrl, seed, numRuns (a member's), functionRuns (a
 * function's), internal, progressPath, resultPath }
 */
import fc from 'fast-check';
import * as fs from 'node:fs';
import { types } from 'node:util';

const config = JSON.parse(process.argv[2]);
const io = await import(config.distUrl);
const coro = await import(config.coroUrl);

// ------------------------------------------------------------ reporting

// The call in flight, one pwrite a call, padded over the previous text.
const progressFd = fs.openSync(config.progressPath, 'w');
let progressLength = 0;
function progress(text) {
  const b = Buffer.from(text.padEnd(progressLength));
  progressLength = b.length;
  fs.writeSync(progressFd, b, 0, b.length, 0);
}

const results = { targetMs: {}, counts: {}, outcomes: {}, problems: [], skipped: {}, missing: [], ms: 0 };
let target = '(setup)';
let passedThrough = new Set();

// Problems of the target being fuzzed: fast-check shrinks a failure through
// many runs, and the last one recorded is the smallest.
let found = [];
// The current target's argument lists that got past its checks.
let accepted = [];
function problem(text) {
  found.push({ target, problem: text });
}

// The fuzz's own error, thrown from hostile getters, traps and callbacks:
// with a code, and recognised as passing through (not the library's).
class HostileError extends Error {
  code = 'EFUZZ_HOSTILE';
  constructor() {
    super('thrown on purpose by the fuzz');
  }
}
const boom = () => {
  throw new HostileError();
};

/**
 * 'hostile' (ours, passed through), 'passed' (a value the caller gave to be
 * thrown), 'coded', or null: an error without a code, the defect this fuzz
 * looks for.
 */
function classify(err) {
  if (passedThrough.has(err)) return 'passed';
  // (Before instanceof, which would run a Proxy's getPrototypeOf trap.)
  if (types.isProxy(err)) return null;
  if (err instanceof HostileError) return 'hostile';
  if (err instanceof Error && typeof err.code === 'string' && err.code !== '') return 'coded';
  return null;
}

function show(v) {
  try {
    if (v instanceof Error) return `${v.constructor.name}${v.code === undefined ? ' (no code)' : ` [${String(v.code)}]`}: ${v.message}`;
    if (typeof v === 'symbol' || typeof v === 'bigint') return typeof v === 'bigint' ? `${v}n` : String(v);
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

// Errors nobody awaited: a task that failed unobserved reports its error as
// an unhandled rejection, a callback's throw becomes uncaught. Both are held
// to the same rule, against the target running when they surface.
process.on('unhandledRejection', (err) => {
  if (classify(err) === null) problem(`unhandled rejection without a code: ${show(err)}`);
});
process.on('uncaughtException', (err) => {
  if (classify(err) === null) problem(`uncaught exception without a code: ${show(err)}`);
});

// ------------------------------------------------------------ the arguments

const tick = () => new Promise((resolve) => setImmediate(resolve));
function attempt(fn) {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
function detach(ab) {
  attempt(() => structuredClone(ab, { transfer: [ab] }));
  return ab;
}

/**
 * One run's resources, made on demand (most runs need none) and all
 * released by cleanup(): fds, objects with close(), tasks, promises.
 */
class Ctx {
  fds = [];
  closers = [];
  tasks = [];
  promises = [];
  memo = new Map();
  once(key, make) {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key);
  }
  fd(fd) {
    this.fds.push(fd);
    return fd;
  }
  own(object) {
    this.closers.push(object);
    return object;
  }
  pipe() {
    return this.once('pipe', () => io.pipe({ nonblocking: true }).map((fd) => this.fd(fd)));
  }
  socketpair() {
    return this.once('socketpair', () => io.socketpair({ nonblocking: true }).map((fd) => this.fd(fd)));
  }
  listener() {
    return this.once('listener', () => {
      const fd = this.fd(io.socket('tcp4', { nonblocking: true }));
      io.bind(fd, { host: '127.0.0.1', port: 0 });
      io.listen(fd, 4);
      return { fd, port: io.getsockname(fd).port };
    });
  }
  file() {
    // Read-only: a fuzzed fallocate or pwrite at 2**40 must not fill the disk.
    return this.once('file', () => this.fd(fs.openSync(fileRO, 'r')));
  }
  event() {
    return this.once('event', () => new coro.Event());
  }
  // A task that waits until it is killed (at cleanup).
  waitingTask() {
    return this.once('waitingTask', () => this.task(coro.spawn(waitForever, this.event())));
  }
  task(task) {
    this.tasks.push(task);
    return task;
  }
  // Handled at once (not as an unhandled rejection), judged at cleanup.
  watch(thenable, label) {
    const promise = Promise.resolve(thenable);
    promise.catch(() => {});
    this.promises.push({ promise, label });
  }
  async cleanup() {
    if (this.closeIfBusy?.pending > 0) this.closers.push(this.closeIfBusy);
    for (const task of this.tasks) if (!task.done) attempt(() => task.kill());
    for (const object of this.closers.reverse()) await closeQuietly(object);
    // Settled by now, or never will be: the kill and close above end every
    // wait a call could have started.
    for (const { promise, label } of this.promises) {
      const outcome = await bounded(promise, 2000);
      if (outcome === 'pending') problem(`still pending after its task was killed and its object closed: ${label}`);
      else judge(outcome, label);
    }
    for (const fd of this.fds) {
      try {
        io.close(fd);
      } catch {
        // closed by the fuzzed call
      }
    }
  }
}

async function closeQuietly(object) {
  try {
    if (object instanceof coro.Task) {
      if (!object.done) await bounded(Promise.resolve(object.kill()), 2000);
    } else if (object instanceof coro.Timeout) object.cancel();
    else if (object instanceof coro.MapResults) await bounded(Promise.resolve(object.close()), 2000);
    else if (object instanceof coro.Pool || object instanceof coro.Group) await bounded(Promise.resolve(object.kill()), 2000);
    else if (object instanceof coro.Hub) {
      if (!object.closed) object.close();
    } else object.close?.();
  } catch {
    // a fuzzed call may have closed it, or left it in a state close refuses
  }
}

function* waitForever(event) {
  yield* event.wait();
}

const fileRO = `${process.cwd()}/file`;
fs.writeFileSync(fileRO, 'x'.repeat(8192));

// Marks a task body that waits on an fd nobody writes (see runBounded).
const WAITS_ON_AN_FD = Symbol('waits on an fd');

/** A value to pass: made fresh each run (fds, buffers), printed by its label. */
class Recipe {
  constructor(label, make) {
    this.label = label;
    this.make = make;
  }
  [fc.toStringMethod]() {
    return this.label;
  }
}
const r = (label, make) => new Recipe(label, make);
const value = (label, v) => r(label, () => v);

// An object whose every trap throws our (coded) error.
const hostileProxy = () =>
  new Proxy(
    {},
    {
      get: boom,
      has: boom,
      ownKeys: boom,
      getOwnPropertyDescriptor: boom,
      getPrototypeOf: boom,
      set: boom,
      apply: boom,
      construct: boom,
    },
  );

// The option names the API reads somewhere, to build hostile option objects.
const OPTION_KEYS = [
  'nonblocking', 'cloexec', 'timeoutMs', 'signal', 'capacity', 'maxEvents', 'backend', 'clock', 'count', 'raiseError',
  'position', 'offset', 'length', 'flags', 'mode', 'host', 'port', 'path', 'events', 'fd', 'soft', 'hard', 'type',
  'backlog', 'noDelay', 'sqpoll', 'entries', 'fixedFile', 'dirfd', 'maxsize', 'compare', 'semaphore', 'initval',
  'rescanOnOverflow', 'owner', 'direct', 'sync', 'bufIndex', 'bufOffset', 'ioPriority', 'dio', 'start', 'end',
];

const numbers = [
  value('NaN', NaN), value('Infinity', Infinity), value('-Infinity', -Infinity), value('-0', -0), value('0.5', 0.5),
  value('-1', -1), value('-2', -2), value('2**31-1', 2 ** 31 - 1), value('2**31', 2 ** 31), value('2**32', 2 ** 32),
  value('2**32+1', 2 ** 32 + 1), value('2**53', 2 ** 53), value('-(2**53)', -(2 ** 53)), value('1e308', 1e308),
  value('Number.MIN_VALUE', Number.MIN_VALUE), value('100000 (never opened)', 100000),
];
// Small, plausible numbers: lengths, counts, flags, timeouts.
const plausibleNumbers = [value('0', 0), value('1', 1), value('1024', 1024), value('4096', 4096), value('1.5', 1.5)];
const others = [
  value('undefined', undefined), value('null', null), value('true', true), value('false', false),
  value('""', ''), value('"x"', 'x'), value('"a\\0b"', 'a\0b'), value('"\\0abstract"', '\0abstract'),
  value('"x" * 5000', 'x'.repeat(5000)), value('lone surrogate', '\ud800'), value('"__proto__"', '__proto__'),
  value('"r"', 'r'), value('"w+"', 'w+'), value('"tcp4"', 'tcp4'), value('"unix"', 'unix'), value('"udp6"', 'udp6'),
  value('"read"', 'read'), value('"both"', 'both'), value('"poll"', 'poll'), value('"io_uring"', 'io_uring'),
  value('"virtual"', 'virtual'), value('"nofile"', 'nofile'), value('"punch-hole"', 'punch-hole'), value('"sequential"', 'sequential'),
  value('"127.0.0.1"', '127.0.0.1'), value('"."', '.'), value('"/dev/null"', '/dev/null'), value('"no/such/dir"', 'no/such/dir'),
  value('"SIGIO"', 'SIGIO'), value('"SIGRTMIN+3"', 'SIGRTMIN+3'),
  value('Symbol()', Symbol('fuzz')), value('Symbol.iterator', Symbol.iterator),
  value('0n', 0n), value('-1n', -1n), value('2n**64n', 2n ** 64n), value('7n', 7n),
  r('{}', () => ({})), r('[]', () => []), r('[0, 1]', () => [0, 1]), r('Object.create(null)', () => Object.create(null)),
  r('new Date(0)', () => new Date(0)), r('/x/', () => /x/), r('new Map()', () => new Map()),
  r('sparse array', () => [, 1]),
  r('a Proxy whose traps throw', hostileProxy),
  // Options whose every field's getter throws (a code: ours, passed through).
  r('an object whose getters throw', () => Object.defineProperties({}, Object.fromEntries(OPTION_KEYS.map((k) => [k, { get: boom, enumerable: true }])))),
  r('an array whose element getter throws', () => Object.defineProperty([1, 2], 0, { get: boom })),
  r('Promise.resolve(1)', () => Promise.resolve(1)),
  r('a rejected promise', () => {
    const p = Promise.reject(new HostileError());
    p.catch(() => {});
    return p;
  }),
  r('a thenable whose then throws', () => ({ then: boom })),
  // Functions a callback or a task body may be given.
  value('() => 42 (junk)', () => 42),
  value('a function that throws', boom),
  value('async () => {}', async () => {}),
  value('function* returning 1', function* () {
    return 1;
  }),
  value('function* yielding junk', function* () {
    yield 42;
  }),
  value('function* that throws', function* () {
    yield* coro.sleep(0);
    boom();
  }),
  value('function* sleeping 1e9 ms', function* () {
    yield* coro.sleep(1e9);
  }),
  r('function* waiting on an empty pipe', (c) => {
    const [fd] = c.pipe();
    return Object.assign(
      function* () {
        yield* coro.waitReadable(fd);
      },
      { [WAITS_ON_AN_FD]: fd },
    );
  }),
  // Buffers.
  r('Buffer(0)', () => Buffer.alloc(0)), r('Buffer(1)', () => Buffer.alloc(1)), r('Buffer(64)', () => Buffer.alloc(64)),
  r('Uint8Array(4096)', () => new Uint8Array(4096)), r('Float64Array(3)', () => new Float64Array(3)),
  r('DataView(8)', () => new DataView(new ArrayBuffer(8))), r('ArrayBuffer(16)', () => new ArrayBuffer(16)),
  r('SharedArrayBuffer(16)', () => new SharedArrayBuffer(16)),
  r('detached Buffer', () => {
    const b = Buffer.alloc(64);
    detach(b.buffer);
    return b;
  }),
  r('detached ArrayBuffer', () => detach(new ArrayBuffer(64))),
  r('DataView over a detached buffer', () => {
    const ab = new ArrayBuffer(64);
    const dv = new DataView(ab);
    detach(ab);
    return dv;
  }),
  r('view of a resizable buffer shrunk to 0', () => {
    const ab = new ArrayBuffer(64, { maxByteLength: 128 });
    const v = new Uint8Array(ab, 16, 16);
    ab.resize(0);
    return v;
  }),
  r('allocAligned(4096)', () => io.allocAligned(4096)),
  r('[Buffer(8), Buffer(8)]', () => [Buffer.alloc(8), Buffer.alloc(8)]),
  r('[detached Buffer]', () => {
    const b = Buffer.alloc(8);
    detach(b.buffer);
    return [b];
  }),
  r('[junk]', () => ['x', 1]),
  // fds.
  r('fd: empty non-blocking pipe, read end', (c) => c.pipe()[0]),
  r('fd: pipe write end', (c) => c.pipe()[1]),
  r('fd: socketpair end', (c) => c.socketpair()[0]),
  r('fd: listening TCP socket', (c) => c.listener().fd),
  r('fd: read-only file', (c) => c.file()),
  r('fd: closed', () => {
    const [a, b] = io.pipe();
    io.close(a);
    io.close(b);
    return a;
  }),
  // Structured values the API takes.
  r('{ host: 127.0.0.1, port: <listening> }', (c) => ({ host: '127.0.0.1', port: c.listener().port })),
  r('{ host: "::1", port: 1 }', () => ({ host: '::1', port: 1 })),
  r('{ path: "sock" }', () => ({ path: 'sock' })),
  r('{ host: "localhost", port: 80 }', () => ({ host: 'localhost', port: 80 })),
  r('[{ fd: pipe write end, events: OUT }]', (c) => [{ fd: c.pipe()[1], events: io.POLL.OUT }]),
  r('[{ fd: -1 }]', () => [{ fd: -1 }]),
  r('{ soft: 0, hard: 0 }', () => ({ soft: 0, hard: 0 })),
  r('{ soft: Infinity, hard: Infinity }', () => ({ soft: Infinity, hard: Infinity })),
  r('an aborted AbortSignal', () => AbortSignal.abort(new HostileError())),
  r('an AbortSignal', () => new AbortController().signal),
  r('{ signal: an aborted AbortSignal }', () => ({ signal: AbortSignal.abort(new HostileError()) })),
  r('a live Task', (c) => c.waitingTask()),
  r('[a live Task]', (c) => [c.waitingTask()]),
  r('an ended Task', (c) => c.task(coro.spawn(function* () {}))),
  r('an Event', (c) => c.event()),
  r('a closed Epoll', () => {
    const ep = io.Epoll.create();
    ep.close();
    return ep;
  }),
  r('an Epoll', (c) => c.once('epoll', () => c.own(io.Epoll.create()))),
  r('TaskExit', () => new coro.TaskExit()),
];

// Integers 2..1023 may be fds of this process (stderr, libuv's own, the
// progress file): a fuzzed close() of one would break Node, not iomodes.
// 0 and 1 stay (stdin and stdout are /dev/null in this child).
const notOurFd = (n) => !(Number.isInteger(n) && n >= 2 && n < 1024);
const flat = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...others) },
  { weight: 2, arbitrary: fc.constantFrom(...numbers) },
  { weight: 2, arbitrary: fc.constantFrom(...plausibleNumbers) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 + 2 }).filter(notOurFd).map((n) => value(String(n), n)) },
  { weight: 1, arbitrary: fc.double().filter(notOurFd).map((n) => value(Object.is(n, -0) ? '-0' : String(n), n)) },
);
// An options object: known option names with hostile values.
const optionsObject = fc.array(fc.tuple(fc.constantFrom(...OPTION_KEYS), flat), { maxLength: 3 }).map((entries) =>
  r(`{ ${entries.map(([k, v]) => `${k}: ${v.label}`).join(', ')} }`, (c) => Object.fromEntries(entries.map(([k, v]) => [k, v.make(c)]))),
);
const arg = fc.oneof({ weight: 5, arbitrary: flat }, { weight: 1, arbitrary: optionsObject });
const argList = fc.array(arg, { maxLength: 5 });

// ------------------------------------------------------------ calling

/** Waits for `promise` up to `ms`: { ok, value } | { ok: false, error } | 'pending'. */
async function bounded(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve(promise).then(
        (value) => ({ ok: true, value }),
        (error) => ({ ok: false, error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function judge(outcome, label) {
  if (outcome.ok) return 'returned';
  const kind = classify(outcome.error);
  if (kind === null) {
    problem(`${label}: an error without a code: ${show(outcome.error)}`);
    return 'bad';
  }
  return kind;
}

// Classes the fuzz makes instances of; their instances are not driven as operations.
const isPlainIterableClass = (v) => [coro.Group, coro.Pool, coro.MapResults, coro.CompletedTasks].some((C) => v instanceof C);

/** A coro operation (or awaitable): something to yield* inside a task. */
function isOperation(v) {
  if (v === null || typeof v !== 'object' || v instanceof coro.Task || types.isProxy(v)) return false;
  const iterable = typeof v[Symbol.iterator] === 'function' && !Array.isArray(v) && !types.isTypedArray(v) && !isPlainIterableClass(v);
  // A generator or an operation object (next and throw), or an awaitable;
  // not a plain iterator (a Set's), which yields values, not instructions.
  return iterable && (typeof v.then === 'function' || (typeof v.next === 'function' && typeof v.throw === 'function'));
}

/**
 * Takes charge of what a call returned: closes fds and objects it opened,
 * tracks tasks, and drives what waits (a coro operation inside a task, a
 * promise, an async iterator's first step) so its outcome is judged.
 */
function adopt(result, c, before, label) {
  const fdsNow = () => new Set(fs.readdirSync('/proc/self/fd'));
  const numbers = typeof result === 'number' ? [result] : ownValues(result).filter((x) => typeof x === 'number');
  if (numbers.length > 0) {
    const now = fdsNow();
    for (const n of numbers) if (Number.isInteger(n) && now.has(String(n)) && !before.has(String(n))) c.fd(n);
  }
  // (A hostile Proxy handed back is the caller's own: nothing to adopt.)
  if (result === null || (typeof result !== 'object' && typeof result !== 'function') || types.isProxy(result)) return;
  if (result instanceof coro.Task) c.task(result);
  for (const x of ownValues(result)) if (x instanceof coro.Task) c.task(x);
  if (typeof result.close === 'function' || result instanceof coro.Timeout || result instanceof coro.Hub) c.own(result);
  if (isOperation(result)) {
    // A coro operation: yield* it inside a task, killed at cleanup if it still waits.
    // What it gives is adopted in turn, not made the driver's value: a Task
    // (pool.spawn's) is a thenable that awaiting the driver would wait for.
    const driver = coro.spawn(function* () {
      adopt(yield* result, c, before, `${label}'s value`);
    });
    c.task(driver);
    c.watch(driver, label);
  } else if (typeof result.then === 'function') {
    c.watch(result, label);
  } else if (typeof result[Symbol.asyncIterator] === 'function' && typeof result.next === 'function') {
    c.watch(
      (async () => {
        const first = bounded(result.next(), 20);
        const r = await first;
        await result.return?.();
        if (r !== 'pending' && !r.ok) throw r.error;
      })(),
      `${label}: next()`,
    );
  }
}

/** Every argument value, and what arrays among them hold: what a call may throw back. */
function collectPassed(values) {
  const set = new Set();
  for (const v of values) {
    set.add(v);
    for (const x of ownValues(v)) set.add(x);
  }
  return set;
}

// An array's elements, read without running a getter or a Proxy trap (a
// hostile argument may come back as a result too).
function ownValues(v) {
  if (!Array.isArray(v) || types.isProxy(v)) return [];
  const out = [];
  for (let k = 0; k < v.length; k++) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (d !== undefined && 'value' in d) out.push(d.value);
  }
  return out;
}

// Waits that block the thread (epoll_wait, poll, select): a timeout
// argument that would wait long becomes 0 (its hostile non-numbers stay).
const BLOCKING_TIMEOUT = { 'iomodes.select': 3, 'iomodes.poll': 1, 'Poller#poll': 0, 'Epoll#wait': 1, 'Epoll#waitEach': 1 };
function unblock(name, args) {
  const i = BLOCKING_TIMEOUT[name.replace(/ \(.*\)$/, '')];
  if (i === undefined) return;
  const t = args[i];
  // undefined, -1 and Infinity wait forever; more than 5 ms is too long here.
  if (t === undefined || t === -1 || (typeof t === 'number' && t > 5)) args[i] = 0;
}

/**
 * One fuzzed call: `invoke(args)` makes it; the outcome is judged, then
 * everything it left is released. Returns false on a problem (for fast-check).
 */
async function fuzzCall(name, recipes, invoke, setup, arity) {
  const c = new Ctx();
  const problemsBefore = found.length;
  let args = [];
  const label = `${name}(${recipes.map((x) => x.label).join(', ')})`;
  try {
    // Not `await setup(c)` when it is synchronous: a Task is a thenable.
    const made = setup?.(c);
    let self = made instanceof Promise ? await made : made;
    if (self !== null && typeof self === 'object' && 'boxed' in self) self = self.boxed;
    args = recipes.map((x) => x.make(c));
    unblock(name, args);
    passedThrough = collectPassed(args);
    // An argument left out is undefined, given by the caller: task.throw()
    // throws it into the task, as task.throw(undefined) would.
    if (args.length < arity) passedThrough.add(undefined);
    const before = new Set(fs.readdirSync('/proc/self/fd'));
    progress(label);
    let outcome;
    try {
      outcome = { ok: true, value: invoke(self, args, c) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    results.counts[name] = (results.counts[name] ?? 0) + 1;
    const o = (results.outcomes[name] ??= { returned: 0, threw: 0, passed: 0 });
    const kind = judge(outcome, label);
    if (kind === 'returned') o.returned++;
    else if (kind === 'hostile' || kind === 'passed') o.passed++;
    else o.threw++;
    // Arguments that got past the checks (it returned, or the syscall
    // failed): the mutation phase starts from these, to reach the checks
    // of later arguments.
    if (outcome.ok || (kind === 'coded' && !String(outcome.error.code).startsWith('ERR_INVALID_ARG') && outcome.error.code !== 'ERR_OUT_OF_RANGE')) accepted.push(recipes);
    if (outcome.ok) adopt(outcome.value, c, before, label);
    // A few turns for what the call started (a task, a completion) to run.
    for (let k = 0; k < 3; k++) await tick();
  } finally {
    await c.cleanup();
    await restoreHub();
  }
  if (config.area.startsWith('coro')) {
    if (!idle()) problem(`${label}: the hub is not idle afterwards: ${JSON.stringify(coro.useHub().counts)}`);
    // And it still runs a task: a call must not leave the scheduler stuck.
    const probe = await bounded(coro.spawn(function* () {
      return 'ran';
    }), 2000);
    if (probe === 'pending' || probe.value !== 'ran') problem(`${label}: afterwards, a new task never runs (the hub is stuck): ${JSON.stringify(coro.useHub().counts)}`);
  }
  return found.length === problemsBefore;
}

// The coro areas run on a virtual clock, so a fuzzed sleep(1e9) ends at once;
// a fuzzed createHub() or Hub#close() is undone after each call.
let hub;
async function restoreHub() {
  if (!config.area.startsWith('coro')) return;
  if (hub === undefined || hub.closed || attempt(() => coro.useHub()) !== hub) {
    for (let k = 0; k < 3; k++) await tick();
    hub = coro.createHub({ clock: 'virtual' });
  }
}
function idle() {
  const counts = coro.useHub().counts;
  return ['tasks', 'parked', 'ready', 'timers', 'waiters', 'calls', 'registrations'].every((k) => counts[k] === 0);
}

// A stable 32-bit seed per target, so adding a target changes no other's runs.
function seedFor(name) {
  let h = config.seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h | 0;
}

async function fuzz(name, invoke, setup, extra = fc.constant(undefined), arity = 0, numRuns = config.numRuns) {
  // IOMODES_FUZZ_ONLY (a regular expression) narrows a run to some targets, to reproduce one.
  if (process.env.IOMODES_FUZZ_ONLY && !new RegExp(process.env.IOMODES_FUZZ_ONLY).test(name)) return;
  if (config.internal.includes(name)) {
    results.skipped[name] = 'internal (@internal in its TSDoc)';
    return;
  }
  target = name;
  found = [];
  accepted = [];
  const t0 = Date.now();
  const run = (recipes, x) => fuzzCall(name, recipes, (self, args, c) => invoke(self, args, c, x), setup, arity);
  let details = await fc.check(fc.asyncProperty(argList, extra, run), { seed: seedFor(name), numRuns });
  // Then mutations of argument lists that got past the checks: one position
  // made hostile (or one argument more), the others kept.
  if (!details.failed && accepted.length > 0) {
    const bases = accepted;
    const mutated = fc.tuple(fc.nat(), fc.nat(), arg).map(([b, i, v]) => {
      const base = bases[b % bases.length];
      const copy = base.slice();
      copy[i % (base.length + 1)] = v;
      return copy;
    });
    details = await fc.check(fc.asyncProperty(mutated, extra, run), { seed: seedFor(`${name} mutated`), numRuns: Math.ceil(numRuns / 2) });
  }
  if (details.failed && found.length === 0) {
    // The property itself threw: a fault of this harness (a factory), not of the call.
    problem(`the fuzz harness failed: ${details.errorInstance?.stack ?? details.error}`);
  }
  if (found.length > 0) {
    const last = found[found.length - 1];
    const shown = details.counterexample ? fc.stringify(details.counterexample[0]) : '(none)';
    // The first failing call too: when a call leaves state behind, the
    // shrunk one only shows the aftermath.
    const first = found[0].problem === last.problem ? '' : `\n  first failing call: ${found[0].problem}`;
    results.problems.push({ target: name, problem: `${last.problem}\n  fast-check counterexample (shrunk, seed ${config.seed}): ${shown}${first}`, seen: found.length });
    found = [];
  }
  target = `(after ${name})`;
  results.targetMs[name] = Date.now() - t0;
}

// ------------------------------------------------------------ what to call

const isClass = (v) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

/**
 * Not called at random, and why. Everything else exported is.
 */
const SKIP = {
  // Lowers this process's own limits: RLIMIT_NOFILE at 0 leaves the child
  // unable to write its result, RLIMIT_SIGPENDING at 0 breaks its SignalIo:
  // it would fail of the limit, not of a defect. Fuzzed instead with its
  // resource pinned to 'memlock' (below), which this kernel (6.x: io_uring
  // is charged to the memory cgroup) no longer consults, put back after.
  'iomodes.setrlimit': 'wrapped: resource pinned to "memlock", restored after each call',
  // Would block this thread for good given a main that waits on an empty pipe.
  'coro.run': 'wrapped: a main waiting on an fd nobody writes gets a timeout',
};
// run() drives the hub itself, blocking this thread in epoll_wait until its
// main task ends: a main that waits on a pipe nobody writes would block it
// for good (a legitimate wait, not a defect). That main is given a timeout
// (on the virtual clock, it fires as soon as nothing else can run).
function runBounded(args) {
  if (typeof args[0] === 'function' && args[0][WAITS_ON_AN_FD] !== undefined) {
    const fd = args[0][WAITS_ON_AN_FD];
    args[0] = function* () {
      yield* coro.withTimeout(10, coro.waitReadable(fd));
    };
  }
  return coro.run(...args);
}

// setrlimit with any valid resource name turned into 'memlock'.
const pinnedLimit = io.getrlimit('memlock');
function setrlimitCore(args) {
  const RESOURCES = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];
  if (typeof args[0] === 'string' && RESOURCES.includes(args[0])) args[0] = 'memlock';
  try {
    return io.setrlimit(...args);
  } finally {
    attempt(() => io.setrlimit('memlock', pinnedLimit));
  }
}

/** Live and closed (or used-up) instances of each exported class. */
const asyncOpen = (C) => ({ live: (c) => c.own(C.create()), closed: () => closed(C.create()) });
function closed(object) {
  object.close();
  return object;
}
// A Task is a thenable: an async factory returns it in a box, or awaiting
// the factory would wait for the task instead of giving it.
const box = (it) => ({ boxed: it });
async function endedTask(c) {
  const t = c.task(coro.spawn(function* () {}));
  await t;
  return box(t);
}
const FACTORIES = {
  IoError: { live: () => new io.IoError(9, 'read', { fd: 3 }) },
  Poller: { live: () => new io.Poller() },
  Epoll: asyncOpen(io.Epoll),
  Ring: asyncOpen(io.Ring),
  // io_destroy waits out an RCU grace period (~30 ms a close): one instance
  // per target and state, made again only when a call closed it or left
  // operations in flight (closed then, to settle them).
  LinuxAio: { shared: true, live: () => io.LinuxAio.create(), closed: () => closed(io.LinuxAio.create()) },
  PosixAio: asyncOpen(io.PosixAio),
  ThreadpoolIo: asyncOpen(io.ThreadpoolIo),
  SignalIo: { live: (c) => c.own(new io.SignalIo()), closed: () => closed(new io.SignalIo()) },
  TaskExit: { live: () => new coro.TaskExit() },
  TimeoutError: { live: () => new coro.TimeoutError(5) },
  Hub: { live: (c) => (hub = coro.createHub({ clock: 'virtual' })), closed: () => closed(coro.createHub({ clock: 'virtual' })) },
  Task: { live: (c) => c.waitingTask(), ended: endedTask },
  Timeout: {
    // Timeout.start() needs a task; the timeout outlives its call here.
    live: (c) => startedTimeout(c),
    ended: async (c) => {
      const t = (await startedTimeout(c)).boxed;
      t.cancel?.();
      return box(t);
    },
  },
  Event: { live: () => new coro.Event(), ended: () => withCall(new coro.Event(), (e) => e.set()) },
  AsyncResult: { live: () => new coro.AsyncResult(), ended: () => withCall(new coro.AsyncResult(), (a) => a.set(1)) },
  Semaphore: { live: () => new coro.Semaphore(1), ended: () => withCall(new coro.Semaphore(1), (s) => s.tryAcquire()) },
  BoundedSemaphore: { live: () => new coro.BoundedSemaphore(1), ended: () => withCall(new coro.BoundedSemaphore(1), (s) => s.tryAcquire()) },
  Lock: { live: () => new coro.Lock(), ended: () => withCall(new coro.Lock(), (s) => s.tryAcquire()) },
  RLock: { live: () => new coro.RLock() },
  Queue: { live: () => new coro.Queue(2), ended: () => withCall(new coro.Queue(1), (q) => q.tryPut(1)) },
  LifoQueue: { live: () => new coro.LifoQueue(2), ended: () => withCall(new coro.LifoQueue(1), (q) => q.tryPut(1)) },
  PriorityQueue: { live: () => new coro.PriorityQueue(), ended: () => withCall(new coro.PriorityQueue(), (q) => q.tryPut(1)) },
  JoinableQueue: { live: () => new coro.JoinableQueue(2), ended: () => withCall(new coro.JoinableQueue(1), (q) => q.tryPut(1)) },
  Group: {
    live: (c) => withCall(c.own(new coro.Group()), (g) => g.add(c.waitingTask())),
    ended: async (c) => {
      const g = new coro.Group();
      g.add(c.waitingTask());
      await g.kill();
      return g;
    },
  },
  Pool: {
    live: (c) => c.own(new coro.Pool(2)),
    ended: async (c) => {
      const p = new coro.Pool(1);
      await p.kill();
      return p;
    },
  },
  MapResults: {
    live: (c) => c.own(new coro.Pool(2).imapUnordered(function* (x) { return x; }, [1, 2])),
    ended: async (c) => {
      const m = new coro.Pool(2).imapUnordered(function* (x) { return x; }, [1]);
      await m.close();
      return m;
    },
  },
  CompletedTasks: { live: (c) => coro.asCompleted([c.waitingTask()]), ended: async (c) => coro.asCompleted([(await endedTask(c)).boxed]) },
  Server: {
    live: (c) => c.own(coro.net.listen({ host: '127.0.0.1', port: 0 })),
    closed: () => closed(coro.net.listen({ host: '127.0.0.1', port: 0 })),
  },
  Stream: { live: (c) => connected(c), closed: async (c) => closed(await connected(c)) },
};
async function startedTimeout(c) {
  const made = {};
  const t = c.task(
    coro.spawn(function* () {
      made.timeout = coro.Timeout.start(1e9);
      yield* waitForever(c.event());
    }),
  );
  await tick();
  c.own(made.timeout);
  return box(made.timeout ?? t);
}
async function connected(c) {
  const server = c.own(coro.net.listen({ host: '127.0.0.1', port: 0 }));
  const { port } = io.getsockname(server.fd);
  return c.own(
    await coro.spawn(function* () {
      return yield* coro.net.connect({ host: '127.0.0.1', port });
    }),
  );
}
function withCall(object, fn) {
  fn(object);
  return object;
}

/** The exports of a namespace, nested namespaces (coro's `net`) included. */
function exportsOf(prefix, ns) {
  const out = [];
  for (const key of Object.keys(ns)) {
    const v = ns[key];
    if (v !== null && typeof v === 'object' && Object.prototype.toString.call(v) === '[object Module]') out.push(...exportsOf(`${prefix}.${key}`, v));
    else out.push({ name: `${prefix}.${key}`, key, value: v });
  }
  return out;
}

/** Own members of a class's prototypes, up to (not into) Object, Error and EventEmitter. */
function membersOf(C) {
  const members = new Map();
  const stop = new Set([Object.prototype, Error.prototype, Function.prototype]);
  for (let p = C.prototype; p && !stop.has(p) && p.constructor?.name !== 'EventEmitter'; p = Object.getPrototypeOf(p)) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor' || members.has(key)) continue;
      members.set(key, Object.getOwnPropertyDescriptor(p, key));
    }
  }
  return members;
}

async function fuzzFunctions(prefix, ns) {
  for (const { name, value: fn } of exportsOf(prefix, ns)) {
    if (typeof fn !== 'function' || isClass(fn)) continue;
    if (SKIP[name]) results.skipped[name] = SKIP[name];
    const call = name === 'iomodes.setrlimit' ? (self, args) => setrlimitCore(args) : name === 'coro.run' ? (self, args) => runBounded(args) : (self, args) => fn(...args);
    if (prefix === 'coro') {
      // Outside any task, or inside one (where operations run for real).
      await fuzz(name, (self, args, c, inside) => (inside ? insideTask(c, () => call(self, args), `${name} inside a task`) : call(self, args)), undefined, fc.boolean(), fn.length, config.functionRuns);
    } else {
      await fuzz(name, call, undefined, undefined, fn.length, config.functionRuns);
    }
  }
}

// Makes the call from inside a task: what it throws becomes the task's
// failure, what it returns the task's value (then adopted like any result).
// (What it returns is adopted in the task, and not made the task's value: a
// task whose value is a thenable, such as current(), would be awaited into.)
function insideTask(c, call, label) {
  return c.task(
    coro.spawn(function* () {
      const before = new Set(fs.readdirSync('/proc/self/fd'));
      const result = call();
      if (isOperation(result)) adopt(yield* result, c, before, label);
      else adopt(result, c, before, label);
    }),
  );
}

async function fuzzClasses(prefix, ns) {
  for (const { name, key, value: C } of exportsOf(prefix, ns)) {
    if (!isClass(C)) continue;
    const short = key;
    if (config.internal.includes(`${short}#constructor`)) results.skipped[`new ${short}`] = 'internal (@internal or private constructor)';
    else await fuzz(`new ${short}`, (self, args) => new C(...args));
    for (const s of Object.getOwnPropertyNames(C)) {
      const d = Object.getOwnPropertyDescriptor(C, s);
      if (['length', 'name', 'prototype'].includes(s) || typeof d.value !== 'function') continue;
      await fuzz(`${short}.${s}`, (self, args) => C[s](...args));
    }
    const factory = FACTORIES[short];
    if (factory === undefined) {
      results.missing.push(name);
      continue;
    }
    for (const [key2, d] of membersOf(C)) {
      const m = typeof key2 === 'symbol' ? `[${key2.description}]` : key2;
      if (typeof key2 === 'string' && key2.startsWith('_')) {
        results.skipped[`${short}#${m}`] = 'internal (underscore)';
        continue;
      }
      for (const [state, make] of Object.entries(factory)) {
        if (state === 'shared') continue;
        const nameOf = `${short}#${m}${state === 'live' ? '' : ` (${state})`}`;
        if (config.internal.includes(`${short}#${m}`)) {
          results.skipped[nameOf] = 'internal (@internal in its TSDoc)';
          continue;
        }
        let kept;
        const setup = factory.shared
          ? async (c) => {
              if (kept === undefined || (state === 'live' && kept.closed)) kept = await make(c);
              // Its operations still in flight end with it.
              if (state === 'live') c.closeIfBusy = kept;
              return kept;
            }
          : (c) => make(c);
        if (d.get || d.set) {
          if (d.get) await fuzz(`${nameOf} (get)`, (self) => d.get.call(self), setup);
          if (d.set) await fuzz(`${nameOf} (set)`, (self, args) => d.set.call(self, args[0]), setup);
        } else if (typeof d.value === 'function') {
          await fuzz(nameOf, (self, args) => d.value.apply(self, args), setup, undefined, d.value.length);
        }
        if (kept !== undefined) await closeQuietly(kept);
      }
    }
  }
}

// A deliberately broken export and class, for the parent's check that this
// harness does report a code-less error with its function and arguments.
function selftestNamespace() {
  class Broken {
    method(x) {
      if (typeof x === 'number') return Promise.reject(new TypeError('rejected without a code'));
      return 1;
    }
  }
  return {
    broken(x) {
      if (typeof x === 'number') throw new RangeError('thrown without a code');
    },
    fine(x) {
      if (typeof x === 'number') throw Object.assign(new RangeError('coded'), { code: 'ERR_OUT_OF_RANGE' });
    },
    Broken,
  };
}

async function main() {
  const started = Date.now();
  await restoreHub();
  switch (config.area) {
    case 'io-functions':
      await fuzzFunctions('iomodes', io);
      break;
    case 'io-classes':
      await fuzzClasses('iomodes', io);
      break;
    case 'coro-functions':
      await fuzzFunctions('coro', coro);
      break;
    case 'coro-classes':
      await fuzzClasses('coro', coro);
      break;
    case 'selftest': {
      const ns = selftestNamespace();
      FACTORIES.Broken = { live: () => new ns.Broken() };
      await fuzzFunctions('selftest', ns);
      await fuzzClasses('selftest', ns);
      break;
    }
    default:
      throw new Error(`unknown area ${config.area}`);
  }
  progress('(closing the hub)');
  attempt(() => coro.useHub().close());
  for (let k = 0; k < 5; k++) await tick();
  // Problems that surfaced after their target's runs (a late rejection).
  if (found.length > 0) results.problems.push(...found.map((p) => ({ ...p, problem: `${p.problem} (surfaced late)` })));
  progress('(done)');
  results.ms = Date.now() - started;
  results.debugCounters = io.debugCounters();
  fs.writeFileSync(config.resultPath, JSON.stringify(results));
}

// The handlers above keep the process alive through a callback's throw, so a
// failure of the harness itself must end it explicitly.
try {
  await main();
} catch (err) {
  process.stderr.write(`api fuzz harness failed in ${target}: ${err?.stack ?? err}\n`);
  process.exit(1);
}
