/**
 * greenlet's explicit transfer (lib/coro/greenlet.ts): switchTo, the parent
 * rule, kill during a switch, and misuse.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, current, sleep, spawn, switchTo, type Task } from '../../lib/coro/index.js';
import { caught, expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX } from '../helpers/coro.js';

describe.each(MATRIX)('switchTo, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend, clock: 'virtual' });
  });
  afterEach(() => {
    expectIdle();
  });

  it("greenlet's two functions: 12, 56, 34, and 78 never", async () => {
    const out: number[] = [];
    await drive(driver, function* () {
      const gr1: Task = spawn(function* () {
        out.push(12);
        yield* switchTo(gr2);
        out.push(34);
      });
      const gr2: Task = spawn(function* () {
        out.push(56);
        yield* switchTo(gr1);
        out.push(78);
      });
      yield* switchTo(gr1); // returns when gr1 ends: greenlet's parent rule
      yield* gr2.kill();
    });
    expect(out).toEqual([12, 56, 34]);
  });

  it('passes values both ways, ahead of every ready task; a kill during switchTo runs finally once', async () => {
    let finallies = 0;
    const out = await drive(driver, function* () {
      const log: string[] = [];
      const main = current()!;
      const echo = spawn(function* () {
        try {
          let value = yield* switchTo<string>(main, 'started');
          for (;;) value = yield* switchTo<string>(main, `echo ${value}`);
        } finally {
          finallies++;
        }
      });
      spawn(function* () {
        log.push('bystander'); // ready all along, yet runs after every switch
      });
      log.push(yield* switchTo<string>(echo));
      log.push(yield* switchTo<string>(echo, 'a'));
      log.push(yield* switchTo<string>(echo, 'b'));
      yield* echo.kill();
      return log;
    });
    expect(out).toEqual(['started', 'echo a', 'echo b', 'bystander']);
    expect(finallies).toBe(1);
  });

  it('a task switching to itself gets its value back at once', async () => {
    const out = await drive(driver, function* () {
      return yield* switchTo(current()!, 'self');
    });
    expect(out).toBe('self');
  });
});

describe('switchTo: bad input', () => {
  it('takes a task, works only inside one, and only into a new task or one waiting in switchTo', async () => {
    createHub({ clock: 'virtual' });
    expectArgError(() => switchTo('x' as never), 'ERR_INVALID_ARG_TYPE', 'task');
    const sleeper = spawn(function* () {
      yield* sleep(1000);
    });
    expect(caught(() => switchTo(sleeper)[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    const code = await spawn(function* () {
      yield* sleep(1);
      try {
        yield* switchTo(sleeper);
        return 'switched';
      } catch (err) {
        return (err as { code: string }).code;
      }
    });
    expect(code).toBe('ERR_INVALID_STATE');
    await sleeper.kill();
  });
});
