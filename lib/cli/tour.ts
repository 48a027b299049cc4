/**
 * `iomodes tour`: the whole story of the I/O models, live on this machine.
 * Each part really does the thing with iomodes' own API — blocking,
 * non-blocking, multiplexing, signal-driven and asynchronous I/O, cache
 * against direct I/O, the event-driven model and coroutines — on a temp
 * file, socketpairs and loopback TCP, says in plain words what happened
 * and measures one figure; the end shows them side by side.
 *
 * @module
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { arch, availableParallelism, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { codedError } from '../errors.js';
import { asynchronous } from './tour/asynchronous.js';
import { blocking } from './tour/blocking.js';
import { coroutines } from './tour/coroutines.js';
import { direct } from './tour/direct.js';
import { eventLoop } from './tour/event-loop.js';
import { multiplexing } from './tour/multiplexing.js';
import { nonblocking } from './tour/nonblocking.js';
import { now, Peer } from './tour/peer.js';
import { signalDriven } from './tour/signal-driven.js';
import type { TourContext, TourPart, TourResult } from './tour/types.js';
import { show } from './tour/util.js';

export type { TourContext, TourFigure, TourPart, TourResult } from './tour/types.js';

/**
 * Every part, in the order the tour runs them.
 *
 * @example
 * ```ts
 * tourParts.map((p) => p.name); // ['blocking', 'nonblocking', 'multiplexing', …, 'coroutines']
 * ```
 */
export const tourParts: readonly TourPart[] = [blocking, nonblocking, multiplexing, signalDriven, asynchronous, direct, eventLoop, coroutines];

/**
 * One row of the side-by-side table.
 *
 * @example
 * ```ts
 * const row: TourRow = { part: 'blocking', model: 'blocking I/O', waited: 'the main thread, asleep in read(2)', figure: 'blocked 101 ms; …' };
 * ```
 */
export interface TourRow {
  part: string;
  model: string;
  /** Who waited for what. */
  waited: string;
  /** The part's figures, in a phrase. */
  figure: string;
}

/**
 * What `iomodes tour --json` prints.
 *
 * - `schema`: `1`; bumped only when a key changes meaning or goes away.
 * - `kernel`, `node`, `arch`, `cpus`: the machine the figures come from.
 * - `complete`: every part asked for ran and succeeded; `interrupted`: Ctrl-C
 *   (or SIGTERM) stopped the tour, and `parts` holds what was measured
 *   before.
 * - `parts`: one {@link TourResult} per part that finished: `part`, `model`,
 *   `title`, `syscalls`, `blocked`, `waited`, `figure` (`{ name, value,
 *   unit }`), `figures`, `narrative` (lines), `summary`, `fallback`,
 *   `elapsedMs`.
 * - `failures`: parts that failed, with the error's message.
 * - `table`: the side-by-side rows, one per finished part.
 */
export interface TourReport {
  schema: 1;
  kernel: string;
  node: string;
  arch: string;
  cpus: number;
  complete: boolean;
  interrupted: boolean;
  elapsedMs: number;
  parts: TourResult[];
  failures: { part: string; error: string }[];
  table: TourRow[];
}

/** Options of {@link tour}. */
export interface TourOptions {
  /** The parts to run, by name, in this order; default every part. */
  parts?: readonly string[];
  /** Aborting it stops the tour at the next safe point; what was measured is kept. */
  signal?: AbortSignal;
  /** Called before each part. */
  onPartStart?: (part: TourPart, index: number, count: number) => void;
  /** Called after each part that finished. */
  onPartEnd?: (result: TourResult, index: number, count: number) => void;
  /** Called after each part that failed (not for an interruption). */
  onPartError?: (part: TourPart, error: unknown) => void;
}

function abortError(): Error {
  const err = new Error('the tour was interrupted');
  err.name = 'AbortError';
  return err;
}

function isAbort(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * Checks part names, for the CLI and for {@link tour}.
 *
 * @throws `TypeError` `ERR_INVALID_ARG_VALUE` naming the unknown part and the known ones
 * @example
 * ```ts
 * resolveParts(['direct']); // [direct]
 * ```
 */
export function resolveParts(names: readonly string[] | undefined): TourPart[] {
  if (names === undefined || names.length === 0) return [...tourParts];
  const parts: TourPart[] = [];
  for (const name of names) {
    const part = tourParts.find((p) => p.name === name);
    if (part === undefined) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `unknown part '${name}' (the parts: ${tourParts.map((p) => p.name).join(', ')})`);
    if (!parts.includes(part)) parts.push(part);
  }
  return parts;
}

/**
 * Runs the tour (or the parts named) and returns what it measured. Its
 * temporary files live in one directory under `os.tmpdir()`, removed when
 * it returns, when it fails, and when the process exits early.
 *
 * @example
 * ```ts
 * import { tour } from './tour.js'; // from lib/cli/, as main.ts does
 * const report = await tour({ parts: ['blocking', 'direct'] });
 * for (const r of report.parts) console.log(r.part, r.figure);
 * ```
 */
export async function tour(options: TourOptions = {}): Promise<TourReport> {
  const parts = resolveParts(options.parts);
  const signal = options.signal ?? new AbortController().signal;
  const started = now();
  const dir = mkdtempSync(join(tmpdir(), 'iomodes-tour-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  // A process.exit() anywhere (a second Ctrl-C) still takes the files away.
  process.on('exit', removeDir);
  const peer = new Peer();
  const files = new Map<string, string>();
  const ctx: TourContext = {
    dir,
    signal,
    peer,
    file(name, size) {
      let path = files.get(name);
      if (path === undefined) {
        path = join(dir, name);
        const block = Buffer.alloc(1 << 20);
        for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 12)) & 0xff;
        const fd = openSync(path, 'w');
        try {
          for (let done = 0; done < size; done += block.length) writeSync(fd, block.subarray(0, Math.min(block.length, size - done)));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        files.set(name, path);
      }
      return path;
    },
    wait(promise) {
      if (signal.aborted) return Promise.reject(abortError());
      return new Promise((resolve, reject) => {
        const onAbort = (): void => reject(abortError());
        signal.addEventListener('abort', onAbort, { once: true });
        Promise.resolve(promise).then(
          (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
          (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
        );
      });
    },
    checkpoint() {
      if (signal.aborted) throw abortError();
    },
  };

  const results: TourResult[] = [];
  const failures: TourReport['failures'] = [];
  let interrupted = false;
  try {
    for (const [index, part] of parts.entries()) {
      if (signal.aborted) {
        interrupted = true;
        break;
      }
      options.onPartStart?.(part, index, parts.length);
      const t0 = now();
      try {
        const outcome = await part.run(ctx);
        const result: TourResult = {
          part: part.name,
          model: part.model,
          title: part.title,
          syscalls: outcome.syscalls,
          blocked: outcome.blocked,
          waited: outcome.waited,
          figure: outcome.figure,
          figures: outcome.figures,
          narrative: outcome.narrative,
          summary: outcome.summary ?? show(outcome.figure),
          fallback: outcome.fallback ?? null,
          elapsedMs: Math.round(now() - t0),
        };
        results.push(result);
        options.onPartEnd?.(result, index, parts.length);
      } catch (err) {
        if (isAbort(err) || signal.aborted) {
          interrupted = true;
          break;
        }
        failures.push({ part: part.name, error: (err as Error)?.message ?? String(err) });
        options.onPartError?.(part, err);
      }
    }
  } finally {
    await peer.close();
    removeDir();
    process.off('exit', removeDir);
  }
  return {
    schema: 1,
    kernel: release(),
    node: process.version,
    arch: arch(),
    cpus: availableParallelism(),
    complete: !interrupted && failures.length === 0 && results.length === parts.length,
    interrupted,
    elapsedMs: Math.round(now() - started),
    parts: results,
    failures,
    table: results.map((r) => ({ part: r.part, model: r.model, waited: r.waited, figure: r.summary })),
  };
}

// ------------------------------------------------------------ text

/** Folds `text` into lines of at most `width` columns, each starting with `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  width: number;
}

function style(stream: NodeJS.WriteStream): Style {
  const color = stream.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
  return {
    bold: (s) => (color ? `\x1b[1m${s}\x1b[22m` : s),
    dim: (s) => (color ? `\x1b[2m${s}\x1b[22m` : s),
    width: Math.max(60, Math.min(stream.isTTY === true ? (stream.columns ?? 100) : 100, 100)),
  };
}

const plain: Style = { bold: (s) => s, dim: (s) => s, width: 100 };

/**
 * The heading the tour prints before a part runs.
 *
 * @example
 * ```ts
 * renderHeading(tourParts[0], 0, 8); // '[1/8] blocking: blocking I/O — read(2) on an empty pipe'
 * ```
 */
export function renderHeading(part: TourPart, index: number, count: number, s: Style = plain): string {
  return s.bold(`[${index + 1}/${count}] ${part.name}: ${part.model} — ${part.title}`);
}

/**
 * What the tour prints after a part: its narrative, the syscalls, any
 * fallback, and the measured figure.
 *
 * @example
 * ```ts
 * process.stdout.write(renderResult(result));
 * ```
 */
export function renderResult(r: TourResult, s: Style = plain): string {
  const lines = [
    ...r.narrative.flatMap((sentence) => wrap(sentence, s.width, '  ')),
    ...(r.fallback === null ? [] : wrap(`instead: ${r.fallback}`, s.width, '  ')),
    s.dim(`  syscalls: ${r.syscalls.join(', ')}; the thread ${r.blocked ? 'blocked' : 'did not block'}`),
    `  measured: ${r.figure.name}: ${s.bold(show(r.figure))}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The side-by-side table: part, model, what waited, figure.
 *
 * @example
 * ```ts
 * process.stdout.write(renderTable(report.table));
 * ```
 */
export function renderTable(rows: readonly TourRow[]): string {
  const header: TourRow = { part: 'part', model: 'model', waited: 'what waited', figure: 'figure' };
  const all = [header, ...rows];
  const w = (key: keyof TourRow): number => Math.max(...all.map((r) => r[key].length));
  const [wp, wm, ww] = [w('part'), w('model'), w('waited')];
  const line = (r: TourRow): string => `${r.part.padEnd(wp)}  ${r.model.padEnd(wm)}  ${r.waited.padEnd(ww)}  ${r.figure}`.trimEnd();
  const rule = `${'-'.repeat(wp)}  ${'-'.repeat(wm)}  ${'-'.repeat(ww)}  ${'-'.repeat(Math.max(...all.map((r) => r.figure.length)))}`;
  return `${[line(header), rule, ...rows.map(line)].join('\n')}\n`;
}

/**
 * How to call `iomodes tour`, for `--help`.
 *
 * @example
 * ```ts
 * console.log(`usage: ${usage}`);
 * ```
 */
export const usage = `iomodes tour [--json] [PART...]   parts: ${tourParts.map((p) => p.name).join(', ')}`;

/**
 * The `tour` command as `lib/cli/main.ts` dispatches it: runs the tour (or
 * the parts named), printing each part as it finishes and the table at the
 * end (or one JSON document with `--json`). Exit code 0; 1 when a part
 * failed; 130 when interrupted by Ctrl-C (143 for SIGTERM), after printing
 * what was measured and removing the temp files.
 *
 * @example
 * ```ts
 * import { tourCommand } from './tour.js';
 * process.exitCode = await tourCommand.run(['direct', '--json']);
 * ```
 */
export const tourCommand = {
  name: 'tour',
  summary: 'every I/O model, live on this machine, side by side',
  usage,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    const parts = resolveParts(positionals);
    const out = process.stdout;
    const s = style(out);
    const json = values.json === true;

    const controller = new AbortController();
    let exitCode = 0;
    const onSignal = (name: NodeJS.Signals): void => {
      const code = name === 'SIGINT' ? 130 : 143;
      // A second one: stop now (the exit hook still removes the temp dir).
      if (controller.signal.aborted) process.exit(code);
      exitCode = code;
      controller.abort();
      if (!json) process.stderr.write(`\niomodes tour: ${name}: stopping after what was measured\n`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      if (!json) {
        out.write(s.bold('iomodes tour: the I/O models, live on this machine\n'));
        out.write(`Linux ${release()}, Node ${process.version}, ${arch()}, ${availableParallelism()} CPUs; temp files under ${tmpdir()}, removed at the end\n`);
      }
      const report = await tour({
        parts: parts.map((p) => p.name),
        signal: controller.signal,
        onPartStart: json ? undefined : (part, i, n) => out.write(`\n${renderHeading(part, i, n, s)}\n`),
        onPartEnd: json ? undefined : (result) => out.write(renderResult(result, s)),
        onPartError: json ? undefined : (part, err) => out.write(`  failed: ${(err as Error)?.message ?? String(err)}\n`),
      });
      if (json) {
        out.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        out.write('\n');
        if (report.interrupted) out.write(s.bold(`Interrupted: ${report.parts.length} of ${parts.length} parts measured; temp files removed.\n`));
        out.write(s.bold(`Side by side (${(report.elapsedMs / 1000).toFixed(1)} s in all)\n`));
        out.write(renderTable(report.table));
      }
      if (report.interrupted) {
        // Whatever a stopped part left running must not keep the process.
        setTimeout(() => process.exit(exitCode), 3000).unref();
        return exitCode || 130;
      }
      return report.failures.length > 0 ? 1 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
