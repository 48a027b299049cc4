/**
 * Process resource limits that bound what the I/O modes can do:
 * `RLIMIT_NOFILE` (how many fds, so how many sockets one epoll can watch),
 * `RLIMIT_SIGPENDING` (how many real-time signals can queue for
 * signal-driven I/O) and `RLIMIT_MEMLOCK` (how large an io_uring may be);
 * and the addon's own count of the native resources it holds open.
 *
 * @module
 */
import { check, invalidArgType, outOfRange } from './errors.js';
import { constant, native } from './native.js';
import { validateInteger, validateOneOf, validateOptions } from './validate.js';

/**
 * The limits {@link getrlimit} and {@link setrlimit} know.
 *
 * @example
 * ```ts
 * import { getrlimit, type Resource } from 'iomodes';
 * const resources: Resource[] = ['nofile', 'sigpending', 'memlock'];
 * for (const resource of resources) console.log(resource, getrlimit(resource).soft);
 * ```
 */
export type Resource = 'nofile' | 'sigpending' | 'memlock';
const resources: Record<Resource, string> = { nofile: 'RLIMIT_NOFILE', sigpending: 'RLIMIT_SIGPENDING', memlock: 'RLIMIT_MEMLOCK' };

/**
 * A soft and hard limit; `Infinity` is `RLIM_INFINITY`.
 *
 * @example
 * ```ts
 * import { getrlimit, setrlimit, type Limit } from 'iomodes';
 * const limit: Limit = getrlimit('nofile'); // { soft: 1024, hard: 524288 }
 * if (limit.soft < limit.hard) setrlimit('nofile', { soft: limit.hard, hard: limit.hard });
 * ```
 */
export interface Limit {
  soft: number;
  hard: number;
}

/**
 * Reads a resource limit with `getrlimit(2)`.
 *
 * @example
 * ```ts
 * import { getrlimit } from 'iomodes';
 * getrlimit('nofile'); // { soft: 1048576, hard: 1048576 }
 * ```
 */
export function getrlimit(resource: Resource): Limit {
  validateOneOf(resource, 'resource', Object.keys(resources) as Resource[]);
  const out = new Float64Array(2);
  check(native.getrlimit(constant(resources[resource]), out), 'getrlimit');
  return { soft: out[0]!, hard: out[1]! };
}

/**
 * Sets a resource limit with `setrlimit(2)`. Raising the soft limit up to
 * the hard one needs no privilege; raising the hard one needs
 * `CAP_SYS_RESOURCE`.
 *
 * @example
 * ```ts
 * import { getrlimit, setrlimit } from 'iomodes';
 * const { hard } = getrlimit('nofile');
 * setrlimit('nofile', { soft: hard, hard });
 * ```
 */
export function setrlimit(resource: Resource, limit: Limit): void {
  validateOneOf(resource, 'resource', Object.keys(resources) as Resource[]);
  if (limit === undefined) throw invalidArgType('limit', 'of type object', limit);
  validateOptions(limit, 'limit');
  for (const key of ['soft', 'hard'] as const) {
    if (limit[key] !== Infinity) validateInteger(limit[key], `limit.${key}`, 0);
  }
  // The kernel would say EINVAL; this is the caller's mistake, so say which.
  if (limit.soft > limit.hard) throw outOfRange('limit.soft', `<= limit.hard (${limit.hard})`, limit.soft);
  check(native.setrlimit(constant(resources[resource]), limit.soft, limit.hard), 'setrlimit');
}

/**
 * The native resources this thread's addon instance holds open.
 *
 * @example
 * ```ts
 * import { Epoll, debugCounters, type DebugCounters } from 'iomodes';
 * const before: DebugCounters = debugCounters();
 * Epoll.create().close();
 * setImmediate(() => console.log(debugCounters().ownedFds === before.ownedFds)); // true: nothing leaked
 * ```
 */
export interface DebugCounters {
  /** Open watchers (`uv_poll_t` handles), one per watched `Epoll` among others. */
  watchers: number;
  /** fds owned by open iomodes objects (one per `Epoll`), closed with them or at thread exit. */
  ownedFds: number;
  /**
   * Asynchronous operations (io_uring, AIO, threadpool) whose buffers are
   * pinned: submitted, completion not yet reaped.
   */
  pinnedOps: number;
  /**
   * Process-wide: bounce buffers a teardown leaked on purpose because the
   * kernel might still write into them (a ring closed or a Worker ended with
   * operations it could not reap in time). 0 in a healthy process.
   */
  leakedOnTeardown: number;
}

/**
 * The native resources this thread (main or Worker) holds open: a leak check
 * for tests and long-running programs. After every `Epoll` is closed, and
 * its close has run on the loop, both are back to 0.
 *
 * @example
 * ```ts
 * import { Epoll, debugCounters } from 'iomodes';
 * const ep = Epoll.create();
 * ep.watch(() => {});
 * debugCounters(); // { watchers: 1, ownedFds: 1, pinnedOps: 0, leakedOnTeardown: 0 }
 * ep.close();
 * setImmediate(() => debugCounters()); // { watchers: 0, ownedFds: 0, ... }
 * ```
 */
export function debugCounters(): DebugCounters {
  const { watchers, ownedFds, pinnedOps, leakedOnTeardown } = native.debug_counters();
  return { watchers, ownedFds, pinnedOps, leakedOnTeardown };
}
