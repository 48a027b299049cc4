/**
 * The tour's other thread: a Worker that writes to an fd after a delay, so
 * the main thread has something real to wait for (fds are shared by every
 * thread of the process).
 *
 * @internal
 * @module
 */
import { Worker } from 'node:worker_threads';

// Plain CommonJS, evaluated in the Worker: it needs nothing but fs. It
// answers with the moment of the write, on the monotonic clock every thread
// shares (process.hrtime), so the main thread can say how long after the
// write it woke up.
const PEER_CODE = `
const { parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
parentPort.on('message', ({ id, fd, ms, data }) => {
  setTimeout(() => {
    try {
      // Timed just before the write: the woken reader may run before this thread gets back from write(2).
      const at = Number(process.hrtime.bigint()) / 1e6;
      const n = writeSync(fd, data);
      parentPort.postMessage({ id, at, n });
    } catch (err) {
      parentPort.postMessage({ id, error: String(err && err.message || err) });
    }
  }, ms);
});
`;

/**
 * Milliseconds on the monotonic clock every thread of the process shares.
 *
 * @example
 * ```ts
 * const t0 = now(); work(); console.log(now() - t0, 'ms');
 * ```
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** When and how much the peer wrote. */
export interface PeerWrite {
  /** {@link now} just before the worker called `write(2)`. */
  at: number;
  /** Bytes written. */
  n: number;
}

/**
 * A Worker that writes to fds after a delay, started on first use.
 *
 * @example
 * ```ts
 * const peer = new Peer();
 * await peer.ready();
 * const wrote = peer.writeLater(fd, 100, 'hello'); // the worker writes in 100 ms
 * read(otherEnd, buf);                              // meanwhile, this thread blocks
 * console.log((await wrote).at);
 * await peer.close();
 * ```
 */
export class Peer {
  #worker: Worker | undefined;
  #online: Promise<void> | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (w: PeerWrite) => void; reject: (e: Error) => void }>();

  /** Starts the Worker if needed and waits until it runs. */
  ready(): Promise<void> {
    if (this.#online === undefined) {
      const worker = new Worker(PEER_CODE, { eval: true });
      this.#worker = worker;
      worker.on('message', (m: { id: number; at?: number; n?: number; error?: string }) => {
        const p = this.#pending.get(m.id);
        if (p === undefined) return;
        this.#pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(`the peer thread's write failed: ${m.error}`));
        else p.resolve({ at: m.at!, n: m.n! });
      });
      worker.on('error', (err) => this.#failAll(err));
      worker.on('exit', () => this.#failAll(new Error('the peer thread exited')));
      this.#online = new Promise((resolve) => worker.once('online', () => resolve()));
    }
    return this.#online;
  }

  /** Asks the Worker to `write(2)` `data` to `fd` in `ms` milliseconds; resolves when it has. */
  writeLater(fd: number, ms: number, data: string | Uint8Array): Promise<PeerWrite> {
    void this.ready();
    const id = this.#nextId++;
    const done = new Promise<PeerWrite>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    // A part interrupted before it awaits this must not turn the peer's
    // exit into an unhandled rejection; whoever awaits still sees it.
    done.catch(() => {});
    this.#worker!.postMessage({ id, fd, ms, data });
    return done;
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Stops the Worker (idempotent). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#online = undefined;
    if (worker !== undefined) await worker.terminate();
  }
}
