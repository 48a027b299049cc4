/**
 * A vitest reporter for CI that names what is stuck. A test whose worker is
 * blocked in a syscall or a synchronous child process never reaches its
 * `testTimeout`, and the run would wait silently until CI kills it. This
 * reporter keeps the files and tests in progress; once a file has gone
 * IOMODES_WATCHDOG_SECONDS (default 240) without finishing a test, it prints
 * the files in progress with the process tree below vitest (state, kernel
 * wait channel, command), once per stall. A slow file that keeps finishing
 * tests is not stuck; one test may take minutes under ASan on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

const stallMs = Number(process.env.IOMODES_WATCHDOG_SECONDS ?? 240) * 1000;

export default class WatchdogReporter implements Reporter {
  /** Test file -> when it last started or finished a test. */
  private readonly modules = new Map<string, number>();
  private readonly tests = new Map<string, { name: string; since: number }>();
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  onTestRunStart(): void {
    this.timer = setInterval(() => this.check(), Math.min(30_000, stallMs / 2));
    this.timer.unref();
  }

  onTestModuleStart(module: TestModule): void {
    this.modules.set(module.moduleId, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    this.modules.delete(module.moduleId);
  }

  onTestCaseReady(test: TestCase): void {
    this.tests.set(test.id, { name: `${test.module.moduleId} > ${test.fullName}`, since: Date.now() });
  }

  onTestCaseResult(test: TestCase): void {
    this.tests.delete(test.id);
    if (this.modules.has(test.module.moduleId)) this.modules.set(test.module.moduleId, Date.now());
  }

  onTestRunEnd(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const stalled = [...this.modules].filter(([id, since]) => now - since > stallMs && !this.reported.has(id));
    if (stalled.length === 0) return;
    const lines = [`\n[watchdog] test files that finished no test for more than ${stallMs / 1000}s:`];
    for (const [id, since] of stalled) {
      this.reported.add(id);
      lines.push(`  ${id} (${Math.round((now - since) / 1000)}s since its last test ended)`);
    }
    for (const { name, since } of this.tests.values()) lines.push(`  test in progress: ${name} (${Math.round((now - since) / 1000)}s)`);
    lines.push('[watchdog] processes below vitest:', processTree());
    process.stderr.write(lines.join('\n') + '\n');
  }
}

function processTree(): string {
  try {
    const out = execFileSync('ps', ['-e', '--forest', '-o', 'pid,ppid,stat,etimes,wchan:24,args'], { encoding: 'utf8', timeout: 60_000 });
    // Our own subtree only, keeping the header.
    const rows = out.split('\n');
    const children = new Map<number, number[]>();
    for (const row of rows.slice(1)) {
      const [pid, ppid] = row.trim().split(/\s+/).map(Number);
      if (pid === undefined || ppid === undefined) continue;
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    }
    const mine = new Set<number>();
    const walk = (pid: number): void => {
      mine.add(pid);
      for (const c of children.get(pid) ?? []) walk(c);
    };
    walk(process.pid);
    return [rows[0], ...rows.slice(1).filter((r) => mine.has(Number(r.trim().split(/\s+/)[0])))].map((r) => r.slice(0, 240)).join('\n');
  } catch (error) {
    return `(ps failed: ${(error as Error).message})`;
  }
}
