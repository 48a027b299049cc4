/**
 * What every soak scenario shares: its scale, the resources it must give
 * back, and the one-line report it prints.
 *
 * `npm test` runs the scenarios at a reduced scale, sized to take seconds;
 * `npm run soak` sets IOMODES_SOAK=full and runs them at the scale the
 * hardening issue names. A scenario asserts the same properties at both
 * scales: nothing lost or duplicated, every operation settled exactly once,
 * fds and native handles back at their baseline. RSS growth after warm-up is
 * measured and reported; only the full scale, where it means something,
 * holds it to a bound.
 */
import { appendFileSync, readdirSync } from 'node:fs';
import { debugCounters } from '../../lib/index.js';

export { seededRandom } from '../helpers/index.js';

/** True under `npm run soak` (IOMODES_SOAK=full). */
export const FULL = process.env.IOMODES_SOAK === 'full';

/** `full` under `npm run soak`, `reduced` in `npm test`. */
export function scaled(full: number, reduced: number): number {
  return FULL ? full : reduced;
}

/** The seed of this run's random choices: IOMODES_SOAK_SEED, or a fresh one (reports name it, so a failing run can be replayed). */
export const SEED = Number(process.env.IOMODES_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The RSS growth after warm-up that a full-scale run may show, in MiB. */
export const RSS_GROWTH_LIMIT_MIB = 64;

/** The fds this process has open now. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length - 1; // less the one readdir opened
}

/** This thread's live native resources (watchers, owned fds, pinned operations). */
export function nativeHandles(): { watchers: number; ownedFds: number; pinnedOps: number } {
  const { watchers, ownedFds, pinnedOps } = debugCounters();
  return { watchers, ownedFds, pinnedOps };
}

/** Resident set size in MiB, after a full GC when `--expose-gc` allows one. */
export function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / (1 << 20);
}

/** Polls `done` every 10 ms until it holds or `ms` pass; says whether it held. */
export async function settle(done: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** What a scenario prints when it ends. */
export interface SoakReport {
  /** The scenario, e.g. 'io_uring cancel'. */
  name: string;
  /** Operations started (reads, switches, timers...). */
  operations: number;
  /** Operations settled; must equal `operations`. */
  settled: number;
  /** Data lost or operations never settled; must be 0. */
  lost: number;
  /** Data or settlements seen twice; must be 0. */
  duplicated: number;
  /** Open fds before and after. */
  fds: { before: number; after: number };
  /** RSS after warm-up and at the end, in MiB. */
  rss: { warm: number; end: number };
  /** Wall time of the measured part, in seconds. */
  seconds: number;
  /** Anything else the scenario counts (cancelled, closed, overflows...). */
  extra?: Record<string, number | string>;
}

/**
 * Prints `soak {json}` on one line (and appends it to IOMODES_SOAK_REPORT
 * if set), so `npm run soak` can gather every scenario's figures.
 */
export function report(r: SoakReport): void {
  const line = JSON.stringify({ scale: FULL ? 'full' : 'reduced', ...r, rssGrowthMiB: +(r.rss.end - r.rss.warm).toFixed(1) });
  console.log(`soak ${line}`);
  if (process.env.IOMODES_SOAK_REPORT) appendFileSync(process.env.IOMODES_SOAK_REPORT, line + '\n');
}
