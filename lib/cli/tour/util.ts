/**
 * Small helpers the tour's parts share: numbers for people, figures.
 *
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { now } from './peer.js';
import type { TourFigure } from './types.js';

/**
 * A number for a sentence: 3 significant digits below 100, whole numbers
 * with thousands separators above.
 *
 * @example
 * ```ts
 * num(0.04321); // '0.0432'
 * num(101.26);  // '101'
 * num(123456);  // '123,456'
 * ```
 */
export function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  // Grouped by hand: toLocaleString would load ICU's locale data, 30 ms of
  // every `iomodes` start (a tour title is formatted at import).
  if (abs >= 100) return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (abs === 0) return '0';
  return Number(value.toPrecision(3)).toString();
}

/**
 * A figure, its value kept finite and positive-or-zero.
 *
 * @example
 * ```ts
 * fig('blocked in read(2)', 101.3, 'ms'); // { name: 'blocked in read(2)', value: 101.3, unit: 'ms' }
 * ```
 */
export function fig(name: string, value: number, unit: string): TourFigure {
  return { name, value: Number.isFinite(value) ? Number(value.toPrecision(6)) : 0, unit };
}

/**
 * A figure as a phrase: `101 ms`, `0.9 µs`, `45%`.
 *
 * @example
 * ```ts
 * show(fig('x', 101.26, 'ms')); // '101 ms'
 * ```
 */
export function show(f: TourFigure): string {
  return f.unit === '%' ? `${num(f.value)}%` : `${num(f.value)} ${f.unit}`;
}

/**
 * `n` bytes as MiB, for sentences.
 *
 * @example
 * ```ts
 * mib(16 << 20); // '16 MiB'
 * ```
 */
export function mib(n: number): string {
  return `${num(n / (1 << 20))} MiB`;
}

/**
 * Resolves on the next turn of Node's event loop (after I/O callbacks).
 *
 * @example
 * ```ts
 * while (!done) { turns++; await nextTurn(); }
 * ```
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Milliseconds `ms` from now, as a promise.
 *
 * @example
 * ```ts
 * await delay(10);
 * ```
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * This thread's time on a CPU and waiting for one, in milliseconds, from
 * `/proc/thread-self/schedstat`; `undefined` where the kernel does not keep
 * it (`CONFIG_SCHED_INFO=n`). Elapsed time minus both is the time the
 * thread slept: blocked in the kernel.
 *
 * @example
 * ```ts
 * const a = threadTimes(), t0 = now(); work(); const b = threadTimes();
 * const sleptMs = now() - t0 - (b.runMs - a.runMs) - (b.waitMs - a.waitMs);
 * ```
 */
export function threadTimes(): { runMs: number; waitMs: number } | undefined {
  // The kernel adds a running thread's current slice to its total only when
  // it is descheduled (or at a tick): a 10 µs futex wait brings it up to date.
  Atomics.wait(nap, 0, 0, 0.01);
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
  } catch {
    return undefined;
  }
}

/** What a thread did over an interval: ran, waited for a CPU, slept. */
export interface ThreadSpan {
  ms: number;
  runMs: number;
  waitMs: number;
  sleptMs: number;
}

/**
 * Starts watching this thread's scheduling; the returned function ends the
 * span and says how it was spent, or `undefined` without schedstat.
 *
 * @example
 * ```ts
 * const span = threadSpan(); read(fd, buf); console.log(span()?.sleptMs);
 * ```
 */
export function threadSpan(): () => ThreadSpan | undefined {
  const a = threadTimes();
  const t0 = now();
  return () => {
    const ms = now() - t0;
    const b = threadTimes();
    if (a === undefined || b === undefined) return undefined;
    const runMs = b.runMs - a.runMs;
    const waitMs = b.waitMs - a.waitMs;
    return { ms, runMs, waitMs, sleptMs: Math.max(0, ms - runMs - waitMs) };
  };
}

/**
 * A duration for a sentence, in µs below a millisecond, else in ms.
 *
 * @example
 * ```ts
 * dur(0.423); // '423 µs'
 * dur(75.68); // '75.7 ms'
 * ```
 */
export function dur(ms: number): string {
  return ms < 1 ? `${num(ms * 1000)} µs` : `${num(ms)} ms`;
}
