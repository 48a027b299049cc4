/**
 * The scripts that judge other runs: a judge that cannot fail proves nothing,
 * so each is fed a made-up input with a known verdict.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, tmpDir } from './helpers/index.js';

describe('scripts/lsan-report.mjs', () => {
  const addon = '/somewhere/build-cmake/Debug/iomodes.node';
  const leak = (kind: string, bytes: number, second: string) =>
    `${kind} leak of ${bytes} byte(s) in 1 object(s) allocated from:\n` +
    `    #0 0x7f0000000001  (/usr/lib/gcc/x86_64-linux-gnu/12/libasan.so+0xb94c8)\n` +
    `    #1 0x7f0000000002  (${second}+0x1234)\n` +
    `    #2 0x7f0000000003  (/usr/bin/node+0xc46da4)\n`;
  const judge = (log: string) => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'lsan.1'), `=================================================================\n==1==ERROR: LeakSanitizer: detected memory leaks\n\n${log}\nSUMMARY: AddressSanitizer: leaks.\n`);
    return spawnSync(process.execPath, ['scripts/lsan-report.mjs', dir, addon], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  };

  it("passes Node's own leaks, even those an addon call led to", () => {
    const r = judge(leak('Direct', 64, '/usr/bin/node') + '\n' + leak('Indirect', 32, addon));
    expect(r.stdout).toMatch(/2 leak record\(s\) in all, 0 allocated by iomodes.node/);
    expect(r.status).toBe(0);
  });

  it('fails on a direct leak whose allocating frame is in the addon, and shows it', () => {
    const r = judge(leak('Direct', 64, '/usr/bin/node') + '\n' + leak('Direct', 48, addon));
    expect(r.stdout).toMatch(/1 allocated by iomodes.node/);
    expect(r.stdout).toMatch(/48 bytes in 1 object\(s\)/);
    expect(r.status).toBe(1);
  });
});

describe('scripts/valgrind-report.mjs', () => {
  const judge = (body: string) => {
    const path = join(tmpDir(), 'memcheck.log');
    writeFileSync(path, `==7== Memcheck, a memory error detector\n==7== \n${body}==7== \n==7== HEAP SUMMARY:\n==7==     in use at exit: 0 bytes in 0 blocks\n==7== \n==7== ERROR SUMMARY: 1 errors from 1 contexts\n`);
    return spawnSync(process.execPath, ['scripts/valgrind-report.mjs', path], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  };
  const error = (where: string) =>
    `==7== Invalid read of size 4\n==7==    at 0x4C1234: Decode (in ${where})\n==7==    by 0x10F00: node::Call (in /usr/bin/node)\n`;

  it("passes Node's own errors", () => {
    const r = judge(error('/usr/bin/node'));
    expect(r.stdout).toMatch(/1 error\/leak record\(s\) in all .* 0 involving iomodes.node/);
    expect(r.status).toBe(0);
  });

  it('fails on an error with a frame in the addon, and shows it', () => {
    const r = judge(error('/x/build/Release/iomodes.node'));
    expect(r.stdout).toMatch(/1 involving iomodes.node/);
    expect(r.stdout).toMatch(/Invalid read of size 4/);
    expect(r.status).toBe(1);
  });
});

describe('test/arm64/summary.mjs', () => {
  const line = (file: string, name: string, status: string, extra: Record<string, string> = {}) =>
    JSON.stringify({ file: `/p/test/${file}`, name, status, ...extra });
  let report = '';
  const judge = (results: Record<string, string[]>, files: string[]) => {
    const dir = tmpDir();
    report = join(dir, 'arm64.json');
    for (const [file, lines] of Object.entries(results)) writeFileSync(join(dir, `${file}.jsonl`), lines.map((l) => `${l}\n`).join(''));
    return spawnSync(process.execPath, ['test/arm64/summary.mjs', dir, ...files.map((f) => `/p/test/${f}`)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, IOMODES_ARM64_REPORT: report, IOMODES_ARM64_NODE_VERSION: 'v26.0.0' },
    });
  };
  const noRing = 'io_uring unavailable: enosys (ENOSYS): no io_uring_setup';

  it('counts passes, and groups the skips by cause with the tests each one skipped', () => {
    const r = judge(
      {
        'a.test.mjs': [line('a.test.mjs', 'pipe', 'pass'), line('a.test.mjs', 'ring read', 'skip', { reason: noRing })],
        'b.test.mjs': [line('b.test.mjs', 'ring hub', 'skip', { reason: noRing }), line('b.test.mjs', 'aio', 'skip', { reason: 'aio unavailable: x' })],
      },
      ['a.test.mjs', 'b.test.mjs'],
    );
    expect(r.stdout).toContain(`2 × ${noRing}\n      a.test.mjs: ring read\n      b.test.mjs: ring hub`);
    expect(r.stdout).toContain('1 × aio unavailable: x');
    expect(r.stdout).toMatch(/^1 passed, 0 failed, 3 skipped$/m);
    expect(r.status).toBe(0);
    // The same, as JSON for CI's matrix.
    expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({
      node: 'v26.0.0',
      passed: 1,
      failed: 0,
      skipped: 3,
      skips: { [noRing]: ['a.test.mjs: ring read', 'b.test.mjs: ring hub'], 'aio unavailable: x': ['b.test.mjs: aio'] },
    });
  });

  it('fails on a failed test, and on a file that reported nothing (a crash under qemu)', () => {
    const failed = judge({ 'a.test.mjs': [line('a.test.mjs', 'epoll', 'fail', { error: 'boom' })] }, ['a.test.mjs']);
    expect(failed.stdout).toContain('FAILED a.test.mjs: epoll\n      boom');
    expect(failed.status).toBe(1);
    const silent = judge({ 'a.test.mjs': [line('a.test.mjs', 'pipe', 'pass')] }, ['a.test.mjs', 'crashed.test.mjs']);
    expect(silent.stdout).toContain('FAILED crashed.test.mjs: reported no test');
    expect(silent.stdout).toMatch(/^1 passed, 1 failed, 0 skipped$/m);
    expect(silent.status).toBe(1);
  });
});

describe('scripts/ci-summary.mjs', () => {
  const vitestReport = (tests: [string, string][]) => ({
    numPassedTests: tests.filter(([, s]) => s === 'passed').length,
    numFailedTests: tests.filter(([, s]) => s === 'failed').length,
    numPendingTests: tests.filter(([, s]) => s === 'skipped').length,
    numTodoTests: 0,
    testResults: [
      { name: '/r/test/a.test.ts', startTime: 0, endTime: 2_000, assertionResults: tests.map(([title, status]) => ({ title, fullName: title, status })) },
    ],
  });
  const judge = (legs: Record<string, unknown>) => {
    const dir = tmpDir();
    const args = Object.entries(legs).map(([spec, report]) => {
      const path = join(dir, `${spec.split(':')[0]}.json`);
      if (report !== undefined) writeFileSync(path, JSON.stringify(report));
      return `${spec}:${path}`;
    });
    return spawnSync(process.execPath, ['scripts/ci-summary.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  };

  it('prints the matrix, every skip with its leg and cause, and passes when nothing failed', () => {
    const r = judge({
      'node22:x64:v22.1.0:build/Release': vitestReport([['reads', 'passed'], ['rings', 'skipped']]),
      'arm64-26:arm64:v20.0.0:prebuild, qemu': { node: 'v26.1.0', passed: 25, failed: 0, skipped: 1, skips: { 'io_uring unavailable: enosys': ['async.test.mjs: ring'] } },
    });
    expect(r.stdout).toMatch(/^ {2}node22 +x64 +v22\.1\.0 +build\/Release +1 +0 +1$/m);
    // An arm64 row names the arm64 Node that ran, not the host's.
    expect(r.stdout).toMatch(/^ {2}arm64-26 +arm64 +v26\.1\.0 +prebuild, qemu +25 +0 +1$/m);
    expect(r.stdout).toContain('node22: a.test.ts > rings (skipped)');
    expect(r.stdout).toContain('arm64-26: 1 × io_uring unavailable: enosys\n      async.test.mjs: ring');
    expect(r.stdout).toMatch(/^tests: 26 passed, 0 failed, 2 skipped$/m);
    expect(r.status).toBe(0);
  });

  it('fails on a failed test, and on a leg that wrote no report', () => {
    const failed = judge({ 'node24:x64:v24.0.0:build/Release': vitestReport([['reads', 'failed']]) });
    expect(failed.stdout).toMatch(/^tests: 0 passed, 1 failed, 0 skipped$/m);
    expect(failed.status).toBe(1);
    const missing = judge({ 'node26:x64:v26.0.0:build/Release': undefined });
    expect(missing.stdout).toMatch(/node26 .* no report/);
    expect(missing.stdout).toContain('1 leg(s) wrote no report');
    expect(missing.status).toBe(1);
  });
});
