/**
 * Tour part `multiplexing`: one thread watches 100 socketpairs; it blocks in
 * `epoll_wait` until a worker writes to one, then times `select`, `poll` and
 * `epoll_wait` with that one fd ready.
 *
 * @internal
 * @module
 */
import { close, Epoll, FD_SETSIZE, poll, POLL, select, socketpair, tryRead, WOULD_BLOCK } from '../../index.js';
import { now } from './peer.js';
import type { TourPart } from './types.js';
import { dur, fig, num } from './util.js';

const PAIRS = 100;
const WRITE_AFTER_MS = 50;
/** Calls of each mechanism timed with one fd ready. */
const CALLS = 2000;

/**
 * The `multiplexing` part.
 *
 * @example
 * ```ts
 * const outcome = await multiplexing.run(ctx); // outcome.figures: select, poll and epoll_wait µs per call
 * ```
 */
export const multiplexing: TourPart = {
  name: 'multiplexing',
  model: 'I/O multiplexing',
  title: `select, poll and epoll on ${PAIRS} socketpairs, one ready`,
  async run(ctx) {
    const pairs: [number, number][] = [];
    const epoll = Epoll.create<number>();
    try {
      for (let i = 0; i < PAIRS; i++) pairs.push(socketpair({ nonblocking: true }));
      pairs.forEach(([a], i) => epoll.add(a, Epoll.IN, i));
      await ctx.wait(ctx.peer.ready());
      const k = Math.floor(PAIRS * 0.37);
      const [readyFd, peerFd] = pairs[k]!;

      // 1. Block in epoll_wait until the worker writes to pair k.
      const wrote = ctx.peer.writeLater(peerFd, WRITE_AFTER_MS, 'x');
      const t0 = now();
      const events = epoll.wait(64, 5000);
      const t1 = now();
      const { at } = await ctx.wait(wrote);
      const found = events.map((e) => e.data);
      if (found.length !== 1 || found[0] !== k) throw new Error(`epoll_wait reported pairs [${found.join(', ')}], expected [${k}]`);
      ctx.checkpoint();

      // 2. With that fd ready (its byte left unread: level-triggered), time one call of each.
      const reads = pairs.map(([a]) => a);
      const entries = reads.map((fd) => ({ fd, events: POLL.IN }));
      const selectable = reads.every((fd) => fd < FD_SETSIZE);
      const time = (call: () => number): number => {
        const s = now();
        for (let i = 0; i < CALLS; i++) if (call() !== 1) throw new Error('expected exactly one fd ready');
        return ((now() - s) * 1000) / CALLS;
      };
      const selectUs = selectable ? time(() => select(reads, [], [], 0).read.length) : NaN;
      const pollUs = time(() => poll(entries, 0).length);
      const epollUs = time(() => epoll.wait(64, 0).length);
      const n = tryRead(readyFd, Buffer.alloc(16));
      if (n === WOULD_BLOCK) throw new Error('the ready fd said EAGAIN');

      const blockedMs = t1 - t0;
      const wakeUs = Math.max(0, (t1 - at) * 1000);
      const selectPart = selectable ? `select(2) took ${num(selectUs)} µs a call, ` : `select(2) was skipped (an fd is at or above FD_SETSIZE ${FD_SETSIZE}), `;
      return {
        syscalls: ['socketpair ×100', 'epoll_create1', 'epoll_ctl ×100', 'epoll_wait', 'select', 'poll', 'read'],
        blocked: true,
        waited: `the thread, in epoll_wait, for any of ${PAIRS} fds`,
        figure: fig(`epoll_wait, 1 of ${PAIRS} ready`, epollUs, 'µs'),
        figures: [
          fig('blocked in epoll_wait', blockedMs, 'ms'),
          fig('wake-up after the write', wakeUs, 'µs'),
          ...(selectable ? [fig(`select, 1 of ${PAIRS} ready`, selectUs, 'µs')] : []),
          fig(`poll, 1 of ${PAIRS} ready`, pollUs, 'µs'),
        ],
        narrative: [
          `One thread, ${PAIRS} non-blocking socketpairs, the read ends registered once with an epoll. Instead of blocking in read on one of them, the thread blocked in epoll_wait(2) for any of them: ${num(blockedMs)} ms.`,
          `A worker wrote to pair #${k}; epoll_wait returned ${dur(wakeUs / 1000)} later with exactly that one fd, and a non-blocking read took its byte.`,
          `With that fd ready, ${selectPart}poll(2) ${num(pollUs)} µs, epoll_wait(2) ${num(epollUs)} µs: select and poll hand the kernel all ${PAIRS} fds on every call and it checks each; epoll keeps the list in the kernel and returns only the ready one.`,
        ],
        summary: selectable
          ? `per call: select ${num(selectUs)}, poll ${num(pollUs)}, epoll ${num(epollUs)} µs`
          : `per call: poll ${num(pollUs)}, epoll ${num(epollUs)} µs`,
      };
    } finally {
      epoll.close();
      for (const [a, b] of pairs) {
        close(a);
        close(b);
      }
    }
  },
};
