/**
 * Helpers for the scheduler's tests: the backend × driver matrix every
 * suite runs on, a way to run a task body under either driver, and the
 * check that a hub holds nothing once a test is over.
 */
import { expect } from 'vitest';
import { run, spawn, useHub, type Instruction } from '../../lib/coro/index.js';

/** The readiness backends a hub runs on. */
export const BACKENDS = ['epoll', 'poll', 'io_uring'] as const;
/** The drivers: Node's event loop (spawn, then await), or run(). */
export const DRIVERS = ['loop', 'run'] as const;

/** Every backend with every driver, for describe.each. */
export const MATRIX = BACKENDS.flatMap((backend) => DRIVERS.map((driver) => ({ backend, driver })));

/** Runs `main` as a task under `driver`, and gives its value. */
export async function drive<T>(driver: (typeof DRIVERS)[number], main: () => Generator<Instruction, T, unknown>): Promise<T> {
  if (driver === 'run') return run(main);
  return await spawn(main);
}

/** What a hub with nothing left to do counts. */
export const IDLE = { tasks: 0, parked: 0, ready: 0, timers: 0, waiters: 0, calls: 0 };

/** Asserts this thread's hub holds no task, timer, waiter or pending promise. */
export function expectIdle(): void {
  expect(useHub().counts).toMatchObject(IDLE);
}

/** Lets the event loop turn `n` times (macrotasks), so pending callbacks run. */
export async function turns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
