// The native-heavy subset that scripts/test-valgrind.sh runs under memcheck:
// each backend's syscalls once or a few times, closes with work in flight, a
// Worker torn down with operations pending. Small on purpose: Node under
// memcheck runs some fifty times slower. Loads the package from dist/.
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const entry = new URL('../dist/index.js', import.meta.url).href;
const io = await import(entry);
const coro = await import(new URL('../dist/coro/index.js', import.meta.url).href);
const dir = mkdtempSync(join(process.env.IOMODES_VALGRIND_DIR ?? tmpdir(), 'iomodes-valgrind-'));
const file = join(dir, 'data');
writeFileSync(file, Buffer.alloc(1 << 16, 7));
const step = (name) => process.stdout.write(`valgrind workload: ${name}\n`);

try {
  step('blocking and non-blocking');
  const fd = io.open(file, 'r+');
  const buf = Buffer.alloc(4096);
  io.pread(fd, buf, 4096);
  io.pwrite(fd, buf, 8192);
  io.readv(fd, [Buffer.alloc(10), Buffer.alloc(20)]);
  io.writev(fd, [Buffer.from('a'), Buffer.from('b')]);
  io.fsync(fd);
  const [r, w] = io.pipe({ nonblocking: true });
  if (io.tryRead(r, buf) !== io.WOULD_BLOCK) throw new Error('expected WOULD_BLOCK');
  io.write(w, Buffer.from('x'));

  step('select, poll, epoll');
  io.select([r], [w], [], 0);
  io.poll([{ fd: r, events: io.POLL.IN }], 0);
  const ep = io.Epoll.create();
  ep.add(r, io.Epoll.IN);
  ep.wait(64, 0);
  await ep.waitAsync(1000);
  ep.close();

  step('io_uring');
  const ring = io.Ring.create({ entries: 64 });
  await Promise.all([ring.read(fd, Buffer.alloc(512), { position: 0 }), ring.write(fd, Buffer.from('ring'), { position: 100 }), ring.fsync(fd)]);
  await ring.readv(fd, [Buffer.alloc(8), Buffer.alloc(8)], { position: 0 });
  const ac = new AbortController();
  const pending = ring.read(r, Buffer.alloc(8), { signal: ac.signal }).catch((e) => e.code);
  ac.abort();
  await pending;
  ring.registerBuffers(2, 4096);
  await ring.readFixed(fd, Buffer.alloc(4096), { bufferIndex: 0, position: 0 });
  ring.read(io.pipe()[0], Buffer.alloc(8)).catch(() => {}); // in flight at close
  ring.close();

  step('Linux AIO');
  const aio = io.LinuxAio.create();
  await aio.read(fd, Buffer.alloc(4096), { position: 0 });
  await aio.write(fd, Buffer.from('aio'), { position: 0 });
  await aio.fsync(fd);
  aio.close();

  step('POSIX AIO and the thread pool');
  for (const Backend of [io.PosixAio, io.ThreadpoolIo]) {
    const b = Backend.create();
    await b.read(fd, Buffer.alloc(100), { position: 0 });
    await b.writev(fd, [Buffer.from('p'), Buffer.from('q')], { position: 0 });
    b.close();
  }

  step('signal-driven I/O');
  const sio = new io.SignalIo();
  const [a, peer] = io.socketpair({ nonblocking: true });
  const got = new Promise((resolve) => sio.once('io', resolve));
  sio.enable(a);
  io.write(peer, Buffer.from('sig'));
  await got;
  sio.disable(a);
  sio.close();

  step('direct I/O and the page cache');
  io.residency(fd);
  io.advise(fd, 'dontneed');
  const aligned = io.allocAligned(4096);
  io.isAligned(aligned, 4096);

  step('coroutines');
  const [c, d] = io.socketpair({ nonblocking: true });
  await coro.joinAll([
    coro.spawn(function* () { yield* coro.write(c, Buffer.from('ping')); }),
    coro.spawn(function* () { return yield* coro.read(d, Buffer.alloc(4)); }),
    coro.spawn(function* () { yield* coro.sleep(5); }),
  ]);
  coro.useHub().close();

  step('a Worker terminated with operations in flight');
  const worker = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.entry).then((io) => {
      const ring = io.Ring.create();
      const [r] = io.pipe();
      for (let i = 0; i < 16; i++) ring.read(r, Buffer.alloc(64)).catch(() => {});
      const ep = io.Epoll.create();
      ep.add(r, io.Epoll.IN);
      ep.waitAsync(-1).catch(() => {});
      parentPort.postMessage('ready');
    });
  `, { eval: true, workerData: { entry } });
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();

  for (const f of [fd, r, w, a, peer, c, d]) io.close(f);
  step('done');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
