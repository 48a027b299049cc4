// The concurrent crawler: three slow pages fetched one task per URL, so the
// waits overlap and the crawl takes about as long as the slowest page, not
// the sum. Two ways concurrently, then one after the other for comparison.
//
//   node examples/crawler.mjs
import { createServer } from 'node:http';
import { call, joinAll, net, spawn } from 'iomodes/coro';

// Slow by design, so the waiting dominates and the overlap shows.
const DELAYS = [300, 500, 700];

// Everything runs on the event-loop driver (top-level await, not run()): the
// servers are node:http in this same process, and they can only answer while
// Node's loop turns. run() blocks the thread in epoll_wait while tasks wait on
// iomodes sockets, so under run() (a) would wait forever for servers that
// cannot run; it would need the servers in a child process.
function startServer(delay) {
  const server = createServer((req, res) => {
    setTimeout(() => res.end(`page from the ${delay} ms server`), delay);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const servers = await Promise.all(DELAYS.map(startServer));
const ports = servers.map((server) => server.address().port);
// fetch() loads its HTTP client on first use, 100 ms or more: pay that
// before any clock starts, so (b) measures waiting, as (a) and (c) do.
await fetch('data:,');

// (a) HTTP/1.1 by hand over iomodes' cooperative sockets. `Connection: close`
// lets the body run to end of stream, so no Content-Length or chunked
// parsing is needed.
function* rawGet(port) {
  const stream = yield* net.connect({ host: '127.0.0.1', port });
  try {
    yield* stream.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    const status = Number((yield* stream.readLine()).split(' ')[1]);
    while (((yield* stream.readLine()) ?? '') !== ''); // headers: skipped, up to the blank line (or EOF)
    const chunks = [];
    const buf = Buffer.alloc(4096);
    for (let n; (n = yield* stream.read(buf)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
    return { status, body: Buffer.concat(chunks).toString() };
  } finally {
    stream.close();
  }
}

// (b) fetch() is a promise; call() parks the task until it settles, so other
// tasks (and Node) run meanwhile.
function* fetchGet(port) {
  const res = yield* call(fetch(`http://127.0.0.1:${port}/`));
  return { status: res.status, body: yield* call(res.text()) };
}

// Each page's line says when it arrived, counted from the start of its crawl:
// concurrently they arrive at their own delays; in sequence, at the sums.
function* timed(get, port, t0) {
  const page = yield* get(port);
  return { ...page, at: performance.now() - t0 };
}

function report(title, pages, total) {
  console.log(title);
  for (const { status, body, at } of pages) console.log(`    ${status} "${body}" (${body.length} bytes), at ${Math.round(at)} ms`);
  console.log(`    total ${Math.round(total)} ms`);
}

async function concurrently(get) {
  const t0 = performance.now();
  const tasks = ports.map((port) => spawn(timed, get, port, t0));
  // raiseError: one failed page fails the crawl at once, instead of leaving
  // a failed task for someone to check.
  await joinAll(tasks, { raiseError: true });
  return { pages: tasks.map((task) => task.value), total: performance.now() - t0 };
}

async function sequentially(get) {
  const t0 = performance.now();
  const pages = await spawn(function* () {
    const out = [];
    for (const port of ports) out.push(yield* timed(get, port, t0));
    return out;
  });
  return { pages, total: performance.now() - t0 };
}

try {
  console.log(`three servers, slow on purpose: ${DELAYS.join(', ')} ms (${DELAYS.reduce((a, b) => a + b)} ms in all)`);
  const a = await concurrently(rawGet);
  report('(a) iomodes sockets, one task per URL', a.pages, a.total);
  const b = await concurrently(fetchGet);
  report('(b) fetch() through call(), one task per URL', b.pages, b.total);
  const c = await sequentially(rawGet);
  report('(c) iomodes sockets, one URL after the other', c.pages, c.total);
  console.log(
    `concurrent: ${Math.round(a.total)} and ${Math.round(b.total)} ms, about the slowest page (${Math.max(...DELAYS)} ms); ` +
      `sequential: ${Math.round(c.total)} ms, about the sum`,
  );
} finally {
  // closeAllConnections: fetch() keeps its connections alive for reuse,
  // and they would hold the process open.
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
}
