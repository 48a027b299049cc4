// Direct I/O against the page cache, measured: reads of a file on disk with
// a cold page cache, a warm one, O_DIRECT (no cache at all) and RWF_DONTCACHE
// (uncached buffered I/O), against what a Node user would write instead
// (fs.readSync on a plain fd), all in one run, in interleaved rounds. Page
// residency (mincore) is taken before and after every job, to show which
// cache state each figure was measured in and what each job left behind.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:direct     [-- --size=1024 --seconds=0.5 --rounds=5]
//
// --size is the file in MiB, --seconds each random-read job's time per round
// (decimals allowed), --rounds the rounds. The default run takes about 80 s
// on a 2-core VM with a virtio disk.
//
// The file (random bytes) is made once in a temp dir on a filesystem that
// accepts O_DIRECT (/var/tmp, else the working directory), allocated with
// fallocate, written, fsynced, and removed at the end. It is smaller than
// the RAM here, so "cold" is made, not waited for: dropCache (fdatasync, then
// posix_fadvise DONTNEED on the whole file) before every cold job, and the
// residency before it shows 0 pages. "Warm" means one plain read of the
// whole file first, and the residency shows every page.
//
// (a) Sequential: the whole file, front to back, 1 MiB per read, one read at
//     a time; MB/s (10^6 bytes/s) = file size / elapsed. Contenders:
//     - node fs.readSync on a buffered fd: cold, then warm;
//     - iomodes pread on a buffered fd into an allocAligned() buffer, and
//       into a plain Buffer (see Buffers below): cold, then warm;
//     - iomodes preadv2(fd, [buf], pos, RWF.DONTCACHE) on a buffered fd, cold
//       (where uncachedIoAvailable() says the filesystem takes it);
//     - iomodes pread on an openDirect() fd into an allocAligned() buffer;
//     - iomodes Ring (io_uring) on an openDirect() fd at queue depth 4 (4
//       async loops, each awaiting its read of the next 1 MiB), since
//       O_DIRECT has no readahead to keep the device busy.
// (b) Random: 4 KiB reads at 4 KiB-aligned positions, a fresh random
//     permutation of the file's blocks each round (no block read twice in a
//     job), replayed from its start by every job of the round; IOPS = reads /
//     elapsed, for --seconds. Contenders: the same four, cold, at queue depth 1;
//     iomodes Ring (io_uring) at queue depth 32 (32 async loops, each awaiting
//     its own read), O_DIRECT and buffered cold; node fs.readSync warm, for the
//     page cache's own figure.
//
// Beside each figure: this process's CPU time (user + system) over the job's
// wall time, since what O_DIRECT saves is partly CPU (no copy through the
// page cache, no cache to fill and reclaim).
//
// The order within a round matters on a VM, and is fixed so that it is the
// same for every contender that fills the page cache: this one's memory
// balloon reports free memory to the host (virtio free page reporting), which
// takes it back once it has been free for a couple of seconds, and touching
// it again costs a fault in the host. A buffered read right after dropCache
// let go of a cached file gets that memory back still mapped, and runs up to
// twice as fast as one after a job that cached nothing. So each round goes:
// a warming read; the warm jobs; the cold sequential jobs that fill the cache,
// each after dropCache of the file the previous one (or the warming read)
// cached; the random ones; then the sequential jobs that bypass the cache
// (O_DIRECT, RWF_DONTCACHE), which allocate none. Within each group the order
// rotates from round to round, so no one always runs first.
//
// Each fd is its own open(), so no job inherits another's readahead state.
// Ratios are medians over rounds of
// (a's figure) / (b's figure) in the same round, the two having run seconds
// apart. Figures are printed, never checked.
import { closeSync, constants as fsConstants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadIomodes, median, numberOption, pairedRatio, perSecond, table, directIoDir, secondsOption } from './lib.mjs';

const io = await loadIomodes();
const { O, RWF, Ring } = io;

const sizeMiB = numberOption('size', 1024);
const seconds = secondsOption(0.5);
const rounds = numberOption('rounds', 5);
const FILE_SIZE = sizeMiB * 2 ** 20;
const CHUNK = 1 << 20;
const BLOCK = 4096;
const DEPTH = 32;
const SEQ_DEPTH = 4;
const BLOCKS = FILE_SIZE / BLOCK;
const slotMs = seconds * 1000;

// The file ----------------------------------------------------------------------
const { base, alignment, refused } = directIoDir(io);
if (base === undefined) {
  console.error(`bench: no filesystem here accepts O_DIRECT, and O_DIRECT is what this measures:\n${refused}`);
  process.exit(1);
}
const uncached = io.uncachedIoAvailable(base);
if (!uncached.ok) console.log(`bench: RWF_DONTCACHE is not available (${uncached.detail}); its rows are left out`);

const dir = mkdtempSync(join(base, 'iomodes-bench-'));
const path = join(dir, 'data');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

const tMake = performance.now();
{
  // Random bytes (one 1 MiB chunk, repeated), allocated in one go so the
  // extents are as contiguous as the filesystem can make them.
  const fd = io.open(path, O.RDWR | O.CREAT | O.TRUNC, { mode: 0o600 });
  io.fallocate(fd, 0, FILE_SIZE);
  const chunk = randomFillSync(Buffer.allocUnsafe(CHUNK));
  for (let off = 0; off < FILE_SIZE; off += CHUNK) io.pwrite(fd, chunk, off, 0, Math.min(CHUNK, FILE_SIZE - off));
  io.dropCache(fd); // fdatasync, then out of the page cache
  io.close(fd);
}
const makeSeconds = (performance.now() - tMake) / 1000;

// One buffered fd for residency and dropCache, one fd per contender.
const ctl = io.open(path, O.RDONLY);
const openBuffered = () => io.open(path, O.RDONLY);
const openNode = () => openSync(path, fsConstants.O_RDONLY);
const openDirect = () => io.openDirect(path, 'r');
const opened = [];
const fdOf = (open, closeFd) => {
  const fd = open();
  opened.push(() => closeFd(fd));
  return fd;
};

const residency = () => io.residency(ctl).resident;
const PAGES = io.residency(ctl).pages;
const dropCache = () => io.dropCache(ctl);

/** Reads the whole file once through the page cache; what is left is warm. */
function warmFile() {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let off = 0; off < FILE_SIZE; off += CHUNK) readSync(fd, buf, 0, CHUNK, off);
  closeSync(fd);
}

// Random positions: a permutation of the file's blocks (Fisher-Yates), a new
// one per round, replayed from the start by each job of that round.
const order = new Uint32Array(BLOCKS);
for (let i = 0; i < BLOCKS; i++) order[i] = i;
function shuffle() {
  for (let i = BLOCKS - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

// Buffers: plain Buffers for Node (what a Node user has: a 1 MiB one starts
// 16 bytes past a page boundary, after malloc's header), page-aligned ones
// for iomodes (O_DIRECT needs them). The kernel's copy from the page cache
// into a page-aligned buffer is much faster here (AMD EPYC, `rep movsb`)
// than into a plain Buffer, whatever makes the call, so the
// buffered sequential reads are also run by iomodes into a plain Buffer
// ("iomodes pread, Buffer"): the call path and the alignment, apart.
const nodeChunk = Buffer.allocUnsafe(CHUNK);
const plainChunk = Buffer.allocUnsafe(CHUNK);
const nodeBlock = Buffer.allocUnsafe(BLOCK);
const alignedChunks = Array.from({ length: SEQ_DEPTH }, () => io.allocAligned(CHUNK));
const alignedChunk = alignedChunks[0];
const alignedBlocks = Array.from({ length: DEPTH }, () => io.allocAligned(BLOCK));

// Jobs ----------------------------------------------------------------------------

/** Sequential 1 MiB reads of the whole file with `read(pos)`; returns bytes/s. */
function sequential(read) {
  const t0 = performance.now();
  for (let off = 0; off < FILE_SIZE; off += CHUNK) {
    const got = read(off);
    if (got !== CHUNK) throw new Error(`short read at ${off}: ${got}`);
  }
  return (FILE_SIZE * 1000) / (performance.now() - t0);
}

/** Random 4 KiB reads along `order`, one at a time, for `ms`; returns reads/s. */
function random(read, ms) {
  const t0 = performance.now();
  const end = t0 + ms;
  let n = 0;
  for (;;) {
    const got = read(order[n % BLOCKS] * BLOCK);
    if (got !== BLOCK) throw new Error(`short read: ${got}`);
    if ((++n & 15) === 0 && performance.now() >= end) break;
  }
  return (n * 1000) / (performance.now() - t0);
}

/**
 * Sequential 1 MiB reads of the whole file at queue depth `depth`: that many
 * async loops, each awaiting its own read of the next chunk; returns bytes/s.
 */
async function sequentialDepth(read, depth) {
  const t0 = performance.now();
  let next = 0;
  const loop = async (buf) => {
    while (next < FILE_SIZE) {
      const off = next;
      next += CHUNK;
      const got = await read(buf, off);
      if (got !== CHUNK) throw new Error(`short read at ${off}: ${got}`);
    }
  };
  await Promise.all(alignedChunks.slice(0, depth).map(loop));
  return (FILE_SIZE * 1000) / (performance.now() - t0);
}

/**
 * Random 4 KiB reads along `order` at queue depth `depth`: that many async
 * loops, each awaiting its own read at the next position, for `ms`; reads/s.
 */
async function randomDepth(read, depth, ms) {
  const t0 = performance.now();
  const end = t0 + ms;
  let next = 0;
  let stop = false;
  const loop = async (buf) => {
    let n = 0;
    while (!stop) {
      const got = await read(buf, order[next++ % BLOCKS] * BLOCK);
      if (got !== BLOCK) throw new Error(`short read: ${got}`);
      if ((++n & 15) === 0 && performance.now() >= end) stop = true;
    }
  };
  await Promise.all(alignedBlocks.slice(0, depth).map(loop));
  return (next * 1000) / (performance.now() - t0);
}

const ring = Ring.create({ entries: 64 });

// kind: 'seq' (bytes/s) or 'rand' (reads/s); cache: 'cold' (dropCache
// first) or 'warm' (after a warming read). `run(ms)` returns the figure (ms: a random job's time).
const jobs = [];
const job = (kind, cache, name, run) => jobs.push({ kind, cache, name, key: `${kind}|${cache}|${name}`, run });

{
  const fd = fdOf(openNode, closeSync);
  job('seq', 'cold', 'node fs.readSync', () => sequential((off) => readSync(fd, nodeChunk, 0, CHUNK, off)));
}
{
  const fd = fdOf(openBuffered, io.close);
  job('seq', 'cold', 'iomodes pread', () => sequential((off) => io.pread(fd, alignedChunk, off)));
}
{
  const fd = fdOf(openBuffered, io.close);
  job('seq', 'cold', 'iomodes pread, Buffer', () => sequential((off) => io.pread(fd, plainChunk, off)));
}
if (uncached.ok) {
  const fd = fdOf(openBuffered, io.close);
  const list = [alignedChunk];
  job('seq', 'cold', 'iomodes preadv2 RWF_DONTCACHE', () => sequential((off) => io.preadv2(fd, list, off, RWF.DONTCACHE)));
}
{
  const fd = fdOf(openDirect, io.close);
  job('seq', 'cold', 'iomodes pread O_DIRECT', () => sequential((off) => io.pread(fd, alignedChunk, off)));
}
{
  const fd = fdOf(openDirect, io.close);
  job('seq', 'cold', `iomodes Ring QD${SEQ_DEPTH} O_DIRECT`, () => sequentialDepth((buf, position) => ring.read(fd, buf, { position }), SEQ_DEPTH));
}
{
  const fd = fdOf(openNode, closeSync);
  job('seq', 'warm', 'node fs.readSync', () => sequential((off) => readSync(fd, nodeChunk, 0, CHUNK, off)));
}
{
  const fd = fdOf(openBuffered, io.close);
  job('seq', 'warm', 'iomodes pread', () => sequential((off) => io.pread(fd, alignedChunk, off)));
}
{
  const fd = fdOf(openBuffered, io.close);
  job('seq', 'warm', 'iomodes pread, Buffer', () => sequential((off) => io.pread(fd, plainChunk, off)));
}
{
  const fd = fdOf(openNode, closeSync);
  job('rand', 'cold', 'node fs.readSync', (ms) => random((off) => readSync(fd, nodeBlock, 0, BLOCK, off), ms));
}
{
  const fd = fdOf(openBuffered, io.close);
  const buf = alignedBlocks[0];
  job('rand', 'cold', 'iomodes pread', (ms) => random((off) => io.pread(fd, buf, off), ms));
}
if (uncached.ok) {
  const fd = fdOf(openBuffered, io.close);
  const list = [alignedBlocks[0]];
  job('rand', 'cold', 'iomodes preadv2 RWF_DONTCACHE', (ms) => random((off) => io.preadv2(fd, list, off, RWF.DONTCACHE), ms));
}
{
  const fd = fdOf(openDirect, io.close);
  const buf = alignedBlocks[0];
  job('rand', 'cold', 'iomodes pread O_DIRECT', (ms) => random((off) => io.pread(fd, buf, off), ms));
}
{
  const fd = fdOf(openBuffered, io.close);
  job('rand', 'cold', `iomodes Ring QD${DEPTH}`, (ms) => randomDepth((buf, position) => ring.read(fd, buf, { position }), DEPTH, ms));
}
{
  const fd = fdOf(openDirect, io.close);
  job('rand', 'cold', `iomodes Ring QD${DEPTH} O_DIRECT`, (ms) => randomDepth((buf, position) => ring.read(fd, buf, { position }), DEPTH, ms));
}
{
  const fd = fdOf(openNode, closeSync);
  job('rand', 'warm', 'node fs.readSync', (ms) => random((off) => readSync(fd, nodeBlock, 0, BLOCK, off), ms));
}

// Rounds ----------------------------------------------------------------------------
// results[key] = { rates: [...] } (pairedRatio's shape); resident[key] = [[before, after], ...]
const results = Object.fromEntries(jobs.map((j) => [j.key, { rates: [] }]));
const resident = Object.fromEntries(jobs.map((j) => [j.key, []]));
const cpu = Object.fromEntries(jobs.map((j) => [j.key, []])); // this process's CPU %, user + system
const failed = new Map();

async function runJob(j, record, ms = slotMs) {
  if (failed.has(j.key)) return;
  if (j.cache === 'cold') dropCache();
  const before = residency();
  try {
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    const figure = await j.run(ms);
    const { user, system } = process.cpuUsage(cpu0);
    if (record) {
      results[j.key].rates.push(figure);
      resident[j.key].push([before, residency()]);
      cpu[j.key].push((user + system) / 10 / (performance.now() - t)); // µs / (ms × 1000) × 100
    }
  } catch (err) {
    failed.set(j.key, err.message);
  }
}

/** The jobs that pass `pick`, in an order rotated by `round`. */
const rotated = (pick, round) => {
  const list = jobs.filter(pick);
  return list.map((_, i) => list[(i + round) % list.length]);
};
// Which cold sequential jobs fill the page cache (the rest bypass it).
const fills = (j) => !j.name.includes('O_DIRECT') && !j.name.includes('DONTCACHE');

const t0 = performance.now();
// Warm-up (JIT, the ring), off the record: 50 ms of each random job.
shuffle();
for (const j of jobs.filter((x) => x.kind === 'rand')) await runJob(j, false, 50);
// Each cold job that fills the page cache runs right after a whole cached
// file was dropped (see the header): the warm jobs, then those, then the
// random ones, and the jobs that bypass the cache last.
for (let round = 0; round < rounds; round++) {
  shuffle();
  warmFile();
  for (const j of rotated((x) => x.kind === 'seq' && x.cache === 'warm', round)) await runJob(j, true);
  for (const j of rotated((x) => x.kind === 'rand' && x.cache === 'warm', round)) await runJob(j, true);
  for (const j of rotated((x) => x.kind === 'seq' && x.cache === 'cold' && fills(x), round)) await runJob(j, true);
  for (const j of rotated((x) => x.kind === 'rand' && x.cache === 'cold', round)) await runJob(j, true);
  for (const j of rotated((x) => x.kind === 'seq' && x.cache === 'cold' && !fills(x), round)) await runJob(j, true);
}
const wall = (performance.now() - t0) / 1000;

ring.close();
for (const close of opened) close();
io.close(ctl);
rmSync(dir, { recursive: true, force: true });

// Report ------------------------------------------------------------------------------
const ok = (key) => !failed.has(key) && results[key].rates.length === rounds;
const ratio = (a, b) => (ok(a) && ok(b) ? pairedRatio(results, a, b) : NaN);
const times = (x) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)}×`);
const mb = (bytesPerSecond) => (bytesPerSecond / 1e6).toFixed(0);
const pct = (pages) => `${((100 * pages) / PAGES).toFixed(1)}%`;
const res = ([before, after]) => `${perSecond(before)} → ${perSecond(after)}`;
const spread = (rates, f) => `${f(Math.min(...rates))}–${f(Math.max(...rates))}`;
const cpuOf = (key) => `${median(cpu[key]).toFixed(0)}%`;
const label = (j) => `${j.name}, ${j.cache}`;
const NODE_SEQ_COLD = 'seq|cold|node fs.readSync';
const NODE_SEQ_WARM = 'seq|warm|node fs.readSync';
const NODE_RAND_COLD = 'rand|cold|node fs.readSync';
const NODE_RAND_WARM = 'rand|warm|node fs.readSync';

const a = alignment ? `O_DIRECT alignment memory ${alignment.memory}, offset ${alignment.offset} (${alignment.source})` : 'O_DIRECT alignment unknown';
console.log(
  `node ${process.version}, ${availableParallelism()} CPUs; ${sizeMiB} MiB file in ${base} (${PAGES} pages of ${BLOCK} B; made in ${makeSeconds.toFixed(1)} s); ${a}; ` +
    `RWF_DONTCACHE ${uncached.ok ? 'available' : 'unavailable'}; ${rounds} rounds, random jobs ${seconds} s each (${wall.toFixed(0)} s)\n`,
);

const seqJobs = jobs.filter((j) => j.kind === 'seq');
const randJobs = jobs.filter((j) => j.kind === 'rand');
const lastRes = (key) => (resident[key].length ? res(resident[key][resident[key].length - 1]) : 'n/a');

console.log('(a) sequential 1 MiB reads of the whole file, QD1 unless named: median MB/s over rounds; resident pages before → after the last round\'s job\n');
{
  const rows = [['job', 'MB/s', 'min–max', 'vs fs cold', 'vs fs warm', 'CPU', 'resident before → after']];
  for (const j of seqJobs) {
    if (!ok(j.key)) {
      rows.push([label(j), 'failed', '', '', '', '', '']);
      continue;
    }
    const r = results[j.key].rates;
    rows.push([label(j), mb(median(r)), spread(r, mb), times(ratio(j.key, NODE_SEQ_COLD)), times(ratio(j.key, NODE_SEQ_WARM)), cpuOf(j.key), lastRes(j.key)]);
  }
  table(rows);
}
console.log('');
console.log('(b) random 4 KiB reads: median IOPS over rounds; resident pages before → after the last round\'s job\n');
{
  const rows = [['job', 'IOPS', 'MB/s', 'min–max IOPS', 'vs fs cold', 'vs fs warm', 'CPU', 'resident before → after']];
  for (const j of randJobs) {
    if (!ok(j.key)) {
      rows.push([label(j), 'failed', '', '', '', '', '', '']);
      continue;
    }
    const r = results[j.key].rates;
    rows.push([label(j), perSecond(median(r)), mb(median(r) * BLOCK), spread(r, perSecond), times(ratio(j.key, NODE_RAND_COLD)), times(ratio(j.key, NODE_RAND_WARM)), cpuOf(j.key), lastRes(j.key)]);
  }
  table(rows);
}
console.log('');
console.log(`ratios: median over rounds of (job's figure) / (node fs.readSync's, cold or warm) in the same round; ${PAGES} pages in all`);
console.log('CPU: this process\'s user + system time / the job\'s wall time, median over rounds (100% = one core; readahead and completions run partly elsewhere)');
for (const [key, message] of failed) console.log(`failed: ${key.replaceAll('|', ', ')}: ${message}`);
console.log('');
console.log('Per round: figure (MB/s or IOPS) [resident pages before → after, % after; CPU]');
for (const j of jobs) {
  if (!results[j.key].rates.length) continue;
  const f = j.kind === 'seq' ? mb : perSecond;
  const cells = results[j.key].rates.map((rate, i) => `${f(rate)} [${res(resident[j.key][i])}, ${pct(resident[j.key][i][1])}; ${cpu[j.key][i].toFixed(0)}%]`);
  console.log(`  ${j.kind === 'seq' ? 'seq ' : 'rand'} ${label(j).padEnd(40)} ${cells.join('  ')}`);
}
