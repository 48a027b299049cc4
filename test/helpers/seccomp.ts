/**
 * A wrapper program for tests of what iomodes says when a container's
 * seccomp profile refuses io_uring and Linux AIO: `deny ERRNO CMD...` runs
 * CMD with `io_uring_setup` and `io_setup` failing with ERRNO. Shared by the
 * CLI tests (doctor names the cause, bench refuses the engine with it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mayskip, withoutPreload } from './index.js';

let scratch: string | undefined;

/**
 * Compiles (once per test file) a wrapper that runs a command with
 * io_uring_setup and io_setup refused by seccomp; its path, or undefined
 * where it cannot be built (and mayskip allows that).
 */
export function seccompWrapper(): string | undefined {
  // The filter checks AUDIT_ARCH_X86_64 and x86-64 syscall numbers.
  if (arch() !== 'x64' && mayskip(`the seccomp test filter is written for x86-64, not ${arch()}`)) return undefined;
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'iomodes-seccomp-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  const source = join(scratch, 'deny.c');
  const binary = join(scratch, 'deny');
  if (existsSync(binary)) return binary;
  writeFileSync(source, SECCOMP_DENY_C);
  const cc = spawnSync('cc', ['-O', '-o', binary, source], { encoding: 'utf8', env: withoutPreload() });
  if (cc.status !== 0 && mayskip(`cannot compile the seccomp wrapper: ${cc.stderr || cc.error}`)) return undefined;
  return binary;
}

const SECCOMP_DENY_C = String.raw`
// deny ERRNO CMD...: runs CMD with io_uring_setup and io_setup refused with
// ERRNO (EPERM or ENOSYS) by a seccomp filter, as a container profile would.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 64;
  unsigned err = strcmp(argv[1], "ENOSYS") == 0 ? ENOSYS : EPERM;
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
    perror("seccomp");
    return 70;
  }
  execvp(argv[2], argv + 2);
  perror("exec");
  return 127;
}
`;
