/**
 * Readers for /proc and /sys facts the probes and `iomodes doctor` report:
 * one copy, so both say the same thing.
 *
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';

/**
 * A /proc or /sys file, trimmed; `undefined` if it is absent or unreadable.
 *
 * @example
 * ```ts
 * readProc('/proc/sys/fs/aio-max-nr'); // '65536'
 * ```
 */
export function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * A /proc or /sys file holding one number; `undefined` if absent or empty.
 *
 * @example
 * ```ts
 * readProcNumber('/proc/sys/kernel/io_uring_disabled'); // 0
 * ```
 */
export function readProcNumber(path: string): number | undefined {
  const text = readProc(path);
  return text === undefined || text === '' ? undefined : Number(text);
}

/**
 * A field of /proc/self/status, such as `CapEff`.
 *
 * @example
 * ```ts
 * statusField('CapEff'); // '000001ffffffffff'
 * ```
 */
export function statusField(name: string): string | undefined {
  const line = readProc('/proc/self/status')
    ?.split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

/**
 * This process's seccomp mode: 0 off, 1 strict, 2 filter.
 *
 * @example
 * ```ts
 * seccompMode(); // 0
 * ```
 */
export function seccompMode(): number | undefined {
  const mode = statusField('Seccomp');
  return mode === undefined ? undefined : Number(mode);
}
