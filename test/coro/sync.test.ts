/**
 * Synchronisation (lib/coro/sync.ts): Event, AsyncResult, Semaphore,
 * BoundedSemaphore, Lock, RLock — wake order, kills and timeouts while
 * waiting, promises outside tasks, bad input, and the TSDoc examples.
 */
import { describe, expect, it } from 'vitest';
import {
  AsyncResult,
  BoundedSemaphore,
  createHub,
  Event,
  joinAll,
  Lock,
  RLock,
  Semaphore,
  sleep,
  spawn,
  TaskExit,
  TimeoutError,
  useHub,
  withTimeout,
  type Instruction,
  type Operation,
} from '../../lib/coro/index.js';
import { bad, caught, expectArgError } from '../helpers/index.js';
import { expectIdle } from '../helpers/coro.js';
import { elapse, examplesOf, go, recorder, runExample, stepOutside, useVirtualHub } from './support.js';

useVirtualHub();


describe('Event', () => {
  it('starts clear; set() and clear() flip isSet; wait() on a set event returns true at once', async () => {
    const event = new Event();
    expect(event.isSet).toBe(false);
    event.set();
    expect(event.isSet).toBe(true);
    event.set(); // idempotent
    const task = go(function* () {
      const t0 = useHub().now();
      const got = yield* event.wait();
      return [got, useHub().now() - t0];
    });
    expect(await task).toEqual([true, 0]);
    event.clear();
    expect(event.isSet).toBe(false);
  });

  it('set() wakes every waiter, in the order they began to wait, with true', async () => {
    const event = new Event();
    const { log, note } = recorder();
    const waiters = ['a', 'b', 'c'].map((name) =>
      go(function* () {
        note(`${name} waits`);
        const got = yield* event.wait();
        note(`${name} woke ${got} at ${useHub().now()}`);
      }),
    );
    go(function* () {
      yield* sleep(50);
      note('set');
      event.set();
    });
    await Promise.all(waiters);
    expect(log).toEqual(['a waits', 'b waits', 'c waits', 'set', 'a woke true at 50', 'b woke true at 50', 'c woke true at 50']);
  });

  it('wait(timeoutMs) gives false when time runs out first, and leaves no timer or waiter behind', async () => {
    const event = new Event();
    const task = go(function* () {
      const got = yield* event.wait(30);
      return [got, useHub().now()];
    });
    expect(await task).toEqual([false, 30]);
    expect(event.waiting).toBe(0);
    // The timed-out waiter is gone: a later set() has nobody to wake, and a new wait returns at once.
    event.set();
    expect(await go(function* () { return yield* event.wait(10); })).toBe(true);
  });

  it('a waiter woken by set() still sees true after an immediate clear(); later waiters block again', async () => {
    const event = new Event();
    const first = go(function* () { return yield* event.wait(); });
    const setter = go(function* () {
      yield* sleep(1);
      event.set();
      event.clear();
      return yield* event.wait(5);
    });
    expect(await first).toBe(true);
    expect(await setter).toBe(false);
  });

  it('a task killed in wait() runs its finally once, leaves the line, and the event still works', async () => {
    const event = new Event();
    let finallies = 0;
    const victim = go(function* () {
      try {
        yield* event.wait();
        return 'woke';
      } finally {
        finallies++;
      }
    });
    const other = go(function* () { return yield* event.wait(); });
    await elapse(1);
    await victim.kill();
    expect(victim.value).toBeInstanceOf(TaskExit);
    expect(finallies).toBe(1);
    expect(event.waiting).toBe(1); // only `other`
    expect(useHub().counts).toMatchObject({ tasks: 1, parked: 1 });
    event.set();
    expect(await other).toBe(true);
    expect(finallies).toBe(1);
  });

  it('withTimeout(ms, event.wait()) raises TimeoutError, and the event still works afterwards', async () => {
    const event = new Event();
    const task = go(function* () {
      try {
        yield* withTimeout(20, event.wait());
        return 'woke';
      } catch (err) {
        return err;
      }
    });
    const err = await task;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).ms).toBe(20);
    expect(event.waiting).toBe(0);
    const again = go(function* () { return yield* event.wait(); });
    go(function* () { yield* sleep(5); event.set(); });
    expect(await again).toBe(true);
  });

  it('plain async code can await wait(): true once set, false on timeout (on the hub clock)', async () => {
    const event = new Event();
    const pending = event.wait(25).then((got) => got);
    await Promise.resolve();
    expect(event.waiting).toBe(1);
    expect(await pending).toBe(false);
    expect(event.waiting).toBe(0);
    expect(useHub().now()).toBe(25);
    go(function* () { yield* sleep(10); event.set(); });
    expect(await event.wait()).toBe(true);
    expect(await event.wait(0)).toBe(true); // set: at once
    expectIdle();
  });

  it('rejects a bad timeout at the call, and a wait outside any task', () => {
    const event = new Event();
    expectArgError(() => event.wait(bad('10')), 'ERR_INVALID_ARG_TYPE', 'timeoutMs');
    expectArgError(() => event.wait(-5), 'ERR_OUT_OF_RANGE', 'timeoutMs');
    expectArgError(() => event.wait(NaN), 'ERR_OUT_OF_RANGE', 'timeoutMs');
    const err = stepOutside(event.wait());
    expect(err.code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(err.message).toMatch(/^Event\.wait\(\) must run inside a task/);
    // Even when set: the mistake does not depend on timing.
    event.set();
    expect(stepOutside(event.wait()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });

  it('times out on the real clock, never early (generous margins)', async () => {
    createHub();
    const event = new Event();
    const t0 = performance.now();
    const got = await spawn(function* () { return yield* event.wait(40); });
    const elapsed = performance.now() - t0;
    expect(got).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(39);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('AsyncResult', () => {
  it('get() waits until set(), and every waiter gets the value', async () => {
    const result = new AsyncResult<number>();
    expect([result.ready, result.successful, result.value, result.error]).toEqual([false, false, undefined, undefined]);
    const readers = [1, 2, 3].map((n) => go(function* () { return (yield* result.get()) * n; }));
    go(function* () { yield* sleep(10); result.set(7); });
    expect(await Promise.all(readers)).toEqual([7, 14, 21]);
    expect([result.ready, result.successful, result.value, result.error]).toEqual([true, true, 7, undefined]);
    // Settled: get() returns at once, inside and outside tasks.
    expect(await go(function* () { return yield* result.get(); })).toBe(7);
    expect(await result.get()).toBe(7);
  });

  it('setException() makes get() throw, inside and outside tasks; wait() just says it is ready', async () => {
    const result = new AsyncResult<string>();
    const boom = new Error('boom');
    const reader = go(function* () {
      try {
        return yield* result.get();
      } catch (err) {
        return err;
      }
    });
    const waiter = go(function* () { return yield* result.wait(); });
    result.setException(boom);
    expect(await reader).toBe(boom);
    expect(await waiter).toBe(true);
    await expect(result.get()).rejects.toBe(boom);
    expect([result.ready, result.successful, result.value, result.error]).toEqual([true, false, undefined, boom]);
  });

  it('settles once: a second set() or setException() is ERR_INVALID_STATE', () => {
    const result = new AsyncResult<number>();
    result.set(1);
    expect(caught(() => result.set(2)).code).toBe('ERR_INVALID_STATE');
    expect(caught(() => result.setException(new Error('late'))).code).toBe('ERR_INVALID_STATE');
    expect(result.value).toBe(1);
  });

  it('holds undefined as a value, told apart from "not ready" by ready', async () => {
    const result = new AsyncResult<undefined>();
    result.set(undefined);
    expect(result.ready).toBe(true);
    expect(await result.get()).toBeUndefined();
  });

  it('plain async code can await get() before it is set', async () => {
    const result = new AsyncResult<string>();
    go(function* () { yield* sleep(100); result.set('late'); });
    expect(await result.get()).toBe('late');
    expect(useHub().now()).toBe(100);
  });

  it('wait(timeoutMs) gives false when time runs out, true once settled', async () => {
    const result = new AsyncResult<number>();
    expect(await go(function* () { return yield* result.wait(10); })).toBe(false);
    expect(await result.wait(10)).toBe(false);
    result.set(3);
    expect(await go(function* () { return yield* result.wait(10); })).toBe(true);
  });

  it('a task killed or timed out in get() leaves the line; the result still reaches the others', async () => {
    const result = new AsyncResult<number>();
    let finallies = 0;
    const victim = go(function* () {
      try {
        return yield* result.get();
      } finally {
        finallies++;
      }
    });
    const timed = go(function* () {
      try {
        return yield* withTimeout(5, result.get());
      } catch (err) {
        return err;
      }
    });
    const patient = go(function* () { return yield* result.get(); });
    await elapse(1);
    await victim.kill();
    expect(await timed).toBeInstanceOf(TimeoutError);
    expect(finallies).toBe(1);
    result.set(9);
    expect(await patient).toBe(9);
    expect(victim.value).toBeInstanceOf(TaskExit);
  });

  it('rejects a bad timeout at the call, and get() outside any task', () => {
    const result = new AsyncResult();
    expectArgError(() => result.wait(bad('1')), 'ERR_INVALID_ARG_TYPE', 'timeoutMs');
    expectArgError(() => result.wait(-2), 'ERR_OUT_OF_RANGE', 'timeoutMs');
    expect(stepOutside(result.get()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(stepOutside(result.get()).message).toMatch(/^AsyncResult\.get\(\)/);
    expect(stepOutside(result.wait()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });
});

describe('Semaphore', () => {
  it('counts permits: acquire() takes one at once while any is free, tryAcquire() never waits', async () => {
    const sem = new Semaphore(2);
    expect([sem.count, sem.locked]).toEqual([2, false]);
    await go(function* () {
      yield* sem.acquire();
      yield* sem.acquire();
    });
    expect([sem.count, sem.locked]).toEqual([0, true]);
    expect(sem.tryAcquire()).toBe(false);
    sem.release();
    expect(sem.tryAcquire()).toBe(true);
    sem.release();
    sem.release();
    sem.release(); // a plain Semaphore is not bounded
    expect(sem.count).toBe(3);
    expect(new Semaphore().count).toBe(1);
    expect(new Semaphore(0).locked).toBe(true);
  });

  it('hands released permits to waiters in FIFO order; nobody jumps the line', async () => {
    const sem = new Semaphore(0);
    const { log, note } = recorder();
    const waiters = ['a', 'b', 'c'].map((name) =>
      go(function* () {
        yield* sem.acquire();
        note(`${name}@${useHub().now()}`);
      }),
    );
    go(function* () {
      for (let i = 1; i <= 3; i++) {
        yield* sleep(10);
        sem.release();
        // The permit went straight to a waiter: none is free for a newcomer.
        note(`released, count ${sem.count}, tryAcquire ${sem.tryAcquire()}`);
      }
    });
    await Promise.all(waiters);
    expect(log).toEqual([
      'released, count 0, tryAcquire false',
      'a@10',
      'released, count 0, tryAcquire false',
      'b@20',
      'released, count 0, tryAcquire false',
      'c@30',
    ]);
    expect(sem.count).toBe(0);
  });

  it('a task killed in acquire() runs its finally once and leaves the line: the permit goes to the next', async () => {
    const sem = new Semaphore(0);
    let finallies = 0;
    const { log, note } = recorder();
    const victim = go(function* () {
      try {
        yield* sem.acquire();
        note('victim acquired');
      } finally {
        finallies++;
      }
    });
    const next = go(function* () {
      yield* sem.acquire();
      note('next acquired');
    });
    await elapse(1);
    expect(sem.waiting).toBe(2);
    await victim.kill();
    expect(finallies).toBe(1);
    expect(sem.waiting).toBe(1);
    sem.release();
    await next;
    expect(sem.waiting).toBe(0);
    expect(log).toEqual(['next acquired']);
    expect(sem.count).toBe(0);
    // With nobody left waiting, a release goes to the count.
    sem.release();
    expect(sem.count).toBe(1);
  });

  it('a permit handed to a waiter is its own even if it is killed before it runs (the kill lands at its next yield)', async () => {
    const sem = new Semaphore(0);
    const { log, note } = recorder();
    const holder = go(function* () {
      yield* sem.acquire();
      note('acquired');
      try {
        yield* sleep(10);
        note('not reached');
      } finally {
        sem.release();
        note('released');
      }
    });
    await go(function* () {
      yield* sleep(1);
      sem.release(); // hands the permit to holder, which is now ready to run...
      holder.kill(); // ...and killed before it does
    });
    await joinAll([holder]); // (awaiting a killed task would throw its TaskExit)
    expect(holder.value).toBeInstanceOf(TaskExit);
    expect(log).toEqual(['acquired', 'released']);
    expect(sem.count).toBe(1);
  });

  it('withTimeout(ms, acquire()) raises TimeoutError, takes nothing, and the semaphore still works', async () => {
    const sem = new Semaphore(0);
    const err = await go(function* () {
      try {
        yield* withTimeout(15, sem.acquire());
      } catch (e) {
        return e;
      }
    });
    expect(err).toBeInstanceOf(TimeoutError);
    expect([sem.count, sem.waiting]).toEqual([0, 0]);
    const later = go(function* () {
      yield* sem.acquire();
      return useHub().now();
    });
    go(function* () { yield* sleep(10); sem.release(); });
    expect(await later).toBe(25);
    expect(sem.count).toBe(0);
  });

  it('rejects bad initial values, and acquire() outside any task', () => {
    expectArgError(() => new Semaphore(bad('2')), 'ERR_INVALID_ARG_TYPE', 'value');
    expectArgError(() => new Semaphore(-1), 'ERR_OUT_OF_RANGE', 'value');
    expectArgError(() => new Semaphore(NaN), 'ERR_OUT_OF_RANGE', 'value');
    expectArgError(() => new Semaphore(1.5), 'ERR_OUT_OF_RANGE', 'value');
    expectArgError(() => new Semaphore(Infinity), 'ERR_OUT_OF_RANGE', 'value');
    const sem = new Semaphore(1);
    const err = stepOutside(sem.acquire());
    expect(err.code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(err.message).toMatch(/^Semaphore\.acquire\(\)/);
    expect(sem.count).toBe(1); // nothing taken
    // tryAcquire() and release() need no task.
    expect(sem.tryAcquire()).toBe(true);
    sem.release();
  });
});

describe('BoundedSemaphore', () => {
  it('refuses a release above its initial count with ERR_INVALID_STATE', () => {
    const sem = new BoundedSemaphore(2);
    const err = caught(() => sem.release());
    expect(err.code).toBe('ERR_INVALID_STATE');
    expect(err.message).toMatch(/BoundedSemaphore\.release\(\) was called more often than acquire\(\)/);
    expect(sem.tryAcquire()).toBe(true);
    sem.release();
    expect(caught(() => sem.release()).code).toBe('ERR_INVALID_STATE');
    expect(sem.count).toBe(2);
    expect(new BoundedSemaphore().count).toBe(1);
    expectArgError(() => new BoundedSemaphore(-1), 'ERR_OUT_OF_RANGE', 'value');
  });

  it('hands a release to a waiter while all permits are out', async () => {
    const sem = new BoundedSemaphore(1);
    const order: string[] = [];
    const tasks = ['a', 'b'].map((name) =>
      go(function* () {
        yield* sem.acquire();
        try {
          order.push(name);
          yield* sleep(5);
        } finally {
          sem.release();
        }
      }),
    );
    await Promise.all(tasks);
    expect(order).toEqual(['a', 'b']);
    expect(sem.count).toBe(1);
  });
});

describe('Lock', () => {
  it('lets one task in at a time, in FIFO order', async () => {
    const lock = new Lock();
    const { log, note } = recorder();
    const tasks = ['a', 'b', 'c'].map((name) =>
      go(function* () {
        yield* lock.acquire();
        try {
          note(`${name} in`);
          yield* sleep(10);
          note(`${name} out`);
        } finally {
          lock.release();
        }
      }),
    );
    await Promise.all(tasks);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    expect(lock.locked).toBe(false);
  });

  it('may be released by another task (a hand-over), but not when unlocked', async () => {
    const lock = new Lock();
    await go(function* () { yield* lock.acquire(); });
    expect(lock.locked).toBe(true);
    await go(function* () { lock.release(); });
    expect(lock.locked).toBe(false);
    const err = caught(() => lock.release());
    expect(err.code).toBe('ERR_INVALID_STATE');
    expect(err.message).toBe('Lock.release(): the lock is not locked');
    expect(stepOutside(lock.acquire()).message).toMatch(/^Lock\.acquire\(\)/);
  });

  it('a task killed in acquire() leaves the line; withTimeout raises TimeoutError; the lock still works', async () => {
    const lock = new Lock();
    lock.tryAcquire();
    let finallies = 0;
    const victim = go(function* () {
      try {
        yield* lock.acquire();
      } finally {
        finallies++;
      }
    });
    const timed = go(function* () {
      try {
        yield* withTimeout(5, lock.acquire());
      } catch (err) {
        return err;
      }
    });
    await elapse(1);
    await victim.kill();
    expect(await timed).toBeInstanceOf(TimeoutError);
    expect(finallies).toBe(1);
    expect(lock.waiting).toBe(0);
    lock.release();
    expect(lock.locked).toBe(false);
    await go(function* () {
      yield* lock.acquire();
      lock.release();
    });
  });
});

describe('RLock', () => {
  it('is reentrant for its owner, who must release it as often as it acquired it', async () => {
    const lock = new RLock();
    const seen = await go(function* () {
      const states: [boolean, number][] = [];
      yield* lock.acquire();
      yield* lock.acquire();
      expect(lock.tryAcquire()).toBe(true);
      states.push([lock.locked, lock.depth]);
      lock.release();
      lock.release();
      states.push([lock.locked, lock.depth]);
      lock.release();
      states.push([lock.locked, lock.depth]);
      return states;
    });
    expect(seen).toEqual([
      [true, 3],
      [true, 1],
      [false, 0],
    ]);
    expect(lock.owner).toBeUndefined();
  });

  it('makes other tasks wait, and hands the lock over in FIFO order, the new owner set at once', async () => {
    const lock = new RLock();
    const { log, note } = recorder();
    const first = go(function* () {
      yield* lock.acquire();
      yield* sleep(10);
      lock.release();
      note(`owner after release: ${lock.owner === others[0] ? 'b' : String(lock.owner?.id)}`);
    });
    const others = ['b', 'c'].map((name) =>
      go(function* () {
        expect(lock.tryAcquire()).toBe(false);
        yield* lock.acquire();
        note(`${name} owns it: ${lock.owner === useHub().current}`);
        yield* sleep(1);
        lock.release();
      }),
    );
    await Promise.all([first, ...others]);
    expect(log).toEqual(['owner after release: b', 'b owns it: true', 'c owns it: true']);
    expect(lock.locked).toBe(false);
  });

  it('refuses a release by a task that does not hold it, or when unlocked, with ERR_INVALID_STATE', async () => {
    const lock = new RLock();
    const owner = go(function* () {
      yield* lock.acquire();
      yield* sleep(100);
      lock.release();
    });
    const intruder = go(function* () {
      yield* sleep(1);
      return caught(() => lock.release());
    });
    const err = await intruder;
    expect(err.code).toBe('ERR_INVALID_STATE');
    expect(err.message).toBe(`RLock.release(): the lock is held by task ${owner.id}, not by the running task ${intruder.id}`);
    expect(lock.owner).toBe(owner);
    await owner;
    const unlocked = await go(function* () { return caught(() => lock.release()); });
    expect(unlocked.message).toBe('RLock.release(): the lock is not locked');
  });

  it('needs a task for every call', () => {
    const lock = new RLock();
    expect(stepOutside(lock.acquire()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(caught(() => lock.tryAcquire()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(caught(() => lock.release()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });

  it('a task killed or timed out in acquire() leaves the line; the lock goes to the next waiter', async () => {
    const lock = new RLock();
    let finallies = 0;
    const holder = go(function* () {
      yield* lock.acquire();
      yield* sleep(20);
      lock.release();
    });
    const victim = go(function* () {
      try {
        yield* lock.acquire();
      } finally {
        finallies++;
      }
    });
    const timed = go(function* () {
      try {
        yield* withTimeout(5, lock.acquire());
      } catch (err) {
        return err;
      }
    });
    const patient = go(function* () {
      yield* lock.acquire();
      const at = useHub().now();
      lock.release();
      return at;
    });
    await elapse(1);
    await victim.kill();
    expect(finallies).toBe(1);
    expect(await timed).toBeInstanceOf(TimeoutError);
    expect(lock.waiting).toBe(1); // only `patient`
    expect(await patient).toBe(20);
    expect(lock.waiting).toBe(0);
    await holder;
    expect(lock.locked).toBe(false);
  });
});

describe('the TSDoc examples of lib/coro/sync.ts', () => {
  const examples = examplesOf('sync');
  it('has a standalone example for every export', () => {
    expect(examples.map((e) => e.name)).toEqual(['Event', 'AsyncResult', 'Semaphore', 'BoundedSemaphore', 'Lock', 'RLock']);
  });
  it.each(examples)('$name', async (example) => {
    await runExample(example);
  });
});

