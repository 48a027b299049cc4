/**
 * Signal-driven I/O on arm64: F_SETSIG + F_SETOWN_EX (to this thread) +
 * O_ASYNC, the real-time signal's siginfo read by iomodes' handler, on the
 * main thread and in a Worker (a signal aimed at one thread of many).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SignalIo, WOULD_BLOCK, realtimeSignals, socketpair, tryRead, write } from 'iomodes';
import { autoClose, capability } from './helpers.mjs';

test('real-time signals: SIGRTMIN..SIGRTMAX is a usable range', () => {
  const { min, max, count } = realtimeSignals();
  assert.ok(min >= 32 && max > min && count === max - min + 1, `${min}..${max}`);
});

test('SignalIo: a peer write arrives as a real-time signal carrying the fd and POLLIN', async (t) => {
  if (!capability(t, 'sigio')) return;
  const [a, b] = autoClose(t, ...socketpair({ nonblocking: true }));
  const sio = new SignalIo();
  t.after(() => sio.close());
  sio.enable(a);
  const got = once(sio, 'io', { signal: AbortSignal.timeout(10_000) });
  write(b, Buffer.from('ping'));
  const [event] = await got;
  assert.equal(event.fd, a);
  assert.equal(event.readable, true);
  assert.equal(event.signal, sio.signal);
  const buf = Buffer.alloc(8);
  assert.equal(buf.toString('utf8', 0, tryRead(a, buf)), 'ping');
  assert.equal(tryRead(a, buf), WOULD_BLOCK);
});

test('SignalIo in a Worker: the signal goes to the Worker thread that enabled the fd', async (t) => {
  if (!capability(t, 'sigio')) return;
  const code = `
    import { parentPort } from 'node:worker_threads';
    import { SignalIo, socketpair, write, close } from ${JSON.stringify(import.meta.resolve('iomodes'))};
    const [a, b] = socketpair({ nonblocking: true });
    const sio = new SignalIo();
    sio.enable(a);
    sio.once('io', (e) => {
      parentPort.postMessage({ fd: e.fd === a, readable: e.readable, tid: sio.threadId, pid: process.pid });
      sio.close(); close(a); close(b);
    });
    write(b, Buffer.from('x'));`;
  // A data: module resolves no bare name: it imports the package this file resolved.
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { type: 'module' });
  const [msg] = await once(worker, 'message');
  await once(worker, 'exit');
  assert.equal(msg.fd, true);
  assert.equal(msg.readable, true);
  assert.notEqual(msg.tid, msg.pid, 'a Worker has its own thread id');
});
