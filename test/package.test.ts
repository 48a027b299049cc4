/**
 * The published package: what `npm pack` puts in the tarball, and whether a
 * fresh project can install it and use it with no compiler, loading the N-API
 * prebuild that `npm run prebuildify` made. Everything happens in a temp copy
 * of the working tree, so the checkout's build/, dist/ and prebuilds/ are not
 * touched while other test files load the addon from them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, tmpDir } from './helpers/index.js';

const PREBUILD = 'prebuilds/linux-x64/iomodes.glibc.node';

/** The child's environment: no npm lifecycle variables from an outer `npm test`, no addon override, no ASan preload. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key === 'IOMODES_ADDON' || key === 'LD_PRELOAD' || key === 'ASAN_OPTIONS') continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command to completion; fails the test with its output if it exits non-zero. */
function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const shown = `$ ${cmd} ${args.join(' ')}  (in ${cwd})\n${r.stdout}\n${r.stderr}`;
  expect(r.error, shown).toBeUndefined();
  expect(r.status, shown).toBe(0);
  return r.stdout;
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
  it(
    'packs the prebuild, and a fresh project installs and uses it without compiling',
    () => {
      // A copy of the working tree (committed or not), as a fresh clone plus edits would be.
      const stage = join(tmpDir(), 'iomodes');
      const skip = new Set(['.git', 'node_modules', 'build', 'build-cmake', 'build-prebuild', 'dist', 'prebuilds', 'compile_commands.json']);
      cpSync(root, stage, {
        recursive: true,
        filter: (src) => {
          const rel = relative(root, src);
          return !skip.has(rel.split('/')[0]) && !rel.endsWith('.tgz');
        },
      });
      symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));

      run('npm', ['run', 'prebuildify'], stage);
      expect(existsSync(join(stage, PREBUILD)), `${PREBUILD} after npm run prebuildify`).toBe(true);
      expect(existsSync(join(stage, 'build')), 'prebuildify left build/ alone').toBe(false);
      run('npm', ['run', 'build:ts'], stage);

      const out = tmpDir();
      const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], stage)) as {
        filename: string;
        files: { path: string }[];
      }[];
      const files = packed[0].files.map((f) => f.path);
      for (const want of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'native/addon.cc', 'native/addon.h', 'dist/index.js', 'dist/index.d.ts', PREBUILD]) {
        expect(files, `tarball has ${want}`).toContain(want);
      }
      for (const file of files) {
        expect(file, 'tarball holds no tests, sources, maps, builds or dev files').not.toMatch(
          /^(test|lib|bench|node_modules|build|build-cmake|build-prebuild|\.ci|\.git)\/|\.map$|^tsconfig|^vitest/,
        );
      }

      // A fresh ESM project, installed with install scripts disabled: no
      // compiler can run, so the addon it loads can only be the prebuild.
      const project = tmpDir();
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'try-iomodes', version: '1.0.0', private: true, type: 'module' }));
      run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(out, packed[0].filename)], project);
      const installed = join(project, 'node_modules', 'iomodes');
      expect(existsSync(join(installed, PREBUILD))).toBe(true);
      expect(existsSync(join(installed, 'build')), 'no build/ in the installed package').toBe(false);

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
      const result = JSON.parse(run(process.execPath, ['--input-type=module', '-e', code], project)) as {
        got: string;
        picked: string;
        mapped: string[];
      };
      expect(result.got).toBe('through the pipe');
      expect(result.picked).toBe(join(installed, PREBUILD));
      // The shared object really in the process is the prebuild, not some other build.
      expect(result.mapped).toEqual([join(installed, PREBUILD)]);

      // The bin, executed as a user's shell would: through its shebang and exec bit.
      expect(files).toContain('dist/cli/main.js');
      const help = run(join(project, 'node_modules', '.bin', 'iomodes'), ['--help'], project);
      expect(help).toMatch(/^Usage: iomodes /);
    },
    300_000,
  );
});
