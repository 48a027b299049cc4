/**
 * Tour part `direct`: cache I/O against direct I/O on one temp file: a
 * buffered read brings the file into the page cache (seen by `mincore`),
 * an `O_DIRECT` read leaves it out, and a warm read shows what the cache
 * is worth.
 *
 * @internal
 * @module
 */
import { allocAligned, close, directIoAvailable, dropCache, open, openDirect, pread, residency } from '../../index.js';
import { DATA_FILE } from './asynchronous.js';
import { now } from './peer.js';
import type { TourPart } from './types.js';
import { fig, mib, num } from './util.js';

const CHUNK = 1 << 20;

/** Reads the whole file with `pread` into `buf`, chunk by chunk; returns the milliseconds it took. */
function readAll(fd: number, buf: Buffer, size: number): number {
  const t0 = now();
  for (let pos = 0; pos < size; pos += CHUNK) {
    const n = pread(fd, buf, pos, 0, CHUNK);
    if (n !== Math.min(CHUNK, size - pos)) throw new Error(`short read at ${pos}: ${n}`);
  }
  return now() - t0;
}

function best(run: () => number): number {
  return Math.min(run(), run());
}

function percent(fd: number): number {
  const r = residency(fd);
  return r.pages === 0 ? 0 : (100 * r.resident) / r.pages;
}

/**
 * The `direct` part.
 *
 * @example
 * ```ts
 * const outcome = await direct.run(ctx); // outcome.figures: cold, warm and O_DIRECT MB/s, and residency after each
 * ```
 */
export const direct: TourPart = {
  name: 'direct',
  model: 'cache I/O vs direct I/O',
  title: `the same ${mib(DATA_FILE.size)} read buffered, from the cache, and with O_DIRECT`,
  async run(ctx) {
    const size = DATA_FILE.size;
    const path = ctx.file(DATA_FILE.name, size);
    const fd = open(path, 'r');
    const buf = allocAligned(CHUNK);
    let dfd = -1;
    try {
      const mb = size / 1e6;
      // Each read the better of two, so a busy machine's hiccup does not decide the story.
      let before = 100;
      const coldMs = best(() => {
        dropCache(fd);
        before = percent(fd);
        return readAll(fd, buf, size);
      });
      const afterCold = percent(fd);
      ctx.checkpoint();
      const warmMs = best(() => readAll(fd, buf, size));
      ctx.checkpoint();
      const probe = directIoAvailable(ctx.dir);
      let directMs = NaN;
      let afterDirect = NaN;
      let fallback: string | null = null;
      if (probe.ok) {
        dfd = openDirect(path, 'r');
        dropCache(fd);
        directMs = best(() => readAll(dfd, buf, size));
        afterDirect = percent(fd);
      } else {
        fallback = `O_DIRECT is refused in ${ctx.dir} (${probe.reason}: ${probe.detail}); only the buffered reads were measured`;
      }
      const evicts = before < 1;
      const directRate = `${num(directMs)} ms (${num(mb / (directMs / 1000))} MB/s)`;
      const narrative = evicts
        ? [
            `After posix_fadvise(DONTNEED), mincore(2) saw ${num(before)}% of the file in the page cache. A buffered read of it (pread, 1 MiB at a time) took ${num(coldMs)} ms (${num(mb / (coldMs / 1000))} MB/s): device → page cache → buffer, and the cache kept a copy: ${num(afterCold)}% resident after.`,
            coldMs / warmMs >= 1.2
              ? `Read again, warm: ${num(warmMs)} ms (${num(mb / (warmMs / 1000))} MB/s), ${num(coldMs / warmMs)}× as fast as the cold read: only the copy from the cache to the buffer is left.`
              : `Read again, warm: ${num(warmMs)} ms (${num(mb / (warmMs / 1000))} MB/s), no faster than the cold read: this disk delivers about as fast as a memory copy (or the machine was busy), so the cache saves little time here.`,
            probe.ok
              ? `With O_DIRECT (openDirect, a 4096-aligned buffer from allocAligned), after dropping the cache again: ${directRate}, device → buffer by DMA, and the cache stayed at ${num(afterDirect)}%: no copy went through it${directMs > coldMs * 1.2 ? '; slower than the buffered read, as one request at a time gets no readahead working ahead of it' : ''}.`
              : `O_DIRECT is refused here (${probe.reason}): ${probe.detail}. iomodes doctor --path DIR finds a filesystem that takes it.`,
          ]
        : [
            `The file stayed ${num(before)}% in the page cache despite posix_fadvise(DONTNEED): on this filesystem (a tmpfs?) the page cache is the file's only home, so there is no device, and no extra copy to save.`,
            `A buffered read (pread, 1 MiB at a time) took ${num(coldMs)} ms, and again ${num(warmMs)} ms (${num(mb / (warmMs / 1000))} MB/s): both are copies from those pages to the buffer.`,
            probe.ok
              ? `With O_DIRECT (openDirect, a 4096-aligned buffer from allocAligned): ${directRate}; the filesystem takes the flag but copies from its pages all the same, which stay ${num(afterDirect)}% resident. Run the tour with TMPDIR on a disk filesystem to see the difference.`
              : `O_DIRECT is refused here (${probe.reason}): ${probe.detail}. Run the tour with TMPDIR on a disk filesystem to see it.`,
          ];
      const headline = probe.ok ? fig(`O_DIRECT read of ${mib(size)}`, mb / (directMs / 1000), 'MB/s') : fig(`buffered cold read of ${mib(size)}`, mb / (coldMs / 1000), 'MB/s');
      return {
        syscalls: ['fdatasync', 'posix_fadvise(DONTNEED)', 'mincore', 'pread64', ...(probe.ok ? ['openat(O_DIRECT)', 'pread64 (O_DIRECT)'] : [])],
        blocked: true,
        waited: evicts ? 'the thread, in pread, for the device' : 'the thread, in pread, for a memory copy',
        figure: headline,
        figures: [
          fig('buffered, cold', mb / (coldMs / 1000), 'MB/s'),
          fig('cached after the buffered read', afterCold, '%'),
          fig('buffered, warm', mb / (warmMs / 1000), 'MB/s'),
          ...(probe.ok ? [fig('O_DIRECT', mb / (directMs / 1000), 'MB/s'), fig('cached after the O_DIRECT read', afterDirect, '%')] : []),
        ],
        narrative,
        summary: probe.ok
          ? `cold ${num(coldMs)} ms → ${num(afterCold)}% cached; O_DIRECT ${num(directMs)} ms → ${num(afterDirect)}%; warm ${num(warmMs)} ms`
          : `cold ${num(coldMs)} ms, warm ${num(warmMs)} ms (no O_DIRECT here)`,
        fallback,
      };
    } finally {
      if (dfd >= 0) close(dfd);
      close(fd);
    }
  },
};
