/**
 * Charts for `iomodes bench --plot FILE.svg`: self-contained SVG that
 * renders in any browser.
 *
 * Both charts are pure functions of the results: SVG 1.1 on an 800×450
 * `viewBox` with a white background (a dark-mode viewer must not turn the
 * text invisible), system fonts only, no external references, and every
 * non-ASCII character written as a character reference, so the file reads
 * the same whatever encoding a viewer assumes. Text from the results is
 * escaped, and every number goes through one formatter that refuses NaN and
 * ±Infinity: a job that did nothing (0 ops, 0 s) draws as zero, never as
 * `NaN`.
 *
 * @internal
 * @module
 */
import type { LatencyBucket, LatencySummary } from './bench/latency.js';
import type { DirectionResult, JobResult, Workload } from './bench/types.js';

const W = 800;
const H = 450;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";
/** The bars' colour (tests look for it in the rendered PNG). */
const BAR = '#3b6fb6';
const INK = '#1f2328';
const MUTED = '#57606a';
const GRID = '#e3e6ea';
const AXIS = '#8c959f';
/** The percentile markers of the histogram. */
const MARKERS = [
  { key: '50.000000', name: 'p50', colour: '#1a7f37' },
  { key: '99.000000', name: 'p99', colour: '#bc4c00' },
  { key: '99.900000', name: 'p99.9', colour: '#cf222e' },
] as const;

// ---------------------------------------------------------------------------
// Text and numbers

/** XML-escapes text for an element or a quoted attribute; non-ASCII becomes a character reference. */
function esc(text: string): string {
  return String(text).replace(/[&<>"']|[^\x20-\x7e]/gu, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
    }
    const cp = ch.codePointAt(0)!;
    // Control characters (and lone surrogates) are not allowed in XML 1.0 at all.
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000) || cp === 0xfffe || cp === 0xffff) return ' ';
    return `&#${cp};`;
  });
}

/** A coordinate or size: finite, two decimals at most. Anything else is a bug here, not bad data. */
function n(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`plot: non-finite coordinate ${value}`);
  return String(Math.round(value * 100) / 100);
}

/** A measured number as the charts use it: finite and not negative, or 0. */
function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Three significant digits, without an exponent or trailing zeros: 1, 1.5, 412, 0.00123. */
function sig3(value: number): string {
  const a = Math.abs(value);
  if (a === 0) return '0';
  const decimals = a >= 100 ? 0 : Math.min(20, 2 - Math.floor(Math.log10(a)));
  const text = value.toFixed(decimals);
  return text.includes('.') ? text.replace(/\.?0+$/u, '') : text;
}

const SI: readonly [number, string][] = [
  [1e18, 'E'],
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** A rate with an SI prefix: 987, 412 k, 1.23 M. */
function si(value: number): string {
  if (!Number.isFinite(value)) return '\u2013';
  const a = Math.abs(value);
  if (a >= 1e21) return value.toExponential(2);
  for (const [scale, prefix] of SI) {
    // 999.7 k rounds to 1000 k: call it 1 M.
    if (a >= scale * 0.9995) return `${sig3(value / scale)} ${prefix}`;
  }
  return sig3(value);
}

/** A count in full, grouped by thousands: 50,000 (with an SI prefix past a quadrillion). */
function grouped(count: number): string {
  if (count >= 1e15) return si(count);
  return Math.round(count)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/gu, ',');
}

/** A duration given in nanoseconds: 850 ns, 12.3 µs, 1.2 ms, 2.5 s. */
function duration(ns: number): string {
  if (!Number.isFinite(ns)) return '\u2013';
  const a = Math.abs(ns);
  if (a < 999.5) return `${sig3(ns)} ns`;
  if (a < 999.5e3) return `${sig3(ns / 1e3)} \u00b5s`;
  if (a < 999.5e6) return `${sig3(ns / 1e6)} ms`;
  return `${sig3(ns / 1e9)} s`;
}

/** A byte count: 512 B, 4 KiB, 1.5 MiB. */
function bytes(count: number): string {
  const units: [number, string][] = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [scale, unit] of units) if (count >= scale) return `${sig3(count / scale)} ${unit}`;
  return `${sig3(count)} B`;
}

/** A ratio to the baseline: 1.00×, 1.84×, 12.3×, 140×. */
function ratio(value: number, baseline: number): string {
  if (!(baseline > 0) || !Number.isFinite(value / baseline)) return '\u2013';
  const r = value / baseline;
  if (r >= 99.95) return `${r.toFixed(0)}\u00d7`;
  if (r >= 9.995) return `${r.toFixed(1)}\u00d7`;
  if (r > 0 && r < 0.005) return '<0.01\u00d7';
  return `${r.toFixed(2)}\u00d7`;
}

/** Roughly how wide `text` sets at `size` px in a sans-serif font (for layout only). */
function textWidth(text: string, size: number): number {
  return [...text].length * size * 0.58;
}

/**
 * What a workload was, in one line: "randread 4 KiB, iodepth 32, O_DIRECT,
 * 5 s" or "echo over tcp, 50 connections, 64 B, 5 s".
 */
function describe(workload: Workload | undefined): string {
  if (workload === undefined || workload === null) return 'unknown workload';
  const seconds = finite(workload.runtime);
  const runtime = seconds > 0 ? `, ${sig3(seconds)} s` : '';
  if (workload.kind === 'readiness') {
    const c = finite(workload.connections);
    return `echo over ${String(workload.target)}, ${sig3(c)} connection${c === 1 ? '' : 's'}, ${bytes(finite(workload.msgSize))}${runtime}`;
  }
  return `${String(workload.rw)} ${bytes(finite(workload.bs))}, iodepth ${sig3(finite(workload.iodepth))}, ${workload.direct ? 'O_DIRECT' : 'buffered'}${runtime}`;
}

/** The direction that did the work (a job reads or writes; readiness round trips count as reads). */
function mainDirection(job: JobResult): { name: 'read' | 'write'; dir: DirectionResult | undefined } {
  const r = finite(job.read?.clat_ns?.N);
  const w = finite(job.write?.clat_ns?.N);
  return w > r ? { name: 'write', dir: job.write } : { name: 'read', dir: job.read };
}

function percentileOf(clat: LatencySummary | undefined, key: string): number | undefined {
  const value = clat?.percentile?.[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && finite(clat?.N) > 0 ? value : undefined;
}

/** Ticks for a linear axis from 0: a 1-2-5 step, about `count` of them, the last at or above `max`. */
function linearTicks(max: number, count: number): { top: number; ticks: number[]; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], step: 0.2 };
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude;
  const steps = Math.max(1, Math.ceil(max / step - 1e-9));
  const ticks = Array.from({ length: steps + 1 }, (_, i) => i * step);
  return { top: steps * step, ticks, step };
}

/** A tick label on a linear axis: as many decimals as the step needs, with an SI prefix scaled to the top. */
function tickLabel(value: number, step: number, top: number, suffix = ''): string {
  if (value === 0) return `0${suffix}`;
  const found = SI.find(([scale]) => top >= scale);
  const scale = found?.[0] ?? 1;
  const prefix = found === undefined ? '' : ` ${found[1]}`;
  const decimals = Math.max(0, Math.min(20, Math.ceil(-Math.log10(step / scale) - 1e-9)));
  const text = (value / scale).toFixed(decimals);
  return `${text}${prefix}${suffix}`;
}

// ---------------------------------------------------------------------------
// SVG scaffolding

function svgDocument(title: string, body: string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<g font-family="${esc(FONT)}" fill="${INK}">`,
    ...body,
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}

interface TextOptions {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'bold';
  fill?: string;
  baseline?: 'middle';
}

function text(x: number, y: number, content: string, o: TextOptions = {}): string {
  const attrs = [`x="${n(x)}"`, `y="${n(y)}"`, `font-size="${n(o.size ?? 12)}"`];
  if (o.anchor !== undefined && o.anchor !== 'start') attrs.push(`text-anchor="${o.anchor}"`);
  if (o.weight !== undefined) attrs.push(`font-weight="${o.weight}"`);
  if (o.fill !== undefined) attrs.push(`fill="${o.fill}"`);
  // dominant-baseline is not SVG 1.1 everywhere: centre by hand (cap height ≈ 0.35 em below the middle).
  const dy = o.baseline === 'middle' ? (o.size ?? 12) * 0.35 : 0;
  if (dy !== 0) attrs[1] = `y="${n(y + dy)}"`;
  return `<text ${attrs.join(' ')}>${esc(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}"${extra}/>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(Math.max(0, w))}" height="${n(Math.max(0, h))}" fill="${fill}"/>`;
}

function footer(): string {
  return text(W - 10, H - 8, 'iomodes bench', { size: 10, anchor: 'end', fill: AXIS });
}

// ---------------------------------------------------------------------------
// The comparison

/**
 * Bars, one per job: IOPS (or round trips/s) side by side, for `--compare`.
 *
 * One horizontal bar per job, labelled with its engine, long as
 * `read.iops + write.iops`, with the value printed on the bar; beside it
 * the ratio to the first job (the baseline) and the job's p99 latency. The
 * axis says "IOPS" for file jobs and "round trips/s" for readiness jobs
 * (`workload.kind === 'readiness'`); the title says the workload. Any number
 * of jobs fits (20 is fine); a job with 0 ops draws an empty bar.
 *
 * @param jobs - The jobs, baseline first.
 * @returns A self-contained SVG 1.1 document, 800×450.
 *
 * @example
 * ```ts
 * writeFileSync('cmp.svg', comparisonSvg(jobs));
 * ```
 */
export function comparisonSvg(jobs: readonly JobResult[]): string {
  const list = Array.isArray(jobs) ? jobs : [];
  const kinds = new Set(list.map((j) => j?.workload?.kind));
  const unit = kinds.size === 1 && kinds.has('readiness') ? 'round trips/s' : kinds.has('readiness') ? 'operations/s' : 'IOPS';
  const titles = new Set(list.map((j) => describe(j?.workload)));
  const title = list.length === 0 ? 'no jobs' : titles.size === 1 ? describe(list[0]!.workload) : 'mixed workloads';

  const rows = list.map((job) => {
    const value = finite(job?.read?.iops) + finite(job?.write?.iops);
    const { dir } = mainDirection(job);
    const p99 = percentileOf(dir?.clat_ns, '99.000000');
    let label = String(job?.engine ?? '?');
    if (titles.size > 1 && job?.jobname) label = String(job.jobname);
    if (job?.interrupted) label += ' *';
    return { label, value, p99 };
  });
  const baseline = rows[0]?.value ?? 0;
  const anyInterrupted = list.some((j) => j?.interrupted);

  // Layout: title, subtitle, then label column | bars | ratio | p99.
  const top = 84;
  const bottom = H - 54;
  const labelSize = rows.length > 14 ? 10 : rows.length > 8 ? 11 : 13;
  // A long engine name (or jobname) is cut to the label column, not run off the left edge.
  for (const row of rows) row.label = truncate(row.label, Math.floor(180 / (labelSize * 0.58)));
  const labelWidth = Math.min(180, Math.max(48, ...rows.map((r) => textWidth(r.label, labelSize))));
  const left = 16 + labelWidth + 10;
  const ratioX = W - 120; // right edge of the ratio column
  const p99X = W - 16; // right edge of the p99 column
  const right = ratioX - 62;
  const plotWidth = right - left;
  const axis = linearTicks(Math.max(0, ...rows.map((r) => r.value)), plotWidth > 400 ? 6 : 4);
  const xOf = (v: number): number => left + (v / axis.top) * plotWidth;

  const body: string[] = [];
  body.push(text(16, 28, title, { size: 17, weight: 'bold' }));
  const baseName = rows[0]?.label ?? '';
  const legend = rows.length === 0 ? '' : `; \u00d7 is the ratio to ${truncate(baseName, 24)}, p99 the 99th-percentile latency`;
  body.push(text(16, 48, `${unit} per engine, higher is better${legend}`, { size: 12, fill: MUTED }));

  // Grid and axis.
  for (const t of axis.ticks) {
    const x = xOf(t);
    body.push(line(x, top - 4, x, bottom, t === 0 ? AXIS : GRID));
    body.push(text(x, bottom + 16, tickLabel(t, axis.step, axis.top), { size: 11, anchor: 'middle', fill: MUTED }));
  }
  body.push(line(left, bottom, right, bottom, AXIS));
  body.push(text((left + right) / 2, bottom + 34, unit, { size: 12, anchor: 'middle', fill: MUTED }));
  body.push(text(ratioX, top - 10, `vs ${truncate(baseName, 12)}`, { size: 11, anchor: 'end', fill: MUTED, weight: 'bold' }));
  body.push(text(p99X, top - 10, 'p99', { size: 11, anchor: 'end', fill: MUTED, weight: 'bold' }));

  if (rows.length === 0) {
    body.push(text((left + right) / 2, (top + bottom) / 2, 'no jobs to compare', { size: 14, anchor: 'middle', fill: MUTED }));
  }

  const band = (bottom - top) / Math.max(1, rows.length);
  const barHeight = Math.min(40, band * 0.7);
  const valueSize = Math.max(9, Math.min(12, barHeight * 0.75));
  rows.forEach((row, i) => {
    const mid = top + band * (i + 0.5);
    const end = xOf(row.value);
    body.push(text(left - 8, mid, row.label, { size: labelSize, anchor: 'end', baseline: 'middle' }));
    body.push(rect(left, mid - barHeight / 2, end - left, barHeight, BAR));
    const value = si(row.value);
    const inside = end - left >= textWidth(value, valueSize) + 12;
    body.push(
      inside
        ? text(end - 6, mid, value, { size: valueSize, anchor: 'end', fill: '#ffffff', weight: 'bold', baseline: 'middle' })
        : text(end + 5, mid, value, { size: valueSize, weight: 'bold', baseline: 'middle' }),
    );
    body.push(text(ratioX, mid, ratio(row.value, baseline), { size: labelSize, anchor: 'end', weight: 'bold', baseline: 'middle' }));
    body.push(
      text(p99X, mid, row.p99 === undefined ? '\u2013' : duration(row.p99), { size: labelSize, anchor: 'end', fill: MUTED, baseline: 'middle' }),
    );
  });

  if (anyInterrupted) body.push(text(16, H - 8, '* stopped early (Ctrl-C): figures up to then', { size: 10, fill: MUTED }));
  body.push(footer());
  return svgDocument(`${title}: ${unit} per engine`, body);
}

function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}\u2026`;
}

// ---------------------------------------------------------------------------
// The histogram

/** Log-axis ticks covering [lo, hi] ns, 1-2-5 or coarser per decade, and the domain snapped to them. */
function logTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  // At least a decade, so the axis has three ticks and a narrow peak does not fill the chart.
  if (hi / lo < 10) {
    const centre = Math.sqrt(lo * hi);
    lo = Math.min(lo, centre / Math.sqrt(10));
    hi = Math.max(hi, centre * Math.sqrt(10));
  }
  const decades = Math.log10(hi / lo);
  const mantissas = decades <= 3.2 ? [1, 2, 5] : decades <= 5 ? [1, 3] : [1];
  const candidates: number[] = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)) + 1; e++) {
    for (const m of mantissas) candidates.push(m * 10 ** e);
  }
  const min = Math.max(...candidates.filter((c) => c <= lo * (1 + 1e-9)));
  const max = Math.min(...candidates.filter((c) => c >= hi * (1 - 1e-9)));
  // Skip every other decade when there are too many.
  let ticks = candidates.filter((c) => c >= min * (1 - 1e-9) && c <= max * (1 + 1e-9));
  if (ticks.length > 9) ticks = ticks.filter((_, i) => i % Math.ceil(ticks.length / 8) === 0);
  return { min, max, ticks };
}

/** The bucket on a log axis: [0, 1) ns has no logarithm, so it draws as [0.5, 1). */
function logBounds(b: LatencyBucket): [number, number] {
  const high = Math.max(finite(b.highNs), 1);
  const low = Math.max(finite(b.lowNs), high / 2);
  return [Math.log2(low), Math.log2(Math.max(high, low * (1 + 1e-9)))];
}

/**
 * A latency histogram of one job, with its p50, p99 and p99.9 marked.
 *
 * The x axis is latency on a log scale (ns, µs, ms, s as fits), the y axis
 * the share of operations. The recorder's log-linear buckets
 * (`clat_ns.buckets`, 32 per power of two) are regrouped into bins of equal
 * width on the log axis, each bucket's count shared out by overlap, so a
 * smooth distribution draws smooth (the raw buckets narrow across each
 * octave and would draw a sawtooth). Dashed lines mark the percentiles fio
 * reports as `'50.000000'`, `'99.000000'` and `'99.900000'`. Uses the
 * direction that did the work (`read` for reads and round trips, `write`
 * for writes); a job with no ops draws empty axes and says so.
 *
 * @param job - One job's result.
 * @returns A self-contained SVG 1.1 document, 800×450.
 *
 * @example
 * ```ts
 * writeFileSync('lat.svg', histogramSvg(job));
 * ```
 */
export function histogramSvg(job: JobResult): string {
  const { name, dir } = mainDirection(job);
  const clat = dir?.clat_ns;
  const buckets = (Array.isArray(clat?.buckets) ? clat.buckets : []).filter((b) => finite(b?.count) > 0 && finite(b?.highNs) > 0);
  const total = buckets.reduce((sum, b) => sum + finite(b.count), 0);
  const readiness = job?.workload?.kind === 'readiness';
  const what = readiness ? 'round-trip latency' : `${name} latency`;
  const engine = truncate(String(job?.engine ?? '?'), 40);
  const title = `${engine}: ${describe(job?.workload)}`;

  const top = 104;
  const bottom = H - 52;
  const left = 66;
  const right = W - 24;
  const plotWidth = right - left;

  // The x domain: the buckets, with the markers inside it.
  const ranges = buckets.map(logBounds);
  const markers = MARKERS.flatMap((m) => {
    const ns = percentileOf(clat, m.key);
    return ns === undefined || total === 0 ? [] : [{ ...m, ns }];
  });
  let lo = 1000;
  let hi = 1e6;
  if (ranges.length > 0) {
    lo = 2 ** Math.min(...ranges.map((r) => r[0]));
    hi = 2 ** Math.max(...ranges.map((r) => r[1]));
    for (const m of markers) {
      lo = Math.min(lo, Math.max(m.ns, 0.5));
      hi = Math.max(hi, m.ns);
    }
  }
  const x = logTicks(lo, hi);
  const lmin = Math.log2(x.min);
  const lspan = Math.log2(x.max) - lmin;
  const xOf = (ns: number): number => left + ((Math.log2(Math.max(ns, x.min)) - lmin) / lspan) * plotWidth;

  // Equal-width bins on the log axis, at most one per 5 px and no finer than 1/16 octave.
  const binCount = Math.max(1, Math.min(Math.floor(plotWidth / 5), Math.ceil(lspan * 16)));
  const binWidth = lspan / binCount;
  const bins = new Float64Array(binCount);
  for (let i = 0; i < buckets.length; i++) {
    const [a, b] = ranges[i]!;
    const count = finite(buckets[i]!.count);
    const first = Math.max(0, Math.floor((a - lmin) / binWidth));
    const last = Math.min(binCount - 1, Math.floor((b - lmin) / binWidth));
    for (let k = first; k <= last; k++) {
      const overlap = Math.min(b, lmin + (k + 1) * binWidth) - Math.max(a, lmin + k * binWidth);
      if (overlap > 0) bins[k]! += (count * overlap) / (b - a);
    }
  }
  const shares = Array.from(bins, (c) => (total > 0 ? (c / total) * 100 : 0));
  const y = linearTicks(Math.max(0, ...shares), 5);
  const yOf = (share: number): number => bottom - (share / y.top) * (bottom - top);

  const body: string[] = [];
  body.push(text(16, 28, title, { size: 17, weight: 'bold' }));
  const stats =
    total > 0
      ? `${what}, ${grouped(finite(clat?.N) || total)} ops: min ${duration(finite(clat?.min))}, mean ${duration(finite(clat?.mean))}, max ${duration(finite(clat?.max))}`
      : `${what}: no operations recorded`;
  body.push(text(16, 48, `${stats}${job?.interrupted ? ' (stopped early)' : ''}`, { size: 12, fill: MUTED }));

  // Grid and axes.
  if (total > 0) {
    for (const t of y.ticks) {
      const py = yOf(t);
      body.push(line(left, py, right, py, t === 0 ? AXIS : GRID));
      body.push(text(left - 6, py, tickLabel(t, y.step, y.top, '%'), { size: 11, anchor: 'end', fill: MUTED, baseline: 'middle' }));
    }
  }
  for (const t of x.ticks) {
    const px = xOf(t);
    body.push(line(px, top, px, bottom, GRID));
    body.push(line(px, bottom, px, bottom + 4, AXIS));
    body.push(text(px, bottom + 17, duration(t), { size: 11, anchor: 'middle', fill: MUTED }));
  }
  body.push(line(left, bottom, right, bottom, AXIS));
  body.push(line(left, top, left, bottom, AXIS));
  body.push(text((left + right) / 2, bottom + 36, `${what} (log scale)`, { size: 12, anchor: 'middle', fill: MUTED }));
  body.push(
    `<text x="${n(18)}" y="${n((top + bottom) / 2)}" font-size="12" text-anchor="middle" fill="${MUTED}" transform="rotate(-90 18 ${n((top + bottom) / 2)})">share of ops</text>`,
  );

  // Bars.
  const binPx = plotWidth / binCount;
  const gap = binPx > 4 ? 1 : 0;
  shares.forEach((share, k) => {
    if (share <= 0) return;
    const py = yOf(share);
    // At least a pixel, so a rare bin still shows.
    const h = Math.max(1, bottom - py);
    body.push(rect(left + k * binPx + gap / 2, bottom - h, binPx - gap, h, BAR));
  });
  if (total === 0) {
    body.push(text((left + right) / 2, (top + bottom) / 2, 'no operations recorded', { size: 14, anchor: 'middle', fill: MUTED }));
  }

  // Percentile markers: dashed lines, labels above the plot, stacked where they would overlap.
  // Lines first, then each label on a white patch, so a line running up to a
  // higher row never strikes through a lower row's label.
  const rowEnds: number[] = [];
  const labels: string[] = [];
  for (const m of [...markers].sort((a, b) => a.ns - b.ns)) {
    const px = xOf(m.ns);
    const label = `${m.name} ${duration(m.ns)}`;
    const width = textWidth(label, 11);
    const cx = Math.min(right - width / 2, Math.max(left + width / 2, px));
    let row = rowEnds.findIndex((end) => end + 6 <= cx - width / 2);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = cx + width / 2;
    const ly = top - 8 - row * 15;
    body.push(line(px, ly + 3, px, bottom, m.colour, ' stroke-width="1.5" stroke-dasharray="5 3"'));
    labels.push(rect(cx - width / 2 - 3, ly - 11, width + 6, 14, '#ffffff'));
    labels.push(text(cx, ly, label, { size: 11, anchor: 'middle', fill: m.colour, weight: 'bold' }));
  }
  body.push(...labels);

  body.push(footer());
  return svgDocument(`${title}: ${what}`, body);
}
