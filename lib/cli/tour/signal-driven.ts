/**
 * Tour part `signal-driven`: `O_ASYNC` with `F_SETSIG` and `F_SETOWN_EX` on
 * a socketpair; the thread goes on with its event loop, and a real-time
 * signal with `si_fd` and `si_band` says when the worker has written.
 *
 * @internal
 * @module
 */
import { close, SignalIo, socketpair, tryRead, WOULD_BLOCK, type SignalIoEvent } from '../../index.js';
import { now } from './peer.js';
import type { TourPart } from './types.js';
import { dur, fig, num } from './util.js';

const WRITE_AFTER_MS = 50;
const INTERVAL_MS = 5;

/** `si_band`'s poll bits, named. */
const BAND_BITS: [number, string][] = [
  [0x1, 'POLLIN'],
  [0x2, 'POLLPRI'],
  [0x4, 'POLLOUT'],
  [0x8, 'POLLERR'],
  [0x10, 'POLLHUP'],
  [0x40, 'POLLRDNORM'],
  [0x80, 'POLLRDBAND'],
  [0x100, 'POLLWRNORM'],
  [0x200, 'POLLWRBAND'],
  [0x2000, 'POLLRDHUP'],
];

function bandNames(band: number): string {
  const names = BAND_BITS.filter(([bit]) => (band & bit) !== 0).map(([, name]) => name);
  return names.length > 0 ? names.join('|') : '0';
}

/** A `SignalIo` on a real-time signal, or, if every one is taken, the classic plain `SIGIO`. */
function openSignalIo(): { sio: SignalIo; fallback: string | null } {
  try {
    return { sio: new SignalIo(), fallback: null };
  } catch (err) {
    const why = (err as Error).message;
    return { sio: new SignalIo({ mode: 'sigio' }), fallback: `no real-time signal could be had (${why}); used plain SIGIO, which carries no fd, and a rescan with poll(2)` };
  }
}

/**
 * The `signal-driven` part.
 *
 * @example
 * ```ts
 * const outcome = await signalDriven.run(ctx); // outcome.figure: { name: 'write to handler', unit: 'µs', … }
 * ```
 */
export const signalDriven: TourPart = {
  name: 'signal-driven',
  model: 'signal-driven I/O',
  title: 'O_ASYNC + F_SETSIG on a socketpair: a signal with si_fd, si_band',
  async run(ctx) {
    const [a, b] = socketpair({ nonblocking: true });
    const { sio, fallback } = openSignalIo();
    let ticks = 0;
    const interval = setInterval(() => ticks++, INTERVAL_MS);
    try {
      await ctx.wait(ctx.peer.ready());
      sio.enable(a);
      const got = new Promise<{ event: SignalIoEvent; at: number }>((resolve) => {
        const onIo = (event: SignalIoEvent): void => {
          if (event.fd !== a || !event.readable) return;
          sio.off('io', onIo);
          resolve({ event, at: now() });
        };
        sio.on('io', onIo);
      });
      ticks = 0;
      const t0 = now();
      const wrote = ctx.peer.writeLater(b, WRITE_AFTER_MS, 'ping');
      const { event, at } = await ctx.wait(got);
      const write = await ctx.wait(wrote);
      const waitedMs = at - t0;
      const ticksSeen = ticks;
      // A signal says the fd became ready: read until EAGAIN.
      const buf = Buffer.alloc(64);
      let bytes = 0;
      for (let n; (n = tryRead(a, buf)) !== WOULD_BLOCK && n > 0; ) bytes += n;
      const latencyUs = Math.max(0, (at - write.at) * 1000);
      const how = event.source === 'signal'
        ? `the kernel queued signal ${event.signal} to this thread, its siginfo saying si_fd=${event.fd}, si_band=0x${event.band.toString(16)} (${bandNames(event.band)})`
        : `the kernel sent a plain SIGIO (no fd in it), and a poll(2) rescan found fd ${event.fd} readable (${bandNames(event.band)})`;
      return {
        syscalls: ['fcntl(F_SETSIG)', 'fcntl(F_SETOWN_EX)', 'fcntl(F_SETFL, O_ASYNC)', event.source === 'signal' ? `signal ${event.signal}` : 'SIGIO', 'write (self-pipe)', 'read'],
        blocked: false,
        waited: 'nobody: the kernel signalled the thread',
        figure: fig('write to handler', latencyUs, 'µs'),
        figures: [fig('waited, without blocking', waitedMs, 'ms'), fig(`${INTERVAL_MS} ms interval ran meanwhile`, ticksSeen, 'times')],
        narrative: [
          `fcntl set F_SETSIG (signal ${sio.signal}), F_SETOWN_EX (this thread, tid ${sio.threadId}) and O_ASYNC on one end of a socketpair. Then the thread went on with Node's loop, not waiting on the fd: a ${INTERVAL_MS} ms interval ran ${ticksSeen} times in ${num(waitedMs)} ms.`,
          `A worker wrote ${write.n} bytes; ${how}.`,
          `iomodes' handler passed it through a self-pipe to the 'io' listener, ${dur(latencyUs / 1000)} after the write; the listener read until EAGAIN: ${bytes} bytes.`,
        ],
        summary: `write to handler ${dur(latencyUs / 1000)}, loop free`,
        fallback,
      };
    } finally {
      clearInterval(interval);
      sio.close();
      close(a);
      close(b);
    }
  },
};
