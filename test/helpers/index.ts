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
import { constants as osConstants } from 'node:os';
import { accept, bind, close, connect, Epoll, finishConnect, getsockname, IoError, listen, pipe, socket, type IoErrorContext } from '../../lib/index.js';

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

/**
 * The environment for a child that is not Node (a shell, dd, python3): the
 * ASan runtime CI preloads is for Node loading the sanitized addon, and
 * other programs under it fail for reasons of their own.
 */
export function withoutPreload(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const rest = { ...env };
  delete rest.LD_PRELOAD;
  delete rest.ASAN_OPTIONS;
  return rest;
}

/**
 * How to start this Node from a program that runs with
 * {@link withoutPreload}'s environment (strace, script, a shell): the ASan
 * runtime CI preloads goes back in for Node alone, since the sanitized addon
 * (IOMODES_ADDON) cannot load without it.
 */
export function nodeArgv(): string[] {
  const { LD_PRELOAD, ASAN_OPTIONS } = process.env;
  if (LD_PRELOAD === undefined) return [process.execPath];
  return ['env', `LD_PRELOAD=${LD_PRELOAD}`, ...(ASAN_OPTIONS === undefined ? [] : [`ASAN_OPTIONS=${ASAN_OPTIONS}`]), process.execPath];
}

/** {@link nodeArgv} as a shell command prefix. */
export function nodeShell(): string {
  return nodeArgv()
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
}

/** Runs `code` as an ES module in a child Node process (same Node binary). */
export function runChild(
  code: string,
  options: { timeout?: number; env?: NodeJS.ProcessEnv; input?: string; execArgv?: string[] } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...(options.execArgv ?? []), '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: options.timeout ?? 20_000,
    // SIGKILL, not SIGTERM: a child that is stopped (SIGSTOP) or ignores
    // SIGTERM would otherwise keep spawnSync, and the test file, waiting.
    killSignal: 'SIGKILL',
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

/** Lets a test pass a value of the wrong type, as a JavaScript caller could. */
export const bad = (value: unknown): never => value as never;

/**
 * `options` behind a Proxy that counts each property read: the library must
 * read each option once, so a getter cannot hand it one value to validate
 * and another to use.
 */
export function countedReads<T extends object>(options: T): [T, Map<PropertyKey, number>] {
  const reads = new Map<PropertyKey, number>();
  const proxy = new Proxy(options, {
    get: (target, key, receiver) => {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return [proxy, reads];
}

/** The error `fn` throws; fails the test if it returns. */
export function caught(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to throw');
}

/** The Node-style argument error codes. */
export type ArgCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';

/** Asserts a Node-style argument error (thrown before any syscall), naming `name` if given. */
export function expectArgError(fn: () => unknown, code: ArgCode, name?: string): void {
  const err = caught(fn);
  expect(err).not.toBeInstanceOf(IoError);
  expect(err).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
  expect(err.code).toBe(code);
  if (name !== undefined) expect(err.message).toMatch(new RegExp(`["']${name.replace(/[.[\]]/g, '\\$&')}["']`));
}

/**
 * Asserts a syscall failure in the documented shape: an IoError with `code`,
 * the positive `errno`, `syscall`, and the `fd` or `path` it was given.
 */
export function expectIoError(fn: () => unknown, code: string, syscall: string, context: number | IoErrorContext = {}): IoError {
  const where = typeof context === 'number' ? { fd: context } : context;
  const err = caught(fn) as unknown as IoError;
  expect(err).toBeInstanceOf(IoError);
  expect(err.code).toBe(code);
  expect(err.errno).toBe((osConstants.errno as Record<string, number>)[code]);
  expect(err.syscall).toBe(syscall);
  expect(err.message).toMatch(new RegExp(`^${code}: [a-z].*, ${syscall}`));
  if ('fd' in where) expect(err.fd).toBe(where.fd);
  if ('path' in where) {
    expect(err.path).toBe(where.path);
    expect(err.message.endsWith(`, ${syscall} '${where.path}'`)).toBe(true);
  } else {
    expect(err).not.toHaveProperty('path');
  }
  return err;
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

/** Asserts that `fn` throws an error carrying `code` (and optionally `syscall`). */
export function expectCode(fn: () => unknown, code: string, syscall?: string): void {
  const err = caught(fn);
  expect((err as { code?: string }).code).toBe(code);
  if (syscall !== undefined) expect((err as { syscall?: string }).syscall).toBe(syscall);
}

/** An fd number no process here ever opened (validateFd accepts it; the kernel does not). */
export const NEVER_OPENED = 2 ** 31 - 1;

/** A number that was an fd a moment ago, and is closed now. */
export function closedFd(): number {
  const [r, w] = pipe();
  close(r);
  close(w);
  return r;
}

/** A connected TCP pair over 127.0.0.1, both ends non-blocking, closed when the test ends. */
export function tcpPair(): [client: number, server: number] {
  const [listener] = autoClose(socket('tcp4', { nonblocking: true }));
  bind(listener, { host: '127.0.0.1', port: 0 });
  listen(listener);
  const { port } = getsockname(listener) as { port: number };
  const [client] = autoClose(socket('tcp4', { nonblocking: true }));
  const ep = Epoll.create();
  try {
    ep.add(listener, Epoll.IN, 'listener');
    if (!connect(client, { host: '127.0.0.1', port })) {
      ep.add(client, Epoll.OUT, 'client');
      expect(ep.wait(8, 10_000).map((e) => e.data)).toContain('client');
      finishConnect(client);
    }
    expect(ep.wait(8, 10_000).map((e) => e.data)).toContain('listener');
  } finally {
    ep.close();
  }
  const [server] = autoClose(accept(listener, { nonblocking: true }));
  return [client, server];
}

/** mulberry32: a small seeded generator of numbers in [0, 1), so a random run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
