/**
 * Shared by the synchronisation tests (sync, queue, pool): a virtual-clock
 * hub per test, tasks tracked so that leftovers are killed and the hub is
 * checked idle after each test, and a runner for the standalone `@example`s
 * of a lib/coro module.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { format } from 'node:util';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { createHub, killAll, sleep, spawn, type Operation, type Task, type TaskFunction } from '../../lib/coro/index.js';
import { caught, root } from '../helpers/index.js';
import { expectIdle } from '../helpers/coro.js';

const live: Task<unknown>[] = [];

/**
 * Gives each test a fresh hub on the virtual clock (sleeps take no time and
 * wake in a fixed order); after it, kills the tasks started with {@link go}
 * that are still alive, and checks the hub holds nothing.
 */
export function useVirtualHub(): void {
  beforeEach(() => {
    createHub({ clock: 'virtual' });
  });
  afterEach(async () => {
    const leftover = live.filter((task) => !task.done);
    live.length = 0;
    if (leftover.length > 0) await killAll(leftover);
    expectIdle();
  });
}

/** Runs an operation's first step outside any task, as a mistaken caller would; gives what it throws. */
export function stepOutside(op: Operation<unknown> | PromiseLike<unknown>): Error & Record<string, unknown> {
  return caught(() => (op as Operation<unknown>)[Symbol.iterator]().next());
}

/** Lets the (virtual) clock run `ms` from plain async code. */
export async function elapse(ms: number): Promise<void> {
  await spawn(function* () {
    yield* sleep(ms);
  });
}

/** `spawn`, remembered so that afterEach can kill it if the test leaves it running. */
export function go<T, A extends unknown[]>(fn: TaskFunction<T, A>, ...args: A): Task<T> {
  const task = spawn(fn, ...args);
  live.push(task as Task<unknown>);
  return task;
}

/** A standalone `@example` of a module: one that imports from 'iomodes/coro'. */
export interface Example {
  /** The export it documents. */
  name: string;
  code: string;
}

/** The standalone examples in the TSDoc of `lib/coro/<module>.ts`. */
export function examplesOf(module: string): Example[] {
  const text = readFileSync(join(root, 'lib', 'coro', `${module}.ts`), 'utf8');
  const examples: Example[] = [];
  for (const doc of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = doc[1]!
      .split('\n')
      .map((line) => line.replace(/^\s*\* ?/, ''))
      .join('\n');
    const after = text.slice(doc.index! + doc[0].length);
    const name = /^\s*(?:export\s+)?(?:class|function|type|interface|constructor)?\s*([\w$]*)/.exec(after)?.[1] || 'constructor';
    for (const fence of body.matchAll(/```ts\n([\s\S]*?)```/g)) {
      const code = fence[1]!;
      if (/^import .* from 'iomodes\/coro';$/m.test(code)) examples.push({ name, code });
    }
  }
  return examples;
}

/**
 * Runs an example (its import pointed at lib/coro) and checks that each
 * `console.log(...); // text` line printed output that `text` starts with.
 */
export async function runExample(example: Example): Promise<void> {
  const expected = [...example.code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]!);
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(format(...args));
  });
  const file = join(root, 'test', 'coro', `.example-${basename(example.name)}-${process.pid}-${Date.now()}.ts`);
  writeFileSync(file, example.code.replace("from 'iomodes/coro'", `from ${JSON.stringify(join(root, 'lib', 'coro', 'index.js'))}`));
  try {
    await import(file);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  expect(printed.length, `${example.name}: lines printed`).toBe(expected.length);
  printed.forEach((line, i) => {
    expect(expected[i]!.startsWith(line), `${example.name}: printed ${JSON.stringify(line)}, the comment says ${JSON.stringify(expected[i])}`).toBe(true);
  });
}

/** Collects what a test's tasks log, in order. */
export function recorder(): { log: string[]; note: (line: string) => void } {
  const log: string[] = [];
  return { log, note: (line) => void log.push(line) };
}
