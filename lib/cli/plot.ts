/**
 * Charts for `iomodes bench --plot FILE.svg`: self-contained SVG that
 * renders in any browser.
 *
 * @internal
 * @module
 */
import type { JobResult } from './bench/types.js';

/**
 * Bars, one per job: IOPS (or round trips/s) side by side, for `--compare`.
 *
 * @example
 * ```ts
 * writeFileSync('cmp.svg', comparisonSvg(jobs));
 * ```
 */
export function comparisonSvg(jobs: readonly JobResult[]): string {
  void jobs;
  throw new Error('plot: not built yet');
}

/**
 * A latency histogram of one job, with its p50, p99 and p99.9 marked.
 *
 * @example
 * ```ts
 * writeFileSync('lat.svg', histogramSvg(job));
 * ```
 */
export function histogramSvg(job: JobResult): string {
  void job;
  throw new Error('plot: not built yet');
}
