/**
 * examples/: each one run as a user runs it, `node examples/<name>.mjs` from
 * the repository root (it imports 'iomodes/coro' by the package's
 * self-reference, so dist/ must be built: test/global-setup.ts does it), its
 * output asserted line by line. The environment is passed through: under
 * ASan in CI the child is Node loading the sanitized addon, and needs the
 * preload.
 */
import { spawn as spawnChild, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixture, root } from './helpers/index.js';

/** Runs `node [execArgv] examples/<name> [args]` in the repository root. */
function example(name: string, args: string[] = [], execArgv: string[] = [], timeout = 20_000): SpawnSyncReturns<string> & { ms: number; shown: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...execArgv, join('examples', name), ...args], { cwd: root, encoding: 'utf8', timeout, env: process.env });
  const ms = performance.now() - t0;
  const shown = `node examples/${name} ${args.join(' ')}: status ${r.status}, signal ${r.signal}, ${Math.round(ms)} ms\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
  return { ...r, ms, shown };
}

/** The lines of a child's output (without the last newline). */
const lines = (out: string): string[] => out.replace(/\n$/, '').split('\n');

/**
 * A module to preload with `--import`: it puts the hub on the virtual clock
 * before the example runs, so the example itself has no test hook, and it
 * reports the virtual time at exit. It imports dist/ by the same real path
 * the example's 'iomodes/coro' resolves to, so both share one hub.
 */
function virtualClock(): string {
  const coro = pathToFileURL(join(realpathSync(root), 'dist', 'coro', 'index.js')).href;
  return fixture(
    `import { createHub, useHub } from ${JSON.stringify(coro)};\n` +
      `createHub({ clock: 'virtual' });\n` +
      `process.on('exit', () => process.stderr.write('virtual time: ' + useHub().now() + ' ms\\n'));\n`,
    'virtual-clock.mjs',
  );
}

/** A port free a moment ago (the kernel picked it), for `--port`. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('examples/greenlet.mjs', () => {
  it('prints 12, 56, 34 and never 78', () => {
    const r = example('greenlet.mjs');
    expect(r.status, r.shown).toBe(0);
    expect(r.stdout).toBe('12\n56\n34\n');
    expect(r.stderr).toBe('');
  });
});

describe('examples/gevent.mjs', () => {
  const expected = [
    'run fun1 for the first time',
    'run fun2 for the first time',
    'run fun3 for the first time',
    'second run fun2',
    'second run fun1',
    'second run fun3',
  ];

  it('prints the six lines in gevent order, on the virtual clock: 2 s of virtual time', () => {
    const r = example('gevent.mjs', [], ['--import', virtualClock()]);
    expect(r.status, r.shown).toBe(0);
    expect(lines(r.stdout)).toEqual(expected);
    // Exactly 2000: the longest sleep, the sleeps overlapping (a real clock would not land on it).
    expect(r.stderr).toBe('virtual time: 2000 ms\n');
  });

  it('prints the six lines in gevent order, on the real clock, in about 2 s', () => {
    const r = example('gevent.mjs');
    expect(r.status, r.shown).toBe(0);
    expect(lines(r.stdout)).toEqual(expected);
    expect(r.stderr).toBe('');
    // Generous: the sleeps overlap (2 s, not 5), on a noisy machine, Node's start-up included.
    expect(r.ms, r.shown).toBeGreaterThanOrEqual(2000);
    expect(r.ms, r.shown).toBeLessThan(10_000);
  });
});

describe('examples/crawler.mjs', () => {
  it('fetches three slow pages concurrently in about the slowest time, and sequentially in about the sum', () => {
    const r = example('crawler.mjs');
    expect(r.status, r.shown).toBe(0);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    const page = (delay: number): RegExp => new RegExp(`^    200 "page from the ${delay} ms server" \\(27 bytes\\), at (\\d+) ms$`);
    const total = /^ {4}total (\d+) ms$/;
    const expected: (string | RegExp)[] = [
      'three servers, slow on purpose: 300, 500, 700 ms (1500 ms in all)',
      '(a) iomodes sockets, one task per URL',
      page(300), page(500), page(700), total,
      '(b) fetch() through call(), one task per URL',
      page(300), page(500), page(700), total,
      '(c) iomodes sockets, one URL after the other',
      page(300), page(500), page(700), total,
      /^concurrent: (\d+) and (\d+) ms, about the slowest page \(700 ms\); sequential: (\d+) ms, about the sum$/,
    ];
    expect(out.length, r.shown).toBe(expected.length);
    const numbers: number[][] = [];
    expected.forEach((want, i) => {
      if (typeof want === 'string') return expect(out[i], r.shown).toBe(want);
      const m = want.exec(out[i]!);
      expect(m, `line ${i + 1} should match ${want}\n${r.shown}`).not.toBeNull();
      numbers.push(m!.slice(1).map(Number));
    });
    const [a300, a500, a700, aTotal, b300, b500, b700, bTotal, c300, c500, c700, cTotal] = numbers.map((n) => n[0]!);
    expect(numbers[12], r.shown).toEqual([aTotal, bTotal, cTotal]);
    // A page never comes before its server's delay (a few ms of slack for
    // Node's millisecond timers and the rounding); in sequence, never before
    // the delays so far added up.
    const SLACK = 5;
    for (const [at, after] of [[a300, 300], [a500, 500], [a700, 700], [b300, 300], [b500, 500], [b700, 700], [c300, 300], [c500, 800], [c700, 1500]]) {
      expect(at!, r.shown).toBeGreaterThanOrEqual(after! - SLACK);
    }
    // Concurrently, the crawl takes about the slowest page, well under the
    // sequential crawl, which takes the sum. Generous margins: a noisy
    // 2-core machine, maybe running the suite under ASan.
    for (const concurrent of [aTotal!, bTotal!]) {
      expect(concurrent, r.shown).toBeGreaterThanOrEqual(700 - SLACK);
      expect(concurrent, r.shown).toBeLessThan(0.8 * cTotal!);
    }
    expect(cTotal!, r.shown).toBeGreaterThanOrEqual(1500 - SLACK);
  });
});

describe('examples/echo.mjs', () => {
  it('--demo: runs its clients against the server and exits 0', () => {
    const r = example('echo.mjs', ['--demo']);
    expect(r.status, r.shown).toBe(0);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    expect(out.length, r.shown).toBe(2);
    expect(out[0]).toMatch(/^echo server listening on 127\.0\.0\.1:\d+$/);
    expect(out[1]).toBe('3 clients, 5 lines each: 15 of 15 echoes matched');
  });

  it('--port: serves on that port until killed, echoing what a client sends', async () => {
    const free = await freePort();
    const child = spawnChild(process.execPath, [join('examples', 'echo.mjs'), '--port', String(free)], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const m = /^echo server listening on 127\.0\.0\.1:(\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (status, signal) => reject(new Error(`the server exited (${status ?? signal}) before saying its port: ${out}${stderr}`)));
    });
    expect(port).toBe(free);

    // A line, its echo, then our end of stream, and the server's in return.
    const echoed = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let got = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write('hello, echo\n'));
      socket.on('data', (chunk: string) => {
        got += chunk;
        if (got.endsWith('\n')) socket.end();
      });
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    expect(echoed).toBe('hello, echo\n');

    // A server runs until it is stopped.
    expect(child.exitCode).toBeNull();
    const exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve(signal ?? status)));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(stderr).toBe('');
  });
});
