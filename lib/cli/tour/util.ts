/**
 * Small helpers the tour's parts share: numbers for people, figures.
 *
 * @internal
 * @module
 */
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
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
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
