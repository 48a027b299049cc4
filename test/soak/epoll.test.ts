/**
 * Soak of epoll (lib/multiplex.ts `Epoll`): 5,000 registered pipes,
 * socketpairs and eventfds, then 10,000 cycles of closing a random one and
 * opening a new one — which the kernel usually gives the number just freed —
 * and registering it. Half the cycles wait synchronously (`wait`), half on
 * Node's event loop (`waitAsync`, the watcher on the epoll fd).
 *
 * Each cycle makes a few files readable (sometimes the one about to be
 * closed, so the kernel holds a ready event for the old registration), and
 * the next wait must report exactly those: each once, with the `data` of
 * the file that holds the number now, never a closed one's.
 *
 * Most closes are `delete()` then `close()`. The rest close first, which
 * docs/multiplex.md allows when no duplicate keeps the file open (the
 * kernel then drops the registration with the file): the number is added
 * again, or `delete()` clears the record afterwards. No file here is ever
 * duplicated, so no registration may be orphaned: the soak asserts that
 * `IOMODES_EPOLL_ORPHAN` is never warned and no event is ever stale.
 *
 * Random choices come from IOMODES_SOAK_SEED (a fresh seed otherwise),
 * which the report names.
 */
import { describe, expect, it } from 'vitest';
import { close, Epoll, eventfd, pipe, socketpair, tryRead, tryWrite, WOULD_BLOCK, type EpollEvent } from '../../lib/index.js';
import { FULL, nativeHandles, openFds, report, rssMiB, RSS_GROWTH_LIMIT_MIB, scaled, settle, SEED, seededRandom } from './harness.js';



const rand = seededRandom(SEED);
/** An integer in [0, n). */
const below = (n: number): number => Math.floor(rand() * n);

const FILES = scaled(5000, 300);
const CYCLES = scaled(10_000, 1000); // per phase: synchronous, then on the event loop
const KINDS = ['pipe', 'socketpair', 'eventfd'] as const;
type Kind = (typeof KINDS)[number];

/** A registered file, and the fd that makes it readable (itself, for an eventfd). */
interface File {
  id: number;
  kind: Kind;
  fd: number;
  peer: number;
  /** Made readable and not yet reported. */
  armed: boolean;
  open: boolean;
}

const ONE = new BigUint64Array([1n]);
const drainBuffer = Buffer.alloc(64);

let nextId = 0;

function openFile(kind: Kind): File {
  let fd: number;
  let peer: number;
  if (kind === 'pipe') [fd, peer] = pipe({ nonblocking: true });
  else if (kind === 'socketpair') [fd, peer] = socketpair({ nonblocking: true });
  else fd = peer = eventfd(0, { nonblocking: true });
  return { id: nextId++, kind, fd, peer, armed: false, open: true };
}

/** Makes `file` readable: a byte from its peer, or the eventfd's counter up. */
function poke(file: File): void {
  const n = file.kind === 'eventfd' ? tryWrite(file.fd, ONE) : tryWrite(file.peer, drainBuffer, 0, 1);
  expect(n, `file ${file.id}: writing to make it readable`).not.toBe(WOULD_BLOCK);
}

/** Makes `file` readable, as a readiness the next wait must report. */
function arm(file: File): void {
  poke(file);
  file.armed = true;
  tally.armed++;
}

/** Reads `file` until it would block: no longer readable. */
function drain(file: File): void {
  while (tryRead(file.fd, drainBuffer, 0, file.kind === 'eventfd' ? 8 : drainBuffer.length) !== WOULD_BLOCK);
  file.armed = false;
}

/** What the soak counts. */
const tally = {
  armed: 0, // readiness made (operations)
  reported: 0, // armed files reported by the next wait (settled)
  lost: 0, // armed files the next wait did not report
  duplicated: 0, // a file reported twice in one batch
  stale: 0, // an event whose data is a closed file, or another file than the one its fd names now
  spurious: 0, // an open file reported that nobody made readable
  cycles: 0,
  reused: 0, // new files that got the number just closed
  closedFirst: 0, // closes without delete() first
  waits: 0,
};

describe('soak: epoll with close and reopen', () => {
  it(`${FILES.toLocaleString('en')} fds, ${(2 * CYCLES).toLocaleString('en')} close/reopen cycles: readiness always belongs to the file that holds the number now`, async () => {
    const fdsBefore = openFds();
    const handlesBefore = nativeHandles();
    let orphanWarnings = 0;
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === 'IOMODES_EPOLL_ORPHAN') orphanWarnings++;
    };
    process.on('warning', onWarning);
    const epoll = Epoll.create<File>();
    const files: File[] = []; // the registered files, in no order
    const byFd = new Map<number, File>();
    let warm = 0;
    let staleEvents = 0;
    let seconds = 0;

    const register = (file: File): void => {
      epoll.add(file.fd, rand() < 0.3 ? Epoll.IN | Epoll.ET : Epoll.IN, file);
      byFd.set(file.fd, file);
    };

    /** Checks one batch of events against the armed files, then drains what was reported. */
    const check = (events: EpollEvent<File>[], armed: File[]): void => {
      tally.waits++;
      const seen = new Set<File>();
      for (const { fd, events: bits, data: file } of events) {
        if (!file.open || file.fd !== fd || byFd.get(fd) !== file) tally.stale++;
        else if (seen.has(file)) tally.duplicated++;
        else if (!file.armed || (bits & Epoll.IN) === 0) tally.spurious++;
        else seen.add(file);
      }
      for (const file of armed) {
        if (seen.has(file)) tally.reported++;
        else tally.lost++;
      }
      for (const file of seen) drain(file);
      for (const file of armed) if (file.armed) drain(file); // lost: clear it for the next cycle
    };

    /**
     * Closes a random registered file — delete() first, or close first — and
     * opens and registers a new one; arms the new one and, sometimes, a
     * random other (and the closed one just before it went). Returns the
     * armed files the next wait must report.
     */
    const cycle = (atLeastOne: boolean): File[] => {
      tally.cycles++;
      const slot = below(files.length);
      const old = files[slot]!;
      if (rand() < 0.5) poke(old); // a ready event the kernel must forget with the file
      const closeFirst = rand() < 0.25;
      if (closeFirst) {
        tally.closedFirst++;
      } else {
        epoll.delete(old.fd);
      }
      old.open = false;
      byFd.delete(old.fd);
      close(old.fd);
      if (old.peer !== old.fd) close(old.peer);
      // The same kind half the time, so the same numbers come back.
      const fresh = openFile(rand() < 0.5 ? old.kind : KINDS[below(KINDS.length)]!);
      if (fresh.fd === old.fd) tally.reused++;
      register(fresh);
      if (closeFirst && fresh.fd !== old.fd) {
        // The kernel dropped the registration with the file, but the Epoll
        // still holds its record: delete() clears it, refused by the kernel
        // (the number is closed, or names the new file's unregistered peer).
        let code: string | undefined;
        try {
          epoll.delete(old.fd);
        } catch (error) {
          code = (error as { code?: string }).code;
        }
        expect(code, `delete(${old.fd}) after closing it`).toMatch(/^(EBADF|ENOENT)$/);
      }
      files[slot] = fresh;
      const armed: File[] = [];
      if (atLeastOne || rand() < 0.5) {
        arm(fresh);
        armed.push(fresh);
      }
      if (rand() < 0.5) {
        const other = files[below(files.length)]!;
        if (!other.armed) {
          arm(other);
          armed.push(other);
        }
      }
      return armed;
    };

    const t0 = performance.now();
    try {
      for (let i = 0; i < FILES; i++) {
        const file = openFile(KINDS[i % KINDS.length]!);
        register(file);
        files.push(file);
      }
      // Nothing is readable yet; then a random 1% at once.
      check(epoll.wait(1024, 0), []);
      const some = files.filter(() => rand() < 0.01);
      for (const file of some) arm(file);
      check(epoll.wait(1024, 0), some);

      for (let c = 0; c < CYCLES; c++) {
        const armed = cycle(false);
        check(epoll.wait(1024, 0), armed);
      }
      expect(epoll.size).toBe(FILES);

      // On the event loop: the watcher on the epoll fd delivers the batch.
      // Each cycle arms at least one file, so each wait has a batch to give.
      for (let c = 0; c < CYCLES; c++) {
        const armed = cycle(true);
        check(await epoll.waitAsync(10_000), armed);
        // After warm-up: both paths run, JIT done, the Epoll's maps at size.
        if (c === Math.floor(CYCLES / 4)) warm = rssMiB();
      }
      expect(epoll.size).toBe(FILES);
      // The event-loop waits left nothing behind: nothing is ready now.
      check(epoll.wait(1024, 0), []);
      seconds = (performance.now() - t0) / 1000;
      staleEvents = epoll.staleEvents;
    } finally {
      for (const file of files) {
        if (!file.open) continue;
        epoll.delete(file.fd);
        close(file.fd);
        if (file.peer !== file.fd) close(file.peer);
      }
      epoll.close();
      // A warning is emitted on the next tick: give it time to come.
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
    }
    await settle(() => openFds() === fdsBefore && nativeHandles().watchers === handlesBefore.watchers);
    const fdsAfter = openFds();
    const handlesAfter = nativeHandles();
    const end = rssMiB();
    report({
      name: 'epoll close/reopen',
      operations: tally.armed,
      settled: tally.reported,
      lost: tally.lost,
      duplicated: tally.duplicated + tally.stale + tally.spurious,
      fds: { before: fdsBefore, after: fdsAfter },
      rss: { warm, end },
      seconds,
      extra: {
        seed: SEED,
        files: FILES,
        cycles: tally.cycles,
        waits: tally.waits,
        reusedNumber: tally.reused,
        closedBeforeDelete: tally.closedFirst,
        stale: tally.stale,
        spurious: tally.spurious,
        staleEvents,
        orphanWarnings,
      },
    });
    expect({ lost: tally.lost, duplicated: tally.duplicated, stale: tally.stale, spurious: tally.spurious }).toEqual({ lost: 0, duplicated: 0, stale: 0, spurious: 0 });
    expect(tally.reported).toBe(tally.armed);
    // No file was ever duplicated, so no registration outlived its file.
    expect({ staleEvents, orphanWarnings }).toEqual({ staleEvents: 0, orphanWarnings: 0 });
    // The soak did what it says: numbers came back, and some closes came before delete().
    expect(tally.reused).toBeGreaterThan(tally.cycles / 4);
    expect(tally.closedFirst).toBeGreaterThan(0);
    expect(fdsAfter).toBe(fdsBefore);
    expect(handlesAfter).toEqual(handlesBefore);
    if (FULL) expect(end - warm).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, FULL ? 600_000 : 60_000);
});
