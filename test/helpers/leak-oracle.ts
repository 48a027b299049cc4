/**
 * The leak oracle: a vitest setup file that fails a test file which leaves
 * more behind than it found. Before the file's first test it records
 *   - the open fds (/proc/self/fd, with what each points at),
 *   - this thread's native resources (debugCounters(): watchers, fds owned
 *     by iomodes objects, operations whose buffers are pinned),
 *   - the kernel rings mapped into the process (io_uring and AIO mappings in
 *     /proc/self/maps: a ring closed without munmap/io_destroy shows here
 *     even when its fd is gone),
 *   - the signals pending on any thread or the process (SigPnd, ShdPnd),
 * and after its last test it closes the thread's coroutine hub (a hub that
 * still has a live task is itself a leak), waits up to 5 s for asynchronous
 * closes to land (libuv handle closes, Worker teardown, pool threads), and
 * compares. Growth in any of them fails the file, naming what grew;
 * IOMODES_LEAK_ORACLE=each then names the tests after which fds grew.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, onTestFinished } from 'vitest';
import { debugCounters } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { useHub } from '../../lib/coro/index.js';

interface Snapshot {
  fds: Map<number, string>;
  native: { watchers: number; ownedFds: number; pinnedOps: number };
  rings: number;
  pending: string[];
}

function snapshot(): Snapshot {
  const fds = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      fds.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  const { watchers, ownedFds, pinnedOps } = debugCounters();
  const rings = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => /\[io_uring\]|\/\[aio\]/.test(line)).length;
  const pending: string[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      for (const line of readFileSync(`/proc/self/task/${tid}/status`, 'utf8').split('\n')) {
        if (/^(SigPnd|ShdPnd):/.test(line) && !/\s0+$/.test(line)) pending.push(`thread ${tid} ${line}`);
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return { fds, native: { watchers, ownedFds, pinnedOps }, rings, pending };
}

/** What grew since `before`, one line each; empty when nothing did. */
function growth(before: Snapshot, after: Snapshot): string[] {
  const found: string[] = [];
  const added = [...after.fds].filter(([fd, target]) => before.fds.get(fd) !== target);
  if (after.fds.size > before.fds.size) {
    const shown = added.slice(0, 12).map(([fd, t]) => `${fd} -> ${t}`);
    if (added.length > shown.length) shown.push(`and ${added.length - shown.length} more`);
    found.push(`${after.fds.size - before.fds.size} more open fds (${before.fds.size} -> ${after.fds.size}); new: ${shown.join(', ')}`);
  }
  for (const key of ['watchers', 'ownedFds', 'pinnedOps'] as const) {
    if (after.native[key] > before.native[key]) found.push(`debugCounters().${key} grew: ${before.native[key]} -> ${after.native[key]}`);
  }
  if (after.rings > before.rings) found.push(`io_uring/AIO ring mappings grew: ${before.rings} -> ${after.rings}`);
  if (after.pending.length > before.pending.length) found.push(`signals left pending: ${after.pending.join('; ')}`);
  return found;
}

let baseline: Snapshot;

// IOMODES_LEAK_ORACLE=each: also name, on stderr, each test after which more
// fds are open than before it, to find which test of a failing file leaks.
if (process.env.IOMODES_LEAK_ORACLE === 'each') {
  beforeEach(() => {
    const before = snapshot().fds;
    const name = expect.getState().currentTestName;
    // Registered first, so it runs after the test's own onTestFinished
    // (autoClose): those run in reverse order.
    onTestFinished(() => {
      const added = [...snapshot().fds].filter(([fd, target]) => before.get(fd) !== target);
      if (added.length > 0) process.stderr.write(`leak oracle: after "${name}": ${added.map(([fd, t]) => `${fd} -> ${t}`).join(', ')}\n`);
    });
  });
}

beforeAll(() => {
  baseline = snapshot();
});

afterAll(async () => {
  // The hub is this thread's for the life of the process; closing it at the
  // end of a file is what a user's shutdown does. A live task makes close()
  // throw, which fails the file: a task left running is a leak too.
  useHub().close();
  let found: string[] = [];
  const until = Date.now() + 5000;
  for (;;) {
    (globalThis as { gc?: () => void }).gc?.();
    found = growth(baseline, snapshot());
    if (found.length === 0 || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (found.length > 0) throw new Error(`leak oracle: this file left resources behind:\n  ${found.join('\n  ')}`);
  // Under scripts/test-lsan.sh: LeakSanitizer's check now, while this process
  // still runs (vitest ends it with a signal, which skips the check at exit).
  if (process.env.IOMODES_LSAN === '1') native.debug_leak_check();
}, 15_000);
