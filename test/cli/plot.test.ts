/**
 * The charts of `iomodes bench --plot`: well-formed, escaped, free of
 * NaN/Infinity on every edge case, and — the proof that they draw —
 * rendered by headless Chromium to a PNG whose pixels are checked.
 *
 * Set IOMODES_PLOT_KEEP=DIR to keep the rendered SVGs and PNGs there.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../../lib/cli/bench/latency.js';
import type { Engine, JobResult, Workload } from '../../lib/cli/bench/types.js';
import { comparisonSvg, histogramSvg } from '../../lib/cli/plot.js';
import { bad, mayskip, seededRandom, tmpDir, withoutPreload } from '../helpers/index.js';

// ---------------------------------------------------------------------------
// Synthetic results

const RANDREAD: Workload = { kind: 'file', rw: 'randread', bs: 4096, iodepth: 32, direct: true, size: 1 << 30, runtime: 5 };
const ECHO: Workload = { kind: 'readiness', target: 'tcp', connections: 50, msgSize: 64, runtime: 5 };

/** Latencies as a storage device gives them: log-normal around `medianNs`, with a slow tail. */
function latencies(medianNs: number, count: number, seed = 1): LatencyRecorder {
  const random = seededRandom(seed);
  const rec = new LatencyRecorder();
  for (let i = 0; i < count; i++) {
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const tail = random() < 0.015 ? 4 + 8 * random() : 1;
    rec.record(medianNs * Math.exp(0.35 * gauss) * tail);
  }
  return rec;
}

function job(engine: string, iops: number, options: { workload?: Workload; medianNs?: number; ops?: number; seed?: number } = {}): JobResult {
  const workload = options.workload ?? RANDREAD;
  const ops = options.ops ?? 20_000;
  const clat = latencies(options.medianNs ?? 150_000, ops, options.seed).summary();
  const bs = workload.kind === 'file' ? workload.bs : workload.msgSize;
  const io = (n: number, c = clat) => ({ total_ios: n, io_bytes: n * bs, iops: n === 0 ? 0 : iops, bw: (iops * bs) / 1024, bw_bytes: iops * bs, clat_ns: c });
  const none = new LatencyRecorder().summary();
  return {
    jobname: `${engine}-${workload.kind}`,
    engine: engine as Engine,
    workload,
    elapsed: 5,
    read: io(ops),
    write: io(0, none),
    usr_cpu: 12.5,
    sys_cpu: 40,
    interrupted: false,
  };
}

/** A job that did nothing: 0 ops in 0 s, its rates the NaN a careless 0/0 gives. */
function idle(engine: string, workload: Workload = RANDREAD): JobResult {
  const none = new LatencyRecorder().summary();
  const io = { total_ios: 0, io_bytes: 0, iops: NaN, bw: NaN, bw_bytes: NaN, clat_ns: none };
  return { ...job(engine, 0, { workload, ops: 0 }), elapsed: 0, read: io, write: { ...io } };
}

const FILE_ENGINES = ['io_uring', 'linux-aio', 'threadpool', 'blocking', 'node-fs'];

function comparison(): JobResult[] {
  return [job('node-fs', 100_000, { seed: 1 }), job('io_uring', 184_000, { medianNs: 90_000, seed: 2 }), job('linux-aio', 171_500, { seed: 3 }), job('threadpool', 62_300, { medianNs: 400_000, seed: 4 }), job('blocking', 9_870, { seed: 5 })];
}

// ---------------------------------------------------------------------------
// XML: just enough of a parser to say a document is well-formed

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Element[];
}

const ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/u;

function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/gu, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!,
  );
}

/** Parses `xml` as XML 1.0 (elements, attributes, text, comments, a prolog), throwing on anything not well-formed. */
function parseXml(xml: string): Element {
  const token = /<!--[\s\S]*?-->|<\/([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/uy;
  const attr = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/gu;
  let pos = 0;
  const prolog = /^<\?xml[^?]*\?>\s*/u.exec(xml);
  if (prolog) pos = prolog[0].length;
  const stack: Element[] = [];
  let root: Element | undefined;
  while (pos < xml.length) {
    token.lastIndex = pos;
    const m = token.exec(xml);
    if (m === null) throw new Error(`not well-formed at ${pos}: ${JSON.stringify(xml.slice(pos, pos + 40))}`);
    pos = token.lastIndex;
    const [whole, close, open, attrText, selfClose, content] = m;
    if (whole.startsWith('<!--')) continue;
    if (content !== undefined) {
      if (ENTITY.test(content)) throw new Error(`bad entity in ${JSON.stringify(content)}`);
      if (stack.length === 0) {
        if (content.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(content)}`);
        continue;
      }
      stack.at(-1)!.text += decode(content);
    } else if (close !== undefined) {
      const top = stack.pop();
      if (top?.name !== close) throw new Error(`</${close}> closes <${top?.name}>`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of (attrText ?? '').matchAll(attr)) {
        const value = a[2] ?? a[3]!;
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        if (ENTITY.test(value)) throw new Error(`bad entity in ${a[1]}=${JSON.stringify(value)}`);
        attrs[a[1]!] = decode(value);
      }
      const el: Element = { name: open!, attrs, text: '', children: [] };
      if (stack.length > 0) stack.at(-1)!.children.push(el);
      else if (root !== undefined) throw new Error('a second root element');
      else root = el;
      if (selfClose !== '/') stack.push(el);
    }
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> never closed`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

function walk(el: Element): Element[] {
  return [el, ...el.children.flatMap(walk)];
}

/** The texts the chart shows, decoded. */
function texts(svg: Element): string[] {
  return walk(svg)
    .filter((e) => e.name === 'text')
    .map((e) => e.text);
}

/** Every check a chart must pass whatever its data; returns the parsed document. */
function valid(svg: string): Element {
  expect(svg).not.toMatch(/NaN|Infinity|undefined|null/u);
  // Pure ASCII: every other character is a character reference.
  expect(svg).toMatch(/^[\x20-\x7e\n]*$/u);
  const root = parseXml(svg);
  expect(root.name).toBe('svg');
  expect(root.attrs).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', version: '1.1', width: '800', height: '450', viewBox: '0 0 800 450' });
  // Self-contained: no links, images, scripts, styles or web fonts.
  expect(svg).not.toMatch(/href|<image|<script|<style|<foreignObject|url\(|@import|@font-face/iu);
  for (const el of walk(root)) {
    for (const [name, value] of Object.entries(el.attrs)) {
      if (/^(x|y|x1|x2|y1|y2|width|height|font-size)$/u.test(name)) expect(Number.isFinite(Number(value)), `${el.name} ${name}="${value}"`).toBe(true);
      if (/^(width|height)$/u.test(name)) expect(Number(value)).toBeGreaterThanOrEqual(0);
    }
  }
  expect(walk(root).filter((e) => e.name === 'title')).toHaveLength(1);
  return root;
}

// ---------------------------------------------------------------------------
// The comparison

describe('comparisonSvg', () => {
  it('draws a bar per engine, its value, its ratio to the first and its p99, under a title saying the workload', () => {
    const jobs = comparison();
    const root = valid(comparisonSvg(jobs));
    const shown = texts(root);
    expect(shown).toContain('randread 4 KiB, iodepth 32, O_DIRECT, 5 s');
    for (const engine of FILE_ENGINES) expect(shown).toContain(engine);
    expect(shown).toEqual(expect.arrayContaining(['100 k', '184 k', '172 k', '62.3 k', '9.87 k']));
    expect(shown).toEqual(expect.arrayContaining(['1.00\u00d7', '1.84\u00d7', '1.72\u00d7', '0.62\u00d7', '0.10\u00d7']));
    expect(shown).toContain('IOPS');
    expect(shown).not.toContain('round trips/s');
    // The p99 of each job, as the recorder reported it.
    const p99 = jobs[1]!.read.clat_ns.percentile['99.000000']!;
    expect(p99).toBeGreaterThan(90_000);
    expect(shown).toContain(`${Number((p99 / 1000).toPrecision(3))} \u00b5s`);
    // One bar per job, longest for the fastest, in proportion.
    const bars = walk(root).filter((e) => e.name === 'rect' && e.attrs.fill === '#3b6fb6');
    expect(bars).toHaveLength(5);
    const widths = bars.map((b) => Number(b.attrs.width));
    expect(widths.indexOf(Math.max(...widths))).toBe(1);
    expect(widths[1]! / widths[0]!).toBeCloseTo(1.84, 1);
    // The axis: round 1-2-5 ticks from 0 past the largest value.
    expect(shown).toEqual(expect.arrayContaining(['0', '50 k', '100 k', '150 k', '200 k']));
  });

  it('counts round trips for readiness jobs, and titles the echo workload', () => {
    const jobs = [job('node-net', 41_000, { workload: ECHO, medianNs: 1_200_000 }), job('epoll', 88_000, { workload: ECHO, medianNs: 560_000 })];
    const shown = texts(valid(comparisonSvg(jobs)));
    expect(shown).toContain('echo over tcp, 50 connections, 64 B, 5 s');
    expect(shown).toContain('round trips/s');
    expect(shown).not.toContain('IOPS');
    expect(shown).toContain('2.15\u00d7');
  });

  it('adds read and write IOPS', () => {
    const j = job('io_uring', 1000);
    j.write = { ...j.read, iops: 500 };
    const shown = texts(valid(comparisonSvg([j])));
    expect(shown).toContain('1.5 k');
  });

  it('escapes engine names', () => {
    const evil = `<b>"x" & 'y'</b>`;
    const svg = comparisonSvg([job(evil, 100), job('io_uring', 200)]);
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;b&gt;&quot;x&quot; &amp; &apos;y&apos;&lt;/b&gt;');
    expect(texts(valid(svg))).toContain(evil);
  });

  it('cuts a long engine name to its column, escaped all the same', () => {
    const long = `<script>alert("x")</script> & 'quoted' ${'x'.repeat(200)}`;
    const svg = comparisonSvg([job(long, 100), job('io_uring', 200)]);
    expect(svg).not.toContain('<script');
    const label = texts(valid(svg)).find((t) => t.startsWith('<script>'))!;
    expect(label).toMatch(/^<script>alert\("x"\)<\/.*\u2026$/u);
    expect(label.length).toBeLessThan(40);
  });

  it('draws no NaN or Infinity for a job with 0 ops, first or not, nor for an empty list', () => {
    for (const jobs of [[idle('io_uring')], [idle('io_uring'), job('blocking', 1000)], [job('blocking', 1000), idle('io_uring')], []]) {
      const shown = texts(valid(comparisonSvg(jobs)));
      expect(shown.length).toBeGreaterThan(3);
    }
    const shown = texts(valid(comparisonSvg([idle('io_uring'), job('blocking', 1000)])));
    // No baseline to divide by, and no latency to report: a dash, not a number.
    expect(shown.filter((t) => t === '\u2013').length).toBeGreaterThanOrEqual(3);
    expect(texts(valid(comparisonSvg([job('blocking', 1000), idle('io_uring')])))).toContain('0.00\u00d7');
  });

  it('keeps huge and tiny values readable', () => {
    const huge = texts(valid(comparisonSvg([job('io_uring', 3.2e12), job('blocking', 7.7e15), job('node-fs', 1e22)])));
    expect(huge).toEqual(expect.arrayContaining(['3.2 T', '7.7 P', '1.00e+22']));
    const tiny = texts(valid(comparisonSvg([job('io_uring', 0.003), job('blocking', 0.0071)])));
    expect(tiny).toEqual(expect.arrayContaining(['0.003', '0.0071', '2.37\u00d7']));
    // Tick labels stay distinct at both ends of the scale.
    for (const jobs of [[job('a', 0.003)], [job('a', 7.7e15)], [job('a', 1)], [job('a', 999.9)]]) {
      const svg = valid(comparisonSvg(jobs));
      const ticks = walk(svg).filter((e) => e.name === 'text' && e.attrs['font-size'] === '11' && e.attrs['text-anchor'] === 'middle');
      const labels = ticks.map((t) => t.text);
      expect(new Set(labels).size, labels.join(' | ')).toBe(labels.length);
      expect(labels.length).toBeGreaterThanOrEqual(3);
    }
  });

  it('fits 20 jobs, one row each, inside the canvas', () => {
    const jobs = Array.from({ length: 20 }, (_, i) => job(`engine-${i}`, 1000 * (i + 1), { seed: i, ops: 2000 }));
    const root = valid(comparisonSvg(jobs));
    const bars = walk(root).filter((e) => e.name === 'rect' && e.attrs.fill === '#3b6fb6');
    expect(bars).toHaveLength(20);
    const ys = bars.map((b) => Number(b.attrs.y));
    for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThan(Number(bars[i - 1]!.attrs.height));
    for (const el of walk(root).filter((e) => e.name === 'text' || e.name === 'rect')) {
      expect(Number(el.attrs.y ?? 0)).toBeGreaterThanOrEqual(0);
      expect(Number(el.attrs.y ?? 0) + Number(el.attrs.height ?? 0)).toBeLessThanOrEqual(450);
      expect(Number(el.attrs.x ?? 0)).toBeLessThanOrEqual(800);
    }
    expect(texts(root)).toContain('20.0\u00d7');
  });

  it('marks a job stopped early', () => {
    const j = { ...job('io_uring', 1000), interrupted: true };
    const shown = texts(valid(comparisonSvg([j])));
    expect(shown).toContain('io_uring *');
    expect(shown.some((t) => t.startsWith('* stopped early'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The histogram

describe('histogramSvg', () => {
  it('draws the latency distribution on a log axis, with p50, p99 and p99.9 marked', () => {
    const j = job('io_uring', 184_000, { medianNs: 90_000, ops: 50_000 });
    const root = valid(histogramSvg(j));
    const shown = texts(root);
    expect(shown).toContain('io_uring: randread 4 KiB, iodepth 32, O_DIRECT, 5 s');
    const p = j.read.clat_ns.percentile;
    const time = (ns: number): string => (ns < 1e6 ? `${Number((ns / 1e3).toPrecision(3))} \u00b5s` : `${Number((ns / 1e6).toPrecision(3))} ms`);
    expect(shown).toEqual(expect.arrayContaining([`p50 ${time(p['50.000000']!)}`, `p99 ${time(p['99.000000']!)}`, `p99.9 ${time(p['99.900000']!)}`]));
    // Three dashed marker lines, left to right.
    const markers = walk(root).filter((e) => e.name === 'line' && e.attrs['stroke-dasharray'] !== undefined);
    expect(markers).toHaveLength(3);
    const xs = markers.map((m) => Number(m.attrs.x1));
    expect(xs[0]).toBeLessThan(xs[1]!);
    expect(xs[1]).toBeLessThan(xs[2]!);
    // Log ticks with units, from a round value.
    expect(shown).toEqual(expect.arrayContaining(['50 \u00b5s', '100 \u00b5s', '200 \u00b5s', '1 ms']));
    // Bars sum to all the ops: heights in proportion to the shares.
    const bars = walk(root).filter((e) => e.name === 'rect' && e.attrs.fill === '#3b6fb6');
    expect(bars.length).toBeGreaterThan(20);
    // The tallest bar sits near the median.
    const tallest = bars.reduce((a, b) => (Number(b.attrs.height) > Number(a.attrs.height) ? b : a));
    expect(Math.abs(Number(tallest.attrs.x) - xs[0]!)).toBeLessThan(40);
    expect(shown.some((t) => /^read latency, 50,000 ops: min .*, mean .*, max .* ms$/u.test(t))).toBe(true);
  });

  it('uses the write side of a write job, and says round trip for readiness', () => {
    const w = job('io_uring', 1000, { workload: { ...RANDREAD, rw: 'randwrite' } });
    [w.read, w.write] = [w.write, w.read];
    expect(texts(valid(histogramSvg(w))).some((t) => t.startsWith('write latency, 20,000 ops'))).toBe(true);
    const shown = texts(valid(histogramSvg(job('epoll', 88_000, { workload: ECHO, medianNs: 560_000 }))));
    expect(shown).toContain('epoll: echo over tcp, 50 connections, 64 B, 5 s');
    expect(shown).toContain('round-trip latency (log scale)');
  });

  it('escapes the title', () => {
    const svg = histogramSvg(job(`a<b>&"c'`, 100));
    expect(texts(valid(svg))[0]).toBe(`a<b>&"c': randread 4 KiB, iodepth 32, O_DIRECT, 5 s`);
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&apos;');
  });

  it('draws empty axes, not NaN, for a job with 0 ops or no clat_ns at all', () => {
    expect(texts(valid(histogramSvg(idle('io_uring'))))).toContain('no operations recorded');
    const broken = job('io_uring', 10);
    broken.read = bad({ iops: 10 });
    expect(texts(valid(histogramSvg(broken)))).toContain('no operations recorded');
    expect(texts(valid(histogramSvg(bad({}))))).toContain('no operations recorded');
  });

  it('copes with one bucket, with 0 ns, and with latencies of seconds and of nanoseconds', () => {
    const cases: [string, number[]][] = [
      ['constant', Array(1000).fill(100_000)],
      ['zeros', [0, 0, 0, 1, 2, 3, 40]],
      ['seconds', [1.5e9, 2e9, 30e9, 400e9]],
      ['all scales', [5, 500, 5e4, 5e6, 5e8, 5e10]],
    ];
    for (const [name, values] of cases) {
      const rec = new LatencyRecorder();
      for (const v of values) rec.record(v);
      const j = job('io_uring', 10);
      j.read.clat_ns = rec.summary();
      const root = valid(histogramSvg(j));
      const bars = walk(root).filter((e) => e.name === 'rect' && e.attrs.fill === '#3b6fb6');
      expect(bars.length, name).toBeGreaterThan(0);
      for (const b of bars) {
        expect(Number(b.attrs.x), name).toBeGreaterThanOrEqual(60);
        expect(Number(b.attrs.x) + Number(b.attrs.width), name).toBeLessThanOrEqual(800);
      }
      expect(walk(root).filter((e) => e.name === 'line' && e.attrs['stroke-dasharray'] !== undefined), name).toHaveLength(3);
      const ticks = walk(root).filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'middle' && e.attrs['font-size'] === '11' && !e.attrs['font-weight']);
      expect(ticks.length, name).toBeGreaterThanOrEqual(3);
      expect(ticks.length, name).toBeLessThanOrEqual(10);
    }
  });
});

// ---------------------------------------------------------------------------
// Rendering: headless Chromium, and a PNG decoder for what it writes

interface Image {
  width: number;
  height: number;
  /** RGBA or RGB, 8 bits a channel. */
  channels: number;
  data: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA non-interlaced PNG (what Chromium's --screenshot writes). */
function decodePng(png: Buffer): Image {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe(height * (stride + 1));
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[row + i - channels]! : 0;
      const b = y > 0 ? out[row - stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[row - stride + i - channels]! : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`PNG: filter ${filter} on row ${y}`);
      }
      out[row + i] = (line[i]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

/** Counts the pixels in a box that pass `test(r, g, b)`. */
function count(image: Image, box: { x0: number; y0: number; x1: number; y1: number }, test: (r: number, g: number, b: number) => boolean): number {
  let hits = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = (y * image.width + x) * image.channels;
      if (test(image.data[i]!, image.data[i + 1]!, image.data[i + 2]!)) hits++;
    }
  }
  return hits;
}

const nonWhite = (r: number, g: number, b: number): boolean => r < 245 || g < 245 || b < 245;
/** The bars' #3b6fb6, give or take a little colour management. */
const barColour = (r: number, g: number, b: number): boolean => Math.abs(r - 0x3b) <= 6 && Math.abs(g - 0x6f) <= 6 && Math.abs(b - 0xb6) <= 6;

/** Debian's `chromium` (or `chromium-browser` elsewhere) on PATH. */
function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Renders an SVG file to an 800×450 PNG with headless Chromium, in a profile of its own. */
function screenshot(chromium: string, svg: string, png: string, profile: string): Promise<void> {
  const args = [
    '--headless',
    // root has no user namespace sandbox to give it
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--no-default-browser-check',
    '--hide-scrollbars',
    '--force-device-scale-factor=1',
    `--user-data-dir=${profile}`,
    '--window-size=800,450',
    `--screenshot=${png}`,
    `file://${svg}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(chromium, args, { env: withoutPreload(), timeout: 90_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${chromium} failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve();
    });
  });
}

describe('the charts in headless Chromium', () => {
  it('render to 800×450 PNGs with the bars and the histogram drawn', { timeout: 120_000 }, async () => {
    const chromium = findChromium();
    if (chromium === undefined && mayskip('chromium is not installed (.ci/run installs Debian\'s chromium package)')) return;
    const dir = tmpDir();
    const charts = {
      comparison: comparisonSvg(comparison()),
      histogram: histogramSvg(job('io_uring', 184_000, { medianNs: 90_000, ops: 50_000 })),
    };
    // Both at once: each Chromium takes a few seconds, mostly starting up.
    await Promise.all(
      Object.entries(charts).map(([name, svg]) => {
        writeFileSync(join(dir, `${name}.svg`), svg);
        mkdirSync(join(dir, `profile-${name}`));
        return screenshot(chromium!, join(dir, `${name}.svg`), join(dir, `${name}.png`), join(dir, `profile-${name}`));
      }),
    );
    const keep = process.env.IOMODES_PLOT_KEEP;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const name of Object.keys(charts)) {
        for (const ext of ['svg', 'png']) copyFileSync(join(dir, `${name}.${ext}`), join(keep, `plot-${name}.${ext}`));
      }
    }

    const comparisonPng = decodePng(readFileSync(join(dir, 'comparison.png')));
    expect([comparisonPng.width, comparisonPng.height]).toEqual([800, 450]);
    // The bars' area: below the subtitle, above the axis labels, between the engine labels and the ratio column.
    const bars = { x0: 100, y0: 84, x1: 670, y1: 396 };
    const area = (bars.x1 - bars.x0) * (bars.y1 - bars.y0);
    expect(count(comparisonPng, bars, nonWhite) / area).toBeGreaterThan(0.15);
    // The five bars: 100k, 184k, 171.5k, 62.3k and 9.87k of a 200k axis, about 60% of the band each.
    expect(count(comparisonPng, bars, barColour) / area).toBeGreaterThan(0.12);
    // Text drew: the title line is not blank.
    expect(count(comparisonPng, { x0: 0, y0: 8, x1: 800, y1: 34 }, nonWhite)).toBeGreaterThan(500);

    const histogramPng = decodePng(readFileSync(join(dir, 'histogram.png')));
    expect([histogramPng.width, histogramPng.height]).toEqual([800, 450]);
    const plot = { x0: 66, y0: 104, x1: 776, y1: 398 };
    expect(count(histogramPng, plot, barColour)).toBeGreaterThan(3000);
    // The three markers' colours (green, orange, red) each drew.
    for (const [r, g, b] of [
      [0x1a, 0x7f, 0x37],
      [0xbc, 0x4c, 0x00],
      [0xcf, 0x22, 0x2e],
    ] as const) {
      expect(count(histogramPng, { x0: 0, y0: 50, x1: 800, y1: 400 }, (pr, pg, pb) => Math.abs(pr - r) <= 8 && Math.abs(pg - g) <= 8 && Math.abs(pb - b) <= 8)).toBeGreaterThan(40);
    }
  });
});
