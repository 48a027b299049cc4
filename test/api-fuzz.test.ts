/**
 * A property-based fuzz (fast-check) of the public API as users get it
 * (dist/): every exported function of `iomodes` and `iomodes/coro`, and
 * every method, getter and setter of every exported class, on live and on
 * closed (or used-up) instances, with hostile arguments: wrong types, huge,
 * negative and fractional numbers, closed and never-opened fds, detached and
 * zero-length buffers, Proxies and getters that throw, hostile option
 * objects. Each call must return, or throw / reject with an Error carrying
 * a string `code`; the child must exit 0 with no signal.
 *
 * The exports are enumerated at run time (test/helpers/api-fuzz-child.mjs),
 * so a new export is fuzzed without an edit here; a new class needs a
 * factory there, and the `missing` check below says so. Members marked
 * `@internal` in lib/ are not public API and are left out (read from the
 * sources here, so the child need not guess).
 *
 * Each target gets random argument lists, then mutations of the lists
 * that got past its checks (one position made hostile), to reach the checks
 * of later arguments. One child per area, the four side by side, so a crash
 * names its area and, through the progress file, the call in flight. The
 * seed is fixed and printed (IOMODES_FUZZ_SEED overrides), so CI sees the
 * same calls every run; a failure prints fast-check's shrunk counterexample.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distEntry, root } from './helpers/index.js';

const SEED = Number(process.env.IOMODES_FUZZ_SEED ?? 20261129);
/**
 * Runs per class member (about 480 of them, live and closed) and per
 * exported function (about 80, so three times as many): sized so the file
 * stays well under 15 s on a noisy 2-core VM. IOMODES_FUZZ_RUNS scales both.
 */
const NUM_RUNS = Number(process.env.IOMODES_FUZZ_RUNS ?? 12);
const FUNCTION_RUNS = 3 * NUM_RUNS;
/** Generous: the machine is noisy, and CI runs this under ASan too. */
const CHILD_TIMEOUT = 120_000;

const AREAS = ['io-functions', 'io-classes', 'coro-functions', 'coro-classes'] as const;

interface Problem {
  target: string;
  /** What went wrong, the call with its arguments, and fast-check's shrunk counterexample. */
  problem: string;
  /** How many failing runs fast-check went through (shrinking included). */
  seen?: number;
}

interface FuzzResult {
  counts: Record<string, number>;
  outcomes: Record<string, { returned: number; threw: number; passed: number }>;
  problems: Problem[];
  skipped: Record<string, string>;
  missing: string[];
  ms: number;
  debugCounters: { watchers: number; ownedFds: number; pinnedOps: number };
}

/**
 * Class members whose TSDoc says `@internal`, or that TypeScript makes
 * private: `Class#member`, `Class#constructor`. Read from lib/ so the
 * public surface the fuzz covers is the documented one.
 */
function internalMembers(): string[] {
  const names: string[] = [];
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  for (const file of files(join(root, 'lib'))) {
    let cls: string | undefined;
    let internal = false;
    let inDoc = false;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const c = /^(?:export )?(?:abstract )?class (\w+)/.exec(line);
      if (c) {
        cls = c[1];
        internal = false;
        continue;
      }
      if (/^\s*\/\*\*/.test(line)) {
        inDoc = true;
        internal = false;
      }
      if (inDoc) {
        if (line.includes('@internal')) internal = true;
        if (line.includes('*/')) inDoc = false;
        continue;
      }
      const m = /^ {2}(private |protected )?(?:static |readonly |async |get |set |\*)*\s*(\[Symbol\.\w+\]|[A-Za-z_$][\w$]*)\s*[(<:=;]/.exec(line);
      if (cls !== undefined && m) {
        if (internal || m[1] !== undefined) names.push(`${cls}#${m[2]!.replace(/^\[Symbol\.(\w+)\]$/, '[Symbol.$1]')}`);
        internal = false;
      } else if (line.trim() !== '' && !line.trim().startsWith('//')) {
        internal = false;
      }
    }
  }
  return names;
}

interface ChildRun {
  area: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  progress: string;
  resultPath: string;
  ms: number;
}

/**
 * Starts the child for one area. Asynchronous, so the areas run side by
 * side: a child spends most of its time waiting for the loop to turn (a
 * task's wake-up, a completion), not on the CPU.
 */
function startArea(area: string, dir: string, numRuns = NUM_RUNS): Promise<ChildRun> {
  const cwd = mkdtempSync(join(dir, `${area}-`));
  const resultPath = join(cwd, 'result.json');
  const progressPath = join(cwd, 'progress.txt');
  const config = {
    area,
    distUrl: distEntry(),
    coroUrl: new URL('coro/index.js', distEntry()).href,
    seed: SEED,
    numRuns,
    functionRuns: 3 * numRuns,
    internal: internalMembers(),
    progressPath,
    resultPath,
  };
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'test/helpers/api-fuzz-child.mjs'), JSON.stringify(config)], {
    cwd, // files a fuzzed open() or bind() creates land in this temp dir
    env: process.env, // LD_PRELOAD, ASAN_OPTIONS and IOMODES_ADDON included
    // stdin and stdout are /dev/null: a fuzzed close(0) or write(1, ...) is harmless.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 1 << 20) stderr += chunk;
  });
  // SIGKILL: a child stuck in a blocking syscall must not hold the run.
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT);
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const progress = existsSync(progressPath) ? readFileSync(progressPath, 'utf8').trimEnd() : '(none)';
      resolve({ area, status, signal, stderr, progress, resultPath, ms: Date.now() - started });
    });
  });
}

/** Asserts the child exited 0 with no signal and no sanitizer report, and gives what it wrote. */
function resultOf(run: ChildRun): FuzzResult {
  const shown = `api fuzz child (${run.area}, seed ${SEED}): status ${run.status}, signal ${run.signal}\ncall in flight: ${run.progress}\n--- child stderr ---\n${run.stderr}`;
  expect({ status: run.status, signal: run.signal }, shown).toEqual({ status: 0, signal: null });
  expect(run.stderr, shown).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error:/);
  return JSON.parse(readFileSync(run.resultPath, 'utf8')) as FuzzResult;
}

function describeProblems(res: FuzzResult): string {
  return `${res.problems.length} calls broke the rule (seed ${SEED}):\n${res.problems.map((p) => `- ${p.target}: ${p.problem}`).join('\n')}`;
}

describe('api fuzz', () => {
  const runs = new Map<string, Promise<ChildRun>>();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iomodes-api-fuzz-'));
    console.log(`api fuzz: seed ${SEED} (IOMODES_FUZZ_SEED overrides), ${FUNCTION_RUNS} runs per function, ${NUM_RUNS} per member`);
    runs.set('selftest', startArea('selftest', dir, 40));
    for (const area of AREAS) runs.set(area, startArea(area, dir));
  });
  afterAll(async () => {
    // Every child has ended (each is awaited by its test, or killed by its timer) before its files go.
    await Promise.all(runs.values());
    rmSync(dir, { recursive: true, force: true });
  });

  it('knows internal members from their TSDoc', () => {
    const internal = internalMembers();
    expect(internal).toContain('Hub#start'); // @internal
    expect(internal).toContain('Timeout#constructor'); // private constructor
    expect(internal).not.toContain('Hub#close');
    expect(internal).not.toContain('Epoll#add');
  });

  it('reports a code-less error, with its function and arguments (the harness can fail)', async () => {
    const res = resultOf(await runs.get('selftest')!);
    const targets = new Set(res.problems.map((p) => p.target));
    expect(targets).toContain('selftest.broken');
    expect(targets).toContain('Broken#method');
    expect(targets).not.toContain('selftest.fine');
    const broken = res.problems.find((p) => p.target === 'selftest.broken')!.problem;
    expect(broken).toMatch(/RangeError \(no code\): thrown without a code/);
    // fast-check's shrunk counterexample names the arguments.
    expect(broken).toMatch(/fast-check counterexample \(shrunk, seed \d+\): \[.+\]/);
    expect(res.problems.find((p) => p.target === 'Broken#method')!.problem).toMatch(/TypeError \(no code\): rejected without a code/);
  }, 2 * CHILD_TIMEOUT);

  for (const area of AREAS) {
    it(`${area}: every call returns or throws an Error with a code`, async () => {
      const run = await runs.get(area)!;
      const res = resultOf(run);
      const targets = Object.keys(res.counts);
      console.log(
        `api fuzz ${area} (seed ${SEED}, ${run.ms} ms wall): ${targets.length} targets, ${Object.values(res.counts).reduce((a, b) => a + b, 0)} calls\n` +
          targets.map((t) => `  ${t} ${res.counts[t]}`).join('\n'),
      );
      expect(res.problems, describeProblems(res)).toEqual([]);
      expect(res.missing, 'exported classes without a factory in test/helpers/api-fuzz-child.mjs').toEqual([]);
      expect(targets.length).toBeGreaterThan(10);
      for (const t of targets) expect(res.counts[t], `calls made to ${t}`).toBeGreaterThanOrEqual(area.endsWith('functions') ? FUNCTION_RUNS : NUM_RUNS);
      // Nothing left open: every object and fd the calls made was closed.
      expect(res.debugCounters).toMatchObject({ watchers: 0, ownedFds: 0, pinnedOps: 0 });
    }, 2 * CHILD_TIMEOUT);
  }
});
