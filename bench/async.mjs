// Asynchronous file reads, measured: 4 KiB random reads of a 1 GiB file
// through iomodes' four AsyncIo backends (Ring = io_uring, LinuxAio,
// PosixAio, ThreadpoolIo), against what a Node user would write instead
// (fs.read, FileHandle.read) and against fio, the reference for what the
// kernel can do, all in one run, in interleaved rounds.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:async      [-- --seconds=0.3 --rounds=5 --size=1024]
//
// --seconds is each contender's time per round and configuration (decimals
// allowed), --rounds the rounds, --size the file in MiB (shrink it for a
// quick run). The default run takes about 105 s.
//
// Four configurations: queue depth 1 and 32, page-cached and O_DIRECT. The
// file is made once in a temp dir on a filesystem that accepts O_DIRECT
// (/var/tmp, else the working directory) and removed at the end. Before each
// round it is read whole, so the page-cached reads never wait for the disk;
// O_DIRECT reads bypass the cache (and leave it alone).
//
// Queue depth N: N async loops, each awaiting its own read at the next
// position of one shared random sequence (4 KiB-aligned), until the round's
// time is up; IOPS = reads / elapsed. Contenders:
// - iomodes Ring, LinuxAio, PosixAio, ThreadpoolIo: `X.create()`, then
//   `await x.read(fd, buf, { position })` on an fd from iomodes' open();
// - iomodes Ring submitBatch 2: a ring made with `{ submitBatch: 2 }`, so
//   that a turn's reads enter the kernel two at a time, unplugged (fio's own
//   default submits one at a time, iodepth_batch_submit=1);
// - iomodes Ring fixed: a second ring with one registered 4 KiB buffer per
//   loop (`registerBuffers(32, 4096)`), `await ring.readFixed(fd, buf,
//   { bufferIndex, position })`: the same copy into the loop's buffer, but
//   no bounce block and no per-read page pinning in the kernel;
// - two floors, for context: iomodes' own native ring (the same addon
//   object Ring wraps: bounce blocks, the copy out, deferred task work),
//   driven with none of Ring's JavaScript — no options, no validation, no
//   slot table, no abort signals. "floor, promise per read" settles one
//   bare promise per read, so its loops are the same awaits; "floor,
//   callbacks" starts each loop's next read from the completion's callback,
//   no promise at all. Each with the whole turn in one io_uring_enter and
//   with two per enter (as Ring and Ring submitBatch 2). A Ring read cannot
//   cost less than the first floor: the API is one Promise per operation;
// - Node's fs.read (callback, promisified by hand) and FileHandle.read, on
//   their own fds (fs.constants.O_DIRECT for O_DIRECT), with the default
//   libuv pool (UV_THREADPOOL_SIZE, 4 unless set);
// - fio's io_uring and libaio engines, one `fio` process per round and
//   configuration (--rw=randread --bs=4k --iodepth=N --direct=0|1
//   --numjobs=1 --time_based), IOPS from its JSON output. fio's start-up is
//   not in its figure. Without fio, its columns are left out.
// Ratios are medians over rounds of (a's IOPS) / (b's IOPS) in the same
// round, the two having run back to back. CPU per read is the whole
// process's user + system time over the reads it made (process.cpuUsage():
// libuv's pool threads count, and can run on another core than the loop),
// and fio's own usr + sys; cores is that CPU over the elapsed time.
import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, fsyncSync, mkdtempSync, openSync, read as fsRead, readSync, rmSync, writeSync } from 'node:fs';
import { open as fsOpen } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadIomodes, median, numberOption, pairedRatio, perSecond, table, secondsOption, directIoDir } from './lib.mjs';

const io = await loadIomodes();
const { LinuxAio, O, PosixAio, Ring, ThreadpoolIo } = io;
const { native } = await import('../dist/native.js');
const { openRing } = await import('../dist/async/ring.js');
const { Watcher, WATCH } = await import('../dist/watcher.js');

const seconds = secondsOption(0.3);
const rounds = numberOption('rounds', 5);
const sizeMiB = numberOption('size', 1024);
const FILE_SIZE = sizeMiB * 2 ** 20;
const BLOCK = 4096;
const DEPTHS = [1, 32];
const slotMs = seconds * 1000;

// The file --------------------------------------------------------------------
const found = directIoDir(io);
let base = found.base;
const directNote = found.refused;
const direct = base !== undefined;
if (!direct) {
  base = '/var/tmp';
  console.log(`bench: no filesystem here accepts O_DIRECT, so the O_DIRECT configurations are left out:\n${directNote}`);
}
const dir = mkdtempSync(join(base, 'iomodes-bench-'));
const path = join(dir, 'data');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

{
  // Random bytes (one 1 MiB chunk, repeated), on disk before O_DIRECT reads it.
  const fd = openSync(path, 'w');
  const chunk = randomFillSync(Buffer.allocUnsafe(1 << 20));
  for (let off = 0; off < FILE_SIZE; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, FILE_SIZE - off), off);
  fsyncSync(fd);
  closeSync(fd);
}

/** Reads the whole file once, so that every page is in the page cache. */
function cacheFile() {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let off = 0; off < FILE_SIZE; off += buf.length) readSync(fd, buf, 0, buf.length, off);
  closeSync(fd);
}

// One shared sequence of random aligned positions, replayed by every contender.
const positions = new Float64Array(1 << 16);
for (let i = 0; i < positions.length; i++) positions[i] = Math.floor(Math.random() * (FILE_SIZE / BLOCK)) * BLOCK;
const mask = positions.length - 1;
let cursor = 0;

const fds = { cached: io.open(path, O.RDONLY), direct: direct ? io.open(path, O.RDONLY | O.DIRECT) : -1 };
const nodeFds = { cached: openSync(path, fsConstants.O_RDONLY), direct: direct ? openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECT) : -1 };
const handles = {
  cached: await fsOpen(path, fsConstants.O_RDONLY),
  direct: direct ? await fsOpen(path, fsConstants.O_RDONLY | fsConstants.O_DIRECT) : undefined,
};

// One 4 KiB buffer per loop. O_DIRECT wants Node's buffers aligned (to 512
// here, dio_mem_align); JS cannot see an address, so find the offset in one
// big allocation at which an O_DIRECT read is accepted. iomodes copies
// through aligned bounce buffers and does not care; it uses the same ones.
const slab = Buffer.alloc((Math.max(...DEPTHS) + 1) * BLOCK);
let slabOffset = 0;
if (direct) {
  slabOffset = -1;
  for (let k = 0; k < BLOCK; k += 16) {
    try {
      readSync(nodeFds.direct, slab, k, BLOCK, 0);
      slabOffset = k;
      break;
    } catch (err) {
      if (err.code !== 'EINVAL') throw err;
    }
  }
  if (slabOffset < 0) throw new Error('no offset of a Buffer accepts an O_DIRECT read');
}
const buffers = Array.from({ length: Math.max(...DEPTHS) }, (_, i) => slab.subarray(slabOffset + i * BLOCK, slabOffset + (i + 1) * BLOCK));

// Contenders --------------------------------------------------------------------

/**
 * Runs `depth` loops for `ms`, each awaiting `read(buffer, position)` in
 * turn. The clock is read every 16 reads of a loop: a Ring read served from
 * the page cache settles in a microtask, so a timer could never fire.
 */
async function drive(read, depth, ms) {
  const end = performance.now() + ms;
  let stop = false;
  let total = 0;
  const loop = async (buf) => {
    let n = 0;
    while (!stop) {
      const got = await read(buf, positions[cursor++ & mask]);
      if (got !== BLOCK) throw new Error(`short read: ${got}`);
      if ((++n & 15) === 0 && performance.now() >= end) stop = true;
    }
    total += n;
  };
  const t0 = performance.now();
  await Promise.all(buffers.slice(0, depth).map(loop));
  return (total * 1000) / (performance.now() - t0);
}

/**
 * The floors: iomodes' native ring with none of Ring's JavaScript. `start`
 * prepares a read and calls `done(result)` from the reap; what one turn
 * starts is submitted by one microtask, and what completed inside that
 * io_uring_enter is reaped right after it (as Ring does).
 */
function makeFloor(submitBatch) {
  const ring = new native.Ring();
  const r = openRing(ring, true, 256, 0, 0, 0, -1, submitBatch);
  if (r < 0) throw Object.assign(new Error(`io_uring_setup: ${-r}`), { code: -r });
  const out = new Float64Array(3 * 256);
  const waiting = new Array(ring.capacity);
  const free = Array.from({ length: ring.capacity }, (_, i) => i);
  let queued = false;
  const reap = (woken) => {
    for (;;) {
      const n = ring.reap(out, woken);
      woken = false;
      for (let i = 0; i < n; i++) {
        const slot = out[3 * i];
        const done = waiting[slot];
        waiting[slot] = undefined;
        free.push(slot);
        done(out[3 * i + 1]);
      }
      if (n < 256) return;
    }
  };
  const flush = () => {
    queued = false;
    ring.submit();
    reap(false);
  };
  const watcher = new Watcher(ring.eventfd, () => reap(true));
  watcher.start(WATCH.READABLE);
  return {
    start(fd, buf, position, done) {
      const slot = free.pop();
      const r = ring.read(slot, fd, buf, 0, BLOCK, position, -1, 0);
      if (r < 0) throw new Error(`floor read: ${-r}`);
      waiting[slot] = done;
      if (!queued) {
        queued = true;
        queueMicrotask(flush);
      }
    },
    read(fd, buf, position) {
      return new Promise((resolve) => this.start(fd, buf, position, resolve));
    },
    close() {
      watcher.close();
      ring.close();
    },
  };
}

/** `depth` chains of reads for `ms`, each started from the last one's completion callback: no promise. */
function driveCallbacks(floor, fd, depth, ms) {
  return new Promise((resolve, reject) => {
    const end = performance.now() + ms;
    const t0 = performance.now();
    let total = 0;
    let live = depth;
    let stop = false;
    const next = (buf) =>
      floor.start(fd, buf, positions[cursor++ & mask], (got) => {
        if (got !== BLOCK) return reject(new Error(`short read: ${got}`));
        if ((++total & 15) === 0 && performance.now() >= end) stop = true;
        if (!stop) next(buf);
        else if (--live === 0) resolve((total * 1000) / (performance.now() - t0));
      });
    for (const buf of buffers.slice(0, depth)) next(buf);
  });
}

const RING = 'iomodes Ring (io_uring)';
const RING_FIXED = 'iomodes Ring fixed';
const RING_BATCH2 = 'iomodes Ring submitBatch 2';
const backends = [
  { name: RING, make: () => Ring.create() },
  { name: RING_BATCH2, make: () => Ring.create({ submitBatch: 2 }) },
  { name: 'iomodes LinuxAio', make: () => LinuxAio.create() },
  { name: 'iomodes PosixAio', make: () => PosixAio.create() },
  { name: 'iomodes ThreadpoolIo', make: () => ThreadpoolIo.create() },
];
const instances = [];
const contenders = [];
for (const b of backends) {
  let x;
  try {
    x = b.make();
  } catch (err) {
    console.log(`bench: ${b.name} unavailable (${err.code ?? err.message}); its row is left out`);
    continue;
  }
  instances.push(x);
  contenders.push({ name: b.name, run: (mode, depth, ms) => drive((buf, position) => x.read(fds[mode], buf, { position }), depth, ms) });
  if (b.name === RING) {
    // Registered buffers, one per loop (a loop's buffer names its index).
    let fixed;
    try {
      fixed = Ring.create();
      fixed.registerBuffers(buffers.length, BLOCK);
    } catch (err) {
      fixed?.close();
      console.log(`bench: ${RING_FIXED} unavailable (${err.code ?? err.message}); its row is left out`);
      continue;
    }
    instances.push(fixed);
    const index = new Map(buffers.map((buf, i) => [buf, i]));
    contenders.push({ name: RING_FIXED, run: (mode, depth, ms) => drive((buf, position) => fixed.readFixed(fds[mode], buf, { bufferIndex: index.get(buf), position }), depth, ms) });
  }
}
const FLOOR_PROMISE = 'floor, promise per read';
const FLOOR_CALLBACK = 'floor, callbacks';
for (const batch of [0, 2]) {
  let floor;
  try {
    floor = makeFloor(batch);
  } catch (err) {
    console.log(`bench: the native ring's floors are unavailable (${err.code ?? err.message}); their rows are left out`);
    break;
  }
  instances.push(floor);
  const suffix = batch === 0 ? '' : ', submitBatch 2';
  contenders.push({ name: FLOOR_PROMISE + suffix, run: (mode, depth, ms) => drive((buf, position) => floor.read(fds[mode], buf, position), depth, ms) });
  contenders.push({ name: FLOOR_CALLBACK + suffix, run: (mode, depth, ms) => driveCallbacks(floor, fds[mode], depth, ms) });
}
contenders.push({
  name: 'node fs.read',
  run: (mode, depth, ms) => {
    const fd = nodeFds[mode];
    return drive((buf, position) => new Promise((resolve, reject) => fsRead(fd, buf, 0, BLOCK, position, (err, n) => (err ? reject(err) : resolve(n)))), depth, ms);
  },
});
contenders.push({
  name: 'node FileHandle.read',
  run: (mode, depth, ms) => {
    const fh = handles[mode];
    return drive(async (buf, position) => (await fh.read(buf, 0, BLOCK, position)).bytesRead, depth, ms);
  },
});

const haveFio = !spawnSync('fio', ['--version']).error;
if (haveFio) {
  for (const engine of ['io_uring', 'libaio']) {
    contenders.push({ name: `fio ${engine}`, fio: true, run: async (mode, depth, ms) => fio(engine, mode, depth, ms) });
  }
} else {
  console.log('bench: fio is not installed, so its rows are left out (apt-get install fio)');
}

/** One fio job; its read IOPS. --invalidate=0: fio would otherwise drop the file from the page cache first. */
function fio(engine, mode, depth, ms) {
  const args = [
    '--name=bench',
    '--output-format=json',
    '--rw=randread',
    '--bs=4k',
    `--iodepth=${depth}`,
    `--direct=${mode === 'direct' ? 1 : 0}`,
    `--ioengine=${engine}`,
    `--size=${FILE_SIZE}`,
    `--filename=${path}`,
    `--runtime=${Math.max(1, Math.round(ms))}ms`,
    '--time_based',
    '--numjobs=1',
    '--invalidate=0',
    '--readonly',
  ];
  const res = spawnSync('fio', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`fio exited with ${res.status}: ${res.stderr.trim()}`);
  const job = JSON.parse(res.stdout.slice(res.stdout.indexOf('{'))).jobs[0];
  if (job.error) throw new Error(`fio job error ${job.error}`);
  // usr_cpu and sys_cpu are percentages of the job's run time.
  const cpuMicros = ((job.usr_cpu + job.sys_cpu) / 100) * job.job_runtime * 1000;
  return { rate: job.read.iops, cpuPerRead: cpuMicros / job.read.total_ios };
}

// Rounds ------------------------------------------------------------------------
const configs = [];
for (const mode of direct ? ['cached', 'direct'] : ['cached']) {
  for (const depth of DEPTHS) configs.push({ key: `${mode}-${depth}`, mode, depth, label: `${mode === 'cached' ? 'page-cached' : 'O_DIRECT'} QD${depth}` });
}
// results[config][contender] = { rates: [...], cpu: [...] } (cpu: µs per read), as pairedRatio() wants them.
const results = Object.fromEntries(configs.map((c) => [c.key, Object.fromEntries(contenders.map((x) => [x.name, { rates: [], cpu: [] }]))]));

/** One contender's round: its IOPS, and the CPU each read cost (see the header). */
async function measure(x, c) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await x.run(c.mode, c.depth, slotMs);
  if (x.fio) return out;
  const used = process.cpuUsage(c0);
  const reads = (out * (performance.now() - t0)) / 1000;
  return { rate: out, cpuPerRead: (used.user + used.system) / reads };
}
const failed = new Map(); // "config|contender" -> message

const t0 = performance.now();
cacheFile();
// Warm-up (JIT, the pool's threads, the rings), off the record.
for (const c of configs) {
  for (const x of contenders) {
    if (x.fio) continue;
    try {
      await x.run(c.mode, c.depth, Math.min(100, slotMs));
    } catch (err) {
      failed.set(`${c.key}|${x.name}`, err.message);
    }
  }
}
for (let round = 0; round < rounds; round++) {
  cacheFile();
  for (const c of configs) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const x of order) {
      if (failed.has(`${c.key}|${x.name}`)) continue;
      try {
        const { rate, cpuPerRead } = await measure(x, c);
        results[c.key][x.name].rates.push(rate);
        results[c.key][x.name].cpu.push(cpuPerRead);
      } catch (err) {
        failed.set(`${c.key}|${x.name}`, err.message);
      }
    }
  }
}
const wall = (performance.now() - t0) / 1000;

for (const x of instances) x.close();
io.close(fds.cached);
if (direct) io.close(fds.direct);
closeSync(nodeFds.cached);
if (direct) closeSync(nodeFds.direct);
await handles.cached.close();
await handles.direct?.close();
rmSync(dir, { recursive: true, force: true });

// Report ------------------------------------------------------------------------
const ok = (c, name) => !failed.has(`${c.key}|${name}`) && results[c.key][name]?.rates.length === rounds;
const ratio = (c, a, b) => (ok(c, a) && ok(c, b) ? pairedRatio(results[c.key], a, b) : NaN);
const times = (x) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)}×`);
const FS = 'node fs.read';
const FIO = 'fio io_uring';

console.log(
  `node ${process.version}, ${availableParallelism()} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}; ` +
    `${sizeMiB} MiB file in ${base}; ${rounds} rounds × ${seconds} s per contender and configuration (${wall.toFixed(0)} s)\n`,
);
const rows = [['contender', ...configs.map((c) => `${c.label} IOPS`)]];
for (const x of contenders) rows.push([x.name, ...configs.map((c) => (ok(c, x.name) ? perSecond(median(results[c.key][x.name].rates)) : 'failed'))]);
console.log('4 KiB random reads, median IOPS over rounds\n');
table(rows);
console.log('');
const vsRows = [['contender', ...configs.map((c) => `${c.label} vs fs.read`)]];
for (const x of contenders) vsRows.push([x.name, ...configs.map((c) => times(ratio(c, x.name, FS)))]);
console.log('IOPS / node fs.read IOPS, median of per-round ratios\n');
table(vsRows);
console.log('');
const cpuOf = (c, name) => median(results[c.key][name].cpu);
const coresOf = (c, name) => median(results[c.key][name].cpu.map((cpu, i) => (cpu * results[c.key][name].rates[i]) / 1e6));
const cpuRows = [['contender', ...configs.map((c) => `${c.label} µs (cores)`)]];
for (const x of contenders) cpuRows.push([x.name, ...configs.map((c) => (ok(c, x.name) ? `${cpuOf(c, x.name).toFixed(2)} (${coresOf(c, x.name).toFixed(2)})` : 'failed'))]);
console.log('CPU per read in µs, user + system, and the cores that kept busy, medians over rounds\n');
table(cpuRows);
console.log('');
for (const [key, message] of failed) console.log(`failed: ${key.replace('|', ', ')}: ${message}`);
if (failed.size) console.log('');

const byKey = Object.fromEntries(configs.map((c) => [c.key, c]));
const target = (key, b, goal, a = RING, floorSuffix = '') => {
  const c = byKey[key];
  if (!c) return;
  const r = ratio(c, a, b);
  const name = a === RING ? 'Ring' : a.replace('iomodes ', '');
  const floors = `floors: promise ${times(ratio(c, FLOOR_PROMISE + floorSuffix, b))}, callbacks ${times(ratio(c, FLOOR_CALLBACK + floorSuffix, b))}`;
  console.log(`  ${c.label.padEnd(16)} ${name} / ${b.padEnd(12)} = ${times(r).padStart(6)}  (target ≥ ${goal}×; ${floors})`);
};
console.log('targets, median of per-round ratios (the two ran back to back in each round),');
console.log('beside what the native ring gives with no Ring JavaScript (the floors, same batching):');
target('cached-32', FIO, 0.8);
target('cached-32', FS, 1.5);
if (byKey['cached-32'] && ok(byKey['cached-32'], RING) && ok(byKey['cached-32'], FS)) {
  const c = byKey['cached-32'];
  console.log(
    `  ${''.padEnd(16)} (CPU per read: Ring ${cpuOf(c, RING).toFixed(2)} µs on ${coresOf(c, RING).toFixed(2)} cores, fs.read ${cpuOf(c, FS).toFixed(2)} µs on ${coresOf(c, FS).toFixed(2)}:` +
      ` ${(cpuOf(c, FS) / cpuOf(c, RING)).toFixed(2)}× cheaper; the pool's threads use the other cores)`,
  );
}
target('cached-1', FS, 10);
if (byKey['cached-1']) console.log(`  ${byKey['cached-1'].label.padEnd(16)} fio io_uring / ${FS} = ${times(ratio(byKey['cached-1'], FIO, FS)).padStart(6)}  (context: what fio's C loop reaches)`);
target('direct-32', FIO, 0.9);
target('direct-32', FS, 2.5);
target('direct-32', FIO, 0.9, RING_BATCH2, ', submitBatch 2');
target('direct-32', FS, 2.5, RING_BATCH2, ', submitBatch 2');
if (!haveFio) console.log('  (the ratios to fio io_uring need fio: apt-get install fio)');
console.log('');
console.log('registered buffers, median of per-round ratios:');
for (const c of configs) console.log(`  ${c.label.padEnd(16)} Ring fixed / Ring = ${times(ratio(c, RING_FIXED, RING)).padStart(6)}`);
console.log('');
console.log('Rows per round (IOPS):');
for (const c of configs) {
  for (const x of contenders) {
    if (ok(c, x.name)) console.log(`  ${c.label.padEnd(16)} ${x.name.padEnd(24)} ${results[c.key][x.name].rates.map(perSecond).join(' ')}`);
  }
}
