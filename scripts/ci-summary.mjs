/**
 * CI's last word: the matrix as it ran (architecture × Node line, with the
 * tests passed, failed and skipped in each leg), every skip with its cause,
 * and each vitest leg's slowest files, to keep an eye on the 20-minute budget.
 *
 *   node scripts/ci-summary.mjs LEG...
 *
 * A LEG is `name:arch:node:what:report`. `report` is vitest's JSON report
 * (`--reporter=json`), or, for a name starting with `arm64`, the JSON that
 * test/arm64/summary.mjs writes (IOMODES_ARM64_REPORT). A report that is
 * missing counts as a failed leg. Exits 1 when any test failed.
 */
import { existsSync, readFileSync } from 'node:fs';

const rows = [];
const skips = [];
const slowest = [];
for (const spec of process.argv.slice(2)) {
  const [name, arch, node, what, ...rest] = spec.split(':');
  const path = rest.join(':');
  const row = { name, arch, node, what, passed: 0, failed: 0, skipped: 0 };
  rows.push(row);
  if (!existsSync(path)) {
    row.failed = NaN;
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  if (name.startsWith('arm64')) {
    Object.assign(row, { node: report.node ?? node, passed: report.passed, failed: report.failed, skipped: report.skipped });
    for (const [cause, tests] of Object.entries(report.skips ?? {})) skips.push(`${name}: ${tests.length} × ${cause}\n${tests.map((t) => `      ${t}`).join('\n')}`);
    continue;
  }
  row.passed = report.numPassedTests;
  row.failed = report.numFailedTests;
  row.skipped = report.numPendingTests + report.numTodoTests;
  const file = (f) => f.name.replace(/.*\/test\//, '');
  for (const f of report.testResults) {
    for (const t of f.assertionResults) {
      // vitest's JSON keeps no skip note: the test says its cause in its title or output.
      if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') skips.push(`${name}: ${file(f)} > ${t.fullName ?? t.title} (${t.status})`);
    }
  }
  const slow = report.testResults
    .map((f) => [f.endTime - f.startTime, file(f)])
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5);
  slowest.push(`${name}: ${slow.map(([ms, n]) => `${n} ${(ms / 1000).toFixed(0)}s`).join(', ')}`);
}

const header = ['leg', 'arch', 'node', 'addon', 'passed', 'failed', 'skipped'];
const table = [header, ...rows.map((r) => [r.name, r.arch, r.node, r.what, String(r.passed), Number.isNaN(r.failed) ? 'no report' : String(r.failed), String(r.skipped)])];
const widths = header.map((_, i) => Math.max(...table.map((line) => line[i].length)));
const out = ['the matrix as it ran:'];
for (const line of table) out.push(`  ${line.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd());
out.push(skips.length > 0 ? 'skipped, by leg and cause:' : 'skipped: none');
for (const s of skips) out.push(`  ${s}`);
if (slowest.length > 0) out.push('slowest files:', ...slowest.map((s) => `  ${s}`));
const sum = (key) => rows.reduce((n, r) => n + (Number.isNaN(r[key]) ? 0 : r[key]), 0);
const broken = rows.filter((r) => Number.isNaN(r.failed)).length;
out.push(`tests: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped${broken ? `; ${broken} leg(s) wrote no report` : ''}`);
console.log(out.join('\n'));
process.exitCode = sum('failed') > 0 || broken > 0 ? 1 : 0;
