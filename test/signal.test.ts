import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  close,
  Epoll,
  open,
  pipe,
  realtimeSignals,
  SignalIo,
  signalIoAvailable,
  socketpair,
  tryRead,
  write,
  type SignalIoEvent,
} from '../lib/index.js';
import { native } from '../lib/native.js';
import { autoClose, bad, caught, closedFd, distEntry, expectArgError, expectCode, expectIoError, NEVER_OPENED, runChild, tcpPair, tmpFile, withoutPreload } from './helpers/index.js';

const bash = (script: string): string => spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 30_000, env: withoutPreload() }).stdout.trim();

describe('realtimeSignals', () => {
  it('reports SIGRTMIN and SIGRTMAX as glibc numbers them at run time (34 and 64)', () => {
    const { min, max, count } = realtimeSignals();
    expect(min).toBe(Number(bash('kill -l SIGRTMIN')));
    expect(max).toBe(Number(bash('kill -l SIGRTMAX')));
    expect(bash(`kill -l ${min}; kill -l ${max}`)).toBe('RTMIN\nRTMAX');
    expect(count).toBe(max - min + 1);
  });

  it('numbers no signal Node already names', () => {
    const { min, max } = realtimeSignals();
    const named = Object.values(constants.signals) as number[];
    expect(named.length).toBeGreaterThan(20);
    for (const n of named) expect(n < min || n > max).toBe(true);
  });
});

const { min: SIGRTMIN, max: SIGRTMAX } = realtimeSignals();
const O_ASYNC = 0o20000;
const opened: SignalIo[] = [];

function signalIo(options?: ConstructorParameters<typeof SignalIo>[0]): SignalIo {
  const sio = new SignalIo(options);
  opened.push(sio);
  return sio;
}

afterEach(() => {
  for (const sio of opened.splice(0)) sio.close();
});

/** The fd's status flags as /proc shows them (octal), to see O_ASYNC come and go. */
function statusFlags(fd: number): number {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'))!;
  return parseInt(line.split(/\s+/)[1]!, 8);
}

/** The next 'io' event for `fd` (events for other fds are skipped), or a failure after a generous wait. */
function nextIo(sio: SignalIo, fd: number, match: (e: SignalIoEvent) => boolean = () => true): Promise<SignalIoEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sio.off('io', onIo);
      reject(new Error(`no io event for fd ${fd} within 10 s`));
    }, 10_000);
    const onIo = (e: SignalIoEvent): void => {
      if (e.fd !== fd || !match(e)) return;
      clearTimeout(timer);
      sio.off('io', onIo);
      resolve(e);
    };
    sio.on('io', onIo);
  });
}

/** Lets the loop run a few turns: enough for a signal already sent to arrive and be read. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 10));
}


describe('SignalIo', () => {
  it('picks a free real-time signal below SIGRTMAX, and the same one for every SignalIo', () => {
    const a = signalIo();
    const b = signalIo();
    expect(a.signal).toBeGreaterThanOrEqual(SIGRTMIN);
    expect(a.signal).toBeLessThan(SIGRTMAX);
    expect(b.signal).toBe(a.signal);
    expect(native.signal_handler(a.signal)).toBe(1);
    expect(native.signal_handler(constants.signals.SIGIO)).toBe(1);
    expect(a.threadId).toBe(Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0]));
  });

  const kinds: [string, () => [reader: number, writer: number]][] = [
    ['a socketpair', () => autoClose(...socketpair({ nonblocking: true }))],
    ['a pipe', () => autoClose(...pipe({ nonblocking: true }))],
    ['a TCP connection', () => tcpPair()],
  ];
  for (const [name, make] of kinds) {
    it(`emits io with the fd and a readable band when ${name}'s peer writes`, async () => {
      const [reader, writer] = make();
      const sio = signalIo();
      sio.enable(reader);
      expect(statusFlags(reader) & O_ASYNC).toBe(O_ASYNC);
      const event = nextIo(sio, reader);
      write(writer, Buffer.from('ping'));
      const e = await event;
      expect(e).toMatchObject({ fd: reader, readable: true, error: false, hangup: false, signal: sio.signal, source: 'signal' });
      expect(e.band & 1).toBe(1); // POLLIN
      const buf = Buffer.alloc(16);
      expect(tryRead(reader, buf)).toBe(4);
      expect(sio.counts.signals).toBeGreaterThanOrEqual(1);
    });
  }

  it('reports hangup when the peer closes, and nothing after disable, which restores the flags', async () => {
    const [a, b] = socketpair({ nonblocking: true });
    autoClose(a);
    const sio = signalIo();
    const before = statusFlags(a);
    sio.enable(a);
    const hung = nextIo(sio, a, (e) => e.hangup);
    close(b);
    expect((await hung).hangup).toBe(true);

    const [c, d] = autoClose(...socketpair({ nonblocking: true }));
    sio.enable(c);
    sio.disable(c);
    expect(sio.fds).not.toContain(c);
    expect(statusFlags(c)).toBe(before);
    const seen: SignalIoEvent[] = [];
    sio.on('io', (e) => seen.push(e));
    write(d, Buffer.from('x'));
    await settle();
    expect(seen.filter((e) => e.fd === c)).toEqual([]);
  });

  it("restores O_ASYNC when iomodes' close() closes an enabled fd, and frees its number for a new enable", () => {
    const [a, b] = socketpair({ nonblocking: true });
    autoClose(b);
    const sio = signalIo();
    sio.enable(a);
    close(a);
    expect(sio.fds).toEqual([]);
    const [c] = autoClose(...socketpair({ nonblocking: true }));
    sio.enable(c); // often the same number as a
    expect(sio.fds).toEqual([c]);
  });

  it('delivers writable events for a writer waiting for room', async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const sio = signalIo();
    sio.enable(a, { writable: true });
    const chunk = Buffer.alloc(65536);
    // Fill a's send buffer (the EAGAIN arms the kernel's "tell me when
    // there is room"), then let the peer drain it.
    try {
      for (;;) write(a, chunk);
    } catch (err) {
      expect((err as { code?: string }).code).toBe('EAGAIN');
    }
    const room = nextIo(sio, a, (e) => e.writable);
    const sink = Buffer.alloc(1 << 20);
    while (tryRead(b, sink) !== Symbol.for('iomodes.WOULD_BLOCK'));
    expect((await room).writable).toBe(true);
  });

  it("in 'sigio' mode gets plain SIGIO and rescans, so events still name the fd", async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const sio = signalIo({ mode: 'sigio' });
    expect(sio.signal).toBe(constants.signals.SIGIO);
    sio.enable(a);
    const event = nextIo(sio, a);
    write(b, Buffer.from('x'));
    expect(await event).toMatchObject({ fd: a, readable: true, signal: 0, source: 'rescan' });
    expect(sio.counts.rescans).toBeGreaterThanOrEqual(1);
    expect(sio.counts.overflows).toBe(0);
  });

  it('takes a signal per fd, by number or by name', async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const [c, d] = autoClose(...socketpair({ nonblocking: true }));
    const sio = signalIo({ signal: 'SIGRTMIN+4' });
    expect(sio.signal).toBe(SIGRTMIN + 4);
    sio.enable(a);
    sio.enable(c, { signal: SIGRTMIN + 6 });
    const ea = nextIo(sio, a);
    const ec = nextIo(sio, c);
    write(b, Buffer.from('1'));
    write(d, Buffer.from('2'));
    expect((await ea).signal).toBe(SIGRTMIN + 4);
    expect((await ec).signal).toBe(SIGRTMIN + 6);
  });

  it('rescan() reports what is ready now, without waiting for a signal', () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const [c] = autoClose(...socketpair({ nonblocking: true }));
    const sio = signalIo();
    write(b, Buffer.from('early')); // before enable: no signal for it
    sio.enable(a);
    sio.enable(c);
    const events = sio.rescan();
    expect(events).toEqual([{ fd: a, readable: true, writable: false, error: false, hangup: false, band: 1, signal: 0, source: 'rescan' }]);
  });

  it('events() iterates over io events, and ends when the SignalIo closes', async () => {
    const [a, b] = autoClose(...socketpair({ nonblocking: true }));
    const sio = signalIo();
    sio.enable(a);
    const it = sio.events();
    write(b, Buffer.from('x'));
    const first = await it.next();
    expect(first.value).toMatchObject({ fd: a, readable: true });
    const pending = it.next();
    sio.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('events() throws the abort reason when its signal aborts', async () => {
    const sio = signalIo();
    const ac = new AbortController();
    const it = sio.events({ signal: ac.signal });
    const pending = it.next();
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('keeps the loop alive only while fds are enabled, and not after unref()', () => {
    const code = (unref: boolean, enable: boolean) => `
      import { SignalIo, socketpair } from ${JSON.stringify(distEntry())};
      const sio = new SignalIo();
      const [a] = socketpair({ nonblocking: true });
      if (${enable}) sio.enable(a);
      if (${unref}) sio.unref();
      setTimeout(() => process.stdout.write('still here'), 300).unref();
    `;
    const alive = runChild(code(false, true), { timeout: 3000 });
    expect(alive.error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(alive.stdout).toBe('still here');
    for (const [unref, enable] of [[true, true], [false, false]] as const) {
      const r = runChild(code(unref, enable), { timeout: 10_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  describe('bad input', () => {
    it('rejects invalid and reserved signals with a clear error', () => {
      for (const signal of [2, 15, 31, 65, 0, -1, 'SIGINT', 'SIGRTMAX+1']) {
        expectArgError(() => new SignalIo({ signal: bad(signal) }), 'ERR_INVALID_ARG_VALUE', 'options.signal');
      }
      const reserved = caught(() => new SignalIo({ signal: 32 }));
      expect(reserved.message).toMatch(/reserved: glibc keeps signals 32\.\.33/);
      expectArgError(() => new SignalIo({ signal: 34.5 }), 'ERR_INVALID_ARG_VALUE', 'options.signal');
      expectArgError(() => new SignalIo({ signal: bad({}) }), 'ERR_INVALID_ARG_TYPE', 'options.signal');
      expectArgError(() => new SignalIo({ signal: 'SIGNOPE' }), 'ERR_INVALID_ARG_VALUE', 'options.signal');
      expectArgError(() => new SignalIo({ mode: bad('edge') }), 'ERR_INVALID_ARG_VALUE', 'options.mode');
      expectArgError(() => new SignalIo({ mode: 'sigio', signal: SIGRTMIN }), 'ERR_INVALID_ARG_VALUE', 'options.signal');
      expectArgError(() => new SignalIo({ rescanOnOverflow: bad(1) }), 'ERR_INVALID_ARG_TYPE', 'options.rescanOnOverflow');
      expectCode(() => new SignalIo(bad({ sigal: 40 })), 'ERR_INVALID_ARG_VALUE');
      expectArgError(() => new SignalIo(bad(7)), 'ERR_INVALID_ARG_TYPE', 'options');
    });

    it('rejects bad fds: wrong types, closed, never opened, a regular file, a directory', () => {
      const sio = signalIo();
      expectArgError(() => sio.enable(bad('3')), 'ERR_INVALID_ARG_TYPE', 'fd');
      expectArgError(() => sio.enable(-1), 'ERR_OUT_OF_RANGE', 'fd');
      expectArgError(() => sio.enable(1.5), 'ERR_OUT_OF_RANGE', 'fd');
      const closed = closedFd();
      expectIoError(() => sio.enable(closed), 'EBADF', 'fcntl', closed);
      expectIoError(() => sio.enable(NEVER_OPENED), 'EBADF', 'fcntl', NEVER_OPENED);
      const [file] = autoClose(open(tmpFile('data'), 'r'));
      const err = caught(() => sio.enable(file));
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(err.message).toMatch(/regular file: the kernel never signals/);
      const [dir] = autoClose(open('/tmp', 'r'));
      expectArgError(() => sio.enable(dir), 'ERR_INVALID_ARG_VALUE', 'fd');
      expect(statusFlags(file) & O_ASYNC).toBe(0);
      expectArgError(() => sio.enable(0, bad({ signal: 2 })), 'ERR_INVALID_ARG_VALUE', 'options.signal');
      expectCode(() => sio.enable(0, bad({ edge: true })), 'ERR_INVALID_ARG_VALUE');
      expect(sio.fds).toEqual([]);
    });

    it('refuses a double enable, here or in another SignalIo, and a disable of what is not enabled', () => {
      const [a] = autoClose(...socketpair({ nonblocking: true }));
      const sio = signalIo();
      const other = signalIo();
      sio.enable(a);
      expectIoError(() => sio.enable(a), 'EEXIST', 'fcntl', a);
      expectIoError(() => other.enable(a), 'EEXIST', 'fcntl', a);
      expectIoError(() => other.disable(a), 'ENOENT', 'fcntl', a);
      expect(sio.fds).toEqual([a]);
    });

    it("refuses fds an iomodes object owns (its own self-pipe, an Epoll's fd)", () => {
      const sio = signalIo();
      const ep = Epoll.create();
      try {
        expectIoError(() => sio.enable(ep.fd), 'EBUSY', 'fcntl', ep.fd);
      } finally {
        ep.close();
      }
    });

    it('throws ERR_USE_AFTER_CLOSE after close(), which is idempotent and restores every fd', () => {
      const [a] = autoClose(...socketpair({ nonblocking: true }));
      const sio = new SignalIo();
      sio.enable(a);
      sio.close();
      sio.close();
      expect(statusFlags(a) & O_ASYNC).toBe(0);
      expect(sio.closed).toBe(true);
      for (const call of [() => sio.enable(a), () => sio.disable(a), () => sio.rescan(), () => sio.events(), () => sio.ref(), () => sio.unref()]) {
        expectCode(call, 'ERR_USE_AFTER_CLOSE');
      }
      {
        using scoped = new SignalIo();
        scoped.enable(a);
      }
      expect(statusFlags(a) & O_ASYNC).toBe(0);
    });
  });
});

/**
 * A child that makes the real-time queue overflow for sure: it lowers its
 * own RLIMIT_SIGPENDING to 16, enables 1,000 socketpairs, and starts a
 * writer (bash, the peers as its fds 3..1002) that stops the child
 * (SIGSTOP), writes three 100-byte bursts to every peer, and continues it.
 * While stopped the child takes no signal: 16 are queued, the rest fall
 * back to one plain SIGIO. It prints what it read, counted end to end.
 */
const overflowChild = (entry: string, rescanOnOverflow: boolean): string => `
  import { SignalIo, socketpair, tryRead, WOULD_BLOCK } from ${JSON.stringify(entry)};
  import { spawn, spawnSync } from 'node:child_process';
  import { readdirSync, readFileSync } from 'node:fs';
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  const lim = spawnSync('prlimit', ['--pid', String(process.pid), '--sigpending=16'], { env, encoding: 'utf8' });
  if (lim.status !== 0) throw new Error('prlimit failed: ' + lim.stderr);
  const N = 1000, ROUNDS = 3, CHUNK = 100;
  const sio = new SignalIo({ rescanOnOverflow: ${rescanOnOverflow} });
  const peers = [];
  const left = new Map();
  const overflows = [];
  let total = 0;
  const buf = Buffer.alloc(65536);
  const drain = (fd) => {
    for (;;) {
      const n = tryRead(fd, buf);
      if (n === WOULD_BLOCK || n === 0) return;
      total += n;
      left.set(fd, left.get(fd) - n);
    }
  };
  for (let i = 0; i < N; i++) {
    const [a, b] = socketpair({ nonblocking: true });
    sio.enable(a);
    left.set(a, ROUNDS * CHUNK);
    peers.push(b);
  }
  sio.on('io', (e) => { if (e.readable) drain(e.fd); });
  sio.on('overflow', ({ reason }) => {
    overflows.push(reason);
    if (!${rescanOnOverflow}) sio.rescan();
  });
  const script = 'kill -STOP ' + process.pid + '; for r in 1 2 3; do for fd in $(seq 3 ' + (N + 2) + '); do printf "%0100d" 0 >&$fd; done; done; kill -CONT ' + process.pid;
  const writer = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'inherit', 'inherit', ...peers] });
  const want = N * ROUNDS * CHUNK;
  const report = (extra) => {
    // Signals still pending, on any thread or the process: none may be left.
    const pending = readdirSync('/proc/self/task').flatMap((t) => readFileSync('/proc/self/task/' + t + '/status', 'utf8').split('\\n').filter((l) => /^(SigPnd|ShdPnd):/.test(l) && !/\\s0+$/.test(l)));
    const limit = Number(readFileSync('/proc/self/limits', 'utf8').match(/Max pending signals\\s+(\\d+)/)[1]);
    console.log(JSON.stringify({ total, want, overflows, counts: sio.counts, unread: [...left.values()].filter((v) => v !== 0).length, pending, limit, ...extra }));
  };
  const timer = setTimeout(() => { report({ timeout: true }); process.exit(1); }, 60000);
  writer.on('exit', (code) => {
    if (code !== 0) throw new Error('writer failed: ' + code);
    const check = () => {
      if (total < want) return setTimeout(check, 20);
      clearTimeout(timer);
      report({});
      sio.close();
    };
    check();
  });
`;

describe('SignalIo in child processes', () => {
  let entry: string;
  beforeAll(() => {
    entry = distEntry();
  });

  for (const rescanOnOverflow of [true, false]) {
    it(`detects a real-time queue overflow under RLIMIT_SIGPENDING=16, rescans${rescanOnOverflow ? ' by itself' : ' when told to'}, and reads every byte of 1,000 fds`, () => {
      const r = runChild(overflowChild(entry, rescanOnOverflow), { timeout: 90_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as { total: number; want: number; overflows: string[]; counts: { overflows: number; rescans: number; signals: number }; unread: number; pending: string[]; limit: number };
      expect(out.total).toBe(out.want);
      expect(out.unread).toBe(0);
      expect(out.overflows).toContain('sigqueue');
      expect(out.counts.overflows).toBeGreaterThanOrEqual(1);
      expect(out.counts.rescans).toBeGreaterThanOrEqual(1);
      // Far fewer signals than the 3,000 events: the queue held 16 at a time.
      expect(out.counts.signals).toBeLessThan(3000);
      expect(out.pending).toEqual([]);
      expect(out.limit).toBe(16);
    });
  }
});

describe('SignalIo beside Node and its threads', () => {
  let entry: string;
  beforeAll(() => {
    entry = distEntry();
  });

  it('gives a Worker with its own SignalIo the events of its fds only; terminating it with fds enabled leaves the process healthy', () => {
    const r = runChild(
      `
      import { SignalIo, socketpair, tryRead, write, WOULD_BLOCK } from ${JSON.stringify(entry)};
      import { Worker } from 'node:worker_threads';
      const sio = new SignalIo();
      const mine = [];
      sio.on('io', (e) => { mine.push(e.fd); tryRead(e.fd, Buffer.alloc(64)); });
      const [a, b] = socketpair({ nonblocking: true });
      sio.enable(a);
      const worker = new Worker(\`
        import { SignalIo, socketpair, tryRead } from ${JSON.stringify(entry)};
        import { parentPort } from 'node:worker_threads';
        const sio = new SignalIo();
        const [c, d] = socketpair({ nonblocking: true });
        sio.enable(c);
        sio.on('io', (e) => { tryRead(e.fd, Buffer.alloc(64)); parentPort.postMessage({ event: e.fd, tid: sio.threadId }); });
        parentPort.postMessage({ c, d, tid: sio.threadId });
      \`, { eval: true, type: 'module' });
      const messages = [];
      let fds;
      worker.on('message', (m) => {
        messages.push(m);
        if (m.c !== undefined) {
          fds = m;
          write(m.d, Buffer.from('to the worker'));
          write(b, Buffer.from('to main'));
        } else if (m.event !== undefined) {
          setTimeout(async () => {
            await worker.terminate();
            // The worker's fd stays open (fds are the process's), with its
            // O_ASYNC cleared at teardown: a write to it now signals no one.
            const flags = (await import('node:fs')).readFileSync('/proc/self/fdinfo/' + fds.c, 'utf8').match(/flags:\\s+(\\d+)/)[1];
            write(fds.d, Buffer.from('after the worker'));
            write(b, Buffer.from('main again'));
            setTimeout(() => {
              console.log(JSON.stringify({ mine, messages, mainTid: sio.threadId, asyncAfter: (parseInt(flags, 8) & 0o20000) !== 0 }));
              sio.close();
            }, 200);
          }, 100);
        }
      });
      `,
      { timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { mine: number[]; messages: { c?: number; event?: number; tid: number }[]; mainTid: number; asyncAfter: boolean };
    const setup = out.messages.find((m) => m.c !== undefined)!;
    const events = out.messages.filter((m) => m.event !== undefined);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((m) => m.event === setup.c)).toBe(true);
    expect(setup.tid).not.toBe(out.mainTid);
    expect(out.mine.length).toBeGreaterThanOrEqual(2);
    expect(out.mine.every((fd) => fd !== setup.c)).toBe(true);
    expect(out.asyncAfter).toBe(false);
  });

  it('leaves process.on(SIGINT) working, and the process exits cleanly with fds enabled', () => {
    const r = runChild(
      `
      import { SignalIo, socketpair, write } from ${JSON.stringify(entry)};
      const sio = new SignalIo();
      const [a, b] = socketpair({ nonblocking: true });
      sio.enable(a);
      sio.on('io', () => {
        process.on('SIGINT', () => {
          console.log('SIGINT handled');
          process.exit(0); // with a still enabled
        });
        process.kill(process.pid, 'SIGINT');
      });
      write(b, Buffer.from('x'));
      `,
      { timeout: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.signal).toBe(null);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('SIGINT handled\n');
  });

  it('ends by itself once closed, and exits cleanly on an uncaught exception with fds enabled', () => {
    const natural = runChild(
      `
      import { SignalIo, socketpair, write } from ${JSON.stringify(entry)};
      const sio = new SignalIo();
      const [a, b] = socketpair({ nonblocking: true });
      sio.enable(a);
      sio.on('io', () => sio.close());
      write(b, Buffer.from('x'));
      `,
      { timeout: 20_000 },
    );
    expect(natural.stderr).toBe('');
    expect(natural.status).toBe(0);
    const thrown = runChild(
      `
      import { SignalIo, socketpair, write } from ${JSON.stringify(entry)};
      const sio = new SignalIo();
      const [a, b] = socketpair({ nonblocking: true });
      sio.enable(a);
      sio.on('io', () => { throw new Error('boom in io'); });
      write(b, Buffer.from('x'));
      `,
      { timeout: 20_000 },
    );
    expect(thrown.signal).toBe(null);
    expect(thrown.status).toBe(1);
    expect(thrown.stderr).toMatch(/boom in io/);
  });

  it("refuses a signal that process.on() already handles, and says so when process.on('SIGIO') takes over after", () => {
    const r = runChild(
      `
      import { SignalIo, socketpair, realtimeSignals } from ${JSON.stringify(entry)};
      const out = {};
      const onSigio = () => {};
      process.on('SIGIO', onSigio);
      try { new SignalIo(); } catch (err) { out.before = err.code; }
      process.off('SIGIO', onSigio);
      const sio = new SignalIo();
      const [a] = socketpair({ nonblocking: true });
      const [c] = socketpair({ nonblocking: true });
      sio.enable(a);
      process.on('SIGIO', onSigio);
      try { sio.enable(c); } catch (err) { out.after = err.code; out.message = err.message; }
      out.fds = sio.fds.length;
      sio.close();
      console.log(JSON.stringify(out));
      process.exit(0);
      `,
      { timeout: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.before).toBe('ERR_SIGNAL_IN_USE');
    expect(out.after).toBe('ERR_SIGNAL_HANDLER_REPLACED');
    expect(out.message).toMatch(/process\.on\('SIGIO'\)/);
    expect(out.fds).toBe(1);
  });

  it('makes the syscalls it names: F_SETSIG, F_SETOWN_EX to the thread, O_ASYNC, and restores them (strace)', () => {
    if (spawnSync('strace', ['-V']).status !== 0) {
      expect.fail('strace is missing');
    }
    const r = spawnSync(
      'strace',
      ['-f', '-qq', '-e', 'trace=fcntl,rt_sigaction', process.execPath, '--input-type=module', '-e', `
        import { SignalIo, socketpair, write } from ${JSON.stringify(entry)};
        const sio = new SignalIo({ signal: 'SIGRTMIN+3' });
        const [a, b] = socketpair({ nonblocking: true });
        console.log(JSON.stringify({ fd: a, tid: sio.threadId, signal: sio.signal }));
        sio.enable(a);
        sio.disable(a);
        sio.close();
      `],
      // The whole environment, as test/strace.test.ts passes it: under the
      // ASan build IOMODES_ADDON names the sanitized addon, which Node can
      // only load with the ASan runtime preloaded (strace tolerates it).
      { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
    );
    expect(r.status).toBe(0);
    const { fd, tid, signal } = JSON.parse(r.stdout) as { fd: number; tid: number; signal: number };
    const lines = r.stderr.split('\n');
    const calls = lines.map((l) => l.replace(/^\[pid\s+\d+\]\s*/, '').replace(/\s+=/, ' =')).filter((l) => l.startsWith(`fcntl(${fd},`));
    // strace names signal n >= 32 SIGRT_(n - 32), and O_ASYNC FASYNC.
    const name = `SIGRT_${signal - 32}`;
    expect(calls).toContain(`fcntl(${fd}, F_SETSIG, ${name}) = 0`);
    expect(calls).toContain(`fcntl(${fd}, F_SETOWN_EX, {type=F_OWNER_TID, pid=${tid}}) = 0`);
    const setfl = calls.filter((l) => l.startsWith(`fcntl(${fd}, F_SETFL,`));
    expect(setfl).toHaveLength(2);
    expect(setfl[0]).toMatch(/\|FASYNC\) = 0$/);
    expect(setfl[1]).not.toMatch(/FASYNC/);
    // disable: O_ASYNC off first, then the owner and signal it had (none).
    expect(calls.slice(calls.indexOf(setfl[1]!))).toEqual([setfl[1], `fcntl(${fd}, F_SETOWN_EX, {type=F_OWNER_TID, pid=0}) = 0`, `fcntl(${fd}, F_SETSIG, 0) = 0`]);
    expect(lines.some((l) => l.includes(`rt_sigaction(${name}, {sa_handler=0x`) && l.includes('sa_flags=SA_RESTORER|SA_RESTART|SA_SIGINFO'))).toBe(true);
  });
});

describe('signalIoAvailable', () => {
  it('does a real round of signal-driven I/O and undoes it', () => {
    const before = readdirSync('/proc/self/fd').length;
    const probe = signalIoAvailable();
    expect(probe).toEqual({ ok: true, signal: expect.any(Number) });
    if (probe.ok) expect(native.signal_handler(probe.signal)).toBe(1);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('says why not when every real-time signal has a foreign handler (child process)', () => {
    const r = runChild(`
      import { signalIoAvailable } from ${JSON.stringify(distEntry())};
      // SIGIO is the overflow signal, which the probe needs as well.
      process.on('SIGIO', () => {});
      console.log(JSON.stringify(signalIoAvailable()));
      process.exit(0);
    `);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { ok: boolean; code: string; syscall: string; detail: string };
    expect(out).toMatchObject({ ok: false, code: 'EBUSY', syscall: 'sigaction' });
    expect(out.detail).toMatch(/has a handler that is not iomodes'/);
  });
});
