// Blocking and non-blocking syscalls from JS: iomodes against what a Node
// user would write instead (fs.readSync / fs.writeSync), in one run, on the
// same fds, in interleaved rounds. Measures the cost of the call path, not the
// disk: the file is in the page cache and the pipes never wait.
//
//   npm run build            (this script builds nothing; it loads dist/)
//   npm run bench:blocking   [-- --rounds=21 --ops=50000]
//
// (a) 4 KiB pread at random 4 KiB-aligned positions of a 64 MiB cached file
// (b) 64-byte ping-pong over two non-blocking pipes, in one process
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleaved, loadIomodes, numberOption, pairedRatio, perSecond, table } from './lib.mjs';

const io = await loadIomodes();
// Many short rounds: on a shared machine, noise comes in bursts, and a ratio
// taken per round (both sides back to back) sees a burst on both sides.
const rounds = numberOption('rounds', 21);
const ops = numberOption('ops', 50_000);

const FILE_SIZE = 64 << 20;
const BLOCK = 4096;
const MSG = 64;

// (a) pread ---------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'iomodes-bench-'));
const path = join(dir, 'data');
{
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let off = 0; off < FILE_SIZE; off += chunk.length) writeSync(fd, chunk, 0, chunk.length, off);
  closeSync(fd);
}
const fd = openSync(path, 'r');
{
  // Read it all once so every page is cached before the clock starts.
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let off = 0; off < FILE_SIZE; off += buf.length) readSync(fd, buf, 0, buf.length, off);
}

// One shared sequence of random aligned positions, replayed by both sides.
const positions = new Float64Array(1 << 16);
for (let i = 0; i < positions.length; i++) positions[i] = Math.floor(Math.random() * (FILE_SIZE / BLOCK)) * BLOCK;
const mask = positions.length - 1;
const bufA = Buffer.alloc(BLOCK);
const bufB = Buffer.alloc(BLOCK);
let cursor = 0;

const pread = interleaved(
  [
    {
      name: 'iomodes pread',
      run(n) {
        for (let i = 0; i < n; i++) {
          if (io.pread(fd, bufA, positions[cursor++ & mask]) !== BLOCK) throw new Error('short pread');
        }
      },
    },
    {
      name: 'fs.readSync',
      run(n) {
        for (let i = 0; i < n; i++) {
          if (readSync(fd, bufB, 0, BLOCK, positions[cursor++ & mask]) !== BLOCK) throw new Error('short readSync');
        }
      },
    },
  ],
  { rounds, ops },
);
closeSync(fd);
rmSync(dir, { recursive: true, force: true });

// (b) ping-pong -------------------------------------------------------------
// Two non-blocking pipes, a -> b and b -> a. In one thread the message is
// always there when read, so neither side ever sees EAGAIN.
const [aR, aW] = io.pipe({ nonblocking: true });
const [bR, bW] = io.pipe({ nonblocking: true });
const ping = Buffer.alloc(MSG, 1);
const pong = Buffer.alloc(MSG, 2);
const inbox = Buffer.alloc(MSG);

const pingpong = interleaved(
  [
    {
      name: 'iomodes tryWrite/tryRead',
      run(n) {
        for (let i = 0; i < n; i++) {
          io.tryWrite(aW, ping);
          if (io.tryRead(aR, inbox) !== MSG) throw new Error('short tryRead');
          io.tryWrite(bW, pong);
          if (io.tryRead(bR, inbox) !== MSG) throw new Error('short tryRead');
        }
      },
    },
    {
      name: 'fs.writeSync/readSync',
      run(n) {
        for (let i = 0; i < n; i++) {
          writeSync(aW, ping, 0, MSG);
          if (readSync(aR, inbox, 0, MSG, null) !== MSG) throw new Error('short readSync');
          writeSync(bW, pong, 0, MSG);
          if (readSync(bR, inbox, 0, MSG, null) !== MSG) throw new Error('short readSync');
        }
      },
    },
  ],
  { rounds, ops: Math.max(1, ops >> 1) },
);
for (const f of [aR, aW, bR, bW]) io.close(f);

// Report ----------------------------------------------------------------------
const rows = [['benchmark', 'median ops/s', 'min ops/s', 'max ops/s']];
for (const results of [pread, pingpong]) {
  for (const [name, r] of Object.entries(results)) rows.push([name, perSecond(r.median), perSecond(Math.min(...r.rates)), perSecond(Math.max(...r.rates))]);
}
console.log(`node ${process.version}, ${rounds} rounds x ${ops} preads, ${Math.max(1, ops >> 1)} round trips (4 syscalls each)\n`);
table(rows);
console.log('');
const preadRatio = pairedRatio(pread, 'iomodes pread', 'fs.readSync');
const pingpongRatio = pairedRatio(pingpong, 'iomodes tryWrite/tryRead', 'fs.writeSync/readSync');
console.log('ratios: the median over rounds of (iomodes ops/s) / (fs ops/s) in the same round');
console.log(`pread 4KiB: iomodes/fs = ${preadRatio.toFixed(2)}× (target ≥ 1.2×)`);
console.log(`pipe ping-pong 64B: iomodes/fs = ${pingpongRatio.toFixed(2)}× (round trips/s)`);
