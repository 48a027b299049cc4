/**
 * Shared test helpers: temp files cleaned up after each test, fds closed
 * after each test, capability probes that fail under IOMODES_REQUIRE_ALL=1,
 * and child-process runners for exit and blocking behaviour.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, onTestFinished } from 'vitest';
import { close } from '../../lib/index.js';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fresh temp directory, removed when the test ends. */
export function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'iomodes-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A temp file holding `contents`, removed when the test ends. */
export function tmpFile(contents: string | Uint8Array = ''): string {
  const path = join(tmpDir(), 'file');
  writeFileSync(path, contents);
  return path;
}

/** Closes the given fds when the test ends (ignoring ones already closed). */
export function autoClose<T extends number[]>(...fds: T): T {
  onTestFinished(() => {
    for (const fd of fds) {
      try {
        close(fd);
      } catch {
        // already closed by the test
      }
    }
  });
  return fds;
}

/**
 * Whether a capability-based test may be skipped: never under
 * IOMODES_REQUIRE_ALL=1, where a missing capability fails instead.
 */
export function mayskip(reason: string): boolean {
  if (process.env.IOMODES_REQUIRE_ALL === '1') {
    throw new Error(`IOMODES_REQUIRE_ALL=1 but this capability is missing: ${reason}`);
  }
  return true;
}

/** Runs `code` as an ES module in a child Node process (same Node binary). */
export function runChild(code: string, options: { timeout?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: options.timeout ?? 20_000,
    env: { ...process.env, ...options.env },
    input: options.input,
  });
}

/** Writes a module under a temp dir and returns its path (for child processes and workers). */
export function fixture(code: string, name = 'fixture.mjs'): string {
  const path = join(tmpDir(), name);
  writeFileSync(path, code);
  return path;
}

/** Asserts that `fn` throws an error carrying `code` (and optionally `syscall`). */
export function expectCode(fn: () => unknown, code: string, syscall?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected an error with code ${code}`).toBeInstanceOf(Error);
  expect((caught as { code?: string }).code).toBe(code);
  if (syscall !== undefined) expect((caught as { syscall?: string }).syscall).toBe(syscall);
}

/**
 * The compiled package's entry (dist/index.js, built by test/global-setup.ts)
 * as a file URL, for child processes and workers, which cannot import .ts.
 */
export function distEntry(): string {
  const entry = join(root, 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error('dist/index.js is missing: test/global-setup.ts builds it');
  return pathToFileURL(entry).href;
}
