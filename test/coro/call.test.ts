/**
 * Promises inside tasks (lib/coro/call.ts): call() and action(), on every
 * backend and driver.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { action, call, createHub, sleep, spawn, useHub } from '../../lib/coro/index.js';
import { caught, expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX } from '../helpers/coro.js';

describe.each(MATRIX)('call and action, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend });
  });
  afterEach(() => {
    expectIdle();
  });

  it('call waits for a promise, or an async function called in the task, without blocking other tasks', async () => {
    const log: string[] = [];
    const out = await drive(driver, function* () {
      const other = spawn(function* () {
        for (let i = 0; i < 3; i++) {
          yield* sleep(2);
          log.push(`tick ${i}`);
        }
      });
      const a = yield* call(new Promise<number>((resolve) => setTimeout(() => resolve(1), 20)));
      const b = yield* call(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return 2;
      });
      const c = yield* call(() => 3); // a plain value passes through
      yield* other;
      return [a, b, c];
    });
    expect(out).toEqual([1, 2, 3]);
    expect(log).toEqual(['tick 0', 'tick 1', 'tick 2']);
  });

  it('call throws the rejection into the task', async () => {
    const out = await drive(driver, function* () {
      try {
        yield* call(Promise.reject(new Error('rejected')));
        return 'no error';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(out).toBe('rejected');
  });

  it('a task killed while it waits on a promise stops waiting; the settled promise is ignored', async () => {
    let settle!: (v: string) => void;
    const promise = new Promise<string>((resolve) => (settle = resolve));
    const out = await drive(driver, function* () {
      const waiter = spawn(function* () {
        return yield* call(promise);
      });
      yield* sleep(1);
      expect(useHub().counts.calls).toBe(1);
      yield* waiter.kill();
      expect(useHub().counts.calls).toBe(0);
      settle('late');
      yield* call(promise);
      return waiter.successful;
    });
    expect(out).toBe(true);
  });

  it('action: resolve, reject, and a teardown that runs however the wait ends', async () => {
    const emitter = new EventEmitter();
    const next = () =>
      action<string>((resolve, reject) => {
        emitter.once('message', resolve);
        emitter.once('failure', reject);
        return () => {
          emitter.off('message', resolve);
          emitter.off('failure', reject);
        };
      });
    const out = await drive(driver, function* () {
      setTimeout(() => emitter.emit('message', 'hello'), 5);
      const got = yield* next();
      setTimeout(() => emitter.emit('failure', new Error('bad')), 5);
      let failed = '';
      try {
        yield* next();
      } catch (err) {
        failed = (err as Error).message;
      }
      const waiter = spawn(function* () {
        return yield* next();
      });
      yield* sleep(1);
      yield* waiter.kill();
      return { got, failed, listeners: emitter.listenerCount('message') + emitter.listenerCount('failure') };
    });
    expect(out).toEqual({ got: 'hello', failed: 'bad', listeners: 0 });
  });

  it('action resolved synchronously, inside its resolver, continues at once', async () => {
    const out = await drive(driver, function* () {
      return yield* action<number>((resolve) => {
        resolve(42);
      });
    });
    expect(out).toBe(42);
  });
});

describe('call and action: bad input', () => {
  it('call takes a promise or a function; action a function; both only inside a task', () => {
    createHub();
    for (const value of [5, 'x', null, undefined, {}]) expectArgError(() => call(value as never), 'ERR_INVALID_ARG_TYPE', 'value');
    expectArgError(() => action('x' as never), 'ERR_INVALID_ARG_TYPE', 'resolver');
    expect(caught(() => call(Promise.resolve(1))[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(caught(() => action(() => {})[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });
});
