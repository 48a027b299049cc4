/**
 * The readiness engines of `iomodes bench`: an echo server driven by each
 * readiness mechanism, against a client in a child process.
 *
 * @internal
 * @module
 */
import type { Unavailable } from '../../async.js';
import type { JobResult, ReadinessEngine, ReadinessWorkload, RunOptions } from './types.js';

/**
 * Why `engine` cannot run here (the doctor's cause), or undefined.
 *
 * @example
 * ```ts
 * readinessUnavailable('coro-uring'); // { ok: false, reason: 'sysctl', … } where io_uring is off
 * ```
 */
export function readinessUnavailable(engine: ReadinessEngine): Unavailable | undefined {
  void engine;
  return undefined;
}

/**
 * Runs one readiness engine on a workload until `workload.runtime` passes or
 * `options.signal` aborts.
 *
 * @example
 * ```ts
 * const job = await runReadiness('epoll', { kind: 'readiness', target: 'tcp', connections: 50, msgSize: 64, runtime: 5 }, {});
 * ```
 */
export async function runReadiness(engine: ReadinessEngine, workload: ReadinessWorkload, options: RunOptions): Promise<JobResult> {
  void workload;
  void options;
  throw new Error(`readiness engine ${engine}: not built yet`);
}
