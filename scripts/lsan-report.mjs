// Reads LeakSanitizer logs and reports the leaks allocated by the addon: those
// whose first frame past the sanitizer's allocator is in iomodes.node. Each is
// symbolized with addr2line. Exits 1 if there is any.
//   node scripts/lsan-report.mjs <log dir> <path of iomodes.node>
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, addon] = process.argv.slice(2);
const frame = /^\s*#(\d+) 0x[0-9a-f]+ +\((.+)\+(0x[0-9a-f]+)\)/;
let processes = 0;
let leaksSeen = 0;
const ours = new Map(); // stack text -> { bytes, count }

for (const name of readdirSync(dir)) {
  processes++;
  const text = readFileSync(join(dir, name), 'utf8');
  for (const block of text.split(/\n(?=(?:Direct|Indirect) leak of )/)) {
    const head = block.match(/^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object/);
    if (!head) continue;
    leaksSeen++;
    // Indirect leaks hang off a direct one; the direct one names the owner.
    if (head[1] !== 'Direct') continue;
    const frames = block.split('\n').map((l) => l.match(frame)).filter(Boolean);
    const first = frames.find((f) => !/libasan/.test(f[2]));
    if (!first || basename(first[2]) !== basename(addon)) continue;
    const stack = frames
      .filter((f) => basename(f[2]) === basename(addon))
      .map((f) => symbolize(f[3]))
      .join('\n    ');
    const entry = ours.get(stack) ?? { bytes: 0, count: 0 };
    entry.bytes += Number(head[2]);
    entry.count += Number(head[3]);
    ours.set(stack, entry);
  }
}

function symbolize(offset) {
  try {
    return execFileSync('addr2line', ['-f', '-C', '-i', '-e', addon, offset], { encoding: 'utf8' }).trim().replace(/\n/g, ' at ');
  } catch {
    return `iomodes.node+${offset}`;
  }
}

console.log(`lsan: ${processes} process report(s), ${leaksSeen} leak record(s) in all, ${ours.size} allocated by iomodes.node`);
for (const [stack, { bytes, count }] of ours) console.log(`  ${bytes} bytes in ${count} object(s), allocated at\n    ${stack}`);
if (processes === 0) {
  console.log('lsan: no Node process wrote a report: was the ASan runtime preloaded?');
  process.exit(1);
}
process.exit(ours.size > 0 ? 1 : 0);
