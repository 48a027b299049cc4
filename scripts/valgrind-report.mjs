// Reads a memcheck log and reports the errors and definite leaks that involve
// the addon: any frame of the error's (or the leak's allocation) stack is in
// iomodes.node. Exits 1 if there is any.
//   node scripts/valgrind-report.mjs <log>
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const blocks = text
  .split(/\n==\d+== \n/)
  .map((b) => b.split('\n').map((l) => l.replace(/^==\d+== ?/, '')).join('\n').trim())
  .filter(Boolean);
const isError = (b) => /^(Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination|Argument|\d[\d,]* bytes in [\d,]+ blocks are definitely lost)/.test(b);
const ours = blocks.filter((b) => isError(b) && /iomodes\.node/.test(b));
const summary = text.match(/ERROR SUMMARY: ([\d,]+) errors/);
console.log(`valgrind: ${blocks.filter(isError).length} error/leak record(s) in all (${summary ? summary[1] : '?'} in memcheck's summary), ${ours.length} involving iomodes.node`);
for (const b of ours) console.log('\n' + b);
if (!/valgrind workload: done/.test(text) && !/HEAP SUMMARY/.test(text)) {
  console.log('valgrind: the log has no heap summary: did the workload run to its end?');
  process.exit(1);
}
process.exit(ours.length > 0 ? 1 : 0);
