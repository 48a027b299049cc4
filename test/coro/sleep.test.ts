/**
 * sleep (lib/coro/sleep.ts): ordering on the virtual clock, a million
 * sleep(0) switches, and a hundred thousand real timers, each firing once
 * and never early — on every backend and driver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, joinAll, sleep, spawn, useHub, type Instruction } from '../../lib/coro/index.js';
import { expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX } from '../helpers/coro.js';

describe.each(MATRIX)('sleep, $backend backend, $driver driver', ({ backend, driver }) => {
  afterEach(() => {
    expectIdle();
  });

  it('wakes sleepers by deadline, and ties in the order they slept (virtual clock)', async () => {
    createHub({ backend, clock: 'virtual' });
    const log: string[] = [];
    await drive(driver, function* () {
      const sleeper = (name: string, ms: number) =>
        spawn(function* () {
          yield* sleep(ms);
          log.push(`${name}@${useHub().now()}`);
        });
      yield* joinAll([sleeper('a', 30), sleeper('b', 10), sleeper('c', 30), sleeper('d', 0), sleeper('e', 10)]);
    });
    expect(log).toEqual(['d@0', 'b@10', 'e@10', 'a@30', 'c@30']);
  });

  it('does 1,000,000 sleep(0) switches between two tasks, strictly alternating', async () => {
    createHub({ backend });
    const N = 500_000;
    let last = '';
    let alternations = 0;
    await drive(driver, function* () {
      const ping = (name: string) =>
        spawn(function* () {
          for (let i = 0; i < N; i++) {
            if (last !== name) alternations++;
            last = name;
            yield* sleep(0);
          }
        });
      yield* joinAll([ping('a'), ping('b')]);
    });
    expect(alternations).toBe(2 * N);
  });

  it('fires 100,000 timers of 0-50 ms each exactly once, and none early (real clock)', async () => {
    createHub({ backend });
    const N = 100_000;
    const fired = new Uint8Array(N);
    let early = 0;
    await drive(driver, function* () {
      const hub = useHub();
      const tasks = [];
      // One task per timer would measure spawn, not timers: 100 tasks each
      // sleep 1,000 times in turn would serialise them. So 100,000 tasks.
      for (let i = 0; i < N; i++) {
        const ms = (i * 7919) % 51; // spread over 0-50, deterministic
        tasks.push(
          spawn(function* (): Generator<Instruction, void, unknown> {
            const t0 = hub.now();
            yield* sleep(ms);
            if (hub.now() - t0 < ms) early++;
            fired[i]!++;
          }),
        );
      }
      yield* joinAll(tasks);
    });
    expect(early).toBe(0);
    expect(fired.every((n) => n === 1)).toBe(true);
  });
});

describe('sleep: bad input', () => {
  it('refuses negative, NaN and non-number durations', () => {
    createHub();
    for (const ms of [-1, NaN, -Infinity]) expectArgError(() => sleep(ms), 'ERR_OUT_OF_RANGE', 'ms');
    expectArgError(() => sleep('10' as never), 'ERR_INVALID_ARG_TYPE', 'ms');
  });
});
