import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { WOULD_BLOCK, close, pipe, read, setBlocking, tryRead, write } from '../lib/index.js';
import { autoClose, distEntry, fixture, root } from './helpers/index.js';

// Workers and child processes cannot import TypeScript: they use the compiled
// package in dist/, as a user of the published package would.
let entry: string;


beforeAll(() => {
  entry = distEntry();
});

/** One pipe round trip on the calling thread: the addon works here. */
function roundTrip(payload: string): string {
  const [r, w] = pipe();
  try {
    write(w, Buffer.from(payload));
    const buf = Buffer.alloc(64);
    return buf.toString('utf8', 0, read(r, buf));
  } finally {
    close(r);
    close(w);
  }
}

/** The ids of this process's threads. */
function threadIds(): Set<string> {
  return new Set(readdirSync('/proc/self/task'));
}

/**
 * Whether one of `tids` sleeps in the kernel's pipe read; undefined where
 * the kernel hides wchan. Only the worker's own (new) threads are asked, so
 * another thread of the process blocked in a pipe cannot pass for it.
 */
function inPipeRead(tids: Iterable<string>): boolean | undefined {
  let hidden = true;
  for (const tid of tids) {
    let where: string;
    try {
      where = readFileSync(`/proc/self/task/${tid}/wchan`, 'utf8');
    } catch {
      continue;
    }
    if (where === '0' || where === '') continue;
    hidden = false;
    if (/pipe_read/.test(where)) return true;
  }
  return hidden ? undefined : false;
}

async function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const roundsWorker = `
import { parentPort, workerData } from 'node:worker_threads';
const { pipe, write, read, close, tryRead, IoError, WOULD_BLOCK } = await import(workerData.entry);

// Both workers have the addon loaded before either starts: a barrier.
const gate = new Int32Array(workerData.gate);
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
for (let v; (v = Atomics.load(gate, 0)) < 2; ) Atomics.wait(gate, 0, v, 1000);

let ok = 0;
for (let i = 0; i < workerData.rounds; i++) {
  const [r, w] = pipe({ nonblocking: i % 2 === 1 });
  const payload = Buffer.from(workerData.id + ':' + i);
  write(w, payload);
  const buf = Buffer.alloc(64);
  const n = read(r, buf);
  if (buf.subarray(0, n).equals(payload)) ok++;
  close(r);
  close(w);
}
const [r, w] = pipe({ nonblocking: true });
const wouldBlock = tryRead(r, Buffer.alloc(1)) === WOULD_BLOCK && WOULD_BLOCK === Symbol.for('iomodes.WOULD_BLOCK');
close(r);
close(w);
// An fd number no process can have open (above RLIMIT_NOFILE): the numbers
// just closed may already be reused by the other worker.
let error;
try { read(1 << 30, Buffer.alloc(1)); } catch (err) { error = { isIoError: err instanceof IoError, code: err.code, syscall: err.syscall }; }
parentPort.postMessage({ id: workerData.id, ok, wouldBlock, error });
`;

describe('worker threads', () => {
  it('load the addon in two workers at once, and both do pipe I/O concurrently', async () => {
    const path = fixture(roundsWorker, 'rounds.mjs');
    const gate = new SharedArrayBuffer(4);
    const rounds = 300;
    const workers = ['a', 'b'].map((id) => new Worker(path, { workerData: { entry, gate, rounds, id } }));
    const results = workers.map((worker) => once(worker, 'message').then(([message]) => message));
    const exits = workers.map((worker) => once(worker, 'exit').then(([code]) => code));
    // The main thread keeps using its own instance meanwhile.
    expect(roundTrip('main')).toBe('main');
    const error = { isIoError: true, code: 'EBADF', syscall: 'read' };
    expect(await Promise.all(results)).toEqual([
      { id: 'a', ok: rounds, wouldBlock: true, error },
      { id: 'b', ok: rounds, wouldBlock: true, error },
    ]);
    expect(await Promise.all(exits)).toEqual([0, 0]);
    // Tearing both environments down left the main thread's addon working.
    expect(roundTrip('after')).toBe('after');
  });

  it('terminating a worker blocked in read does not crash the parent', async () => {
    const path = fixture(
      `
      import { parentPort, workerData } from 'node:worker_threads';
      const { read } = await import(workerData.entry);
      parentPort.postMessage('blocking');
      read(workerData.r, Buffer.alloc(1)); // blocks: the pipe is empty
      parentPort.postMessage('returned');
      `,
      'blocked.mjs',
    );
    const [r, w] = autoClose(...pipe());
    const before = threadIds();
    const worker = new Worker(path, { workerData: { entry, r } });
    const messages: unknown[] = [];
    worker.on('message', (m) => messages.push(m));
    const errors: unknown[] = [];
    worker.on('error', (err) => errors.push(err));
    const exited = once(worker, 'exit');
    await until(() => messages.includes('blocking'), 'the worker to start');
    // Where the kernel says so, wait until the worker's thread sleeps in read.
    const workerThreads = [...threadIds()].filter((tid) => !before.has(tid));
    if (inPipeRead(workerThreads) !== undefined) await until(() => inPipeRead(workerThreads) === true, 'the worker to block in read');
    else await new Promise((resolve) => setTimeout(resolve, 200)); // no wchan: give it time to get there

    // terminate() cannot interrupt a thread inside a syscall; the byte lets
    // read return, and the worker then stops at its next JavaScript.
    const terminated = worker.terminate();
    expect(write(w, Buffer.from('!'))).toBe(1);
    const [code] = await exited;
    expect(code).toBe(1);
    expect(await terminated).toBe(1);
    expect(errors).toEqual([]);
    // The blocked read took the byte: the pipe is empty.
    setBlocking(r, false);
    expect(tryRead(r, Buffer.alloc(1))).toBe(WOULD_BLOCK);
    // The parent lives on, its addon instance intact.
    expect(roundTrip('alive')).toBe('alive');
  });
});

describe('child processes', () => {
  function runModule(code: string): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
    const path = fixture(code, 'child.mjs');
    return spawnSync(process.execPath, [path], { cwd: root, encoding: 'utf8', timeout: 20_000 }) as ReturnType<typeof spawnSync> & {
      stdout: string;
      stderr: string;
    };
  }

  const worker = `
    import { parentPort, workerData } from 'node:worker_threads';
    const { pipe, write, read, close } = await import(workerData.entry);
    parentPort.postMessage('started');
    for (let i = 0; workerData.forever || i < 200; i++) {
      const [r, w] = pipe();
      write(w, Buffer.from('w' + i));
      read(r, Buffer.alloc(16));
      close(r);
      close(w);
    }
  `;

  it('exit by themselves with code 0 and no stderr, with fds left open and a worker done', () => {
    const result = runModule(`
      import { Worker } from 'node:worker_threads';
      import { once } from 'node:events';
      import { writeFileSync } from 'node:fs';
      import { join, dirname } from 'node:path';
      import { fileURLToPath } from 'node:url';
      const { pipe, socketpair, eventfd, write, read } = await import(${JSON.stringify(entry)});
      const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'worker.mjs');
      writeFileSync(workerPath, ${JSON.stringify(worker)});
      const w = new Worker(workerPath, { workerData: { entry: ${JSON.stringify(entry)}, forever: false } });
      const [r, wr] = pipe();
      socketpair();
      eventfd(1);
      write(wr, Buffer.from('x'));
      read(r, Buffer.alloc(1));
      const [code] = await once(w, 'exit');
      console.log('done', code);
    `);
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('done 0\n');
  });

  it('exit with code 0 and no stderr on process.exit(0) in the middle of work, a worker still busy', () => {
    const result = runModule(`
      import { Worker } from 'node:worker_threads';
      import { once } from 'node:events';
      import { writeFileSync } from 'node:fs';
      import { join, dirname } from 'node:path';
      import { fileURLToPath } from 'node:url';
      const { pipe, write, read, tryRead } = await import(${JSON.stringify(entry)});
      const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'worker.mjs');
      writeFileSync(workerPath, ${JSON.stringify(worker)});
      const w = new Worker(workerPath, { workerData: { entry: ${JSON.stringify(entry)}, forever: true } });
      await once(w, 'message');
      const [r, wr] = pipe({ nonblocking: true });
      for (let i = 0; ; i++) {
        write(wr, Buffer.from('x'));
        if (i === 500) {
          console.log('exiting');
          process.exit(0); // with a byte in the pipe and the worker mid-loop
        }
        read(r, Buffer.alloc(1));
        tryRead(r, Buffer.alloc(1));
      }
    `);
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('exiting\n');
  });

  it('exit with code 0 on process.exit(0) from inside a worker', () => {
    const result = runModule(`
      import { Worker } from 'node:worker_threads';
      import { once } from 'node:events';
      const { pipe, write, read, close } = await import(${JSON.stringify(entry)});
      const w = new Worker(\`
        const { workerData } = require('node:worker_threads');
        import(workerData.entry).then(({ pipe, write }) => {
          const [r, w] = pipe();
          write(w, Buffer.from('bye'));
          process.exit(0); // ends only this worker, fds still open
        });
      \`, { eval: true, workerData: { entry: ${JSON.stringify(entry)} } });
      const [code] = await once(w, 'exit');
      const [r, wr] = pipe();
      write(wr, Buffer.from('ok'));
      const buf = Buffer.alloc(2);
      read(r, buf);
      close(r); close(wr);
      console.log('worker exited', code, buf.toString());
    `);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('worker exited 0 ok\n');
  });
});
