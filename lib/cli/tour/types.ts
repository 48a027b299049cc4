/**
 * The shapes `iomodes tour` works with: a part, the context it runs in, and
 * the result it hands back (what `--json` prints for it).
 *
 * @internal
 * @module
 */
import type { Peer } from './peer.js';

/**
 * A measured number with its unit.
 *
 * @example
 * ```ts
 * const figure: TourFigure = { name: 'blocked in read(2)', value: 101.3, unit: 'ms' };
 * ```
 */
export interface TourFigure {
  /** What was measured, in a few words. */
  name: string;
  /** The number, always finite. */
  value: number;
  /** `'ms'`, `'µs'`, `'ns'`, `'MB/s'`, `'calls'`, `'turns'`, `'%'`… */
  unit: string;
}

/**
 * What one part of the tour found, as `iomodes tour --json` prints it in
 * `parts`.
 *
 * @example
 * ```ts
 * const r: TourResult = await blocking.run(ctx);
 * console.log(r.narrative.join('\n'), r.figure);
 * ```
 */
export interface TourResult {
  /** The part's name, as `iomodes tour <part>` takes it: `'blocking'`. */
  part: string;
  /** The I/O model it shows: `'blocking I/O'`. */
  model: string;
  /** What it does, in a line: `read(2) on an empty pipe`. */
  title: string;
  /** The syscalls it made (the interesting ones), in order. */
  syscalls: string[];
  /** Whether the thread went to sleep waiting for this I/O. */
  blocked: boolean;
  /** Who waited for what, in a phrase (the table's "what waited" column). */
  waited: string;
  /** The headline figure. */
  figure: TourFigure;
  /** The other figures the narrative quotes. */
  figures: TourFigure[];
  /** What happened, in plain words: one sentence or two a line, 2 to 5 lines. */
  narrative: string[];
  /** What the table's figure column shows: the headline and what it compares with. */
  summary: string;
  /** When a capability is missing here: what the part used instead, and why; otherwise `null`. */
  fallback: string | null;
  /** How long the part took, in milliseconds. */
  elapsedMs: number;
}

/** What a part's `run` fills in; the runner adds the rest. */
export type PartOutcome = Omit<TourResult, 'part' | 'model' | 'title' | 'elapsedMs' | 'summary' | 'fallback'> & {
  summary?: string;
  fallback?: string | null;
};

/**
 * What a part runs with: one temp dir, a writer on another thread, and the
 * tour's abort signal (Ctrl-C).
 *
 * @example
 * ```ts
 * const path = ctx.file('data', 16 << 20);
 * const wrote = ctx.peer.writeLater(fd, 50, 'ping');
 * await ctx.wait(wrote);
 * ```
 */
export interface TourContext {
  /** The tour's temp dir, under `os.tmpdir()`, removed at the end. */
  readonly dir: string;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  readonly signal: AbortSignal;
  /** A worker thread that writes to fds after a delay. */
  readonly peer: Peer;
  /** A file of `size` bytes in {@link TourContext.dir}, written and synced once, shared by the parts. */
  file(name: string, size: number): string;
  /** `promise`, or an `AbortError` as soon as the tour is interrupted. */
  wait<T>(promise: PromiseLike<T>): Promise<T>;
  /** Throws an `AbortError` if the tour was interrupted. */
  checkpoint(): void;
}

/**
 * One part of the tour.
 *
 * @example
 * ```ts
 * const part: TourPart = { name: 'blocking', model: 'blocking I/O', title: 'read(2) on an empty pipe', run: async (ctx) => ({ … }) };
 * ```
 */
export interface TourPart {
  name: string;
  model: string;
  title: string;
  run(ctx: TourContext): Promise<PartOutcome>;
}
