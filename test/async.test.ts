import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { aioAvailable, ioUringAvailable } from '../lib/index.js';
import { constant, native } from '../lib/native.js';
import { expectCode, mayskip } from './helpers/index.js';

const { errno } = constants;
const openFds = (): number => readdirSync('/proc/self/fd').length;
const aioMappings = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('/[aio]')).length;

describe('ioUringAvailable', () => {
  it('creates a ring on this machine, reports its features and closes it', () => {
    const before = openFds();
    const probe = ioUringAvailable();
    if (!probe.ok && mayskip(`io_uring: ${probe.reason} (${probe.code}): ${probe.detail}`)) return;
    if (!probe.ok) return;
    expect(openFds()).toBe(before);
    expect(probe.sqEntries).toBe(2);
    expect(probe.cqEntries).toBe(4);
    expect(probe.features).toBeGreaterThan(0);
    // The names are exactly the exported IORING_FEAT_* bits the ring has, lowest bit first.
    const bits = probe.featureNames.map((name) => constant(name));
    expect(bits).toEqual([...bits].sort((a, b) => a - b));
    for (const bit of bits) expect(probe.features & bit).toBe(bit);
    const unnamed = bits.reduce((rest, bit) => rest & ~bit, probe.features);
    for (const [name, bit] of Object.entries(native.constants)) {
      if (name.startsWith('IORING_FEAT_')) expect(unnamed & bit).toBe(0);
    }
    expect(probe.featureCount).toBe(probe.featureNames.length + countBits(unnamed));
  });

  it('gives the ring a close-on-exec fd', () => {
    const params = new Uint8Array(constant('sizeof_io_uring_params'));
    const fd = native.io_uring_setup(2, params);
    if (fd < 0 && mayskip(`io_uring_setup: ${fd}`)) return;
    try {
      const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
      expect(parseInt(flags, 8) & constant('O_CLOEXEC')).toBe(constant('O_CLOEXEC'));
    } finally {
      expect(native.close(fd)).toBe(0);
    }
  });

  it('returns -EINVAL from io_uring_setup for 0 entries, and rejects a short params buffer', () => {
    expect(native.io_uring_setup(0, new Uint8Array(constant('sizeof_io_uring_params')))).toBe(-errno.EINVAL);
    expectCode(() => native.io_uring_setup(2, new Uint8Array(8)), 'ERR_OUT_OF_RANGE');
    expectCode(() => native.io_uring_setup('2' as never, new Uint8Array(256)), 'ERR_INVALID_ARG_TYPE');
  });
});

describe('aioAvailable', () => {
  it('creates and destroys an AIO context on this machine, leaving no mapping behind', () => {
    const before = aioMappings();
    const probe = aioAvailable();
    if (!probe.ok && mayskip(`Linux AIO: ${probe.reason} (${probe.code}): ${probe.detail}`)) return;
    expect(probe).toEqual({ ok: true });
    expect(aioMappings()).toBe(before);
  });

  it('makes a context io_destroy accepts once, then refuses', () => {
    const ctx = new BigUint64Array(1);
    const r = native.io_setup(1, ctx);
    if (r < 0 && mayskip(`io_setup: ${r}`)) return;
    expect(r).toBe(0);
    expect(ctx[0]).not.toBe(0n);
    expect(aioMappings()).toBeGreaterThan(0);
    expect(native.io_destroy(ctx[0]!)).toBe(0);
    expect(native.io_destroy(ctx[0]!)).toBe(-errno.EINVAL);
  });

  it('returns -EINVAL from io_setup for 0 events, and rejects bad arguments', () => {
    expect(native.io_setup(0, new BigUint64Array(1))).toBe(-errno.EINVAL);
    expect(native.io_destroy(0n)).toBe(-errno.EINVAL);
    expectCode(() => native.io_setup(1, new Uint8Array(4) as never), 'ERR_OUT_OF_RANGE');
    expectCode(() => native.io_destroy(1 as never), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => native.io_destroy(-1n), 'ERR_OUT_OF_RANGE');
  });
});

function countBits(n: number): number {
  let count = 0;
  for (let bits = n; bits !== 0; bits &= bits - 1) count++;
  return count;
}
