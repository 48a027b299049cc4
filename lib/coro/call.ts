/**
 * Promises inside tasks: `call(promise)` waits for any promise (fetch,
 * `fs.promises`, a timer) without blocking other tasks; `action()` turns any
 * callback API into an operation. Node's own I/O is already non-blocking,
 * so nothing needs patching (gevent's `monkey.patch_all()` has no
 * counterpart here): wrap the promise in `call`.
 *
 * @module
 */
import { invalidArgType } from '../errors.js';
import { validateFunction } from '../validate.js';
import { useHub } from './hub.js';
import { PARK, type Instruction, type Operation } from './types.js';

/**
 * Waits for a promise (or the promise an async function returns, called
 * inside the task) and gives its value, or throws its rejection. Killed
 * meanwhile, the task stops waiting; the promise itself runs on.
 *
 * Under `run()`, a pending `call` is when the thread goes back to Node's
 * event loop, so the promise can settle.
 *
 * @param value a promise (or any thenable), or a function returning one
 * @example
 * ```ts
 * import { spawn, call } from 'iomodes/coro';
 * import { readFile } from 'node:fs/promises';
 * spawn(function* () {
 *   const text = yield* call(readFile('/etc/hostname', 'utf8'));
 *   const res = yield* call(() => fetch('http://127.0.0.1:8080/'));
 * });
 * ```
 */
export function call<T>(value: PromiseLike<T> | (() => PromiseLike<T> | T)): Operation<T> {
  if (typeof value !== 'function' && !isThenable(value)) {
    throw invalidArgType('value', 'a promise or a function returning one', value);
  }
  return calling(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function* calling<T>(value: PromiseLike<T> | (() => PromiseLike<T> | T)): Generator<Instruction, T, unknown> {
  const hub = useHub();
  const task = hub.task('call()');
  const produced = typeof value === 'function' ? value() : value;
  if (!isThenable(produced)) return produced;
  const ticket = hub.ticket(task);
  let pending = true;
  hub.callStarted();
  const settle = (): boolean => {
    if (!pending) return false;
    pending = false;
    hub.callEnded();
    return true;
  };
  Promise.resolve(produced).then(
    (result) => {
      if (settle()) hub.resume(task, ticket, result);
    },
    (error: unknown) => {
      if (settle()) hub.fail(task, ticket, error);
    },
  );
  try {
    return (yield PARK) as T;
  } finally {
    settle();
  }
}

/**
 * The primitive under every wait on something outside the hub: `resolver`
 * is called with `resolve` and `reject`, and returns its teardown, which
 * runs however the wait ends (settled, killed, timed out). Effection's
 * `action`. Like {@link call}, a pending action makes `run()` lend the
 * thread to Node's event loop, where its callbacks come from.
 *
 * @param resolver sets the wait up; returns a function that takes it down
 * @example
 * ```ts
 * import { action } from 'iomodes/coro';
 * import { EventEmitter, once } from 'node:events';
 * function nextMessage(emitter: EventEmitter) {
 *   return action<string>((resolve) => {
 *     emitter.on('message', resolve);
 *     return () => emitter.off('message', resolve);
 *   });
 * }
 * ```
 */
export function action<T>(resolver: (resolve: (value: T) => void, reject: (error: unknown) => void) => (() => void) | void): Operation<T> {
  validateFunction(resolver, 'resolver');
  return acting(resolver);
}

function* acting<T>(resolver: (resolve: (value: T) => void, reject: (error: unknown) => void) => (() => void) | void): Generator<Instruction, T, unknown> {
  const hub = useHub();
  const task = hub.task('action()');
  const ticket = hub.ticket(task);
  // What wakes an action comes from outside the hub (Node code): counted
  // with the promises, so run() lends the thread to Node's loop meanwhile.
  hub.callStarted();
  let teardown: (() => void) | void = undefined;
  try {
    teardown = resolver(
      (result) => hub.resume(task, ticket, result),
      (error) => hub.fail(task, ticket, error),
    );
    return (yield PARK) as T;
  } finally {
    hub.callEnded();
    if (typeof teardown === 'function') teardown();
  }
}
