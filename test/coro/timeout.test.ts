/**
 * Timeouts (lib/coro/timeout.ts): withTimeout for one operation, Timeout for
 * a block; each cancels the wait it interrupts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, sleep, spawn, TaskExit, Timeout, TimeoutError, useHub, withTimeout } from '../../lib/coro/index.js';
import { caught, expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX } from '../helpers/coro.js';

describe.each(MATRIX)('timeouts, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend, clock: 'virtual' });
  });
  afterEach(() => {
    expectIdle();
  });

  it('withTimeout gives the value when in time, and raises TimeoutError (ETIMEDOUT) when late, cancelling the wait', async () => {
    const out = await drive(driver, function* () {
      const fast = yield* withTimeout(100, function* () {
        yield* sleep(10);
        return 'in time';
      });
      let late: unknown;
      try {
        yield* withTimeout(100, sleep(1000));
      } catch (err) {
        late = err;
      }
      return { fast, late: late instanceof TimeoutError, code: (late as TimeoutError).code, ms: (late as TimeoutError).ms, now: useHub().now(), timers: useHub().counts.timers };
    });
    expect(out).toEqual({ fast: 'in time', late: true, code: 'ETIMEDOUT', ms: 100, now: 110, timers: 0 });
  });

  it('Timeout covers a block of waits; its error tells it from others; cancel stops it', async () => {
    const out = await drive(driver, function* () {
      const outer = Timeout.start(50);
      const log: string[] = [];
      try {
        yield* sleep(20);
        log.push('first wait done');
        yield* sleep(20);
        log.push('second wait done');
        yield* sleep(20);
        log.push('third wait done');
      } catch (err) {
        log.push(err === outer.error ? 'outer timeout' : 'other error');
      } finally {
        outer.cancel();
      }
      const cancelled = Timeout.start(10);
      cancelled.cancel();
      yield* sleep(20);
      log.push(`cancelled: pending ${cancelled.pending}, expired ${cancelled.expired}`);
      return log;
    });
    expect(out).toEqual(['first wait done', 'second wait done', 'outer timeout', 'cancelled: pending false, expired false']);
  });

  it('nested timeouts: the inner one fires first and the outer one still holds', async () => {
    const out = await drive(driver, function* () {
      const outer = Timeout.start(100);
      const log: string[] = [];
      try {
        try {
          yield* withTimeout(10, sleep(50));
        } catch (err) {
          log.push(err instanceof TimeoutError && err !== outer.error ? 'inner fired' : 'wrong error');
        }
        yield* sleep(200);
      } catch (err) {
        log.push(err === outer.error ? 'outer fired' : 'wrong error');
      } finally {
        outer.cancel();
      }
      return log;
    });
    expect(out).toEqual(['inner fired', 'outer fired']);
  });

  it('a timeout that expires while its task is ready, not waiting, is withdrawn by cancel: nothing leaks past the block', async () => {
    const out = await drive(driver, function* () {
      const timeout = Timeout.start(0);
      // Stay busy (ready, never waiting) until the timer has surely fired.
      for (let i = 0; i < 10; i++) yield* sleep(0);
      timeout.cancel();
      yield* sleep(5); // would throw here if the expiry had leaked
      return timeout.expired;
    });
    expect(typeof out).toBe('boolean');
  });

  it('a killed task cancels its Timeout through finally', async () => {
    await drive(driver, function* () {
      const task = spawn(function* () {
        const timeout = Timeout.start(1000);
        try {
          yield* sleep(5000);
        } finally {
          timeout.cancel();
        }
      });
      yield* sleep(1);
      yield* task.kill();
    });
  });
});

describe('timeouts: bad input', () => {
  it('refuses negative and non-number durations, non-operations, and use outside a task', () => {
    createHub();
    for (const ms of [-1, NaN]) {
      expectArgError(() => withTimeout(ms, sleep(1)), 'ERR_OUT_OF_RANGE', 'ms');
      expectArgError(() => Timeout.start(ms), 'ERR_OUT_OF_RANGE', 'ms');
    }
    expectArgError(() => withTimeout('5' as never, sleep(1)), 'ERR_INVALID_ARG_TYPE', 'ms');
    expectArgError(() => withTimeout(5, 42 as never), 'ERR_INVALID_ARG_TYPE', 'op');
    expect(caught(() => Timeout.start(5)).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });

  it('refuses an iterable that is no operation (an array, a Buffer): its iterator has no throw() for the timeout (found by the api fuzz)', async () => {
    createHub({ clock: 'virtual' });
    // A view over a buffer shrunk under it (ES2024, beyond this project's lib typings).
    const shrunk = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resize(n: number): void })(8, { maxByteLength: 16 });
    const view = new Uint8Array(shrunk, 4, 4);
    shrunk.resize(0);
    for (const op of [[1, 2], Buffer.alloc(1), new Set([1]), view]) expectArgError(() => withTimeout(5, op as never), 'ERR_INVALID_ARG_TYPE', 'op');
    // A function's operation is checked when the task runs it: the task fails with the coded error, and no timer is left.
    const task = spawn(function* () {
      return yield* withTimeout(5, () => [1] as never);
    });
    const err = await task.then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('ERR_INVALID_ARG_TYPE');
    expectIdle();
    // Operations, generators and tasks still pass.
    expect(
      await spawn(function* () {
        const t = spawn(function* () {
          return 7;
        });
        yield* withTimeout(5, sleep(1));
        yield* withTimeout(5, (function* () {})());
        return yield* withTimeout(5, t);
      }),
    ).toBe(7);
  });

  it('TimeoutError and TaskExit, built by hand, refuse what cannot make a message with a coded error (found by the api fuzz)', () => {
    expectArgError(() => new TimeoutError(Symbol('ms') as never), 'ERR_INVALID_ARG_TYPE', 'ms');
    expectArgError(() => new TimeoutError(5, Object.create(null) as never), 'ERR_INVALID_ARG_TYPE', 'message');
    expectArgError(() => new TaskExit(Object.create(null) as never), 'ERR_INVALID_ARG_TYPE', 'message');
    expectArgError(() => new TaskExit(Symbol('m') as never), 'ERR_INVALID_ARG_TYPE', 'message');
    expect(new TimeoutError(5).message).toBe('the operation timed out after 5 ms');
    expect(new TimeoutError(5, 'late').message).toBe('late');
    expect(new TaskExit().message).toBe('the task was killed');
  });
});
