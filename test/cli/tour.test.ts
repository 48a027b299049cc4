/**
 * `iomodes tour`, run as a child process the way a user runs it: the whole
 * tour, `--json`, one part at a time, argument errors, the fallbacks, and
 * Ctrl-C. Figures are checked for shape and for what the physics guarantees
 * (a read that a worker ends after 100 ms blocks at least that long), never
 * for speed.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTable, resolveParts, tourParts, type TourReport, type TourResult } from '../../lib/cli/tour.js';
import { expectCode, mayskip, root } from '../helpers/index.js';

const main = join(root, 'dist/cli/main.js');
const PARTS = ['blocking', 'nonblocking', 'multiplexing', 'signal-driven', 'asynchronous', 'direct', 'event-loop', 'coroutines'];
const MODELS = ['blocking I/O', 'non-blocking I/O', 'I/O multiplexing', 'signal-driven I/O', 'asynchronous I/O', 'cache I/O vs direct I/O', 'event-driven', 'coroutines'];
const UNITS = ['ms', 'µs', 'ns', 'MB/s', 'calls', '%', 'times', 'turns'];
/** Generous: the target is 20 s on a 2-core machine, and the tests run under load. */
const BOUND_MS = 60_000;
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'iomodes-tour-test-'));
  expect(existsSync(main)).toBe(true);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh directory for the tour's TMPDIR, so what it leaves behind can be seen. */
function tempRoot(base = scratch): string {
  return mkdtempSync(join(base, 'tmp-'));
}

function iomodes(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> & { ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return Object.assign(r, { ms: performance.now() - t0 });
}

function json(args: string[], env: NodeJS.ProcessEnv = {}): TourReport {
  const r = iomodes(['tour', '--json', ...args], env);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as TourReport;
}

/** The table rows of a text run, as cells (split on runs of 2+ spaces). */
function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Side by side'));
  expect(start, stdout).toBeGreaterThan(0);
  const [header, rule, ...rows] = lines.slice(start + 1).filter((l) => l !== '');
  expect(header).toMatch(/^part\s+model\s+what waited\s+figure$/);
  expect(rule).toMatch(/^-+( {2}-+){3}$/);
  return rows.map((row) => row.split(/ {2,}/));
}

function checkResult(r: TourResult, name: string): void {
  expect(Object.keys(r)).toEqual(['part', 'model', 'title', 'syscalls', 'blocked', 'waited', 'figure', 'figures', 'narrative', 'summary', 'fallback', 'elapsedMs']);
  expect(r.part).toBe(name);
  expect(r.model).toBe(MODELS[PARTS.indexOf(name)]);
  expect(r.syscalls.length).toBeGreaterThan(0);
  for (const s of r.syscalls) expect(typeof s).toBe('string');
  expect(typeof r.blocked).toBe('boolean');
  expect(r.waited.length).toBeGreaterThan(0);
  for (const f of [r.figure, ...r.figures]) {
    expect(Object.keys(f)).toEqual(['name', 'value', 'unit']);
    expect(f.name.length).toBeGreaterThan(0);
    expect(Number.isFinite(f.value)).toBe(true);
    expect(f.value).toBeGreaterThanOrEqual(0);
    expect(UNITS).toContain(f.unit);
    if (f.unit === '%') expect(f.value).toBeLessThanOrEqual(100);
  }
  expect(r.figure.value).toBeGreaterThan(0);
  expect(r.narrative.length).toBeGreaterThanOrEqual(2);
  expect(r.narrative.length).toBeLessThanOrEqual(5);
  for (const line of r.narrative) expect(line).toMatch(/^\S.*[.:]$/);
  expect(r.fallback === null || typeof r.fallback === 'string').toBe(true);
  expect(r.elapsedMs).toBeGreaterThanOrEqual(0);
}

const figure = (r: TourResult, name: string): number => {
  const f = [r.figure, ...r.figures].find((x) => x.name === name);
  expect(f, `${r.part} has no figure '${name}'`).toBeDefined();
  return f!.value;
};

describe('iomodes tour (text)', () => {
  let run: ReturnType<typeof iomodes>;
  let dir: string;
  beforeAll(() => {
    dir = tempRoot();
    run = iomodes(['tour'], { TMPDIR: dir });
  }, 130_000);

  it('runs every part, exits 0, and finishes within the bound', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.ms).toBeLessThan(BOUND_MS);
  });

  it('prints every part heading in order, each followed by its narrative and figure', () => {
    const headings = run.stdout.split('\n').filter((l) => l.startsWith('['));
    expect(headings).toEqual(PARTS.map((p, i) => expect.stringMatching(new RegExp(`^\\[${i + 1}/8\\] ${p}: ${MODELS[i]!.replace(/[/]/g, '\\/')} — \\S`))));
    expect(run.stdout.match(/^ {2}measured: .+: \d/gm)).toHaveLength(8);
    expect(run.stdout.match(/^ {2}syscalls: .+; the thread (blocked|did not block)$/gm)).toHaveLength(8);
  });

  it('ends with the side-by-side table, one row per part', () => {
    const rows = tableRows(run.stdout);
    expect(rows.map((r) => r[0])).toEqual(PARTS);
    expect(rows.map((r) => r[1])).toEqual(MODELS);
    for (const row of rows) expect(row).toHaveLength(4);
  });

  it('writes plain text when piped: no colour escapes', () => {
    expect(run.stdout).not.toContain('\x1b[');
  });

  it('removes its temp files', () => {
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('iomodes tour --json', () => {
  let report: TourReport;
  let dir: string;
  beforeAll(() => {
    dir = tempRoot();
    report = json([], { TMPDIR: dir });
  }, 130_000);

  it('prints one document with the documented keys', () => {
    expect(Object.keys(report)).toEqual(['schema', 'kernel', 'node', 'arch', 'cpus', 'complete', 'interrupted', 'elapsedMs', 'parts', 'failures', 'table']);
    expect(report).toMatchObject({ schema: 1, node: process.version, complete: true, interrupted: false, failures: [] });
    expect(report.elapsedMs).toBeLessThan(BOUND_MS);
  });

  it('gives every part with its syscalls, whether it blocked, a figure with a unit, and the narrative', () => {
    expect(report.parts.map((r) => r.part)).toEqual(PARTS);
    for (const [i, r] of report.parts.entries()) checkResult(r, PARTS[i]!);
    const blocked = Object.fromEntries(report.parts.map((r) => [r.part, r.blocked]));
    expect(blocked).toEqual({ blocking: true, nonblocking: false, multiplexing: true, 'signal-driven': false, asynchronous: false, direct: true, 'event-loop': false, coroutines: false });
  });

  it('gives the table rows, one per part', () => {
    expect(report.table).toEqual(report.parts.map((r) => ({ part: r.part, model: r.model, waited: r.waited, figure: r.summary })));
  });

  it('measures what the waits guarantee, not speeds', () => {
    const [blocking, nonblocking, multiplexing, signal, asynchronous, direct, , coroutines] = report.parts as TourResult[];
    // The worker writes 100 ms after being asked: the read cannot return sooner.
    expect(blocking!.figure).toMatchObject({ name: 'blocked in read(2)', unit: 'ms' });
    expect(blocking!.figure.value).toBeGreaterThan(90);
    expect(figure(blocking!, 'a 10 ms timer fired late by')).toBeGreaterThan(50);
    expect(nonblocking!.figure.unit).toBe('calls');
    expect(figure(multiplexing!, 'blocked in epoll_wait')).toBeGreaterThan(40);
    expect(multiplexing!.narrative.join(' ')).toMatch(/exactly that one fd/);
    expect(signal!.narrative.join(' ')).toMatch(signal!.fallback === null ? /si_fd=\d+, si_band=0x[0-9a-f]+ \(POLLIN/ : /SIGIO/);
    expect(figure(asynchronous!, 'read 16 MiB, 16 in flight')).toBeGreaterThan(0);
    if (direct!.fallback === null && figure(direct!, 'cached after the buffered read') === 100) {
      expect(figure(direct!, 'cached after the O_DIRECT read')).toBe(0);
    }
    // Sleeps are never shorter than asked: concurrent ≥ the slowest, sequential ≥ the sum.
    expect(coroutines!.figure.value).toBeGreaterThanOrEqual(150);
    expect(figure(coroutines!, 'sequential fetch')).toBeGreaterThanOrEqual(300);
    expect(coroutines!.narrative.join(' ')).toContain('"first fun1, first fun2, first fun3, second fun2, second fun1, second fun3"');
  });

  it('removes its temp files', () => {
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('iomodes tour <part>', () => {
  it.each(PARTS)('runs %s alone', (name) => {
    const dir = tempRoot();
    const r = iomodes(['tour', name], { TMPDIR: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('['))).toEqual([expect.stringMatching(new RegExp(`^\\[1/1\\] ${name}: `))]);
    expect(tableRows(r.stdout).map((row) => row[0])).toEqual([name]);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('runs several parts in the order given, each once', () => {
    const report = json(['direct', 'blocking', 'direct']);
    expect(report.parts.map((r) => r.part)).toEqual(['direct', 'blocking']);
    expect(report.complete).toBe(true);
  }, 60_000);
});

describe('iomodes tour, where a capability is missing', () => {
  it('uses the threadpool when io_uring is ruled out, and says why', () => {
    const report = json(['asynchronous'], { IOMODES_DISABLE: 'io_uring' });
    const [r] = report.parts as [TourResult];
    checkResult(r, 'asynchronous');
    expect(r.fallback).toMatch(/^io_uring is not available here \(disabled: IOMODES_DISABLE names io_uring\); used the threadpool backend instead$/);
    expect(r.narrative[0]).toMatch(/threadpool/);
    expect(r.syscalls.join(' ')).toMatch(/pool/);
  }, 60_000);

  it('still runs the direct part on a tmpfs, and cleans up there', () => {
    if (!existsSync('/dev/shm') && mayskip('no /dev/shm here')) return;
    const base = join('/dev/shm', `iomodes-tour-test-${process.pid}`);
    mkdirSync(base, { recursive: true });
    try {
      const dir = tempRoot(base);
      const report = json(['direct', 'asynchronous'], { TMPDIR: dir });
      for (const r of report.parts) checkResult(r, r.part);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('iomodes tour arguments', () => {
  it('exits 2 with usage for an unknown part', () => {
    const r = iomodes(['tour', 'bogus']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^iomodes tour: unknown part 'bogus' \(the parts: blocking, nonblocking, multiplexing, signal-driven, asynchronous, direct, event-loop, coroutines\)\nUsage: iomodes tour \[--json\] \[PART\.\.\.\]/);
  });

  it('exits 2 with usage for an unknown option, and runs nothing', () => {
    const dir = tempRoot();
    const r = iomodes(['tour', '--bogus'], { TMPDIR: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^iomodes tour: .+\nUsage: iomodes tour/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('prints its usage for --help, and is listed in iomodes --help', () => {
    const r = iomodes(['tour', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: iomodes tour \[--json\] \[PART\.\.\.\]/);
    expect(iomodes(['--help']).stdout).toContain('iomodes tour [--json] [PART...]');
  });
});

/** Starts the tour, sends `signal` once `ready` says so, and collects the outcome. */
function interrupt(args: string[], signal: NodeJS.Signals, ready: (stdout: string, dir: string) => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; dir: string }> {
  const dir = tempRoot();
  const child = spawn(process.execPath, [main, 'tour', ...args], { cwd: root, env: { ...process.env, TMPDIR: dir } });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const poll = setInterval(() => {
    if (!sent && ready(stdout, dir)) {
      sent = true;
      child.kill(signal);
    }
  }, 10);
  return new Promise((resolve) => {
    child.on('close', (code, sig) => {
      clearInterval(poll);
      resolve({ code, signal: sig, stdout, stderr, dir });
    });
  });
}

describe('iomodes tour, interrupted', () => {
  it('stops on Ctrl-C mid-tour, prints what it measured, removes its files and exits 130', async () => {
    const r = await interrupt([], 'SIGINT', (stdout) => stdout.includes('[3/8] '));
    expect(r.signal).toBe(null);
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('\niomodes tour: SIGINT: stopping after what was measured\n');
    const done = tableRows(r.stdout).map((row) => row[0]);
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(8);
    expect(done).toEqual(PARTS.slice(0, done.length));
    expect(r.stdout).toMatch(new RegExp(`^Interrupted: ${done.length} of 8 parts measured; temp files removed\\.$`, 'm'));
    expect(readdirSync(r.dir)).toEqual([]);
  }, 60_000);

  it('prints the partial report as JSON with --json, once the file parts have begun', async () => {
    // The data file appears when the asynchronous part starts: the tour is well under way.
    const started = (dir: string): boolean => readdirSync(dir).some((d) => existsSync(join(dir, d, 'data')));
    const r = await interrupt(['--json'], 'SIGINT', (_, dir) => started(dir));
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as TourReport;
    expect(report).toMatchObject({ complete: false, interrupted: true });
    expect(report.parts.length).toBeGreaterThanOrEqual(4);
    expect(report.parts.length).toBeLessThan(8);
    for (const p of report.parts) checkResult(p, p.part);
    expect(readdirSync(r.dir)).toEqual([]);
  }, 60_000);

  it('stops the same way on SIGTERM, exiting 143', async () => {
    const r = await interrupt([], 'SIGTERM', (stdout) => stdout.includes('[2/8] '));
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(/^Interrupted: \d of 8 parts measured/m);
    expect(readdirSync(r.dir)).toEqual([]);
  }, 60_000);
});

describe('the tour module', () => {
  it('knows the parts by name and refuses others before running anything', () => {
    expect(tourParts.map((p) => p.name)).toEqual(PARTS);
    expect(resolveParts([]).map((p) => p.name)).toEqual(PARTS);
    expect(resolveParts(['coroutines', 'blocking']).map((p) => p.name)).toEqual(['coroutines', 'blocking']);
    expectCode(() => resolveParts(['nope']), 'ERR_INVALID_ARG_VALUE');
  });

  it('aligns the table columns', () => {
    const out = renderTable([
      { part: 'a', model: 'long model', waited: 'x', figure: '1 ms' },
      { part: 'longer', model: 'm', waited: 'who waited', figure: '2 µs' },
    ]);
    expect(out).toBe(
      [
        'part    model       what waited  figure',
        '------  ----------  -----------  ------',
        'a       long model  x            1 ms',
        'longer  m           who waited   2 µs',
        '',
      ].join('\n'),
    );
  });
});
