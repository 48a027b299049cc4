import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Fails a test file that leaves fds, native handles, rings or pending
    // signals behind (test/helpers/leak-oracle.ts says what it checks).
    setupFiles: ['test/helpers/leak-oracle.ts'],
    // forks, not threads: a native crash then takes down one file, not the run.
    pool: 'forks',
    // One file per core. Vitest's default leaves a core free, which on a
    // 2-core CI machine runs the files one at a time: most of them wait on
    // children, sockets and timers, so two at once take about 55% as long.
    maxWorkers: availableParallelism(),
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
