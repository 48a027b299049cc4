/**
 * Builds dist/ from lib/ as `npm run build:ts` does, from scratch (a file an
 * earlier build left, a module since removed, would be published), unless
 * dist/ is already what that build makes:
 *
 *   node scripts/build-dist.mjs
 *
 * A stamp in node_modules/.cache records, after each build, the hash of its
 * inputs (lib/, the tsconfigs, package.json, the TypeScript and @types/node
 * installed) and the hash of every file it wrote. Both match: dist/ is left
 * as it is. Anything else (an edited source, a file added to or changed in
 * dist/, another TypeScript) builds again. The test run's global setup calls
 * it, so CI's five runs of the suite from one checkout compile once instead
 * of five times (6 s each, with both cores waiting), and test:arm64 after them.
 *
 * Exits 1 with tsc's output when the build fails (a type error); no stamp
 * is then left, so the next run builds again.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const stampPath = join(root, 'node_modules', '.cache', 'iomodes', 'dist-stamp.json');
const INPUTS = ['lib', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'node_modules/typescript/package.json', 'node_modules/@types/node/package.json'];

/** Every file under `path` (or the file itself), as paths relative to the root, sorted. */
function files(path) {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** One hash over the names and contents of `paths` (missing ones hash as absent). */
function hashOf(paths) {
  const h = createHash('sha256');
  for (const path of paths.flatMap(files)) {
    h.update(path).update('\0');
    h.update(readFileSync(join(root, path))).update('\0');
  }
  return h.digest('hex');
}

const inputs = hashOf(INPUTS);
let stamp;
try {
  stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
} catch {
  stamp = undefined;
}
if (stamp?.inputs === inputs && existsSync(dist) && stamp.dist === hashOf(['dist'])) {
  console.log('build-dist: dist/ is current (same inputs, untouched since its build)');
  process.exit(0);
}

rmSync(stampPath, { force: true });
rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(`tsc -p tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
  process.exit(1);
}
mkdirSync(dirname(stampPath), { recursive: true });
writeFileSync(stampPath, JSON.stringify({ inputs, dist: hashOf(['dist']) }));
console.log('build-dist: built dist/ (tsc -p tsconfig.build.json)');
