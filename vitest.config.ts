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
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
