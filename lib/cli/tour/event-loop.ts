/**
 * Tour part `event-loop`: the event-driven model, an event queue and a loop
 * that dispatches each event to its handler, three times over the same
 * token ring of socketpairs: a loop written by hand on `Epoll`, the
 * coroutine hub, and Node's own loop (`net.Socket`).
 *
 * @internal
 * @module
 */
import { Socket } from 'node:net';
import { close, dup, Epoll, socketpair, tryRead, tryWrite, write, WOULD_BLOCK } from '../../index.js';
import { killAll, read as coRead, spawn, write as coWrite, type Task } from '../../coro/index.js';
import { now } from './peer.js';
import type { TourContext, TourPart } from './types.js';
import { fig, num } from './util.js';

/** Socketpairs in the ring. */
const RING = 3;
/** Events each loop dispatches. */
const HOPS = 3000;
const TOKEN = Buffer.from('*');

type Ring = [number, number][];

function makeRing(): Ring {
  return Array.from({ length: RING }, () => socketpair({ nonblocking: true }));
}

function closeRing(ring: Ring): void {
  for (const [a, b] of ring) {
    close(a);
    close(b);
  }
}

/** The textbook reactor: epoll fills a queue of events, the loop hands each to its handler. Returns µs per event. */
function ownLoop(): number {
  const ring = makeRing();
  const epoll = Epoll.create<number>();
  try {
    const buf = Buffer.alloc(16);
    let hops = 0;
    const handlers = new Map<number, () => void>();
    ring.forEach(([a], i) => {
      handlers.set(a, () => {
        if (tryRead(a, buf) === WOULD_BLOCK) return; // a spurious event: nothing to do
        if (++hops < HOPS) tryWrite(ring[(i + 1) % RING]![1], TOKEN);
      });
      epoll.add(a, Epoll.IN, a);
    });
    const queue: number[] = [];
    const t0 = now();
    write(ring[0]![1], TOKEN);
    while (hops < HOPS) {
      const events = epoll.wait(64, 2000);
      if (events.length === 0) throw new Error('the hand-made loop found no event in 2 s');
      for (const e of events) queue.push(e.data); // the event queue
      while (queue.length > 0) handlers.get(queue.shift()!)!(); // dispatch each to its handler
    }
    return ((now() - t0) * 1000) / HOPS;
  } finally {
    epoll.close();
    closeRing(ring);
  }
}

/** The coroutine hub as the loop: each handler is a task parked in `read` until its fd is ready. */
async function hubLoop(ctx: TourContext): Promise<number> {
  const ring = makeRing();
  const tasks: Task[] = [];
  try {
    let hops = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    ring.forEach(([a], i) => {
      tasks.push(
        spawn(function* () {
          const buf = Buffer.alloc(16);
          for (;;) {
            yield* coRead(a, buf); // EAGAIN: parked until the hub's epoll says a is readable
            if (++hops >= HOPS) return finish();
            yield* coWrite(ring[(i + 1) % RING]![1], TOKEN);
          }
        }),
      );
    });
    const t0 = now();
    write(ring[0]![1], TOKEN);
    await ctx.wait(finished);
    return ((now() - t0) * 1000) / HOPS;
  } finally {
    await killAll(tasks);
    closeRing(ring);
  }
}

/** Node's own loop: libuv's epoll, 'data' events dispatched to listeners. */
async function nodeLoop(ctx: TourContext): Promise<number> {
  const ring = makeRing();
  // Node takes ownership of the fds it is given, so it gets duplicates.
  const sockets = ring.map(([a, b]) => [new Socket({ fd: dup(a), readable: true, writable: true }), new Socket({ fd: dup(b), readable: true, writable: true })] as const);
  try {
    let hops = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    sockets.forEach(([a], i) => {
      a.on('data', () => {
        if (++hops >= HOPS) return finish();
        sockets[(i + 1) % RING]![1].write(TOKEN);
      });
    });
    const t0 = now();
    sockets[0]![1].write(TOKEN);
    await ctx.wait(finished);
    return ((now() - t0) * 1000) / HOPS;
  } finally {
    for (const pair of sockets) for (const s of pair) s.destroy();
    closeRing(ring);
  }
}

/**
 * The `event-loop` part.
 *
 * @example
 * ```ts
 * const outcome = await eventLoop.run(ctx); // outcome.figures: µs per event for the hand-made loop, the hub and Node's loop
 * ```
 */
export const eventLoop: TourPart = {
  name: 'event-loop',
  model: 'event-driven',
  title: `a token passed ${num(HOPS)} times round ${RING} socketpairs: a queue, a loop, handlers`,
  async run(ctx) {
    const ownUs = ownLoop();
    ctx.checkpoint();
    const hubUs = await hubLoop(ctx);
    ctx.checkpoint();
    const nodeUs = await nodeLoop(ctx);
    return {
      syscalls: ['epoll_wait', 'read', 'write'],
      blocked: false,
      waited: 'handlers, queued until the loop dispatched them',
      figure: fig('per event, coroutine hub', hubUs, 'µs'),
      figures: [fig('per event, hand-made loop', ownUs, 'µs'), fig("per event, Node's loop", nodeUs, 'µs')],
      narrative: [
        `The event-driven model: a loop takes ready events from a queue and hands each to its handler; a handler does a little non-blocking work, may cause new events, and returns. Here a token went ${num(HOPS)} times round a ring of ${RING} socketpairs, each hop one event.`,
        `A loop written by hand (epoll_wait fills the queue; a Map from fd to handler dispatches): ${num(ownUs)} µs an event.`,
        `The coroutine hub, whose handlers are tasks parked in read until their fd is ready: ${num(hubUs)} µs an event. Node's own loop (libuv's epoll), 'data' events dispatched to listeners of net.Socket: ${num(nodeUs)} µs.`,
        'No handler ever blocked; only the loop itself sleeps in epoll_wait, and only when its queue is empty.',
      ],
      summary: `per event: own loop ${num(ownUs)}, hub ${num(hubUs)}, Node ${num(nodeUs)} µs`,
    };
  },
};
