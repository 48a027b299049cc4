/**
 * Shared by the arm64 subset (test/arm64/*.test.mjs). These files use the
 * built-in `node:test` runner, not vitest, because they run under the arm64
 * Node in qemu-user, where vitest's native toolchain cannot load; and they
 * import the *installed* `iomodes` package, so they test the packed tarball
 * with its arm64 prebuild, not the checkout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { aioAvailable, close, directIoAvailable, ioUringAvailable, signalIoAvailable } from 'iomodes';

/** The probes `iomodes doctor` reports, by the names of its `--require`. */
const probes = {
  io_uring: ioUringAvailable,
  aio: aioAvailable,
  direct: () => directIoAvailable(tmpdir()),
  sigio: signalIoAvailable,
};
const verdicts = new Map();
/**
 * What qemu-user does not emulate (the README's list): these syscalls answer
 * ENOSYS under it. Under IOMODES_REQUIRE_ALL=1 only they may still skip, and
 * only for that cause; any other missing capability fails.
 */
const EMULATOR_LACKS = new Set(['io_uring', 'aio']);

/**
 * Whether this process has capability `name`, asked of the doctor's probe (a
 * real syscall). When it has not, skips test `t` with the probe's reason,
 * errno and detail, which test/arm64/summary.mjs groups skips by. Under
 * IOMODES_REQUIRE_ALL=1 a missing capability fails instead, as in the vitest
 * suite, unless it is one qemu-user lacks (EMULATOR_LACKS).
 */
export function capability(t, name) {
  if (!verdicts.has(name)) verdicts.set(name, probes[name]());
  const probe = verdicts.get(name);
  if (probe.ok) return true;
  const why = `${name} unavailable: ${probe.reason} (${probe.code}): ${probe.detail}`;
  const emulated = EMULATOR_LACKS.has(name) && probe.reason === 'enosys';
  if (process.env.IOMODES_REQUIRE_ALL === '1' && !emulated) throw new Error(`IOMODES_REQUIRE_ALL=1 but ${why}`);
  t.skip(why);
  return false;
}

/** Closes the fds when the test ends, whatever its outcome. */
export function autoClose(t, ...fds) {
  t.after(() => {
    for (const fd of fds) {
      try {
        close(fd);
      } catch {
        // already closed by the test itself
      }
    }
  });
  return fds;
}

// Made when this module loads, so `after` is a hook of the whole file (called
// inside a test, node:test would run it when that test ends).
const dir = mkdtempSync(join(tmpdir(), 'iomodes-arm64-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file path in this test file's temp dir (removed when the file ends). */
export function tmpPath(name) {
  return join(dir, name);
}

/** Resolves on the next turn of the event loop. */
export const turn = () => new Promise((resolve) => setImmediate(resolve));
