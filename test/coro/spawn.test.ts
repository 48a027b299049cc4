/**
 * Tasks (lib/coro/task.ts, lib/coro/spawn.ts): spawn, join, kill, throw,
 * joinAll, killAll, race, asCompleted, current — on every backend and driver.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  asCompleted,
  createHub,
  Event,
  current,
  joinAll,
  killAll,
  race,
  sleep,
  spawn,
  spawnLater,
  Task,
  TaskExit,
  useHub,
  type Instruction,
} from '../../lib/coro/index.js';
import { caught, expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX, turns } from '../helpers/coro.js';

describe.each(MATRIX)('tasks, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend, clock: 'virtual' });
  });
  afterEach(() => {
    expectIdle();
  });

  it('runs spawned tasks in FIFO order, each to its first wait, and gives their values', async () => {
    const log: string[] = [];
    const values = await drive(driver, function* () {
      const tasks = ['a', 'b', 'c'].map((name) =>
        spawn(function* () {
          log.push(`${name} starts`);
          yield* sleep(0);
          log.push(`${name} resumes`);
          return name.toUpperCase();
        }),
      );
      log.push('main spawned');
      const done = yield* joinAll(tasks);
      return done.map((t) => t.value);
    });
    expect(log).toEqual(['main spawned', 'a starts', 'b starts', 'c starts', 'a resumes', 'b resumes', 'c resumes']);
    expect(values).toEqual(['A', 'B', 'C']);
  });

  it('gevent\'s three functions print in the documented order', async () => {
    const log: string[] = [];
    const fun = (name: string, ms: number) =>
      function* (): Generator<Instruction, void, unknown> {
        log.push(`first ${name}`);
        yield* sleep(ms);
        log.push(`second ${name}`);
      };
    await drive(driver, function* () {
      yield* joinAll([spawn(fun('fun1', 2000)), spawn(fun('fun2', 1000)), spawn(fun('fun3', 2000))]);
    });
    expect(log).toEqual(['first fun1', 'first fun2', 'first fun3', 'second fun2', 'second fun1', 'second fun3']);
    expect(useHub().now()).toBe(2000);
  });

  it('join gives the value, or throws the error, of the joined task', async () => {
    const boom = new Error('boom');
    const out = await drive(driver, function* () {
      const ok = spawn(function* () {
        yield* sleep(5);
        return 7;
      });
      // It fails after main has started joining it: a failure before any
      // join would be reported as unhandled, as a promise's would be.
      const bad = spawn(function* (): Generator<Instruction, never, unknown> {
        yield* sleep(10);
        throw boom;
      });
      const value = yield* ok.join();
      const again = yield* ok; // yield* task is join
      let error: unknown;
      try {
        yield* bad;
      } catch (err) {
        error = err;
      }
      return { value, again, error, okState: [ok.done, ok.successful, ok.value], badState: [bad.done, bad.successful, bad.error] };
    });
    expect(out).toEqual({ value: 7, again: 7, error: boom, okState: [true, true, 7], badState: [true, false, boom] });
  });

  it('kill during sleep runs finally once, ends the task successfully with TaskExit, and cancels its timer', async () => {
    let finallies = 0;
    const out = await drive(driver, function* () {
      const sleeper = spawn(function* () {
        try {
          yield* sleep(60_000);
          return 'woke';
        } finally {
          finallies++;
        }
      });
      yield* sleep(1);
      expect(useHub().counts.timers).toBe(1);
      yield* sleeper.kill();
      return { done: sleeper.done, successful: sleeper.successful, exit: sleeper.value instanceof TaskExit, timers: useHub().counts.timers };
    });
    expect(out).toEqual({ done: true, successful: true, exit: true, timers: 0 });
    expect(finallies).toBe(1);
    expect(useHub().now()).toBeLessThan(60_000);
  });

  it('kill with an error fails the task with it; a task that catches TaskExit may still return', async () => {
    const out = await drive(driver, function* () {
      const a = spawn(function* () {
        yield* sleep(100);
      });
      const b = spawn(function* () {
        try {
          yield* sleep(100);
        } catch (err) {
          return `caught ${(err as Error).name}`;
        }
        return 'not killed';
      });
      yield* sleep(0);
      const reason = new Error('shutdown');
      yield* a.kill(reason);
      yield* b.kill();
      let joined: unknown;
      try {
        yield* a.join();
      } catch (err) {
        joined = err;
      }
      return { aError: a.error === reason, joined: joined === reason, b: b.value };
    });
    expect(out).toEqual({ aError: true, joined: true, b: 'caught TaskExit' });
  });

  it('a task killed before it ever ran never runs, and its joiners still hear of it', async () => {
    let ran = false;
    const out = await drive(driver, function* () {
      const never = spawn(function* () {
        ran = true;
      });
      yield* never.kill();
      let joined: unknown;
      try {
        yield* never.join(); // a join of a killed task throws its TaskExit
      } catch (err) {
        joined = err;
      }
      return [never.done, never.successful, never.value instanceof TaskExit, joined === never.value];
    });
    expect(ran).toBe(false);
    expect(out).toEqual([true, true, true, true]);
  });

  it('a finally that yields is honoured: the killed task finishes its cleanup first', async () => {
    const log: string[] = [];
    await drive(driver, function* () {
      const task = spawn(function* () {
        try {
          yield* sleep(1000);
        } finally {
          log.push('cleanup starts');
          yield* sleep(10);
          log.push('cleanup ends');
        }
      });
      yield* sleep(1);
      yield* task.kill();
      log.push('killed');
    });
    expect(log).toEqual(['cleanup starts', 'cleanup ends', 'killed']);
  });

  it('a kill inside a finally that waits interrupts that wait: the finally ran once, and nothing is left behind', async () => {
    const log: string[] = [];
    await drive(driver, function* () {
      const task = spawn(function* () {
        try {
          yield* sleep(1000);
        } finally {
          log.push('finally starts');
          yield* sleep(1000); // the second kill lands here
          log.push('finally ends');
        }
      });
      yield* sleep(1);
      task.kill();
      yield* sleep(1); // the task is in its finally's sleep now
      expect(useHub().counts.timers).toBe(1);
      yield* task.kill();
    });
    expect(log).toEqual(['finally starts']);
  });

  it('kill while the task is ready (woken, not yet resumed) loses nothing: it takes effect at its next yield', async () => {
    const log: string[] = [];
    await drive(driver, function* () {
      const task = spawn(function* () {
        log.push('one');
        yield* sleep(0); // ready again at once
        log.push('two');
        yield* sleep(1000);
        log.push('never');
      });
      yield* sleep(0); // task ran to its sleep(0) and is ready now
      yield* task.kill();
    });
    expect(log).toEqual(['one', 'two']);
  });

  it('throw() raises inside the task, which may catch it and go on', async () => {
    const out = await drive(driver, function* () {
      const task = spawn(function* () {
        let caughtIt = '';
        try {
          yield* sleep(100);
        } catch (err) {
          caughtIt = (err as Error).message;
        }
        yield* sleep(1);
        return caughtIt;
      });
      yield* sleep(1);
      task.throw(new Error('reload'));
      return yield* task;
    });
    expect(out).toBe('reload');
  });

  it('a task killing itself throws TaskExit on the spot', async () => {
    const out = await drive(driver, function* () {
      const task = spawn(function* () {
        current()!.kill();
        return 'unreachable';
      });
      yield* task.kill();
      return [task.successful, task.value instanceof TaskExit];
    });
    expect(out).toEqual([true, true]);
  });

  it('current() and parent name the running task and its spawner', async () => {
    const out = await drive(driver, function* () {
      const me = current()!;
      const child = spawn(function* () {
        return current()!.parent === me;
      });
      return [me instanceof Task, yield* child, current() === me];
    });
    expect(out).toEqual([true, true, true]);
    expect(current()).toBeUndefined();
  });

  it('joinAll: count, timeoutMs and raiseError', async () => {
    const boom = new Error('boom');
    const out = await drive(driver, function* () {
      const mk = (ms: number, fail = false) =>
        spawn(function* () {
          yield* sleep(ms);
          if (fail) throw boom;
          return ms;
        });
      const a = [mk(30), mk(10), mk(20)];
      const two = yield* joinAll(a, { count: 2 });
      const rest = yield* joinAll(a);
      const b = [mk(100), mk(5)];
      const partial = yield* joinAll(b, { timeoutMs: 50 });
      yield* b[0]!.kill();
      const c = [mk(10), mk(5, true), mk(20)];
      let raised: unknown;
      try {
        yield* joinAll(c, { raiseError: true });
      } catch (err) {
        raised = err;
      }
      yield* killAll(c);
      return { two: two.map((t) => t.value), rest: rest.map((t) => t.value), partial: partial.map((t) => t.value), raised: raised === boom };
    });
    expect(out).toEqual({ two: [10, 20], rest: [10, 20, 30], partial: [5], raised: true });
  });

  it('race gives the first value and kills the others', async () => {
    let loserFinally = false;
    const out = await drive(driver, function* () {
      const slow = spawn(function* () {
        try {
          yield* sleep(100);
          return 'slow';
        } finally {
          loserFinally = true;
        }
      });
      const fast = spawn(function* () {
        yield* sleep(10);
        return 'fast';
      });
      const winner = yield* race([slow, fast]);
      yield* slow.kill(); // already killed by race: waits for its end
      return { winner, slowKilled: slow.value instanceof TaskExit };
    });
    expect(out).toEqual({ winner: 'fast', slowKilled: true });
    expect(loserFinally).toBe(true);
  });

  it('asCompleted gives the tasks in the order they end', async () => {
    const order = await drive(driver, function* () {
      const tasks = [30, 10, 20].map((ms) =>
        spawn(function* () {
          yield* sleep(ms);
          return ms;
        }),
      );
      const completed = asCompleted(tasks);
      const seen: number[] = [];
      for (let t; (t = yield* completed.next()) !== undefined; ) seen.push(t.value as number);
      return seen;
    });
    expect(order).toEqual([10, 20, 30]);
  });

  it('spawnLater starts the task after the delay; killed before, it never runs', async () => {
    const out = await drive(driver, function* () {
      const hub = useHub();
      const t0 = hub.now();
      const later = spawnLater(25, function* (x: number) {
        return hub.now() - t0 + x;
      }, 1000);
      let ran = false;
      const never = spawnLater(25, function* () {
        ran = true;
      });
      never.kill();
      return [yield* later, ran];
    });
    expect(out).toEqual([1025, false]);
  });
});

describe('tasks meet promises', () => {
  beforeEach(() => {
    createHub({ clock: 'virtual' });
  });

  it('kill(error) with a Proxy whose traps throw ends the task with it, and leaves the hub sound (found by the api fuzz)', async () => {
    const trap = (): never => {
      throw new Error('trap');
    };
    const hostile = new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap });
    let finallies = 0;
    // Waits on an Event, not a sleep: the virtual clock would end a sleep at once.
    const never = new Event();
    const task = spawn(function* () {
      try {
        yield* never.wait();
      } finally {
        finallies++;
      }
    });
    // Observed first: an unhandled rejection of the Proxy would be shown, running its traps.
    let outcome: unknown;
    void task.then(undefined, (e: unknown) => {
      outcome = e;
    });
    await turns(2);
    // Not awaited: before the fix the task never ended, and a wait for it would hang.
    void task.kill(hostile);
    await turns(2);
    expect(task.done).toBe(true);
    expect(finallies).toBe(1);
    // Object.is: expect() would run the Proxy's traps to show or compare it.
    expect(Object.is(task.error, hostile)).toBe(true);
    expect(Object.is(outcome, hostile)).toBe(true);
    // Counted as ended: the hub is idle, runs new tasks and can close.
    expectIdle();
    expect(await spawn(function* () { return 'next'; })).toBe('next');
    useHub().close();
  });

  it('plain async code awaits a task; a failed task rejects', async () => {
    const ok = spawn(function* () {
      yield* sleep(10);
      return 'value';
    });
    expect(await ok).toBe('value');
    const failing = spawn(function* () {
      yield* sleep(1);
      throw new Error('nope');
    });
    await expect(failing).rejects.toThrow('nope');
    await expect(joinAll([spawn(function* () {})])).resolves.toHaveLength(1);
    await expect(race([spawn(function* () { return 1; })])).resolves.toBe(1);
  });

  it('a failure nobody joins is reported as an unhandled rejection, never swallowed', async () => {
    const seen: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      seen.push(reason);
    };
    // vitest watches unhandled rejections too: take them over for this test.
    const listeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onUnhandled);
    try {
      const error = new Error('nobody listens');
      spawn(function* () {
        yield* sleep(1);
        throw error;
      });
      const handled = spawn(function* () {
        yield* sleep(1);
        throw new Error('joined');
      });
      const joined = handled.then(undefined, (err: unknown) => (err as Error).message);
      for (let i = 0; i < 20 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(seen).toEqual([error]);
      expect(await joined).toBe('joined');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      for (const listener of listeners) process.on('unhandledRejection', listener);
    }
  });
});

describe('tasks: bad input', () => {
  beforeEach(() => {
    createHub({ clock: 'virtual' });
  });

  it('spawn takes only a generator function', () => {
    for (const fn of [() => 1, async function* () {}, async () => {}, 'fn', undefined, null, {}]) {
      expectArgError(() => spawn(fn as never), 'ERR_INVALID_ARG_TYPE', 'fn');
    }
  });

  it('joinAll, killAll, race and asCompleted take arrays of tasks', () => {
    const task = spawn(function* () {});
    for (const fn of [joinAll, killAll, race, asCompleted] as ((x: unknown) => unknown)[]) {
      expectArgError(() => fn('x'), 'ERR_INVALID_ARG_TYPE');
      expectArgError(() => fn([task, 'x']), 'ERR_INVALID_ARG_TYPE');
    }
    expectArgError(() => race([]), 'ERR_INVALID_ARG_TYPE');
    expectArgError(() => joinAll([task], { timeoutMs: -5 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => joinAll([task], { count: 2 }), 'ERR_OUT_OF_RANGE');
    expectArgError(() => joinAll([task], { raiseError: 1 as never }), 'ERR_INVALID_ARG_TYPE');
  });

  it('an operation used outside a task is ERR_CORO_OUTSIDE_TASK', () => {
    const task = spawn(function* () {});
    for (const op of [sleep(1), task.join(), joinAll([task])]) {
      expect(caught(() => op[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    }
  });

  it('a task that yields a value instead of yield* an operation gets a TypeError at that yield', async () => {
    const task = spawn(function* (): Generator<unknown, string, unknown> {
      try {
        yield 5;
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'no error';
    } as never);
    expect(await task).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('a task cannot join itself', async () => {
    const task = spawn(function* (): Generator<Instruction, unknown, unknown> {
      return yield* current()!.join();
    });
    await expect(task).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });
});
