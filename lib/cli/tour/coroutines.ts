/**
 * Tour part `coroutines`: tasks switching on I/O. greenlet's explicit
 * `switchTo` ping-pong, gevent's three sleeping functions (in hundredths of
 * their seconds), and a concurrent fetch from three local TCP servers of
 * different delays against the same fetch done one after the other.
 *
 * @internal
 * @module
 */
import { joinAll, killAll, net, sleep, spawn, switchTo, type Instruction, type Task } from '../../coro/index.js';
import { now } from './peer.js';
import type { TourContext, TourPart } from './types.js';
import { fig, num } from './util.js';

const SWITCH_ROUNDS = 50_000;
/** gevent's example sleeps 2 s, 1 s, 2 s; here, in tens of milliseconds. */
const SLEEPS: [string, number][] = [
  ['fun1', 20],
  ['fun2', 10],
  ['fun3', 20],
];
const SERVER_DELAYS = [50, 100, 150];

/** Two tasks hand control to each other `rounds` times each; returns ns per switch. */
async function pingPong(ctx: TourContext, rounds: number): Promise<number> {
  let t0 = 0;
  let t1 = 0;
  const main = spawn(function* () {
    let b: Task | undefined;
    const a = spawn(function* () {
      for (let i = 0; i < rounds; i++) yield* switchTo(b!);
    });
    b = spawn(function* () {
      for (;;) yield* switchTo(a);
    });
    t0 = now();
    yield* switchTo(a); // back here when a ends (greenlet's parent rule)
    t1 = now();
    yield* b.kill();
  });
  await ctx.wait(main.join());
  return ((t1 - t0) * 1e6) / (2 * rounds);
}

/** gevent's three functions; returns the order of their lines and the total ms. */
async function geventSleeps(ctx: TourContext): Promise<{ order: string[]; ms: number }> {
  const order: string[] = [];
  const fun = (name: string, ms: number) =>
    function* (): Generator<Instruction, void, unknown> {
      order.push(`first ${name}`);
      yield* sleep(ms);
      order.push(`second ${name}`);
    };
  const t0 = now();
  const tasks = SLEEPS.map(([name, ms]) => spawn(fun(name, ms)));
  try {
    await ctx.wait(joinAll(tasks));
  } finally {
    await killAll(tasks);
  }
  return { order, ms: now() - t0 };
}

/** Three servers (tasks on this hub) answering after their delays; fetched concurrently, then in sequence. */
async function fetches(ctx: TourContext): Promise<{ concurrentMs: number; sequentialMs: number; pages: string[] }> {
  const servers = SERVER_DELAYS.map(() => net.listen({ host: '127.0.0.1', port: 0 }));
  const tasks: Task[] = [];
  try {
    servers.forEach((server, i) => {
      tasks.push(
        spawn(function* () {
          for (;;) {
            const stream = yield* server.accept();
            tasks.push(
              spawn(function* () {
                try {
                  yield* stream.readLine();
                  yield* sleep(SERVER_DELAYS[i]!); // slow on purpose
                  yield* stream.write(`page of the ${SERVER_DELAYS[i]} ms server\n`);
                } finally {
                  stream.close();
                }
              }),
            );
          }
        }),
      );
    });
    const get = function* (port: number): Generator<Instruction, string, unknown> {
      const stream = yield* net.connect({ host: '127.0.0.1', port });
      try {
        yield* stream.write('GET /\n');
        return (yield* stream.readLine()) ?? '';
      } finally {
        stream.close();
      }
    };
    const ports = servers.map((s) => s.address.port);

    let t0 = now();
    const concurrent = ports.map((port) => spawn(get, port));
    tasks.push(...concurrent);
    await ctx.wait(joinAll(concurrent, { raiseError: true }));
    const concurrentMs = now() - t0;
    const pages = concurrent.map((t) => t.value as string);

    t0 = now();
    const sequence = spawn(function* () {
      for (const port of ports) yield* get(port);
    });
    tasks.push(sequence);
    await ctx.wait(sequence.join());
    const sequentialMs = now() - t0;
    return { concurrentMs, sequentialMs, pages };
  } finally {
    await killAll(tasks);
    for (const server of servers) server.close();
  }
}

/**
 * The `coroutines` part.
 *
 * @example
 * ```ts
 * const outcome = await coroutines.run(ctx); // outcome.figure: the concurrent fetch, ≈ the slowest server
 * ```
 */
export const coroutines: TourPart = {
  name: 'coroutines',
  model: 'coroutines',
  title: 'switchTo ping-pong, gevent\'s sleeps, a concurrent fetch',
  async run(ctx) {
    await pingPong(ctx, SWITCH_ROUNDS / 10); // warm-up: let V8 compile the switch path first
    const switchNs = await pingPong(ctx, SWITCH_ROUNDS);
    ctx.checkpoint();
    const { order, ms: sleepMs } = await geventSleeps(ctx);
    ctx.checkpoint();
    const { concurrentMs, sequentialMs, pages } = await fetches(ctx);
    const slowest = Math.max(...SERVER_DELAYS);
    const sum = SERVER_DELAYS.reduce((a, b) => a + b, 0);
    const sleepSum = SLEEPS.reduce((a, [, ms]) => a + ms, 0);
    return {
      syscalls: ['socket', 'connect', 'accept4', 'read → EAGAIN', 'epoll_wait', 'read', 'write'],
      blocked: false,
      waited: 'tasks, parked on the hub; never the thread',
      figure: fig(`concurrent fetch, ${SERVER_DELAYS.length} servers`, concurrentMs, 'ms'),
      figures: [fig('sequential fetch', sequentialMs, 'ms'), fig('switchTo', switchNs, 'ns'), fig('gevent sleeps, total', sleepMs, 'ms')],
      narrative: [
        `greenlet: two tasks handed control to each other with switchTo ${num(2 * SWITCH_ROUNDS)} times, ${num(switchNs)} ns a switch; control moved only where the code said so.`,
        `gevent: three functions sleeping ${SLEEPS.map(([, ms]) => ms).join(', ')} ms ran as "${order.join(', ')}": each sleep parked one task and let the others run, so they took ${num(sleepMs)} ms${sleepMs < sleepSum ? `, not ${sleepSum}` : ` (timers fired late on this busy machine; one after the other they would take ${sleepSum} at least)`}.`,
        `Fetch: three local TCP servers answer after ${SERVER_DELAYS.join(', ')} ms. One task per server, all at once: ${num(concurrentMs)} ms${concurrentMs < sum ? `, about the slowest (${slowest}) rather than the sum` : ' (this busy machine ran late)'}; one after the other: ${num(sequentialMs)} ms, at least the sum (${sum}).`,
        `Each read that found no data (EAGAIN) parked its task until the hub's epoll_wait saw the socket ready; meanwhile the others ran. Pages: ${pages.map((p) => `"${p}"`).join(', ')}.`,
      ],
      summary: `fetch ×${SERVER_DELAYS.length}: ${num(concurrentMs)} ms at once, ${num(sequentialMs)} in turn; switch ${num(switchNs)} ns`,
    };
  },
};
