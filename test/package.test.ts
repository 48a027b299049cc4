/**
 * The published package: what `npm pack` puts in the tarball, and whether a
 * fresh project can install it and use it both ways a user gets the addon:
 * - with the N-API prebuild that `npm run prebuildify` made, no compiler run
 *   (installed with --ignore-scripts, so nothing could compile);
 * - from source, from a tarball with no prebuilds/: the install script
 *   (node-gyp-build) finds no binary and compiles with node-gyp, as on arm64,
 *   musl or any platform without a prebuild.
 * Everything happens in a temp copy of the working tree, so the checkout's
 * build/, dist/ and prebuilds/ are not touched while other test files load
 * the addon from them. The two compiles are the cost: the source install
 * runs in the background while the prebuild is made and tried.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, tmpDir } from './helpers/index.js';

const PREBUILD = `prebuilds/linux-${process.arch}/iomodes.glibc.node`;
const BUILT = 'build/Release/iomodes.node';
/** This Node's own prefix (/usr for /usr/bin/node): node-gyp compiles against its headers and downloads none. */
const NODE_PREFIX = dirname(dirname(process.execPath));
/**
 * Prebuilds made once for every Node line's run (`.ci/run` runs
 * `npm run prebuildify` before its legs and names the directory here): the
 * N-API binary is the same on each line, so each run installs it without
 * compiling it again. Unset, this test makes its own.
 */
const SHARED_PREBUILDS = process.env.IOMODES_PREBUILDS_DIR;
/** Every command gets minutes: two compiles share a noisy 2-core machine with the rest of the suite. */
const COMMAND_TIMEOUT = 270_000;

/**
 * The child's environment: no npm lifecycle variables from an outer `npm test`,
 * no addon override, no ASan preload; and the local Node headers for node-gyp.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key === 'IOMODES_ADDON' || key === 'LD_PRELOAD' || key === 'ASAN_OPTIONS') continue;
    env[key] = value;
  }
  env.npm_config_nodedir = NODE_PREFIX;
  // This test tries the prebuild of the machine it runs on; cross-compiling
  // the other arch would cost CI a compile and need the cross toolchain.
  // `npm run test:arm64` tries the arm64 one.
  env.IOMODES_PREBUILD_ARCHS = process.arch;
  // node-gyp compiles on every core, as `npm run build` does here.
  env.JOBS = 'max';
  return env;
}

interface Ran {
  shown: string;
  error?: Error;
  status: number | null;
  stdout: string;
}

/** Starts a command; the promise settles (never rejects) when it has exited, with all its output. */
function start(cmd: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(), timeout: COMMAND_TIMEOUT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (e) => (error = e));
    child.on('close', (status, signal) =>
      resolve({ shown: `$ ${cmd} ${args.join(' ')}  (in ${cwd}; exit ${status ?? signal})\n${stdout}\n${stderr}`, error, status, stdout }),
    );
  });
}

/** Fails the test with the command's output unless it exited 0; returns its stdout. */
function succeeded(r: Ran): string {
  expect(r.error, r.shown).toBeUndefined();
  expect(r.status, r.shown).toBe(0);
  return r.stdout;
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return succeeded(await start(cmd, args, cwd));
}

/** `npm pack`s `dir` into `dest`; returns the tarball's path and the files in it. */
async function pack(dir: string, dest: string): Promise<{ tarball: string; files: string[] }> {
  mkdirSync(dest, { recursive: true });
  const packed = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], dir)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0].files.map((f) => f.path);
  for (const want of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'native/addon.cc', 'native/addon.h', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) {
    expect(files, `tarball has ${want}`).toContain(want);
  }
  for (const file of files) {
    expect(file, 'tarball holds no tests, sources, maps, builds or dev files').not.toMatch(
      /^(test|lib|bench|node_modules|build|build-cmake|build-prebuild|\.ci|\.git)\/|\.map$|^tsconfig|^vitest/,
    );
  }
  return { tarball: join(dest, packed[0].filename), files };
}

/**
 * A fresh ESM project in `dir`. It approves the tarball's install script in
 * npm's allowScripts policy, as a user would, so an npm that blocks unreviewed
 * install scripts still runs it (older npm ignores the field).
 */
function freshProject(dir: string, tarball: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'try-iomodes', version: '1.0.0', private: true, type: 'module', allowScripts: { [`file:${tarball}`]: true } }),
  );
  return dir;
}

function npmInstall(project: string, tarball: string, scripts: boolean): Promise<Ran> {
  const flags = scripts ? ['--foreground-scripts'] : ['--ignore-scripts'];
  return start('npm', ['install', ...flags, '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
}

/**
 * Uses the installed package in a new process: a pipe round-trip through the
 * addon, node-gyp-build's pick, and the .node files really mapped into it.
 */
async function tryIt(project: string): Promise<{ got: string; picked: string; mapped: string[] }> {
  const installed = join(project, 'node_modules', 'iomodes');
  const code = `
    import { createRequire } from 'node:module';
    import { readFileSync } from 'node:fs';
    const m = await import('iomodes');
    const [r, w] = m.pipe();
    m.write(w, Buffer.from('through the pipe'));
    const buf = Buffer.alloc(64);
    const n = m.read(r, buf);
    m.close(r);
    m.close(w);
    const pkg = ${JSON.stringify(installed)};
    const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .filter((l) => l.endsWith('.node')).map((l) => l.slice(l.indexOf('/')));
    console.log(JSON.stringify({
      got: buf.toString('utf8', 0, n),
      picked: createRequire(pkg + '/package.json')('node-gyp-build').path(pkg),
      mapped: [...new Set(mapped)],
    }));`;
  return JSON.parse(await run(process.execPath, ['--input-type=module', '-e', code], project)) as {
    got: string;
    picked: string;
    mapped: string[];
  };
}

/** The bin, executed as a user's shell would: through its shebang and exec bit. */
async function expectBinRuns(project: string): Promise<void> {
  const help = await run(join(project, 'node_modules', '.bin', 'iomodes'), ['--help'], project);
  expect(help).toMatch(/^Usage: iomodes /);
}

function gypSources(): string[] {
  const gyp = readFileSync(join(root, 'binding.gyp'), 'utf8');
  const list = /"sources"\s*:\s*\[([^\]]*)\]/.exec(gyp);
  expect(list, 'binding.gyp has a "sources" list').not.toBeNull();
  return [...list![1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

function cmakeSources(): string[] {
  const cmake = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');
  const list = /set\(IOMODES_SOURCES\s([^)]*)\)/.exec(cmake);
  expect(list, 'CMakeLists.txt has set(IOMODES_SOURCES ...)').not.toBeNull();
  return list![1].split(/\s+/).filter(Boolean);
}

/**
 * What `npm pack` would publish from this checkout, and its size budget: the
 * compiled package, the native sources and build files an install without a
 * prebuild compiles, the prebuilds when they have been made, the README and
 * licence; nothing else. Both budgets leave room for a prebuild per
 * architecture (x64 about 600 KiB, arm64 about 530 KiB, stripped).
 */
const PACKED_BUDGET = 1024 * 1024;
const UNPACKED_BUDGET = 3 * 1024 * 1024;
const PUBLISHED = /^(dist\/.+\.(js|d\.ts)|native\/[a-z_]+\.(cc|h)|prebuilds\/linux-(x64|arm64)\/iomodes\.glibc\.node|binding\.gyp|CMakeLists\.txt|package\.json|README\.md|CHANGELOG\.md|LICENSE)$/;

describe('the tarball', () => {
  it('holds the package, the native sources and build files, and nothing else, within its size budget', async () => {
    const out = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root);
    const [packed] = JSON.parse(out) as { size: number; unpackedSize: number; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    expect(files.filter((f) => !PUBLISHED.test(f))).toEqual([]);
    for (const want of ['dist/index.js', 'dist/index.d.ts', 'dist/coro/index.js', 'dist/cli/main.js', 'native/addon.cc', 'binding.gyp', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
      expect(files).toContain(want);
    }
    // Every native source binding.gyp compiles ships, or a source install fails.
    for (const source of gypSources()) expect(files).toContain(source);
    // No compiled file names a source map: none ship, so a pointer would dangle.
    for (const f of files.filter((f) => f.endsWith('.js'))) {
      expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/sourceMappingURL/);
    }
    expect(packed!.size, `packed size ${packed!.size} bytes`).toBeLessThan(PACKED_BUDGET);
    expect(packed!.unpackedSize, `unpacked size ${packed!.unpackedSize} bytes`).toBeLessThan(UNPACKED_BUDGET);
  });
});

describe('build files', () => {
  it('CMakeLists.txt compiles exactly the sources binding.gyp lists, and every native/*.cc is one of them', () => {
    const gyp = gypSources();
    expect(gyp.length).toBeGreaterThan(0);
    expect(cmakeSources()).toEqual(gyp);
    const onDisk = readdirSync(join(root, 'native'))
      .filter((f) => f.endsWith('.cc'))
      .map((f) => `native/${f}`);
    expect([...onDisk].sort()).toEqual([...gyp].sort());
  });
});


describe('npm package', () => {
  // Shared by both tests: one copy of the working tree (committed or not, as a
  // fresh clone plus edits would be) with the run's dist/, packed before
  // prebuildify runs, so that tarball has no prebuilds/; its install with
  // scripts starts at once and compiles while the prebuild test runs.
  let work = '';
  let stage = '';
  let source: { files: string[]; project: string; install: Promise<Ran> } | undefined;

  beforeAll(async () => {
    expect(existsSync(join(NODE_PREFIX, 'include/node/node_api.h')), `Node headers in ${NODE_PREFIX}/include/node, for node-gyp`).toBe(true);
    work = mkdtempSync(join(tmpdir(), 'iomodes-test-'));
    stage = join(work, 'iomodes');
    const skip = new Set(['.git', 'node_modules', 'build', 'build-cmake', 'build-prebuild', 'dist', 'prebuilds', 'compile_commands.json']);
    cpSync(root, stage, {
      recursive: true,
      filter: (src) => {
        const rel = relative(root, src);
        return !skip.has(rel.split('/')[0]) && !rel.endsWith('.tgz');
      },
    });
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    // The global setup made the checkout's dist/ what a from-scratch build
    // of these same sources makes (scripts/build-dist.mjs): a copy is what
    // `npm run build:ts` would make here, without a second compile delaying
    // the source install by seconds on a busy machine.
    cpSync(join(root, 'dist'), join(stage, 'dist'), { recursive: true });

    const { tarball, files } = await pack(stage, join(work, 'source-tarball'));
    const project = freshProject(join(work, 'source-project'), tarball);
    source = { files, project, install: npmInstall(project, tarball, true) };
  }, 120_000);

  afterAll(async () => {
    await source?.install; // nothing may still be writing in `work`
    if (work) rmSync(work, { recursive: true, force: true });
  }, COMMAND_TIMEOUT + 30_000);

  it(
    'packs the prebuild, and a fresh project installs and uses it without compiling',
    async () => {
      if (SHARED_PREBUILDS) {
        cpSync(SHARED_PREBUILDS, join(stage, 'prebuilds'), { recursive: true });
      } else {
        await run('npm', ['run', 'prebuildify'], stage);
        expect(existsSync(join(stage, 'build')), 'prebuildify left build/ alone').toBe(false);
      }
      expect(existsSync(join(stage, PREBUILD)), `${PREBUILD} after ${SHARED_PREBUILDS ? `copying IOMODES_PREBUILDS_DIR=${SHARED_PREBUILDS}` : 'npm run prebuildify'}`).toBe(true);
      const { tarball, files } = await pack(stage, tmpDir());
      expect(files, `tarball has ${PREBUILD}`).toContain(PREBUILD);

      // Install scripts disabled: no compiler can run, so the addon it loads
      // can only be the prebuild.
      const project = freshProject(tmpDir(), tarball);
      succeeded(await npmInstall(project, tarball, false));
      const installed = join(project, 'node_modules', 'iomodes');
      expect(existsSync(join(installed, PREBUILD))).toBe(true);
      expect(existsSync(join(installed, 'build')), 'no build/ in the installed package').toBe(false);

      const result = await tryIt(project);
      expect(result.got).toBe('through the pipe');
      expect(result.picked).toBe(join(installed, PREBUILD));
      // The shared object really in the process is the prebuild, not some other build.
      expect(result.mapped).toEqual([join(installed, PREBUILD)]);
      await expectBinRuns(project);
    },
    300_000,
  );

  it(
    'with no prebuild, a fresh project installs with scripts, compiles the addon with node-gyp and uses it',
    async () => {
      expect(source, 'the shared setup packed the source tarball').toBeDefined();
      const { files, project, install } = source!;
      expect(files.filter((f) => f.startsWith('prebuilds/') || f.endsWith('.node')), 'no binary in the tarball').toEqual([]);

      // node-addon-api must arrive as a dependency: binding.gyp asks node for it.
      const log = succeeded(await install);
      const installed = join(project, 'node_modules', 'iomodes');
      expect(existsSync(join(installed, 'prebuilds'))).toBe(false);
      // node-gyp is no dependency: npm gives install scripts its own (npm_config_node_gyp).
      expect(existsSync(join(project, 'node_modules', 'node-gyp')), 'node-gyp installed into the project').toBe(false);
      // The tarball held no .node, so this one was compiled by the install script.
      expect(existsSync(join(installed, BUILT)), `${BUILT} after the install\n${log}`).toBe(true);

      const result = await tryIt(project);
      expect(result.got).toBe('through the pipe');
      expect(result.picked).toBe(join(installed, BUILT));
      expect(result.mapped).toEqual([join(installed, BUILT)]);
      await expectBinRuns(project);
    },
    300_000,
  );
});
