/**
 * Reads the JSON lines test/arm64/reporter.mjs wrote (one file per test
 * file) and prints what CI must show: how many tests passed, which failed,
 * and the skips grouped by their cause (the doctor's reason, errno and
 * detail), each with the tests it skipped. Exits 1 when a test failed or a
 * test file reported nothing (it crashed before its first test finished).
 * With IOMODES_ARM64_REPORT set, it also writes the counts and the skips by
 * cause there as JSON, for CI's matrix (scripts/ci-summary.mjs).
 *
 *   node test/arm64/summary.mjs RESULTS_DIR TEST_FILE...
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, ...files] = process.argv.slice(2);
const results = [];
const silent = [];
for (const file of files) {
  const path = join(dir, `${basename(file)}.jsonl`);
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  if (lines.length === 0) silent.push(basename(file));
  for (const line of lines) results.push(JSON.parse(line));
}

const by = (status) => results.filter((r) => r.status === status);
const [passed, failed, skipped] = [by('pass'), by('fail'), by('skip')];
const where = (r) => `${basename(r.file ?? '?')}: ${r.name}`;

const causes = new Map();
for (const r of skipped) causes.set(r.reason, [...(causes.get(r.reason) ?? []), r]);

const out = ['', 'arm64 (qemu-user) summary'];
if (causes.size > 0) {
  out.push('skipped, by cause:');
  for (const [cause, tests] of causes) {
    out.push(`  ${tests.length} × ${cause}`);
    for (const t of tests) out.push(`      ${where(t)}`);
  }
}
for (const r of failed) out.push(`FAILED ${where(r)}\n      ${r.error}`);
for (const f of silent) out.push(`FAILED ${f}: reported no test (it crashed, or timed out, before its first one finished)`);
out.push(`${passed.length} passed, ${failed.length + silent.length} failed, ${skipped.length} skipped`);
console.log(out.join('\n'));
if (process.env.IOMODES_ARM64_REPORT) {
  const report = {
    node: process.env.IOMODES_ARM64_NODE_VERSION,
    passed: passed.length,
    failed: failed.length + silent.length,
    skipped: skipped.length,
    skips: Object.fromEntries([...causes].map(([cause, tests]) => [cause, tests.map(where)])),
  };
  writeFileSync(process.env.IOMODES_ARM64_REPORT, JSON.stringify(report, null, 2));
}
process.exitCode = failed.length + silent.length > 0 ? 1 : 0;
