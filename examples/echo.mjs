// An echo server: one task per connection, each one plain sequential code
// (read, write, repeat), while the hub interleaves them all on one thread.
//
//   node examples/echo.mjs [--port 7000]   serve until Ctrl+C (try: nc 127.0.0.1 7000)
//   node examples/echo.mjs --demo          serve, run a few clients against it, exit
import { parseArgs } from 'node:util';
import { joinAll, net, run, spawn } from 'iomodes/coro';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' }, demo: { type: 'boolean', default: false } } });

// Echo raw bytes, not lines: the server then needs no framing and handles
// any client, binary or text.
function* echo(stream) {
  try {
    const buf = Buffer.alloc(16384);
    for (let n; (n = yield* stream.read(buf)) > 0; ) yield* stream.write(buf, 0, n);
  } finally {
    stream.close();
  }
}

function* serve(server) {
  for (;;) spawn(echo, yield* server.accept());
}

// One demo client: a line at a time, each echo checked before the next line
// goes out, then end() and wait for the server's end of stream.
function* client(address, id, lines) {
  const stream = yield* net.connect(address);
  try {
    let matched = 0;
    for (let i = 1; i <= lines; i++) {
      const line = `client ${id} line ${i}`;
      yield* stream.write(`${line}\n`);
      if ((yield* stream.readLine()) === line) matched++;
    }
    stream.end();
    if ((yield* stream.readLine()) !== null) throw new Error(`client ${id}: more data after its last echo`);
    return matched;
  } finally {
    stream.close();
  }
}

// run(): nothing here is Node I/O, so the hub may own the thread and block
// in epoll_wait itself.
await run(function* () {
  const server = net.listen({ host: '127.0.0.1', port: Number(args.port) });
  console.log(`echo server listening on ${server.address.host}:${server.address.port}`);
  const acceptor = spawn(serve, server);
  if (!args.demo) return yield* acceptor;

  const CLIENTS = 3;
  const LINES = 5;
  const clients = [];
  for (let id = 1; id <= CLIENTS; id++) clients.push(spawn(client, server.address, id, LINES));
  // raiseError: a client that fails fails the demo (and its exit status).
  yield* joinAll(clients, { raiseError: true });
  const matched = clients.reduce((sum, task) => sum + task.value, 0);
  console.log(`${CLIENTS} clients, ${LINES} lines each: ${matched} of ${CLIENTS * LINES} echoes matched`);

  // Each client saw its handler close the stream, so only the acceptor is left.
  yield* acceptor.kill();
  server.close();
  if (matched !== CLIENTS * LINES) process.exitCode = 1;
});
