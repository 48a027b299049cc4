/**
 * Tour part `nonblocking`: `tryRead` on an `O_NONBLOCK` socket returns
 * `WOULD_BLOCK` at once; a polling loop counts its `EAGAIN`s until a
 * worker's data arrives.
 *
 * @internal
 * @module
 */
import { close, socketpair, tryRead, WOULD_BLOCK } from '../../index.js';
import { now } from './peer.js';
import type { TourPart } from './types.js';
import { fig, num } from './util.js';

const WRITE_AFTER_MS = 30;
/** Give up polling after this long (the worker never takes this long). */
const GIVE_UP_MS = 5000;

/**
 * The `nonblocking` part.
 *
 * @example
 * ```ts
 * const outcome = await nonblocking.run(ctx); // outcome.figure: { name: 'EAGAINs before the data', value: 40000, unit: 'calls' }
 * ```
 */
export const nonblocking: TourPart = {
  name: 'nonblocking',
  model: 'non-blocking I/O',
  title: 'tryRead on an O_NONBLOCK socketpair, polled until data comes',
  async run(ctx) {
    const [a, b] = socketpair({ nonblocking: true });
    try {
      await ctx.wait(ctx.peer.ready());
      const buf = Buffer.alloc(64);
      const wrote = ctx.peer.writeLater(b, WRITE_AFTER_MS, 'hello');
      let eagains = 0;
      let n: number | typeof WOULD_BLOCK = WOULD_BLOCK;
      const cpu0 = process.cpuUsage();
      const t0 = now();
      // The polling loop: every try is one read(2) that returns at once.
      while ((n = tryRead(a, buf)) === WOULD_BLOCK) {
        eagains++;
        if ((eagains & 1023) === 0 && now() - t0 > GIVE_UP_MS) break;
      }
      const t1 = now();
      const cpu = process.cpuUsage(cpu0);
      await ctx.wait(wrote);
      if (n === WOULD_BLOCK) throw new Error(`no data came within ${GIVE_UP_MS} ms`);
      const pollMs = t1 - t0;
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const perTryUs = (pollMs * 1000) / Math.max(1, eagains);
      const again = tryRead(a, buf);
      return {
        syscalls: ['socketpair(SOCK_NONBLOCK)', 'read → EAGAIN', 'read'],
        blocked: false,
        waited: 'nobody: the thread spun on EAGAIN',
        figure: fig('EAGAINs before the data', eagains, 'calls'),
        figures: [fig('per try', perTryUs, 'µs'), fig('polling time', pollMs, 'ms'), fig('CPU spent polling', cpuMs, 'ms')],
        narrative: [
          'On a socket opened O_NONBLOCK, tryRead made read(2), and with no data the kernel answered EAGAIN at once: WOULD_BLOCK, a value, not an exception.',
          `The thread never slept. It asked again and again: ${num(eagains)} EAGAINs in ${num(pollMs)} ms (${num(perTryUs)} µs a try), until a worker's write arrived and read returned ${n} bytes.`,
          `Polling kept a core busy the whole time (${num(cpuMs)} ms of CPU). The next try said ${again === WOULD_BLOCK ? 'WOULD_BLOCK again' : String(again)}: non-blocking I/O needs a readiness API to know when to try.`,
        ],
        summary: `${num(eagains)} EAGAINs in ${num(pollMs)} ms, ${num(cpuMs)} ms CPU`,
      };
    } finally {
      close(a);
      close(b);
    }
  },
};
