/**
 * The scripts that judge other runs: a judge that cannot fail proves nothing,
 * so each is fed a made-up input with a known verdict.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
