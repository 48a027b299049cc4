/**
 * Queues (lib/coro/queue.ts): Queue, LifoQueue, PriorityQueue,
 * JoinableQueue — FIFO hand-off, backpressure, kills and timeouts while
 * waiting with no item lost, bad input, and the TSDoc examples.
 */
import { describe, expect, it } from 'vitest';
import {
  createHub,
  joinAll,
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Queue,
  sleep,
  spawn,
  TaskExit,
  TimeoutError,
  useHub,
  withTimeout,
  type Operation,
} from '../../lib/coro/index.js';
import { bad, caught, expectArgError } from '../helpers/index.js';
import { elapse, examplesOf, go, recorder, runExample, stepOutside, useVirtualHub } from './support.js';

useVirtualHub();



describe('Queue', () => {
  it('is FIFO, and reports size, empty, full and peek', () => {
    const queue = new Queue<string>(3);
    expect([queue.maxsize, queue.size, queue.empty, queue.full]).toEqual([3, 0, true, false]);
    expect(queue.peek()).toEqual({ ok: false, value: undefined });
    for (const item of ['a', 'b', 'c']) expect(queue.tryPut(item)).toBe(true);
    expect([queue.size, queue.empty, queue.full]).toEqual([3, false, true]);
    expect(queue.tryPut('d')).toBe(false);
    expect(queue.peek()).toEqual({ ok: true, value: 'a' });
    expect(queue.size).toBe(3);
    expect([queue.tryGet(), queue.tryGet(), queue.tryGet(), queue.tryGet()]).toEqual([
      { ok: true, value: 'a' },
      { ok: true, value: 'b' },
      { ok: true, value: 'c' },
      { ok: false, value: undefined },
    ]);
    expect(new Queue().maxsize).toBe(Infinity);
  });

  it('tells an undefined item from an empty queue', () => {
    const queue = new Queue<undefined | null>();
    queue.tryPut(undefined);
    queue.tryPut(null);
    expect(queue.peek()).toEqual({ ok: true, value: undefined });
    expect(queue.tryGet()).toEqual({ ok: true, value: undefined });
    expect(queue.tryGet()).toEqual({ ok: true, value: null });
    expect(queue.tryGet().ok).toBe(false);
  });

  it('grows past its initial ring and keeps FIFO order across wrap-around', () => {
    const queue = new Queue<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) queue.tryPut(next++);
      for (let i = 0; i < 5; i++) out.push(queue.tryGet().value!);
    }
    while (!queue.empty) out.push(queue.tryGet().value!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('get() waits while empty; put() hands the item straight to the longest-waiting getter', async () => {
    const queue = new Queue<number>();
    const { log, note } = recorder();
    const getters = ['a', 'b', 'c'].map((name) =>
      go(function* () {
        const item = yield* queue.get();
        note(`${name} got ${item}`);
      }),
    );
    go(function* () {
      yield* sleep(1);
      for (const item of [1, 2, 3]) {
        yield* queue.put(item);
        // Handed over, not stored: nothing for a newcomer to take.
        note(`put ${item}, size ${queue.size}, tryGet ok ${queue.tryGet().ok}`);
      }
    });
    await Promise.all(getters);
    expect(log).toEqual([
      'put 1, size 0, tryGet ok false',
      'put 2, size 0, tryGet ok false',
      'put 3, size 0, tryGet ok false',
      'a got 1',
      'b got 2',
      'c got 3',
    ]);
  });

  it('put() on a full queue waits (backpressure), and waiting putters go in FIFO order', async () => {
    const queue = new Queue<string>(2);
    const { log, note } = recorder();
    const putters = ['p1', 'p2', 'p3', 'p4'].map((name) =>
      go(function* () {
        yield* queue.put(name);
        note(`${name} in at ${useHub().now()}`);
      }),
    );
    const consumer = go(function* () {
      const got: string[] = [];
      yield* sleep(10);
      for (let i = 0; i < 4; i++) {
        got.push(yield* queue.get());
        note(`got ${got.at(-1)}, size ${queue.size}, full ${queue.full}`);
        yield* sleep(10);
      }
      return got;
    });
    expect(await consumer).toEqual(['p1', 'p2', 'p3', 'p4']);
    await Promise.all(putters);
    expect(log).toEqual([
      'p1 in at 0',
      'p2 in at 0',
      'got p1, size 2, full true', // p3 moved into the room at once
      'p3 in at 10',
      'got p2, size 2, full true',
      'p4 in at 20',
      'got p3, size 1, full false',
      'got p4, size 0, full false',
    ]);
  });

  it('tryPut() does not jump ahead of waiting putters; tryGet() lets the first of them in', async () => {
    const queue = new Queue<string>(1);
    queue.tryPut('a');
    const putter = go(function* () { yield* queue.put('b'); });
    await elapse(1);
    expect(queue.tryPut('c')).toBe(false);
    expect(queue.tryGet()).toEqual({ ok: true, value: 'a' });
    expect(queue.peek()).toEqual({ ok: true, value: 'b' });
    await putter;
    expect(queue.tryPut('c')).toBe(false);
  });

  it('a getter killed in get() runs its finally once and leaves the line: the next item goes to the next getter', async () => {
    const queue = new Queue<string>();
    let finallies = 0;
    const victim = go(function* () {
      try {
        return yield* queue.get();
      } finally {
        finallies++;
      }
    });
    const next = go(function* () { return yield* queue.get(); });
    await elapse(1);
    expect(queue.getters).toBe(2);
    await victim.kill();
    expect(finallies).toBe(1);
    expect(queue.getters).toBe(1);
    expect(victim.value).toBeInstanceOf(TaskExit);
    queue.tryPut('item');
    expect(await next).toBe('item');
    expect(queue.size).toBe(0);
  });

  it('a getter killed after being handed an item still gets it: the kill lands at its next yield', async () => {
    const queue = new Queue<string>();
    const { log, note } = recorder();
    const getter = go(function* () {
      try {
        note(`got ${yield* queue.get()}`);
        yield* sleep(10);
        note('not reached');
      } finally {
        note('finally');
      }
    });
    await go(function* () {
      yield* sleep(1);
      yield* queue.put('precious'); // handed to the getter, now ready to run...
      getter.kill(); // ...and killed before it does
    });
    await joinAll([getter]); // (awaiting a killed task would throw its TaskExit)
    expect(getter.value).toBeInstanceOf(TaskExit);
    expect(log).toEqual(['got precious', 'finally']);
    expect(queue.size).toBe(0);
  });

  it('a getter killed before a put, but still in the line, is skipped: the item is not lost', async () => {
    const queue = new Queue<string>();
    const victim = go(function* () { return yield* queue.get(); });
    const next = go(function* () { return yield* queue.get(); });
    await go(function* () {
      yield* sleep(1);
      victim.kill(); // woken to die, but its finally has not run yet
      queue.tryPut('x');
      queue.tryPut('y');
    });
    expect(await next).toBe('x');
    await joinAll([victim]);
    expect(victim.value).toBeInstanceOf(TaskExit);
    expect(queue.getters).toBe(0);
    expect(queue.tryGet()).toEqual({ ok: true, value: 'y' });
  });

  it('a putter killed in put() leaves the line and its item stays out; the next putter gets in', async () => {
    const queue = new Queue<string>(1);
    queue.tryPut('first');
    let finallies = 0;
    const victim = go(function* () {
      try {
        yield* queue.put('never');
      } finally {
        finallies++;
      }
    });
    const next = go(function* () { yield* queue.put('second'); });
    await elapse(1);
    expect(queue.putters).toBe(2);
    await victim.kill();
    expect(finallies).toBe(1);
    expect(queue.putters).toBe(1);
    const got = await go(function* () { return [yield* queue.get(), yield* queue.get()]; });
    expect(got).toEqual(['first', 'second']);
    await next;
    expect(queue.empty).toBe(true);
  });

  it('a putter whose item was taken in, then killed, returns from put() normally; the item stays queued', async () => {
    const queue = new Queue<string>(1);
    queue.tryPut('a');
    const { log, note } = recorder();
    const putter = go(function* () {
      yield* queue.put('b');
      note('put returned');
      yield* sleep(10);
      note('not reached');
    });
    await go(function* () {
      yield* sleep(1);
      note(`got ${yield* queue.get()}`); // lets 'b' in and wakes the putter...
      putter.kill(); // ...which is killed before it runs
    });
    await joinAll([putter]);
    expect(putter.value).toBeInstanceOf(TaskExit);
    expect(log).toEqual(['got a', 'put returned']);
    expect(queue.tryGet()).toEqual({ ok: true, value: 'b' });
  });

  it('withTimeout around get() and put() raises TimeoutError, and the queue still works afterwards', async () => {
    const queue = new Queue<number>(1);
    const getErr = await go(function* () {
      try {
        return yield* withTimeout(10, queue.get());
      } catch (err) {
        return err;
      }
    });
    expect(getErr).toBeInstanceOf(TimeoutError);
    queue.tryPut(1);
    const putErr = await go(function* () {
      try {
        yield* withTimeout(10, queue.put(2));
      } catch (err) {
        return err;
      }
    });
    expect(putErr).toBeInstanceOf(TimeoutError);
    expect([queue.size, queue.peek().value]).toEqual([1, 1]); // 2 never went in
    expect([queue.getters, queue.putters]).toEqual([0, 0]);
    // Both lines are empty again: a getter and a putter are served normally.
    const getter = go(function* () { return [yield* queue.get(), yield* queue.get()]; });
    const putter = go(function* () { yield* queue.put(3); });
    expect(await getter).toEqual([1, 3]);
    await putter;
  });

  it('when the deadline and a put coincide, the getter times out and the item stays queued', async () => {
    const queue = new Queue<string>();
    const getter = go(function* () {
      try {
        return yield* withTimeout(10, queue.get());
      } catch (err) {
        return err;
      }
    });
    go(function* () {
      yield* sleep(10); // due with the deadline, and set after it: the timeout fires first
      queue.tryPut('just in time');
    });
    expect(await getter).toBeInstanceOf(TimeoutError);
    expect(queue.tryGet()).toEqual({ ok: true, value: 'just in time' });
  });

  it('rejects bad sizes, and get()/put() outside any task; tryGet()/tryPut() need no task', () => {
    expectArgError(() => new Queue(bad('3')), 'ERR_INVALID_ARG_TYPE', 'maxsize');
    expectArgError(() => new Queue(bad(null)), 'ERR_INVALID_ARG_TYPE', 'maxsize');
    for (const size of [0, -1, 1.5, NaN, -Infinity]) expectArgError(() => new Queue(size), 'ERR_OUT_OF_RANGE', 'maxsize');
    const queue = new Queue<number>(1);
    const err = stepOutside(queue.get());
    expect(err.code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(err.message).toMatch(/^Queue\.get\(\) must run inside a task/);
    expect(stepOutside(queue.put(1)).code).toBe('ERR_CORO_OUTSIDE_TASK');
    expect(queue.size).toBe(0); // the put outside a task added nothing
    expect(queue.tryPut(1)).toBe(true);
    expect(stepOutside(new LifoQueue().get()).message).toMatch(/^LifoQueue\.get\(\)/);
  });

  it('moves 10,000 items through a bounded queue between two tasks, in order', async () => {
    const queue = new Queue<number>(16);
    const N = 10_000;
    const producer = go(function* () {
      for (let i = 0; i < N; i++) yield* queue.put(i);
    });
    const consumer = go(function* () {
      let expected = 0;
      for (let i = 0; i < N; i++) if ((yield* queue.get()) === expected) expected++;
      return expected;
    });
    expect(await consumer).toBe(N);
    await producer;
  });

  it('backpressure on the real clock (generous margins)', async () => {
    createHub();
    const queue = new Queue<number>(1);
    const t0 = performance.now();
    const producer = spawn(function* () {
      for (let i = 0; i < 3; i++) yield* queue.put(i);
      return performance.now() - t0;
    });
    const consumer = spawn(function* () {
      const got: number[] = [];
      for (let i = 0; i < 3; i++) {
        yield* sleep(20);
        got.push(yield* queue.get());
      }
      return got;
    });
    expect(await consumer).toEqual([0, 1, 2]);
    const producerBlocked = await producer;
    expect(producerBlocked).toBeGreaterThanOrEqual(39); // put #3 waited for get #2
    expect(producerBlocked).toBeLessThan(2000);
  });
});

describe('LifoQueue', () => {
  it('gives the newest item first, and still hands a put straight to a waiting getter', async () => {
    const stack = new LifoQueue<number>(3);
    for (const n of [1, 2, 3]) stack.tryPut(n);
    expect(stack.peek()).toEqual({ ok: true, value: 3 });
    expect([stack.tryGet().value, stack.tryGet().value, stack.tryGet().value]).toEqual([3, 2, 1]);
    const getter = go(function* () { return yield* stack.get(); });
    await elapse(1);
    stack.tryPut(9);
    expect(await getter).toBe(9);
    expect(stack.empty).toBe(true);
  });

  it('a waiting put goes on top when room is made', async () => {
    const stack = new LifoQueue<string>(2);
    stack.tryPut('a');
    stack.tryPut('b');
    const putter = go(function* () { yield* stack.put('c'); });
    await elapse(1);
    expect(stack.tryGet().value).toBe('b');
    expect(stack.peek().value).toBe('c');
    await putter;
    expect([stack.tryGet().value, stack.tryGet().value]).toEqual(['c', 'a']);
  });
});

describe('PriorityQueue', () => {
  it('gives the smallest item first by < (numbers, strings)', () => {
    const numbers = new PriorityQueue<number>();
    for (const n of [5, 1, 4, 1, 3, 9, 2, 6]) numbers.tryPut(n);
    const out: number[] = [];
    for (let next = numbers.tryGet(); next.ok; next = numbers.tryGet()) out.push(next.value);
    expect(out).toEqual([1, 1, 2, 3, 4, 5, 6, 9]);
    const words = new PriorityQueue<string>();
    for (const w of ['pear', 'apple', 'fig']) words.tryPut(w);
    expect(words.peek().value).toBe('apple');
  });

  it('is stable: items that compare equal come out in the order they went in', () => {
    const queue = new PriorityQueue<{ p: number; id: number }>({ compare: (a, b) => a.p - b.p });
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const items = Array.from({ length: 2000 }, (_, id) => ({ p: Math.floor(random() * 10), id }));
    const out: number[] = [];
    // Interleave puts and gets so the heap is exercised at many sizes.
    for (let i = 0; i < items.length; i++) {
      queue.tryPut(items[i]!);
      if (i % 3 === 2) out.push(queue.tryGet().value!.id);
    }
    const taken = new Set(out);
    const rest = items.filter((item) => !taken.has(item.id));
    const expectedRest = [...rest].sort((a, b) => a.p - b.p || a.id - b.id).map((item) => item.id);
    const drained: number[] = [];
    while (!queue.empty) drained.push(queue.tryGet().value!.id);
    expect(drained).toEqual(expectedRest);
  });

  it('hands a put straight to a waiting getter, and orders waiting puts as they come in', async () => {
    const queue = new PriorityQueue<number>({ maxsize: 2 });
    const getter = go(function* () { return yield* queue.get(); });
    await elapse(1);
    queue.tryPut(50);
    expect(await getter).toBe(50);
    queue.tryPut(5);
    queue.tryPut(7);
    const putter = go(function* () { yield* queue.put(1); });
    await elapse(1);
    expect(queue.tryGet().value).toBe(5);
    expect(queue.tryGet().value).toBe(1);
    expect(queue.tryGet().value).toBe(7);
    await putter;
  });

  it('a comparator that throws fails that put() or get() and leaves the heap as it was', () => {
    let armed = false;
    const queue = new PriorityQueue<number>({
      compare: (a, b) => {
        if (armed) throw new Error('bad compare');
        return a - b;
      },
      maxsize: 3,
    });
    for (const n of [3, 1, 2]) queue.tryPut(n);
    armed = true;
    expect(caught(() => queue.tryGet()).message).toBe('bad compare');
    expect(queue.size).toBe(3);
    armed = false;
    expect(queue.tryGet().value).toBe(1);
    armed = true;
    expect(caught(() => queue.tryPut(0)).message).toBe('bad compare');
    expect(queue.size).toBe(2);
    armed = false;
    expect([queue.tryGet().value, queue.tryGet().value, queue.tryGet().ok]).toEqual([2, 3, false]);
  });

  it('refuses an item < cannot compare with a coded error, and is unchanged (found by the api fuzz)', () => {
    const queue = new PriorityQueue<unknown>();
    queue.tryPut(2);
    queue.tryPut(1);
    for (const item of [Object.create(null), Symbol('s')]) {
      const err = caught(() => queue.tryPut(item));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(err.message).toMatch(/cannot be compared with <: give the PriorityQueue a compare function/);
    }
    expect([queue.tryGet().value, queue.tryGet().value, queue.tryGet().ok]).toEqual([1, 2, false]);
    // An error of the item's own passes through as it is.
    queue.tryPut(1);
    const own = new Error('valueOf failed');
    expect(caught(() => queue.tryPut({ valueOf: () => { throw own; } }))).toBe(own);
  });

  it('a waiting put() fails with the comparator error when its item cannot be taken in', async () => {
    let armed = false;
    const queue = new PriorityQueue<number>({
      compare: (a, b) => {
        if (armed && (a === 99 || b === 99)) throw new Error('cannot rank 99');
        return a - b;
      },
      maxsize: 2,
    });
    queue.tryPut(1);
    queue.tryPut(2);
    const putter = go(function* () {
      try {
        yield* queue.put(99);
        return 'in';
      } catch (err) {
        return (err as Error).message;
      }
    });
    await elapse(1);
    armed = true;
    expect(queue.tryGet()).toEqual({ ok: true, value: 1 }); // the get() itself succeeds
    expect(await putter).toBe('cannot rank 99');
    expect([queue.size, queue.peek().value]).toEqual([1, 2]);
  });

  it('rejects bad options', () => {
    expectArgError(() => new PriorityQueue(bad(5)), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => new PriorityQueue({ compare: bad('desc') }), 'ERR_INVALID_ARG_TYPE', 'options.compare');
    expectArgError(() => new PriorityQueue({ maxsize: -1 }), 'ERR_OUT_OF_RANGE', 'options.maxsize');
    expectArgError(() => new PriorityQueue({ maxsize: bad('1') }), 'ERR_INVALID_ARG_TYPE', 'options.maxsize');
    expect(new PriorityQueue({ maxsize: 4 }).maxsize).toBe(4);
  });
});

describe('JoinableQueue', () => {
  it('counts items put until taskDone(), and join() waits for them all', async () => {
    const queue = new JoinableQueue<number>();
    expect(queue.unfinished).toBe(0);
    const { log, note } = recorder();
    const worker = go(function* () {
      for (;;) {
        const n = yield* queue.get();
        yield* sleep(10);
        note(`done ${n}`);
        queue.taskDone();
      }
    });
    const joiner = go(function* () {
      yield* sleep(1);
      const ok = yield* queue.join();
      note(`joined ${ok} at ${useHub().now()}`);
    });
    for (const n of [1, 2, 3]) queue.tryPut(n);
    expect(queue.unfinished).toBe(3);
    await joiner;
    expect(log).toEqual(['done 1', 'done 2', 'done 3', 'joined true at 30']);
    expect(queue.unfinished).toBe(0);
    await worker.kill();
  });

  it('counts an item handed straight to a waiting getter, and one let in from a waiting put()', async () => {
    const queue = new JoinableQueue<string>(1);
    const getter = go(function* () { return yield* queue.get(); });
    await elapse(1);
    queue.tryPut('handed');
    expect(queue.unfinished).toBe(1);
    await getter;
    queue.tryPut('stored');
    const putter = go(function* () { yield* queue.put('waited'); });
    await elapse(1);
    expect(queue.unfinished).toBe(2); // the waiting put is not in yet
    queue.tryGet();
    expect(queue.unfinished).toBe(3);
    await putter;
  });

  it('join() returns at once when nothing is unfinished, gives false on timeout, and is awaitable', async () => {
    const queue = new JoinableQueue<number>();
    expect(await go(function* () { return yield* queue.join(); })).toBe(true);
    expect(await queue.join()).toBe(true);
    queue.tryPut(1);
    expect(await go(function* () { return yield* queue.join(20); })).toBe(false);
    expect(await queue.join(20)).toBe(false);
    go(function* () {
      yield* sleep(5);
      queue.tryGet();
      queue.taskDone();
    });
    expect(await queue.join()).toBe(true);
  });

  it('a task killed in join() leaves no waiter; taskDone() too often is ERR_INVALID_STATE', async () => {
    const queue = new JoinableQueue<number>();
    queue.tryPut(1);
    let finallies = 0;
    const victim = go(function* () {
      try {
        yield* queue.join();
      } finally {
        finallies++;
      }
    });
    await elapse(1);
    await victim.kill();
    expect(finallies).toBe(1);
    queue.taskDone();
    const err = caught(() => queue.taskDone());
    expect(err.code).toBe('ERR_INVALID_STATE');
    expect(err.message).toMatch(/taskDone\(\) was called more often than items were put/);
    expectArgError(() => queue.join(bad('1')), 'ERR_INVALID_ARG_TYPE', 'timeoutMs');
    expect(stepOutside(queue.join()).code).toBe('ERR_CORO_OUTSIDE_TASK');
  });
});

describe('the TSDoc examples of lib/coro/queue.ts', () => {
  const examples = examplesOf('queue');
  it('has a standalone example for every export', () => {
    expect(examples.map((e) => e.name)).toEqual(['TryResult', 'Queue', 'LifoQueue', 'PriorityQueueOptions', 'PriorityQueue', 'JoinableQueue']);
  });
  it.each(examples)('$name', async (example) => {
    await runExample(example);
  });
});
