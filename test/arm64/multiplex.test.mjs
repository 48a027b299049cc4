/**
 * I/O multiplexing on arm64: select, poll and epoll called synchronously,
 * and epoll on Node's event loop (the native uv_poll_t watcher every
 * asynchronous mode stands on).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Epoll, POLL, Poller, close, pipe, poll, read, select, socketpair, write } from 'iomodes';
import { autoClose } from './helpers.mjs';

test('select: an empty pipe times out, a written one is readable, its write end writable', (t) => {
  const [r, w] = autoClose(t, ...pipe());
  assert.deepEqual(select([r], [], [], 0).read, []);
  write(w, Buffer.from('x'));
  const ready = select([r], [w], [], 1000);
  assert.deepEqual(ready.read, [r]);
  assert.deepEqual(ready.write, [w]);
});

test('poll and Poller: POLLIN once written, nothing once read, POLLHUP once the writer is gone', (t) => {
  const [r, w] = autoClose(t, ...pipe());
  assert.deepEqual(poll([{ fd: r, events: POLL.IN }], 0), []);
  write(w, Buffer.from('x'));
  const [ev] = poll([{ fd: r, events: POLL.IN }], 1000);
  assert.equal(ev.fd, r);
  assert.ok(ev.events & POLL.IN);
  const poller = new Poller();
  poller.register(r, POLL.IN);
  read(r, Buffer.alloc(1));
  assert.deepEqual(poller.poll(0), []);
  close(w);
  const [hup] = poller.poll(1000);
  assert.ok(hup.events & POLL.HUP, `events ${hup.events}`);
});

test('epoll: wait() returns each ready fd with its data; edge-triggered reports an edge once', (t) => {
  const [a, b] = autoClose(t, ...socketpair({ nonblocking: true }));
  const [r, w] = autoClose(t, ...pipe({ nonblocking: true }));
  const ep = Epoll.create();
  t.after(() => ep.close());
  ep.add(a, Epoll.IN, 'socket');
  ep.add(r, Epoll.IN | Epoll.ET, 'pipe');
  assert.deepEqual(ep.wait(8, 0), []);
  write(b, Buffer.from('s'));
  write(w, Buffer.from('p'));
  const got = ep.wait(8, 1000).map((e) => [e.fd, e.data, (e.events & Epoll.IN) !== 0]).sort();
  assert.deepEqual(got, [[a, 'socket', true], [r, 'pipe', true]].sort());
  // Level-triggered reports the unread socket again; edge-triggered does not repeat the pipe.
  assert.deepEqual(ep.wait(8, 0).map((e) => e.data), ['socket']);
});

test('epoll on the event loop: waitAsync resolves when a peer writes, from a timer', async (t) => {
  const [a, b] = autoClose(t, ...socketpair({ nonblocking: true }));
  const ep = Epoll.create();
  t.after(() => ep.close());
  ep.add(a, Epoll.IN, 'peer');
  setTimeout(() => write(b, Buffer.from('later')), 20);
  const events = await ep.waitAsync(5000);
  assert.deepEqual(events.map((e) => e.data), ['peer']);
});

test('epoll.events(): a stream of batches on the loop, one per write', async (t) => {
  const [a, b] = autoClose(t, ...socketpair({ nonblocking: true }));
  const ep = Epoll.create();
  t.after(() => ep.close());
  ep.add(a, Epoll.IN | Epoll.ET);
  const buf = Buffer.alloc(16);
  const seen = [];
  let sent = 0;
  const send = () => write(b, Buffer.from(`m${++sent}`));
  setTimeout(send, 10);
  for await (const batch of ep.events({ signal: AbortSignal.timeout(10_000) })) {
    for (const e of batch) seen.push(buf.toString('utf8', 0, read(e.fd, buf)));
    if (seen.length === 3) break;
    setTimeout(send, 10);
  }
  assert.deepEqual(seen, ['m1', 'm2', 'm3']);
});
