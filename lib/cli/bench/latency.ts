/**
 * Latency recording for `iomodes bench`: a log-linear histogram (as
 * HdrHistogram and fio do) with constant memory, whatever the run length.
 * Values are nanoseconds; each power of two is split into 32 linear
 * sub-buckets, so a percentile is exact to within about 3%.
 *
 * @internal
 * @module
 */

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
/** Powers of two up to 2**40 ns (about 18 minutes). */
const MAX_EXP = 40;

/** The percentiles fio reports by default, as fio names them. */
export const FIO_PERCENTILES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99] as const;

/** One histogram bucket: the latencies in [lowNs, highNs), and how many fell there. */
export interface LatencyBucket {
  lowNs: number;
  highNs: number;
  count: number;
}

/** What a {@link LatencyRecorder} saw, in nanoseconds, as fio's `clat_ns` has it. */
export interface LatencySummary {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  /** How many latencies were recorded. */
  N: number;
  /** fio's keys: `'50.000000'` → nanoseconds, for each of {@link FIO_PERCENTILES}. */
  percentile: Record<string, number>;
  /** The non-empty buckets, in order: for a histogram chart. */
  buckets: LatencyBucket[];
}

function bucketOf(ns: number): number {
  if (ns < SUB) return Math.max(0, Math.floor(ns));
  const exp = Math.min(MAX_EXP, Math.floor(Math.log2(ns)));
  const sub = Math.min(SUB - 1, Math.floor((ns / 2 ** exp - 1) * SUB));
  return (exp - SUB_BITS + 1) * SUB + sub;
}

function boundsOf(index: number): [number, number] {
  if (index < SUB) return [index, index + 1];
  const exp = Math.floor(index / SUB) + SUB_BITS - 1;
  const sub = index % SUB;
  const width = 2 ** exp / SUB;
  return [2 ** exp + sub * width, 2 ** exp + (sub + 1) * width];
}

/**
 * Records latencies; reports percentiles, mean and a histogram.
 *
 * @example
 * ```ts
 * const rec = new LatencyRecorder();
 * const t0 = process.hrtime.bigint();
 * doOneIo();
 * rec.record(Number(process.hrtime.bigint() - t0));
 * rec.summary().percentile['99.000000']; // ns
 * ```
 */
export class LatencyRecorder {
  readonly #counts = new Float64Array((MAX_EXP - SUB_BITS + 2) * SUB);
  #n = 0;
  #sum = 0;
  #sumSquares = 0;
  #min = Infinity;
  #max = 0;

  /** Adds one latency, in nanoseconds (negative values count as 0). */
  record(ns: number): void {
    const v = ns > 0 ? ns : 0;
    this.#counts[bucketOf(v)]!++;
    this.#n++;
    this.#sum += v;
    this.#sumSquares += v * v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Adds everything another recorder saw (per-connection recorders, merged). */
  merge(other: LatencyRecorder): void {
    other.#counts.forEach((c, i) => (this.#counts[i]! += c));
    this.#n += other.#n;
    this.#sum += other.#sum;
    this.#sumSquares += other.#sumSquares;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.#n;
  }

  /** The latency below which `p` percent of the recorded ones fall (the bucket's upper bound, capped at the maximum). */
  percentile(p: number): number {
    if (this.#n === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#n);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, boundsOf(i)[1]));
    }
    return this.#max;
  }

  /** Everything at once, in fio's terms. */
  summary(): LatencySummary {
    const n = this.#n;
    const mean = n === 0 ? 0 : this.#sum / n;
    const variance = n < 2 ? 0 : Math.max(0, (this.#sumSquares - n * mean * mean) / (n - 1));
    const percentile: Record<string, number> = {};
    for (const p of FIO_PERCENTILES) percentile[p.toFixed(6)] = this.percentile(p);
    const buckets: LatencyBucket[] = [];
    this.#counts.forEach((count, i) => {
      if (count > 0) {
        const [lowNs, highNs] = boundsOf(i);
        buckets.push({ lowNs, highNs, count });
      }
    });
    return { min: n === 0 ? 0 : this.#min, max: this.#max, mean, stddev: Math.sqrt(variance), N: n, percentile, buckets };
  }
}
