/**
 * Soak: Linux AIO `O_DIRECT` reads, a random 20% of them aborted.
 *
 * Reads go out in batches started in one turn, each batch up to twice the
 * context's capacity, so some reads hold a slot (one io_submit takes them)
 * and the rest wait in iomodes' queue. Where the abort lands decides what
 * the caller must see, and for most aborts the batch position makes it
 * certain:
 *
 * - aborted in the same turn, before the flush microtask: a read holding a
 *   slot is withdrawn before io_submit, a waiting one leaves the queue;
 *   both reject with an AbortError, the buffer untouched.
 * - aborted one microtask later: a read holding a slot is in the kernel,
 *   which refuses io_cancel of a file read (EINVAL), so it resolves with
 *   its bytes (docs/async.md); a waiting one still rejects.
 * - aborted later (setImmediate, a timer): either, as the race falls.
 *
 * Every read that resolves must hold the file's bytes at its position, and
 * nothing past them; every read settles exactly once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { allocAligned, close, directIoAvailable, LinuxAio, openDirect } from '../../lib/index.js';
import { mayskip, root } from '../helpers/index.js';
import { FULL, nativeHandles, openFds, report, RSS_GROWTH_LIMIT_MIB, rssMiB, scaled, settle, type SoakReport, SEED, seededRandom } from './harness.js';

const READS = scaled(20_000, 1_000);
const ABORT_RATE = 0.2;
const CAPACITY = 64;
const SENTINEL = 0xee;


/**
 * A fresh directory whose filesystem takes O_DIRECT, removed when the test
 * ends: the temp dir if it does (tmpfs before Linux 6.6 does not), else
 * /var/tmp, else the repository (as bench/lib.mjs's directIoDir does).
 */
function directDir(): { dir: string; block: number } | undefined {
  for (const base of [tmpdir(), '/var/tmp', root]) {
    let dir: string;
    try {
      dir = mkdtempSync(join(base, 'iomodes-soak-'));
    } catch {
      continue;
    }
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const probe = directIoAvailable(dir);
    if (probe.ok) return { dir, block: probe.alignment?.offset || 4096 };
  }
  return undefined;
}

type When = 'none' | 'sync' | 'microtask' | 'later';

it(`Linux AIO: ${READS} O_DIRECT reads, ${ABORT_RATE * 100}% aborted at random moments, each settles once with the file's bytes`, async () => {
  const found = directDir();
  if (found === undefined && mayskip('no directory here takes O_DIRECT (tried the temp dir, /var/tmp, the repository)')) return;
  const { dir, block } = found!;
  const seed = SEED;
  const random = seededRandom(seed);

  // Every 32-bit word holds its own index: a read of the wrong place, or a
  // torn or stale one, cannot match by chance. The size is not a multiple
  // of the block, so reads at the end are short, and some start past it.
  const size = 2048 * block + 1000;
  const file = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) file.writeUInt32LE(i / 4, i);
  const path = join(dir, 'data');
  writeFileSync(path, file);

  const fdsBefore = openFds();
  const handlesBefore = nativeHandles();
  const fd = openDirect(path, 'r');
  const aio = LinuxAio.create({ entries: CAPACITY });
  const settledTimes = new Uint8Array(READS);
  const count = { completed: 0, abortedRejected: 0, abortedResolved: 0, wrongBytes: 0, wrongOutcome: 0, eof: 0, short: 0 };
  const wrong: string[] = [];
  let warm = 0;
  let unsettledAtDeadline = 0;
  const t0 = performance.now();
  try {
    for (let started = 0; started < READS; ) {
      const batch = Math.min(READS - started, 1 + Math.floor(random() * 2 * CAPACITY));
      const reads: Promise<void>[] = [];
      for (let k = 0; k < batch; k++, started++) {
        const id = started;
        // Every 50th read at the end for sure: in the last, partial block
        // (a short read) or past it (0).
        const tail = id % 50 === 0 ? Math.floor(size / block) + (id % 100) / 50 : -1;
        const position = (tail >= 0 ? tail : Math.floor(random() * (size / block + 2))) * block;
        const length = (1 + Math.floor(random() * 8)) * block;
        // Half aligned, half at an odd address: the kernel sees iomodes' bounce buffer either way.
        const buffer = random() < 0.5 ? allocAligned(length, block) : Buffer.allocUnsafe(length + 1).subarray(1);
        buffer.fill(SENTINEL);
        const r = random();
        const when: When = r >= ABORT_RATE ? 'none' : r < ABORT_RATE / 3 ? 'sync' : r < (2 * ABORT_RATE) / 3 ? 'microtask' : 'later';
        const ac = when === 'none' ? undefined : new AbortController();
        // The first CAPACITY reads of a batch take a slot at once; the rest wait.
        const holdsSlot = k < CAPACITY;
        const outcome = when === 'none' || (when === 'microtask' && holdsSlot) ? 'resolve' : when === 'later' ? 'either' : 'reject';
        const mismatch = (what: string): void => {
          count.wrongOutcome++;
          if (wrong.length < 5) wrong.push(`read ${id} (${when}, slot ${holdsSlot}) ${what}`);
        };
        reads.push(
          aio.read(fd, buffer, { position, signal: ac?.signal }).then(
            (n) => {
              settledTimes[id]!++;
              if (outcome === 'reject') mismatch(`resolved ${n}`);
              if (when === 'none') count.completed++;
              else count.abortedResolved++;
              const want = Math.max(0, Math.min(length, size - position));
              if (n === 0) count.eof++;
              else if (n < length) count.short++;
              if (n !== want || !buffer.subarray(0, n).equals(file.subarray(position, position + n)) || buffer.subarray(n).some((b) => b !== SENTINEL)) {
                count.wrongBytes++;
              }
            },
            (err: unknown) => {
              settledTimes[id]!++;
              if (outcome === 'resolve' || (err as Error).name !== 'AbortError') mismatch(`rejected ${String(err)}`);
              else count.abortedRejected++;
              if (buffer.some((b) => b !== SENTINEL)) count.wrongBytes++;
            },
          ),
        );
        if (when === 'sync') ac!.abort();
        else if (when === 'microtask') queueMicrotask(() => ac!.abort());
        else if (when === 'later') {
          if (random() < 0.5) setImmediate(() => ac!.abort());
          else setTimeout(() => ac!.abort(), random() * 3);
        }
      }
      // A read that never settles is counted lost (below), not left to
      // hang the test; close() in finally would settle it after the count.
      let deadline: NodeJS.Timeout | undefined;
      const hung = await Promise.race([Promise.all(reads).then(() => false), new Promise<boolean>((resolve) => (deadline = setTimeout(resolve, 10_000, true)))]);
      clearTimeout(deadline);
      if (hung) {
        unsettledAtDeadline = settledTimes.subarray(0, started).filter((times) => times === 0).length;
        break;
      }
      // Warm once V8's young generation has grown to fit this allocation
      // rate (it does, by tens of MiB, over the first few thousand reads).
      if (warm === 0 && started >= READS / 4) warm = rssMiB();
    }
  } finally {
    aio.close();
    close(fd);
  }
  const seconds = (performance.now() - t0) / 1000;
  const end = rssMiB();
  await settle(() => openFds() === fdsBefore && nativeHandles().watchers === handlesBefore.watchers);
  const fdsAfter = openFds();
  const handlesAfter = nativeHandles();

  // Those settled only by close() are lost all the same.
  let settled = -unsettledAtDeadline;
  let duplicated = 0;
  for (const times of settledTimes) {
    if (times > 0) settled++;
    if (times > 1) duplicated += times - 1;
  }
  const r: SoakReport = {
    name: 'linux-aio O_DIRECT abort',
    operations: READS,
    settled,
    lost: READS - settled + count.wrongBytes,
    duplicated,
    fds: { before: fdsBefore, after: fdsAfter },
    rss: { warm, end },
    seconds,
    extra: { seed, block, ...count },
  };
  report(r);
  expect(wrong).toEqual([]);
  expect(count.wrongBytes).toBe(0);
  expect(r.lost).toBe(0);
  expect(r.duplicated).toBe(0);
  expect(r.settled).toBe(r.operations);
  expect(count.completed + count.abortedResolved + count.abortedRejected).toBe(READS);
  // Both abort outcomes happened: same-turn aborts always reject, and a
  // microtask abort of a read in the kernel always resolves.
  expect(count.abortedRejected).toBeGreaterThan(0);
  expect(count.abortedResolved).toBeGreaterThan(0);
  expect(count.eof).toBeGreaterThan(0);
  expect(count.short).toBeGreaterThan(0);
  expect(fdsAfter).toBe(fdsBefore);
  expect(handlesAfter).toEqual(handlesBefore);
  if (FULL) expect(r.rss.end - r.rss.warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
});
