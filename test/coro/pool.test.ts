/**
 * Groups and pools (lib/coro/pool.ts): membership, join and kill, a pool's
 * bounded spawn with FIFO waiters, map and imapUnordered, kills and
 * timeouts while waiting, bad input, and the TSDoc examples.
 */
import { describe, expect, it } from 'vitest';
import {
  createHub,
  Group,
  Pool,
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
import { elapse, examplesOf, go, recorder, runExample, stepOutside, useVirtualHub } from './support.js';

useVirtualHub();



function* nap(ms: number): Generator<Instruction, number, unknown> {
  yield* sleep(ms);
  return ms;
}

function* failAfter(ms: number): Generator<Instruction, never, unknown> {
  yield* sleep(ms);
  throw new Error(`failed after ${ms}`);
}

describe('Group', () => {
  it('holds tasks until they end: spawn, add, has, size, iteration', async () => {
    const group = new Group();
    const a = group.spawn(nap, 10);
    const b = spawn(nap, 20);
    group.add(b);
    group.add(b); // once only
    expect([group.size, group.has(a), group.has(b)]).toEqual([2, true, true]);
    // (tasks are iterable, so compare them by identity, not with toEqual)
    expect([...group].map((t) => t.id)).toEqual([a.id, b.id]);
    await a;
    expect([group.size, group.has(a)]).toEqual([1, false]);
    await b;
    expect(group.size).toBe(0);
    group.add(a); // ended: not added
    expect(group.size).toBe(0);
  });

  it('join() waits until the group is empty, tasks added meanwhile included', async () => {
    const group = new Group();
    const { log, note } = recorder();
    group.spawn(function* () {
      yield* sleep(10);
      group.spawn(nap, 30); // joins late: join() waits for it too
      note('first done');
    });
    const joiner = go(function* () {
      const ok = yield* group.join();
      note(`joined ${ok} at ${useHub().now()}`);
    });
    await joiner;
    expect(log).toEqual(['first done', 'joined true at 40']);
    expect(await go(function* () { return yield* group.join(); })).toBe(true); // empty: at once
  });

  it('join({ timeoutMs }) gives false when time runs out; join() is awaitable outside tasks', async () => {
    const group = new Group();
    const task = group.spawn(nap, 100);
    expect(await go(function* () { return yield* group.join({ timeoutMs: 10 }); })).toBe(false);
    expect(await group.join({ timeoutMs: 10 })).toBe(false);
    expect(await group.join()).toBe(true);
    expect(useHub().now()).toBe(100);
    expect(task.done).toBe(true);
  });

  it('discard() takes a task out without killing it', async () => {
    const group = new Group();
    const task = group.spawn(nap, 50);
    group.discard(task);
    group.discard(task); // not there: ignored
    expect(group.size).toBe(0);
    expect(await group.join()).toBe(true);
    expect(task.done).toBe(false);
    expect(await task).toBe(50);
  });

  it('join({ raiseError: true }) throws the first failure and takes charge of it', async () => {
    const group = new Group();
    const bad1 = group.spawn(failAfter, 10);
    const bad2 = group.spawn(failAfter, 20);
    group.spawn(nap, 30);
    const err = await go(function* () {
      try {
        yield* group.join({ raiseError: true });
      } catch (e) {
        return e;
      }
    });
    expect((err as Error).message).toBe('failed after 10');
    // Outside a task too; the second failure happens while this join waits.
    await expect(group.join({ raiseError: true })).rejects.toThrow('failed after 20');
    expect(await group.join()).toBe(true);
    expect([bad1.successful, bad2.successful]).toEqual([false, false]);
  });

  it('kill() kills every member, running their finally blocks, and waits for them', async () => {
    const group = new Group();
    let finallies = 0;
    for (let i = 0; i < 3; i++) {
      group.spawn(function* () {
        try {
          yield* sleep(Infinity);
        } finally {
          finallies++;
        }
      });
    }
    await elapse(1);
    const members = [...group];
    await group.kill();
    expect(finallies).toBe(3);
    expect(group.size).toBe(0);
    expect(members.every((t) => t.value instanceof TaskExit)).toBe(true);
  });

  it('a member that kills its group kills the others but not itself; a member cannot join its group', async () => {
    const group = new Group();
    const other = group.spawn(nap, 1000);
    const boss = group.spawn(function* () {
      const err = caught(() => group.join()[Symbol.iterator]().next());
      yield* group.kill();
      return [err.code, group.size, group.has(useHub().current!)];
    });
    expect(await boss).toEqual(['ERR_INVALID_STATE', 1, true]);
    expect(other.value).toBeInstanceOf(TaskExit);
  });

  it('a task killed in join() leaves no waiter; withTimeout around join() raises TimeoutError', async () => {
    const group = new Group();
    group.spawn(nap, 50);
    let finallies = 0;
    const victim = go(function* () {
      try {
        yield* group.join();
      } finally {
        finallies++;
      }
    });
    const timed = go(function* () {
      try {
        yield* withTimeout(5, group.join());
      } catch (err) {
        return err;
      }
    });
    await elapse(1);
    await victim.kill();
    expect(finallies).toBe(1);
    expect(await timed).toBeInstanceOf(TimeoutError);
    expect(await group.join()).toBe(true);
  });

  it('rejects bad input', () => {
    const group = new Group();
    expectArgError(() => group.add(bad({})), 'ERR_INVALID_ARG_TYPE', 'task');
    expectArgError(() => group.discard(bad(1)), 'ERR_INVALID_ARG_TYPE', 'task');
    expectArgError(() => group.spawn(bad(() => 1)), 'ERR_INVALID_ARG_TYPE', 'fn');
    expectArgError(() => group.join(bad(5)), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => group.join({ timeoutMs: -3 }), 'ERR_OUT_OF_RANGE', 'options.timeoutMs');
    expectArgError(() => group.join({ raiseError: bad('yes') }), 'ERR_INVALID_ARG_TYPE', 'options.raiseError');
    expect(stepOutside(group.join()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });
});

describe('Pool', () => {
  it('spawn() waits while the pool is full; spawners are served in FIFO order', async () => {
    const pool = new Pool(2);
    expect([pool.capacity, pool.size, pool.freeCount, pool.full]).toEqual([2, 0, 2, false]);
    const { log, note } = recorder();
    const spawners = ['a', 'b', 'c', 'd'].map((name, i) =>
      go(function* () {
        const task = yield* pool.spawn(nap, 10 * (i + 1));
        note(`${name} started at ${useHub().now()} (free ${pool.freeCount})`);
        return { task }; // boxed: a promise would adopt a bare task (a thenable)
      }),
    );
    const tasks = (await Promise.all(spawners)).map((box) => box.task);
    expect(log).toEqual([
      'a started at 0 (free 1)',
      'b started at 0 (free 0)',
      'c started at 10 (free 0)', // a's place, handed over as a ended
      'd started at 20 (free 0)',
    ]);
    expect(pool.full).toBe(true);
    expect(await pool.join()).toBe(true);
    expect(tasks.map((t) => t.value)).toEqual([10, 20, 30, 40]);
    expect([pool.size, pool.freeCount]).toEqual([0, 2]);
  });

  it('a spawner killed while waiting starts nothing and leaves the line; the next one gets the place', async () => {
    const pool = new Pool(1);
    let started = 0;
    const body = function* (): Generator<Instruction, void, unknown> {
      started++;
      yield* sleep(10);
    };
    let finallies = 0;
    await go(function* () { yield* pool.spawn(body); });
    const victim = go(function* () {
      try {
        yield* pool.spawn(body);
      } finally {
        finallies++;
      }
    });
    const next = go(function* () { return { task: yield* pool.spawn(body) }; });
    await elapse(1);
    await victim.kill();
    expect(finallies).toBe(1);
    const { task } = await next;
    expect(useHub().now()).toBe(10);
    await task;
    expect(started).toBe(2);
    expect(pool.freeCount).toBe(1);
  });

  it('withTimeout around spawn() raises TimeoutError, and the pool still works', async () => {
    const pool = new Pool(1);
    await go(function* () { yield* pool.spawn(nap, 50); });
    const err = await go(function* () {
      try {
        yield* withTimeout(10, pool.spawn(nap, 1));
      } catch (e) {
        return e;
      }
    });
    expect(err).toBeInstanceOf(TimeoutError);
    expect(pool.size).toBe(1);
    const later = await go(function* () { return { task: yield* pool.spawn(nap, 5) }; });
    expect(useHub().now()).toBe(50);
    expect(await later.task).toBe(5);
  });

  it('discard() frees a place; add() waits for one; an ended task is not added', async () => {
    const pool = new Pool(1);
    const { task: first } = await go(function* () { return { task: yield* pool.spawn(nap, 100) }; });
    const outsider = spawn(nap, 10);
    const adder = go(function* () {
      yield* pool.add(outsider);
      return useHub().now();
    });
    await elapse(1);
    expect(pool.has(outsider)).toBe(false);
    pool.discard(first);
    expect(await adder).toBe(1);
    expect(pool.has(outsider)).toBe(true);
    await outsider;
    expect(pool.freeCount).toBe(1);
    await go(function* () { yield* pool.add(outsider); });
    expect(pool.size).toBe(0);
    await first;
  });

  it('map() gives results in item order, never running more than the capacity at once', async () => {
    const pool = new Pool(3);
    let running = 0;
    let most = 0;
    const results = await go(function* () {
      return yield* pool.map(function* (ms: number) {
        running++;
        most = Math.max(most, running);
        yield* sleep(ms);
        running--;
        return ms * 10;
      }, [50, 10, 40, 20, 30, 5]);
    });
    expect(results).toEqual([500, 100, 400, 200, 300, 50]);
    expect(most).toBe(3);
    expect(await go(function* () { return yield* pool.map(nap, []); })).toEqual([]);
    expect(await go(function* () { return yield* pool.map(nap, new Set([3, 1])); })).toEqual([3, 1]);
  });

  it('map(): when one fails, the others are killed and its error is thrown', async () => {
    const pool = new Pool(2);
    let finallies = 0;
    const err = await go(function* () {
      try {
        yield* pool.map(function* (ms: number) {
          try {
            if (ms === 20) return yield* failAfter(ms);
            return yield* nap(ms);
          } finally {
            finallies++;
          }
        }, [100, 20, 100, 100]);
      } catch (e) {
        return e;
      }
    });
    expect((err as Error).message).toBe('failed after 20');
    expect(useHub().now()).toBe(20);
    expect(pool.size).toBe(0);
    expect(finallies).toBe(2); // the first 100 (killed) and 20; the items after the failure never started
  });

  it('map() and imapUnordered(): a task killed from outside fails the call at once with its TaskExit', async () => {
    const pool = new Pool(2);
    const mapper = go(function* () {
      try {
        return { results: yield* pool.map(nap, [50, 100]) };
      } catch (err) {
        return { err, at: useHub().now() };
      }
    });
    await elapse(10);
    await [...pool][0]!.kill();
    const mapped = await mapper;
    expect(mapped.err).toBeInstanceOf(TaskExit);
    expect(mapped.at).toBe(10); // not when the 100 would have ended: it was killed
    expect(pool.size).toBe(0);
    const consumer = go(function* () {
      const results = pool.imapUnordered(nap, [50, 100]);
      try {
        return { first: yield* results.next() };
      } catch (err) {
        return { err, at: useHub().now() };
      }
    });
    await elapse(10);
    await [...pool][0]!.kill();
    const consumed = await consumer;
    expect(consumed.err).toBeInstanceOf(TaskExit);
    expect(consumed.at).toBe(20);
    expect(pool.size).toBe(0);
  });

  it('map(): killing the calling task kills the tasks it started', async () => {
    const pool = new Pool(2);
    let finallies = 0;
    const caller = go(function* () {
      return yield* pool.map(function* (ms: number) {
        try {
          return yield* nap(ms);
        } finally {
          finallies++;
        }
      }, [100, 100, 100]);
    });
    await elapse(10);
    await caller.kill();
    expect(caller.value).toBeInstanceOf(TaskExit);
    expect(finallies).toBe(2);
    expect(pool.size).toBe(0);
  });

  it('imapUnordered() gives results as they come, starting new items as places free up', async () => {
    const pool = new Pool(2);
    const { log, note } = recorder();
    const seen = await go(function* () {
      const results = pool.imapUnordered(nap, [40, 10, 30, 5]);
      note(`pending at start ${results.pending}`);
      const out: number[] = [];
      for (let r; !(r = yield* results.next()).done; ) {
        out.push(r.value);
        note(`${r.value} at ${useHub().now()}`);
      }
      expect(yield* results.next()).toEqual({ done: true, value: undefined });
      return out;
    });
    // 40 and 10 start at 0; 30 takes 10's place at 10, and 5 one of the places freed at 40.
    expect(seen).toEqual([10, 40, 30, 5]);
    expect(log).toEqual(['pending at start 2', '10 at 10', '40 at 40', '30 at 40', '5 at 45']);
  });

  it('imapUnordered() reads an endless iterable lazily; close() stops it and kills what runs', async () => {
    const pool = new Pool(3);
    let read = 0;
    function* forever(): Generator<number> {
      for (;;) yield ++read;
    }
    let finallies = 0;
    const got = await go(function* () {
      const results = pool.imapUnordered(function* (n: number) {
        try {
          yield* sleep(n);
          return n;
        } finally {
          finallies++;
        }
      }, forever());
      const first = [(yield* results.next()).value, (yield* results.next()).value];
      yield* results.close();
      return [...first, yield* results.next()];
    });
    expect(got).toEqual([1, 2, { done: true, value: undefined }]);
    expect(read).toBe(5); // 3 started at once, one more after each result taken
    expect(finallies).toBe(4); // 5 was killed before it first ran, so it never entered its try
    expect(pool.size).toBe(0);
  });

  it('imapUnordered(): a failure is thrown by next(), and the other tasks are killed', async () => {
    const pool = new Pool(3);
    const outcome = await go(function* () {
      const results = pool.imapUnordered(function* (ms: number) {
        if (ms === 20) return yield* failAfter(ms);
        return yield* nap(ms);
      }, [10, 20, 100, 100]);
      const first = yield* results.next();
      try {
        yield* results.next();
      } catch (err) {
        return [first.value, (err as Error).message, yield* results.next(), pool.size];
      }
    });
    expect(outcome).toEqual([10, 'failed after 20', { done: true, value: undefined }, 0]);
  });

  it('imapUnordered() waits in line for a place when other tasks fill the pool', async () => {
    const pool = new Pool(1);
    const result = await go(function* () {
      yield* pool.spawn(nap, 30);
      const results = pool.imapUnordered(nap, [5]);
      const r = yield* results.next();
      return [r.value, useHub().now()];
    });
    expect(result).toEqual([5, 35]);
  });

  it('imapUnordered(): one waiter in next() at a time; a killed waiter leaves it usable', async () => {
    const pool = new Pool(2);
    const results = pool.imapUnordered(nap, [10, 20]);
    const first = go(function* () { return yield* results.next(); });
    const second = go(function* () {
      yield* sleep(1);
      return caught(() => results.next()[Symbol.iterator]().next());
    });
    expect((await second).code).toBe('ERR_CONCURRENT_USE');
    expect(await first).toEqual({ done: false, value: 10 });
    const victim = go(function* () { return yield* results.next(); });
    await elapse(1);
    await victim.kill();
    expect(await go(function* () { return [yield* results.next(), yield* results.next()]; })).toEqual([
      { done: false, value: 20 },
      { done: true, value: undefined },
    ]);
  });

  it('kill() kills every member; join() is awaitable', async () => {
    const pool = new Pool(2);
    await go(function* () {
      yield* pool.spawn(nap, 1000);
      yield* pool.spawn(nap, 1000);
    });
    expect(await pool.join({ timeoutMs: 10 })).toBe(false);
    await pool.kill();
    expect([pool.size, pool.freeCount]).toEqual([0, 2]);
  });

  it('rejects bad input at the call, and blocking calls outside any task', () => {
    expectArgError(() => new Pool(bad(undefined)), 'ERR_INVALID_ARG_TYPE', 'capacity');
    for (const n of [0, -1, 2.5, NaN, Infinity]) expectArgError(() => new Pool(n), 'ERR_OUT_OF_RANGE', 'capacity');
    const pool = new Pool(1);
    expectArgError(() => pool.spawn(bad(async function* () {})), 'ERR_INVALID_ARG_TYPE', 'fn');
    expectArgError(() => pool.spawn(bad(() => 1)), 'ERR_INVALID_ARG_TYPE', 'fn');
    expectArgError(() => pool.add(bad('task')), 'ERR_INVALID_ARG_TYPE', 'task');
    expectArgError(() => pool.map(bad(null), [1]), 'ERR_INVALID_ARG_TYPE', 'fn');
    expectArgError(() => pool.map(nap, bad(5)), 'ERR_INVALID_ARG_TYPE', 'items');
    expectArgError(() => pool.imapUnordered(nap, bad(undefined)), 'ERR_INVALID_ARG_TYPE', 'items');
    const err = stepOutside(pool.spawn(nap, 1));
    expect(err.code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(err.message).toMatch(/^Pool\.spawn\(\)/);
    expect(stepOutside(pool.map(nap, [1])).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(stepOutside(pool.imapUnordered(nap, []).next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(pool.freeCount).toBe(1); // nothing was taken
  });

  it('map() on the real clock runs in waves of the capacity (generous margins)', async () => {
    createHub();
    const pool = new Pool(2);
    const t0 = performance.now();
    const results = await spawn(function* () { return yield* pool.map(nap, [20, 20, 20, 20]); });
    const elapsed = performance.now() - t0;
    expect(results).toEqual([20, 20, 20, 20]);
    expect(elapsed).toBeGreaterThanOrEqual(39);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('the TSDoc examples of lib/coro/pool.ts', () => {
  const examples = examplesOf('pool');
  it('has a standalone example for every export', () => {
    expect(examples.map((e) => e.name)).toEqual(['GroupJoinOptions', 'Group', 'Pool', 'MapResults']);
  });
  it.each(examples)('$name', async (example) => {
    await runExample(example);
  });
});
