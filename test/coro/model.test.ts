/**
 * A model-based test of the scheduler (fast-check's fc.commands): random
 * sequences of spawn (sleepers, queue getters and putters, getters under
 * withTimeout), kill, put/get from outside, and join, run on the virtual
 * clock against a small model of what gevent's semantics say must happen.
 *
 * After every command the bounded queue's items, getters and putters, and
 * each task's state, value and `finally` count must be the model's; after
 * every sequence each task that ever started ran its `finally` exactly
 * once, a task killed before it started never ran, and the hub holds
 * nothing (expectIdle()).
 *
 * Every command lets the hub run until nothing is ready (on the virtual
 * clock a sleep or a timeout then ends at once), so the model need not
 * guess at interleavings: each task has run to its first wait, or its end.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, killAll, Queue, sleep, spawn, Task, TaskExit, TimeoutError, useHub, withTimeout } from '../../lib/coro/index.js';
import { expectIdle, turns } from '../helpers/coro.js';

const SEED = Number(process.env.IOMODES_FUZZ_SEED ?? 20261129);
const NUM_RUNS = Number(process.env.IOMODES_MODEL_RUNS ?? 800);
/** The queue's bound: small, so putters block often. */
const MAXSIZE = 2;

type Kind = 'sleeper' | 'getter' | 'putter' | 'timedGetter';
type State = 'parked' | 'ok' | 'killed' | 'timedOut';

interface ModelTask {
  kind: Kind;
  state: State;
  started: boolean;
  value?: unknown;
  item?: number;
}

interface Model {
  queue: number[];
  /** Parked getters (timed ones too), longest waiting first: task indexes. */
  getters: number[];
  /** Parked putters, longest waiting first: task indexes. */
  putters: number[];
  tasks: ModelTask[];
}

interface Real {
  queue: Queue<number>;
  tasks: Task<unknown>[];
  finallies: number[];
}

/** What the runs went through, to show the sequences reach the cases that matter. */
const seen = { parkedKilled: 0, timedOut: 0, putterLetIn: 0, handedToGetter: 0, killedBeforeStart: 0 };

/** Lets the hub run until nothing is ready and no timer is left to jump to. */
async function settle(): Promise<void> {
  for (let k = 0; k < 100; k++) {
    await turns(1);
    const { ready, timers } = useHub().counts;
    if (ready === 0 && timers === 0) return;
  }
  throw new Error(`the hub did not settle: ${JSON.stringify(useHub().counts)}`);
}

// ---------------------------------------------------------- the model's rules

/** A get (from a task or tryGet): the head item, then the longest-waiting putter's item moves in. */
function modelTake(m: Model): number | undefined {
  if (m.queue.length === 0) return undefined;
  const item = m.queue.shift()!;
  const putter = m.putters.shift();
  if (putter !== undefined) {
    seen.putterLetIn++;
    m.queue.push(m.tasks[putter]!.item!);
    Object.assign(m.tasks[putter]!, { state: 'ok', value: 'put' });
  }
  return item;
}

/** A put (from a task or tryPut): to the longest-waiting getter, else into the queue if there is room. */
function modelOffer(m: Model, item: number): boolean {
  const getter = m.getters.shift();
  if (getter !== undefined) {
    seen.handedToGetter++;
    Object.assign(m.tasks[getter]!, { state: 'ok', value: item });
    return true;
  }
  if (m.queue.length >= MAXSIZE) return false;
  m.queue.push(item);
  return true;
}

// ---------------------------------------------------------- the real tasks

function body(real: Real, id: number, kind: Kind, arg: number): () => Generator<never, unknown, unknown> {
  return function* () {
    try {
      switch (kind) {
        case 'sleeper':
          yield* sleep(arg);
          return 'slept';
        case 'getter':
          return yield* real.queue.get();
        case 'putter':
          yield* real.queue.put(arg);
          return 'put';
        case 'timedGetter':
          return yield* withTimeout(arg, real.queue.get());
      }
    } finally {
      real.finallies[id]!++;
    }
  } as () => Generator<never, unknown, unknown>;
}

/** Checks the real queue and every task against the model. */
function check(m: Model, r: Real): void {
  expect({ size: r.queue.size, getters: r.queue.getters, putters: r.queue.putters }, 'queue').toEqual({
    size: m.queue.length,
    getters: m.getters.length,
    putters: m.putters.length,
  });
  m.tasks.forEach((t, i) => {
    const task = r.tasks[i]!;
    const what = `task ${i} (${t.kind}, ${t.state})`;
    expect(task.done, what).toBe(t.state !== 'parked');
    // finally has run once a started task ended, and never for one that did not start.
    expect(r.finallies[i], `${what}: finally runs`).toBe(t.started && t.state !== 'parked' ? 1 : 0);
    if (t.state === 'ok') {
      expect(task.successful, what).toBe(true);
      expect(task.value, what).toBe(t.value);
    } else if (t.state === 'killed') {
      // gevent: a TaskExit that propagates ends the task successfully, with the TaskExit as its value.
      expect(task.successful, what).toBe(true);
      expect(task.value, what).toBeInstanceOf(TaskExit);
      expect(task.error, what).toBeUndefined();
    } else if (t.state === 'timedOut') {
      expect(task.successful, what).toBe(false);
      expect(task.error, what).toBeInstanceOf(TimeoutError);
    }
  });
}

// ---------------------------------------------------------- commands

type Cmd = fc.AsyncCommand<Model, Real>;

class Spawn implements Cmd {
  constructor(
    readonly kind: Kind,
    readonly arg: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const id = m.tasks.length;
    r.finallies.push(0);
    const task = spawn(body(r, id, this.kind, this.arg));
    // A failure (a timeout) is checked through the task, not reported as unhandled.
    task.then(undefined, () => {});
    r.tasks.push(task);
    const t: ModelTask = { kind: this.kind, state: 'parked', started: true };
    m.tasks.push(t);
    switch (this.kind) {
      case 'sleeper':
        Object.assign(t, { state: 'ok', value: 'slept' });
        break;
      case 'getter':
      case 'timedGetter': {
        const item = modelTake(m);
        if (item !== undefined) Object.assign(t, { state: 'ok', value: item });
        // A timed getter that must wait times out: the clock jumps to its deadline.
        else if (this.kind === 'timedGetter') {
          seen.timedOut++;
          t.state = 'timedOut';
        }
        else m.getters.push(id);
        break;
      }
      case 'putter':
        t.item = this.arg;
        if (modelOffer(m, this.arg)) Object.assign(t, { state: 'ok', value: 'put' });
        else m.putters.push(id);
        break;
    }
    await settle();
    check(m, r);
  }
  toString(): string {
    return `spawn ${this.kind}(${this.arg})`;
  }
}

/** Spawns a sleeper and kills it before it ever runs. */
class SpawnKilled implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const id = m.tasks.length;
    r.finallies.push(0);
    const task = spawn(body(r, id, 'sleeper', 10));
    task.kill();
    r.tasks.push(task);
    m.tasks.push({ kind: 'sleeper', state: 'killed', started: false });
    seen.killedBeforeStart++;
    await settle();
    check(m, r);
  }
  toString(): string {
    return 'spawn sleeper, killed before it starts';
  }
}

class Kill implements Cmd {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>): boolean {
    return m.tasks.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    // A parked task if there is one (the case with something to undo), else any.
    const parked = m.tasks.flatMap((t, i) => (t.state === 'parked' ? [i] : []));
    const i = parked.length > 0 ? parked[this.index % parked.length]! : this.index % m.tasks.length;
    const t = m.tasks[i]!;
    if (t.state === 'parked') {
      m.getters = m.getters.filter((g) => g !== i);
      m.putters = m.putters.filter((p) => p !== i);
      t.state = 'killed';
      seen.parkedKilled++;
    }
    // Killing a task that has ended changes nothing.
    await r.tasks[i]!.kill();
    await settle();
    check(m, r);
  }
  toString(): string {
    return `kill #${this.index}`;
  }
}

class TryPut implements Cmd {
  constructor(readonly item: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    expect(r.queue.tryPut(this.item), `tryPut(${this.item})`).toBe(modelOffer(m, this.item));
    await settle();
    check(m, r);
  }
  toString(): string {
    return `tryPut(${this.item})`;
  }
}

class TryGet implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const item = modelTake(m);
    expect(r.queue.tryGet(), 'tryGet()').toEqual(item === undefined ? { ok: false } : { ok: true, value: item });
    await settle();
    check(m, r);
  }
  toString(): string {
    return 'tryGet()';
  }
}

/** Joins a task that has ended: its value, or its error (a killed task's TaskExit too). */
class Join implements Cmd {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>): boolean {
    return m.tasks.some((t) => t.state !== 'parked');
  }
  async run(m: Model, r: Real): Promise<void> {
    const ended = m.tasks.map((t, i) => [t, i] as const).filter(([t]) => t.state !== 'parked');
    const [t, i] = ended[this.index % ended.length]!;
    const outcome = await r.tasks[i]!.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (t.state === 'ok') expect(outcome).toEqual({ value: t.value });
    else expect((outcome as { error?: unknown }).error).toBeInstanceOf(t.state === 'killed' ? TaskExit : TimeoutError);
    check(m, r);
  }
  toString(): string {
    return `join #${this.index}`;
  }
}

const item = fc.integer({ min: 0, max: 99 });
const ms = fc.integer({ min: 0, max: 5000 });
const commands = fc.commands(
  [
    fc.tuple(fc.constantFrom<Kind>('getter', 'putter'), item).map(([k, v]) => new Spawn(k, v)),
    item.map((v) => new Spawn('putter', v)),
    ms.map((n) => new Spawn('sleeper', n)),
    ms.map((n) => new Spawn('timedGetter', n)),
    fc.constant(new SpawnKilled()),
    fc.nat().map((n) => new Kill(n)),
    item.map((v) => new TryPut(v)),
    fc.constant(new TryGet()),
    fc.nat().map((n) => new Join(n)),
  ],
  { maxCommands: 40 },
);

describe('scheduler model (virtual clock)', () => {
  afterEach(() => {
    // Leave the thread a fresh default hub, whatever a failing run left.
    try {
      useHub().close();
    } catch {
      // a live task: the failure is reported already
    }
  });

  it('matches the model: queue contents, task outcomes, finally exactly once, nothing left registered', async () => {
    await fc.assert(property(MAXSIZE), { seed: SEED, numRuns: NUM_RUNS });
    console.log(`scheduler model: seed ${SEED}, ${NUM_RUNS} sequences; went through ${JSON.stringify(seen)}`);
    // Not vacuous: the sequences reached every case the model has a rule for.
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
  });

  it('fails against a queue the model does not describe (the property can fail)', async () => {
    // A queue one larger than the model's: a putter the model parks goes in.
    const err = await fc.assert(property(MAXSIZE + 1), { seed: SEED, numRuns: NUM_RUNS }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/Property failed after \d+ tests/);
    expect(err?.message).toMatch(/spawn putter/);
  });
});

/** The property: every command sequence on a real queue of `maxsize` matches the model (whose bound is MAXSIZE). */
function property(maxsize: number): fc.IAsyncPropertyWithHooks<[Iterable<Cmd>]> {
  return fc.asyncProperty(commands, async (cmds) => {
    createHub({ clock: 'virtual' });
    const real: Real = { queue: new Queue<number>(maxsize), tasks: [], finallies: [] };
    const model: Model = { queue: [], getters: [], putters: [], tasks: [] };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // The queue holds exactly the model's items, in order.
      const left: number[] = [];
      for (let got = real.queue.tryGet(); got.ok; got = real.queue.tryGet()) left.push(got.value);
      expect(left, 'items left in the queue').toEqual(model.queue.concat(model.putters.map((p) => model.tasks[p]!.item!)));
    } finally {
      await killAll(real.tasks);
      await settle();
    }
    model.tasks.forEach((t, i) => expect(real.finallies[i], `task ${i} (${t.kind}): finally runs`).toBe(t.started ? 1 : 0));
    expectIdle();
    useHub().close();
  });
}
