/**
 * Signal-driven I/O: `O_ASYNC`, `F_SETSIG` and real-time signals. For now,
 * the probe `iomodes doctor` uses: which real-time signals this process has.
 *
 * @module
 */
import { constant } from './native.js';

/** The real-time signal range, as glibc reports it at run time. */
export interface RealtimeSignals {
  /** `SIGRTMIN`: 34 with glibc, which keeps the first two for its threads. */
  min: number;
  /** `SIGRTMAX`: 64 on Linux. */
  max: number;
  /** How many real-time signals there are: `max - min + 1`. */
  count: number;
}

/**
 * The real-time signals (`SIGRTMIN`..`SIGRTMAX`) this process may use, for
 * example as `F_SETSIG`'s signal, which queues one signal per ready fd.
 * Node's `os.constants.signals` does not list them.
 *
 * @example
 * ```ts
 * import { realtimeSignals } from 'iomodes';
 * const { min, max, count } = realtimeSignals(); // { min: 34, max: 64, count: 31 }
 * ```
 */
export function realtimeSignals(): RealtimeSignals {
  const min = constant('SIGRTMIN');
  const max = constant('SIGRTMAX');
  return { min, max, count: max - min + 1 };
}
