/**
 * The `iomodes bench` file runner (lib/cli/bench/file.ts) called directly;
 * the command's own tests (bench.test.ts) run it end to end.
 */
import { describe, expect, it } from 'vitest';
import { prepareFile, runFile } from '../../lib/cli/bench/file.js';
import type { FileWorkload } from '../../lib/cli/bench/types.js';
import { countedReads } from '../helpers/index.js';

describe('runFile', () => {
  it('reads each option once: a getter cannot show one signal to the check and another to the run', async () => {
    const workload: FileWorkload = { kind: 'file', rw: 'randread', bs: 4096, iodepth: 4, direct: false, size: 1 << 20, runtime: 1 };
    const file = await prepareFile(workload);
    try {
      const [options, reads] = countedReads({ signal: AbortSignal.abort(), onProgress: () => {}, prepared: file });
      await expect(runFile('threadpool', workload, options)).rejects.toMatchObject({ code: 'ABORT_ERR' });
      expect(Object.fromEntries(reads)).toEqual({ signal: 1, onProgress: 1, prepared: 1 });
    } finally {
      file.remove();
    }
  });
});
