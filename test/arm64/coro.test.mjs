/**
 * The coroutine scheduler on arm64: tasks switching on I/O through the hub's
 * epoll and poll backends (and io_uring when the doctor allows it), driven
 * by run() and by Node's event loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { close, socketpair, write as plainWrite } from 'iomodes';
import { createHub, joinAll, read, run, sleep, spawn, write } from 'iomodes/coro';
import { capability } from './helpers.mjs';

/** An echo over a socketpair: a server task echoes what a client task sends, uppercased. */
function* echo(rounds) {
  const [a, b] = socketpair({ nonblocking: true });
  const server = spawn(function* () {
    const buf = Buffer.alloc(64);
    for (let i = 0; i < rounds; i++) {
      const n = yield* read(a, buf);
      yield* write(a, Buffer.from(buf.toString('utf8', 0, n).toUpperCase()));
    }
  });
  const client = spawn(function* () {
    const buf = Buffer.alloc(64);
    const got = [];
    for (let i = 0; i < rounds; i++) {
      yield* write(b, Buffer.from(`m${i}`));
      got.push(buf.toString('utf8', 0, yield* read(b, buf)));
    }
    return got;
  });
  try {
    yield* server;
    return yield* client;
  } finally {
    close(a);
    close(b);
  }
}

const expected = Array.from({ length: 20 }, (_, i) => `M${i}`);

for (const backend of ['epoll', 'poll', 'io_uring']) {
  test(`run() on the ${backend} backend: 20 echo round trips between two tasks`, async (t) => {
    if (backend === 'io_uring' && !capability(t, 'io_uring')) return;
    createHub({ backend });
    assert.deepEqual(await run(echo, 20), expected);
  });
}

test('the event-loop driver on epoll: tasks interleave by their sleeps; a task wakes on a write from a Node timer', async () => {
  createHub({ backend: 'epoll' });
  const order = [];
  const task = (name, ms) => spawn(function* () {
    order.push(`${name} first`);
    yield* sleep(ms);
    order.push(`${name} second`);
  });
  await joinAll([task('fun1', 100), task('fun2', 10), task('fun3', 200)]);
  assert.deepEqual(order, ['fun1 first', 'fun2 first', 'fun3 first', 'fun2 second', 'fun1 second', 'fun3 second']);

  const [a, b] = socketpair({ nonblocking: true });
  try {
    const reader = spawn(function* () {
      const buf = Buffer.alloc(16);
      return buf.toString('utf8', 0, yield* read(a, buf));
    });
    setTimeout(() => plainWrite(b, Buffer.from('from node')), 20);
    assert.equal(await reader, 'from node');
  } finally {
    close(a);
    close(b);
  }
});

