// Helpers shared by the benchmarks in bench/: interleaved rounds, medians, a
// plain-text table, and the pieces of the echo benchmarks (CPU pinning, a
// server child, its CPU time). Benchmarks measure and print; they never assert.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Loads the built package (dist/), or explains how to build it. */
export async function loadIomodes() {
  try {
    return await import('../dist/index.js');
  } catch (err) {
    console.error(`bench: cannot load dist/index.js (${err.code ?? err.message}); run \`npm run build\` first.`);
    process.exit(1);
  }
}

/** `--seconds=`: a positive number, decimals allowed (numberOption takes integers only). */
export function secondsOption(fallback) {
  const arg = process.argv.find((a) => a.startsWith('--seconds='));
  const value = arg === undefined ? fallback : Number(arg.slice(10));
  if (!Number.isFinite(value) || value <= 0) {
    console.error('bench: --seconds must be a positive number');
    process.exit(2);
  }
  return value;
}

/**
 * The first of /var/tmp and the working directory whose filesystem takes
 * O_DIRECT (tmpfs /tmp may not): `{ base, alignment }`, or `{ refused }`
 * saying why each was refused.
 */
export function directIoDir(io) {
  let refused = '';
  for (const candidate of ['/var/tmp', process.cwd()]) {
    let probe;
    try {
      probe = io.directIoAvailable(candidate);
    } catch (err) {
      probe = { ok: false, detail: err.message };
    }
    if (probe.ok) return { base: candidate, alignment: probe.alignment, refused };
    refused += `  ${candidate}: ${probe.detail}\n`;
  }
  return { base: undefined, alignment: undefined, refused };
}

/** The median of a list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs each contender `ops` times per round, for `rounds` rounds, rotating
 * which one goes first so that neither always gets the warmer (or noisier)
 * slot. `run(ops)` does `ops` operations. Returns ops/s per round and the
 * median, per contender name.
 */
export function interleaved(contenders, { rounds, ops, warmup = Math.min(ops, 20_000) }) {
  for (const c of contenders) c.run(warmup); // JIT and caches, off the clock
  const rates = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const c of order) {
      const t0 = process.hrtime.bigint();
      c.run(ops);
      const ns = Number(process.hrtime.bigint() - t0);
      rates.get(c.name).push((ops * 1e9) / ns);
    }
  }
  return Object.fromEntries([...rates].map(([name, r]) => [name, { rates: r, median: median(r) }]));
}

/**
 * The median over rounds of `a`'s rate divided by `b`'s in the same round.
 * The two ran back to back, so a noisy neighbour slows both alike and the
 * per-round ratio is steadier than a ratio of medians.
 */
export function pairedRatio(results, a, b) {
  const ra = results[a].rates;
  const rb = results[b].rates;
  return median(ra.map((rate, i) => rate / rb[i]));
}

/** Formats a number of operations per second: 1234567 -> "1,234,567". */
export function perSecond(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** Prints rows (arrays of cells) as an aligned table; the first row is the header. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
}

/** A command-line option `--name=value` as a number, or the default. */
export function numberOption(name, fallback) {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`bench: --${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}

/**
 * Whether processes can be pinned to CPUs. Client on CPU 0, servers on CPU 1
 * (taskset exec()s, so the pid is the program's): without pinning, client and
 * server migrate across the two cores of a small machine and the figures
 * swing by ±20% from run to run.
 */
export function canPin() {
  return availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

/** `[file, args]` for spawn, run on `cpu` when pinning is possible. */
export function pinned(cpu, file, args) {
  return canPin() ? ['taskset', ['-c', String(cpu), file, ...args]] : [file, args];
}

/**
 * CPU seconds a process has used so far, user and system apart (utime and
 * stime from /proc): the kernel's share of a round trip is the same syscalls
 * for every server, and user time is where they differ.
 */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 }; // USER_HZ is 100 on Linux
}

/** Starts `node script --serve=kind` on CPU 1; the server prints its port as its first line. */
export async function startServer(script, kind) {
  const child = spawn(...pinned(1, process.execPath, [script, `--serve=${kind}`]), { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  return { child, port: Number(String(line).trim()) };
}
