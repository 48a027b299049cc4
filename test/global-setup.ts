/**
 * Compiles lib/ to dist/ once per test run: child processes and workers
 * cannot import TypeScript, so they load the compiled package, exactly as a
 * user would. A type error fails the run here rather than in some child.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // From scratch: a file an earlier build left (a module since removed, a
  // source map from before maps were turned off) would be published.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
}
