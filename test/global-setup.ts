/**
 * Compiles lib/ to dist/ once per test run: child processes and workers
 * cannot import TypeScript, so they load the compiled package, exactly as a
 * user would. A type error fails the run here rather than in some child.
 * scripts/build-dist.mjs builds from scratch, and skips the build when dist/
 * is what that build of the same inputs made (CI runs the suite five times).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-dist.mjs failed:\n${r.stdout}${r.stderr}`);
}
