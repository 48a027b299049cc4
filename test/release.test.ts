/**
 * What a release promises besides the code: one version named everywhere,
 * the registry page's fields, `engines` naming exactly the Node lines CI
 * tests, and a supply chain with no install script but our own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/index.js';

const text = (file: string) => readFileSync(join(root, file), 'utf8');
const json = (file: string) => JSON.parse(text(file)) as Record<string, unknown>;

interface Package {
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
  [field: string]: unknown;
}
const pkg = json('package.json') as unknown as Package;

/** The Node majors `.ci/run` runs the whole suite on: this machine's (20), then LINES=(…). */
function ciLines(): number[] {
  const lines = /^LINES=\(([\d ]+)\)$/m.exec(text('.ci/run'));
  expect(lines, '.ci/run sets LINES=(…)').not.toBeNull();
  return [20, ...lines![1].trim().split(/\s+/).map(Number)];
}

describe('the version', () => {
  it('is the same in package.json, the changelog, the README and the API reference', () => {
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    const changelog = /^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$/m.exec(text('CHANGELOG.md'));
    expect(changelog?.[1], 'the newest version in CHANGELOG.md').toBe(pkg.version);
    expect(/This README describes \*\*iomodes (\S+)\*\*/.exec(text('README.md'))?.[1], 'README.md').toBe(pkg.version);
    expect(/^# iomodes v(\S+)$/m.exec(text('docs/api/index.md'))?.[1], 'docs/api/index.md (npm run docs:api)').toBe(pkg.version);
  });
});

describe('package.json', () => {
  it('has what a registry page shows', () => {
    for (const field of ['description', 'license', 'repository', 'bugs', 'homepage', 'keywords', 'files', 'engines']) {
      expect(pkg[field], field).toBeTruthy();
    }
    expect(pkg.keywords).toEqual(expect.arrayContaining(['io_uring', 'epoll', 'coroutines']));
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'native', 'prebuilds', 'CHANGELOG.md']));
  });

  it('names in engines exactly the Node lines CI runs the suite on', () => {
    // Each alternative is ^major.minor.patch: one line, from a floor.
    const ranges = pkg.engines.node.split('||').map((r) => r.trim());
    for (const range of ranges) expect(range).toMatch(/^\^\d+\.\d+\.\d+$/);
    const majors = ranges.map((r) => Number(/^\^(\d+)/.exec(r)![1]));
    expect(majors.sort((a, b) => a - b)).toEqual(ciLines().sort((a, b) => a - b));
    // And this Node is one of them.
    expect(majors).toContain(Number(process.versions.node.split('.')[0]));
  });
});

describe('the supply chain', () => {
  const lock = json('package-lock.json') as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean; dependencies?: Record<string, string> }> };

  it('runs no install script but our own node-gyp-build, and none of a dependency', () => {
    for (const hook of ['preinstall', 'postinstall', 'preuninstall', 'postuninstall']) expect(pkg.scripts[hook], hook).toBeUndefined();
    expect(pkg.scripts.install).toBe('node-gyp-build');
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path]) => path);
    expect(withScripts).toEqual([]);
  });

  it('has only the runtime dependencies the README justifies, and they have none of their own', () => {
    const runtime = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev);
    expect(runtime.map(([path]) => path.replace(/^node_modules\//, '')).sort()).toEqual(Object.keys(pkg.dependencies).sort());
    for (const [path, p] of runtime) expect(p.dependencies ?? {}, path).toEqual({});
    const readme = text('README.md');
    for (const name of Object.keys(pkg.dependencies)) expect(readme, `a README line for ${name}`).toMatch(new RegExp(`^- \`${name}\` — .{20,}`, 'm'));
  });

  it('installs exactly the lockfile in CI', () => {
    expect(text('.ci/run')).toMatch(/^npm ci /m);
  });
});
